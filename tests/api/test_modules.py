"""Feature modules: the catalogue, enabling and disabling, dependencies and required settings."""

from __future__ import annotations

from typing import Any

from tenantflow.db.session import SessionFactory
from tenantflow.enums import Role
from tests.api.auth_helpers import ERROR_FIELDS, audit_rows
from tests.api.conftest import GraphQLClient, Member, Members

MODULES = "{ modules { key name description dependsOn requiredSettings enabled enabledAt } }"
MODULE_RESULT = f"""
    __typename
    ... on ModulePayload {{ module {{ key enabled enabledAt }} }}
    ... on ModuleDependencyError {{ modules missingSettings }}
    {ERROR_FIELDS}
"""
ENABLE = f"mutation($key: String!) {{ enableModule(key: $key) {{ {MODULE_RESULT} }} }}"
DISABLE = f"mutation($key: String!) {{ disableModule(key: $key) {{ {MODULE_RESULT} }} }}"
UPDATE_SETTINGS = """
mutation($settings: TenantSettingsInput) {
  updateTenant(input: {settings: $settings}) {
    __typename ... on ValidationError { fields { field message } }
  }
}
"""


async def enable(gql: GraphQLClient, member: Member, key: str) -> dict[str, Any]:
    payload: dict[str, Any] = (await gql.ok(ENABLE, {"key": key}, as_=member))["enableModule"]
    return payload


async def disable(gql: GraphQLClient, member: Member, key: str) -> dict[str, Any]:
    payload: dict[str, Any] = (await gql.ok(DISABLE, {"key": key}, as_=member))["disableModule"]
    return payload


async def states(gql: GraphQLClient, member: Member) -> dict[str, bool]:
    data = await gql.ok(MODULES, as_=member)
    return {m["key"]: m["enabled"] for m in data["modules"]}


async def test_the_catalogue_with_the_tenants_state(gql: GraphQLClient, members: Members) -> None:
    viewer = await members.tenant(role=Role.VIEWER)
    data = await gql.ok(MODULES, as_=viewer)
    assert [
        (m["key"], m["dependsOn"], m["requiredSettings"], m["enabled"], m["enabledAt"])
        for m in data["modules"]
    ] == [
        ("analytics", [], [], False, None),
        ("reporting", ["analytics"], [], False, None),
        ("billing", [], ["companyEmail", "address"], False, None),
        ("invoicing", ["billing"], [], False, None),
    ]
    assert all(m["name"] and m["description"] for m in data["modules"])


async def test_enabling_needs_the_dependencies_first(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    admin = await members.tenant(role=Role.ADMIN)
    refused = await enable(gql, admin, "reporting")
    assert refused["__typename"] == "ModuleDependencyError"
    assert (refused["modules"], refused["missingSettings"]) == (["analytics"], [])
    enabled = await enable(gql, admin, "analytics")
    assert enabled["module"]["enabled"] is True
    assert enabled["module"]["enabledAt"] is not None
    assert (await enable(gql, admin, "reporting"))["__typename"] == "ModulePayload"
    assert await states(gql, admin) == {
        "analytics": True,
        "reporting": True,
        "billing": False,
        "invoicing": False,
    }
    rows = await audit_rows(sessions, admin.tenant_id, "module.enable")
    assert [(r.resource_type, r.resource_id) for r in rows] == [
        ("Module", "analytics"),
        ("Module", "reporting"),
    ]


async def test_enabling_needs_the_required_settings(gql: GraphQLClient, members: Members) -> None:
    owner = await members.tenant()
    refused = await enable(gql, owner, "billing")
    assert (refused["modules"], refused["missingSettings"]) == ([], ["companyEmail", "address"])
    await gql.ok(UPDATE_SETTINGS, {"settings": {"companyEmail": "billing@example.test"}}, as_=owner)
    refused = await enable(gql, owner, "billing")
    assert refused["missingSettings"] == ["address"]
    invoicing = await enable(gql, owner, "invoicing")
    assert (invoicing["modules"], invoicing["missingSettings"]) == (["billing"], [])
    await gql.ok(UPDATE_SETTINGS, {"settings": {"address": "1 Main St"}}, as_=owner)
    assert (await enable(gql, owner, "billing"))["__typename"] == "ModulePayload"
    assert (await enable(gql, owner, "invoicing"))["__typename"] == "ModulePayload"


async def test_disabling_refuses_while_an_enabled_module_depends_on_it(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    owner = await members.tenant()
    await enable(gql, owner, "analytics")
    await enable(gql, owner, "reporting")
    refused = await disable(gql, owner, "analytics")
    assert refused["__typename"] == "ModuleDependencyError"
    assert (refused["modules"], refused["missingSettings"]) == (["reporting"], [])
    assert (await disable(gql, owner, "reporting"))["module"] == {
        "key": "reporting",
        "enabled": False,
        "enabledAt": None,
    }
    assert (await disable(gql, owner, "analytics"))["__typename"] == "ModulePayload"
    assert not any((await states(gql, owner)).values())
    assert len(await audit_rows(sessions, owner.tenant_id, "module.disable")) == 2


async def test_enable_and_disable_are_idempotent(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    owner = await members.tenant()
    first = await enable(gql, owner, "analytics")
    again = await enable(gql, owner, "analytics")
    assert again == first  # same enabledAt: nothing changed
    await disable(gql, owner, "analytics")
    assert (await disable(gql, owner, "analytics"))["module"]["enabled"] is False
    actions = [r.action for r in await audit_rows(sessions, owner.tenant_id)]
    assert actions == ["module.enable", "module.disable"]


async def test_a_setting_an_enabled_module_needs_cannot_be_cleared(
    gql: GraphQLClient, members: Members
) -> None:
    owner = await members.tenant()
    settings = {"companyEmail": "billing@example.test", "address": "1 Main St"}
    await gql.ok(UPDATE_SETTINGS, {"settings": settings}, as_=owner)
    await enable(gql, owner, "billing")
    for cleared, names in (
        ({"companyEmail": None}, ["companyEmail"]),
        ({"address": ""}, ["address"]),
        (None, ["companyEmail", "address"]),
    ):
        data = await gql.ok(UPDATE_SETTINGS, {"settings": cleared}, as_=owner)
        assert data["updateTenant"]["fields"] == [
            {"field": f"input.settings.{name}", "message": "The billing module needs this setting"}
            for name in names
        ]
    await disable(gql, owner, "billing")
    data = await gql.ok(UPDATE_SETTINGS, {"settings": {"companyEmail": None}}, as_=owner)
    assert data["updateTenant"]["__typename"] == "TenantPayload"


async def test_unknown_modules_and_roles_without_module_manage(
    gql: GraphQLClient, members: Members
) -> None:
    owner = await members.tenant()
    editor = await members.member(owner.tenant_id, role=Role.EDITOR)
    assert await enable(gql, owner, "teleportation") == {
        "__typename": "NotFoundError",
        "message": "Module not found",
    }
    refused = await enable(gql, editor, "analytics")
    assert refused["requiredPermission"] == "module:manage"


async def test_one_tenants_modules_are_its_own(gql: GraphQLClient, members: Members) -> None:
    a = await members.tenant()
    b = await members.tenant()
    await enable(gql, a, "analytics")
    assert (await states(gql, b))["analytics"] is False
    await enable(gql, b, "analytics")
    await enable(gql, b, "reporting")
    assert (await disable(gql, a, "analytics"))["__typename"] == "ModulePayload"
    assert (await states(gql, b))["analytics"] is True
