"""Special dashboard tiles the report builder cannot express, from the analytics and predictions apps.

Reports is the top of the business apps, so it reads their results itself (no registry a lower app
would have to call): each tile is ``render(actor, start, end) -> dict`` for its template, or None when
the app that computes it is not installed or has computed nothing yet. Every read is limited to the
accounts the actor may see (``visible``), like the reports.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from importlib import import_module

from django.apps import apps
from django.db.models import Case, Count, IntegerField, Max, Min, Value, When
from django.db.models.functions import TruncMonth
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from kehu.customers.models import Account
from kehu.forecast.charts import treemap
from kehu.forecast.periods import today_in
from kehu.workspaces.access import Actor, visible


@dataclass(frozen=True)
class SpecialTile:
    key: str
    title: Promise | str
    template: str
    render: Callable[[Actor, date | None, date | None], dict | None]


def _model(label: str):
    try:
        return apps.get_model(label)
    except LookupError:
        return None


def _function(module: str, name: str):
    """A query function another app offers, if it is installed and has it."""
    if not apps.is_installed(module.rsplit(".", 1)[0]):
        return None
    try:
        return getattr(import_module(module), name, None)
    except ImportError:
        return None


def _accounts(actor: Actor):
    return visible(actor, Account.objects.all()).values("pk")


def last_twelve_months(workspace) -> tuple[date, date]:
    """A dashboard's range when none is chosen: the first of this month a year ago to today (local)."""
    today = today_in(workspace)
    return date(today.year - 1, today.month, 1), today


def _pct(value) -> str:
    return "—" if value is None else f"{value:.1%}"


def kpis_by_month(actor: Actor, start: date | None, end: date | None) -> dict | None:
    """The analytics app's KPIs per month (``kpis.compute_kpis``, defined in docs/analytics.md) for
    members who see every account — they are workspace totals; for the others, new customers by
    first-order month among the accounts they may see."""
    score = _model("analytics.CustomerScore")
    if score is None:
        return None
    compute = _function("kehu.analytics.kpis", "compute_kpis")
    if start is None or end is None:
        first, today = last_twelve_months(actor.workspace)
        start, end = start or first, end or today
    if compute is not None and actor.grant(Account.object_type).scope == "all":
        rows = [
            {
                "month": r["period"],
                "new_customers": r.get("new_customers"),
                "first_purchase_rate": _pct(r.get("first_purchase_rate")),
                "repeat_purchase_rate": _pct(r.get("repeat_purchase_rate")),
                "churn_rate": _pct(r.get("churn_rate")),
                "won_back": r.get("won_back"),
            }
            for r in compute(actor.workspace, "month", start, end)
        ]
        return {"kpi_rows": rows, "offered": True}
    qs = score.objects.filter(
        account_id__in=_accounts(actor), first_order_date__gte=start, first_order_date__lte=end
    )
    rows = (
        qs.order_by()
        .annotate(month=TruncMonth("first_order_date"))
        .values("month")
        .annotate(new_customers=Count("id"))
        .order_by("month")
    )
    return {"kpi_rows": [{"month": r["month"].strftime("%Y-%m"), **r} for r in rows], "offered": False}


def rfm_grid(actor: Actor, start: date | None, end: date | None) -> dict | None:
    """Accounts per recency (rows, 5 = most recent) × frequency-monetary (columns) score, and per
    named segment (a treemap on the page, a list in emails)."""
    score = _model("analytics.CustomerScore")
    if score is None:
        return None
    cells = (
        score.objects.filter(account_id__in=_accounts(actor), r__isnull=False, fm__isnull=False)
        .order_by()
        .values("r", "fm")
        .annotate(n=Count("id"))
    )
    counts = {(c["r"], c["fm"]): c["n"] for c in cells}
    top = max(counts.values(), default=0) or 1
    grid = [
        (r, [(counts.get((r, fm), 0), min(4, round(counts.get((r, fm), 0) / top * 4))) for fm in range(1, 6)])
        for r in range(5, 0, -1)
    ]
    segments = (
        score.objects.filter(account_id__in=_accounts(actor))
        .exclude(segment="")
        .order_by()
        .values("segment")
        .annotate(n=Count("id"))
        .order_by("-n")
    )
    labels = dict(score._meta.get_field("segment").flatchoices)
    named = [(str(labels.get(s["segment"], s["segment"])), s["n"]) for s in segments]
    return {
        "grid": grid,
        "scored": sum(counts.values()),
        "segments": named,
        # The "segment treemap": one cell per named segment, area = its accounts.
        "segment_chart": treemap([((label,), n, f"{n:,}") for label, n in named]) if named else None,
    }


CLV_BINS = 8


def clv_distribution(actor: Actor, start: date | None, end: date | None) -> dict | None:
    """Accounts per CLV band: equal-width bands between the lowest and highest value, counted by one
    grouped query (not by reading every value into Python: a million rows)."""
    from kehu.forecast.charts import bars

    prediction = _model("predictions.CustomerPrediction")
    if prediction is None:
        return None
    qs = prediction.objects.filter(account_id__in=_accounts(actor), clv__isnull=False)
    span = qs.aggregate(low=Min("clv"), high=Max("clv"))
    if span["low"] is None:
        return {"chart": None}
    low, high = Decimal(span["low"]), Decimal(span["high"])
    width = (high - low) / CLV_BINS or Decimal(1)
    edges = [low + width * i for i in range(1, CLV_BINS)]
    band = Case(
        *[When(clv__lt=edge, then=Value(i)) for i, edge in enumerate(edges)],
        default=Value(CLV_BINS - 1),
        output_field=IntegerField(),
    )
    counts = {
        r["band"]: r["n"] for r in qs.order_by().annotate(band=band).values("band").annotate(n=Count("id"))
    }
    items = []
    for i in range(CLV_BINS):
        a, b = low + width * i, low + width * (i + 1)
        items.append((f"{a:,.0f} – {b:,.0f}", counts.get(i, 0), f"{counts.get(i, 0):,}"))
    return {"chart": bars(items)}


def churn_risks(actor: Actor, start: date | None, end: date | None) -> dict | None:
    """The accounts most likely to leave (above the model's threshold), with their top reason and next
    best action — ``predictions.queries.top_churn_risks``."""
    offered = _function("kehu.predictions.queries", "top_churn_risks")
    if offered is None:
        return None
    return {
        "risks": [
            {"account": account, "probability": f"{probability:.0%}", "reason": reason, "action": action}
            for account, probability, reason, action in offered(actor, 10)
        ]
    }


SPECIAL_TILES: dict[str, SpecialTile] = {
    t.key: t
    for t in (
        SpecialTile("kpis_by_month", _("KPIs by month"), "reports/tiles/_kpis.html", kpis_by_month),
        SpecialTile("rfm_grid", _("RFM grid"), "reports/tiles/_rfm.html", rfm_grid),
        SpecialTile("clv_distribution", _("CLV distribution"), "reports/tiles/_clv.html", clv_distribution),
        SpecialTile("churn_risks", _("Churn risk"), "reports/tiles/_churn.html", churn_risks),
    )
}


def tile_title(tile) -> str:
    """The tile's own title, else its report's name, else the special tile's title."""
    if tile.title:
        return tile.title
    if tile.report_id:
        return tile.report.name
    special = SPECIAL_TILES.get(tile.kind)
    return str(special.title) if special else tile.kind
