"""Members and invitations: invite, accept (or sign up), revoke, change roles, remove, leave."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col

from tenantflow.db import models
from tenantflow.db.session import SessionFactory
from tenantflow.db.types import utcnow
from tenantflow.enums import Plan, Role
from tenantflow.schema.ids import to_global_id
from tests.api.auth_helpers import (
    ACCEPT,
    ERROR_FIELDS,
    PASSWORD,
    SIGN_UP,
    VALIDATION_FIELDS,
    VIEWER,
    audit_rows,
    is_signed_in,
    logged_in,
    new_email,
)
from tests.api.conftest import GraphQLClient, Member, Members, error_codes

INVITE = f"""
mutation($input: InviteMemberInput!) {{
  inviteMember(input: $input) {{
    __typename
    ... on InvitationPayload {{
      token
      invitation {{ id email role createdAt expiresAt invitedBy {{ id email }} }}
    }}
    ... on QuotaExceededError {{ resource limit plan }}
    {ERROR_FIELDS}
    {VALIDATION_FIELDS}
  }}
}}
"""
REVOKE_INVITATION = f"""
mutation($id: ID!) {{
  revokeInvitation(id: $id) {{ __typename ... on DeletedPayload {{ id }} {ERROR_FIELDS} }}
}}
"""
UPDATE_ROLE = f"""
mutation($userId: ID!, $role: Role!) {{
  updateMemberRole(userId: $userId, role: $role) {{
    __typename
    ... on MemberPayload {{ member {{ id role user {{ id }} }} }}
    {ERROR_FIELDS}
  }}
}}
"""
REMOVE = f"""
mutation($userId: ID!) {{
  removeMember(userId: $userId) {{ __typename ... on DeletedPayload {{ id }} {ERROR_FIELDS} }}
}}
"""
MEMBERS = """
query($first: Int, $after: String) {
  tenant {
    members(first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node { id role createdAt user { id email } } }
    }
  }
}
"""
INVITATIONS = """
{ tenant { invitations { totalCount edges { node { id email role } } } } }
"""
NODE = "query($id: ID!) { node(id: $id) { id __typename } }"


def user_id_of(member: Member) -> str:
    return to_global_id("User", member.user_id)


async def invite(
    gql: GraphQLClient, inviter: Member, email: str, role: str = "EDITOR"
) -> dict[str, Any]:
    data = await gql.ok(INVITE, {"input": {"email": email, "role": role}}, as_=inviter)
    payload: dict[str, Any] = data["inviteMember"]
    return payload


async def test_an_invitee_with_an_account_accepts_and_joins(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    # given an owner and someone with an account (in a tenant of their own)
    owner = await members.tenant()
    invitee = await members.tenant()
    # when invited
    invited = await invite(gql, owner, invitee.email.upper(), "ADMIN")
    # then
    assert invited["__typename"] == "InvitationPayload"
    assert invited["token"].startswith("tfi_")
    invitation = invited["invitation"]
    assert invitation["role"] == "ADMIN"
    assert invitation["invitedBy"]["id"] == user_id_of(owner)
    created = datetime.fromisoformat(invitation["createdAt"])
    assert datetime.fromisoformat(invitation["expiresAt"]) == created + timedelta(days=7)
    pending = await gql.ok(INVITATIONS, as_=owner)
    assert pending["tenant"]["invitations"]["totalCount"] == 1
    # when accepted
    data = await gql.ok(ACCEPT, {"token": invited["token"]}, as_=invitee)
    # then: tokens for the inviting tenant, with the invitation's role
    joined = data["acceptInvitation"]
    assert joined["__typename"] == "AuthPayload"
    assert joined["viewer"]["tenant"]["id"] == to_global_id("Tenant", owner.tenant_id)
    assert joined["viewer"]["role"] == "ADMIN"
    me = await gql.ok(VIEWER, token=joined["accessToken"])
    assert me["viewer"]["role"] == "ADMIN"
    assert len(me["viewer"]["memberships"]) == 2
    listed = await gql.ok(MEMBERS, as_=owner)
    assert [e["node"]["user"]["email"] for e in listed["tenant"]["members"]["edges"]] == [
        owner.email,
        invitee.email,
    ]
    assert (await gql.ok(INVITATIONS, as_=owner))["tenant"]["invitations"]["totalCount"] == 0
    # and the invitation was for one use
    again = await gql.ok(ACCEPT, {"token": invited["token"]}, as_=invitee)
    assert again["acceptInvitation"]["__typename"] == "NotFoundError"
    actions = [r.action for r in await audit_rows(sessions, owner.tenant_id)]
    assert actions == ["member.invite", "member.join"]


async def test_an_invitee_without_an_account_signs_up_into_the_tenant(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    # given
    owner = await members.tenant()
    email = new_email()
    invited = await invite(gql, owner, email, "VIEWER")
    # when: signing up with the token (tenant fields are not needed)
    form = {"email": email, "password": PASSWORD, "invitationToken": invited["token"]}
    data = await gql.ok(SIGN_UP, {"input": form})
    # then: an account in the inviting tenant, and no tenant of its own
    joined = data["signUp"]
    assert joined["__typename"] == "AuthPayload"
    assert joined["viewer"]["role"] == "VIEWER"
    assert [m["tenantId"] for m in joined["viewer"]["memberships"]] == [
        to_global_id("Tenant", owner.tenant_id)
    ]
    login = await logged_in(gql, email)
    assert login["viewer"]["tenant"]["id"] == to_global_id("Tenant", owner.tenant_id)
    joins = await audit_rows(sessions, owner.tenant_id, "member.join")
    assert [(r.resource_type, r.details) for r in joins] == [
        ("Member", {"userId": str(joins[0].actor_user_id), "role": "VIEWER", "via": "signUp"})
    ]


async def test_the_invitation_answer_does_not_tell_whether_the_email_has_an_account(
    gql: GraphQLClient, members: Members
) -> None:
    owner = await members.tenant(plan=Plan.STARTER)
    someone = await members.tenant()

    def shape(payload: dict[str, Any]) -> dict[str, Any]:
        invitation = payload["invitation"]
        return {
            "typename": payload["__typename"],
            "keys": sorted(invitation),
            "role": invitation["role"],
            "token": len(payload["token"]),
        }

    with_account = await invite(gql, owner, someone.email)
    without_account = await invite(gql, owner, new_email())
    assert shape(with_account) == shape(without_account)


async def test_an_invitation_is_for_its_email_only(gql: GraphQLClient, members: Members) -> None:
    owner = await members.tenant()
    invited = await invite(gql, owner, new_email())
    stranger = await members.tenant()
    accepted = await gql.ok(ACCEPT, {"token": invited["token"]}, as_=stranger)
    assert accepted["acceptInvitation"] == {
        "__typename": "NotFoundError",
        "message": "Invitation not found",
    }
    form = {"email": new_email(), "password": PASSWORD, "invitationToken": invited["token"]}
    signed = await gql.ok(SIGN_UP, {"input": form})
    assert signed["signUp"]["__typename"] == "NotFoundError"


async def test_revoked_and_expired_invitations_cannot_be_used(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    owner = await members.tenant(plan=Plan.STARTER)
    revoked = await invite(gql, owner, new_email())
    expired = await invite(gql, owner, new_email())
    # when
    data = await gql.ok(REVOKE_INVITATION, {"id": revoked["invitation"]["id"]}, as_=owner)
    assert data["revokeInvitation"] == {
        "__typename": "DeletedPayload",
        "id": revoked["invitation"]["id"],
    }
    async with sessions.tenant_transaction(owner.tenant_id) as db:
        await db.exec(
            update(models.Invitation)
            .where(col(models.Invitation.email) == expired["invitation"]["email"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    # then
    for payload in (revoked, expired):
        form = {
            "email": payload["invitation"]["email"],
            "password": PASSWORD,
            "invitationToken": payload["token"],
        }
        signed = await gql.ok(SIGN_UP, {"input": form})
        assert signed["signUp"]["__typename"] == "NotFoundError"
    again = await gql.ok(REVOKE_INVITATION, {"id": revoked["invitation"]["id"]}, as_=owner)
    assert again["revokeInvitation"]["__typename"] == "NotFoundError"
    assert len(await audit_rows(sessions, owner.tenant_id, "invitation.revoke")) == 1


async def test_pending_invitations_count_towards_the_member_quota(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    # given a FREE tenant (3 members) with its owner and one more member
    owner = await members.tenant()
    await members.member(owner.tenant_id)
    first = await invite(gql, owner, new_email())
    assert first["__typename"] == "InvitationPayload"
    # when
    refused = await invite(gql, owner, new_email())
    # then
    assert refused == {
        "__typename": "QuotaExceededError",
        "message": "The FREE plan allows 3 members",
        "resource": "members",
        "limit": 3,
        "plan": "FREE",
    }
    usage = await gql.ok("{ tenant { usage { members limits { members } } } }", as_=owner)
    assert usage["tenant"]["usage"] == {"members": 3, "limits": {"members": 3}}
    # and revoking the pending invitation frees its slot
    await gql.ok(REVOKE_INVITATION, {"id": first["invitation"]["id"]}, as_=owner)
    assert (await invite(gql, owner, new_email()))["__typename"] == "InvitationPayload"
    assert len(await audit_rows(sessions, owner.tenant_id, "member.invite")) == 2


async def test_members_and_pending_invitations_cannot_be_invited_again(
    gql: GraphQLClient, members: Members
) -> None:
    owner = await members.tenant(plan=Plan.STARTER)
    colleague = await members.member(owner.tenant_id)
    email = new_email()
    await invite(gql, owner, email)
    for again in (colleague.email, email.upper()):
        assert (await invite(gql, owner, again))["__typename"] == "ConflictError"
    bad = await invite(gql, owner, "nobody-at-example")
    assert bad["fields"] == [{"field": "input.email", "message": "Enter a valid email address"}]


async def test_only_an_owner_invites_an_owner(gql: GraphQLClient, members: Members) -> None:
    owner = await members.tenant(plan=Plan.STARTER)
    admin = await members.member(owner.tenant_id, role=Role.ADMIN)
    refused = await invite(gql, admin, new_email(), "OWNER")
    assert refused["__typename"] == "PermissionDeniedError"
    assert refused["requiredPermission"] == "member:manage_owner"
    assert (await invite(gql, admin, new_email(), "ADMIN"))["__typename"] == "InvitationPayload"
    invited = await invite(gql, owner, new_email(), "OWNER")
    assert invited["__typename"] == "InvitationPayload"
    revoke = await gql.ok(REVOKE_INVITATION, {"id": invited["invitation"]["id"]}, as_=admin)
    assert revoke["revokeInvitation"]["requiredPermission"] == "member:manage_owner"


async def test_a_changed_role_applies_on_the_next_request(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    # given
    owner = await members.tenant()
    editor = await members.member(owner.tenant_id, role=Role.EDITOR)
    # when
    data = await gql.ok(UPDATE_ROLE, {"userId": user_id_of(editor), "role": "VIEWER"}, as_=owner)
    # then
    member = data["updateMemberRole"]["member"]
    assert (member["role"], member["user"]["id"]) == ("VIEWER", user_id_of(editor))
    me = await gql.ok(VIEWER, as_=editor)
    assert me["viewer"]["role"] == "VIEWER"
    assert "workflow:write" not in me["viewer"]["permissions"]
    # and setting the same role again changes nothing
    same = await gql.ok(UPDATE_ROLE, {"userId": user_id_of(editor), "role": "VIEWER"}, as_=owner)
    assert same["updateMemberRole"]["member"]["role"] == "VIEWER"
    rows = await audit_rows(sessions, owner.tenant_id, "member.update_role")
    assert [r.details for r in rows] == [
        {"userId": str(editor.user_id), "role": {"before": "EDITOR", "after": "VIEWER"}}
    ]


async def test_an_admin_cannot_touch_an_owner(gql: GraphQLClient, members: Members) -> None:
    owner = await members.tenant()
    admin = await members.member(owner.tenant_id, role=Role.ADMIN)
    editor = await members.member(owner.tenant_id, role=Role.EDITOR)
    attempts = [
        (UPDATE_ROLE, {"userId": user_id_of(owner), "role": "VIEWER"}, "updateMemberRole"),
        (UPDATE_ROLE, {"userId": user_id_of(editor), "role": "OWNER"}, "updateMemberRole"),
        (REMOVE, {"userId": user_id_of(owner)}, "removeMember"),
    ]
    for operation, variables, name in attempts:
        data = await gql.ok(operation, variables, as_=admin)
        assert data[name]["__typename"] == "PermissionDeniedError", variables
        assert data[name]["requiredPermission"] == "member:manage_owner"
    assert await is_signed_in(gql, owner.token)


async def test_a_tenant_keeps_at_least_one_owner(gql: GraphQLClient, members: Members) -> None:
    # given a single owner
    owner = await members.tenant()
    for operation, variables, name in (
        (UPDATE_ROLE, {"userId": user_id_of(owner), "role": "ADMIN"}, "updateMemberRole"),
        (REMOVE, {"userId": user_id_of(owner)}, "removeMember"),
    ):
        data = await gql.ok(operation, variables, as_=owner)
        assert data[name] == {
            "__typename": "ConflictError",
            "message": "A tenant keeps at least one OWNER",
        }
    # when a second owner exists, the first may step down
    second = await members.member(owner.tenant_id, role=Role.OWNER)
    data = await gql.ok(UPDATE_ROLE, {"userId": user_id_of(owner), "role": "ADMIN"}, as_=second)
    assert data["updateMemberRole"]["member"]["role"] == "ADMIN"
    left = await gql.ok(REMOVE, {"userId": user_id_of(second)}, as_=second)
    assert left["removeMember"]["__typename"] == "ConflictError"


async def test_every_member_may_leave(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    # given
    owner = await members.tenant()
    viewer = await members.member(owner.tenant_id, role=Role.VIEWER)
    other = await members.member(owner.tenant_id, role=Role.EDITOR)
    # a viewer may not remove someone else
    refused = await gql.ok(REMOVE, {"userId": user_id_of(other)}, as_=viewer)
    assert refused["removeMember"]["requiredPermission"] == "member:manage"
    # when it leaves
    data = await gql.ok(REMOVE, {"userId": user_id_of(viewer)}, as_=viewer)
    # then
    assert data["removeMember"]["__typename"] == "DeletedPayload"
    assert not await is_signed_in(gql, viewer.token)
    node = await gql.ok(NODE, {"id": user_id_of(viewer)}, as_=owner)
    assert node == {"node": None}  # a former member's user is no longer visible
    listed = await gql.ok(MEMBERS, as_=owner)
    assert data["removeMember"]["id"] not in {
        e["node"]["id"] for e in listed["tenant"]["members"]["edges"]
    }
    rows = await audit_rows(sessions, owner.tenant_id, "member.remove")
    assert [(r.actor_user_id, r.details) for r in rows] == [
        (viewer.user_id, {"userId": str(viewer.user_id), "role": "VIEWER", "left": True})
    ]


async def test_members_page_oldest_first(gql: GraphQLClient, members: Members) -> None:
    owner = await members.tenant(plan=Plan.STARTER)
    others = [await members.member(owner.tenant_id) for _ in range(3)]
    first = await gql.ok(MEMBERS, {"first": 2}, as_=owner)
    page = first["tenant"]["members"]
    assert page["totalCount"] == 4
    assert page["pageInfo"]["hasNextPage"] is True
    second = await gql.ok(MEMBERS, {"first": 2, "after": page["pageInfo"]["endCursor"]}, as_=owner)
    rest = second["tenant"]["members"]
    emails = [e["node"]["user"]["email"] for e in page["edges"] + rest["edges"]]
    assert emails == [owner.email, *(m.email for m in others)]
    assert rest["pageInfo"]["hasNextPage"] is False


async def test_invitations_are_for_admins_only(gql: GraphQLClient, members: Members) -> None:
    owner = await members.tenant()
    editor = await members.member(owner.tenant_id, role=Role.EDITOR)
    body = await gql.execute(INVITATIONS, as_=editor)
    assert error_codes(body) == ["FORBIDDEN"]
    assert body["data"]["tenant"]["invitations"] is None


async def test_another_tenants_members_and_invitations_do_not_exist(
    gql: GraphQLClient, members: Members
) -> None:
    # given tenant B with a member and an invitation
    a = await members.tenant()
    b = await members.tenant()
    b_member = await members.member(b.tenant_id)
    b_invitation = await invite(gql, b, new_email())
    listed = await gql.ok(MEMBERS, as_=b)
    b_member_id = listed["tenant"]["members"]["edges"][1]["node"]["id"]
    # when A's owner addresses B's objects, or ids that do not exist
    for user_id in (user_id_of(b_member), to_global_id("User", a.tenant_id), "junk"):
        role = await gql.ok(UPDATE_ROLE, {"userId": user_id, "role": "VIEWER"}, as_=a)
        assert role["updateMemberRole"] == {
            "__typename": "NotFoundError",
            "message": "Member not found",
        }
        removed = await gql.ok(REMOVE, {"userId": user_id}, as_=a)
        assert removed["removeMember"] == {
            "__typename": "NotFoundError",
            "message": "Member not found",
        }
    revoked = await gql.ok(REVOKE_INVITATION, {"id": b_invitation["invitation"]["id"]}, as_=a)
    assert revoked["revokeInvitation"] == {
        "__typename": "NotFoundError",
        "message": "Invitation not found",
    }
    for node_id in (b_member_id, b_invitation["invitation"]["id"], user_id_of(b_member)):
        assert await gql.ok(NODE, {"id": node_id}, as_=a) == {"node": None}
    # then B's are untouched
    assert await is_signed_in(gql, b_member.token)
    still = await gql.ok(INVITATIONS, as_=b)
    assert still["tenant"]["invitations"]["totalCount"] == 1
