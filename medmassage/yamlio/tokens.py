"""The pre-scan within one line: quotes, flow brackets, plain text, indicators and node
properties, each judged by one method of `LineScan`, the state the pre-scan carries from
line to line (see `prescan`, which adds the methods for whole lines)."""

from __future__ import annotations

from medmassage.errors import RecordError
from medmassage.yamlio.text import problem

_BREAKS = ("", " ", "\t")
_FLOW_BREAKS = ("", " ", "\t", ",", "[", "]", "{", "}")

COMMENT_GLUED = "a comment needs a space before '#'"
TAB_SEPARATES = (
    'a tab separating parts of a line; use spaces, or write the value in double quotes with "\\t"'
)


def scan_quoted(line: str, start: int, quote: str) -> int:
    """Index just past the closing quote of a quoted scalar in `line`, or -1 if it goes on."""
    k, n = start, len(line)
    while k < n:
        char = line[k]
        if char == "\\" and quote == '"':
            k += 2
            continue
        if char == quote:
            if quote == "'" and line[k + 1 : k + 2] == "'":
                k += 2
                continue
            return k + 1
        k += 1
    return -1


def node_name(line: str, start: int, flow: bool) -> str:
    """The anchor, alias or tag that starts at `start`, for the message refusing it."""
    end = start + 1
    stops = " ,[]{}" if flow else " "
    while end < len(line) and line[end] not in stops:
        end += 1
    return line[start:end]


def indent_of(line: str) -> int:
    """How many spaces the line starts with."""
    return len(line) - len(line.lstrip(" "))


class Block:
    """A block scalar (| or >) being read: where its lines must start."""

    __slots__ = ("content", "explicit", "parent", "widest")

    def __init__(self, parent: int, explicit: bool) -> None:
        self.parent = parent  # column of the field or '-' it belongs to
        self.content = -1  # indentation of its text, once its first line is seen
        self.widest = 0  # the longest line of blanks before that first line
        self.explicit = explicit  # the indentation was given after the | or >


class LineScan:
    """The pre-scan's state across lines, and the methods that judge one line's tokens."""

    def __init__(self, text: str, name: str) -> None:
        self.text, self.name = text, name
        self.lines = text.split("\n")
        self.changed = False
        self.quote = ""  # the quote character while a quoted scalar runs over several lines
        self.quote_line = 0
        self.flow = 0  # depth of [ ] and { }
        self.in_plain = False  # inside plain text (runs over lines only inside [ ] and { })
        self.plain_line = 0
        self.plain_column = 0
        self.after = 0  # line where the quoted scalar or bracketed collection just closed began
        self.explicit = False  # an explicit '? key' waits for its ':'
        self.block: Block | None = None
        self.plain_parent = -2  # a block plain scalar goes on over lines indented more than this
        self.started = False  # a document has begun
        self.ended = False  # ... and was closed with '...'
        self.start = True  # a node may begin at this point of the line
        self.key_column = -1  # column of the last block field name or '-' on this line
        self.quoted_column = -1  # column of the last quoted text, which may be a field name

    def fail(self, line: int, column: int, rule: str, message: str) -> RecordError:
        return problem(self.name, line, column, rule, message)

    def _replace(self, number: int, line: str) -> None:
        self.lines[number - 1] = line
        self.changed = True

    # ------------------------------------------------------------------ within a line

    def _tokens(self, number: int, raw: str, line: str, j: int) -> None:
        self.start = not self.in_plain
        self.key_column = -1
        self.plain_column = j
        n = len(line)
        while j < n:
            char = line[j]
            if char == " ":
                j += 1
            elif char == "\t":
                j = self._tab(number, raw, line, j)
            elif char == "#" and (j == 0 or line[j - 1] == " "):
                break
            elif self.in_plain and (k := self._plain_char(number, line, j)) != j:
                j = k
            else:
                j = self._token(number, line, j)
            if j < 0:
                break
        if self.in_plain and not self.flow:
            self.in_plain = False
            self.plain_parent = self.key_column if self.key_column >= 0 else indent_of(line) - 1

    def _tab(self, number: int, raw: str, line: str, j: int) -> int:
        rest = line[j:].lstrip(" \t")
        if not rest or rest[0] == "#":  # trailing blanks, or blanks before a comment
            self._replace(number, line[:j] + line[j:].replace("\t", " ") + raw[len(line) :])
            return -1
        if self.in_plain:  # inside plain text both parsers read a tab as text
            return j + 1
        raise self.fail(number, j + 1, "syntax/tab", TAB_SEPARATES)

    def _plain_char(self, number: int, line: str, j: int) -> int:
        """Past one character of plain text; `j` itself when it ends the text in [ ] or { }."""
        char, following, flow = line[j], line[j + 1 : j + 2], self.flow
        if char == ":" and (following in (_FLOW_BREAKS if flow else _BREAKS)):
            self.in_plain = False
            if flow and following in (",", "]", "}"):
                raise self.fail(
                    number,
                    j + 1,
                    "syntax/flow-form",
                    "inside [ ] or { } a ':' is followed by a space",
                )
            if flow and self.plain_line != number:
                raise self.fail(
                    number,
                    j + 1,
                    "syntax/complex-key",
                    "a field name must be on one line with its ':'",
                )
            if not flow:
                self.key_column = self.plain_column
            self.start = True
            return j + 1
        if flow and char in ",[]{}":
            self.in_plain = False
            return j
        if flow and char == "?":
            raise self.fail(
                number,
                j + 1,
                "syntax/flow-form",
                "inside [ ] or { } text holding '?' must be quoted",
            )
        return j + 1

    def _token(self, number: int, line: str, j: int) -> int:
        """Past the token that begins at `j`, or -1 when the rest of the line is judged."""
        char = line[j]
        if char in "\"'" and self.start:
            return self._quoted(number, line, j)
        if char in "[{" and (self.start or self.flow):
            self.flow += 1
            self.start = True
            return j + 1
        if char in "]}" and self.flow:
            return self._flow_end(number, line, j)
        if char == "," and self.flow:
            self.start, self.after = True, 0
            return j + 1
        handled = 0
        if char == "?" and self.start:
            handled = self._question(number, line, j)
        elif char == ":" and (self.start or self.after):
            handled = self._colon(number, line, j)
        elif char == "-" and self.start:
            handled = self._dash(number, line, j)
        elif char in "&*!" and self.start:
            raise self._node_property(number, line, j)
        elif char in "|>" and self.start and not self.flow:
            return self._block_header(number, line, j)
        if handled:
            return handled
        # anything else begins plain text
        self.in_plain, self.start, self.after = True, False, 0
        self.plain_line, self.plain_column = number, j
        return j + 1

    def _quoted(self, number: int, line: str, j: int) -> int:
        self.quoted_column = j
        end = scan_quoted(line, j + 1, line[j])
        if end < 0:
            self.quote, self.quote_line = line[j], number
            return -1
        self.after, self.start = number, False
        if line[end : end + 1] == "#":
            raise self.fail(number, end + 1, "syntax/invalid-yaml", COMMENT_GLUED)
        return end

    def _flow_end(self, number: int, line: str, j: int) -> int:
        self.flow -= 1
        self.start, self.after = False, number
        if line[j + 1 : j + 2] == "#":
            raise self.fail(number, j + 2, "syntax/invalid-yaml", COMMENT_GLUED)
        return j + 1

    def _question(self, number: int, line: str, j: int) -> int:
        """An explicit key's '?'; 0 when the '?' begins plain text."""
        if line[j + 1 : j + 2] in (_FLOW_BREAKS if self.flow else _BREAKS):
            self.explicit = True
            return j + 1
        if self.flow:
            raise self.fail(
                number,
                j + 1,
                "syntax/flow-form",
                "inside [ ] or { } text starting with '?' must be quoted",
            )
        return 0

    def _colon(self, number: int, line: str, j: int) -> int:
        """A ':' with no plain key before it; 0 when it begins plain text."""
        flow, after = self.flow, self.after
        if line[j + 1 : j + 2] in (_FLOW_BREAKS if flow else _BREAKS) or (after and flow):
            if after:
                if not flow and after == number:
                    # a quoted field name: what follows on later lines is indented past it
                    self.key_column = self.quoted_column
                if flow and after != number:
                    raise self.fail(
                        number,
                        j + 1,
                        "syntax/complex-key",
                        "a field name must be on one line with its ':'",
                    )
            elif self.explicit:
                self.explicit = False
            else:
                raise self.fail(
                    number, j + 1, "syntax/empty-key", "a field needs a name before ':'"
                )
            self.start, self.after = True, 0
            return j + 1
        if flow:
            raise self.fail(
                number,
                j + 1,
                "syntax/flow-form",
                "inside [ ] or { } text starting with ':' must be quoted",
            )
        return 0

    def _dash(self, number: int, line: str, j: int) -> int:
        """A block sequence's '-'; 0 when it begins plain text."""
        following = line[j + 1 : j + 2]
        if self.flow and following in _FLOW_BREAKS:
            raise self.fail(
                number, j + 1, "syntax/invalid-yaml", "a '-' alone is not a value in [ ]"
            )
        if not self.flow and following in _BREAKS:
            self.key_column = j
            return j + 1
        return 0

    def _node_property(self, number: int, line: str, j: int) -> RecordError:
        label = node_name(line, j, bool(self.flow))
        if line[j] == "&":
            rule, message = "syntax/anchor", f"anchor '{label}' is not allowed"
        elif line[j] == "*":
            rule, message = "syntax/alias", f"alias '{label}' is not allowed"
        else:
            return self.fail(
                number,
                j + 1,
                "syntax/tag",
                f"explicit tag '{label}' is not allowed; records use plain values",
            )
        return self.fail(number, j + 1, rule, message + "; write the value out in full")

    def _block_header(self, number: int, line: str, j: int) -> int:
        k = j + 1
        while k < len(line) and line[k] in "-+0123456789":
            k += 1
        if line[k : k + 1] == "#":
            raise self.fail(number, k + 1, "syntax/invalid-yaml", COMMENT_GLUED)
        if "\t" in line[k:]:
            raise self.fail(number, line.index("\t", k) + 1, "syntax/tab", TAB_SEPARATES)
        parent = self.key_column if self.key_column >= 0 else indent_of(line) - 1
        self.block = Block(parent, any(c.isdigit() for c in line[j + 1 : k]))
        return -1
