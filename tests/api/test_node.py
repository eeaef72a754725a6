"""node(id:): malformed, foreign and wrong-type ids all act like ids that do not exist."""

from __future__ import annotations

import base64

from graphql import GraphQLInterfaceType, build_schema

from tenantflow.enums import Plan
from tenantflow.schema import schema
from tenantflow.schema.ids import to_global_id
from tests.api.conftest import GraphQLClient, Member, Members, error_codes

NODE_TYPES = {
    "User",
    "Tenant",
    "Member",
    "Invitation",
    "ApiKey",
    "ProviderKey",
    "Workflow",
    "Execution",
    "Deployment",
    "AuditLog",
}

NODE = "query($id: ID!) { node(id: $id) { id __typename ... on User { email } } }"


async def test_node_resolves_a_member_of_the_tenant(gql: GraphQLClient, members: Members) -> None:
    owner = await members.tenant()
    colleague = await members.member(owner.tenant_id)
    user_id = to_global_id("User", colleague.user_id)
    data = await gql.ok(NODE, {"id": user_id}, as_=owner)
    assert data["node"] == {"id": user_id, "__typename": "User", "email": colleague.email}


async def test_foreign_malformed_and_mistyped_ids_resolve_to_null(
    gql: GraphQLClient, members: Members
) -> None:
    a = await members.tenant()
    b = await members.tenant()
    for global_id in (
        to_global_id("User", b.user_id),  # a user of another tenant
        to_global_id("Workflow", a.user_id),  # the right key under another type
        to_global_id("Nope", a.user_id),  # a type that does not exist
        "not base64 at all!",
        base64.b64encode(b"User:not-a-uuid").decode(),
        "",
    ):
        data = await gql.ok(NODE, {"id": global_id}, as_=a)
        assert data["node"] is None, global_id


async def test_node_needs_credentials(gql: GraphQLClient, members: Members) -> None:
    a = await members.tenant()
    body = await gql.execute(NODE, {"id": to_global_id("User", a.user_id)})
    assert body["data"] is None or body["data"]["node"] is None
    assert error_codes(body) == ["UNAUTHENTICATED"]


SETUP = """
mutation($workflow: CreateWorkflowInput!, $invite: InviteMemberInput!,
         $apiKey: CreateApiKeyInput!, $providerKey: CreateProviderKeyInput!) {
  createWorkflow(input: $workflow) { ... on WorkflowPayload { workflow { id } } }
  inviteMember(input: $invite) { ... on InvitationPayload { invitation { id } } }
  createApiKey(input: $apiKey) { ... on CreateApiKeyPayload { apiKey { id } } }
  createProviderKey(input: $providerKey) { ... on ProviderKeyPayload { providerKey { id } } }
}
"""
RUN_AND_DEPLOY = """
mutation($run: RunWorkflowInput!, $deploy: CreateDeploymentInput!) {
  runWorkflow(input: $run) { ... on ExecutionPayload { execution { id } } }
  createDeployment(input: $deploy) { ... on DeploymentPayload { deployment { id } } }
}
"""
LISTS = """
{ tenant { id members { edges { node { id } } } } auditLogs(first: 1) { edges { node { id } } } }
"""
NODE_TYPE = "query($id: ID!) { node(id: $id) { id __typename } }"


async def one_of_each_type(gql: GraphQLClient, owner: Member) -> dict[str, str]:
    """A global id of every Node type, each made through the API in the owner's tenant."""
    definition = {"nodes": [{"id": "a", "type": "noop", "config": {}}], "edges": []}
    made = await gql.ok(
        SETUP,
        {
            "workflow": {"name": "Flow", "definition": definition},
            "invite": {"email": "invitee@example.test", "role": "EDITOR"},
            "apiKey": {"name": "ci", "role": "VIEWER"},
            "providerKey": {"provider": "openai", "name": "main", "secret": "sk-test-123456789"},
        },
        as_=owner,
    )
    workflow_id = made["createWorkflow"]["workflow"]["id"]
    ran = await gql.ok(
        RUN_AND_DEPLOY,
        {
            "run": {"workflowId": workflow_id},
            "deploy": {"workflowId": workflow_id, "name": "prod", "environment": "PRODUCTION"},
        },
        as_=owner,
    )
    lists = await gql.ok(LISTS, as_=owner)
    return {
        "User": to_global_id("User", owner.user_id),
        "Tenant": lists["tenant"]["id"],
        "Member": lists["tenant"]["members"]["edges"][0]["node"]["id"],
        "Invitation": made["inviteMember"]["invitation"]["id"],
        "ApiKey": made["createApiKey"]["apiKey"]["id"],
        "ProviderKey": made["createProviderKey"]["providerKey"]["id"],
        "Workflow": workflow_id,
        "Execution": ran["runWorkflow"]["execution"]["id"],
        "Deployment": ran["createDeployment"]["deployment"]["id"],
        "AuditLog": lists["auditLogs"]["edges"][0]["node"]["id"],
    }


async def test_node_resolves_every_node_type_and_never_another_tenants(
    gql: GraphQLClient, members: Members
) -> None:
    # given one object of every Node type in tenant A
    a = await members.tenant(plan=Plan.STARTER)
    b = await members.tenant(plan=Plan.STARTER)
    ids = await one_of_each_type(gql, a)
    assert set(ids) == NODE_TYPES
    for type_name, global_id in ids.items():
        # then A's owner gets each back by its id, with its type
        mine = await gql.ok(NODE_TYPE, {"id": global_id}, as_=a)
        assert mine["node"] == {"id": global_id, "__typename": type_name}
        # and B's owner gets null, exactly as for an id that does not exist
        theirs = await gql.ok(NODE_TYPE, {"id": global_id}, as_=b)
        assert theirs["node"] is None, type_name


def test_every_node_type_of_the_schema_is_covered() -> None:
    served = build_schema(schema.as_str())
    node = served.get_type("Node")
    assert isinstance(node, GraphQLInterfaceType)
    assert {t.name for t in served.get_implementations(node).objects} == NODE_TYPES
