"""Deployments and their status machine."""

from __future__ import annotations

import strawberry


@strawberry.type
class DeploymentQuery:
    pass


@strawberry.type
class DeploymentMutation:
    pass
