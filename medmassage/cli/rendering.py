"""The `render` command: documents from records that validate."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, TypeAlias

import click

from medmassage.cli.base import (
    DATE,
    Options,
    _date_param,
    _print_problems,
    format_option,
    main,
)

if TYPE_CHECKING:
    from pathlib import Path

    from medmassage.render.batch import Batch


# ParamType is generic in newer Clicks, and not subscriptable in older ones.
if TYPE_CHECKING:
    _StrParam: TypeAlias = click.ParamType[str]
else:
    _StrParam = click.ParamType


class _DocumentName(_StrParam):
    """A document of the registry (medmassage.documents), read only when one is given,
    so that --help does not load the documents."""

    name = "document"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        """The name, when the registry has it; else a usage error listing the documents."""
        from medmassage.documents import DOCUMENTS

        if value not in DOCUMENTS:
            names = ", ".join(repr(name) for name in DOCUMENTS)
            self.fail(f"{value!r} is not one of {names}.", param, ctx)
        return str(value)


@main.command()
@click.argument("document", required=False, metavar="DOCUMENT", type=_DocumentName())
@click.argument("refs", nargs=-1, metavar="[REF]...")
@click.option(
    "--all",
    "all_",
    is_flag=True,
    help=(
        "Every document of its kind: one per visit, plan or assessment, or one per patient, "
        "for the patients of --status."
    ),
)
@click.option(
    "--patient",
    metavar="ID",
    help="Every document of its kind for this patient.",
)
@click.option(
    "--since",
    metavar=DATE,
    callback=_date_param,
    help=(
        "Documents about records from this day on; for physician-update the period's start "
        "(default: the day after the last update sent, else the referral date)."
    ),
)
@click.option(
    "--until",
    metavar=DATE,
    callback=_date_param,
    help=(
        "Documents about records up to this day; for physician-update the period's end "
        "(default: the last visit)."
    ),
)
@format_option(
    ("md", "html", "txt", "csv", "all"),
    "Output format; repeat for several. Default: all three (md, html, txt); md with --out -. "
    "csv: the superbill only, one row per billed code.",
    multiple=True,
)
@click.option(
    "--out",
    metavar="DIR",
    help=(
        "Output folder (default: rendered/ in the store); '-' writes one document to standard "
        "output."
    ),
)
@click.option(
    "--date",
    metavar=DATE,
    callback=_date_param,
    help=(
        "Date printed on letters (default: the period's end date); nothing is ever dated by the "
        "clock."
    ),
)
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(["active", "on_hold", "discharged", "any"]),
    help=(
        "With --all: the patient statuses included; repeat for several (default: active; any: "
        "every patient). A patient named is always rendered."
    ),
)
@click.option(
    "--ascii",
    "ascii_",
    is_flag=True,
    help="txt in 7-bit ASCII (degree signs, dashes, quotes spelled out) for fax gateways.",
)
@click.option(
    "--list-templates",
    is_flag=True,
    help=(
        "List the templates and which file is in effect (the store's templates/ overrides "
        "packaged ones)."
    ),
)
@click.pass_obj
def render(
    opts: Options,
    document: str | None,
    refs: tuple[str, ...],
    all_: bool,
    patient: str | None,
    since: str | None,
    until: str | None,
    formats: tuple[str, ...],
    out: str | None,
    date: str | None,
    statuses: tuple[str, ...],
    ascii_: bool,
    list_templates: bool,
) -> None:
    """Render DOCUMENT from records that validate.

    \b
    REF names one DOCUMENT:
      PATIENT/SESSION     soap, superbill (one per visit)
      PATIENT/PLAN        plan-of-care, home-care (one per plan)
      PATIENT/ASSESSMENT  progress-report (one per re-assessment)
      PATIENT             physician-update, discharge-summary, referral-form

    A REF may also be PATIENT for every document of the patient, or a record file or
    folder. Files go to OUT/<patient>/<id>.<document>.<ext>, where <id> names what it is
    about (a record's id, a letter's date); the paths written are printed, one per line.
    Records with errors are not rendered: their errors are printed (as by validate) and
    the exit status is 1, but the rest are."""
    from medmassage.render.batch import Batch
    from medmassage.render.request import ACTIVE, Request

    if list_templates:
        _list_templates(opts)
        return
    if document is None:
        from medmassage.documents import DOCUMENTS

        raise click.UsageError(f"name a DOCUMENT: {' or '.join(DOCUMENTS)}")
    to_stdout = out == "-"
    chosen = _formats(formats, to_stdout)
    store = opts.store()
    request = Request(
        document, refs, all_, patient, since, until, chosen, date, statuses or ACTIVE, ascii_
    )
    batch = Batch(store, request)
    held = _render_to_stdout(batch, chosen) if to_stdout else _render_to_folder(batch, out)
    _report_held(store.root, document, held)
    sys.exit(1 if any(held.values()) else 0)


def _formats(formats: tuple[str, ...], to_stdout: bool) -> tuple[str, ...]:
    """The formats asked for, each once: md, html and txt by default (or for `all`), md
    alone on standard output."""
    if "all" in formats or not (formats or to_stdout):
        return ("md", "html", "txt")
    return tuple(dict.fromkeys(formats or ("md",)))


def _render_to_stdout(batch: Batch, chosen: tuple[str, ...]) -> dict[Any, list[Any]]:
    """`--out -`: the one document asked for, on standard output; the targets held back."""
    found = batch.choose_here()
    for notice in batch.skipped:
        click.echo(f"medmassage: {notice}", err=True)
    if len(found) != 1 or len(chosen) != 1:
        raise click.UsageError(
            "--out - writes exactly one document in one format; name one record and at most "
            "one --format"
        )
    _print_documents(batch, [target for target, problems in found if not problems])
    return dict(found)


def _render_to_folder(batch: Batch, out: str | None) -> dict[Any, list[Any]]:
    """Render into OUT (default: the store's rendered/), with a progress bar on a terminal;
    print the paths written and return the targets held back."""
    import contextlib
    from pathlib import Path

    from medmassage.render.request import shown

    # Unchanged documents are answered from the render cache; the rest are rendered in parallel.
    plan = batch.plan(Path(out) if out else batch.store.rendered_dir)
    bar = (
        click.progressbar(length=plan.size, label="Rendering", file=sys.stderr)
        if plan.size > 1 and sys.stderr.isatty()
        else None
    )
    with bar or contextlib.nullcontext():
        for done in plan:
            if bar is not None:
                bar.update(done)
    for notice in plan.outcome.skipped:
        click.echo(f"medmassage: {notice}", err=True)
    left_out = len({target.patient for target in plan.outcome.excluded})
    if left_out:  # --all never leaves anyone out silently
        click.echo(
            f"medmassage: {left_out} patient{'s' if left_out != 1 else ''} not rendered for "
            "their status (discharged or on hold); include them with --status any",
            err=True,
        )
    if plan.outcome.written:
        click.echo("\n".join(shown(path) for path in plan.outcome.written))
    return plan.outcome.held


def _print_documents(renderer: Any, ready: list[Any]) -> None:
    """Render each target to standard output (`--out -`, one document)."""
    for target in ready:
        for text in renderer.render(target).texts.values():
            click.echo(text, nl=False)


def _report_held(root: Path, document: str, held: dict[Any, list[Any]]) -> None:
    """The located errors of the records not rendered, as `validate` prints them, on stderr."""
    _print_problems(root, sorted({p for found in held.values() for p in found}))
    names = [str(target) for target, found in held.items() if found]
    if names:
        click.echo(
            f"medmassage: {len(names)} {document} document{'s' if len(names) != 1 else ''} "
            f"not rendered because of the errors above: {', '.join(names)}",
            err=True,
        )


def _list_templates(opts: Options) -> None:
    """One line per template name: name, origin (store or packaged), file, and any refusal."""
    from medmassage.render.jinja import listing, refusal

    store = opts.store_if_any()
    for source in listing(store.root if store is not None else None):
        note = refusal(source)
        click.echo(
            f"{source.name}\t{source.origin}\t{source.path}" + (f"\t({note})" if note else "")
        )
