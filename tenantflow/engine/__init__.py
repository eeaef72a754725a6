"""The workflow engine: definition validation, built-in node types and graph helpers (pure code)."""
