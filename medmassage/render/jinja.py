"""The template side of rendering: a sandboxed, strict Jinja environment per output
format; a loader that prefers the store's own templates/ and refuses symlinks and
names that climb out of the folder; text filters; and template errors turned into
one line naming the template, the line and the missing variable, never record data."""

from __future__ import annotations

import functools
import re
import textwrap
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import jinja2
import jinja2.debug  # loaded now, not while a template's exception is being reported
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.nodes import Concat
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from medmassage.errors import TemplateProblem
from medmassage.render.limits import (
    BoundedRange,
    Budget,
    LimitExceeded,
    bounded_output,
    check_arguments,
    check_binop,
    check_format,
    check_result,
    timer,
)
from medmassage.render.templates import (
    STORE_FOLDER,
    Folders,
    Source,
    listing,
    read,
    refusal,
)

# The file side (listing, refusal) lives in render.templates; re-exported with TemplateProblem.
__all__ = [
    "Loader",
    "TemplateProblem",
    "environment",
    "fit",
    "listing",
    "load",
    "refusal",
    "render",
]

WIDTH = 80
_TYPE_REPR = re.compile(r"^[\w.]+ object$")
T = TypeVar("T")


class Loader(jinja2.BaseLoader):
    """The store's templates/<name> when it exists, else the packaged one."""

    def __init__(self, store_root: Path | None) -> None:
        self.places = Folders(store_root)
        self.loaded: dict[str, Source] = {}  # file name Jinja reports -> source

    def find(self, name: str) -> Source | None:
        """The template in effect for `name` (a name that is present, even if it will be
        refused)."""
        return self.places.find(name)

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        """Jinja's loader hook: the source of the template in effect, or a refusal."""
        source = self.find(template)
        if source is None:
            raise jinja2.TemplateNotFound(template)
        text = read(source)
        self.loaded[str(source.path)] = source
        return text, str(source.path), lambda: True

    def list_templates(self) -> list[str]:
        """Jinja's loader hook: every template name found."""
        return self.places.names()


def wrap(text: Any, indent: int = 0, hang: int | None = None, width: int = WIDTH) -> str:
    """Fill text to `width` columns, paragraph by paragraph, with an indent and a hanging indent."""
    first, rest = " " * indent, " " * (indent if hang is None else hang)
    lines: list[str] = []
    for paragraph in str(text).split("\n"):
        filled = textwrap.fill(
            paragraph,
            width,
            initial_indent=first if not lines else rest,
            subsequent_indent=rest,
            break_on_hyphens=False,
        )
        lines.append(filled or first.rstrip())
    return "\n".join(lines)


def field(value: Any, name: str, column: int = 18) -> str:
    """'Name:' padded to `column`, then the value wrapped beside it (for plain-text layouts)."""
    label = f"{name}:" if name.strip() else name
    head = label.ljust(column) if len(label) + 1 <= column else f"{label} "
    body = wrap(value, width=WIDTH - len(head)).split("\n")
    return "\n".join(
        [head + body[0]] + [" " * len(head) + line if line else "" for line in body[1:]]
    )


def oneline(text: Any) -> str:
    """Text on one line (for table cells): runs of whitespace become one space."""
    return " ".join(str(text).split())


_MD_CHARS = re.compile(r"([\\`*_\[\]<>|])")
_MD_MARKER = re.compile(r"^(\s*)([#+-])(?=\s|$)", re.MULTILINE)  # headings and list items
_MD_NUMBERED = re.compile(r"^(\s*\d+)([.)])(?=\s|$)", re.MULTILINE)  # numbered list items
_MD_RULE = re.compile(r"^(\s*)([=-])(?=[=\s-]*$)", re.MULTILINE)  # rules and setext underlines
# Anything any of the patterns above could act on; most record text has none of it.
_MD_MAYBE = re.compile(r"[\\`*_\[\]<>|&]|^\s*[#+=-]|^\s*\d+[.)]", re.MULTILINE)


def md_escape(value: Any) -> Any:
    """Backslash-escape what Markdown would read as markup or raw HTML in record text."""
    if isinstance(value, Markup) or not isinstance(value, str):
        return "" if value is None else value
    return _md_escape_text(value)


@functools.lru_cache(maxsize=4096)  # the same names, labels and codes recur on every note
def _md_escape_text(value: str) -> str:
    if not _MD_MAYBE.search(value):
        return value
    text = _MD_CHARS.sub(r"\\\1", value)
    text = re.sub(r"&(?=#?\w+;)", r"\\&", text)
    text = _MD_MARKER.sub(r"\1\\\2", text)
    text = _MD_RULE.sub(r"\1\\\2", text)
    return _MD_NUMBERED.sub(r"\1\\\2", text)


def _plain(value: Any) -> Any:
    return "" if value is None else value


_DICT_NAMES = frozenset(dir(dict))


class _Generator(CodeGenerator):
    """Jinja's code generator, with the result of `~` checked against the size limit
    (Jinja joins `a ~ b` inline, with no sandbox hook)."""

    def visit_Concat(self, node: Concat, frame: Frame) -> None:
        """`environment.joined(<the join Jinja writes>)`."""
        self.write("environment.joined(")
        super().visit_Concat(node, frame)
        self.write(")")


def _bounded_filter(func: Callable[..., Any], name: str) -> Callable[..., Any]:
    """A filter that refuses numbers and format widths past the limits, and results past
    the size limit (functools.wraps keeps how Jinja passes it the context)."""

    @functools.wraps(func)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        check_arguments(args, kwargs)
        if name == "format" and args and isinstance(args[0], str):
            check_format(args[0])
        return check_result(func(*args, **kwargs))

    return bounded


class Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox, with `record.field` on the plain dicts records are made of answered as
    the item directly. Jinja would first try (and fail) a Python attribute of that name,
    which costs an exception per lookup; names a dict has as attributes (items, keys, ...)
    still go that way, so what a template gets is exactly what Jinja would give it.

    It also keeps a template within render.limits: `*`, `+`, `**` and `%` are checked
    before they are computed, calls and `~` after, range() is bounded and timed."""

    code_generator_class = _Generator
    intercepted_binops = frozenset({"*", "+", "**", "%"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.budget = Budget()
        self.globals["range"] = functools.partial(BoundedRange, self.budget)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """The operator, unless its result would pass the limits (checked beforehand)."""
        check_binop(operator, left, right)
        if operator == "%" and isinstance(left, str):
            check_format(left)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """A call from a template, refused when given a number or format width past the
        limits, and its result checked against the size limit."""
        check_arguments(args, kwargs)
        method = getattr(__obj, "__wrapped__", __obj)  # the sandbox wraps str.format
        if getattr(method, "__name__", "") in ("format", "format_map"):
            owner = getattr(method, "__self__", None)
            if isinstance(owner, str):
                check_format(owner)
        return check_result(super().call(__context, __obj, *args, **kwargs))

    def joined(self, value: Any) -> Any:
        """The result of `a ~ b`, unless it passes the size limit."""
        return check_result(value)

    def getattr(self, obj: Any, attribute: str) -> Any:
        """`obj.attribute` as Jinja answers it, straight from the item for a plain dict."""
        if type(obj) is dict and attribute not in _DICT_NAMES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


def environment(loader: Loader, fmt: str) -> ImmutableSandboxedEnvironment:
    """The sandboxed, strict environment for one output format (HTML autoescaped by name)."""
    env = Sandbox(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        autoescape=lambda name: bool(name and name.endswith(".html.j2")),
        finalize=md_escape if fmt == "md" else _plain,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    env.filters.update(wrap=wrap, oneline=oneline, field=field)
    env.filters = {name: _bounded_filter(f, name) for name, f in env.filters.items()}
    return env


def fit(text: str, fmt: str) -> str:
    """Final tidy: no trailing spaces, one final newline, and for txt no line over 80 columns."""
    lines = [line.rstrip() for line in text.rstrip("\n").split("\n")]
    if fmt == "txt":
        lines = [wrapped for line in lines for wrapped in _fold(line)]
    return "\n".join(lines) + "\n"


def _fold(line: str) -> list[str]:
    if len(line) <= WIDTH:
        return [line]
    indent = len(line) - len(line.lstrip(" "))
    indent = indent if indent < WIDTH // 2 else 0
    return textwrap.wrap(
        line,
        WIDTH,
        initial_indent=" " * indent,
        subsequent_indent=" " * indent,
        break_on_hyphens=False,
        drop_whitespace=True,
    ) or [line[:WIDTH]]


def load(env: ImmutableSandboxedEnvironment, name: str) -> jinja2.Template:
    """Load and compile a template (and what it includes on first use), or a TemplateProblem."""
    return _guarded(env, name, lambda: env.get_template(name))


def render(env: ImmutableSandboxedEnvironment, name: str, context: dict[str, Any]) -> str:
    """Render one template; any failure becomes a TemplateProblem without record data.
    The text is gathered as it comes out, so a template is stopped once it passes the
    size or time limit (render.limits), never after."""

    def run() -> str:
        template = env.get_template(name)
        budget: Budget = getattr(env, "budget", None) or Budget()
        budget.start()
        with timer(budget):
            return bounded_output(template.generate(context), budget)

    return _guarded(env, name, run)


def _guarded(env: ImmutableSandboxedEnvironment, name: str, action: Callable[[], T]) -> T:
    try:
        return action()
    except TemplateProblem:
        raise
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateProblem(
            f"{_describe(env, exc.filename, exc.name or name)}, line {exc.lineno}: {exc.message}"
        ) from None
    except jinja2.TemplateNotFound as exc:
        raise TemplateProblem(
            f"template {exc.name} not found (neither in the store's {STORE_FOLDER}/ nor packaged)"
        ) from None
    except Exception as exc:
        raise TemplateProblem(_runtime_message(env, name, exc)) from None


def _describe(env: jinja2.Environment, filename: str | None, name: str) -> str:
    loader = env.loader
    loaded = loader.loaded if isinstance(loader, Loader) else {}
    source = loaded.get(filename or "") or next(
        (found for found in loaded.values() if found.name == name), None
    )
    return f"template {source.name} ({source.origin})" if source else f"template {name}"


def _runtime_message(env: jinja2.Environment, name: str, exc: Exception) -> str:
    loader = env.loader
    known = loader.loaded if isinstance(loader, Loader) else {}
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename in known]
    where = (
        f"{_describe(env, frames[-1].filename, name)}, line {frames[-1].lineno}"
        if frames
        else _describe(env, None, name)
    )
    text = read(known[frames[-1].filename]) if frames else ""
    if isinstance(exc, jinja2.UndefinedError):
        return f"{where}: undefined variable: {_redact(exc.message or '', text)}"
    if isinstance(exc, LimitExceeded):
        return f"{where}: stopped: {exc}"
    if isinstance(exc, SecurityError):
        return f"{where}: refused by the sandbox: {_redact(str(exc), text)}"
    return (
        f"{where}: {type(exc).__name__} while rendering "
        "(details withheld: they could contain patient data)"
    )


def _redact(message: str, template_text: str) -> str:
    """Keep quoted names only when they come from the template itself, never from records."""

    def keep(match: re.Match[str]) -> str:
        quoted = match.group(1)
        return (
            match.group(0)
            if _TYPE_REPR.match(quoted) or (quoted and quoted in template_text)
            else "'…'"
        )

    return re.sub(r"'([^'\n]{0,80})'", keep, message)
