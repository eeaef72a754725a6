"""Composes the per-domain root types into one Strawberry schema."""

from __future__ import annotations

import strawberry
from strawberry.extensions import DisableIntrospection, SchemaExtension
from strawberry.tools import merge_types

from tenantflow.schema import (
    audit,
    deployments,
    enums,  # noqa: F401  (registers the domain enums under the contract's names)
    executions,
    identity,
    modules,
    node,
    provider_keys,
    subscriptions,
    tenants,
    users,
    workflows,
)
from tenantflow.schema.masking import LoggingSchema, MaskUnexpectedErrors
from tenantflow.schema.protection import Protection
from tenantflow.schema.safe_text import RefuseUnsafeText
from tenantflow.schema.suggestions import HideSuggestions

QUERIES: tuple[type, ...] = (
    identity.IdentityQuery,
    node.NodeQuery,
    tenants.TenantQuery,
    workflows.WorkflowQuery,
    executions.ExecutionQuery,
    deployments.DeploymentQuery,
    modules.ModuleQuery,
    audit.AuditQuery,
    provider_keys.ProviderKeyQuery,
)
MUTATIONS: tuple[type, ...] = (
    identity.IdentityMutation,
    tenants.TenantMutation,
    workflows.WorkflowMutation,
    executions.ExecutionMutation,
    deployments.DeploymentMutation,
    modules.ModuleMutation,
    provider_keys.ProviderKeyMutation,
)
SUBSCRIPTIONS: tuple[type, ...] = (subscriptions.ExecutionSubscription,)
# Node types reached only through `node(id:)` must still be in the schema.
NODE_TYPES: tuple[type, ...] = (users.User,)


def build_schema(*, introspection: bool = True) -> strawberry.Schema:
    """`introspection` False (production's default) also hides "Did you mean …?" suggestions."""
    # Protection first: its refusals come before anything else runs, and it reads the answer's
    # errors last, once masked.
    extensions: list[type[SchemaExtension]] = [Protection, RefuseUnsafeText, MaskUnexpectedErrors]
    if not introspection:
        extensions += [DisableIntrospection, HideSuggestions]
    query = merge_types("Query", QUERIES)
    return LoggingSchema(
        query=query,
        mutation=merge_types("Mutation", MUTATIONS),
        subscription=merge_types("Subscription", SUBSCRIPTIONS),
        types=NODE_TYPES,
        # Extensions are passed as classes: instances would be shared by concurrent requests.
        extensions=extensions,
    )
