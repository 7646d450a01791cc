"""`medmassage export fhir`."""

from __future__ import annotations

from medmassage.cli.exporting import export

__all__ = ["export"]
