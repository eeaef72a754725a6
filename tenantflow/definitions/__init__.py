"""Workflow definitions as data: validation, the node types and their configs, graph helpers.

Pure code: no database, no clock. What a node does when it runs is its type's `run`, given a
`NodeContext` by the executor (tenantflow/executor/).
"""
