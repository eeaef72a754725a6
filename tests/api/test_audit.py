"""auditLogs and node() for AuditLog: who may read, order, filters, pages, and isolation."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tenantflow.auth.secrets import api_key_prefix, hash_token, new_api_key
from tenantflow.db import models
from tenantflow.db.session import SessionFactory
from tenantflow.enums import Role
from tenantflow.schema.ids import to_global_id
from tests.api.conftest import GraphQLClient, Member, Members, error_codes

LOGS = """
query($first: Int, $after: String, $last: Int, $before: String, $filter: AuditLogFilter) {
  auditLogs(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
    totalCount
    edges {
      cursor
      node {
        id action resourceType resourceId actorApiKeyName details ipAddress requestId createdAt
        actor { id email }
      }
    }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""
NODE = """
query($id: ID!) {
  node(id: $id) { __typename id ... on AuditLog { action resourceId } }
}
"""
CREATE_KEY = """
mutation($input: CreateProviderKeyInput!) {
  createProviderKey(input: $input) {
    __typename ... on ProviderKeyPayload { providerKey { id } }
  }
}
"""
REVOKE_KEY = """
mutation($id: ID!) { revokeProviderKey(id: $id) { __typename } }
"""
BASE = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


async def add_rows(
    sessions: SessionFactory, tenant_id: uuid.UUID, *rows: dict[str, Any]
) -> list[models.AuditLog]:
    """Audit rows as other domains' mutations write them, at chosen times."""
    made = []
    async with sessions.tenant_transaction(tenant_id) as session:
        for row in rows:
            made.append(models.AuditLog(**row))
        session.add_all(made)
    return made


async def logs(gql: GraphQLClient, member: Member, **variables: Any) -> dict[str, Any]:
    data = await gql.ok(LOGS, variables, as_=member)
    connection: dict[str, Any] = data["auditLogs"]
    return connection


def actions(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["action"] for edge in connection["edges"]]


@pytest.fixture
async def trail(members: Members, sessions: SessionFactory) -> dict[str, Any]:
    """A tenant with an owner, an editor and five rows of other domains, an hour apart."""
    owner = await members.tenant()
    editor = await members.member(owner.tenant_id, role=Role.EDITOR)
    workflow_id, other_workflow = uuid.uuid4(), uuid.uuid4()
    rows = await add_rows(
        sessions,
        owner.tenant_id,
        {
            "action": "workflow.create",
            "resource_type": "Workflow",
            "resource_id": str(workflow_id),
            "actor_user_id": editor.user_id,
            "details": {"name": "Flow"},
            "created_at": BASE,
        },
        {
            "action": "workflow.update",
            "resource_type": "Workflow",
            "resource_id": str(workflow_id),
            "actor_user_id": owner.user_id,
            "details": {"name": {"before": "Flow", "after": "Flow 2"}, "nested": [1, {"a": None}]},
            "created_at": BASE + timedelta(hours=1),
        },
        {
            "action": "workflow.create",
            "resource_type": "Workflow",
            "resource_id": str(other_workflow),
            "actor_user_id": owner.user_id,
            "created_at": BASE + timedelta(hours=2),
        },
        {
            "action": "module.enable",
            "resource_type": "Module",
            "resource_id": "analytics",
            "actor_user_id": owner.user_id,
            "created_at": BASE + timedelta(hours=3),
        },
        {
            "action": "workflow.delete",
            "resource_type": "Workflow",
            "resource_id": str(workflow_id),
            "actor_user_id": editor.user_id,
            "created_at": BASE + timedelta(hours=4),
        },
    )
    return {
        "owner": owner,
        "editor": editor,
        "workflow": workflow_id,
        "other_workflow": other_workflow,
        "rows": rows,
    }


# ---------------------------------------------------------------- access


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
async def test_admins_read_the_trail_newest_first(
    gql: GraphQLClient, members: Members, trail: dict[str, Any], role: Role
) -> None:
    owner: Member = trail["owner"]
    reader = owner if role is Role.OWNER else await members.member(owner.tenant_id, role=role)
    connection = await logs(gql, reader)
    assert connection["totalCount"] == 5
    assert actions(connection) == [
        "workflow.delete",
        "module.enable",
        "workflow.create",
        "workflow.update",
        "workflow.create",
    ]
    update = connection["edges"][3]["node"]
    assert update == {
        "id": to_global_id("AuditLog", trail["rows"][1].id),
        "action": "workflow.update",
        "resourceType": "Workflow",
        "resourceId": to_global_id("Workflow", trail["workflow"]),
        "actorApiKeyName": None,
        "details": {"name": {"before": "Flow", "after": "Flow 2"}, "nested": [1, {"a": None}]},
        "ipAddress": None,
        "requestId": None,
        "createdAt": "2026-11-01T13:00:00+00:00",
        "actor": {"id": to_global_id("User", owner.user_id), "email": owner.email},
    }
    # a natural key is shown as a global id the same way
    assert connection["edges"][1]["node"]["resourceId"] == to_global_id("Module", "analytics")


@pytest.mark.parametrize("role", [Role.EDITOR, Role.VIEWER])
async def test_editors_and_viewers_are_refused(
    gql: GraphQLClient, members: Members, trail: dict[str, Any], role: Role
) -> None:
    member = await members.member(trail["owner"].tenant_id, role=role)
    body = await gql.execute(LOGS, {}, as_=member)
    assert body["data"] == {"auditLogs": None}
    assert error_codes(body) == ["FORBIDDEN"]
    node = await gql.execute(
        NODE, {"id": to_global_id("AuditLog", trail["rows"][0].id)}, as_=member
    )
    assert node["data"] == {"node": None}
    assert error_codes(node) == ["FORBIDDEN"]


async def test_without_credentials_the_trail_is_closed(gql: GraphQLClient) -> None:
    body = await gql.execute(LOGS, {})
    assert error_codes(body) == ["UNAUTHENTICATED"]


# ---------------------------------------------------------------- what the rows say


async def test_provider_key_changes_are_recorded_with_actor_address_and_request_id(
    gql: GraphQLClient, members: Members
) -> None:
    owner = await members.tenant()
    response = await gql.http.post(
        "/graphql",
        json={
            "query": CREATE_KEY,
            "variables": {
                "input": {"provider": "openai", "name": "Prod", "secret": "sk-abcdefghijklmnop9f2c"}
            },
        },
        headers={**owner.headers, "X-Request-ID": "req-create-1"},
    )
    key_id = response.json()["data"]["createProviderKey"]["providerKey"]["id"]
    await gql.ok(REVOKE_KEY, {"id": key_id}, as_=owner)

    connection = await logs(gql, owner)
    revoke, create = (edge["node"] for edge in connection["edges"])
    assert create["action"] == "provider_key.create"
    assert create["resourceType"] == "ProviderKey"
    assert create["resourceId"] == key_id
    assert create["actor"] == {"id": to_global_id("User", owner.user_id), "email": owner.email}
    assert create["details"] == {"provider": "openai", "name": "Prod", "maskedKey": "sk-\u20269f2c"}
    assert create["requestId"] == "req-create-1"
    assert create["ipAddress"] == "127.0.0.1"
    assert revoke["action"] == "provider_key.revoke"
    assert revoke["resourceId"] == key_id
    assert revoke["details"]["isActive"] == {"before": True, "after": False}
    # the node of an audit row, by its id
    data = await gql.ok(NODE, {"id": create["id"]}, as_=owner)
    assert data["node"] == {
        "__typename": "AuditLog",
        "id": create["id"],
        "action": "provider_key.create",
        "resourceId": key_id,
    }


async def test_an_api_key_actor_is_named_and_filterable(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    owner = await members.tenant()
    token = new_api_key()
    async with sessions.tenant_transaction(owner.tenant_id) as session:
        api_key = models.ApiKey(
            name="deploy-bot",
            prefix=api_key_prefix(token),
            key_hash=hash_token(token),
            role=Role.ADMIN,
        )
        session.add(api_key)
    await gql.ok(
        CREATE_KEY,
        {"input": {"provider": "openai", "name": "Bot key", "secret": "sk-abcdefghijklmnop"}},
        token=token,
    )
    await add_rows(
        sessions,
        owner.tenant_id,
        {"action": "auth.login", "resource_type": "User", "actor_user_id": owner.user_id},
    )
    by_key = await logs(gql, owner, filter={"actorId": to_global_id("ApiKey", api_key.id)})
    assert actions(by_key) == ["provider_key.create"]
    node = by_key["edges"][0]["node"]
    assert node["actor"] is None
    assert node["actorApiKeyName"] == "deploy-bot"
    by_user = await logs(gql, owner, filter={"actorId": to_global_id("User", owner.user_id)})
    assert actions(by_user) == ["auth.login"]
    assert by_user["edges"][0]["node"]["resourceId"] is None


async def test_a_former_member_is_no_longer_shown_as_actor(
    gql: GraphQLClient, members: Members, sessions: SessionFactory, trail: dict[str, Any]
) -> None:
    from sqlmodel import col, delete

    owner, editor = trail["owner"], trail["editor"]
    async with sessions.tenant_transaction(owner.tenant_id) as session:
        await session.exec(
            delete(models.Membership).where(col(models.Membership.user_id) == editor.user_id)
        )
    connection = await logs(gql, owner, filter={"actorId": to_global_id("User", editor.user_id)})
    # the rows stay, filterable by the former member's id; the person is no longer shown
    assert actions(connection) == ["workflow.delete", "workflow.create"]
    assert [edge["node"]["actor"] for edge in connection["edges"]] == [None, None]


# ---------------------------------------------------------------- filters


@pytest.mark.parametrize(
    ("make_filter", "expected"),
    [
        (lambda t: {"action": "workflow.create"}, ["workflow.create", "workflow.create"]),
        (lambda t: {"action": "workflow.nope"}, []),
        (lambda t: {"resourceType": "Module"}, ["module.enable"]),
        (
            lambda t: {"resourceId": to_global_id("Workflow", t["workflow"])},
            ["workflow.delete", "workflow.update", "workflow.create"],
        ),
        (lambda t: {"resourceId": to_global_id("Module", "analytics")}, ["module.enable"]),
        # the uuid is the same, the type is not: no match
        (lambda t: {"resourceId": to_global_id("Deployment", t["workflow"])}, []),
        (
            lambda t: {
                "resourceId": to_global_id("Workflow", t["workflow"]),
                "resourceType": "Module",
            },
            [],
        ),
        (
            lambda t: {"actorId": to_global_id("User", t["editor"].user_id)},
            ["workflow.delete", "workflow.create"],
        ),
        (
            lambda t: {"createdAfter": (BASE + timedelta(hours=1)).isoformat()},
            ["workflow.delete", "module.enable", "workflow.create"],
        ),
        (
            lambda t: {"createdBefore": "2026-11-01T14:00:00+01:00"},  # 13:00 UTC, exclusive
            ["workflow.create"],
        ),
        (
            lambda t: {
                "createdAfter": "2026-11-01T12:30:00Z",
                "createdBefore": (BASE + timedelta(hours=3, minutes=30)).isoformat(),
                "action": "workflow.create",
                "actorId": to_global_id("User", t["owner"].user_id),
            },
            ["workflow.create"],
        ),
    ],
)
async def test_filters_combine_and_total_count_honours_them(
    gql: GraphQLClient, trail: dict[str, Any], make_filter: Any, expected: list[str]
) -> None:
    connection = await logs(gql, trail["owner"], filter=make_filter(trail))
    assert actions(connection) == expected
    assert connection["totalCount"] == len(expected)


async def test_an_uppercase_uuid_in_a_global_id_finds_the_same_rows(
    gql: GraphQLClient, trail: dict[str, Any]
) -> None:
    shouting = to_global_id("Workflow", str(trail["workflow"]).upper())
    connection = await logs(gql, trail["owner"], filter={"resourceId": shouting})
    assert connection["totalCount"] == 3


@pytest.mark.parametrize(
    "bad_filter",
    [
        {"resourceId": "not an id"},
        {"resourceId": ""},
        {"actorId": "not an id"},
        {"actorId": base64.b64encode(b"User:not-a-uuid").decode()},
        {"actorId": to_global_id("Workflow", uuid.uuid4())},  # not a principal
        {"actorId": to_global_id("User", uuid.uuid4())},
    ],
)
async def test_ids_that_name_nothing_match_nothing(
    gql: GraphQLClient, trail: dict[str, Any], bad_filter: dict[str, str]
) -> None:
    connection = await logs(gql, trail["owner"], filter=bad_filter)
    assert connection["totalCount"] == 0
    assert connection["edges"] == []


@pytest.mark.parametrize(
    ("bad_filter", "message"),
    [
        (
            {"createdAfter": "2026-11-01T12:00:00"},
            "filter.createdAfter needs an explicit UTC offset",
        ),
        ({"createdBefore": "2026-11-01"}, "filter.createdBefore needs an explicit UTC offset"),
    ],
)
async def test_dates_without_an_offset_are_errors(
    gql: GraphQLClient, trail: dict[str, Any], bad_filter: dict[str, str], message: str
) -> None:
    body = await gql.execute(LOGS, {"filter": bad_filter}, as_=trail["owner"])
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert message in body["errors"][0]["message"]
    assert not body.get("data") or body["data"]["auditLogs"] is None


# ---------------------------------------------------------------- pages


async def test_pages_follow_the_filter_and_cursors_keep_to_it(
    gql: GraphQLClient, sessions: SessionFactory, trail: dict[str, Any]
) -> None:
    owner = trail["owner"]
    workflow_rows = {"resourceType": "Workflow"}
    first = await logs(gql, owner, first=2, filter=workflow_rows)
    assert actions(first) == ["workflow.delete", "workflow.create"]
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["totalCount"] == 4
    # a row written meanwhile (newer) neither repeats nor shifts the next page
    await add_rows(
        sessions,
        owner.tenant_id,
        {
            "action": "workflow.create",
            "resource_type": "Workflow",
            "created_at": BASE + timedelta(days=1),
        },
    )
    second = await logs(
        gql, owner, first=2, after=first["pageInfo"]["endCursor"], filter=workflow_rows
    )
    assert actions(second) == ["workflow.update", "workflow.create"]
    assert second["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": True,
        "startCursor": second["edges"][0]["cursor"],
        "endCursor": second["edges"][1]["cursor"],
    }
    backwards = await logs(
        gql, owner, last=2, before=second["pageInfo"]["startCursor"], filter=workflow_rows
    )
    assert [e["node"]["id"] for e in backwards["edges"]] == [
        e["node"]["id"] for e in first["edges"]
    ]

    # a cursor belongs to its filter
    other = await gql.execute(
        LOGS,
        {
            "first": 2,
            "after": first["pageInfo"]["endCursor"],
            "filter": {"action": "workflow.create"},
        },
        as_=owner,
    )
    assert error_codes(other) == ["BAD_USER_INPUT"]
    assert "another order or filter" in other["errors"][0]["message"]


async def test_rows_with_the_same_time_are_ordered_by_id(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    owner = await members.tenant()
    rows = await add_rows(
        sessions,
        owner.tenant_id,
        *({"action": f"a.{n}", "resource_type": "X", "created_at": BASE} for n in range(4)),
    )
    expected = [
        to_global_id("AuditLog", r.id) for r in sorted(rows, key=lambda r: r.id, reverse=True)
    ]
    first = await logs(gql, owner, first=2)
    rest = await logs(gql, owner, first=2, after=first["pageInfo"]["endCursor"])
    assert [e["node"]["id"] for e in first["edges"] + rest["edges"]] == expected


# ---------------------------------------------------------------- isolation


async def test_another_tenants_trail_is_invisible(
    gql: GraphQLClient, members: Members, sessions: SessionFactory, trail: dict[str, Any]
) -> None:
    owner = trail["owner"]
    other = await members.tenant()
    [foreign] = await add_rows(
        sessions,
        other.tenant_id,
        {
            "action": "workflow.create",
            "resource_type": "Workflow",
            "resource_id": str(trail["workflow"]),  # even the same resource id
            "actor_user_id": other.user_id,
        },
    )
    connection = await logs(gql, owner)
    assert connection["totalCount"] == 5
    assert to_global_id("AuditLog", foreign.id) not in {
        e["node"]["id"] for e in connection["edges"]
    }
    # B's rows through every filter A could try
    for attempt in (
        {"actorId": to_global_id("User", other.user_id)},
        {
            "resourceId": to_global_id("Workflow", trail["workflow"]),
            "createdAfter": "2026-11-02T00:00:00Z",
        },
    ):
        assert (await logs(gql, owner, filter=attempt))["totalCount"] == 0
    # node() on B's row is null, exactly like an unknown id
    assert (await gql.ok(NODE, {"id": to_global_id("AuditLog", foreign.id)}, as_=owner))[
        "node"
    ] is None
    assert (await gql.ok(NODE, {"id": to_global_id("AuditLog", uuid.uuid4())}, as_=owner))[
        "node"
    ] is None
    # and B sees its own row only
    theirs = await logs(gql, other)
    assert [e["node"]["id"] for e in theirs["edges"]] == [to_global_id("AuditLog", foreign.id)]
    assert theirs["edges"][0]["node"]["actor"]["email"] == other.email


async def test_an_unreadable_date_is_refused_before_anything_runs(
    gql: GraphQLClient, trail: dict[str, Any]
) -> None:
    body = await gql.execute(LOGS, {"filter": {"createdAfter": "yesterday"}}, as_=trail["owner"])
    assert "data" not in body or body["data"] is None
    [error] = body["errors"]
    assert "createdAfter" in error["message"]
    assert "DateTime" in error["message"]
