"""The filter builder's HTML form <-> filter spec.

Form protocol (plain GET form, htmx only adds and swaps rows): the root group has the path ``r``,
children append ``-<n>`` (``r-3``, ``r-3-7``); a group posts ``g.<path>.op``, a condition
``c.<path>.field``, ``c.<path>.lookup``, ``c.<path>.value`` (and ``c.<path>.value2`` for
"between"). Sibling order is the numeric order of ``n``.
"""

import time
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _

from .filters import LOOKUP_LABELS, MAX_DEPTH, RELATIVE_PERIODS, empty_spec
from .registry import ListField

INPUT_TYPES = {"number": "number", "date": "date", "datetime": "datetime-local", "relation": "number"}


def new_path(parent: str) -> str:
    """A child path that sorts after its existing siblings (rows keep the order they were added in):
    rendered rows are numbered 0, 1, 2 …, added ones by the clock in milliseconds."""
    return f"{parent}-{time.time_ns() // 1_000_000 % 10**10}"


def depth_of(path: str) -> int:
    return path.count("-") + 1


def _key(path: str) -> tuple:
    return tuple(int(p) for p in path.split("-")[1:] if p.isdigit())


def spec_from_form(data) -> dict:
    """The spec a submitted builder form describes (conditions without a field are dropped)."""
    nodes: dict[str, dict] = {"r": {"op": data.get("g.r.op", "and"), "conditions": []}}
    paths = set()
    for name in data:
        kind, _dot, rest = name.partition(".")
        path = rest.rpartition(".")[0]
        if kind in {"g", "c"} and path.startswith("r-") and all(p.isdigit() for p in path.split("-")[1:]):
            paths.add((kind, path))
    for kind, path in sorted(paths, key=lambda item: (depth_of(item[1]), _key(item[1]))):
        if kind == "g":
            nodes[path] = {"op": data.get(f"g.{path}.op", "and"), "conditions": [], "_path": path}
        else:
            fname = data.get(f"c.{path}.field", "")
            if not fname:
                continue
            lookup = data.get(f"c.{path}.lookup", "")
            value: Any = data.get(f"c.{path}.value", "")
            if lookup == "between":
                value = [value, data.get(f"c.{path}.value2", "")]
            elif lookup == "in":
                value = [v.strip() for v in str(value).split(",") if v.strip()]
            nodes[path] = {"field": fname, "lookup": lookup, "value": value, "_path": path}
    # Attach children in order; a node whose parent is missing is dropped.
    for path in sorted((p for p in nodes if p != "r"), key=lambda p: (depth_of(p), _key(p))):
        parent = path.rpartition("-")[0]
        if parent in nodes:
            nodes[parent]["conditions"].append(nodes[path])

    def clean(node: dict) -> dict:
        node.pop("_path", None)
        if "conditions" in node:
            node["conditions"] = [clean(c) for c in node["conditions"] if "field" in c or c["conditions"]]
        return node

    spec = clean(nodes["r"])
    return spec if spec["conditions"] else empty_spec()


@dataclass
class Node:
    """One row of the rendered builder (a group or a condition) with everything its inputs need."""

    path: str
    is_group: bool
    op: str = "and"
    children: list["Node"] = field(default_factory=list)
    field_name: str = ""
    field: ListField | None = None
    lookup: str = ""
    value: Any = ""
    value2: Any = ""

    @property
    def depth(self) -> int:
        return depth_of(self.path)

    @property
    def can_nest(self) -> bool:
        return self.depth < MAX_DEPTH

    @property
    def lookups(self) -> list[tuple[str, Any]]:
        return [(lk, LOOKUP_LABELS[lk]) for lk in (self.field.lookups if self.field else ())]

    @property
    def widget(self) -> str:
        """How the value is asked: none, select, yesno, period, two, or an <input> type."""
        if self.field is None:
            return "none"
        kind, lookup = self.field.type, self.lookup
        if lookup == "isnull" or kind == "bool":
            return "yesno"
        if lookup == "relative":
            return "period"
        if lookup == "between":
            return "two"
        if lookup == "in":
            return "text"
        if kind in {"choice", "multichoice"} and self.field.choices:
            return "select"
        if kind == "user":
            return "user"
        return INPUT_TYPES.get(kind, "text")

    @property
    def input_type(self) -> str:
        return INPUT_TYPES.get(self.field.type, "text") if self.field else "text"

    @property
    def periods(self):
        return list(RELATIVE_PERIODS.items())

    @property
    def shown_value(self) -> str:
        if isinstance(self.value, list):
            return ", ".join(map(str, self.value))
        return "" if self.value is None else str(self.value)


def condition_node(
    path: str, fields: dict[str, ListField], name: str = "", lookup: str = "", value: Any = ""
) -> Node:
    chosen = fields.get(name)
    if chosen is not None and lookup not in chosen.lookups:
        lookup = chosen.lookups[0]
    value2: Any = ""
    if isinstance(value, list) and lookup == "between":
        value, value2 = [*value, "", ""][:2]
    return Node(
        path,
        False,
        field_name=name if chosen else "",
        field=chosen,
        lookup=lookup,
        value=value,
        value2=value2,
    )


def tree(spec: dict | None, fields: dict[str, ListField]) -> Node:
    """The builder rows of a spec (paths numbered in order)."""

    def build(node: dict, path: str) -> Node:
        if "field" in node:
            return condition_node(
                path, fields, node.get("field", ""), node.get("lookup", ""), node.get("value", "")
            )
        group = Node(path, True, op=node.get("op", "and"))
        for i, child in enumerate(node.get("conditions", [])):
            if isinstance(child, dict):
                group.children.append(build(child, f"{path}-{i}"))
        return group

    return build(spec or empty_spec(), "r")


YES_NO = [("true", _("Yes")), ("false", _("No"))]
