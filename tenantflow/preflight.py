"""What `tenantflow serve` checks before it starts: a refusal is one line that names the fix.

The lifespan makes the same checks (it refuses to serve without them), but a failure there ends in
the ASGI server's traceback; checked here first, the operator reads one line instead.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.engine import URL

from tenantflow.auth.tokens import AccessTokenCodec
from tenantflow.db.engine import runtime_engine
from tenantflow.db.faults import describe, is_unavailable, sqlstate
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
        refusal = _connection_refusal(error, settings, engine.url)
        if refusal is None:
            raise
        raise StartupRefused(f"refusing to start: {refusal}") from None
    finally:
        await engine.dispose()


def _connection_refusal(error: Exception, settings: Settings, url: URL) -> str | None:
    """Why the runtime login could not connect, and the fix; None for other errors."""
    user, database, app = url.username, url.database, settings.database_roles.app
    match sqlstate(error):
        case "42501":  # CONNECT is granted to the app role only
            return f"role {user} may not connect to database {database}: GRANT {app} TO {user}"
        case "28000" | "28P01":
            return f"cannot log in to database {database} as {user}: check TENANTFLOW_DATABASE_URL"
        case "3D000":
            return f"database {database} does not exist: check TENANTFLOW_DATABASE_URL"
    if is_unavailable(error):
        where = url.render_as_string(hide_password=True)
        return (
            f"the database at {where} does not answer ({describe(error)});"
            " check TENANTFLOW_DATABASE_URL and that it is up"
        )
    return None


def check_can_serve(settings: Settings) -> None:
    """Raise StartupRefused unless the keys work and the database role is safe and complete."""
    try:
        AccessTokenCodec(settings.signing_key, ttl_seconds=settings.access_token_ttl)
        MasterKeyring(settings.master_keys)
    except (ValueError, EncryptionKeyError) as error:
        raise StartupRefused(f"refusing to start: {error}") from None
    asyncio.run(_check_database(settings))
