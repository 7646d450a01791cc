"""Interactive questions for one field at a time: questions go to stderr (stdout
carries only results), answers come from stdin, and each answer is checked against
the field's schema and the store before it is taken."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO

from medmassage.errors import Cancelled
from medmassage.yamlio import resolve_plain

_YES = frozenset(("y", "yes", "true"))
_NO = frozenset(("n", "no", "false"))


class Asker(Protocol):
    """Where questions go and answers come from."""

    def ask(self, prompt: str) -> str:
        """Show `prompt` and return one answer line (without its newline)."""

    def say(self, text: str) -> None:
        """Show a line of guidance."""


class Terminal:
    """Questions on stderr, answers from stdin, as on a terminal."""

    def __init__(self, stdin: TextIO | None = None, stderr: TextIO | None = None) -> None:
        self.stdin = stdin or sys.stdin
        self.stderr = stderr or sys.stderr

    def ask(self, prompt: str) -> str:
        """Show `prompt` and read one line; end of input cancels."""
        self.stderr.write(prompt)
        self.stderr.flush()
        line = self.stdin.readline()
        if not line:
            self.stderr.write("\n")
            raise Cancelled("cancelled at end of input; nothing was written")
        return line.rstrip("\r\n")

    def say(self, text: str) -> None:
        """Write one line of guidance to stderr."""
        self.stderr.write(text + "\n")
        self.stderr.flush()


Check = Callable[[Any], "str | None"]  # a store check: a message when the value is refused


@dataclass
class Question:
    """One field to ask for: its place, its schema (and the $defs that schema refers to)."""

    label: str
    schema: dict[str, Any]
    defs: dict[str, Any]
    required: bool
    default: Any = None
    default_why: str = ""
    choices: list[str] = field(default_factory=list)  # ids from the store, for references
    check: Check | None = None

    @property
    def shape(self) -> dict[str, Any]:
        """The field's schema with a vocabulary $ref resolved, for its type and enum."""
        return resolve(self.schema, self.defs)


def resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """`schema` merged with the local definition its `$ref` points to, if any."""
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
        return schema
    target = resolve(defs.get(ref[len("#/$defs/") :], {}), defs)
    return {**target, **{k: v for k, v in schema.items() if k != "$ref"}}


def show(value: Any) -> str:
    """A value as the person would type it."""
    if isinstance(value, list):
        return ", ".join(show(item) for item in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def ask_field(asker: Asker, question: Question) -> Any:
    """Ask until the answer fits the field; None when an optional field is left blank."""
    _introduce(asker, question)
    hint = f" [{show(question.default)}]" if question.default is not None else ""
    while True:
        text = asker.ask(f"{question.label}{hint}: ").strip()
        if text == "?":
            _introduce(asker, question, full=True)
            continue
        if not text:
            if question.default is not None:
                return question.default
            if not question.required:
                return None
            asker.say("  this field is required (type ? for help)")
            continue
        value, problem = parse_answer(text, question)
        if problem is None:
            return value
        asker.say(f"  {problem}")


def ask_yes_no(asker: Asker, prompt: str, default: bool) -> bool:
    """A yes/no question; Enter takes the default."""
    while True:
        text = asker.ask(f"{prompt} [{'Y/n' if default else 'y/N'}]: ").strip().lower()
        if not text:
            return default
        if text in _YES or text in _NO:
            return text in _YES
        asker.say("  answer y or n")


def _introduce(asker: Asker, question: Question, full: bool = False) -> None:
    shape = question.shape
    description = str(shape.get("description", ""))
    if description:
        asker.say(textwrap.fill(description, 88, initial_indent="  ", subsequent_indent="  "))
    options = question.choices or _enum(shape, question.defs)
    if options and (full or len(options) <= 30):
        asker.say(
            textwrap.fill(
                "one of: " + ", ".join(map(str, options)),
                88,
                initial_indent="  ",
                subsequent_indent="    ",
            )
        )
    if question.default is not None and question.default_why:
        asker.say(f"  Enter keeps {show(question.default)} ({question.default_why})")
    if full and shape.get("type") == "array":
        asker.say("  several values: separate them with commas")


def _enum(shape: dict[str, Any], defs: dict[str, Any]) -> list[Any]:
    if shape.get("type") == "array":
        items = shape.get("items", {})
        return list(resolve(items, defs).get("enum", [])) if isinstance(items, dict) else []
    return list(shape.get("enum", []))


def parse_answer(text: str, question: Question) -> tuple[Any, str | None]:
    """The typed value of an answer and, when it does not fit, why not."""
    shape = question.shape
    if shape.get("type") == "array":
        item_schema = shape.get("items", {})
        parts = [part.strip() for part in text.split(",") if part.strip()]
        value: Any = [_typed(part, resolve(item_schema, question.defs)) for part in parts]
    else:
        value = _typed(text, shape)
    problem = check_value(value, question)
    return value, problem


def _typed(text: str, shape: dict[str, Any]) -> Any:
    kind = shape.get("type")
    if kind == "boolean":
        low = text.lower()
        return True if low in _YES else False if low in _NO else text
    if kind in ("integer", "number"):
        return resolve_plain(text)
    return text  # text fields keep what was typed: "012" stays a code, not twelve


def check_value(value: Any, question: Question) -> str | None:
    """Why `value` does not fit the field's schema or the store, or None when it fits."""
    from medmassage import schema_loader
    from medmassage.explain import explain

    # The loader's checker: patterns and formats mean what they mean in JSON Schema.
    validator = schema_loader.checker({**question.schema, "$defs": question.defs})
    for error in validator.iter_errors(value):
        for finding in explain("", error, show_values=True):
            return finding.message
    if question.check is not None:
        return question.check(value)
    return None
