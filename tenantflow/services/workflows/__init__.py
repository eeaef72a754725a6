"""workflows services."""
