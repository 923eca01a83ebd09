"""Template tags of record lists: one cell of a row, dictionary lookups."""

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def list_cell(context, column, record):
    """The cell of ``column`` for ``record`` (the column escapes its own HTML)."""
    return column.cell(record, {"region": context.get("region"), "users": context.get("custom_users")})


@register.filter
def get_item(mapping, key):
    return (mapping or {}).get(key)
