"""Every command and option of `tenantflow` explains itself on its --help page."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from tenantflow import cli


def subcommands(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """(path, parser) for `parser` and every subcommand below it."""
    yield parser.prog, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from subcommands(child)


def summaries(parser: argparse.ArgumentParser) -> dict[str, str | None]:
    """Each subcommand's help line as its parent lists it."""
    listed: dict[str, str | None] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                listed[choice.dest] = choice.help
    return listed


ALL = list(subcommands(cli.parser()))


def test_the_tree_has_every_command_of_the_contract() -> None:
    names = {path.removeprefix("tenantflow ") for path, _ in ALL}
    assert {
        "migrate",
        "serve",
        "seed-demo",
        "tenant activate",
        "tenant suspend",
        "tenant set-plan",
        "purge",
        "rewrap-keys",
        "export-schema",
        "generate-keys",
    } <= names


@pytest.mark.parametrize(("path", "parser"), ALL, ids=[path for path, _ in ALL])
def test_a_command_has_a_description_and_every_option_a_help(
    path: str, parser: argparse.ArgumentParser
) -> None:
    assert (parser.description or "").strip(), f"{path} has no description"
    for name, listed in summaries(parser).items():
        assert (listed or "").strip(), f"{path} lists {name} without a summary"
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction | argparse._HelpAction):
            continue
        assert (action.help or "").strip(), f"{path}: {action.dest} has no help"
        assert "\n" not in str(action.help), f"{path}: {action.dest} help is more than one line"


def test_the_top_level_help_shows_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out
    for example in ("tenantflow serve --port", "tenantflow seed-demo", "tenantflow generate-keys"):
        assert example in out


def test_a_command_page_shows_its_description_and_option_help(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        cli.main(["serve", "--help"])
    out = capsys.readouterr().out
    assert "serve the GraphQL API" in out
    assert "port to listen on (default: 8000)" in out
