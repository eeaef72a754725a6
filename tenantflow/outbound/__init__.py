"""Outbound HTTP for node types: which addresses may be reached, and a client that keeps to it."""
