"""Unexpected failures reveal nothing to the client and everything to the log; expected ones are
answers, not log noise."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tenantflow.enums import Role
from tenantflow.services.operations import modules
from tests.api.conftest import GraphQLClient, Members, error_codes


async def test_an_unexpected_error_is_masked_for_the_client_and_logged_with_its_request_id(
    gql: GraphQLClient,
    members: Members,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given a resolver whose service fails in a way nobody planned for
    async def broken(**_kwargs: Any) -> Any:
        raise RuntimeError("SELECT secret FROM internals WHERE tenant_id = 'b'")

    monkeypatch.setattr(modules, "list_modules", broken)
    owner = await members.tenant()
    caplog.set_level(logging.ERROR, logger="tenantflow.errors")
    # when
    response = await gql.http.post(
        "/graphql",
        json={"query": "{ modules { key } }"},
        headers={**owner.headers, "X-Request-ID": "req-masking-1"},
    )
    # then the client sees a fixed message and a code, nothing of the failure
    body = response.json()
    assert body["errors"] == [
        {
            "message": "Internal server error",
            "locations": [{"line": 1, "column": 3}],
            "path": ["modules"],
            "extensions": {"code": "INTERNAL_SERVER_ERROR"},
        }
    ]
    assert "secret" not in response.text
    # and the log has the original, with the request id to find it by
    (record,) = [r for r in caplog.records if r.name == "tenantflow.errors"]
    assert "req-masking-1" in record.getMessage()
    assert record.exc_info is not None
    assert "SELECT secret" in str(record.exc_info[1])


async def test_expected_errors_are_not_logged_as_failures(
    gql: GraphQLClient, members: Members, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    viewer = await members.tenant(role=Role.VIEWER)
    body = await gql.execute("{ modules { key } }")  # no credentials
    assert error_codes(body) == ["UNAUTHENTICATED"]
    body = await gql.execute("{ auditLogs { totalCount } }", as_=viewer)
    assert error_codes(body) == ["FORBIDDEN"]
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
