"""What one template may cost: the size of what it builds and writes, and the time it runs.

A store template is code the clinic writes; a careless or hostile one (`'a' * 10**9`, a
loop of loops) must fail in seconds with a message naming the template, not take minutes
and gigabytes in every worker at once. The sandbox (render.jinja) asks this module
before it multiplies, adds, raises to a power, joins text or calls a filter, and the
renderer checks the output's size and the clock as the text comes out; a timer stops a
template that loops without writing anything. Messages name the limit, never a value."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any, overload

# A rendered document (one format) is a few pages; a million characters is hundreds.
MAX_OUTPUT_CHARS = 1_000_000
# Wall-clock seconds one template may run for one document. Tests shorten it with
# $MEDMASSAGE_TEMPLATE_SECONDS rather than waiting.
MAX_SECONDS = 10.0
SECONDS_ENV = "MEDMASSAGE_TEMPLATE_SECONDS"
# Items in a range(); Jinja's own sandbox allows 100,000, more than any document needs.
MAX_RANGE = 10_000
# An integer power is refused when its result would have more bits than this.
MAX_POWER_BITS = 4096
_NUMBER = re.compile(r"\d{7,}")  # a width or precision in a format string worth checking


class LimitExceeded(Exception):
    """A template went past one of the limits above (the message names the limit only)."""


def seconds() -> float:
    """The time limit per document (the environment may shorten it, never remove it)."""
    override = os.environ.get(SECONDS_ENV)
    with contextlib.suppress(ValueError):
        if override and 0 < float(override) < MAX_SECONDS:
            return float(override)
    return MAX_SECONDS


class Budget:
    """The clock of the document being rendered (one per environment, one render at a time)."""

    def __init__(self) -> None:
        self.deadline = float("inf")
        self.limit = MAX_SECONDS
        self.spent = False  # the limit was reported once; the timer must not report it again

    def start(self) -> None:
        """Start the clock for one document."""
        self.limit = seconds()
        self.deadline = time.monotonic() + self.limit
        self.spent = False

    def check(self) -> None:
        """LimitExceeded once the document has run out of time."""
        if time.monotonic() > self.deadline:
            self.spent = True
            raise LimitExceeded(_slow(self.limit))


def _slow(limit: float) -> str:
    return f"it ran longer than {limit:g} s (the limit per document)"


def _big(what: str) -> str:
    return f"{what} would be longer than {MAX_OUTPUT_CHARS} characters (the limit per document)"


def size(value: Any) -> int:
    """The characters (or items) a value holds, shallowly: text and lists of text."""
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, list | tuple):
        return sum(len(item) if isinstance(item, str | bytes) else 1 for item in value)
    return 0


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse `*`, `+` or `**` whose result would pass the limits, before computing it."""
    if operator == "*":
        for items, times in ((left, right), (right, left)):
            repeated = _whole(times) and isinstance(items, str | bytes | list | tuple)
            if repeated and size(items) * max(times, 0) > MAX_OUTPUT_CHARS:
                raise LimitExceeded(_big("a repeated text or list"))
    elif operator == "+":
        if size(left) + size(right) > MAX_OUTPUT_CHARS:
            raise LimitExceeded(_big("a joined text or list"))
    elif operator == "**":
        whole = _whole(left) and _whole(right)
        if whole and right * abs(left).bit_length() > MAX_POWER_BITS and abs(left) > 1:
            raise LimitExceeded(f"a power would have more than {MAX_POWER_BITS} bits (the limit)")


def check_arguments(args: Sequence[Any], kwargs: dict[str, Any]) -> None:
    """Refuse a call or filter given a number past the output limit (a width, a count)
    or a format string asking for such a width."""
    for value in (*args, *kwargs.values()):
        if _whole(value) and abs(value) > MAX_OUTPUT_CHARS:
            raise LimitExceeded(
                f"a number past {MAX_OUTPUT_CHARS} (the size limit) was passed to a call"
            )


def check_format(text: str) -> None:
    """Refuse a format string (`%`, `.format`) with a width or precision past the limit."""
    if any(int(number) > MAX_OUTPUT_CHARS for number in _NUMBER.findall(text)):
        raise LimitExceeded(_big("a formatted text"))


def check_result(value: Any) -> Any:
    """`value`, unless it is text or a list past the output limit."""
    if size(value) > MAX_OUTPUT_CHARS:
        raise LimitExceeded(_big("a text or list built"))
    return value


class BoundedRange(Sequence[int]):
    """range() for templates: at most MAX_RANGE items, and the clock checked per item."""

    def __init__(self, budget: Budget, *args: int) -> None:
        self.items = range(*args)
        if len(self.items) > MAX_RANGE:
            raise LimitExceeded(f"a range of more than {MAX_RANGE} items (the limit)")
        self.budget = budget

    def __len__(self) -> int:
        return len(self.items)

    @overload
    def __getitem__(self, index: int) -> int: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[int]: ...
    def __getitem__(self, index: int | slice) -> int | Sequence[int]:
        return self.items[index]

    def __iter__(self) -> Iterator[int]:
        for item in self.items:
            self.budget.check()
            yield item


def bounded_output(chunks: Iterator[str], budget: Budget) -> str:
    """The rendered text, stopped once it passes MAX_OUTPUT_CHARS or the clock runs out."""
    parts: list[str] = []
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > MAX_OUTPUT_CHARS:
            raise LimitExceeded(_big("the document"))
        budget.check()
        parts.append(chunk)
    return "".join(parts)


@contextlib.contextmanager
def timer(budget: Budget) -> Iterator[None]:
    """Stop a template that computes without writing (a loop of loops) when its time is up:
    a SIGALRM timer where there is one (POSIX, main thread); elsewhere only the checks
    while the text comes out and per range() item apply."""
    if (
        not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        if not budget.spent:  # else Jinja is already reporting the check's exception
            budget.spent = True
            raise LimitExceeded(_slow(budget.limit))

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, budget.limit)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
