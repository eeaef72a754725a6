"""The active tenant: its settings, usage, members and invitations, and its lifecycle.

Tenant, Member and Invitation objects carry the `Viewpoint` they are shown from (see context.py):
the request's own for a query, the new session's for the payload of a sign-in, so that
`logIn { viewer { tenant { members … } } }` shows what the new token may see although the request
itself carried no credentials.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, TypeVar

import strawberry

from tenantflow.auth.permissions import Permission
from tenantflow.auth.principal import Principal
from tenantflow.context import Info, Viewpoint
from tenantflow.db import models
from tenantflow.enums import Plan, Role, TenantStatus
from tenantflow.schema.arguments import given, page_args
from tenantflow.schema.connections import Connection, Listed, connection
from tenantflow.schema.deletion import DeletedPayload, DeleteResult
from tenantflow.schema.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    TenantSuspendedError,
    ValidationError,
)
from tenantflow.schema.guards import mutation_guard, requires
from tenantflow.schema.ids import require_key, to_global_id
from tenantflow.schema.node import Node, register_node
from tenantflow.schema.users import User
from tenantflow.services.tenants import lifecycle as tenants
from tenantflow.services.tenants import members
from tenantflow.services.tenants import settings as tenant_settings
from tenantflow.services.tenants.trials import effective_status

T = TypeVar("T")


# -- object types ----------------------------------------------------------------------------


@strawberry.type
class TenantSettings:
    timezone: str
    locale: str
    currency: str
    company_email: str | None
    address: str | None
    logo_url: str | None

    @classmethod
    def from_stored(cls, stored: dict[str, Any]) -> TenantSettings:
        shown = tenant_settings.current(stored)
        return cls(
            timezone=shown["timezone"] or "",
            locale=shown["locale"] or "",
            currency=shown["currency"] or "",
            company_email=shown["companyEmail"],
            address=shown["address"],
            logo_url=shown["logoUrl"],
        )


@strawberry.type(description="null means unlimited.")
class PlanLimits:
    workflows: int | None
    executions_per_month: int | None
    deployments: int | None
    provider_keys: int | None
    members: int | None
    requests_per_minute: int | None
    cost_per_minute: int | None


@strawberry.type
class TenantUsage:
    workflows: int
    executions_this_month: int
    deployments: int
    provider_keys: int
    members: int
    limits: PlanLimits

    @classmethod
    def of(cls, usage: tenants.Usage) -> TenantUsage:
        limits = usage.limits
        return cls(
            workflows=usage.workflows,
            executions_this_month=usage.executions_this_month,
            deployments=usage.deployments,
            provider_keys=usage.provider_keys,
            members=usage.members,
            limits=PlanLimits(
                workflows=limits.workflows,
                executions_per_month=limits.executions_per_month,
                deployments=limits.deployments,
                provider_keys=limits.provider_keys,
                members=limits.members,
                requests_per_minute=limits.requests_per_minute,
                cost_per_minute=limits.cost_per_minute,
            ),
        )


@strawberry.type
class Member(Node):
    role: Role
    created_at: datetime
    row: strawberry.Private[models.Membership]
    viewpoint: strawberry.Private[Viewpoint]

    @classmethod
    def from_row(cls, row: models.Membership, viewpoint: Viewpoint) -> Member:
        return cls(
            id=to_global_id("Member", row.id),
            role=row.role,
            created_at=row.created_at,
            row=row,
            viewpoint=viewpoint,
        )

    @strawberry.field
    async def user(self) -> User:
        user = await self.viewpoint.loaders.identity.users.load(self.row.user_id)
        assert user is not None  # a member's user is visible in its tenant
        return User.from_row(user)


@strawberry.type
class Invitation(Node):
    email: str
    role: Role
    created_at: datetime
    expires_at: datetime
    row: strawberry.Private[models.Invitation]
    viewpoint: strawberry.Private[Viewpoint]

    @classmethod
    def from_row(cls, row: models.Invitation, viewpoint: Viewpoint) -> Invitation:
        return cls(
            id=to_global_id("Invitation", row.id),
            email=row.email,
            role=row.role,
            created_at=row.created_at,
            expires_at=row.expires_at,
            row=row,
            viewpoint=viewpoint,
        )

    @strawberry.field
    async def invited_by(self) -> User | None:
        """null once the inviter is no longer a member."""
        if self.row.invited_by_id is None:
            return None
        user = await self.viewpoint.loaders.identity.users.load(self.row.invited_by_id)
        return User.from_row(user) if user else None


@strawberry.type
class Tenant(Node):
    name: str
    slug: str
    plan: Plan
    created_at: datetime
    row: strawberry.Private[models.Tenant]
    viewpoint: strawberry.Private[Viewpoint]

    @classmethod
    def from_row(cls, row: models.Tenant, viewpoint: Viewpoint) -> Tenant:
        return cls(
            id=to_global_id("Tenant", row.id),
            name=row.name,
            slug=row.slug,
            plan=row.plan,
            created_at=row.created_at,
            row=row,
            viewpoint=viewpoint,
        )

    def _status(self) -> TenantStatus:
        return effective_status(self.row.status, self.row.trial_ends_at)

    @strawberry.field
    def status(self) -> TenantStatus:
        """An ended trial shows as SUSPENDED (persisted as such when credentials are next used)."""
        return self._status()

    @strawberry.field(description="Set while status is TRIAL.")
    def trial_ends_at(self) -> datetime | None:
        return self.row.trial_ends_at if self._status() is TenantStatus.TRIAL else None

    @strawberry.field
    def settings(self) -> TenantSettings:
        return TenantSettings.from_stored(self.row.settings)

    @strawberry.field(permission_classes=[requires(Permission.TENANT_READ)])
    async def usage(self, info: Info) -> TenantUsage:
        usage = await tenants.tenant_usage(db=self.viewpoint.db, plan=self.row.plan)
        return TenantUsage.of(usage)

    @strawberry.field(permission_classes=[requires(Permission.MEMBER_READ)])
    async def members(
        self,
        info: Info,
        first: int | None = strawberry.UNSET,
        after: str | None = strawberry.UNSET,
        last: int | None = strawberry.UNSET,
        before: str | None = strawberry.UNSET,
    ) -> Connection[Member]:
        """Oldest first."""
        return await connection(
            Listed(self.viewpoint.db, members.members_listing()),
            page_args(first, after, last, before),
            lambda row: Member.from_row(row, self.viewpoint),
        )

    @strawberry.field(
        permission_classes=[requires(Permission.MEMBER_MANAGE)],
        description=(
            "Pending invitations. ADMIN and OWNER only (null otherwise, with a FORBIDDEN error)."
        ),
    )
    async def invitations(
        self,
        info: Info,
        first: int | None = strawberry.UNSET,
        after: str | None = strawberry.UNSET,
        last: int | None = strawberry.UNSET,
        before: str | None = strawberry.UNSET,
    ) -> Connection[Invitation] | None:
        return await connection(
            Listed(self.viewpoint.db, members.invitations_listing()),
            page_args(first, after, last, before),
            lambda row: Invitation.from_row(row, self.viewpoint),
        )


async def active_tenant(viewpoint: Viewpoint) -> Tenant:
    row = await viewpoint.loaders.identity.tenant.load(viewpoint.principal.tenant_id)
    assert row is not None  # the credentials were just checked against it
    return Tenant.from_row(row, viewpoint)


async def load_tenant(info: Info, key: uuid.UUID) -> Tenant | None:
    viewpoint = info.context.require_viewpoint()
    row = await viewpoint.loaders.identity.tenant.load(key)
    return Tenant.from_row(row, viewpoint) if row else None


async def load_member(info: Info, key: uuid.UUID) -> Member | None:
    viewpoint = info.context.require_viewpoint()
    row = await viewpoint.loaders.identity.members.load(key)
    return Member.from_row(row, viewpoint) if row else None


async def load_invitation(info: Info, key: uuid.UUID) -> Invitation | None:
    viewpoint = info.context.require_viewpoint()
    row = await viewpoint.loaders.identity.invitations.load(key)
    return Invitation.from_row(row, viewpoint) if row else None


register_node("Tenant", Permission.TENANT_READ, load_tenant)
register_node("Member", Permission.MEMBER_READ, load_member)
register_node("Invitation", Permission.MEMBER_MANAGE, load_invitation)


# -- inputs, payloads and results ------------------------------------------------------------


@strawberry.input(description="plan as in SignUpInput.")
class CreateTenantInput:
    name: str
    slug: str
    plan: Plan | None = strawberry.UNSET


@strawberry.input
class TenantSettingsInput:
    timezone: str | None = strawberry.UNSET
    locale: str | None = strawberry.UNSET
    currency: str | None = strawberry.UNSET
    company_email: str | None = strawberry.UNSET
    address: str | None = strawberry.UNSET
    logo_url: str | None = strawberry.UNSET

    @staticmethod
    def changes(settings: TenantSettingsInput | None) -> dict[str, str | None]:
        """The settings to change, by their stored names: left out, none; null, every one."""
        if settings is strawberry.UNSET:
            return {}
        if settings is None:
            return dict.fromkeys(tenant_settings.NAMES)
        return settings.given()

    def given(self) -> dict[str, str | None]:
        """The settings given (null included), by their stored names."""
        values = {
            "timezone": self.timezone,
            "locale": self.locale,
            "currency": self.currency,
            "companyEmail": self.company_email,
            "address": self.address,
            "logoUrl": self.logo_url,
        }
        return {name: value for name, value in values.items() if value is not strawberry.UNSET}


@strawberry.input(description="An omitted field stays as it is; null clears it.")
class UpdateTenantInput:
    name: str | None = strawberry.UNSET
    settings: TenantSettingsInput | None = strawberry.UNSET


@strawberry.input
class InviteMemberInput:
    email: str
    role: Role


@strawberry.type
class TenantPayload:
    tenant: Tenant


@strawberry.type
class InvitationPayload:
    invitation: Invitation
    token: str = strawberry.field(
        description=(
            "Shown once; the invitee passes it to acceptInvitation or signUp. Valid 7 days, once."
        )
    )


@strawberry.type
class MemberPayload:
    member: Member


TenantResult = Annotated[
    TenantPayload | ValidationError | ConflictError | PermissionDeniedError | TenantSuspendedError,
    strawberry.union("TenantResult"),
]
InvitationResult = Annotated[
    InvitationPayload
    | ValidationError
    | ConflictError
    | PermissionDeniedError
    | QuotaExceededError
    | TenantSuspendedError,
    strawberry.union("InvitationResult"),
]
MemberResult = Annotated[
    MemberPayload
    | ValidationError
    | NotFoundError
    | ConflictError
    | PermissionDeniedError
    | QuotaExceededError
    | TenantSuspendedError,
    strawberry.union("MemberResult"),
]


# -- roots -----------------------------------------------------------------------------------


@strawberry.type
class TenantQuery:
    @strawberry.field(
        description="The active tenant.", permission_classes=[requires(Permission.TENANT_READ)]
    )
    async def tenant(self, info: Info) -> Tenant:
        return await active_tenant(info.context.require_viewpoint())


@strawberry.type
class TenantMutation:
    @strawberry.mutation
    @mutation_guard()
    async def create_tenant(self, info: Info, input: CreateTenantInput) -> TenantResult:
        """A further tenant, with the signed-in user as its OWNER (switchTenant to use it)."""
        row = await tenants.create_tenant(
            sessions=info.context.sessions,
            actor=info.context.actor,
            name=input.name,
            slug=input.slug,
            plan=given(input.plan),
        )
        principal = info.context.require_principal()
        owner = Principal(
            tenant_id=row.id,
            role=Role.OWNER,
            tenant_status=row.status,
            plan=row.plan,
            user_id=principal.user_id,
        )
        return TenantPayload(
            tenant=Tenant.from_row(row, Viewpoint.of(info.context.sessions, owner))
        )

    @strawberry.mutation
    @mutation_guard(Permission.TENANT_UPDATE)
    async def update_tenant(self, info: Info, input: UpdateTenantInput) -> TenantResult:
        row = await tenants.update_tenant(
            db=info.context.db,
            actor=info.context.actor,
            name=tenants.UNCHANGED if input.name is strawberry.UNSET else input.name,
            settings=TenantSettingsInput.changes(input.settings),
        )
        return TenantPayload(tenant=Tenant.from_row(row, info.context.require_viewpoint()))

    @strawberry.mutation(
        description=(
            "Soft delete (OWNER): status DELETED, sessions and keys revoked, data purged after"
            " the retention period."
        )
    )
    @mutation_guard(Permission.TENANT_DELETE, allowed_when_suspended=True)
    async def delete_tenant(self, info: Info) -> DeleteResult:
        tenant_id = await tenants.delete_tenant(db=info.context.db, actor=info.context.actor)
        return DeletedPayload(id=to_global_id("Tenant", tenant_id))

    @strawberry.mutation(description="The same answer whether or not the email has an account.")
    @mutation_guard(Permission.MEMBER_MANAGE)
    async def invite_member(self, info: Info, input: InviteMemberInput) -> InvitationResult:
        issued = await members.invite_member(
            db=info.context.db,
            actor=info.context.actor,
            email=input.email,
            role=input.role,
        )
        invitation = Invitation.from_row(issued.invitation, info.context.require_viewpoint())
        return InvitationPayload(invitation=invitation, token=issued.token)

    @strawberry.mutation
    @mutation_guard(Permission.MEMBER_MANAGE, allowed_when_suspended=True)
    async def revoke_invitation(self, info: Info, id: strawberry.ID) -> DeleteResult:
        revoked = await members.revoke_invitation(
            db=info.context.db,
            actor=info.context.actor,
            invitation_id=require_key(id, "Invitation"),
        )
        return DeletedPayload(id=to_global_id("Invitation", revoked))

    @strawberry.mutation
    @mutation_guard(Permission.MEMBER_MANAGE)
    async def update_member_role(
        self, info: Info, user_id: strawberry.ID, role: Role
    ) -> MemberResult:
        row = await members.update_member_role(
            db=info.context.db,
            actor=info.context.actor,
            user_id=require_key(user_id, "User", missing="Member"),
            role=role,
        )
        return MemberPayload(member=Member.from_row(row, info.context.require_viewpoint()))

    @strawberry.mutation(
        description=(
            "Also how a member leaves (its own userId). The last OWNER cannot leave or be removed"
            " (ConflictError). Answers the removed Member's id."
        )
    )
    # Every member may remove itself: the service asks member:manage for anyone else.
    @mutation_guard(allowed_when_suspended=True)
    async def remove_member(self, info: Info, user_id: strawberry.ID) -> DeleteResult:
        removed = await members.remove_member(
            db=info.context.db,
            actor=info.context.actor,
            user_id=require_key(user_id, "User", missing="Member"),
        )
        return DeletedPayload(id=to_global_id("Member", removed))
