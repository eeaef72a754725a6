"""Provider keys: third-party secrets, stored encrypted, never returned."""

from __future__ import annotations

import strawberry


@strawberry.type
class ProviderKeyQuery:
    pass


@strawberry.type
class ProviderKeyMutation:
    pass
