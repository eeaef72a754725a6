"""Feature modules: the catalogue and each tenant's state."""

from __future__ import annotations

import strawberry


@strawberry.type
class ModuleQuery:
    pass


@strawberry.type
class ModuleMutation:
    pass
