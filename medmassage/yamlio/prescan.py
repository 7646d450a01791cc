"""The text pre-scan: what libyaml or the pure-Python parser reads wrongly, or differently
from the other, is refused here with a located problem before either parser sees it.

It tracks just enough of YAML's lexical structure (quotes, comments, flow brackets, block
scalars, document markers) to tell where a character sits, one line at a time; each method
of `_Scan` (whole lines) and of its base `tokens.LineScan` (within a line) judges one
construct. Lines holding only blanks are made empty (they are blank lines), and a last line
of blanks gets its line break, so that both parsers read them as YAML says.

Tabs are text inside quotes, inside plain text after its first character, and inside the
lines of a block scalar after their indentation; elsewhere (indentation, or between a `:`,
`-`, `?` or `,` and what follows it) the two parsers disagree, so they are refused.
"""

from __future__ import annotations

import re

from medmassage.yamlio.tokens import COMMENT_GLUED, LineScan, indent_of, scan_quoted

# Constructs that libyaml or the pure-Python parser read wrongly, or differently from each
# other, all pass one of these tests; a record that passes none goes straight to the parser.
# Each regex starts with one literal character, so that the search skips over ordinary text.
_LINE_START = re.compile(r"\n(?:[ ]*:|[ \t]+\r?$|%|\.\.\.|---[ ]*[^\s#])", re.MULTILINE)
_AFTER_COMMA = re.compile(r",[ ]*(?::|-(?:[ ,\]}]|$))", re.MULTILINE)  # ', :x' or ', -'
_AFTER_DASH = re.compile(r"-[ ]+:")  # '- :'
_AFTER_COLON = re.compile(r":(?:[ ]*:|[,\]}])")  # '::', ': :', ':' glued to ',', ']' or '}'

_DOC_MARK = re.compile(r"(?:---|\.\.\.)(?=[ \t]|$)")

TAB_INDENTS = "a tab in the indentation of a line; YAML indents with spaces only"
TAB_FIRST_IN_BLOCK = (
    "a tab at the start of the first line of a block of text (| or >); indent that line"
    " with spaces only, or give the indentation after the | (as in |2)"
)
TAB_BLANK_IN_BLOCK = (
    "a line of only blanks holding a tab, before the first line of a block of text (| or >)"
    " or indented less than it; use spaces"
)


def suspect(text: str) -> bool:
    """Whether the text may hold a construct that the pre-scan must look at."""
    return (
        "\t" in text  # tabs
        or "?" in text  # explicit keys, and '?' inside [ ] or { }
        or "#" in text  # '#' glued to a value is not a comment
        or "[" in text  # flow collections: ':', '?', '-' and line breaks inside them
        or "{" in text
        or text[-1:] in (" ", "\t")  # a last line holding only blanks
        or _LINE_START.search("\n" + text) is not None  # directives, document markers,
        # lines holding only blanks, ':' starting a line
        or _AFTER_COMMA.search(text) is not None
        or _AFTER_DASH.search(text) is not None
        or _AFTER_COLON.search(text) is not None
    )


def prescan(text: str, name: str) -> str:
    """The text the parsers should read, or a located RecordError for what they misread."""
    return _Scan(text, name).run()


class _Scan(LineScan):
    """The pre-scan of a whole text: one method per kind of line."""

    def run(self) -> str:
        for number, raw in enumerate(self.lines, 1):
            line = raw[:-1] if raw.endswith("\r") else raw
            if self.block is not None and self._block_line(number, line):
                continue
            j = self._line_start(number, raw, line)
            if j >= 0:
                self._tokens(number, raw, line, j)
        if not self.started:
            raise self.fail(
                1, 1, "syntax/empty", "the file is empty; a record is a mapping of field: value"
            )
        text = "\n".join(self.lines) if self.changed else self.text
        return text + "\n" if text[-1:] in (" ", "\t") else text

    # ------------------------------------------------------------------ whole lines

    def _block_line(self, number: int, line: str) -> bool:
        """Whether the line belongs to the block scalar being read (tabs there are text)."""
        block = self.block
        assert block is not None
        indent = indent_of(line)
        if not line.strip(" \t") and (block.content < 0 or indent < block.content):
            if "\t" in line:
                raise self.fail(number, line.index("\t") + 1, "syntax/tab", TAB_BLANK_IN_BLOCK)
            block.widest = max(block.widest, len(line))
            return True
        if block.content < 0 and indent > block.parent:
            block.content = indent
            if block.widest > indent and not block.explicit:
                raise self.fail(
                    number - 1,
                    1,
                    "syntax/invalid-yaml",
                    "a blank line at the start of a block of text is indented more than"
                    " its first line",
                )
            if line[indent] == "\t" and not block.explicit:  # libyaml reads it as indentation
                raise self.fail(number, indent + 1, "syntax/tab", TAB_FIRST_IN_BLOCK)
        if block.content >= 0 and indent >= block.content:
            return True
        self.block = None
        return False

    def _line_start(self, number: int, raw: str, line: str) -> int:
        """Where the line's tokens begin, or -1 when the whole line is judged already."""
        if self.quote:
            return self._quote_goes_on(number, line)
        if not line.strip(" \t"):
            if "\t" in line or number == len(self.lines):
                self._replace(number, "\r" if raw.endswith("\r") else "")
            return -1
        if not self.flow:
            self.after = 0
            if _DOC_MARK.match(line):
                return self._document_marker(number, line)
            if line[0] == "%" and not self.started:
                raise self.fail(
                    number,
                    1,
                    "syntax/directive",
                    "directives ('%YAML', '%TAG') are not allowed in a record",
                )
        return self._indentation(number, raw, line)

    def _quote_goes_on(self, number: int, line: str) -> int:
        end = scan_quoted(line, 0, self.quote)
        if end < 0:
            return -1
        self.quote, self.after = "", self.quote_line
        if line[end : end + 1] == "#":
            raise self.fail(number, end + 1, "syntax/invalid-yaml", COMMENT_GLUED)
        return end

    def _document_marker(self, number: int, line: str) -> int:
        self.in_plain = False
        self.plain_parent = -2
        if line.startswith("---"):
            if self.started:
                raise self.fail(
                    number,
                    1,
                    "syntax/multiple-documents",
                    "a record file holds exactly one YAML document",
                )
            self.started = True
            rest = line[3:].lstrip(" ")
            if rest[:1] in ("|", ">"):
                raise self.fail(
                    number,
                    len(line) - len(rest) + 1,
                    "syntax/not-a-mapping",
                    "the top level of a record must be a mapping of field: value",
                )
        else:
            self.ended = self.ended or self.started
        return 3

    def _indentation(self, number: int, raw: str, line: str) -> int:
        stripped = line.lstrip(" ")
        j = len(line) - len(stripped)
        if not stripped.startswith("#"):
            if self.ended:
                raise self.fail(
                    number,
                    j + 1,
                    "syntax/multiple-documents",
                    "a record file holds exactly one YAML document",
                )
            self.started = True
        if stripped[:1] == "\t":
            raise self.fail(number, j + 1, "syntax/invalid-yaml", TAB_INDENTS)
        if not self.flow and self.plain_parent > -2 and j > self.plain_parent:
            # the next line of plain text: trailing blanks are dropped, and a tab is judged
            # as inside that text (the line may also turn out to be an explicit key's value)
            stripped = stripped.rstrip(" \t")
            if len(stripped) + j < len(line):
                self._replace(number, line[: j + len(stripped)] + raw[len(line) :])
            if "\t" in stripped:
                parent, self.in_plain = self.plain_parent, True
                self._tokens(number, raw, line, j)
                self.plain_parent = parent
            return -1
        self.plain_parent = -2
        return j
