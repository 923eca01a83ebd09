"""What a record list offers: filterable fields, columns, sort keys and bulk actions, per object type.

Apps describe their lists with a ``ListConfig`` and ``register`` it in ``AppConfig.ready()``; the
filter compiler, saved views, exports, bulk actions and the list toolbar then work on it without
knowing the model. Custom fields are added to every list automatically (``custom.<key>``).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.html import format_html

# Field types of the filter builder and the lookups each offers (first = default in the UI).
LOOKUPS: dict[str, tuple[str, ...]] = {
    "text": ("contains", "eq", "ne", "startswith", "in", "isnull"),
    "choice": ("eq", "ne", "in", "isnull"),
    "multichoice": ("eq", "ne", "in", "isnull"),
    "number": ("eq", "ne", "lt", "lte", "gt", "gte", "between", "in", "isnull"),
    "date": ("relative", "eq", "lt", "lte", "gt", "gte", "between", "isnull"),
    "datetime": ("relative", "lt", "lte", "gt", "gte", "between", "isnull"),
    "bool": ("eq",),
    "user": ("eq", "ne", "in", "isnull"),
    "tag": ("has", "hasnot"),
    "relation": ("eq", "ne", "isnull"),
}


@dataclass(frozen=True)
class ListField:
    """A filterable field. ``path`` is the ORM path (default: ``name`` with dots as ``__``).

    ``condition(actor, lookup, value) -> Q`` replaces the generic compilation (tags and the like);
    ``choices`` are (value, label) pairs for choice fields.
    """

    name: str
    label: Promise | str
    type: str
    path: str = ""
    choices: tuple = ()
    condition: Callable[..., Q] | None = None
    nullable: bool = False  # a NULL-able column: "is empty" also matches NULL
    definition: Any = None  # the custom FieldDefinition behind a ``custom.<key>`` field
    only: tuple[str, ...] = ()  # fewer lookups than the type offers (what a ``condition`` can answer)

    @property
    def orm_path(self) -> str:
        return self.path or self.name.replace(".", "__")

    @property
    def lookups(self) -> tuple[str, ...]:
        return self.only or LOOKUPS[self.type]


def _plain_cell(value: Any) -> str:
    return "—" if value in (None, "") else str(value)


def stamp_cell(name: str, with_time: bool = False):
    """``(value, html)`` of a column showing the datetime attribute ``name``: the value as it is (for
    exports), the cell a ``<time>`` of its date (local date and time with ``with_time``), "—" when empty."""

    def value(record):
        return getattr(record, name)

    def html(record, context):
        stamp = getattr(record, name)
        if stamp is None:
            return "—"
        shown = (
            timezone.localtime(stamp).strftime("%Y-%m-%d %H:%M") if with_time else stamp.date().isoformat()
        )
        return format_html('<time datetime="{}">{}</time>', stamp.isoformat(), shown)

    return value, html


@dataclass(frozen=True)
class Column:
    """A list column. ``value(record)`` is the plain value (exports); ``html(record, ctx)`` the cell
    (default: the value, escaped); ``sort`` the ORM field the column sorts by (empty: not sortable)."""

    key: str
    label: Promise | str
    value: Callable[[Any], Any]
    html: Callable[[Any, dict], str] | None = None
    sort: str = ""

    def cell(self, record, context: dict) -> str:
        if self.html is not None:
            return self.html(record, context)
        return format_html("{}", _plain_cell(self.value(record)))


@dataclass(frozen=True)
class BulkAction:
    """A change applied record by record through the app's services.

    ``apply(actor, record, value)`` raises ``DomainError`` to skip a record; ``permission`` is the
    action checked (change / delete); ``value_kind`` is "user", "tag" or "" (no value asked).
    """

    key: str
    label: Promise | str
    permission: str
    apply: Callable[..., Any]
    value_kind: str = ""


@dataclass
class ListConfig:
    object_type: str
    model: type
    label: Promise | str
    list_url_name: str
    queryset: Callable[..., QuerySet]  # (actor, q) -> the records the actor may see, search applied
    fields: list[ListField]
    columns: list[Column]
    default_columns: list[str]
    orderings: dict[str, str]  # sort key shown in URLs -> ORM field
    default_ordering: str = "-created_at"
    bulk_actions: list[BulkAction] = field(default_factory=list)
    detail_url: Callable[[Any], str] | None = None

    def bulk_action(self, key: str) -> BulkAction | None:
        return next((a for a in self.bulk_actions if a.key == key), None)


REGISTRY: dict[str, ListConfig] = {}


def register(config: ListConfig) -> None:
    REGISTRY[config.object_type] = config


def config_for(object_type: str) -> ListConfig | None:
    return REGISTRY.get(object_type)
