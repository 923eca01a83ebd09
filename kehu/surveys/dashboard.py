"""The service dashboard's figures: grouped SQL over the tickets the actor may see.

Every panel is one or two GROUP BY queries; medians and 90th percentiles of response and resolution
times come from ``percentiles`` (PERCENTILE_CONT on PostgreSQL, the same interpolation in Python on
SQLite). Times are **business hours**: the tickets' ``first_response_business_minutes`` /
``resolution_business_minutes``, stamped when they were answered / resolved on their SLA policy's
calendar with paused time left out (so tickets without an SLA policy have none). "Against SLA" is the
share of tickets whose first response / resolution came by its due time, and the breach rate the share
of SLA tickets breached.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.apps import apps
from django.db import connection
from django.db.models import (
    Aggregate,
    Avg,
    Case,
    Count,
    F,
    FloatField,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import TruncMonth, TruncWeek
from django.utils import timezone

from kehu.forecast.periods import Period, today_in, workspace_tz
from kehu.forecast.queries import percent
from kehu.tickets.models import Ticket
from kehu.users.models import User
from kehu.workspaces.access import Actor, require, visible
from kehu.workspaces.models import Team

from .models import Kind, SurveyResponse
from .services import Nps, nps_counts

OPEN_STATUSES = ("new", "open", "pending", "on_hold", "reopened")
AGE_BUCKETS = ((0, 1), (1, 3), (3, 7), (7, 30), (30, None))  # days


# --- percentiles, one function for both databases ------------------------------------------------


class PercentileCont(Aggregate):
    """PostgreSQL's ordered-set aggregate ``PERCENTILE_CONT(f) WITHIN GROUP (ORDER BY expr)``."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


def interpolate(values: Sequence[float], fraction: float) -> float | None:
    """PERCENTILE_CONT's definition: linear interpolation between the closest ranks of sorted values."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def percentiles(qs: QuerySet, column: str, fractions: Sequence[float]) -> list[float | None]:
    """Percentiles of ``column`` over the rows of ``qs`` where it is set."""
    qs = qs.filter(**{f"{column}__isnull": False}).order_by()
    if connection.vendor == "postgresql":
        row = qs.aggregate(**{f"p{i}": PercentileCont(F(column), f) for i, f in enumerate(fractions)})
        return [row[f"p{i}"] for i in range(len(fractions))]
    values = list(qs.values_list(column, flat=True).iterator(chunk_size=5000))
    return [interpolate(values, f) for f in fractions]


def hours(minutes: float | None) -> float | None:
    return None if minutes is None else round(minutes / 60, 1)


# --- the range -----------------------------------------------------------------------------------


def default_period(workspace) -> Period:
    today = today_in(workspace)
    return Period("range", today - timedelta(days=29), today)


@dataclass
class Scope:
    actor: Actor
    period: Period

    @property
    def tz(self):
        return workspace_tz(self.actor.workspace)

    @property
    def bounds(self):
        return self.period.bounds(self.tz)

    def tickets(self) -> QuerySet[Ticket]:
        require(self.actor, "view", Ticket.object_type)
        return visible(self.actor, Ticket.objects.all())

    def created_in_range(self) -> QuerySet[Ticket]:
        start, end = self.bounds
        return self.tickets().filter(created_at__gte=start, created_at__lt=end)


def _counts(qs: QuerySet, field: str) -> dict:
    return {row[field]: row["n"] for row in qs.values(field).annotate(n=Count("id")).order_by()}


# --- panels --------------------------------------------------------------------------------------


def open_tickets(s: Scope) -> dict:
    """Open tickets now, by status, by queue (team) and by priority."""
    qs = s.tickets().filter(status__in=OPEN_STATUSES)
    by_team = _counts(qs, "team_id")
    names = dict(Team.objects.filter(pk__in=[k for k in by_team if k]).values_list("pk", "name"))
    return {
        "total": sum(by_team.values()),
        "by_status": [
            {"key": k, "count": n}
            for k, n in sorted(_counts(qs, "status").items(), key=lambda kv: OPEN_STATUSES.index(kv[0]))
        ],
        "by_queue": [
            {"id": k, "name": names.get(k, ""), "count": n}
            for k, n in sorted(by_team.items(), key=lambda kv: -kv[1])
        ],
        "by_priority": [
            {"key": k, "count": n}
            for k, n in sorted(
                _counts(qs, "priority").items(), key=lambda kv: list(Ticket.Priority.values).index(kv[0])
            )
        ],
    }


def times(s: Scope) -> dict:
    """First-response and resolution times of tickets created in the range in business hours (median,
    p90; over the tickets with an SLA that were answered / resolved), the share within SLA and the
    breach rate."""
    qs = s.created_in_range()
    fr50, fr90 = percentiles(qs, "first_response_business_minutes", (0.5, 0.9))
    rs50, rs90 = percentiles(qs, "resolution_business_minutes", (0.5, 0.9))
    row = qs.order_by().aggregate(
        created=Count("id"),
        fr_measured=Count("first_response_business_minutes"),
        rs_measured=Count("resolution_business_minutes"),
        with_sla=Count("id", filter=Q(sla_policy__isnull=False)),
        breached=Count("id", filter=Q(sla_policy__isnull=False, sla_breached_at__isnull=False)),
        fr_due=Count("id", filter=Q(first_response_due_at__isnull=False, first_responded_at__isnull=False)),
        fr_met=Count(
            "id",
            filter=Q(first_response_due_at__isnull=False, first_responded_at__lte=F("first_response_due_at")),
        ),
        rs_due=Count("id", filter=Q(resolution_due_at__isnull=False, resolved_at__isnull=False)),
        rs_met=Count(
            "id", filter=Q(resolution_due_at__isnull=False, resolved_at__lte=F("resolution_due_at"))
        ),
    )
    return {
        "created": row["created"],
        "first_response_median_business_hours": hours(fr50),
        "first_response_p90_business_hours": hours(fr90),
        "first_responses_measured": row["fr_measured"],
        "resolution_median_business_hours": hours(rs50),
        "resolution_p90_business_hours": hours(rs90),
        "resolutions_measured": row["rs_measured"],
        "first_response_within_sla": percent(row["fr_met"], row["fr_due"]),
        "resolution_within_sla": percent(row["rs_met"], row["rs_due"]),
        "with_sla": row["with_sla"],
        "breached": row["breached"],
        "breach_rate": percent(row["breached"], row["with_sla"]),
    }


def backlog(s: Scope, now=None) -> dict:
    """Open tickets by age since creation: < 1 day, 1–3, 3–7, 7–30, > 30 days (one grouped query)."""
    now = now or timezone.now()
    whens = []
    for index, (low, high) in enumerate(AGE_BUCKETS):
        condition = Q(created_at__lte=now - timedelta(days=low))
        if high is not None:
            condition &= Q(created_at__gt=now - timedelta(days=high))
        whens.append(When(condition, then=Value(index)))
    qs = (
        s.tickets()
        .filter(status__in=OPEN_STATUSES)
        .annotate(bucket=Case(*whens, default=Value(0), output_field=IntegerField()))
    )
    counts = _counts(qs, "bucket")
    return {
        "buckets": [
            {"from_days": low, "to_days": high, "count": counts.get(index, 0)}
            for index, (low, high) in enumerate(AGE_BUCKETS)
        ]
    }


def workload(s: Scope) -> dict:
    """Open tickets per assignee, with how many are high/urgent and how many breached their SLA."""
    rows = list(
        s.tickets()
        .filter(status__in=OPEN_STATUSES)
        .values("owner_id")
        .annotate(
            open=Count("id"),
            urgent=Count("id", filter=Q(priority__in=("high", "urgent"))),
            breached=Count("id", filter=Q(sla_breached_at__isnull=False)),
        )
        .order_by("-open", "owner_id")[:50]
    )
    users = {u.pk: u for u in User.objects.filter(pk__in=[r["owner_id"] for r in rows if r["owner_id"]])}
    return {
        "agents": [
            {
                "user_id": r["owner_id"],
                "name": str(users[r["owner_id"]]) if r["owner_id"] in users else "",
                "open": r["open"],
                "urgent": r["urgent"],
                "breached": r["breached"],
            }
            for r in rows
        ]
    }


def _trunc(s: Scope, field: str):
    monthly = (s.period.end - s.period.start).days > 92
    return (TruncMonth if monthly else TruncWeek)(field, tzinfo=s.tz), "month" if monthly else "week"


def satisfaction(s: Scope) -> dict:
    """CSAT (average, share of 4–5) and NPS per week (ranges up to a quarter) or month, and overall."""
    start, end = s.bounds
    responses = SurveyResponse.objects.filter(answered_at__gte=start, answered_at__lt=end)
    # CSAT answers count when the actor may see their ticket; NPS answers belong to no ticket.
    csat = responses.filter(kind=Kind.CSAT, ticket__in=s.tickets().values("pk"))
    bucket, unit = _trunc(s, "answered_at")
    csat_rows = (
        csat.annotate(bucket=bucket)
        .values("bucket")
        .annotate(n=Count("id"), avg=Avg("score"), satisfied=Count("id", filter=Q(score__gte=4)))
        .order_by("bucket")
    )
    nps_qs = responses.filter(kind=Kind.NPS) if s.actor.can("view", "surveys.survey") else responses.none()
    nps_rows = nps_qs.annotate(bucket=bucket).values("bucket").annotate(**nps_counts()).order_by("bucket")
    csat_total = csat.order_by().aggregate(
        n=Count("id"), avg=Avg("score"), satisfied=Count("id", filter=Q(score__gte=4))
    )
    nps_total = nps_qs.order_by().aggregate(**nps_counts())
    sentiments = _counts(csat.exclude(sentiment=""), "sentiment")
    return {
        "unit": unit,
        "csat": {
            "responses": csat_total["n"],
            "average": round(csat_total["avg"], 2) if csat_total["avg"] is not None else None,
            "satisfied_percent": percent(csat_total["satisfied"], csat_total["n"]),
            "sentiment": sentiments,
            "trend": [
                {
                    "bucket": r["bucket"].date().isoformat(),
                    "responses": r["n"],
                    "average": round(r["avg"], 2),
                    "satisfied_percent": percent(r["satisfied"], r["n"]),
                }
                for r in csat_rows
            ],
        },
        "nps": {
            "responses": nps_total["n"],
            "promoters": nps_total["promoters"],
            "detractors": nps_total["detractors"],
            "nps": Nps.of(nps_total).score,
            "trend": [
                {"bucket": r["bucket"].date().isoformat(), "responses": r["n"], "nps": Nps.of(r).score}
                for r in nps_rows
            ],
        },
    }


def complaints(s: Scope) -> dict:
    """Complaints created in the range by root cause (and by outcome)."""
    qs = s.created_in_range().filter(type=Ticket.Type.COMPLAINT)
    causes = _counts(qs, "root_cause")
    return {
        "total": sum(causes.values()),
        "by_cause": [{"key": k, "count": n} for k, n in sorted(causes.items(), key=lambda kv: -kv[1])],
        "by_outcome": [
            {"key": k, "count": n} for k, n in sorted(_counts(qs, "outcome").items(), key=lambda kv: -kv[1])
        ],
    }


def bot(s: Scope) -> dict:
    """Bot conversations started in the range (with at least one question): the share the bot
    answered without handing over to a person (deflected), handed over, and left unresolved."""
    if not apps.is_installed("kehu.bot"):
        return {"conversations": 0, "deflected": 0, "handed_over": 0, "deflection_rate": None}
    from kehu.bot.services import deflection

    stats = deflection(s.actor.workspace, *s.bounds)
    return {
        "conversations": stats["conversations"],
        "deflected": stats["deflected"],
        "handed_over": stats["handed_over"],
        "deflection_rate": percent(stats["deflected"], stats["conversations"]),
    }


PANELS = {
    "open": open_tickets,
    "times": times,
    "backlog": backlog,
    "workload": workload,
    "satisfaction": satisfaction,
    "complaints": complaints,
    "bot": bot,
}


def everything(s: Scope) -> dict:
    return {name: compute(s) for name, compute in PANELS.items()}
