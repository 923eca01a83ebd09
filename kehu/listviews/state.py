"""The state of a list page (search, filters, sort, columns, saved view) read from and written to URLs.

A list is linkable: ``?view=<id>`` opens a saved view, ``?f=<base64 spec>`` / ``?sort=`` / ``?cols=``
override its parts, ``?q=`` searches. ``ListState.apply`` turns the state into the records shown.
"""

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from kehu.core.errors import FieldError, NotFound, ValidationFailed
from kehu.customfields.queries import readable
from kehu.customfields.web import columns_session_key
from kehu.workspaces.access import Actor

from .filters import available_fields, compile_filters, decode_spec, empty_spec, encode_spec, is_empty
from .models import SavedView
from .registry import Column, ListConfig

MAX_COLUMNS = 20


@dataclass
class ListState:
    config: ListConfig
    actor: Actor
    q: str = ""
    view: SavedView | None = None
    filters: dict = field(default_factory=empty_spec)
    ordering: str = ""
    columns: list[str] = field(default_factory=list)
    errors: list[FieldError] = field(default_factory=list)
    # What the URL itself set (beyond the view): kept in links so the state survives paging.
    explicit: dict[str, str] = field(default_factory=dict)

    # --- derived --------------------------------------------------------------------------------

    @property
    def sort_field(self) -> str:
        """The ORM ordering of the sort key (``-name`` → ``-name_pinyin``)."""
        key = self.ordering or self.config.default_ordering
        desc, name = key.startswith("-"), key.lstrip("-")
        field_name = self.config.orderings.get(name) or self.config.default_ordering.lstrip("-")
        return ("-" if desc else "") + field_name

    def visible_columns(self) -> list[Column]:
        by_key = all_columns(self.actor, self.config)
        return [by_key[k] for k in self.columns if k in by_key]

    def custom_columns(self) -> list:
        """The custom field definitions among the visible columns (the customfields tags' input)."""
        defs = {f"custom.{d.key}": d for d in readable(self.actor, self.config.object_type)}
        return [defs[k] for k in self.columns if k in defs]

    @property
    def condition_count(self) -> int:
        def count(node: Any) -> int:
            if not isinstance(node, dict):
                return 0
            return 1 if "field" in node else sum(count(c) for c in node.get("conditions", []))

        return count(self.filters)

    def params(self, **overrides: Any) -> dict[str, str]:
        """The URL parameters of this state (``None`` in overrides drops one)."""
        params: dict[str, str] = {}
        if self.view is not None:
            params["view"] = str(self.view.pk)
        if self.q:
            params["q"] = self.q
        params.update(self.explicit)
        for key, value in overrides.items():
            if value is None:
                params.pop(key, None)
            else:
                params[key] = str(value)
        return params

    def query(self, **overrides: Any) -> str:
        """``?…`` of this state; the list's links and forms start from it."""
        params = self.params(**overrides)
        return "?" + urlencode(params) if params else "?"

    def sort_query(self, column: Column) -> str:
        """The link of a sortable header: ascending first, then descending."""
        key = next((k for k, f in self.config.orderings.items() if f == column.sort.lstrip("-")), "")
        current = self.ordering or self.config.default_ordering
        target = f"-{key}" if current == key else key
        return self.query(sort=target, cursor=None)

    def sorted_by(self, column: Column) -> str:
        """ "asc", "desc" or "" for a header."""
        if not column.sort:
            return ""
        sort = self.sort_field
        if sort.lstrip("-") != column.sort:
            return ""
        return "desc" if sort.startswith("-") else "asc"

    def as_params(self) -> dict:
        """The state as JSON (background jobs rebuild the same records from it)."""
        return {"q": self.q, "filters": self.filters, "ordering": self.ordering, "columns": self.columns}

    # --- records --------------------------------------------------------------------------------

    def apply(self, queryset: QuerySet | None = None) -> QuerySet:
        """The records of the state (search, visibility and filters; sorted by the caller)."""
        records = self.config.queryset(self.actor, self.q) if queryset is None else queryset
        condition = compile_filters(self.actor, self.config, self.filters)
        return records.filter(condition) if condition else records


def all_columns(actor: Actor, config: ListConfig) -> dict[str, Column]:
    """Standard columns, then one per custom field the actor may read."""
    from kehu.customfields.queries import display_value

    columns = {c.key: c for c in config.columns}
    for definition in readable(actor, config.object_type):
        key = f"custom.{definition.key}"

        def value(record, d=definition):
            return display_value(d, (getattr(record, "custom", None) or {}).get(d.key))

        def html(record, context, d=definition):
            from django.utils.html import format_html

            shown = display_value(d, (record.custom or {}).get(d.key), users=context.get("users"))
            return format_html("{}", shown or "—")

        columns[key] = Column(key, definition.label, value, html)
    return columns


def clean_columns(actor: Actor, config: ListConfig, keys: list[str], *, prefix: str = "columns") -> list[str]:
    """Known, unique column keys in the given order (at most ``MAX_COLUMNS``)."""
    known = all_columns(actor, config)
    out: list[str] = []
    for i, key in enumerate(keys):
        if key not in known:
            raise ValidationFailed([FieldError(f"{prefix}.{i}", _("Unknown column."), "unknown")])
        if key not in out:
            out.append(key)
    if len(out) > MAX_COLUMNS:
        raise ValidationFailed([FieldError(prefix, _("At most %d columns.") % MAX_COLUMNS, "too_many")])
    return out


def clean_ordering(config: ListConfig, ordering: str, *, prefix: str = "ordering") -> str:
    if ordering and ordering.lstrip("-") not in config.orderings:
        raise ValidationFailed(
            [FieldError(prefix, _("Sort by one of: %s.") % ", ".join(config.orderings), "invalid_choice")]
        )
    return ordering


def default_columns(request, config: ListConfig) -> list[str]:
    """The list's standard columns plus the custom columns the user chose before (kept in the
    session by the custom fields' column picker)."""
    custom = [f"custom.{k}" for k in request.session.get(columns_session_key(config.object_type), [])]
    return list(config.default_columns) + custom


def visible_views(actor: Actor, object_type: str) -> QuerySet[SavedView]:
    from django.db.models import Q

    return SavedView.objects.filter(object_type=object_type).filter(
        Q(owner_id=actor.user.pk) | Q(shared=SavedView.Sharing.WORKSPACE)
    )


def default_view(actor: Actor, object_type: str) -> SavedView | None:
    """The user's own default view, else the workspace's shared default."""
    views = [v for v in visible_views(actor, object_type).filter(is_default=True)]
    mine = [v for v in views if v.owner_id == actor.user.pk and v.shared == SavedView.Sharing.PERSONAL]
    return (mine or views or [None])[0]


def state_from_request(request, config: ListConfig) -> ListState:
    """Read the list state of a request (bad parts are dropped and listed in ``state.errors``)."""
    actor = request.actor
    get = request.GET
    state = ListState(config, actor, q=get.get("q", "").strip()[:200])
    view_id = get.get("view", "")
    if view_id:
        try:
            state.view = visible_views(actor, config.object_type).get(pk=int(view_id))
        except (SavedView.DoesNotExist, ValueError):
            raise NotFound() from None
    elif "all" in get:
        state.explicit["all"] = "1"  # the "All" tab: no default view, also on the next pages
    elif not any(k in get for k in ("f", "sort", "cols")):
        state.view = default_view(actor, config.object_type)
    if state.view is not None:
        state.filters = state.view.filters or empty_spec()
        state.ordering = state.view.ordering
        state.columns = list(state.view.columns)
    if "f" in get:
        state.explicit["f"] = get["f"]
        try:
            state.filters = decode_spec(get["f"]) if get["f"] else empty_spec()
        except ValidationFailed as failed:
            state.errors += failed.details
            state.filters = empty_spec()
    if get.get("sort"):
        try:
            state.ordering = clean_ordering(config, get["sort"], prefix="sort")
            state.explicit["sort"] = state.ordering
        except ValidationFailed as failed:
            state.errors += failed.details
    if "cols" in get:
        # Columns this member may not read (a hidden custom field in a shared link) are left out.
        known = all_columns(actor, config)
        state.columns = list(dict.fromkeys(c for c in get["cols"].split(",") if c in known))[:MAX_COLUMNS]
        state.explicit["cols"] = ",".join(state.columns)
    if not state.columns:
        known = all_columns(actor, config)
        state.columns = [c for c in default_columns(request, config) if c in known]
    if not is_empty(state.filters):
        try:
            compile_filters(actor, config, state.filters)
        except ValidationFailed as failed:
            state.errors += failed.details
            state.filters = empty_spec()
    return state


def with_filters(state: ListState, spec: dict) -> str:
    """The URL query of ``state`` with other filters (empty filters keep ``f=`` so the view's are off)."""
    return state.query(f=encode_spec(spec) if not is_empty(spec) else "", cursor=None)


__all__ = ["ListState", "available_fields", "state_from_request", "with_filters"]
