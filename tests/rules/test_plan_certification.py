"""The provider who certified a plan of care is a reference like any other."""

from __future__ import annotations

import textwrap
from pathlib import Path

from charts import BASE, PLAN, findings


def certified(by: str) -> dict[str, str | None]:
    """The base plan with a certification by the provider `by`."""
    plan = textwrap.dedent(BASE[PLAN])
    return {PLAN: plan + f"certification:\n  by: {by}\n  date: 2026-10-05\n"}


def test_a_certification_by_a_known_provider_is_fine(tmp_path: Path) -> None:
    assert findings(tmp_path, certified("dr-omar-pellow")) == set()


def test_a_certification_by_an_unknown_provider(tmp_path: Path) -> None:
    assert findings(tmp_path, certified("dr-nobody")) == {
        ("ref/unknown-provider", PLAN, "$.certification.by"),
    }
