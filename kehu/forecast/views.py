"""The sales dashboard (``/sales/``) and the quota grid (``/sales/targets/``).

The dashboard runs the same queries as the API (a fixed number of aggregates, whatever the data
size) and draws the charts as inline SVG from ``charts.py`` geometry.
"""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from kehu.commerce.templatetags.kehu_commerce import money
from kehu.core.errors import DomainError, ValidationFailed
from kehu.deals.models import Opportunity, Pipeline
from kehu.leads.models import Lead
from kehu.workspaces.access import Actor, require, visible
from kehu.workspaces.models import Membership, Team
from kehu.workspaces.views import member_required, show_domain_error

from . import charts, queries, services
from .models import SalesTarget
from .periods import Period, current, parse_period, quarter


def _int(value) -> int | None:
    return int(value) if value and str(value).isdigit() else None


def _pct(value) -> str:
    return "—" if value is None else f"{value}%"


def _days(value) -> str:
    return "—" if value is None else _("%(days)s days") % {"days": value}


def _people(actor: Actor) -> list[Membership]:
    """The members whose numbers (or quotas) the actor may look at: all, their teams', or themselves."""
    qs = (
        Membership.objects.filter(is_active=True).select_related("user").order_by("user__name", "user__email")
    )
    scope = actor.grant(Opportunity.object_type).scope
    if scope == "all":
        return list(qs)
    if scope == "team":
        return list(qs.filter(user_id__in=[actor.user.pk, *actor.teammate_ids]))
    return list(qs.filter(user_id=actor.user.pk))


def _teams(actor: Actor) -> list[Team]:
    qs = Team.objects.order_by("name")
    if actor.grant(Opportunity.object_type).scope == "all":
        return list(qs)
    return list(qs.filter(pk__in=actor.team_ids))


def _period_choices(actor: Actor, chosen: Period) -> dict:
    now = current(actor.workspace)
    quarters = [now.shifted(step) for step in range(-5, 3)]
    if chosen.kind == "quarter" and chosen not in quarters:
        quarters.append(chosen)
    year = chosen.start.year
    months = quarter(year, 1).months() + quarter(year, 2).months() + quarter(year, 3).months()
    months += quarter(year, 4).months()
    return {"quarters": quarters, "months": months}


def _dashboard_params(request) -> dict:
    """Period, owner/team filters and pipeline of the dashboard and its panels (from the query)."""
    actor = request.actor
    require(actor, "view", Opportunity.object_type)
    workspace = actor.workspace
    try:
        period = parse_period(request.GET.get("period"), workspace)
    except ValidationFailed as error:
        show_domain_error(request, error)
        period = current(workspace)
    owner_id, team_id = _int(request.GET.get("owner")), _int(request.GET.get("team"))
    pipelines = list(Pipeline.objects.filter(active=True).order_by("-is_default", "position", "id"))
    chosen_pipeline = _int(request.GET.get("pipeline"))
    pipeline = next((p for p in pipelines if p.pk == chosen_pipeline), pipelines[0] if pipelines else None)
    return {
        "actor": actor,
        "period": period,
        "filters": {"owner_id": owner_id, "team_id": team_id},
        "pipelines": pipelines,
        "pipeline": pipeline,
        "currency": workspace.base_currency,
    }


@member_required
def dashboard(request):
    """KPI tiles, the forecast and the owner/team tables (two reports); the other charts are panels
    the page loads on its own (htmx, ``hx-trigger="load"``), one report per request, so the first
    paint does not wait for every report."""
    params = _dashboard_params(request)
    actor, period, filters = params["actor"], params["period"], params["filters"]
    owner_id, team_id = filters["owner_id"], filters["team_id"]
    currency = params["currency"]

    result = queries.forecast(actor, period, **filters)
    total = result.total
    win = queries.win_stats(actor, period, **filters)

    def m(value) -> str:
        return money(value, currency)

    kpis = [
        ("kpi-won", _("Closed won"), m(total.won_amount), _("%(n)s deals") % {"n": total.won_count}),
        (
            "kpi-attainment",
            _("Quota attainment"),
            _pct(total.attainment),
            _("of %(quota)s") % {"quota": m(total.quota)} if total.quota is not None else _("No quota set"),
        ),
        (
            "kpi-pipeline",
            _("Pipeline"),
            m(total.pipeline_amount),
            _("%(n)s open deals") % {"n": total.open_count},
        ),
        ("kpi-weighted", _("Weighted"), m(total.weighted_amount), _("amount × probability")),
        (
            "kpi-commit",
            _("Commit"),
            m(total.commit),
            _("best case %(amount)s") % {"amount": m(total.best_case)},
        ),
        ("kpi-win-rate", _("Win rate"), _pct(win["win_rate"]), _("%(won)s won of %(closed)s closed") % win),
        (
            "kpi-deal-size",
            _("Average deal size"),
            m(win["average_deal_size"]) if win["average_deal_size"] is not None else "—",
            _("won deals"),
        ),
        (
            "kpi-cycle",
            _("Sales cycle (median)"),
            _days(win["cycle_median_days"]),
            _("mean %(days)s") % {"days": _days(win["cycle_mean_days"])},
        ),
    ]
    quota_text = _("Quota %(amount)s") % {"amount": m(total.quota)} if total.quota is not None else ""
    forecast_chart = charts.stack(
        [
            (_("Closed won"), total.won_amount, m(total.won_amount), "seg-won"),
            (_("Commit"), total.commit, m(total.commit), "seg-commit"),
            (_("Best case"), total.best_case, m(total.best_case), "seg-best"),
            (_("Pipeline"), total.pipeline, m(total.pipeline), "seg-pipeline"),
        ],
        total.quota,
        quota_text,
    )
    owners_chart = charts.bars(
        [
            (
                line.name,
                line.won_amount,
                f"{m(line.won_amount)} · {_pct(line.attainment)}"
                if line.quota is not None
                else m(line.won_amount),
                "bar-won",
                line.quota,
            )
            for line in result.owners[:15]
        ]
    )

    def link(target: Period) -> str:
        params = {k: v for k, v in request.GET.items() if k != "period" and v}
        return f"{reverse('forecast:dashboard')}?{urlencode({**params, 'period': target.key})}"

    # What the panels are asked for: the page's own choices, normalized.
    panel_query = {
        "period": period.key,
        "owner": owner_id or "",
        "team": team_id or "",
        "pipeline": params["pipeline"].pk if params["pipeline"] else "",
    }
    context = {
        "period": period,
        "previous_url": link(period.shifted(-1)),
        "next_url": link(period.shifted(1)),
        "choices": _period_choices(actor, period),
        "owner_id": owner_id,
        "team_id": team_id,
        "people": _people(actor) if actor.grant(Opportunity.object_type).scope != "own" else [],
        "teams": _teams(actor),
        "pipelines": params["pipelines"],
        "pipeline": params["pipeline"],
        "currency": currency,
        "forecast": result,
        "win": win,
        "kpis": kpis,
        "forecast_chart": forecast_chart,
        "owners_chart": owners_chart if result.owners else None,
        "panels": PANELS,
        "panel_query": urlencode({k: v for k, v in panel_query.items() if v != ""}),
        "can_set_targets": services.can_set_targets(actor),
        "filtered": bool(owner_id or team_id or request.GET.get("period")),
    }
    return render(request, "forecast/dashboard.html", context)


def _funnel_panel(params: dict) -> dict:
    actor = params["actor"]
    if not actor.can("view", Lead.object_type):
        return {"funnel": None, "funnel_chart": None}
    funnel = queries.funnel(actor, params["period"], **params["filters"])
    chart = charts.bars(
        [
            (
                s["label"],
                s["count"],
                f"{s['count']}" + (f" · {_pct(s['rate'])}" if s["rate"] is not None else ""),
            )
            for s in funnel["steps"]
        ]
    )
    return {"funnel": funnel, "funnel_chart": chart}


def _stages_panel(params: dict) -> dict:
    pipeline = params["pipeline"]
    stages = (
        queries.stage_report(params["actor"], pipeline, params["period"], **params["filters"])
        if pipeline
        else None
    )
    stage_rows = [r for r in stages["stages"] if not r["is_lost"]] if stages else []
    stage_chart = (
        charts.bars(
            [
                (
                    r["name"],
                    r["reached"],
                    f"{r['reached']}" + (f" · → {_pct(r['to_next'])}" if r["to_next"] is not None else ""),
                )
                for r in stage_rows
            ]
        )
        if stage_rows
        else None
    )
    time_rows = [r for r in stage_rows if not r["is_won"]]
    time_chart = (
        charts.bars([(r["name"], r["avg_days_in_stage"], _days(r["avg_days_in_stage"])) for r in time_rows])
        if any(r["stays"] for r in time_rows)
        else None
    )
    return {"stages": stages, "pipeline": pipeline, "stage_chart": stage_chart, "time_chart": time_chart}


def _lost_panel(params: dict) -> dict:
    lost = queries.lost_reasons(params["actor"], params["period"], **params["filters"])
    chart = (
        charts.bars(
            [
                (r["reason"], r["count"], f"{r['count']} · {_pct(r['share'])}", "bar-lost")
                for r in lost["reasons"][:10]
            ]
        )
        if lost["reasons"]
        else None
    )
    return {"lost": lost, "lost_chart": chart}


# Panel name → (what it computes: one report, its template). The page lists them in this order.
PANELS = {
    "funnel": (_funnel_panel, "forecast/_panel_funnel.html"),
    "stages": (_stages_panel, "forecast/_panel_stages.html"),
    "lost": (_lost_panel, "forecast/_panel_lost.html"),
}


@member_required
def dashboard_panel(request, name: str):
    """One chart panel of the dashboard (an HTML fragment), under the page's period and filters."""
    if name not in PANELS:
        raise Http404
    params = _dashboard_params(request)
    compute, template = PANELS[name]
    return render(request, template, {**compute(params), "currency": params["currency"]})


# --- quota grid ------------------------------------------------------------------------------------


def _grid_quarter(request, actor: Actor) -> Period:
    try:
        chosen = parse_period(request.GET.get("quarter") or request.POST.get("quarter"), actor.workspace)
    except ValidationFailed:
        chosen = current(actor.workspace)
    return quarter(chosen.start.year, (chosen.start.month - 1) // 3 + 1)


@member_required
def targets(request):
    """Quotas of a quarter as a grid: people and teams × the three months and the quarter itself."""
    actor = request.actor
    if not services.can_set_targets(actor):
        raise Http404
    period = _grid_quarter(request, actor)
    columns = [*period.months(), period]
    people = [m.user for m in _people(actor)] if actor.grant(SalesTarget.object_type).scope != "own" else []
    teams = _teams(actor)
    stored = {
        (
            (t.owner_id and f"u{t.owner_id}") or f"t{t.team_id}",
            Period(t.period, t.start_date, t.end_date).key,
        ): t
        for t in visible(
            actor, SalesTarget.objects.filter(start_date__gte=period.start, end_date__lte=period.end)
        )
    }
    subjects = [(f"u{u.pk}", str(u), {"owner_id": u.pk}) for u in people]
    subjects += [(f"t{t.pk}", t.name, {"team_id": t.pk}) for t in teams]
    submitted = request.POST if request.method == "POST" else None
    if submitted is not None:
        items = []
        for key, _label, subject in subjects:
            for column in columns:
                raw = (submitted.get(f"{key}_{column.key}") or "").strip().replace(",", "")
                existing = stored.get((key, column.key))
                if raw == "" and existing is None:
                    continue
                if existing is not None and raw and raw == f"{existing.amount}":
                    continue
                items.append({**subject, "period": column.key, "amount": raw or None})
        try:
            counts = services.set_targets(actor, items)
        except DomainError as error:
            show_domain_error(request, error)
        else:
            messages.success(
                request,
                _("Targets saved: %(created)s added, %(updated)s changed, %(deleted)s removed.") % counts,
            )
            return redirect(f"{reverse('forecast:targets')}?{urlencode({'quarter': period.key})}")
    rows = []
    for key, label, _subject in subjects:
        targets_of = [stored[(key, c.key)] for c in columns if (key, c.key) in stored]
        cells = []
        for column in columns:
            name = f"{key}_{column.key}"
            if submitted is not None:
                value = submitted.get(name, "")
            else:
                target = stored.get((key, column.key))
                value = f"{target.amount}" if target else ""
            cells.append({"name": name, "value": value, "label": f"{label} · {column.label}"})
        rows.append(
            {"key": key, "label": label, "cells": cells, "quota": queries.resolve_quota(targets_of, period)}
        )
    context = {
        "period": period,
        "columns": columns,
        "rows": rows,
        "team_start": len(people),
        "currency": actor.workspace.base_currency,
        "previous_url": f"{reverse('forecast:targets')}?{urlencode({'quarter': period.shifted(-1).key})}",
        "next_url": f"{reverse('forecast:targets')}?{urlencode({'quarter': period.shifted(1).key})}",
    }
    return render(request, "forecast/targets.html", context)
