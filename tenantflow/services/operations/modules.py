"""Feature modules: the global catalogue (data, see migration 0002) and each tenant's choices.

Enabling needs every dependency enabled and every required setting set; disabling needs no enabled
module depending on it. Enabling an enabled module (or disabling a disabled one) succeeds, changes
nothing and writes no audit row: the trail records changes. Changes lock the tenant row, so a
concurrent enable and disable (or a settings change) cannot leave a dependency broken.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tenantflow.db.faults import retry_conflicts
from tenantflow.db.models import Module, TenantModule
from tenantflow.db.session import TenantDb
from tenantflow.db.types import utcnow
from tenantflow.services.actor import Actor
from tenantflow.services.errors import ModuleDependency, NotFound
from tenantflow.services.operations import audit
from tenantflow.services.tenants import settings as tenant_settings
from tenantflow.services.tenants.quotas import lock_tenant


@dataclass(frozen=True, slots=True)
class ModuleState:
    module: Module
    enabled: bool
    enabled_at: datetime | None


async def _catalogue(session: AsyncSession) -> list[Module]:
    statement = select(Module).order_by(col(Module.position), col(Module.key))
    return list((await session.exec(statement)).all())


async def _choices(session: AsyncSession) -> dict[str, TenantModule]:
    return {row.module_key: row for row in (await session.exec(select(TenantModule))).all()}


def _state(module: Module, choice: TenantModule | None) -> ModuleState:
    enabled = choice is not None and choice.enabled
    return ModuleState(module, enabled, choice.enabled_at if choice and enabled else None)


async def list_modules(*, db: TenantDb) -> list[ModuleState]:
    """The whole catalogue, in its order, with the tenant's state of each module."""
    async with db.reader() as session:
        catalogue = await _catalogue(session)
        choices = await _choices(session)
    return [_state(module, choices.get(module.key)) for module in catalogue]


@retry_conflicts
async def _set_enabled(db: TenantDb, actor: Actor, key: str, *, enable: bool) -> ModuleState:
    async with db.transaction() as session:
        tenant = await lock_tenant(session)
        catalogue = {module.key: module for module in await _catalogue(session)}
        module = catalogue.get(key)
        if module is None:
            raise NotFound("Module")
        choices = await _choices(session)
        enabled = {k for k, choice in choices.items() if choice.enabled}
        choice = choices.get(key)
        if (key in enabled) is enable:
            return _state(module, choice)
        if enable:
            missing_modules = [k for k in module.depends_on if k not in enabled]
            missing_settings = [
                s
                for s in module.required_settings
                if not tenant_settings.is_set(tenant.settings, s)
            ]
            if missing_modules or missing_settings:
                raise ModuleDependency(
                    f"{module.name} needs more to be enabled first",
                    modules=missing_modules,
                    missing_settings=missing_settings,
                )
        else:
            dependents = [k for k in sorted(enabled) if key in catalogue[k].depends_on]
            if dependents:
                raise ModuleDependency(
                    f"Enabled modules still depend on {module.name}",
                    modules=dependents,
                    missing_settings=[],
                )
        now = utcnow()
        if choice is None:
            choice = TenantModule(module_key=key)
            session.add(choice)
        choice.enabled = enable
        choice.enabled_at = now if enable else None
        choice.updated_at = now
        audit.record(
            session,
            actor=actor,
            action="module.enable" if enable else "module.disable",
            resource_type="Module",
            resource_id=key,
        )
    return _state(module, choice)


async def enable_module(*, db: TenantDb, actor: Actor, key: str) -> ModuleState:
    return await _set_enabled(db, actor, key, enable=True)


async def disable_module(*, db: TenantDb, actor: Actor, key: str) -> ModuleState:
    return await _set_enabled(db, actor, key, enable=False)
