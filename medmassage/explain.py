"""Turn jsonschema's errors into plain-English findings with stable rule codes.

Messages name the field, the rule and what is expected, never the value written: a
misplaced allergy note, an email or a birth date must not land in a CI log. (`validate
--show-values` adds the value on a local screen; see `report.with_values`.)"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import Any

from medmassage.errors import Finding
from medmassage.rules.registry import is_registered
from medmassage.store.ids import describe_id_rule

_TYPE_NAMES = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping of fields",
    "array": "a list",
    "null": "nothing",
}
_FORMS = {
    "id": describe_id_rule(),
    "time": 'a time is written HH:MM on the 24-hour clock, in quotes, e.g. "14:30"',
    "datetime": "a timestamp is written like 2026-03-14T16:05:00-05:00",
}


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def rule_of(keyword: str) -> str:
    """The rule code for a JSON Schema keyword: schema/<keyword in kebab case>, or
    schema/invalid for a keyword the registry does not list (codes are only registered ones)."""
    rule = f"schema/{_kebab(keyword)}"
    return rule if is_registered(rule) else "schema/invalid"


def _found(value: Any) -> str:
    if value is None:
        return "nothing (the value is empty)"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict):
        return "a mapping of fields"
    return "a list"


def _short(value: Any) -> str:
    """The value as quoted back to whoever just typed it (interactive prompts, --email)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and len(value) <= 40 and value.isprintable():
        return repr(value)
    return "the value"


def _suggest(word: Any, options: Any) -> str:
    """A close allowed term; it quotes the vocabulary, never what was written."""
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, [str(o) for o in options], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def explain(rel: str, error: Any, show_values: bool = False) -> Iterator[Finding]:
    """Findings for one jsonschema ValidationError (one error may name several fields).
    The value is never quoted, unless `show_values` (a prompt answering its own typist)."""
    path = tuple(error.absolute_path)
    keyword = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    value = error.instance
    rule = rule_of(str(keyword))

    if keyword == "required":
        present = value if isinstance(value, dict) else {}
        for name in error.validator_value:
            if name not in present:
                where = ".".join(str(p) for p in (*path, name))
                yield Finding(
                    rel, (*path, name), rule, "error", f"missing required field '{where}'"
                )
        return
    if keyword == "additionalProperties":
        known = list(schema.get("properties", {}))
        for name in value:
            if name not in known:
                hint = _suggest(name, known) or (
                    f"; fields here are: {', '.join(known)}" if len(known) <= 8 else ""
                )
                yield Finding(
                    rel, (*path, name), rule, "error", f"unknown field '{name}'{hint}", at_key=True
                )
        return
    subject = _short(value) if show_values else "the value"
    yield Finding(rel, path, rule, "error", _message(keyword, schema, value, error, subject))


def _message(keyword: str, schema: dict[str, Any], value: Any, error: Any, subject: str) -> str:
    """What is wrong, in words; `subject` stands for the value ("the value" in records)."""
    title = schema.get("title", "")
    if keyword == "enum":
        options = schema.get("enum", [])
        what = f"a known {title.replace('_', ' ')}" if title else "one of the allowed values"
        listing = f" ({', '.join(map(str, options))})" if len(options) <= 8 else ""
        return f"{subject} is not {what}{listing}{_suggest(value, options)}"
    if keyword == "type":
        expected = error.validator_value
        names = [
            _TYPE_NAMES.get(str(t), str(t))
            for t in (expected if isinstance(expected, list) else [expected])
        ]
        hint = " (put it in quotes)" if "text" in names and isinstance(value, (int, float)) else ""
        return f"expected {' or '.join(names)}, found {_found(value)}{hint}"
    if keyword == "format":
        form = {
            "date": "a date written YYYY-MM-DD",
            "date-time": _FORMS["datetime"],
            "email": "an email address",
        }
        wanted = form.get(error.validator_value, f"in the {error.validator_value} format")
        return f"{subject} is not {wanted}"
    if keyword == "pattern":
        expected = _FORMS.get(title, schema.get("description", "see the schema"))
        return f"{subject} does not have the expected form: {expected}"
    limit = _limit(keyword, error.validator_value, subject)
    if limit is not None:
        return limit
    # jsonschema's own wording quotes the value: say only that the schema refuses it.
    return f"{subject} is refused by the schema ({keyword})"


def _limit(keyword: str, bound: Any, subject: str) -> str | None:
    """A limit the value breaks (size, count, range, a fixed value) in words; None for
    other keywords."""
    if keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        words = {
            "minimum": "is below the minimum of",
            "maximum": "is above the maximum of",
            "exclusiveMinimum": "must be more than",
            "exclusiveMaximum": "must be less than",
        }
        return f"{subject} {words[keyword]} {bound}"
    if keyword == "minLength":
        return "must not be empty" if bound == 1 else f"must be at least {bound} characters"
    if keyword == "maxLength":
        return f"is longer than {bound} characters"
    if keyword == "minItems":
        plural = "s" if bound != 1 else ""
        return f"needs at least {bound} item{plural}"
    if keyword == "maxItems":
        return f"has more than {bound} items"
    if keyword == "const":
        return f"must be {bound!r}"
    if keyword == "uniqueItems":
        return "lists the same item twice"
    return None
