#!/usr/bin/env python3
"""Set-up and the everyday jobs, with nothing but Python 3.11+ on the machine.

    python3 dev.py demo      # make .venv, install medmassage, check and render the demo clinic
    python3 dev.py test      # make .venv, install medmassage with its test tools (and the
                             # Node.js tools some tests compare with), run the tests
    python3 dev.py latest    # the tests again in .venv-latest, against the newest releases
    python3 dev.py lint      # ruff (lint and format check) and mypy --strict
    python3 dev.py bench     # the speed benchmark (see "Speed" in README.md)
    python3 dev.py pin       # refresh constraints.txt from a fresh install of the newest releases

`demo`, `test`, `lint` and `bench` install the versions pinned in constraints.txt (the
releases the suite was last run against); `latest` ignores the pins and upgrades every
dependency, as a new machine installing `pip install medmassage` would. Extra arguments
after `test` or `latest` go to pytest. An environment is made once and refreshed only when
setup.cfg, pyproject.toml or constraints.txt changes.
"""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
import venv
from pathlib import Path

# The folder dev.py is found in, links not followed: a folder holding links to dev.py and
# the environment, beside its own records/, works on its own records (tests/test_readme.py).
HERE = Path(__file__).absolute().parent
CONSTRAINTS = HERE / "constraints.txt"
PINNED = HERE / ".venv"
LATEST = HERE / ".venv-latest"


def _bin(env: Path, name: str) -> Path:
    folder = env / ("Scripts" if os.name == "nt" else "bin")
    return folder / (f"{name}.exe" if os.name == "nt" else name)


def _stamp(pinned: bool) -> str:
    digest = hashlib.sha256(sys.version.encode())
    for name in ("setup.cfg", "pyproject.toml", *(("constraints.txt",) if pinned else ())):
        digest.update((HERE / name).read_bytes())
    return digest.hexdigest()


def ensure_venv(env: Path = PINNED) -> Path:
    """Create `env` and install the project (editable, with test tools) when needed."""
    if sys.version_info < (3, 11):
        sys.exit(f"medmassage needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    pinned = env == PINNED
    python = _bin(env, "python")
    marker = env / ".medmassage-installed"
    if marker.is_file() and marker.read_text() == _stamp(pinned) and python.exists():
        return python
    if not python.exists():
        print(f"Creating {env.name} ...", file=sys.stderr)
        try:
            venv.EnvBuilder(with_pip=True, clear=True).create(env)
        except Exception as exc:
            sys.exit(f"could not create {env.name} ({exc}); on Debian/Ubuntu install python3-venv")
    print(f"Installing medmassage and its test tools into {env.name} ...", file=sys.stderr)
    pip = [str(python), "-m", "pip", "--disable-pip-version-check", "-q"]
    pins = ["-c", str(CONSTRAINTS)] if pinned else ["--upgrade", "--upgrade-strategy", "eager"]
    subprocess.run([*pip, "install", *pins, "-e", f"{HERE}[test,lint]"], check=True)
    marker.write_text(_stamp(pinned))
    return python


def run(*args: str | Path, env: dict[str, str] | None = None) -> int:
    """Run a command from the project folder and return its exit status."""
    return subprocess.run([str(a) for a in args], cwd=HERE, env=env).returncode


def memory_folder() -> Path | None:
    """A folder of ours in memory (Linux's /dev/shm) that can hold programs, or None. Like
    /tmp, others may pass through it (some tests run a command as an unprivileged user on
    a store in it), but only we may write in it."""
    shm = Path("/dev/shm")
    if not hasattr(os, "getuid") or not shm.is_dir():
        return None
    folder = shm / f"medmassage-tests-{os.getuid()}"
    try:
        folder.mkdir(mode=0o755, exist_ok=True)
        info = folder.lstat()
        usable = os.statvfs(folder).f_flag & os.ST_NOEXEC == 0
    except OSError:
        return None
    # Not a link, nor a folder someone else made or may write in, in the shared /dev/shm.
    ours = stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid()
    return folder if usable and ours and info.st_mode & 0o022 == 0 else None


def test_environment() -> dict[str, str]:
    """The environment for the tests:

    - Python keeps compiled bytecode, under .cache/pycache (git-ignored) rather than beside
      the sources, even where PYTHONDONTWRITEBYTECODE is set: the suite starts a hundred-odd
      CLI processes and two test workers, which would otherwise each compile it all again;
    - unless TMPDIR is set, the tests' scratch stores go to a folder in memory where the
      machine has one: they copy, write and delete thousands of small files, which on some
      disks costs the suite more time than its tests do."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("PYTHONPYCACHEPREFIX", str(HERE / ".cache" / "pycache"))
    if "TMPDIR" not in env and (memory := memory_folder()) is not None:
        env["TMPDIR"] = str(memory)
    return env


def demo(python: Path) -> int:
    """The main job on the demo store: validate it, then render every document."""
    medmassage = _bin(python.parent.parent, "medmassage")
    status = run(medmassage, "--root", "records", "validate")
    for document in (
        "soap",
        "physician-update",
        "plan-of-care",
        "progress-report",
        "discharge-summary",
        "superbill",
        "home-care",
        "referral-form",
    ):
        status = status or run(medmassage, "--root", "records", "render", document, "--all")
    if status == 0:
        where = HERE / "records" / "rendered"
        print(f"\nOpen the documents in {where} (one folder per patient).", file=sys.stderr)
    return status


def lint(python: Path) -> int:
    """ruff (lint, then format check) and mypy --strict over the package, tests and tools."""
    paths = ["medmassage", "tests", "bench", "dev.py"]
    return (
        run(python, "-m", "ruff", "check", *paths)
        or run(python, "-m", "ruff", "format", "--check", *paths)
        or run(python, "-m", "mypy", "--strict", "medmassage")
    )


def pin() -> int:
    """Write constraints.txt from a throw-away install of the newest releases."""
    ensure_venv(LATEST)
    frozen = subprocess.run(
        [str(_bin(LATEST, "python")), "-m", "pip", "freeze", "--all", "--exclude-editable"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # --all keeps setuptools and wheel (the tests build a wheel with them); pip itself is
    # the installer, not something installed.
    frozen = "".join(line for line in frozen.splitlines(True) if not line.startswith("pip=="))
    header = "# Tested versions; refresh with `python3 dev.py pin` (see README, Development).\n"
    CONSTRAINTS.write_text(header + frozen)
    return 0


def main(argv: list[str]) -> int:
    job = argv[0] if argv else "help"
    if job not in ("demo", "test", "latest", "lint", "bench", "pin"):
        print(__doc__)
        return 0 if job in ("help", "-h", "--help") else 2
    try:
        if job == "pin":
            return pin()
        python = ensure_venv(LATEST if job == "latest" else PINNED)
    except subprocess.CalledProcessError as exc:
        print(
            f"set-up failed: {' '.join(map(str, exc.cmd))} exited {exc.returncode}", file=sys.stderr
        )
        return 1
    if job == "demo":
        return demo(python)
    if job == "lint":
        return lint(python)
    if job == "bench":
        return run(python, "bench/run.py", *argv[1:])
    environment = test_environment()
    # The Node.js tools some tests compare with, installed before the suite starts.
    run(python, "tests/node_tools.py", env=environment)
    return run(python, "-m", "pytest", *argv[1:], env=environment)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
