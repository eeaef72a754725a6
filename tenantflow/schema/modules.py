"""Feature modules: the catalogue and each tenant's state."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from tenantflow.auth.permissions import Permission
from tenantflow.context import Info
from tenantflow.schema.errors import (
    ModuleDependencyError,
    NotFoundError,
    PermissionDeniedError,
    TenantSuspendedError,
)
from tenantflow.schema.guards import mutation_guard, requires
from tenantflow.services.operations import modules
from tenantflow.services.operations.modules import ModuleState


@strawberry.type
class Module:
    key: str
    name: str
    description: str
    depends_on: list[str]
    required_settings: list[str] = strawberry.field(
        description="TenantSettings fields that must be set before the module can be enabled."
    )
    enabled: bool
    enabled_at: datetime | None

    @classmethod
    def of(cls, state: ModuleState) -> Module:
        module = state.module
        return cls(
            key=module.key,
            name=module.name,
            description=module.description,
            depends_on=list(module.depends_on),
            required_settings=list(module.required_settings),
            enabled=state.enabled,
            enabled_at=state.enabled_at,
        )


@strawberry.type
class ModulePayload:
    module: Module


ModuleResult = Annotated[
    ModulePayload
    | NotFoundError
    | ModuleDependencyError
    | PermissionDeniedError
    | TenantSuspendedError,
    strawberry.union("ModuleResult"),
]


@strawberry.type
class ModuleQuery:
    @strawberry.field(
        description="The catalogue, in its order, with the active tenant's state of each module.",
        permission_classes=[requires(Permission.MODULE_READ)],
    )
    async def modules(self, info: Info) -> list[Module]:
        states = await modules.list_modules(db=info.context.db)
        return [Module.of(state) for state in states]


@strawberry.type
class ModuleMutation:
    @strawberry.mutation(description="Enabling an enabled module succeeds and changes nothing.")
    @mutation_guard(Permission.MODULE_MANAGE)
    async def enable_module(self, info: Info, key: str) -> ModuleResult:
        state = await modules.enable_module(db=info.context.db, actor=info.context.actor, key=key)
        return ModulePayload(module=Module.of(state))

    @strawberry.mutation(description="Disabling a disabled module succeeds and changes nothing.")
    @mutation_guard(Permission.MODULE_MANAGE)
    async def disable_module(self, info: Info, key: str) -> ModuleResult:
        state = await modules.disable_module(db=info.context.db, actor=info.context.actor, key=key)
        return ModulePayload(module=Module.of(state))
