"""Build the compact ICD-10-CM index that `medmassage.codesets` reads (development only).

The index is generated from the public ICD-10-CM code set (CDC/CMS, public domain;
CLINICAL.md §5), as carried by the MIT-licensed `simple-icd-10-cm` package, whose data
folder holds two files: `code-list-<Release>.txt` (every code without dots, one a line,
headers included) and `icd10c-tabular-<Release>.xml` (the tabular list: hierarchy,
descriptions and 7th-character rules). Nothing here runs when medmassage is used: the
package only reads the generated file.

Use, from a checkout, after unpacking that package's wheel (any folder holding the two
files will do)::

    python -m medmassage.codesets.build PATH_TO_DATA_DIR

It rewrites `medmassage/codesets/icd10cm.tsv` and prints the number of lines written. When
a new release is carried (a new code set each October 1, CLINICAL.md §5), update `RELEASE`
in `medmassage/codesets/__init__.py` and `RELEASE_FILES` below, rebuild, run the tests.

The file is UTF-8 text, one record a line, sorted by key (byte order) so that a lookup is
a binary search over the mapped file, with no parsing at start-up. Each line is
`KEY<TAB>KIND<TAB>TEXT`:

- `!release` -- KIND `-`, TEXT the release name (checked against `RELEASE` when read);
- `!7<n>` -- KIND `-`, TEXT a 7th-character table `A=initial encounter|D=...`;
- a code without its dot (e.g. `M5450`) -- KIND `B` billable, `H` a header (it has more
  specific codes under it, so it is not billable), or `7<n>:<chars>` a leaf that needs a
  7th character from table `<n>`, one of `<chars>` (the code set's own exceptions
  removed). TEXT is the official description.

Codes that take a 7th character are not written one by one (three quarters of the code
set); the lookup derives them and their descriptions ("<leaf description>, <meaning of the
7th character>", as the code set's tables read) from the leaf's line. Every code of the
release's code list that is not a chapter or block name is reachable this way; the tests
check that.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

#: The release this generator was last run on and the names of its two source files.
RELEASE_NAME = "ICD-10-CM April 2026"
RELEASE_FILES = ("code-list-April-2026.txt", "icd10c-tabular-April-1-2026.xml")
#: Where the generated index goes.
OUTPUT = Path(__file__).with_name("icd10cm.tsv")


def _clean(text: str | None) -> str:
    """One line of text: inner whitespace (tabs, newlines) collapsed to single spaces."""
    return " ".join((text or "").split())


def _padded(name: str) -> str:
    """A leaf's code without its dot, padded with placeholder X to 6 characters."""
    return name.replace(".", "").ljust(6, "X")


class _Builder:
    """Walks the tabular list and collects the index lines."""

    def __init__(self, known: set[str]) -> None:
        self.known = known  # every code of the code list, no dots
        self.lines: dict[str, tuple[str, str]] = {}
        self.tables: dict[tuple[tuple[str, str], ...], int] = {}

    def table_id(self, table: dict[str, str]) -> int:
        """The number of a 7th-character table, numbering new ones as they come."""
        key = tuple(sorted(table.items()))
        return self.tables.setdefault(key, len(self.tables) + 1)

    def walk(self, node: ET.Element, seventh: dict[str, str] | None) -> None:
        """Record `node` (a chapter, section or diag) and everything under it."""
        own = node.find("sevenChrDef")
        if own is not None:
            seventh = _seventh_table(own)
        children = node.findall("section") + node.findall("diag")
        for child in children:
            self.walk(child, seventh)
        if node.tag != "diag":
            return
        name = _clean(node.findtext("name"))
        key = name.replace(".", "")
        description = _clean(node.findtext("desc"))
        if children:
            kind = "H"
        elif seventh:
            stem = _padded(name)
            chars = "".join(c for c in sorted(seventh) if stem + c in self.known)
            # A leaf whose every 7th character the code set rules out stays billable as is.
            kind = f"7{self.table_id(seventh)}:{chars}" if chars else "B"
        else:
            kind = "B"
        if key in self.lines and self.lines[key] != (kind, description):
            raise ValueError(f"{name} appears twice in the tabular list")
        self.lines[key] = (kind, description)

    def output(self, release: str) -> list[str]:
        """All lines, sorted by key."""
        rows = {"!release": ("-", release)}
        for table, number in self.tables.items():
            rows[f"!7{number}"] = ("-", "|".join(f"{c}={text}" for c, text in table))
        rows.update(self.lines)
        return [f"{key}\t{kind}\t{text}\n" for key, (kind, text) in sorted(rows.items())]


def _seventh_table(element: ET.Element) -> dict[str, str]:
    """A `<sevenChrDef>` as {character: meaning}; a trailing `<note>` joins its meaning."""
    table: dict[str, str] = {}
    last = None
    for item in element:
        if item.tag == "extension":
            last = item.attrib["char"]
            table[last] = _clean(item.text)
        elif item.tag == "note" and last is not None and _clean(item.text):
            table[last] += "/" + _clean(item.text)
    for char, meaning in table.items():
        if "|" in meaning or "=" in char or len(char) != 1:
            raise ValueError(f"unexpected 7th-character entry {char!r}: {meaning!r}")
    return table


def build(data_dir: Path, output: Path = OUTPUT, release: str = RELEASE_NAME) -> int:
    """Read the two source files from `data_dir`, write the index to `output`; lines written."""
    code_list, tabular = (data_dir / name for name in RELEASE_FILES)
    known = {line.split(" ")[0].strip() for line in code_list.read_text("utf-8").splitlines()}
    root = ET.parse(tabular).getroot()
    builder = _Builder(known)
    for chapter in root.findall("chapter"):
        builder.walk(chapter, None)
    lines = builder.output(release)
    output.write_text("".join(lines), encoding="utf-8", newline="\n")
    return len(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: `python -m medmassage.codesets.build PATH_TO_DATA_DIR`."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not Path(args[0]).is_dir():
        print(__doc__.split("\n\n")[2].strip(), file=sys.stderr)
        print("usage: python -m medmassage.codesets.build PATH_TO_DATA_DIR", file=sys.stderr)
        return 2
    count = build(Path(args[0]))
    print(f"{OUTPUT.name}: {count} lines ({OUTPUT.stat().st_size} bytes), {RELEASE_NAME}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
