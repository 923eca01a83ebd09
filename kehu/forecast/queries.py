"""Forecast and sales reports: a handful of ``GROUP BY`` aggregates per report, never a loop over rows.

Every report starts from the records the actor may see (``visible``) and is narrowed by the
optional owner/team filter before it is aggregated, so a rep with the "own" scope gets their own
numbers and a manager their teams'. Amounts are in the workspace's base currency (``base_amount``);
the definitions of every figure are in docs/sales.md ("Forecast and reports").

Cost per report (indexes in brackets):
- forecast: open deals closing in the period grouped by owner, team and forecast category
  [opp_ws_status_close], deals won in it grouped by owner and team [opp_ws_status_closed_at], the
  period's targets, and the names of the owners and teams that appear;
- funnel: one aggregate over the leads created in the period [lead_ws_created] joined to the
  opportunity each was converted to;
- win rate: one aggregate over the deals closed in the period [opp_ws_status_closed_at], and one
  ``ORDER BY … LIMIT 2 OFFSET n/2`` for the median sales cycle;
- stage conversion: the deals created in the period counted by the furthest stage they reached
  (``Opportunity.furthest_position``) in one ``GROUP BY`` [opp_ws_created_furthest]; time in
  stage: one ``GROUP BY`` over the stage changes of the period [stagechange_ws_pipeline];
- lost reasons: one ``GROUP BY lost_reason`` over the deals lost in the period.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    Avg,
    Count,
    DecimalField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from kehu.commerce.money import cents
from kehu.deals.models import Opportunity, Pipeline, Stage, StageChange
from kehu.leads.models import Lead
from kehu.users.models import User
from kehu.workspaces.access import Actor, require, visible
from kehu.workspaces.models import Team

from .models import SalesTarget
from .periods import Period, workspace_tz

ZERO = Decimal("0.00")
HUNDRED = Decimal(100)
S = Opportunity.Status
FC = Opportunity.ForecastCategory
SECONDS_PER_DAY = 86400


class Elapsed(Func):
    """``end - start`` of two datetime columns as a duration, computed by the database itself.

    PostgreSQL subtracts timestamps natively. On SQLite Django would call a Python function per row
    (``django_timestamp_diff``); the julianday difference is native there, rounded to milliseconds
    (its precision) and given in microseconds, Django's duration storage on SQLite.
    """

    template = "(%(expressions)s)"
    arg_joiner = " - "
    output_field = DurationField()

    def __init__(self, end: str, start: str):
        super().__init__(F(end), F(start))

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="(CAST(ROUND((julianday(%(expressions)s)) * 86400000) AS INTEGER) * 1000)",
            arg_joiner=") - julianday(",
            **extra,
        )


def percent(part, whole) -> Decimal | None:
    """``part / whole`` in percent with one decimal; None when there is nothing to divide by."""
    if not whole:
        return None
    return (Decimal(part) * HUNDRED / Decimal(whole)).quantize(Decimal("0.1"))


def days(seconds) -> Decimal | None:
    if seconds is None:
        return None
    return (Decimal(str(seconds)) / SECONDS_PER_DAY).quantize(Decimal("0.1"))


def deals_for(actor: Actor, owner_id: int | None = None, team_id: int | None = None) -> QuerySet[Opportunity]:
    """The opportunities the actor may see, narrowed to one owner and/or one team."""
    require(actor, "view", Opportunity.object_type)
    qs = visible(actor, Opportunity.objects.all())
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if team_id:
        qs = qs.filter(team_id=team_id)
    return qs


# --- forecast --------------------------------------------------------------------------------------


@dataclass
class Line:
    """Forecast figures of one owner, one team, or everything the actor sees (``kind="total"``)."""

    kind: str
    id: int | None = None
    name: str = ""
    open_count: int = 0
    pipeline_amount: Decimal = ZERO
    weighted_sum: Decimal = ZERO  # Σ amount × probability, in percent units (÷ 100 when read)
    commit: Decimal = ZERO
    best_case: Decimal = ZERO
    pipeline: Decimal = ZERO
    won_count: int = 0
    won_amount: Decimal = ZERO
    quota: Decimal | None = None

    @property
    def weighted_amount(self) -> Decimal:
        return cents(self.weighted_sum / HUNDRED)

    @property
    def projected(self) -> Decimal:
        """What the period should bring if every committed deal closes: closed won + commit."""
        return self.won_amount + self.commit

    @property
    def attainment(self) -> Decimal | None:
        return percent(self.won_amount, self.quota)

    @property
    def gap(self) -> Decimal | None:
        """How much is still missing to the quota (0 once it is reached)."""
        return None if self.quota is None else max(self.quota - self.won_amount, ZERO)

    def add_open(self, category: str, count: int, amount: Decimal, weighted: Decimal) -> None:
        self.open_count += count
        self.pipeline_amount += amount
        self.weighted_sum += weighted
        if category in (FC.COMMIT, FC.BEST_CASE, FC.PIPELINE):
            setattr(self, category, getattr(self, category) + amount)

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "open_count": self.open_count,
            "pipeline_amount": self.pipeline_amount,
            "weighted_amount": self.weighted_amount,
            "commit": self.commit,
            "best_case": self.best_case,
            "pipeline": self.pipeline,
            "won_count": self.won_count,
            "won_amount": self.won_amount,
            "projected": self.projected,
            "quota": self.quota,
            "attainment": self.attainment,
            "gap": self.gap,
        }


@dataclass
class Forecast:
    period: Period
    currency: str
    total: Line
    owners: list[Line] = field(default_factory=list)
    teams: list[Line] = field(default_factory=list)


def resolve_quota(targets: list[SalesTarget], period: Period) -> Decimal | None:
    """The quota of one user or team for ``period`` from their targets inside it: the target of
    exactly that period if there is one, else the sum of the shorter ones (a quarter's months);
    months inside a quarter target of the same range are not counted twice."""
    if not targets:
        return None
    for target in targets:
        if target.start_date == period.start and target.end_date == period.end:
            return target.amount
    quarters = [t for t in targets if t.period == SalesTarget.Period.QUARTER]
    months = [
        t
        for t in targets
        if t.period == SalesTarget.Period.MONTH
        and not any(q.start_date <= t.start_date <= q.end_date for q in quarters)
    ]
    return sum((t.amount for t in quarters + months), ZERO)


def _targets(actor: Actor, period: Period, owner_id: int | None, team_id: int | None) -> list[SalesTarget]:
    qs = visible(actor, SalesTarget.objects.filter(start_date__gte=period.start, end_date__lte=period.end))
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    elif team_id:
        members = Team.members.through.objects.filter(team_id=team_id).values("user_id")
        qs = qs.filter(Q(team_id=team_id) | Q(owner_id__in=members))
    return list(qs.order_by("start_date", "id"))


def forecast(
    actor: Actor, period: Period, *, owner_id: int | None = None, team_id: int | None = None
) -> Forecast:
    """Pipeline, weighted, per forecast category, closed won, quota, attainment and gap of the deals
    the actor may see, per owner, per team (the deal's team) and in total.

    Open deals count when their expected close date falls in the period (omitted ones never); won
    deals when they were closed in it (workspace time zone).
    """
    deals = deals_for(actor, owner_id, team_id)
    start, end = period.bounds(workspace_tz(actor.workspace))
    weighted = ExpressionWrapper(F("base_amount") * F("probability"), output_field=DecimalField())
    open_rows = (
        deals.filter(
            status=S.OPEN, expected_close_date__gte=period.start, expected_close_date__lte=period.end
        )
        .exclude(forecast_category=FC.OMITTED)
        .order_by()
        .values("owner_id", "team_id", "forecast_category")
        .annotate(n=Count("id"), amount=Sum("base_amount"), weighted=Sum(weighted))
    )
    won_rows = (
        deals.filter(status=S.WON, closed_at__gte=start, closed_at__lt=end)
        .order_by()
        .values("owner_id", "team_id")
        .annotate(n=Count("id"), amount=Sum("base_amount"))
    )
    total = Line("total", name=_("Total"))
    owners: dict[int | None, Line] = {}
    teams: dict[int | None, Line] = {}

    def lines(row) -> list[Line]:
        owner = owners.setdefault(row["owner_id"], Line("owner", row["owner_id"]))
        team = teams.setdefault(row["team_id"], Line("team", row["team_id"]))
        return [total, owner, team]

    for row in open_rows:
        for line in lines(row):
            line.add_open(
                row["forecast_category"], row["n"], row["amount"] or ZERO, Decimal(row["weighted"] or 0)
            )
    for row in won_rows:
        for line in lines(row):
            line.won_count += row["n"]
            line.won_amount += row["amount"] or ZERO

    targets = _targets(actor, period, owner_id, team_id)
    by_user: dict[int, list[SalesTarget]] = {}
    by_team: dict[int, list[SalesTarget]] = {}
    for target in targets:
        if target.owner_id:
            by_user.setdefault(target.owner_id, []).append(target)
        else:
            by_team.setdefault(target.team_id, []).append(target)
    user_quota = {pk: resolve_quota(items, period) for pk, items in by_user.items()}
    for pk, quota in user_quota.items():
        owners.setdefault(pk, Line("owner", pk)).quota = quota
    for pk in [*by_team, *([team_id] if team_id else [])]:
        teams.setdefault(pk, Line("team", pk))
    team_ids = [pk for pk in teams if pk is not None]
    members: dict[int, list[int]] = {}
    for team_pk, user_pk in Team.members.through.objects.filter(team_id__in=team_ids).values_list(
        "team_id", "user_id"
    ):
        members.setdefault(team_pk, []).append(user_pk)
    for pk, line in teams.items():
        if pk is None:
            continue
        if pk in by_team:
            line.quota = resolve_quota(by_team[pk], period)
        else:
            member_quotas = [user_quota[u] for u in members.get(pk, []) if user_quota.get(u) is not None]
            line.quota = sum(member_quotas, ZERO) if member_quotas else None

    if owner_id:
        total.quota = user_quota.get(owner_id)
    elif team_id:
        total.quota = teams[team_id].quota if team_id in teams else None
    elif user_quota:
        total.quota = sum((q for q in user_quota.values() if q is not None), ZERO)
    elif by_team:
        total.quota = sum((teams[pk].quota or ZERO for pk in by_team), ZERO)

    people = User.objects.filter(pk__in=[pk for pk in owners if pk]).values_list("pk", "name", "email")
    names = {pk: name or email for pk, name, email in people}
    for pk, line in owners.items():
        line.name = names.get(pk, "") if pk else _("No owner")
    team_names = dict(Team.objects.filter(pk__in=team_ids).values_list("pk", "name"))
    for pk, line in teams.items():
        line.name = team_names.get(pk, "") if pk else _("No team")

    def ordered(items: dict) -> list[Line]:
        return sorted(items.values(), key=lambda line: (-line.won_amount, -line.pipeline_amount, line.name))

    return Forecast(period, actor.workspace.base_currency, total, ordered(owners), ordered(teams))


# --- funnel ----------------------------------------------------------------------------------------


def funnel(actor: Actor, period: Period, *, owner_id: int | None = None, team_id: int | None = None) -> dict:
    """Leads created in the period (the cohort) and how many of them were qualified, became an
    opportunity (converted with one) and were won (that opportunity is won today)."""
    require(actor, "view", Lead.object_type)
    start, end = period.bounds(workspace_tz(actor.workspace))
    leads = visible(actor, Lead.objects.filter(created_at__gte=start, created_at__lt=end))
    if owner_id:
        leads = leads.filter(owner_id=owner_id)
    if team_id:
        leads = leads.filter(team_id=team_id)
    counts = leads.aggregate(
        leads=Count("id"),
        # A converted lead keeps the status "qualified"; the second clause guards data converted
        # before that rule.
        qualified=Count("id", filter=Q(status=Lead.Status.QUALIFIED) | Q(converted_at__isnull=False)),
        opportunities=Count("converted_opportunity_id"),
        # EXISTS probes the deal's primary key for the converted leads only; a join would hash the
        # whole opportunity table (a sequential scan of 500k deals for a quarter's 65k leads).
        won=Count(
            "id",
            filter=Q(converted_opportunity_id__isnull=False)
            & Exists(Opportunity.objects.filter(pk=OuterRef("converted_opportunity_id"), status=S.WON)),
        ),
    )
    names = {
        "leads": _("Leads"),
        "qualified": _("Qualified"),
        "opportunities": _("Opportunities"),
        "won": pgettext("funnel step", "Won"),
    }
    steps, previous, first = [], None, counts["leads"]
    for key, label in names.items():
        n = counts[key]
        steps.append(
            {
                "key": key,
                "label": str(label),
                "count": n,
                "rate": percent(n, previous) if previous is not None else None,
                "rate_of_leads": percent(n, first),
            }
        )
        previous = n
    return {"steps": steps, "conversion": percent(counts["won"], first)}


# --- win rate, deal size, sales cycle --------------------------------------------------------------


def win_stats(
    actor: Actor, period: Period, *, owner_id: int | None = None, team_id: int | None = None
) -> dict:
    """Deals closed in the period: won, lost, win rate (won / closed), won amount, average deal size
    (won) and the sales cycle of the won ones (created → closed, mean and median days)."""
    start, end = period.bounds(workspace_tz(actor.workspace))
    closed = deals_for(actor, owner_id, team_id).filter(
        status__in=(S.WON, S.LOST), closed_at__gte=start, closed_at__lt=end
    )
    cycle = Elapsed("closed_at", "created_at")
    won_q = Q(status=S.WON)
    agg = closed.aggregate(
        won=Count("id", filter=won_q),
        lost=Count("id", filter=Q(status=S.LOST)),
        won_amount=Sum("base_amount", filter=won_q),
        cycle_mean=Avg(cycle, filter=won_q),
    )
    won, lost = agg["won"], agg["lost"]
    won_amount = agg["won_amount"] or ZERO
    median = None
    if won:
        # The median without fetching every row: the one or two middle values in cycle order.
        middle = list(
            closed.filter(won_q)
            .annotate(cycle=cycle)
            .order_by("cycle", "id")
            .values_list("cycle", flat=True)[(won - 1) // 2 : won // 2 + 1]
        )
        median = sum(d.total_seconds() for d in middle) / len(middle)
    mean = agg["cycle_mean"]
    return {
        "won": won,
        "lost": lost,
        "closed": won + lost,
        "win_rate": percent(won, won + lost),
        "won_amount": won_amount,
        "average_deal_size": cents(won_amount / won) if won else None,
        "cycle_mean_days": days(mean.total_seconds()) if mean is not None else None,
        "cycle_median_days": days(median),
    }


# --- stage conversion and time in stage ------------------------------------------------------------


def pipeline_for(actor: Actor, pipeline_id: int | None) -> Pipeline | None:
    """The chosen pipeline, else the workspace's default (or first) one; None when there is none."""
    qs = Pipeline.objects.all()
    if pipeline_id:
        return qs.filter(pk=pipeline_id).first()
    return qs.order_by("-is_default", "position", "id").first()


def stage_report(
    actor: Actor,
    pipeline: Pipeline,
    period: Period,
    *,
    owner_id: int | None = None,
    team_id: int | None = None,
) -> dict:
    """Per stage of the pipeline (in order; lost stages apart): how many deals created in the period
    reached it (entered it or a later stage), the share of those that reached the next stage, and
    the average time deals spent in it (stays that ended in the period)."""
    start, end = period.bounds(workspace_tz(actor.workspace))
    deals = deals_for(actor, owner_id, team_id)
    stages = list(Stage.objects.filter(pipeline=pipeline).order_by("position", "id"))
    forward = [s for s in stages if not s.is_lost]
    # Each deal keeps the furthest (non-lost) stage position it entered in its pipeline
    # (``Opportunity.furthest_position``, kept by the deals services): one GROUP BY over the
    # period's deals [opp_ws_created_furthest], then "reached stage s" = furthest ≥ s.position.
    per_position = dict(
        deals.filter(
            pipeline=pipeline, created_at__gte=start, created_at__lt=end, furthest_position__isnull=False
        )
        .order_by()
        .values("furthest_position")
        .annotate(n=Count("id"))
        .values_list("furthest_position", "n")
    )
    reached = {
        f"s{s.pk}": sum(n for position, n in per_position.items() if position >= s.position) for s in forward
    }
    changes = StageChange.objects.filter(
        pipeline=pipeline,
        from_stage__isnull=False,
        seconds_in_previous__isnull=False,
        changed_at__gte=start,
        changed_at__lt=end,
    )
    if owner_id or team_id or actor.grant(Opportunity.object_type).scope != "all":
        changes = changes.filter(opportunity__in=deals.values("pk"))
    stays = {
        row["from_stage_id"]: row
        for row in changes.order_by()
        .values("from_stage_id")
        .annotate(n=Count("id"), avg=Avg("seconds_in_previous"))
    }
    rows = []
    for index, stage in enumerate(stages):
        count = reached.get(f"s{stage.pk}") if not stage.is_lost else None
        following = (
            forward[forward.index(stage) + 1] if not stage.is_lost and stage is not forward[-1] else None
        )
        next_count = reached.get(f"s{following.pk}") if following else None
        stay = stays.get(stage.pk)
        rows.append(
            {
                "stage_id": stage.pk,
                "name": stage.name,
                "position": index,
                "is_won": stage.is_won,
                "is_lost": stage.is_lost,
                "reached": count,
                "to_next": percent(next_count, count) if following is not None else None,
                "stays": stay["n"] if stay else 0,
                "avg_days_in_stage": days(stay["avg"]) if stay else None,
            }
        )
    cohort_size = reached.get(f"s{forward[0].pk}", 0) if forward else 0
    return {"pipeline_id": pipeline.pk, "pipeline": pipeline.name, "cohort": cohort_size, "stages": rows}


# --- lost reasons ----------------------------------------------------------------------------------


def lost_reasons(
    actor: Actor, period: Period, *, owner_id: int | None = None, team_id: int | None = None
) -> dict:
    """Deals lost in the period by reason: count, share of the lost deals and amount."""
    start, end = period.bounds(workspace_tz(actor.workspace))
    rows = list(
        deals_for(actor, owner_id, team_id)
        .filter(status=S.LOST, closed_at__gte=start, closed_at__lt=end)
        .order_by()
        .values("lost_reason")
        .annotate(n=Count("id"), amount=Sum("base_amount"))
        .order_by("-n", "lost_reason")
    )
    total = sum(row["n"] for row in rows)
    return {
        "lost": total,
        "reasons": [
            {
                "reason": row["lost_reason"] or _("(no reason given)"),
                "count": row["n"],
                "share": percent(row["n"], total),
                "amount": row["amount"] or ZERO,
            }
            for row in rows
        ],
    }
