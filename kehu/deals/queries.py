"""Scoped reads of opportunities: lists, the kanban board (totals + keyset card pages), 360° panels.

The board costs a fixed number of queries: the pipeline's stages, one ``GROUP BY stage`` for every
column's count, amount and weighted amount, and ONE query for the first card page of every column
(``UNION ALL`` of a ``LIMIT`` per column, each read in the order of the ``opp_ws_board`` index:
workspace, pipeline, stage, -updated_at, -id). Cards are ``Card`` tuples of the columns a card shows,
not model instances: a board is 100+ cards, and building models (plus their account and owner) and
serializing them cost more than the queries. Won and lost columns
show the deals closed in the last ``CLOSED_DAYS`` days unless a close-date range is chosen, so the
board of a pipeline with years of history stays the size of its current work.

The totals are ``UNION ALL`` of the open deals and the deals closed since the window's start, each
an index-only range of a covering index (``opp_ws_board_totals``: workspace, pipeline, status,
closed_at, then stage, amounts, owner, team; ``opp_ws_board_close`` for a close-date range), so the
years of closed history are never read and the filters by owner/team need no table rows.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.db import connections
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.commerce.money import cents
from kehu.core.api import encode_cursor, keyset_page
from kehu.core.errors import FieldError, ValidationFailed
from kehu.customers.models import Contact
from kehu.customfields.queries import custom_filter, readable
from kehu.workspaces.access import Actor, scope_filter, visible

from .models import OpenStageTotal, Opportunity, OpportunityContact, Pipeline, Stage, StageChange

CARD_PAGE = 20
CARD_ORDERING = "-updated_at"
CLOSED_DAYS = 90
ZERO = Decimal("0.00")


def opportunities_for(actor: Actor, q: str = "") -> QuerySet[Opportunity]:
    """Deals the actor may see; ``q`` matches the deal's or the account's name."""
    qs = visible(actor, Opportunity.objects.select_related("account", "owner", "stage", "pipeline"))
    if q := " ".join(q.split()):
        qs = qs.filter(Q(name__icontains=q) | Q(account__name__icontains=q))
    return qs


def stages_of(pipeline: Pipeline) -> list[Stage]:
    """The pipeline's stages in board order (from a ``prefetch_related("stages")`` when there is one)."""
    prefetched = getattr(pipeline, "_prefetched_objects_cache", {}).get("stages")
    if prefetched is not None:
        return sorted(prefetched, key=lambda stage: (stage.position, stage.pk))
    return list(Stage.objects.filter(pipeline=pipeline).order_by("position", "id"))


@dataclass
class BoardFilters:
    """What the board is narrowed by (all optional); ``custom`` is (key, op, value)."""

    owner_id: int | None = None
    team_id: int | None = None
    close_from: date | None = None
    close_to: date | None = None
    custom: tuple[str, str, str] | None = None
    q: str = ""

    def params(self) -> dict[str, str]:
        """The filters as query parameters (for "load more" links)."""
        values = {
            "owner": self.owner_id,
            "team": self.team_id,
            "close_from": self.close_from.isoformat() if self.close_from else None,
            "close_to": self.close_to.isoformat() if self.close_to else None,
            "q": self.q,
        }
        if self.custom:
            values.update(zip(("cf_key", "cf_op", "cf_value"), self.custom, strict=True))
        return {k: str(v) for k, v in values.items() if v not in (None, "")}

    def closed_since(self):
        """Where the won/lost columns start: ``CLOSED_DAYS`` ago, or None under a close-date range."""
        if self.close_from or self.close_to:
            return None
        return timezone.now() - timedelta(days=CLOSED_DAYS)


class Card(NamedTuple):
    """What a board card shows of a deal (the fields of ``CARD_FIELDS``, in order)."""

    id: int
    name: str
    account_id: int
    account_name: str
    stage_id: int
    amount: Decimal
    currency: str
    base_amount: Decimal
    probability: int
    expected_close_date: date | None
    status: str
    owner_id: int | None
    owner_name: str | None
    team_id: int | None
    updated_at: datetime

    @property
    def pk(self) -> int:
        return self.id


CARD_FIELDS = (
    "id", "name", "account_id", "account__name", "stage_id", "amount", "currency", "base_amount",
    "probability", "expected_close_date", "status", "owner_id", "owner__name", "team_id", "updated_at",
)


@dataclass
class Column:
    stage: Stage
    count: int = 0
    amount: Decimal = ZERO
    weighted: Decimal = ZERO
    cards: list[Card] = field(default_factory=list)
    next_cursor: str | None = None


def board_records(actor: Actor, pipeline: Pipeline, filters: BoardFilters) -> QuerySet[Opportunity]:
    """The pipeline's deals the actor may see, narrowed by ``filters`` (not yet by stage, nor by the
    closed window: ``column_totals`` and ``cards`` apply ``filters.closed_since()`` each their way)."""
    qs = visible(actor, Opportunity.objects.filter(pipeline=pipeline))
    if filters.owner_id:
        qs = qs.filter(owner_id=filters.owner_id)
    if filters.team_id:
        qs = qs.filter(team_id=filters.team_id)
    if filters.close_from:
        qs = qs.filter(expected_close_date__gte=filters.close_from)
    if filters.close_to:
        qs = qs.filter(expected_close_date__lte=filters.close_to)
    if filters.custom:
        key, op, value = filters.custom
        definition = next((d for d in readable(actor, Opportunity.object_type) if d.key == key), None)
        if definition is None:  # hidden from the actor's role, or no such field
            raise ValidationFailed([FieldError(f"custom.{key}", _("Unknown custom field."), "unknown")])
        qs = qs.filter(custom_filter(Opportunity.object_type, key, op, value, definition=definition))
    if q := " ".join(filters.q.split()):
        qs = qs.filter(Q(name__icontains=q) | Q(account__name__icontains=q))
    return qs


def open_totals(actor: Actor, pipeline: Pipeline, filters: BoardFilters) -> QuerySet[OpenStageTotal] | None:
    """The running totals rows that answer the open part of the board's totals, or None when the
    filters need the deals themselves (close dates, search, custom fields)."""
    if filters.close_from or filters.close_to or filters.custom or filters.q.strip():
        return None
    qs = OpenStageTotal.objects.filter(pipeline=pipeline)
    condition = scope_filter(actor, Opportunity.object_type)  # the deals' own record scope
    if condition is not None:
        qs = qs.filter(condition)
    if filters.owner_id:
        qs = qs.filter(owner_id=filters.owner_id)
    if filters.team_id:
        qs = qs.filter(team_id=filters.team_id)
    return qs


def column_totals(
    records: QuerySet[Opportunity], closed_since=None, open_rows: QuerySet[OpenStageTotal] | None = None
) -> dict[int, dict]:
    """Count, amount and weighted amount (base currency) per stage: one query.

    ``closed_since`` (from ``BoardFilters.closed_since``) bounds the closed deals by ``closed_at``, so
    each part is one index range read index-only (an OR of both makes PostgreSQL combine bitmaps and
    read the table rows). ``open_rows`` (from ``open_totals``) sums the open deals' running totals
    instead of counting the deals.
    """
    weighted = ExpressionWrapper(F("base_amount") * F("probability"), output_field=DecimalField())

    def per_stage(qs: QuerySet[Opportunity]) -> QuerySet:
        return (
            qs.order_by()
            .values("stage_id")
            # COUNT(*), not COUNT(id): id is not in the covering index, so counting it reads the table.
            .annotate(count=Count("*"), amount=Sum("base_amount"), weighted=Sum(weighted))
        )

    closed = records.filter(status__in=(Opportunity.Status.WON, Opportunity.Status.LOST))
    if closed_since is not None:
        closed = closed.filter(closed_at__gte=closed_since)
    if open_rows is None:
        open_part = per_stage(records.filter(status=Opportunity.Status.OPEN))
    else:
        open_part = (
            open_rows.order_by()
            .values("stage_id")
            .annotate(count=Sum("deal_count"), amount=Sum("amount_sum"), weighted=Sum("weighted_sum"))
        )
    rows = open_part.union(per_stage(closed), all=True)
    # A stage is usually in one part only; both when its won/lost flag changed under open deals.
    sums: dict[int, list] = {}
    for row in rows:
        acc = sums.setdefault(row["stage_id"], [0, ZERO, Decimal(0)])
        acc[0] += row["count"]
        acc[1] += row["amount"] or ZERO
        acc[2] += Decimal(row["weighted"] or 0)
    return {
        stage_id: {"count": n, "amount": cents(amount), "weighted": cents(weighted / 100)}
        for stage_id, (n, amount, weighted) in sums.items()
    }


def _column_cards(records: QuerySet[Opportunity], stage_id: int, closed_since) -> QuerySet[Opportunity]:
    qs = records.filter(stage_id=stage_id)
    if closed_since is not None:
        qs = qs.filter(Q(status=Opportunity.Status.OPEN) | Q(closed_at__gte=closed_since))
    return qs


def cards(
    records: QuerySet[Opportunity],
    stage: Stage,
    cursor: str | None = None,
    limit: int = CARD_PAGE,
    closed_since=None,
) -> tuple[list[Card], str | None]:
    """One keyset page of a column's cards, most recently changed first (closed deals only when
    closed since ``closed_since``, if given)."""
    qs = _column_cards(records, stage.pk, closed_since).values_list(*CARD_FIELDS, named=True)
    rows, next_cursor = keyset_page(qs, ordering=CARD_ORDERING, limit=limit, cursor=cursor)
    return [Card(*row) for row in rows], next_cursor


# Stands for "this column's stage" in the one compiled card query (ids are positive).
_STAGE_SLOT = -7_654_321


def _first_pages(records: QuerySet[Opportunity], stages: list[Stage], limit: int, closed_since) -> dict:
    """The first ``limit`` + 1 cards of each of ``stages``, in one round trip: {stage id: [Card]}.

    Each column is its own ``ORDER BY … LIMIT`` (an index range read); ``UNION ALL`` of them as
    subqueries, which SQLite and PostgreSQL accept (Django's ``union`` refuses sliced parts on
    SQLite). The ORM compiles the column query once, with a placeholder stage id each part
    replaces (compiling it per column cost more than running it); values go through the ORM's
    converters, as Django's own iteration would.
    """
    if not stages:
        return {}
    qs = _column_cards(records, _STAGE_SLOT, closed_since)
    qs = qs.order_by(F("updated_at").desc(), "-pk").values_list(*CARD_FIELDS)[: limit + 1]
    compiler = qs.query.get_compiler(using=qs.db)
    sql, part_params = compiler.as_sql()
    converters = compiler.get_converters([sel[0] for sel in compiler.select[: len(CARD_FIELDS)]])
    params = []
    for stage in stages:
        params.extend(stage.pk if value == _STAGE_SLOT else value for value in part_params)
    union = " UNION ALL ".join(f"SELECT * FROM ({sql}) AS page{i}" for i in range(len(stages)))  # noqa: S608
    with connections[qs.db].cursor() as cursor:
        cursor.execute(union, params)
        rows = cursor.fetchall()
    if converters:
        rows = compiler.apply_converters(rows, converters)
    pages: dict[int, list[Card]] = {}
    for row in rows:
        pages.setdefault(row[4], []).append(Card(*row))
    return pages


def board(
    records: QuerySet[Opportunity],
    pipeline: Pipeline,
    limit: int = CARD_PAGE,
    closed_since=None,
    open_rows: QuerySet[OpenStageTotal] | None = None,
) -> list[Column]:
    """Every column of the pipeline with its totals and first page of cards (``records``: from
    ``board_records``, optionally narrowed further; ``closed_since``: ``filters.closed_since()``;
    ``open_rows``: ``open_totals(...)`` when ``records`` is narrowed by nothing else)."""
    totals = column_totals(records, closed_since, open_rows)
    columns = [Column(stage, **totals.get(stage.pk, {})) for stage in stages_of(pipeline)]
    pages = _first_pages(records, [c.stage for c in columns if c.count], limit, closed_since)
    for column in columns:
        page = pages.get(column.stage.pk, [])
        column.cards = page[:limit]
        if len(page) > limit:
            last = column.cards[-1]
            column.next_cursor = encode_cursor(CARD_ORDERING, last.updated_at, last.id)
    return columns


def pipeline_board(actor: Actor, pipeline: Pipeline, filters: BoardFilters, narrow=None) -> list[Column]:
    """The board of ``pipeline`` as ``actor`` sees it under ``filters``; ``narrow(records)`` may
    filter the deals further (the API's ``custom.<key>`` parameters). The open deals' running totals
    answer the open part of the totals unless something narrows the deals beyond owner and team."""
    records = board_records(actor, pipeline, filters)
    narrowed = narrow(records) if narrow else records
    open_rows = open_totals(actor, pipeline, filters) if narrowed is records else None
    return board(narrowed, pipeline, closed_since=filters.closed_since(), open_rows=open_rows)


def pipelines_for(actor: Actor, *, active_only: bool = False) -> QuerySet[Pipeline]:
    qs = Pipeline.objects.all().order_by("position", "id")
    return qs.filter(active=True) if active_only else qs


def stage_history(opp: Opportunity) -> list[StageChange]:
    return list(
        StageChange.objects.filter(opportunity=opp)
        .select_related("from_stage", "to_stage", "changed_by")
        .order_by("-changed_at", "-id")
    )


def contact_roles(opp: Opportunity) -> list[OpportunityContact]:
    return list(OpportunityContact.objects.filter(opportunity=opp).select_related("contact").order_by("id"))


def open_opportunities_of(actor: Actor, record, limit: int = 10) -> tuple[list[Opportunity], dict]:
    """The open deals of an account (or a contact's: as a deal contact or through their account)."""
    qs = visible(actor, Opportunity.objects.filter(status=Opportunity.Status.OPEN))
    if isinstance(record, Contact):
        involved = OpportunityContact.objects.filter(contact=record).values("opportunity_id")
        qs = qs.filter(pk__in=involved)
    else:
        qs = qs.filter(account=record)
    summary = qs.aggregate(count=Count("id"), amount=Sum("base_amount"))
    summary["amount"] = cents(summary["amount"] or ZERO)
    ordering = (F("expected_close_date").asc(nulls_last=True), "id")
    rows = list(qs.select_related("stage", "owner").order_by(*ordering)[:limit])
    return rows, summary


def deal_counts_by_stage() -> dict[int, int]:
    """How many deals each stage holds (the settings page: a stage with deals needs a target to delete)."""
    rows = Opportunity.objects.order_by().values("stage_id").annotate(n=Count("id"))
    return {row["stage_id"]: row["n"] for row in rows}
