#!/usr/bin/env python3
"""Set-up and the two everyday jobs, with nothing but Python 3.11+ on the machine.

    python3 dev.py demo    # make .venv, install medmassage, check and render the demo clinic
    python3 dev.py test    # make .venv, install medmassage with its test tools, run the tests
    python3 dev.py bench   # the speed benchmark (see "Speed" in README.md)

Extra arguments after `test` go to pytest. The virtual environment is made once and
refreshed only when setup.cfg or pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def _stamp() -> str:
    digest = hashlib.sha256(sys.version.encode())
    for name in ("setup.cfg", "pyproject.toml"):
        digest.update((HERE / name).read_bytes())
    return digest.hexdigest()


def ensure_venv() -> None:
    """Create .venv and install the project (editable, with test tools) when needed."""
    if sys.version_info < (3, 11):
        sys.exit(f"medmassage needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    marker = VENV / ".medmassage-installed"
    if marker.is_file() and marker.read_text() == _stamp() and PYTHON.exists():
        return
    if not PYTHON.exists():
        print("Creating .venv ...", file=sys.stderr)
        try:
            venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
        except Exception as exc:  # noqa: BLE001 - explain the usual cause instead of a traceback
            sys.exit(f"could not create .venv ({exc}); on Debian/Ubuntu install the python3-venv package")
    print("Installing medmassage and its test tools into .venv ...", file=sys.stderr)
    pip = [str(PYTHON), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "-e", f"{HERE}[test]"], check=True)
    marker.write_text(_stamp())


def run(*args: str) -> int:
    """Run a command from the project folder and return its exit status."""
    return subprocess.run(list(args), cwd=HERE).returncode


def demo() -> int:
    """The main job on the demo store: validate it, then render every document."""
    medmassage = str(BIN / "medmassage")
    status = run(medmassage, "--root", "records", "validate")
    for document in ("soap", "physician-update"):
        status = status or run(medmassage, "--root", "records", "render", document, "--all")
    if status == 0:
        print(f"\nOpen the documents in {HERE / 'records' / 'rendered'} (one folder per patient).", file=sys.stderr)
    return status


def main(argv: list[str]) -> int:
    job = argv[0] if argv else "help"
    if job not in ("demo", "test", "bench"):
        print(__doc__)
        return 0 if job in ("help", "-h", "--help") else 2
    try:
        ensure_venv()
    except subprocess.CalledProcessError as exc:
        print(f"set-up failed: {' '.join(map(str, exc.cmd))} exited {exc.returncode}", file=sys.stderr)
        return 1
    if job == "demo":
        return demo()
    if job == "bench":
        return run(str(PYTHON), "bench/run.py", *argv[1:])
    return run(str(PYTHON), "-m", "pytest", *argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
