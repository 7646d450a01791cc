"""Commands that check: `validate` and `schema`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, NoReturn

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
    from pathlib import Path


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
@click.option(
    "--gate",
    is_flag=True,
    help="For pre-commit and CI: check the whole store and fail only on problems the last "
    "commit's store did not have (a PATH then names the store's folder).",
)
@click.option(
    "--show-values",
    is_flag=True,
    help="Add each offending value to its message (for your own screen: messages otherwise "
    "never quote chart values, so CI logs carry none).",
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
    gate: bool,
    show_values: bool,
) -> None:
    """Check records: syntax, schema, layout, references and clinical rules.

    PATHS are record files or folders inside the store (default: the whole store); the
    records that depend on them (a plan's notes, the records naming a therapist or
    provider) are checked and reported too. Exit status: 0 no errors (warnings allowed),
    1 errors found (with --gate: new ones), 2 usage error."""
    from pathlib import Path

    from medmassage.report import REPORTERS, for_display
    from medmassage.validate import validate_store

    chosen = [Path(path) for path in paths]
    if gate:
        _gate(opts, chosen, fmt, strict, today, not no_cache, jobs)
    store = opts.store(chosen[0].resolve().parent if chosen and opts.root_arg is None else None)
    if chosen:
        from medmassage.gate import with_dependents

        chosen = with_dependents(store, chosen)
    report = validate_store(
        store, chosen or None, today=today, jobs=jobs, use_cache=not no_cache, keep_view=False
    )
    report = for_display(report, store.root, show_values, opts.root_arg)
    stream = sys.stdout
    REPORTERS[fmt](
        report, store.root, stream, _styler(stream) if fmt == "text" else (lambda t, s: t)
    )
    sys.exit(1 if report.failed(strict) else 0)


def _gate(
    opts: Options,
    paths: list[Path],
    fmt: str,
    strict: bool,
    today: str | None,
    use_cache: bool,
    jobs: int | None,
) -> NoReturn:
    """`validate --gate`: the whole store against the last commit's; exits."""
    from medmassage.errors import UsageError
    from medmassage.gate import gate
    from medmassage.report import REPORTERS, for_display

    if len(paths) > 1:
        raise UsageError("--gate checks one whole store: name at most one folder of it")
    near = None
    if paths and opts.root_arg is None:
        near = paths[0].resolve() if paths[0].is_dir() else paths[0].resolve().parent
    store = opts.store(near)
    verdict = gate(store, today, jobs=jobs, use_cache=use_cache)
    stream = sys.stdout
    style = _styler(stream) if fmt == "text" else (lambda t, s: t)
    # The same display rules as a plain validate: no chart values, fixes carry --root.
    shown = for_display(verdict.report, store.root, False, opts.root_arg)
    REPORTERS[fmt](shown, store.root, stream, style)
    failed = verdict.failed(strict)
    if fmt == "text":
        stream.write(style(verdict.summary(), "error" if failed else "ok") + "\n")
    sys.exit(1 if failed else 0)


@main.command()
@click.argument("kind", type=click.Choice(kinds.names()), required=False)
@click.option(
    "--write",
    is_flag=True,
    help="Write every kind's schema into the store's schemas/ folder (for editors), "
    "replacing the ones that changed.",
)
@click.pass_obj
def schema(opts: Options, kind: str | None, write: bool) -> None:
    """Print the JSON Schema of one record KIND (self-contained, with the store's
    vocabulary extensions when run inside a store), e.g. for an editor's YAML plugin.

    With --write, refresh the store's schemas/ folder instead (run it after changing the
    vocabulary in medmassage.yaml); `validate` warns while those files are out of date."""
    import contextlib

    from medmassage import schema_loader as schemas
    from medmassage.errors import MedmassageError, UsageError

    if write == (kind is not None):
        raise UsageError("name one KIND to print, or use --write (every kind) without KIND")
    store = opts.store() if write else opts.store_if_any()
    extensions: schemas.Extensions = ()
    if store is not None:
        # A broken medmassage.yaml is validate's to report; the schema is still useful.
        with contextlib.suppress(MedmassageError):
            extensions = schemas.extensions_from(store.load_settings())
    if kind is not None:
        click.echo(schemas.schema_text(kind, extensions), nl=False)
        return
    assert store is not None
    written = schemas.write_editor_schemas(store.root, extensions)
    for rel in written:
        click.echo(f"wrote {rel}")
    if not written:
        click.echo(f"the editor schemas in {schemas.EDITOR_FOLDER}/ are up to date")
