"""The example catalogue: every file in examples/good/ validates cleanly and every file in
examples/bad/ raises exactly the rules its first line names. Each file says where it goes
in the tiny clinic of `charts.BASE` (`# as: PATH`); bad ones start `# expect: RULE[, RULE]`,
and name the file the findings land in when it is another one (`# finds: PATH`).
Adding a case is adding a file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from charts import problems, write_store
from conftest import run_cli

from medmassage.rules import REGISTRY

EXAMPLES = Path(__file__).resolve().parent / "examples"


def header(path: Path) -> dict[str, str]:
    """The `# key: value` lines a catalogue file starts with."""
    found: dict[str, str] = {}
    for line in path.read_bytes().decode("utf-8", "replace").splitlines():
        if not line.startswith("# ") or ": " not in line:
            break
        key, value = line[2:].split(": ", 1)
        found[key] = value
    return found


def cases(kind: str) -> list[Path]:
    return sorted((EXAMPLES / kind).iterdir())


def place(tmp_path: Path, example: Path) -> tuple[Path, str]:
    root = write_store(tmp_path / "store")
    rel = header(example)["as"]
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(example, root / rel)
    return root, rel


@pytest.mark.parametrize("example", cases("good"), ids=lambda p: p.name)
def test_good_example_is_clean(tmp_path: Path, example: Path) -> None:
    root, _ = place(tmp_path, example)
    assert problems(root) == []


@pytest.mark.parametrize("example", cases("bad"), ids=lambda p: p.name)
def test_bad_example_raises_its_rule(tmp_path: Path, example: Path) -> None:
    expected = {rule.strip() for rule in header(example)["expect"].split(",")}
    assert expected <= set(REGISTRY), expected - set(REGISTRY)
    root, rel = place(tmp_path, example)
    rel = header(example).get("finds", rel)
    found = problems(root)
    assert {p["rule"] for p in found if p["file"] == rel} == expected, found
    assert all(p["file"] == rel for p in found), "only the example's own findings"


def test_the_catalogue_covers_every_stage() -> None:
    named = {rule.strip() for p in cases("bad") for rule in header(p)["expect"].split(",")}
    assert {code.split("/")[0] for code in named} == {code.split("/")[0] for code in REGISTRY}
    assert cases("good")


def test_all_good_examples_together_through_the_real_process(tmp_path: Path) -> None:
    root = write_store(tmp_path / "store")
    for example in cases("good"):
        target = root / header(example)["as"]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(example, target)
    result = run_cli("--root", str(root), "validate", "--today", "2026-10-08")
    assert result.code == 0 and result.err == "", result
    assert result.out.startswith(f"{len(list(root.rglob('*.yaml')))} files checked")
