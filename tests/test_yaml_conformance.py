"""The record dialect measured against the official YAML test suite (SPEC §5, Conformance).

Every case of `tests/data/yaml-test-suite` (the suite's `data` branch, MIT licence) is read
with libyaml and with the pure-Python fallback: no valid input is read as a different
value, no invalid input is accepted, nothing crashes, a valid input is refused only for a
documented reason, and both parsers give the same verdict.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medmassage import yamlio
from medmassage.errors import RecordError
from medmassage.yamlio import load_bytes

SUITE = Path(__file__).parent / "data" / "yaml-test-suite"

PARSERS = ["libyaml", "python"]

# The reasons SPEC §5 and the README's dialect section give for refusing a record.
DOCUMENTED = frozenset(
    {
        "syntax/not-a-mapping",  # a top level that is not a mapping
        "syntax/empty",  # no document, or an empty one
        "syntax/multiple-documents",
        "syntax/anchor",
        "syntax/alias",
        "syntax/merge-key",
        "syntax/tag",
        "syntax/duplicate-key",  # keys equal as text or under YAML 1.2 core
        "syntax/too-deep",
        "syntax/encoding",
        "syntax/control-character",  # raw, or written as an escape
        "syntax/too-large",
        "syntax/complex-key",  # a key that is a list or mapping, or split over lines
        "syntax/empty-key",  # an empty or null key
        "syntax/directive",  # %YAML, %TAG and other directives
        "syntax/tab",  # a tab as indentation or separation, or first in a block of text
        "syntax/flow-form",  # '?'/':' starting text inside [ ] or { }, 'key:,' there
    }
)
# Refused as invalid YAML but for a documented reason: a tab in a line's indentation.
DOCUMENTED_INVALID_YAML = ("a tab in the indentation",)


def cases() -> Iterator[tuple[str, Path]]:
    for folder in sorted(SUITE.iterdir()):
        if (folder / "in.yaml").is_file():
            yield folder.name, folder
        elif folder.is_dir():
            for sub in sorted(folder.iterdir()):
                if (sub / "in.yaml").is_file():
                    yield f"{folder.name}/{sub.name}", sub


CASES = list(cases())


def json_documents(text: str) -> list[Any]:
    decoder = json.JSONDecoder()
    out: list[Any] = []
    index = 0
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            return out
        value, index = decoder.raw_decode(text, index)
        out.append(value)


def same(a: Any, b: Any) -> bool:
    """Equal as JSON values, with types: `1` is not `1.0`, `true` is not `1`."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@pytest.fixture(params=PARSERS)
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "python":
        monkeypatch.setattr(yamlio, "_Parser", yamlio.PythonParser)
    return str(request.param)


def verdict(data: bytes) -> tuple[Any, ...]:
    try:
        return ("read", load_bytes(data, "in.yaml"))
    except RecordError as exc:
        p = exc.problem
        return ("refused", p.rule, p.line, p.column, p.message)
    except Exception as exc:  # a crash is what this test looks for
        return ("crash", repr(exc))


def documented(rule: str, message: str) -> bool:
    if rule == "syntax/invalid-yaml":
        return message.startswith(DOCUMENTED_INVALID_YAML)
    return rule in DOCUMENTED


def run_suite() -> dict[str, tuple[str, tuple[Any, ...]]]:
    """Each case's outcome class and verdict."""
    out: dict[str, tuple[str, tuple[Any, ...]]] = {}
    for case, folder in CASES:
        got = verdict((folder / "in.yaml").read_bytes())
        invalid = (folder / "error").exists()
        expected = None
        if (folder / "in.json").exists():
            expected = json_documents((folder / "in.json").read_text(encoding="utf-8"))
        if got[0] == "crash":
            outcome = "crash"
        elif invalid:
            outcome = "invalid accepted" if got[0] == "read" else "invalid refused"
        elif got[0] == "read":
            right = expected is not None and len(expected) == 1 and same(got[1], expected[0])
            outcome = "valid read right" if right else "wrong value"
        else:
            outcome = "valid refused" if documented(got[1], got[4]) else "undocumented refusal"
        out[case] = (outcome, got)
    return out


def test_the_vendored_suite_is_complete() -> None:
    assert len(CASES) == 402
    assert (SUITE / "License").read_text().startswith("MIT License")


def test_conformance(parser: str) -> None:
    results = run_suite()
    tally = Counter(outcome for outcome, _ in results.values())
    bad = {
        case: got
        for case, (outcome, got) in results.items()
        if outcome in ("crash", "invalid accepted", "wrong value", "undocumented refusal")
    }
    assert not bad, f"{parser}: {tally}\n" + "\n".join(f"{k}: {v}" for k, v in bad.items())
    assert tally["valid read right"] >= 70 and tally["invalid refused"] == 94


def test_libyaml_and_the_fallback_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    fast = run_suite()
    monkeypatch.setattr(yamlio, "_Parser", yamlio.PythonParser)
    slow = run_suite()
    differ = [
        (case, fast[case][1][:2], slow[case][1][:2])
        for case in fast
        if fast[case][1][:2] != slow[case][1][:2]
    ]
    assert not differ


def refused(text: str | bytes) -> tuple[str, int, int]:
    data = text.encode() if isinstance(text, str) else text
    with pytest.raises(RecordError) as caught:
        load_bytes(data, "r.yaml")
    p = caught.value.problem
    assert p.line >= 1 and p.column >= 1 and p.severity == "error" and p.message
    return p.rule, p.line, p.column


@pytest.mark.usefixtures("parser")
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{ "?foo": bar }', {"?foo": "bar"}),
        ("a: ['?x']", {"a": ["?x"]}),
        ("foo: |\n  x\n   ", {"foo": "x\n \n"}),  # L24T/01
        ("foo: 1\n\t\nbar: 2\n", {"foo": 1, "bar": 2}),  # DK95/04: a blank line
        ("foo: 1\n \t \nbar: 2\n", {"foo": 1, "bar": 2}),
        ("a: b\t\nc:\t# note\n  - d\t\n", {"a": "b", "c": ["d"]}),  # trailing tabs are blanks
        ('a: "x\ty"\n', {"a": "x\ty"}),  # a tab inside quotes
        ('a: "tab\\tand\\nnewline"\n', {"a": "tab\tand\nnewline"}),
        ("note: pain is *worse*\n  ? maybe & more\n", {"note": "pain is *worse* ? maybe & more"}),
        ("a: [ -1, -x ]\n", {"a": [-1, "-x"]}),
        ('a: "line one\n  line two"\n', {"a": "line one line two"}),
        ("a: [b,\n  c]\n", {"a": ["b", "c"]}),
        ("a: 'it''s ok' # c\nb: what?\n", {"a": "it's ok", "b": "what?"}),
        ("? a\n: b\n", {"a": "b"}),
        # tabs pasted into notes: text inside plain text and inside a block's lines
        ("note: pain\tworse at night\n", {"note": "pain\tworse at night"}),
        ("a: b\n  c\td\n", {"a": "b c\td"}),
        ("key\twith tab: v\n", {"key\twith tab": "v"}),
        ("a: [b\tc]\n", {"a": ["b\tc"]}),
        ("a: |\n  x\n  \ty\n", {"a": "x\n\ty\n"}),
        ("a: |\n  x\ty\t\n", {"a": "x\ty\t\n"}),
        ("a: >\n  x\ty\n  \tz\n  w\n", {"a": "x\ty\n\tz\nw\n"}),
        ("a: |\n  x\n  \t\n  y\n", {"a": "x\n\t\ny\n"}),  # a line holding a tab is text
        ("a: |2\n  \tx\n", {"a": "\tx\n"}),  # the indentation given: the tab is text
        ("a: 0o17\nb: 0x1F\nc: .inf\nd: .nan\ne: 1e400\n", {
            "a": "0o17", "b": "0x1F", "c": ".inf", "d": ".nan", "e": "1e400"
        }),
    ],
)  # fmt: skip
def test_read_as_yaml_says(text: str, expected: dict[str, Any]) -> None:
    assert load_bytes(text.encode(), "r.yaml") == expected


@pytest.mark.usefixtures("parser")
@pytest.mark.parametrize(
    ("text", "rule", "line", "column"),
    [
        ("{ ?foo: bar }", "syntax/flow-form", 1, 3),  # 652Z: a key '?foo', which libyaml misreads
        ("a: [?x]", "syntax/flow-form", 1, 5),
        ("a: [x?]", "syntax/flow-form", 1, 6),  # the fallback parser splits it
        ("a: [:x]", "syntax/flow-form", 1, 5),
        ("a: {b:, c: 1}", "syntax/flow-form", 1, 6),
        ('key: "value"# c', "syntax/invalid-yaml", 1, 13),  # SU5Z
        ("a: [ b, c, ]#x", "syntax/invalid-yaml", 1, 13),
        ("a: [-]", "syntax/invalid-yaml", 1, 5),
        ("a: [b, - ]", "syntax/invalid-yaml", 1, 8),
        ("%YAML 1.1#...\n---\na: 1\n", "syntax/directive", 1, 1),
        ("%YAML 1.2\n---\na: 1\n", "syntax/directive", 1, 1),
        ("block: ># comment\n  scalar\n", "syntax/invalid-yaml", 1, 9),  # X4QW
        ("---\nflow: [a,\nb,\nc]\n", "syntax/invalid-yaml", 3, 1),  # 9C9N
        ('---\nquoted: "a\nb\nc"\n', "syntax/invalid-yaml", 3, 1),  # QB6E
        ('foo: "bar\n\tbaz"\n', "syntax/invalid-yaml", 2, 1),  # DK95/01
        ("a:\n  b: 'x\n  y'\n", "syntax/invalid-yaml", 3, 1),
        ("e: >\n \n  \n   \n # comment\n", "syntax/invalid-yaml", 4, 1),  # S98Z
        ("true: 1\nTrue: 2\n", "syntax/duplicate-key", 2, 1),
        ("null: 1\n~: 2\n", "syntax/empty-key", 1, 1),
        ("1: a\n+1: b\n", "syntax/duplicate-key", 2, 1),
        ("0x1F: a\n31: b\n", "syntax/duplicate-key", 2, 1),
        ("1.0: a\n1.00: b\n", "syntax/duplicate-key", 2, 1),
        ('a: 1\n"a": 2\n', "syntax/duplicate-key", 2, 1),
        ("a: 1\n: 2\n", "syntax/empty-key", 2, 1),
        ('"": 1\n', "syntax/empty-key", 1, 1),
        ("{ a: 1, ? }", "syntax/empty-key", 1, 0),  # column: where each parser sees it
        ("{ multi\n  line: value }", "syntax/complex-key", 2, 7),
        ('a: { "k"\n  : v }', "syntax/complex-key", 2, 3),
        ("a:\tb\n", "syntax/tab", 1, 3),
        ("a: - \tb\n", "syntax/tab", 1, 6),
        ("a: [b,\tc]\n", "syntax/tab", 1, 7),
        ("a: |\n  \tx\n", "syntax/tab", 2, 3),  # libyaml takes it for indentation
        ("a: |\n  \t\n  x\n", "syntax/tab", 2, 3),
        ("a: |\n    x\n  \t\n    y\n", "syntax/tab", 3, 3),
        ("a: |\t# c\n  x\n", "syntax/tab", 1, 5),
        ("a: b\n  \tc\n", "syntax/invalid-yaml", 2, 3),  # a tab in the indentation
        ("a:\n\tb: 1\n", "syntax/invalid-yaml", 2, 1),
        ("a: 1\n...\nb: 2\n", "syntax/multiple-documents", 3, 1),
        ("--- |\n  text\n", "syntax/not-a-mapping", 1, 5),
        ("...\n", "syntax/empty", 1, 1),
        ("a: &😁 x\n", "syntax/anchor", 1, 5),  # libyaml cannot scan it: refused all the same
        ("a: 1\n---\nb: 2\n", "syntax/multiple-documents", 2, 1),
    ],
)
def test_refused_with_a_located_reason(text: str, rule: str, line: int, column: int) -> None:
    found = refused(text)
    assert found == (rule, line, column or found[2])


@pytest.mark.usefixtures("parser")
@pytest.mark.parametrize(
    "text",
    [
        'a: "\\x07"',
        'a: "\\e"',
        'a: "\\u202e"',
        'a: "\\x9b"',
        'a: "\\0"',
        'a: "\\r"',
        'a: "\\u2028"',
        'a: "\\U0001F600 \\x1b[31m"',
        '"k\\x07": 1',
        'a: [ok, "\\a"]',
        'a:\n  b: "\\x7f"',
    ],
)
def test_control_characters_written_as_escapes_are_refused(text: str) -> None:
    assert refused(text)[0] == "syntax/control-character"


@pytest.mark.usefixtures("parser")
def test_a_lone_surrogate_escape_is_refused() -> None:
    # libyaml refuses to decode it; the fallback decodes it and the value check refuses it.
    assert refused('a: "\\ud800"')[0] in ("syntax/control-character", "syntax/invalid-yaml")


@pytest.mark.usefixtures("parser")
@pytest.mark.parametrize("char", ["\x07", "\x1b", "\u202e", "\u2066", "\x9b", "\x85"])
def test_raw_control_characters_are_refused(char: str) -> None:
    assert refused(f"a: x{char}y\n") == ("syntax/control-character", 1, 5)


_YAMLISH = st.text(
    alphabet=st.sampled_from(list("ab:-? \n\t#[]{},'\"&*!|>%@`.~0123+\\\r")), max_size=160
)
_ANY = st.one_of(st.binary(max_size=300), _YAMLISH.map(lambda t: t.encode()))


@settings(max_examples=500, deadline=None)
@given(data=_ANY, fallback=st.booleans())
def test_any_input_gives_a_record_or_a_located_error(data: bytes, fallback: bool) -> None:
    saved = yamlio._Parser
    if fallback:
        yamlio._Parser = yamlio.PythonParser  # type: ignore[misc]
    try:
        began = time.perf_counter()
        try:
            result = load_bytes(data, "r.yaml")
        except RecordError as exc:
            p = exc.problem
            assert p.rule.startswith("syntax/") and p.line >= 1 and p.column >= 1
        else:
            assert isinstance(result, dict)
        assert time.perf_counter() - began < 1.0
    finally:
        yamlio._Parser = saved  # type: ignore[misc]


@settings(max_examples=300, deadline=None)
@given(_YAMLISH)
def test_both_parsers_give_the_same_verdict_on_yaml_shaped_text(text: str) -> None:
    fast = verdict(text.encode())
    saved = yamlio._Parser
    yamlio._Parser = yamlio.PythonParser  # type: ignore[misc]
    try:
        slow = verdict(text.encode())
    finally:
        yamlio._Parser = saved  # type: ignore[misc]
    assert fast[0] != "crash" and slow[0] != "crash"
    assert (fast[0] == "read") == (slow[0] == "read")
    if fast[0] == "read":
        assert same(fast[1], slow[1])
