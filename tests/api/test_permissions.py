"""Each role is allowed exactly the contract's permissions, for every mutation and protected field.

One table (`CASES`) names each operation, the permissions it needs and how to build its variables
in a fresh tenant. Every case runs as each role (a user of each role, and an API key of each role
but OWNER), each time in a tenant of its own, and checks: refused (PermissionDeniedError naming
the first missing permission, or FORBIDDEN for a query field) exactly when the role lacks one.

Cases of other domains are listed with variables that need nothing (ids that do not exist): the
permission is checked before anything is looked up. A case whose root field the served schema does
not have (yet) is left out, so adding a domain's entries here is adding rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from graphql import build_schema

from tenantflow.auth.permissions import Permission, permissions_of
from tenantflow.enums import Plan, Role
from tenantflow.schema import schema
from tenantflow.schema.ids import to_global_id
from tests.api.auth_helpers import PASSWORD, new_email, new_slug
from tests.api.conftest import GraphQLClient, Member, Members

P = Permission
MUTATION_RESULT = "{ __typename ... on PermissionDeniedError { requiredPermission } }"


@dataclass
class World:
    """A fresh STARTER tenant with its first OWNER, and helpers to add what a case addresses."""

    gql: GraphQLClient
    members: Members
    owner: Member

    async def member(self, role: Role) -> str:
        added = await self.members.member(self.owner.tenant_id, role=role)
        return to_global_id("User", added.user_id)

    async def invitation(self, role: str) -> str:
        data = await self.gql.ok(
            "mutation($input: InviteMemberInput!) { inviteMember(input: $input)"
            " { ... on InvitationPayload { invitation { id } } } }",
            {"input": {"email": new_email(), "role": role}},
            as_=self.owner,
        )
        invitation_id: str = data["inviteMember"]["invitation"]["id"]
        return invitation_id

    async def api_key(self, role: str = "VIEWER") -> tuple[str, str]:
        """(id, secret)"""
        data = await self.gql.ok(
            "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input)"
            " { ... on CreateApiKeyPayload { secret apiKey { id } } } }",
            {"input": {"name": "key", "role": role}},
            as_=self.owner,
        )
        payload = data["createApiKey"]
        return payload["apiKey"]["id"], payload["secret"]


Variables = Callable[[World], Awaitable[dict[str, Any]]]


async def no_variables(_world: World) -> dict[str, Any]:
    return {}


def constant(**values: Any) -> Variables:
    async def build(_world: World) -> dict[str, Any]:
        return values

    return build


def fresh(make: Callable[[], dict[str, Any]]) -> Variables:
    """Variables made anew for each run (unique emails and slugs)."""

    async def build(_world: World) -> dict[str, Any]:
        return make()

    return build


def absent(type_name: str) -> str:
    """A well-formed id of `type_name` that no row has."""
    return to_global_id(type_name, uuid.uuid4())


@dataclass(frozen=True)
class Case:
    id: str
    root: str  # the root field, to find in the served schema
    operation: str
    needs: tuple[Permission, ...]
    variables: Variables = no_variables
    # Only a signed-in user may (API keys get PermissionDeniedError whatever their role).
    users_only: bool = False
    # The principal addresses itself (leaving): API keys have no self.
    self_only: bool = False

    @property
    def is_query(self) -> bool:
        return not self.operation.lstrip().startswith("mutation")


async def two_members(world: World) -> dict[str, Any]:
    return {"userId": await world.member(Role.EDITOR), "role": "VIEWER"}


async def promote(world: World) -> dict[str, Any]:
    return {"userId": await world.member(Role.EDITOR), "role": "OWNER"}


async def demote_owner(world: World) -> dict[str, Any]:
    return {"userId": await world.member(Role.OWNER), "role": "ADMIN"}


async def editor(world: World) -> dict[str, Any]:
    return {"userId": await world.member(Role.EDITOR)}


async def another_owner(world: World) -> dict[str, Any]:
    return {"userId": await world.member(Role.OWNER)}


async def invitation_of(role: str, world: World) -> dict[str, Any]:
    return {"id": await world.invitation(role)}


async def api_key(world: World) -> dict[str, Any]:
    return {"id": (await world.api_key())[0]}


async def member_node(world: World) -> dict[str, Any]:
    data = await world.gql.ok(
        "{ tenant { members(first: 1) { edges { node { id } } } } }", as_=world.owner
    )
    return {"id": data["tenant"]["members"]["edges"][0]["node"]["id"]}


async def invitation_for_self(world: World) -> dict[str, Any]:
    return {"token": "tfi_" + "x" * 43}  # checked after the principal: not found for anyone


async def other_tenant(world: World) -> dict[str, Any]:
    return {"id": absent("Tenant")}


def mutation(root: str, arguments: str = "", parameters: str = "") -> str:
    signature = f"({parameters})" if parameters else ""
    call = f"({arguments})" if arguments else ""
    return f"mutation{signature} {{ {root}{call} {MUTATION_RESULT} }}"


CASES: list[Case] = [
    # -- identity, members, API keys, tenants, modules ------------------------------------------
    Case("tenant", "tenant", "{ tenant { id } }", (P.TENANT_READ,)),
    Case("tenant.usage", "tenant", "{ tenant { usage { members } } }", (P.TENANT_READ,)),
    Case("tenant.members", "tenant", "{ tenant { members { totalCount } } }", (P.MEMBER_READ,)),
    Case(
        "tenant.invitations",
        "tenant",
        "{ tenant { invitations { totalCount } } }",
        (P.MEMBER_MANAGE,),
    ),
    Case("modules", "modules", "{ modules { key } }", (P.MODULE_READ,)),
    Case("apiKeys", "apiKeys", "{ apiKeys { totalCount } }", (P.API_KEY_READ,)),
    Case(
        "node.member",
        "node",
        "query($id: ID!) { node(id: $id) { id } }",
        (P.MEMBER_READ,),
        member_node,
    ),
    Case(
        "node.invitation",
        "node",
        "query($id: ID!) { node(id: $id) { id } }",
        (P.MEMBER_MANAGE,),
        lambda w: invitation_of("VIEWER", w),
    ),
    Case(
        "node.apiKey",
        "node",
        "query($id: ID!) { node(id: $id) { id } }",
        (P.API_KEY_READ,),
        api_key,
    ),
    Case(
        "updateTenant",
        "updateTenant",
        mutation("updateTenant", 'input: {name: "Renamed"}'),
        (P.TENANT_UPDATE,),
    ),
    Case("deleteTenant", "deleteTenant", mutation("deleteTenant"), (P.TENANT_DELETE,)),
    Case(
        "inviteMember",
        "inviteMember",
        mutation("inviteMember", "input: $input", "$input: InviteMemberInput!"),
        (P.MEMBER_MANAGE,),
        fresh(lambda: {"input": {"email": new_email(), "role": "VIEWER"}}),
    ),
    Case(
        "inviteMember.owner",
        "inviteMember",
        mutation("inviteMember", "input: $input", "$input: InviteMemberInput!"),
        (P.MEMBER_MANAGE, P.MEMBER_MANAGE_OWNER),
        fresh(lambda: {"input": {"email": new_email(), "role": "OWNER"}}),
    ),
    Case(
        "revokeInvitation",
        "revokeInvitation",
        mutation("revokeInvitation", "id: $id", "$id: ID!"),
        (P.MEMBER_MANAGE,),
        lambda w: invitation_of("EDITOR", w),
    ),
    Case(
        "revokeInvitation.owner",
        "revokeInvitation",
        mutation("revokeInvitation", "id: $id", "$id: ID!"),
        (P.MEMBER_MANAGE, P.MEMBER_MANAGE_OWNER),
        lambda w: invitation_of("OWNER", w),
    ),
    Case(
        "updateMemberRole",
        "updateMemberRole",
        mutation("updateMemberRole", "userId: $userId, role: $role", "$userId: ID!, $role: Role!"),
        (P.MEMBER_MANAGE,),
        two_members,
    ),
    Case(
        "updateMemberRole.toOwner",
        "updateMemberRole",
        mutation("updateMemberRole", "userId: $userId, role: $role", "$userId: ID!, $role: Role!"),
        (P.MEMBER_MANAGE, P.MEMBER_MANAGE_OWNER),
        promote,
    ),
    Case(
        "updateMemberRole.ofOwner",
        "updateMemberRole",
        mutation("updateMemberRole", "userId: $userId, role: $role", "$userId: ID!, $role: Role!"),
        (P.MEMBER_MANAGE, P.MEMBER_MANAGE_OWNER),
        demote_owner,
    ),
    Case(
        "removeMember",
        "removeMember",
        mutation("removeMember", "userId: $userId", "$userId: ID!"),
        (P.MEMBER_MANAGE,),
        editor,
    ),
    Case(
        "removeMember.owner",
        "removeMember",
        mutation("removeMember", "userId: $userId", "$userId: ID!"),
        (P.MEMBER_MANAGE, P.MEMBER_MANAGE_OWNER),
        another_owner,
    ),
    Case(
        "removeMember.self",
        "removeMember",
        mutation("removeMember", "userId: $userId", "$userId: ID!"),
        (),
        no_variables,  # filled in with the principal's own id
        self_only=True,
    ),
    Case(
        "createApiKey",
        "createApiKey",
        mutation("createApiKey", 'input: {name: "k", role: VIEWER}'),
        (P.API_KEY_MANAGE,),
    ),
    Case(
        "revokeApiKey",
        "revokeApiKey",
        mutation("revokeApiKey", "id: $id", "$id: ID!"),
        (P.API_KEY_MANAGE,),
        api_key,
    ),
    Case(
        "enableModule",
        "enableModule",
        mutation("enableModule", 'key: "analytics"'),
        (P.MODULE_MANAGE,),
    ),
    Case(
        "disableModule",
        "disableModule",
        mutation("disableModule", 'key: "analytics"'),
        (P.MODULE_MANAGE,),
    ),
    Case(
        "createTenant",
        "createTenant",
        mutation("createTenant", "input: $input", "$input: CreateTenantInput!"),
        (),
        fresh(lambda: {"input": {"name": "More", "slug": new_slug()}}),
        users_only=True,
    ),
    Case(
        "switchTenant",
        "switchTenant",
        mutation("switchTenant", "tenantId: $id", "$id: ID!"),
        (),
        other_tenant,
        users_only=True,
    ),
    Case(
        "acceptInvitation",
        "acceptInvitation",
        mutation("acceptInvitation", "token: $token", "$token: String!"),
        (),
        invitation_for_self,
        users_only=True,
    ),
    Case(
        "changePassword",
        "changePassword",
        mutation("changePassword", f'currentPassword: "{PASSWORD}", newPassword: "0123456789"'),
        (),
        users_only=True,
    ),
    # -- other domains: variables that address nothing -----------------------------------------
    Case("workflows", "workflows", "{ workflows { totalCount } }", (P.WORKFLOW_READ,)),
    Case(
        "workflow",
        "workflow",
        "query($id: ID!) { workflow(id: $id) { id } }",
        (P.WORKFLOW_READ,),
        fresh(lambda: {"id": absent("Workflow")}),
    ),
    Case("exportWorkflows", "exportWorkflows", "{ exportWorkflows }", (P.WORKFLOW_READ,)),
    Case("executions", "executions", "{ executions { totalCount } }", (P.EXECUTION_READ,)),
    Case(
        "execution",
        "execution",
        "query($id: ID!) { execution(id: $id) { id } }",
        (P.EXECUTION_READ,),
        fresh(lambda: {"id": absent("Execution")}),
    ),
    Case("deployments", "deployments", "{ deployments { totalCount } }", (P.DEPLOYMENT_READ,)),
    Case("auditLogs", "auditLogs", "{ auditLogs { totalCount } }", (P.AUDIT_READ,)),
    Case("providerKeys", "providerKeys", "{ providerKeys { totalCount } }", (P.PROVIDER_KEY_READ,)),
    Case(
        "createWorkflow",
        "createWorkflow",
        mutation("createWorkflow", "input: $input", "$input: CreateWorkflowInput!"),
        (P.WORKFLOW_WRITE,),
        constant(
            input={
                "name": "Flow",
                "definition": {"nodes": [{"id": "a", "type": "noop", "config": {}}], "edges": []},
            }
        ),
    ),
    Case(
        "updateWorkflow",
        "updateWorkflow",
        mutation("updateWorkflow", "input: $input", "$input: UpdateWorkflowInput!"),
        (P.WORKFLOW_WRITE,),
        fresh(lambda: {"input": {"id": absent("Workflow"), "name": "x"}}),
    ),
    Case(
        "deleteWorkflow",
        "deleteWorkflow",
        mutation("deleteWorkflow", "id: $id", "$id: ID!"),
        (P.WORKFLOW_WRITE,),
        fresh(lambda: {"id": absent("Workflow")}),
    ),
    Case(
        "importWorkflows",
        "importWorkflows",
        mutation("importWorkflows", "data: $data", "$data: JSON!"),
        (P.WORKFLOW_WRITE,),
        constant(data={"format": "tenantflow.workflows", "version": 1, "workflows": []}),
    ),
    Case(
        "runWorkflow",
        "runWorkflow",
        mutation("runWorkflow", "input: $input", "$input: RunWorkflowInput!"),
        (P.EXECUTION_RUN,),
        fresh(lambda: {"input": {"workflowId": absent("Workflow")}}),
    ),
    Case(
        "cancelExecution",
        "cancelExecution",
        mutation("cancelExecution", "id: $id", "$id: ID!"),
        (P.EXECUTION_RUN,),
        fresh(lambda: {"id": absent("Execution")}),
    ),
    Case(
        "createDeployment",
        "createDeployment",
        mutation("createDeployment", "input: $input", "$input: CreateDeploymentInput!"),
        (P.DEPLOYMENT_WRITE,),
        fresh(
            lambda: {
                "input": {
                    "workflowId": absent("Workflow"),
                    "name": "prod",
                    "environment": "PRODUCTION",
                }
            }
        ),
    ),
    Case(
        "updateDeployment",
        "updateDeployment",
        mutation("updateDeployment", "input: $input", "$input: UpdateDeploymentInput!"),
        (P.DEPLOYMENT_WRITE,),
        fresh(lambda: {"input": {"id": absent("Deployment"), "name": "x"}}),
    ),
    Case(
        "deleteDeployment",
        "deleteDeployment",
        mutation("deleteDeployment", "id: $id", "$id: ID!"),
        (P.DEPLOYMENT_WRITE,),
        fresh(lambda: {"id": absent("Deployment")}),
    ),
    Case(
        "createProviderKey",
        "createProviderKey",
        mutation("createProviderKey", "input: $input", "$input: CreateProviderKeyInput!"),
        (P.PROVIDER_KEY_MANAGE,),
        constant(input={"provider": "openai", "name": "main", "secret": "sk-test-0123456789"}),
    ),
    Case(
        "revokeProviderKey",
        "revokeProviderKey",
        mutation("revokeProviderKey", "id: $id", "$id: ID!"),
        (P.PROVIDER_KEY_MANAGE,),
        fresh(lambda: {"id": absent("ProviderKey")}),
    ),
]


def _served_roots() -> set[str]:
    served = build_schema(schema.as_str())
    roots: set[str] = set()
    for root in (served.query_type, served.mutation_type):
        if root is not None:
            roots.update(root.fields)
    return roots


SERVED = _served_roots()
# Every role as a user, and as an API key (never OWNER).
PRINCIPAL_KINDS = [("user", role) for role in Role] + [
    ("key", role) for role in Role if role is not Role.OWNER
]


@dataclass(frozen=True)
class Principal:
    role: Role
    is_key: bool
    token: str
    user_id: str | None


async def make_principal(world: World, kind: str, role: Role) -> Principal:
    if kind == "key":
        _, secret = await world.api_key(role.value)
        return Principal(role, True, secret, None)
    member = await world.members.member(world.owner.tenant_id, role=role)
    return Principal(role, False, member.token, to_global_id("User", member.user_id))


def expected_refusal(case: Case, principal: Principal) -> str | None:
    """The permission a refusal names, or None when the principal may."""
    granted = permissions_of(principal.role)
    missing = [permission for permission in case.needs if permission not in granted]
    if missing:
        return missing[0].value
    if principal.is_key and case.users_only:
        return Permission.TENANT_READ.value
    return None


# Root fields anyone may call: the sign-in mutations and the viewer (null without credentials).
ANONYMOUS_ROOTS = {"signUp", "logIn", "refreshToken", "logOut", "viewer"}


def test_the_table_covers_every_protected_root_field_of_the_served_schema() -> None:
    assert {case.root for case in CASES} | ANONYMOUS_ROOTS == SERVED


async def outcome(gql: GraphQLClient, members: Members, case: Case, kind: str, role: Role) -> str:
    """What the case gives `role` in a tenant of its own: "allowed" or the refusal seen."""
    owner = await members.tenant(plan=Plan.STARTER)
    world = World(gql, members, owner)
    principal = await make_principal(world, kind, role)
    variables = await case.variables(world)
    if case.self_only:
        variables = {"userId": principal.user_id}
    body = await gql.execute(case.operation, variables, token=principal.token)
    if case.is_query:
        codes = [e.get("extensions", {}).get("code") for e in body.get("errors", [])]
        assert codes in ([], ["FORBIDDEN"]), body
        return "FORBIDDEN" if codes else "allowed"
    assert "errors" not in body, body
    result = body["data"][case.root]
    if result["__typename"] == "PermissionDeniedError":
        return str(result["requiredPermission"])
    return "allowed"


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES if c.root in SERVED])
async def test_each_role_is_allowed_exactly_its_permissions(
    gql: GraphQLClient, members: Members, case: Case
) -> None:
    # given each principal in a tenant of its own (an API key has no membership to leave)
    kinds = [(k, r) for k, r in PRINCIPAL_KINDS if not (k == "key" and case.self_only)]
    expected: dict[str, str] = {}
    seen: dict[str, str] = {}
    for kind, role in kinds:
        name = f"{kind} {role.value}"
        refusal = expected_refusal(case, Principal(role, kind == "key", "", None))
        expected[name] = (
            "allowed" if refusal is None else ("FORBIDDEN" if case.is_query else refusal)
        )
        # when
        seen[name] = await outcome(gql, members, case, kind, role)
    # then
    assert seen == expected
