"""The strict loader and the deterministic writer (SPEC §5)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import TODAY, first_file, run_here
from hypothesis import given, settings
from hypothesis import strategies as st

from medmassage.errors import RecordError
from medmassage.yamlio import MAX_BYTES, dump, load_bytes, load_file


def problem(data: bytes) -> Any:
    with pytest.raises(RecordError) as caught:
        load_bytes(data, "r.yaml")
    return caught.value.problem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: no", "no"),
        ("a: on", "on"),
        ("a: Yes", "Yes"),
        ("a: 012", "012"),
        ("a: 12:30", "12:30"),
        ("a: 2024-02-30", "2024-02-30"),
        ("a: 2026-03-14", "2026-03-14"),
        ("a: 0x1F", "0x1F"),
        ("a: .inf", ".inf"),
        ("a: 1e999", "1e999"),
        ("a: 1_000", "1_000"),
        ("a: true", True),
        ("a: FALSE", False),
        ("a: 7", 7),
        ("a: -3", -3),
        ("a: 0", 0),
        ("a: 1.5", 1.5),
        ("a: ~", None),
        ("a:", None),
        ("a: null", None),
        ("a: '7'", "7"),
        ('a: "true"', "true"),
    ],
)
def test_yaml_12_core_types(text: str, expected: Any) -> None:
    assert load_bytes(text.encode(), "r.yaml") == {"a": expected}


@pytest.mark.parametrize(
    ("data", "rule", "line", "column"),
    [
        (b"a: 1\nb: 2\na: 3\n", "syntax/duplicate-key", 3, 1),
        (b"a: &x 1\n", "syntax/anchor", 1, 4),
        (b"a: 1\nb: *x\n", "syntax/alias", 2, 4),
        (b"a: 1\n<<: {b: 2}\n", "syntax/merge-key", 2, 1),
        (b"a: !!timestamp junk\n", "syntax/tag", 1, 4),
        (b"a: !!python/object:os.system x\n", "syntax/tag", 1, 4),
        (b"a: 1\n---\nb: 2\n", "syntax/multiple-documents", 2, 1),
        (b"- a\n- b\n", "syntax/not-a-mapping", 1, 1),
        (b"just text\n", "syntax/not-a-mapping", 1, 1),
        (b"", "syntax/empty", 1, 1),
        (b"# only a comment\n", "syntax/empty", 1, 1),
        (b"a: 1\nb: \xff\xfe\n", "syntax/encoding", 2, 4),
        (b"a: 1\nb: x\x07y\n", "syntax/control-character", 2, 5),
        (b"a: [1, 2\n", "syntax/invalid-yaml", 2, 1),
        (b"a:\n\tb: 1\n", "syntax/invalid-yaml", 2, 1),
        (b"? [a, b]\n: 1\n", "syntax/complex-key", 1, 3),
        (b"a: " + b"[" * 40 + b"]" * 40 + b"\n", "syntax/too-deep", 1, 35),
    ],
)
def test_rejected_with_location(data: bytes, rule: str, line: int, column: int) -> None:
    found = problem(data)
    assert (found.rule, found.line, found.column) == (rule, line, column)
    assert found.severity == "error" and found.file == "r.yaml" and found.message


def test_duplicate_key_names_both_lines() -> None:
    found = problem(b"id: x\nname: a\nname: b\n")
    assert found.line == 3 and "line 2" in found.message and found.path == "$.name"


def test_oversize_file_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: " + b"x" * MAX_BYTES + b"\n")
    with pytest.raises(RecordError) as caught:
        load_file(big, "big.yaml")
    assert caught.value.problem.rule == "syntax/too-large"


def test_directory_and_missing_file_are_located_errors(tmp_path: Path) -> None:
    for target in (tmp_path, tmp_path / "absent.yaml"):
        with pytest.raises(RecordError) as caught:
            load_file(target, "x.yaml")
        assert caught.value.problem.rule == "syntax/unreadable"


def test_a_symbolic_link_is_refused_not_followed(tmp_path: Path) -> None:
    # A committed link could pull a file from outside the store into a chart.
    outside = tmp_path / "outside.yaml"
    outside.write_bytes(b"a: 1\n")
    for target in (outside, tmp_path / "gone.yaml"):
        link = tmp_path / f"link-to-{target.name}"
        link.symlink_to(target)
        with pytest.raises(RecordError) as caught:
            load_file(link, "x.yaml")
        found = caught.value.problem
        assert (found.rule, found.file, found.line, found.column) == (
            "syntax/unreadable",
            "x.yaml",
            1,
            1,
        )
        assert "symbolic link" in found.message


def test_a_socket_is_refused(tmp_path: Path) -> None:
    import socket

    path = tmp_path / "s.yaml"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        with pytest.raises(RecordError) as caught:
            load_file(path, "s.yaml")
    assert caught.value.problem.rule == "syntax/unreadable"


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    # Opening a FIFO for reading waits for a writer; the loader must not. It runs in a
    # process of its own so that a regression fails on the timeout instead of hanging.
    fifo = tmp_path / "f.yaml"
    os.mkfifo(fifo)
    code = (
        "import sys, pathlib\nfrom medmassage.yamlio import load_file\n"
        "from medmassage.errors import RecordError\n"
        "try:\n    load_file(pathlib.Path(sys.argv[1]), 'f.yaml')\n"
        "except RecordError as e:\n    p = e.problem\n    print(p.rule, p.line, p.column)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(fifo)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["syntax/unreadable", "1", "1"]


def _validate_json(root: Path, real_process: bool) -> tuple[int, dict[str, Any]]:
    if not real_process:  # the same command in this process: no read can block here
        run = run_here("--root", str(root), "validate", "--format", "json", "--today", TODAY)
        assert "Traceback" not in run.err
        return run.code, run.json()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "medmassage",
            "--root",
            str(root),
            "validate",
            "--format",
            "json",
            "--today",
            TODAY,
        ],
        capture_output=True,
        text=True,
        timeout=60,  # a FIFO read without a writer would block for ever
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert "Traceback" not in proc.stderr
    return proc.returncode, json.loads(proc.stdout)


@pytest.mark.parametrize("kind", ["fifo", "symlink"])
def test_validate_refuses_a_session_that_is_not_a_regular_file(
    store: Path, tmp_path: Path, kind: str
) -> None:
    session = first_file(store, "patients/*/sessions/*.yaml")
    rel = session.relative_to(store).as_posix()
    outside = tmp_path / "outside.yaml"
    outside.write_bytes(session.read_bytes())
    session.unlink()
    if kind == "fifo":
        os.mkfifo(session)
    else:
        session.symlink_to(outside)
    # The FIFO in a real process, so that a read waiting for a writer fails on the timeout.
    code, report = _validate_json(store, real_process=kind == "fifo")
    assert code == 1 and not report["ok"]
    about = [p for p in report["problems"] if p["file"] == rel]
    assert about and all(p["severity"] == "error" for p in about)
    assert (about[0]["line"], about[0]["column"]) == (1, 1)


def test_deep_flow_nesting_does_not_crash_the_process(tmp_path: Path) -> None:
    # libyaml's own composer overflows the C stack on this; ours must answer calmly.
    deep = tmp_path / "deep.yaml"
    deep.write_bytes(b"a: " + b"[" * (MAX_BYTES - 10))
    code = (
        "import sys\nfrom medmassage.yamlio import load_file\n"
        "from medmassage.errors import RecordError\n"
        "try:\n    load_file(__import__('pathlib').Path(sys.argv[1]), 'deep.yaml')\n"
        "except RecordError as e:\n    p = e.problem\n    print(p.rule, p.file, p.line, p.column)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(deep)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    # Which refusal comes first (ours at MAX_DEPTH or libyaml's own depth limit) depends on
    # the libyaml release; what matters is a located syntax refusal, not a crash.
    rule, file, line, column = proc.stdout.split()
    assert rule.startswith("syntax/") and file == "deep.yaml"
    assert int(line) == 1 and int(column) >= 1


def test_utf8_bom_and_crlf_are_accepted() -> None:
    assert load_bytes("\ufeffa: 1\r\nb: ünï\r\n".encode(), "r.yaml") == {"a": 1, "b": "ünï"}


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_give_a_record_or_a_record_error(data: bytes) -> None:
    try:
        result = load_bytes(data, "r.yaml")
    except RecordError as exc:
        assert (
            exc.problem.line >= 1
            and exc.problem.column >= 1
            and exc.problem.rule.startswith("syntax/")
        )
    else:
        assert isinstance(result, dict)


_yamlish = st.text(
    alphabet=st.sampled_from(list("ab:- \n#[]{},'\"&*!|>%@`?\t0123.~")), max_size=120
)


@settings(max_examples=400, deadline=None)
@given(_yamlish)
def test_yaml_shaped_text_gives_a_record_or_a_record_error(text: str) -> None:
    try:
        assert isinstance(load_bytes(text.encode(), "r.yaml"), dict)
    except RecordError as exc:
        assert exc.problem.rule.startswith("syntax/")


# Text the dialect can hold: no control characters, bidi controls, non-characters or
# line separators (SPEC §5 refuses them even when written as escapes); newlines and tabs
# are kept, since notes hold paragraphs.
_chars = st.characters(
    blacklist_categories=("Cc", "Cs"),
    blacklist_characters="\ufeff\ufffe\uffff\u2028\u2029\u202a\u202b\u202c\u202d\u202e"
    "\u2066\u2067\u2068\u2069",
) | st.sampled_from("\n\t")
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**18), max_value=10**18),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(_chars, max_size=40),
)
_keys = st.text(_chars, min_size=1, max_size=12)
_values = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_keys, children, max_size=4),
    max_leaves=20,
)


# One property over the same records (generating them is most of its cost): what the
# writer gives reads back identically, is deterministic, and is ordinary YAML.
@settings(max_examples=250, deadline=None)
@given(st.dictionaries(_keys, _values, min_size=1, max_size=6))
def test_what_is_written_reads_back_identically_and_as_ordinary_yaml(
    record: dict[str, Any],
) -> None:
    text = dump(record)
    assert load_bytes(text.encode(), "r.yaml") == record
    assert dump(record) == text  # deterministic
    # Other YAML readers see the same strings (dates and numbers-as-text are safe).
    other = yaml.safe_load(text)
    assert isinstance(other, dict) and list(map(str, other)) == list(record)


def test_writer_keeps_key_order_and_quotes_risky_text() -> None:
    text = dump(
        {"z": "no", "a": "12:30", "m": "012", "d": "2026-03-14", "note": "line one\nline two\n"}
    )
    assert text == 'z: "no"\na: "12:30"\nm: "012"\nd: 2026-03-14\nnote: |\n  line one\n  line two\n'


def test_a_note_with_pasted_tabs_is_written_as_a_block_and_reads_back() -> None:
    note = "Pain\tworse at night\nSleep\t5 h\n\tfrom the intake form\n"
    text = dump({"note": note})
    assert text.startswith("note: |\n") and "\t" in text  # readable, not "\t" escapes
    assert load_bytes(text.encode(), "r.yaml") == {"note": note}
    # a tab as the very first character would read as indentation: quoted instead
    first = dump({"note": "\tindented\nsecond\n"})
    assert first.startswith('note: "') and load_bytes(first.encode(), "r.yaml") == {
        "note": "\tindented\nsecond\n"
    }


def test_a_block_after_quoted_keys_keeps_its_trailing_blanks() -> None:
    # Found by the round-trip property: after a quoted field name with a plain value, the
    # pre-scan once took the following fields for that value's next lines.
    record = {"1": None, "00": [], "0": "0 \n0"}
    assert load_bytes(dump(record).encode(), "r.yaml") == record
