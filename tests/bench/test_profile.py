"""bench/profile.py folds py-spy's collapsed stacks into parts of the request path."""

from __future__ import annotations

from bench.profile import fold, table

HTTP = 'process 10:"uvicorn";run (uvicorn/server.py:1)'
EXECUTE = "execute (graphql/execution/execute.py:9)"
COLLAPSED = "\n".join(
    [
        f"{HTTP};{EXECUTE};fetch (asyncpg/connection.py:5) 30",
        f"{HTTP};{EXECUTE};validate (graphql/validation/validate.py:3) 10",
        f"{HTTP};get (tenantflow/cache/store.py:40) 60",
        "not a stack line",
    ]
)


def test_a_sample_counts_for_every_part_on_its_stack_and_its_last_frame() -> None:
    profile = fold(COLLAPSED)

    assert profile.samples == 100
    assert profile.parts["HTTP (uvicorn, starlette)"] == 100
    assert profile.parts["GraphQL execution"] == 40
    assert profile.parts["asyncpg"] == 30
    assert profile.parts["parse and validate"] == 10
    assert profile.parts["answer cache"] == 60
    assert profile.functions[0] == ("get (cache/store.py)", 60)


def test_the_table_gives_shares_of_the_samples() -> None:
    text = table({"tenantflow": fold(COLLAPSED)}, load="the dashboard", seconds=1)

    assert "| GraphQL execution | 40.0 % |" in text
    assert "- 30.0 % `fetch (asyncpg/connection.py)`" in text
