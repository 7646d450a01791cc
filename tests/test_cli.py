"""The command line's contracts: exit statuses (0, 1, 2, 3, 130), colour only on a
terminal and never with NO_COLOR, GitHub annotations escaped, a closed pipe is not an
error, and `schema` merges the store's vocabulary. In-process where the process itself
is not the contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from charts import SESSION, TODAY, base, invoke, write_store
from conftest import run_cli

from medmassage import report
from medmassage.errors import Problem


def broken_store(tmp_path: Path) -> Path:
    return write_store(tmp_path / "store", base(SESSION, "therapist: ines-varga", "therapist: x"))


# ---------------------------------------------------------------- exit statuses


def test_an_internal_error_exits_3_without_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*args: Any) -> None:
        raise ZeroDivisionError

    monkeypatch.setitem(report.REPORTERS, "text", crash)
    result = invoke("--root", str(write_store(tmp_path)), "validate", "--today", TODAY)
    assert result.exit_code == 3
    assert "internal error (ZeroDivisionError)" in result.stderr
    assert "MEDMASSAGE_DEBUG" in result.stderr and "Traceback" not in result.stderr
    debug = invoke(
        "--root", str(tmp_path), "validate", "--today", TODAY, env={"MEDMASSAGE_DEBUG": "1"}
    )
    assert debug.exit_code == 3 and "Traceback" in debug.stderr


def test_an_interrupt_exits_130(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setitem(report.REPORTERS, "text", interrupted)
    result = invoke("--root", str(write_store(tmp_path)), "validate", "--today", TODAY)
    assert result.exit_code == 130 and "interrupted" in result.stderr


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("validate", "--format", "xml"), ("--format", "xml")),
        (("validate", "no/such/file.yaml"), ("no/such/file.yaml",)),
        (("validate", "/"), ("/",)),
        (("validate", "--today", "yesterday"), ("--today", "yesterday")),
        (("render", "soap", "--since", "2026-13-01"), ("--since", "2026-13-01")),
        (("nonsense",), ("nonsense",)),
        (("create", "horse"), ("horse",)),
    ],
)
def test_usage_errors_exit_2_naming_what_is_wrong(
    tmp_path: Path, args: tuple[str, ...], named: tuple[str, ...]
) -> None:
    result = invoke("--root", str(write_store(tmp_path)), *args)
    assert result.exit_code == 2 and result.stdout == ""
    assert all(word in result.stderr for word in named), result.stderr
    assert "Traceback" not in result.stderr


def test_no_store_exits_2_and_says_what_a_store_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("validate")
    assert result.exit_code == 2 and "medmassage.yaml" in result.stderr


def test_warnings_pass_and_strict_fails_them(tmp_path: Path) -> None:
    root = write_store(tmp_path)
    (root / "patients/p-0001/sessions/notes.txt").write_text("call back\n")
    assert invoke("--root", str(root), "validate", "--today", TODAY).exit_code == 0
    assert invoke("--root", str(root), "validate", "--strict", "--today", TODAY).exit_code == 1


# ---------------------------------------------------------------- output


def test_github_annotations_escape_properties_and_data() -> None:
    problem = Problem("a,b:c.yaml", 3, 7, "$.x", "schema/enum", "error", "50% off,\r\nnext: line")
    line = report.github_line(problem, "dir,1/a,b:c.yaml")
    assert line == (
        "::error file=dir%2C1/a%2Cb%3Ac.yaml,line=3,col=7,title=schema/enum"
        "::50%25 off,%0D%0Anext: line [$.x]"
    )
    warning = problem._replace(severity="warning", rule="a:b,c")
    assert report.github_line(warning, "f").startswith(
        "::warning file=f,line=3,col=7,title=a%3Ab%2Cc::"
    )


def test_github_format_through_the_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    odd = tmp_path / "we,ird:dir"
    root = broken_store(odd)
    monkeypatch.chdir(tmp_path)
    result = invoke("--root", str(root), "validate", "--format", "github", "--today", TODAY)
    assert result.exit_code == 1
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"::error file=we%2Cird%3Adir/store/{SESSION},line=4,col=12,")
    assert "title=ref/unknown-therapist::" in first


def test_json_is_one_document_and_text_ends_with_a_summary(tmp_path: Path) -> None:
    root = broken_store(tmp_path)
    document = json.loads(
        invoke("--root", str(root), "validate", "--format", "json", "--today", TODAY).stdout
    )
    assert document["ok"] is False and document["files"] == 8
    assert [p["rule"] for p in document["problems"]] == ["ref/unknown-therapist"]
    text = invoke("--root", str(root), "validate", "--today", TODAY).stdout.splitlines()
    assert text[-1] == "8 files checked: 1 error, 0 warnings" and len(text) == 2


def in_a_terminal(root: Path, env: dict[str, str]) -> bytes:
    """Run validate on a pseudo-terminal, as a person would; returns what it showed."""
    import pexpect

    environment = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "MEDMASSAGE_ROOT")}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "medmassage", "--root", str(root), "validate", "--today", TODAY],
        env={**environment, **env},
        timeout=60,
    )
    shown = child.read()
    child.close()
    assert child.exitstatus == 1
    return shown


def test_colour_on_a_terminal_and_never_with_no_color(tmp_path: Path) -> None:
    root = broken_store(tmp_path)
    coloured = in_a_terminal(root, {})
    assert b"\x1b[" in coloured and b"ref/unknown-therapist" in coloured
    assert b"\x1b[" not in in_a_terminal(root, {"NO_COLOR": "1"})
    piped = run_cli("--root", str(root), "validate", "--today", TODAY, env={"NO_COLOR": ""})
    assert "\x1b[" not in piped.out and piped.code == 1


def test_a_closed_pipe_is_not_an_error(tmp_path: Path) -> None:
    """`medmassage validate | head -1`: far more output than a pipe holds, reader gone."""
    root = write_store(tmp_path / "store")
    sessions = root / "patients/p-0001/sessions"
    for number in range(1000):  # ~100 kB of problems: more than a pipe holds
        (sessions / f"stray-{number:04}.txt").write_text("x")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MEDMASSAGE_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "medmassage", "--root", str(root), "validate", "--today", TODAY],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**environment, "NO_COLOR": "1"},
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert b"layout/stray-file" in proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 1
    assert err == "", err


# ---------------------------------------------------------------- schema


def enum_of(schema: dict[str, Any], term: str) -> bool:
    return term in json.dumps(schema)


def test_schema_includes_the_stores_vocabulary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extended = base(
        "medmassage.yaml", "format: 1", "format: 1\nvocabulary:\n  technique: [gua_sha]"
    )
    root = write_store(tmp_path / "store", extended)
    inside = invoke("--root", str(root), "schema", "session")
    assert inside.exit_code == 0 and enum_of(json.loads(inside.stdout), "gua_sha")
    monkeypatch.chdir(root / "patients")
    found_from_here = invoke("schema", "session")
    assert enum_of(json.loads(found_from_here.stdout), "gua_sha")
    monkeypatch.chdir(tmp_path)
    outside = json.loads(invoke("schema", "session").stdout)
    assert not enum_of(outside, "gua_sha") and enum_of(outside, "myofascial_release")


def test_schema_of_a_store_whose_settings_do_not_parse_is_the_bundled_one(tmp_path: Path) -> None:
    root = write_store(tmp_path / "store", {"medmassage.yaml": "format: [1\n"})
    result = invoke("--root", str(root), "schema", "session")
    assert result.exit_code == 0 and enum_of(json.loads(result.stdout), "myofascial_release")


def test_schema_with_a_missing_root_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke("--root", str(tmp_path / "nowhere"), "schema", "session")
    assert result.exit_code == 2 and result.stdout == ""
