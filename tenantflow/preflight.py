"""What `tenantflow serve` checks before it starts: a refusal is one line that names the fix.

The lifespan makes the same checks (it refuses to serve without them), but a failure there ends in
the ASGI server's traceback; checked here first, the operator reads one line instead.
"""

from __future__ import annotations

import asyncio

from tenantflow.auth.tokens import AccessTokenCodec
from tenantflow.db.engine import runtime_engine
from tenantflow.db.faults import is_unavailable
from tenantflow.db.role_check import UnsafeDatabaseRoleError, ensure_safe_runtime_role
from tenantflow.secrets.envelope import EncryptionKeyError, MasterKeyring
from tenantflow.settings import Settings


class StartupRefused(Exception):
    """The server cannot start; the message is one line for the operator."""


async def _check_database(settings: Settings) -> None:
    engine = runtime_engine(settings)
    try:
        async with asyncio.timeout(settings.database_pool_timeout):
            await ensure_safe_runtime_role(engine, settings.database_roles)
    except UnsafeDatabaseRoleError as error:
        raise StartupRefused(str(error)) from None
    except Exception as error:
        if not is_unavailable(error):
            raise
        where = engine.url.render_as_string(hide_password=True)
        raise StartupRefused(
            f"refusing to start: the database at {where} does not answer"
            f" ({type(error).__name__}); check TENANTFLOW_DATABASE_URL and that it is up"
        ) from None
    finally:
        await engine.dispose()


def check_can_serve(settings: Settings) -> None:
    """Raise StartupRefused unless the keys work and the database role is safe and complete."""
    try:
        AccessTokenCodec(settings.signing_key, ttl_seconds=settings.access_token_ttl)
        MasterKeyring(settings.master_keys)
    except (ValueError, EncryptionKeyError) as error:
        raise StartupRefused(f"refusing to start: {error}") from None
    asyncio.run(_check_database(settings))
