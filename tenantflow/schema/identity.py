"""Identity: the viewer, signing up and in, sessions, tenant switching, API keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import strawberry

from tenantflow.auth.permissions import Permission, sorted_permissions
from tenantflow.auth.throttle import LoginThrottle
from tenantflow.context import Info, Viewpoint
from tenantflow.db import models
from tenantflow.enums import Plan, Role
from tenantflow.schema.after_response import after_response
from tenantflow.schema.arguments import given, page_args
from tenantflow.schema.connections import Connection, Listed, connection
from tenantflow.schema.errors import (
    ConflictError,
    InvalidCredentialsError,
    NotFoundError,
    PermissionDeniedError,
    TenantSuspendedError,
    ValidationError,
)
from tenantflow.schema.guards import mutation_guard, requires
from tenantflow.schema.ids import require_key, to_global_id
from tenantflow.schema.node import Node, register_node
from tenantflow.schema.tenants import Tenant, active_tenant
from tenantflow.schema.users import User
from tenantflow.services.identity import api_keys, auth, sign_up
from tenantflow.services.identity.origin import Origin
from tenantflow.services.identity.refresh_sessions import SessionIssuer
from tenantflow.services.identity.sign_in import SignedIn
from tenantflow.services.identity.sign_in_budget import SignInBudget
from tenantflow.services.tenants import lifecycle as tenants

# -- object types ----------------------------------------------------------------------------


@strawberry.type(
    description="A key for programmatic access to this API, scoped to one tenant and one role"
    " (never OWNER)."
)
class ApiKey(Node):
    name: str
    prefix: str = strawberry.field(description="The first characters of the key, to recognise it.")
    role: Role
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def from_row(cls, row: models.ApiKey) -> ApiKey:
        return cls(
            id=to_global_id("ApiKey", row.id),
            name=row.name,
            prefix=row.prefix,
            role=row.role,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
        )


async def load_api_key(info: Info, key: uuid.UUID) -> ApiKey | None:
    row = await info.context.loaders.identity.api_keys.load(key)
    return ApiKey.from_row(row) if row else None


register_node("ApiKey", Permission.API_KEY_READ, load_api_key)


@strawberry.type(description="A tenant the viewer belongs to (for the tenant switcher).")
class Membership:
    tenant_id: strawberry.ID
    tenant_name: str
    tenant_slug: str
    role: Role


@strawberry.type
class Viewer:
    role: Role
    viewpoint: strawberry.Private[Viewpoint]

    @classmethod
    def of(cls, viewpoint: Viewpoint) -> Viewer:
        return cls(role=viewpoint.principal.role, viewpoint=viewpoint)

    @strawberry.field(description="null when the credentials are an API key.")
    async def user(self) -> User | None:
        user_id = self.viewpoint.principal.user_id
        row = await self.viewpoint.loaders.identity.users.load(user_id) if user_id else None
        return User.from_row(row) if row else None

    @strawberry.field(description="The API key in use, when the credentials are one.")
    async def api_key(self) -> ApiKey | None:
        key_id = self.viewpoint.principal.api_key_id
        row = await self.viewpoint.loaders.identity.api_keys.load(key_id) if key_id else None
        return ApiKey.from_row(row) if row else None

    @strawberry.field(description="The tenant this token is scoped to.")
    async def tenant(self) -> Tenant:
        return await active_tenant(self.viewpoint)

    @strawberry.field(
        description="Permission strings of the viewer in the active tenant, e.g. workflow:write."
    )
    def permissions(self) -> list[str]:
        return sorted_permissions(self.viewpoint.principal.role)

    @strawberry.field(description="The viewer's tenants; an API key's is its own, with its role.")
    async def memberships(self, info: Info) -> list[Membership]:
        principal = self.viewpoint.principal
        if principal.user_id is None:
            tenant = await active_tenant(self.viewpoint)
            own = Membership(
                tenant_id=tenant.id,
                tenant_name=tenant.name,
                tenant_slug=tenant.slug,
                role=principal.role,
            )
            return [own]
        found = await tenants.memberships_of(
            sessions=info.context.sessions, user_id=principal.user_id
        )
        return [
            Membership(
                tenant_id=to_global_id("Tenant", m.tenant_id),
                tenant_name=m.name,
                tenant_slug=m.slug,
                role=m.role,
            )
            for m in found
        ]


@strawberry.type
class AuthPayload:
    access_token: str
    refresh_token: str
    expires_in: int = strawberry.field(description="Seconds until accessToken expires.")
    viewer: Viewer

    @classmethod
    def of(cls, info: Info, signed_in: SignedIn) -> AuthPayload:
        """Tokens and the viewer they stand for, shown through the new session's eyes."""
        return cls(
            access_token=signed_in.tokens.access_token,
            refresh_token=signed_in.tokens.refresh_token,
            expires_in=signed_in.tokens.expires_in,
            viewer=Viewer.of(Viewpoint.of(info.context.sessions, signed_in.principal)),
        )


# -- inputs, payloads and results ------------------------------------------------------------


@strawberry.input(
    description=(
        "Creates an account and its first tenant (tenantName, tenantSlug and plan), or, with"
        " invitationToken, an account that joins the inviting tenant (tenant fields then"
        " ignored). An email that already has an account with this password creates the new"
        " tenant for that account instead; with another password, ConflictError."
    )
)
class SignUpInput:
    email: str
    password: str = strawberry.field(description="10 to 256 characters.")
    name: str | None = strawberry.UNSET
    tenant_name: str | None = strawberry.UNSET
    tenant_slug: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="^[a-z0-9](-?[a-z0-9])*$, 3 to 50 characters, unique.",
    )
    plan: Plan | None = strawberry.field(
        default=strawberry.UNSET,
        description=(
            "FREE (the default), STARTER or PRO; STARTER and PRO start as a 14-day TRIAL."
            " ENTERPRISE is set by the operator only."
        ),
    )
    invitation_token: str | None = strawberry.UNSET

    def form(self) -> sign_up.SignUp:
        return sign_up.SignUp(
            email=self.email,
            password=self.password,
            name=given(self.name),
            tenant_name=given(self.tenant_name),
            tenant_slug=given(self.tenant_slug),
            plan=given(self.plan),
            invitation_token=given(self.invitation_token),
        )


@strawberry.input
class LogInInput:
    email: str
    password: str
    tenant_slug: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Tenant to scope the token to; default: the user's oldest membership.",
    )


@strawberry.input
class CreateApiKeyInput:
    name: str
    role: Role


@strawberry.type
class CreateApiKeyPayload:
    api_key: ApiKey
    secret: str = strawberry.field(description="Shown once; only a hash is stored.")


@strawberry.type
class ApiKeyPayload:
    api_key: ApiKey


AuthResult = Annotated[
    AuthPayload
    | InvalidCredentialsError
    | ValidationError
    | ConflictError
    | NotFoundError
    | PermissionDeniedError,
    strawberry.union("AuthResult"),
]
CreateApiKeyResult = Annotated[
    CreateApiKeyPayload | ValidationError | PermissionDeniedError | TenantSuspendedError,
    strawberry.union("CreateApiKeyResult"),
]
ApiKeyResult = Annotated[
    ApiKeyPayload | NotFoundError | PermissionDeniedError, strawberry.union("ApiKeyResult")
]


def _issuer(info: Info) -> SessionIssuer:
    return SessionIssuer(info.context.runtime.tokens, info.context.settings.refresh_token_ttl)


def _throttle(info: Info) -> LoginThrottle:
    return info.context.runtime.login_throttle


def _origin(info: Info) -> Origin:
    return Origin(info.context.client_address, info.context.request_id)


def _budget(info: Info) -> SignInBudget:
    return SignInBudget(info.context.runtime.budgets, info.context.client_address)


# -- roots -----------------------------------------------------------------------------------


@strawberry.type
class IdentityQuery:
    @strawberry.field(description="null when the request carries no valid credentials.")
    def viewer(self, info: Info) -> Viewer | None:
        viewpoint = info.context.viewpoint
        return Viewer.of(viewpoint) if viewpoint else None

    @strawberry.field(
        description="ADMIN and OWNER only (null otherwise, with a FORBIDDEN error). Newest first.",
        permission_classes=[requires(Permission.API_KEY_READ)],
    )
    async def api_keys(
        self,
        info: Info,
        first: int | None = strawberry.UNSET,
        after: str | None = strawberry.UNSET,
        last: int | None = strawberry.UNSET,
        before: str | None = strawberry.UNSET,
    ) -> Connection[ApiKey] | None:
        return await connection(
            Listed(info.context.db, api_keys.api_keys_listing()),
            page_args(first, after, last, before),
            ApiKey.from_row,
        )


@strawberry.type
class IdentityMutation:
    @strawberry.mutation
    @mutation_guard(authenticated=False)
    async def sign_up(self, info: Info, input: SignUpInput) -> AuthResult:
        signed_in = await sign_up.sign_up(
            sessions=info.context.sessions,
            issuer=_issuer(info),
            throttle=_throttle(info),
            form=input.form(),
            origin=_origin(info),
            budget=_budget(info),
        )
        return AuthPayload.of(info, signed_in)

    @strawberry.mutation
    @mutation_guard(authenticated=False)
    async def log_in(self, info: Info, input: LogInInput) -> AuthResult:
        signed_in = await auth.log_in(
            sessions=info.context.sessions,
            issuer=_issuer(info),
            throttle=_throttle(info),
            email=input.email,
            password=input.password,
            tenant_slug=given(input.tenant_slug),
            origin=_origin(info),
            budget=_budget(info),
            defer=after_response(info),
        )
        return AuthPayload.of(info, signed_in)

    @strawberry.mutation(
        description=(
            "Rotates: the old refresh token stops working; presenting a used one again revokes"
            " its whole family."
        )
    )
    @mutation_guard(authenticated=False)
    async def refresh_token(self, info: Info, refresh_token: str) -> AuthResult:
        signed_in = await auth.refresh_session(
            sessions=info.context.sessions,
            issuer=_issuer(info),
            refresh_token=refresh_token,
            origin=_origin(info),
            budget=_budget(info),
        )
        return AuthPayload.of(info, signed_in)

    @strawberry.mutation(
        description="Ends the refresh token's session; false when it was unknown or ended."
    )
    async def log_out(self, info: Info, refresh_token: str) -> bool:
        return await auth.log_out(
            sessions=info.context.sessions, refresh_token=refresh_token, origin=_origin(info)
        )

    @strawberry.mutation(description="New tokens scoped to another tenant the viewer belongs to.")
    @mutation_guard(allowed_when_suspended=True)
    async def switch_tenant(self, info: Info, tenant_id: strawberry.ID) -> AuthResult:
        signed_in = await auth.switch_tenant(
            sessions=info.context.sessions,
            issuer=_issuer(info),
            actor=info.context.actor,
            tenant_id=require_key(tenant_id, "Tenant"),
        )
        return AuthPayload.of(info, signed_in)

    @strawberry.mutation(
        description=(
            "Joins the inviting tenant as the signed-in user (whose email must match); returns"
            " tokens scoped to it."
        )
    )
    @mutation_guard(allowed_when_suspended=True)
    async def accept_invitation(self, info: Info, token: str) -> AuthResult:
        signed_in = await auth.accept_invitation(
            sessions=info.context.sessions,
            issuer=_issuer(info),
            actor=info.context.actor,
            token=token,
        )
        return AuthPayload.of(info, signed_in)

    @strawberry.mutation(description="Revokes every other session of the user.")
    @mutation_guard(allowed_when_suspended=True)
    async def change_password(
        self, info: Info, current_password: str, new_password: str
    ) -> AuthResult:
        signed_in = await auth.change_password(
            sessions=info.context.sessions,
            issuer=_issuer(info),
            throttle=_throttle(info),
            actor=info.context.actor,
            current_password=current_password,
            new_password=new_password,
        )
        return AuthPayload.of(info, signed_in)

    @strawberry.mutation
    @mutation_guard(Permission.API_KEY_MANAGE)
    async def create_api_key(self, info: Info, input: CreateApiKeyInput) -> CreateApiKeyResult:
        issued = await api_keys.create_api_key(
            db=info.context.db,
            actor=info.context.actor,
            name=input.name,
            role=input.role,
        )
        return CreateApiKeyPayload(api_key=ApiKey.from_row(issued.api_key), secret=issued.secret)

    @strawberry.mutation
    @mutation_guard(Permission.API_KEY_MANAGE, allowed_when_suspended=True)
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> ApiKeyResult:
        row = await api_keys.revoke_api_key(
            db=info.context.db,
            actor=info.context.actor,
            key_id=require_key(id, "ApiKey"),
        )
        return ApiKeyPayload(api_key=ApiKey.from_row(row))
