"""tenants services."""
