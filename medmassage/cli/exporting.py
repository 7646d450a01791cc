"""The `export` group: the store out of the folder (SPEC §10). Each export is a command
in its own module (export_fhir, export_deid, export_chart)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, TypeVar

import click

from medmassage.cli.base import Group, main

T = TypeVar("T")


@main.group(cls=Group)
def export() -> None:
    """Export charts: FHIR R4 bundles, a de-identified copy, a records release."""


def progress(items: Sequence[T], label: str) -> AbstractContextManager[Iterable[T]]:
    """A progress bar on standard error for a whole-store export, shown only on a terminal
    (labels carry ids and counts, never chart text); elsewhere the items as they are."""
    if sys.stderr.isatty() and len(items) > 1:
        return click.progressbar(items, label=label, file=sys.stderr)
    return contextlib.nullcontext(items)


def print_summary(summary: Mapping[str, Any], fmt: str, text: str) -> None:
    """What an export wrote: `text` for a person, or with `--format json` one JSON document
    on standard output (stable keys; ids, counts and paths only, never chart text)."""
    if fmt == "json":
        import json

        click.echo(json.dumps(summary, indent=2, sort_keys=True, ensure_ascii=False))
    else:
        click.echo(text)
