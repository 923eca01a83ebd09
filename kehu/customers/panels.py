"""The 360° customer view is assembled from panels that any app can contribute.

customers sits below activities, commerce, sales, service and analytics, so it cannot import them.
Instead each of those apps registers a ``Panel`` in its ``AppConfig.ready()``; the account and
contact pages render every registered panel, and ``GET /api/v1/accounts/{id}/360`` returns each
panel's data. A panel sees the record only through the acting user's permissions.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.functional import Promise

from kehu.workspaces.access import Actor


@dataclass(frozen=True)
class Panel:
    """One block of the 360° view.

    ``context(actor, record)`` returns the template context (without it the panel is skipped: return
    None when the actor may see nothing in it); ``data(actor, record)`` returns the JSON-ready dict
    for the API. ``column`` is "main" (wide, left) or "side".
    """

    key: str
    title: Promise | str
    object_types: tuple[str, ...]
    template: str
    context: Callable[[Actor, Any], dict | None]
    data: Callable[[Actor, Any], dict] | None = None
    order: int = 100
    column: str = "main"


PANELS: dict[str, Panel] = {}


def register_panel(panel: Panel) -> None:
    PANELS[panel.key] = panel


def panels_for(object_type: str) -> list[Panel]:
    return sorted((p for p in PANELS.values() if object_type in p.object_types), key=lambda p: p.order)


def render_panels(request: HttpRequest, actor: Actor, record) -> dict[str, list[str]]:
    """The HTML of every panel for ``record``, by column."""
    columns: dict[str, list[str]] = {"main": [], "side": []}
    for panel in panels_for(record.object_type):
        context = panel.context(actor, record)
        if context is None:
            continue
        html = render_to_string(
            panel.template, {"panel": panel, "record": record, "actor": actor, **context}, request
        )
        columns.setdefault(panel.column, []).append(html)
    return columns


def panel_data(actor: Actor, record) -> dict[str, dict]:
    """Each panel's data for the 360° API, keyed by panel key."""
    return {
        panel.key: panel.data(actor, record)
        for panel in panels_for(record.object_type)
        if panel.data is not None
    }


def register_placeholder(key: str, title: Promise | str, message: Promise | str, order: int) -> None:
    """A panel the issue promises before its app exists (tickets, scores): it says what will show there
    and the API marks it ``available: false``. The app that fills it registers a panel under the same
    ``key``, which replaces this one (apps above customers are ready later)."""
    register_panel(
        Panel(
            key=key,
            title=title,
            object_types=("customers.account", "customers.contact"),
            template="customers/panels/placeholder.html",
            context=lambda actor, record: {"message": message},
            data=lambda actor, record: {"available": False, "message": str(message)},
            order=order,
            column="side",
        )
    )
