"""operations services."""
