"""Unexpected errors reach the client as a fixed message and INTERNAL_SERVER_ERROR, no more."""

from __future__ import annotations

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from tenantflow.errors import ErrorCode, should_mask


class MaskUnexpectedErrors(MaskErrors):
    """Passed to the schema as a class: MaskErrors keeps per-operation state on the instance."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=should_mask, error_message="Internal server error")

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        # Strawberry has already logged the original with its traceback.
        masked = super().anonymise_error(error)
        masked.extensions = {"code": ErrorCode.INTERNAL_SERVER_ERROR.value}
        return masked
