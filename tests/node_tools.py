"""Node.js tools the tests compare medmassage with (ajv, yaml-language-server), installed
with npm on first use into .cache/node/<name> (git-ignored). A test skips, saying why,
only when Node.js or npm is not installed; a failed install fails the test."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

PROJECT = Path(__file__).resolve().parent.parent
NODE_CACHE = PROJECT / ".cache" / "node"


def node() -> str:
    """The `node` program, or skip the test."""
    found = shutil.which("node")
    if found is None or shutil.which("npm") is None:
        pytest.skip("Node.js and npm are needed for this comparison (not installed)")
    return found


def node_modules(name: str, *packages: str) -> Path:
    """The node_modules folder holding `packages`, installed as a set called `name` (into
    a temporary folder renamed into place, so a half-done install is never used)."""
    node()
    target = NODE_CACHE / name
    modules = target / "node_modules"
    if (target / ".complete").is_file():
        return modules
    NODE_CACHE.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=NODE_CACHE))
    npm = [shutil.which("npm") or "npm", "install", "--prefix", str(temporary)]
    done = subprocess.run(
        [*npm, "--no-audit", "--no-fund", "--no-save", *packages],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        shutil.rmtree(temporary, ignore_errors=True)
        pytest.fail(f"npm could not install {' '.join(packages)}:\n{done.stderr[-3000:]}")
    (temporary / ".complete").write_text(" ".join(packages) + "\n")
    try:
        os.replace(temporary, target)
    except OSError:  # another run installed it meanwhile
        shutil.rmtree(temporary, ignore_errors=True)
    return modules


def run_node(script: str, payload: Any, modules: Path, timeout: int = 300) -> Any:
    """Run `script` in Node with `payload` as JSON on its standard input and `modules` on
    its NODE_PATH; what it printed, read as JSON. A failed run fails the test."""
    done = subprocess.run(
        [node(), "-e", script],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        env={**os.environ, "NODE_PATH": str(modules)},
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)
