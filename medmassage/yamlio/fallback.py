"""PyYAML's pure-Python event parser: the fallback when libyaml is not built in.

It is PyYAML's own Reader, Scanner and Parser with one change: inside plain text a tab is
a blank like a space, as YAML 1.2 and libyaml have it (PyYAML refuses it outright), so that
a note with a pasted tab reads the same with either parser.
"""

from __future__ import annotations

from typing import Any

from yaml.parser import Parser
from yaml.reader import Reader
from yaml.scanner import Scanner

_BREAKS = "\r\n\x85\u2028\u2029"
_DOCUMENT_END = "\0 \t\r\n\x85\u2028\u2029"


class PythonParser(Reader, Scanner, Parser):
    """PyYAML's pure-Python event parser, reading tabs inside plain text as YAML 1.2 does."""

    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)

    def scan_plain_spaces(self, indent: int, start_mark: Any) -> list[str] | None:
        """The blanks after a piece of plain text: PyYAML's own method (yaml/scanner.py),
        but counting tabs with spaces on the piece's own line."""
        length = 0
        while self.peek(length) in " \t":
            length += 1
        whitespaces = self.prefix(length)
        self.forward(length)
        chunks: list[str] = []
        if self.peek() in _BREAKS:
            return self._plain_breaks()
        if whitespaces:
            chunks.append(whitespaces)
        return chunks

    def _plain_breaks(self) -> list[str] | None:
        """Line breaks inside plain text, folded as YAML says; None at a document marker."""
        chunks: list[str] = []
        line_break: str = self.scan_line_break()  # type: ignore[no-untyped-call]
        self.allow_simple_key = True
        if self.prefix(3) in ("---", "...") and self.peek(3) in _DOCUMENT_END:
            return None
        breaks: list[str] = []
        while self.peek() in " " + _BREAKS:
            if self.peek() == " ":
                self.forward()
            else:
                breaks.append(self.scan_line_break())  # type: ignore[no-untyped-call]
                if self.prefix(3) in ("---", "...") and self.peek(3) in _DOCUMENT_END:
                    return None
        if line_break != "\n":
            chunks.append(line_break)
        elif not breaks:
            chunks.append(" ")
        chunks.extend(breaks)
        return chunks
