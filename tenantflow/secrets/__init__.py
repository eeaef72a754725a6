"""Encryption of secrets at rest: master keys wrap tenant data keys, data keys encrypt secrets."""
