"""What a record app's list view calls: read the state, page the records, build the toolbar context.

    state = list_state(request, "customers.account")
    rows, next_cursor, records = page(state, records_before_filters, cursor)
    context.update(toolbar_context(request, state, next_cursor=next_cursor))

and the templates include ``listviews/_toolbar.html``, ``listviews/_headers.html`` and
``listviews/_rows.html`` (see customers' list templates).
"""

from django.db.models import QuerySet

from kehu.core.api import keyset_page

from . import services
from .builder import YES_NO, tree
from .filters import available_fields, empty_spec, encode_spec, is_empty
from .models import SavedView
from .registry import config_for
from .state import ListState, all_columns, state_from_request

PAGE_SIZE = 50


def list_state(request, object_type: str) -> ListState:
    from django.contrib import messages

    config = config_for(object_type)
    assert config is not None, f"no list registered for {object_type}"
    state = state_from_request(request, config)
    if state.errors:
        messages.error(request, " ".join(f"{e.field}: {e.message}" for e in state.errors))
    return state


def page(state: ListState, records: QuerySet | None, cursor: str | None, limit: int = PAGE_SIZE):
    """One keyset page of the state's records (sorted by its sort key, then id)."""
    return keyset_page(state.apply(records), ordering=state.sort_field, limit=limit, cursor=cursor)


def toolbar_context(request, state: ListState, **extra) -> dict:
    actor = request.actor
    config = state.config
    fields = available_fields(actor, config)
    columns = state.visible_columns()
    known = all_columns(actor, config)
    bulk_actions = [a for a in config.bulk_actions if actor.can(a.permission, config.object_type)]
    needs_members = bool(bulk_actions) or any(f.type == "user" for f in fields.values())
    from .views import member_options

    params = state.params(cursor=None)
    state_query = state.query(cursor=None)
    root = tree(state.filters if not is_empty(state.filters) else empty_spec(), fields)
    if not root.children:
        from .builder import condition_node, new_path

        root.children.append(condition_node(new_path("r"), fields))
    return {
        "list_state": state,
        "list_config": config,
        "list_columns": columns,
        "list_headers": [
            {
                "column": c,
                "link": state.sort_query(c) if c.sort else "",
                "sorted": state.sorted_by(c),
            }
            for c in columns
        ],
        "list_colspan": len(columns) + (1 if bulk_actions else 0),
        "custom_columns": state.custom_columns(),
        "saved_views": services.views_of(actor, config.object_type),
        "view_editable": state.view is not None and services.can_edit_view(actor, state.view),
        "can_share": services.can_share(actor),
        "sharing": SavedView.Sharing.choices,
        "fields": list(fields.values()),
        "builder_root": root,
        "filters_open": request.GET.get("filters") == "open",
        "picker_open": request.GET.get("picker") == "open",
        "yes_no": YES_NO,
        "members": member_options() if needs_members else [],
        "bulk_actions": bulk_actions,
        "state_params": params,
        "state_query": state_query,
        "state_query_bare": state_query.lstrip("?"),
        "state_f": encode_spec(state.filters) if not is_empty(state.filters) else "",
        "clear_filters_query": state.query(f="", cursor=None),
        "column_order": ",".join([c.key for c in columns] + [k for k in known if k not in state.columns]),
        "column_order_shown": ",".join(c.key for c in columns),
        "picker_columns": [{"column": c, "shown": True} for c in columns]
        + [{"column": c, "shown": False} for k, c in known.items() if k not in state.columns],
        **extra,
    }


def cell_context(request, state: ListState) -> dict:
    """What cells need besides their record: the workspace's phone region and, when a user-type
    custom field is shown, member names (one query, only then)."""
    from kehu.customfields.models import FieldType
    from kehu.customfields.web import member_names

    shows_users = any(d.field_type == FieldType.USER for d in state.custom_columns())
    return {"region": request.workspace.default_region, "custom_users": member_names() if shows_users else {}}
