"""identity services."""
