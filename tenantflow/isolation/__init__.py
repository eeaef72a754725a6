"""`tenantflow check-isolation`: audit a deployment's tenant isolation.

The lint (`lint.py`) reads PostgreSQL's catalogs, one module per family of checks (tables and their
policies, SECURITY DEFINER functions, roles and privileges, audit immutability, references between
tenant tables); each finding carries its fix. The probe (`probe/`) drives the served schema with one
scratch tenant's credentials against another's ids.
"""
