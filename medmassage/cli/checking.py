"""Commands that check: `validate` and `schema`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from medmassage import kinds
from medmassage.cli.base import (
    Options,
    _styler,
    format_option,
    main,
    today_option,
)

if TYPE_CHECKING:
    pass


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@format_option(
    ("text", "json", "github"),
    "text for people, json for programs, github for workflow annotations.",
)
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@today_option("Judge dates as if today were this day (for reproducible checks).")
@click.option(
    "--no-cache",
    is_flag=True,
    help="Check every file again instead of reusing results for unchanged charts.",
)
@click.option(
    "--jobs", "-j", type=click.IntRange(min=1), help="Processes to use (default: one per core)."
)
@click.pass_obj
def validate(
    opts: Options,
    paths: tuple[str, ...],
    fmt: str,
    strict: bool,
    today: str | None,
    no_cache: bool,
    jobs: int | None,
) -> None:
    """Check records: syntax, schema, layout, references and clinical rules.

    PATHS are record files or folders inside the store (default: the whole store).
    Exit status: 0 no errors (warnings allowed), 1 errors found, 2 usage error."""
    from pathlib import Path

    from medmassage.report import REPORTERS
    from medmassage.validate import validate_store

    chosen = [Path(path) for path in paths]
    store = opts.store(chosen[0].resolve().parent if chosen and opts.root_arg is None else None)
    report = validate_store(
        store, chosen or None, today=today, jobs=jobs, use_cache=not no_cache, keep_view=False
    )
    stream = sys.stdout
    REPORTERS[fmt](
        report, store.root, stream, _styler(stream) if fmt == "text" else (lambda t, s: t)
    )
    sys.exit(1 if report.failed(strict) else 0)


@main.command()
@click.argument("kind", type=click.Choice(kinds.names()))
@click.pass_obj
def schema(opts: Options, kind: str) -> None:
    """Print the JSON Schema of one record KIND (self-contained, with the store's
    vocabulary extensions when run inside a store), e.g. for an editor's YAML plugin."""
    import contextlib
    import json

    from medmassage import schema_loader as schemas
    from medmassage.errors import MedmassageError

    store = opts.store_if_any()
    extensions: schemas.Extensions = ()
    if store is not None:
        # A broken medmassage.yaml is validate's to report; the schema is still useful.
        with contextlib.suppress(MedmassageError):
            extensions = schemas.extensions_from(store.load_settings())
    click.echo(json.dumps(schemas.bundled(kind, extensions), indent=2, ensure_ascii=False))
