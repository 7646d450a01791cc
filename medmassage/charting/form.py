"""Completing a record from its kind's schema: walk the required fields (and a few
recommended ones) that are still missing and, per field, take a default, ask the
person at the terminal, or leave a placeholder.

Three ways to fill:
- asking (on a terminal): one question per field, each answer checked;
- silent (`--no-input`, scripts): only defaults that are safe to apply unasked;
  missing objects become empty placeholders so validation names every missing field;
- template (`--edit`): every default, and null where the person must write something.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from medmassage.charting.prompts import Asker, Question, ask_field, ask_yes_no, resolve, show
from medmassage.errors import MedmassageError

Path_ = tuple[str | int, ...]
Pattern = tuple[str, ...]  # field names, "*" for any list index
MISSING: Any = object()


@dataclass(frozen=True)
class Default:
    """A value to offer for a field, why it is offered, and whether scripts get it unasked."""

    value: Any
    why: str
    silent: bool = False


@dataclass(frozen=True)
class Reference:
    """A field naming another record: its kind and the ids the store holds."""

    kind: str
    known: tuple[str, ...]


DefaultFor = Callable[[dict[str, Any], Path_], "Default | None"]
ReferenceFor = Callable[[Path_], "Reference | None"]


def label(path: Path_) -> str:
    """`treatment.0.minutes`: the same dotted form `--set` takes."""
    return ".".join(str(part) for part in path)


def matches(pattern: Sequence[str], path: Path_) -> bool:
    """True when `path` fits `pattern` ("*" stands for any list index)."""
    return len(pattern) == len(path) and all(
        (want == "*" and isinstance(part, int)) or want == part
        for want, part in zip(pattern, path, strict=True)
    )


def insert_ordered(node: dict[str, Any], key: str, value: Any, order: Sequence[str]) -> None:
    """Add `key` before the first existing key that the schema lists after it."""
    rank = {name: index for index, name in enumerate(order)}
    mine = rank.get(key, len(order))
    items = list(node.items())
    position = next(
        (i for i, (name, _) in enumerate(items) if rank.get(name, len(order)) > mine), len(items)
    )
    items.insert(position, (key, value))
    node.clear()
    node.update(items)


@dataclass
class Form:
    """Fills one record of a kind in place; `applied` lists the defaults taken unasked."""

    schema: dict[str, Any]
    defaults: DefaultFor
    references: ReferenceFor
    asker: Asker | None = None
    template: bool = False
    recommended: tuple[Pattern, ...] = ()
    skip: tuple[Pattern, ...] = (("id",),)
    applied: list[str] = field(default_factory=list)
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def defs(self) -> dict[str, Any]:
        return self.schema.get("$defs", {})  # type: ignore[no-any-return]

    def fill(self, record: dict[str, Any]) -> dict[str, Any]:
        """Complete `record` in place and return it."""
        self.record = record
        self._object(record, self.schema, ())
        return record

    def _object(self, node: dict[str, Any], schema: dict[str, Any], path: Path_) -> None:
        properties: dict[str, Any] = schema.get("properties", {})
        required = set(schema.get("required", ()))
        for name, sub in properties.items():
            here = (*path, name)
            shape = resolve(sub, self.defs)
            if name in node:
                self._descend(node[name], shape, here)
            elif any(matches(p, here) for p in self.skip):
                continue
            elif name in required or self._recommended(here):
                value = self._obtain(sub, shape, here, name in required)
                if value is not MISSING:
                    insert_ordered(node, name, value, list(properties))

    def _recommended(self, path: Path_) -> bool:
        return any(len(p) >= len(path) and matches(p[: len(path)], path) for p in self.recommended)

    def _descend(self, value: Any, shape: dict[str, Any], path: Path_) -> None:
        if isinstance(value, dict) and shape.get("type") == "object":
            self._object(value, shape, path)
        elif isinstance(value, list) and shape.get("type") == "array":
            item_shape = resolve(shape.get("items", {}), self.defs)
            if item_shape.get("type") == "object":
                for index, item in enumerate(value):
                    if isinstance(item, dict):
                        self._object(item, item_shape, (*path, index))

    def _obtain(
        self, sub: dict[str, Any], shape: dict[str, Any], path: Path_, required: bool
    ) -> Any:
        if shape.get("type") == "object":
            child: dict[str, Any] = {}
            self._object(child, shape, path)
            return child if child or required else MISSING
        if (
            shape.get("type") == "array"
            and resolve(shape.get("items", {}), self.defs).get("type") == "object"
        ):
            return self._list(shape, path, required)
        return self._scalar(sub, path, required)

    def _list(self, shape: dict[str, Any], path: Path_, required: bool) -> Any:
        item_shape = resolve(shape["items"], self.defs)
        carried = self._default(path)
        structure = carried.value if carried is not None and isinstance(carried.value, list) else []
        if self.asker is None:
            return self._list_unasked(item_shape, path, required, structure)
        items: list[dict[str, Any]] = []
        least = max(int(shape.get("minItems", 0)), 1 if required else 0)
        while len(items) < least or ask_yes_no(
            self.asker,
            f"Add {'another' if items else 'an'} item to {label(path)}?",
            len(items) < len(structure),
        ):
            self.asker.say(
                f"-- {label((*path, len(items)))} -- {item_shape.get('description', 'one item')}"
            )
            item: dict[str, Any] = {}
            self._object(item, item_shape, (*path, len(items)))
            items.append(item)
        return items if items or required else MISSING

    def _list_unasked(
        self, item_shape: dict[str, Any], path: Path_, required: bool, structure: list[Any]
    ) -> Any:
        """A template gets the carried-over items; a required list gets one placeholder
        item, so that validation names each of its missing fields."""
        if self.template and structure:
            items = [item for item in copy.deepcopy(structure) if isinstance(item, dict)]
        elif required:
            items = [{}]
        else:
            return MISSING
        for index, item in enumerate(items):
            self._object(item, item_shape, (*path, index))
        return items

    def _scalar(self, sub: dict[str, Any], path: Path_, required: bool) -> Any:
        default = self._default(path)
        if self.asker is None:
            if default is not None and (default.silent or self.template):
                if not self.template:
                    self.applied.append(f"{label(path)}: {show(default.value)} ({default.why})")
                return copy.deepcopy(default.value)
            return None if self.template and required else MISSING
        question = Question(label(path), sub, self.defs, required)
        if default is not None:
            question.default, question.default_why = default.value, default.why
        reference = self.references(path)
        if reference is not None:
            self._check_reference(question, reference)
            if not reference.known:
                return MISSING
        value = ask_field(self.asker, question)
        return MISSING if value is None else value

    def _check_reference(self, question: Question, reference: Reference) -> None:
        known = reference.known
        if not known and question.required:
            raise MedmassageError(
                f"{question.label} names a {reference.kind}, and the store has none yet: "
                f"create one first with `medmassage create {reference.kind}`; nothing was written"
            )
        question.choices = list(known)
        question.check = lambda value: (
            None if value in known else f"there is no {reference.kind} {value!r} in the store"
        )

    def _default(self, path: Path_) -> Default | None:
        found = self.defaults(self.record, path)
        if found is not None:
            return found
        for cut in range(len(path) - 1, 0, -1):  # inherit from a carried-over list, item by item
            index = path[cut]
            if not isinstance(index, int):
                continue
            parent = self.defaults(self.record, path[:cut])
            if parent is None or not isinstance(parent.value, list) or index >= len(parent.value):
                return None
            node: Any = parent.value[index]
            for key in path[cut + 1 :]:
                node = node.get(key) if isinstance(node, dict) else None
            return Default(node, parent.why, parent.silent) if node is not None else None
        return None
