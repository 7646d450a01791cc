"""The documentation is tested against the code: the README's rule table is the rule
registry, and every command has help text and a section of the README that shows it."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from charts import invoke

from medmassage.cli import main
from medmassage.rules import REGISTRY

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
COMMANDS = sorted(main.commands)


def rule_table() -> list[tuple[str, str, str]]:
    """(code, severity, summary) for each row of the README table headed `| rule |`."""
    table = README.split("| rule | severity | what it catches |\n| --- | --- | --- |\n", 1)[1]
    rows = []
    for line in table.split("\n\n", 1)[0].splitlines():
        found = re.fullmatch(r"\| `([^`]+)` \| (\w+) \| (.+) \|", line)
        assert found, f"not a | `code` | severity | summary | row: {line}"
        rows.append((found[1], found[2], found[3]))
    return rows


def test_the_readme_rule_table_is_the_registry() -> None:
    registry = [(info.code, info.severity, info.summary) for info in REGISTRY.values()]
    assert rule_table() == registry


def test_there_are_commands() -> None:
    assert {"validate", "create", "render", "sign"} <= set(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help(name: str) -> None:
    command = main.commands[name]
    assert isinstance(command, click.Command) and command.help and command.short_help != ""
    result = invoke(name, "--help")
    assert result.exit_code == 0, result.stderr
    first = command.help.strip().split("\n", 1)[0].split(".", 1)[0]
    assert result.stdout.startswith(f"Usage: main {name} ") and first[:30] in result.stdout
    for option in command.params:
        if isinstance(option, click.Option) and not option.hidden:
            assert option.help, f"{name} {option.opts[0]} has no help"


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_a_readme_section(name: str) -> None:
    """Some `## ` section of the README shows `medmassage NAME` in use."""
    sections = re.split(r"^## ", README, flags=re.MULTILINE)[1:]
    shown = re.compile(rf"medmassage (--root \S+ )?{name}\b")
    assert [s.split("\n", 1)[0] for s in sections if shown.search(s)], name


def test_the_group_lists_every_command_in_its_help() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    for name in COMMANDS:
        assert re.search(rf"^  {name}\b", result.stdout, re.MULTILINE), name


SUBCOMMANDS = sorted(
    (group, name)
    for group, command in main.commands.items()
    if isinstance(command, click.Group)
    for name in command.commands
)


def test_there_are_subcommands() -> None:
    assert {("export", "fhir"), ("export", "deid"), ("export", "chart")} <= set(SUBCOMMANDS)


@pytest.mark.parametrize(("group", "name"), SUBCOMMANDS)
def test_every_subcommand_has_help_and_a_readme_example(group: str, name: str) -> None:
    command = main.commands[group].commands[name]  # type: ignore[attr-defined]
    result = invoke(group, name, "--help")
    assert result.exit_code == 0, result.stderr
    assert command.help and result.stdout.startswith(f"Usage: main {group} {name} ")
    for option in command.params:
        if isinstance(option, click.Option) and not option.hidden:
            assert option.help, f"{group} {name} {option.opts[0]} has no help"
    assert re.search(rf"medmassage (--root \S+ )?{group} {name}\b", README), (group, name)


def test_render_help_names_every_document_and_how_a_ref_names_one() -> None:
    """`render --help` is written by hand (importing the documents would slow every
    --help): it must list each document of the registry with the REF form its `per` asks."""
    from medmassage.documents import DOCUMENTS

    lines = invoke("render", "--help").stdout.splitlines()
    for name, document in DOCUMENTS.items():
        ref = "PATIENT" if document.per == "patient" else f"PATIENT/{document.per.upper()}"
        listed = [line.split() for line in lines if re.search(rf"\b{re.escape(name)}\b", line)]
        assert [ref] in [words[:1] for words in listed], (name, ref, listed)
