"""What tests/test_render_deps.py works with: copies of the demo clinic cut to a few
charts, files written as an editor does, a record of the charts each render loads, and
work shared between the runs of one test process that does not change what a run gives."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import jinja2
import jinja2.bccache
import pytest
import yaml
from conftest import DEMO

from medmassage import schema_loader
from medmassage.render import jinja as templating
from medmassage.render import jobs


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` with its bytes."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def rewrite(path: Path, text: str) -> None:
    """Write a record as an editor saving a new file does: a new inode, so the change is
    seen however soon after the last render it lands."""
    fresh = path.with_name(path.name + ".tmp")
    fresh.write_text(text)
    os.replace(fresh, path)


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    rewrite(path, text.replace(old, new, 1))


def copy_clinic(target: Path, charts: tuple[str, ...]) -> Path:
    """A copy of the demo clinic with only these patients, and no renders or caches."""

    def left_out(folder: str, names: list[str]) -> set[str]:
        dropped = {n for n in names if n in ("rendered", ".medmassage-cache")}
        if Path(folder) == DEMO / "patients":
            dropped.update(n for n in names if n not in charts)
        return dropped

    shutil.copytree(DEMO, target, ignore=left_out)
    assert sorted(p.name for p in (target / "patients").iterdir()) == sorted(charts)
    return target


class _Compiled(jinja2.BytecodeCache):
    """Compiled templates kept in memory, each served only while its source is the same
    (Jinja checks the source's checksum)."""

    def __init__(self) -> None:
        self.stored: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self.stored:
            bucket.bytecode_from_string(self.stored[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.stored[bucket.key] = bucket.bytecode_to_string()


_COMPILED: dict[str, _Compiled] = {}  # per output format, for this process


def share_compiled(monkeypatch: pytest.MonkeyPatch) -> None:
    """What each run would compile again, compiled once per process. Both sides of every
    comparison are rendered this way, and what a run gives is the same:

    - records are checked against their schemas by the compiled fast path however few of
      a kind a run loads (as a run loading many does; the two paths agree:
      tests/test_schema_meaning.py), not by jsonschema, about half of a small chart's cost;
    - the templates compiled by an earlier run are used again while their source is the
      same (one command in one process compiles each once anyway), most of the rest."""
    monkeypatch.setattr(schema_loader, "COMPILE_FROM", 1)
    real = templating.environment

    def sharing(loader: Any, fmt: str) -> Any:
        env = real(loader, fmt)
        env.bytecode_cache = _COMPILED.setdefault(fmt, _Compiled())
        return env

    monkeypatch.setattr(templating, "environment", sharing)


def spy_loads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(document, patient) of each chart the renders load from now on: a chart the
    render cache answers for in full is not loaded at all."""
    seen: list[tuple[str, str]] = []
    real = jobs.do_job

    def spied(state: Any, job: Any) -> Any:
        seen.append((state.request.document, job.patient))
        return real(state, job)

    monkeypatch.setattr(jobs, "do_job", spied)
    return seen
