"""Template tags for custom fields: the record page's card, list cells and filter/column controls."""

from django import template
from django.utils.html import format_html, format_html_join

from kehu.customfields.queries import display_value
from kehu.customfields.web import card_rows

register = template.Library()


@register.inclusion_tag("customfields/_card.html", takes_context=True)
def custom_fields_card(context, record):
    """The "Custom fields" card of a record page (nothing when the type has no visible fields)."""
    actor = context.get("actor")
    return {"rows": card_rows(actor, record) if actor else [], "record": record}


@register.simple_tag
def custom_cells(record, columns, users=None):
    """One ``<td>`` per chosen custom column of a list row."""
    values = getattr(record, "custom", None) or {}
    return format_html_join(
        "",
        "<td>{}</td>",
        ((display_value(d, values.get(d.key), users=users) or "—",) for d in columns),
    )


@register.simple_tag
def custom_headers(columns):
    return format_html_join("", "<th>{}</th>", ((d.label,) for d in columns))


@register.inclusion_tag("customfields/_list_controls.html", takes_context=True)
def custom_list_controls(context):
    """The filter row (field, operator, value) and the column picker of a record list."""
    return {
        "defs": context.get("custom_defs") or [],
        "columns": context.get("custom_columns") or [],
        "state": context.get("custom_filter"),
        "operators": context.get("custom_operators") or [],
        "query": context.get("query", ""),
        "request": context.get("request"),
    }


@register.filter
def custom_display(value, definition):
    return display_value(definition, value)


__all__ = ["format_html"]
