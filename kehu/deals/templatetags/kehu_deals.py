from django import template
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

register = template.Library()

BADGES = {"won": "badge-success", "lost": "badge-danger", "open": ""}


@register.filter
def deal_badge(status: str) -> str:
    return BADGES.get(status, "")


@register.filter
def duration_text(seconds) -> str:
    """Seconds as the largest sensible unit: "3 days", "5 hours", "12 minutes" ("—" for none)."""
    if seconds is None:
        return "—"
    seconds = int(seconds)
    days, hours, minutes = seconds // 86400, seconds // 3600, seconds // 60
    if days:
        return ngettext("%(n)s day", "%(n)s days", days) % {"n": days}
    if hours:
        return ngettext("%(n)s hour", "%(n)s hours", hours) % {"n": hours}
    if minutes:
        return ngettext("%(n)s minute", "%(n)s minutes", minutes) % {"n": minutes}
    return _("less than a minute")
