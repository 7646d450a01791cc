"""The README stays true: every command it shows runs and succeeds, and its
configuration snippets are what the project ships."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

PROJECT = Path(__file__).resolve().parent.parent
README = (PROJECT / "README.md").read_text()
# Running the test suite from inside the test suite would recurse; CI runs it instead.
NOT_HERE = {"python3 dev.py test"}


def commands() -> list[str]:
    found = []
    for block in re.findall(r"```console\n(.*?)```", README, re.S):
        found += [line[2:].strip() for line in block.splitlines() if line.startswith("$ ")]
    return found


def test_readme_quick_start_is_exactly_two_commands() -> None:
    quick = README.split("## Quick start", 1)[1].split("```console\n", 1)[1].split("```", 1)[0]
    assert quick.splitlines() == ["$ python3 dev.py demo", "$ python3 dev.py test"]
    assert "python3 dev.py test" in (PROJECT / ".ci" / "run").read_text()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the README's commands run: a folder like the project's, holding a copy of the
    demo store (so the commands, `dev.py demo` too, never write into the checkout) and links
    to the project's environment, dev.py and the files that say whether the environment is
    current, with its own folder for temporary files."""
    here = tmp_path_factory.mktemp("readme")
    ignore = shutil.ignore_patterns("rendered", ".medmassage-cache")
    shutil.copytree(PROJECT / "records", here / "records", ignore=ignore)
    for name in (".venv", "dev.py", "setup.cfg", "pyproject.toml", "constraints.txt"):
        if (PROJECT / name).exists():
            (here / name).symlink_to(PROJECT / name)
    (here / "tmp").mkdir()
    return here


def _environment_is_current() -> bool:
    """Whether .venv is up to date with setup.cfg and constraints.txt: if not, `dev.py demo`
    in the work folder would install the work folder into the project's environment."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("dev", PROJECT / "dev.py")
    assert spec is not None and spec.loader is not None
    dev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dev)
    marker = PROJECT / ".venv" / ".medmassage-installed"
    return marker.is_file() and marker.read_text() == dev._stamp(True)


@pytest.mark.parametrize("command", [c for c in commands() if c not in NOT_HERE])
def test_readme_command_runs(command: str, workdir: Path) -> None:
    if command.startswith("python3 dev.py") and not _environment_is_current():
        pytest.skip(".venv is missing or older than setup.cfg: `python3 dev.py test` makes it")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDMASSAGE_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["TMPDIR"] = str(workdir / "tmp")
    proc = subprocess.run(
        command, shell=True, cwd=workdir, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, f"{command}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    assert "Traceback" not in proc.stderr


def test_readme_yaml_snippets_parse_and_the_hook_matches_the_project() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", README, re.S)
    assert blocks
    for block in blocks:
        yaml.safe_load(block)
    hooks = yaml.safe_load((PROJECT / ".pre-commit-hooks.yaml").read_text())
    assert f"id: {hooks[0]['id']}" in README and f"entry: {hooks[0]['entry']}" in README


def test_readme_session_example_is_a_valid_record(tmp_path: Path) -> None:
    from medmassage.schema_loader import validator
    from medmassage.yamlio import load_bytes

    block = next(b for b in re.findall(r"```yaml\n(.*?)```", README, re.S) if b.startswith("id: "))
    record = load_bytes(block.encode(), "README.md")
    errors = [e.message for e in validator("session").iter_errors(record)]
    assert errors == []
