"""Identity: viewer, sign-up and sign-in, sessions, members, invitations, API keys."""

from __future__ import annotations

import strawberry


@strawberry.type
class IdentityQuery:
    pass


@strawberry.type
class IdentityMutation:
    pass
