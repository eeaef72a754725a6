"""Domain rules, shared by the GraphQL API, the CLI and the executor.

Service functions take keyword-only arguments, open their own tenant transaction, write the audit
row in it, and raise a `DomainError` for every expected failure.
"""
