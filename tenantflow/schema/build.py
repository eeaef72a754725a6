"""Composes the per-domain root types into one Strawberry schema."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import strawberry
from strawberry.extensions import (
    DisableIntrospection,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
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
from tenantflow.schema.cached_answers import CachedAnswers
from tenantflow.schema.masking import LoggingSchema, MaskUnexpectedErrors
from tenantflow.schema.projection.extension import ProjectedQueries
from tenantflow.schema.protection import Protection
from tenantflow.schema.safe_text import RefuseUnsafeText
from tenantflow.schema.shared_answers import SharedAnswersExecutor
from tenantflow.schema.suggestions import HideSuggestions
from tenantflow.schema.transactions import SharedReadsForQueriesOnly

# Distinct operations kept parsed and validated: an application's own are a few dozen.
DOCUMENT_CACHE_SIZE = 512

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


def build_schema(*, projection: bool = True, introspection: bool = True) -> strawberry.Schema:
    """`projection` answers the hot reads from one statement (schema/projection);
    `introspection` False (production's default) also hides "Did you mean …?" suggestions."""
    # Protection first: its refusals come before anything else runs, and it reads the answer's
    # errors last, once masked. Parsed and validated documents are cached (bounded LRUs keyed by
    # the query text; the text check runs after the cached validation so it still sees every
    # request's variables). The cache, then a projection, answer in on_execute unless a refusal
    # already has.
    extensions: list[Callable[[], SchemaExtension]] = [
        Protection,
        partial(ParserCache, maxsize=DOCUMENT_CACHE_SIZE),
        partial(ValidationCache, maxsize=DOCUMENT_CACHE_SIZE),
        RefuseUnsafeText,
        SharedReadsForQueriesOnly,
        CachedAnswers,
        *([ProjectedQueries] if projection else []),
        MaskUnexpectedErrors,
    ]
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
        # A feed's event is executed once for the subscribers that ask the same of it.
        execution_context_class=SharedAnswersExecutor,
    )
