"""The service dashboard page (/service/) and its panels, each an htmx fragment of its own."""

from datetime import date

from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _

from kehu.core.errors import FieldError, ValidationFailed
from kehu.forecast.charts import bars
from kehu.forecast.periods import parse_range
from kehu.tickets.models import Ticket
from kehu.workspaces.access import require
from kehu.workspaces.views import member_required

from . import dashboard
from .charts import line


def _day(request, name: str) -> date | None:
    text = (request.GET.get(name) or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed([FieldError(name, _("Enter a date as YYYY-MM-DD."), "invalid")]) from None


def scope_of(request) -> dashboard.Scope:
    actor = request.actor
    start, end = _day(request, "from"), _day(request, "to")
    if start is None and end is None:
        period = dashboard.default_period(actor.workspace)
    else:
        period = parse_range(start, end, None, actor.workspace)
    return dashboard.Scope(actor, period)


def _label(choices, key) -> str:
    return str(dict(choices).get(key, key or _("(none)")))


def _open(data: dict) -> dict:
    return {
        "status_chart": bars(
            [(_label(Ticket.Status.choices, r["key"]), r["count"], r["count"]) for r in data["by_status"]]
        ),
        "queue_chart": bars(
            [(r["name"] or _("No queue"), r["count"], r["count"]) for r in data["by_queue"][:10]]
        ),
        "priority_chart": bars(
            [(_label(Ticket.Priority.choices, r["key"]), r["count"], r["count"]) for r in data["by_priority"]]
        ),
    }


def _times(data: dict) -> dict:
    def h(value):
        return "—" if value is None else _("%(h)s h") % {"h": value}

    def pct(value):
        return "—" if value is None else f"{value}%"

    return {
        "within_chart": bars(
            [
                (
                    _("First response within SLA"),
                    data["first_response_within_sla"] or 0,
                    pct(data["first_response_within_sla"]),
                    "bar-ok",
                ),
                (
                    _("Resolution within SLA"),
                    data["resolution_within_sla"] or 0,
                    pct(data["resolution_within_sla"]),
                    "bar-ok",
                ),
                (_("Breach rate"), data["breach_rate"] or 0, pct(data["breach_rate"]), "bar-breach"),
            ],
            scale=100,
        ),
        "h": {k: h(v) for k, v in data.items() if k.endswith("_hours")},
    }


def _backlog(data: dict) -> dict:
    labels = [_("< 1 day"), _("1–3 days"), _("3–7 days"), _("7–30 days"), _("> 30 days")]
    css = ["", "", "bar-warn", "bar-warn", "bar-breach"]
    return {
        "chart": bars([(labels[i], b["count"], b["count"], css[i]) for i, b in enumerate(data["buckets"])])
    }


def _workload(data: dict) -> dict:
    return {
        "chart": bars([(a["name"] or _("Unassigned"), a["open"], a["open"]) for a in data["agents"][:15]])
    }


def _satisfaction(data: dict) -> dict:
    csat = data["csat"]["trend"]
    nps = data["nps"]["trend"]
    return {
        "csat_chart": line([(r["bucket"][5:], r["average"], str(r["average"])) for r in csat], low=1, high=5)
        if csat
        else None,
        "nps_chart": line([(r["bucket"][5:], r["nps"], str(r["nps"])) for r in nps], low=-100, high=100)
        if nps
        else None,
    }


def _complaints(data: dict) -> dict:
    return {
        "chart": bars(
            [(_label(Ticket.RootCause.choices, r["key"]), r["count"], r["count"]) for r in data["by_cause"]]
        ),
        "outcome_chart": bars(
            [(_label(Ticket.Outcome.choices, r["key"]), r["count"], r["count"]) for r in data["by_outcome"]]
        ),
    }


def _bot(data: dict) -> dict:
    return {}


PANELS = {
    "open": (_("Open tickets"), _open),
    "times": (_("Response and resolution times (business hours)"), _times),
    "backlog": (_("Backlog age"), _backlog),
    "workload": (_("Agent workload"), _workload),
    "satisfaction": (_("CSAT and NPS"), _satisfaction),
    "complaints": (_("Complaint causes"), _complaints),
    "bot": (_("Bot deflection"), _bot),
}


@member_required
def dashboard_page(request):
    s = scope_of(request)
    require(request.actor, "view", Ticket.object_type)
    query = f"from={s.period.start.isoformat()}&to={s.period.end.isoformat()}"
    return render(
        request,
        "surveys/dashboard.html",
        {"period": s.period, "panels": list(PANELS), "panel_query": query},
    )


@member_required
def panel(request, name: str):
    if name not in PANELS:
        raise Http404
    s = scope_of(request)
    data = dashboard.PANELS[name](s)
    _title, extra = PANELS[name]
    return render(request, f"surveys/dash/_{name}.html", {"data": data, "name": name, **extra(data)})
