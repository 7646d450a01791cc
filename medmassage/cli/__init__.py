"""The command line: parse options, call the core, report, exit with a status.

`main` is the `medmassage` group (cli/base.py); each module here adds its commands to it."""

from medmassage.cli import (
    charting,
    checking,
    export_chart,
    export_deid,
    export_fhir,
    exporting,
    querying,
    rendering,
    sending,
    worklist,
)
from medmassage.cli.base import main

__all__ = [
    "charting",
    "checking",
    "export_chart",
    "export_deid",
    "export_fhir",
    "exporting",
    "main",
    "querying",
    "rendering",
    "sending",
    "worklist",
]
