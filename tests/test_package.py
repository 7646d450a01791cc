"""The built wheel works on its own, from any folder: schemas and templates ship inside it."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from packaging.requirements import Requirement

PROJECT = Path(__file__).resolve().parent.parent


def has_build_requirements() -> bool:
    """Whether this environment already holds every package pyproject.toml's build-system
    requires, so pip can build with them instead of installing them into a fresh isolated
    environment first (most of a build's cost)."""
    build = tomllib.loads((PROJECT / "pyproject.toml").read_text())["build-system"]
    for text in build["requires"]:
        requirement = Requirement(text)
        try:
            installed = version(requirement.name)
        except PackageNotFoundError:
            return False
        if not requirement.specifier.contains(installed, prereleases=True):
            return False
    return True


def test_wheel_installs_and_validates_from_another_folder(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    isolation = ["--no-build-isolation"] if has_build_requirements() else []
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-q"]
    build = subprocess.run(
        [*pip_wheel, "-w", str(wheels), str(PROJECT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr
    wheel = next(wheels.glob("medmassage-*.whl"))
    target = tmp_path / "site"
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr
    assert (target / "medmassage" / "schemas" / "session.schema.json").is_file()
    assert (target / "medmassage" / "templates" / "__init__.py").is_file()

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target), "NO_COLOR": "1"}
    code = "import medmassage, sys; print(medmassage.__file__)"
    where = subprocess.run(
        [sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True
    )
    assert where.stdout.startswith(str(target)), where
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "medmassage",
            "--root",
            str(PROJECT / "records"),
            "validate",
            "--today",
            "2026-11-22",
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 errors" in run.stdout
