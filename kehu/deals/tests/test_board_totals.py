"""The fast paths of the board and reports: furthest stage reached, column totals by window."""

import importlib
from datetime import date, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from kehu.deals import queries, services
from kehu.deals.models import OpenStageTotal, Opportunity, Stage

pytestmark = pytest.mark.django_db

BACKFILL = importlib.import_module("kehu.deals.migrations.0003_board_totals_furthest").BACKFILL


def _deal(actor, setup, name="X", **extra):
    values = {"amount": 1000, "expected_close_date": date.today() + timedelta(days=30), **extra}
    return services.create_opportunity(actor, name=name, account_id=setup["account"].pk, **values)


def _furthest(pk):
    return Opportunity.objects.get(pk=pk).furthest_position


def test_furthest_position_follows_the_moves(tenant, deal_setup):
    stages = deal_setup["stages"]  # by probability: 10, 20, 50, 75 open; 100 won; 0 lost
    with tenant.scope():
        sales = tenant.actors["sales"]
        opp = _deal(sales, deal_setup)
        assert _furthest(opp.pk) == stages[10].position == 0
        services.move_to_stage(sales, opp, stages[75])
        assert _furthest(opp.pk) == stages[75].position == 3
        services.move_to_stage(sales, opp, stages[20])  # moving back keeps the furthest
        assert _furthest(opp.pk) == 3
        services.lose(sales, opp, "Price")  # a lost stage is never "reached"
        assert _furthest(opp.pk) == 3
        other = _deal(sales, deal_setup, name="Y")
        services.win(sales, other)
        assert _furthest(other.pk) == stages[100].position == 4
        lost_at_once = _deal(sales, deal_setup, name="Z", stage_id=stages[0].pk, lost_reason="Price")
        assert _furthest(lost_at_once.pk) is None
        # The history says the same: the repair function and the migration's backfill agree.
        expected = {o.pk: o.furthest_position for o in Opportunity.objects.all()}
        Opportunity.objects.update(furthest_position=99)
        services.recompute_furthest(deal_setup["pipeline"].pk)
        assert {o.pk: o.furthest_position for o in Opportunity.objects.all()} == expected
        Opportunity.objects.update(furthest_position=99)
        with connection.cursor() as cursor:
            cursor.execute(BACKFILL)
        assert {o.pk: o.furthest_position for o in Opportunity.objects.all()} == expected


def test_reordering_stages_recomputes_the_furthest_position(tenant, deal_setup):
    stages = deal_setup["stages"]
    with tenant.scope():
        sales, admin = tenant.actors["sales"], tenant.actors["admin"]
        opp = _deal(sales, deal_setup)
        services.move_to_stage(sales, opp, stages[20])
        assert _furthest(opp.pk) == 1
        order = [stages[p].pk for p in (20, 50, 10, 75, 100, 0)]  # Needs analysis first now
        services.reorder_stages(admin, deal_setup["pipeline"], order)
        # Entered: Qualification (now 2) and Needs analysis (now 0).
        assert _furthest(opp.pk) == 2


def test_column_totals_window_and_close_dates(tenant, deal_setup):
    stages = deal_setup["stages"]
    now = timezone.now()
    with tenant.scope():
        sales = tenant.actors["sales"]
        pipeline = deal_setup["pipeline"]
        long_ago = date.today() - timedelta(days=200)
        old = _deal(sales, deal_setup, name="old", amount=100, expected_close_date=long_ago)
        services.win(sales, old, at=now - timedelta(days=200))
        recent = _deal(sales, deal_setup, name="recent", amount=300, at=now - timedelta(days=20))
        services.win(sales, recent, at=now - timedelta(days=2))
        _deal(sales, deal_setup, name="open", amount=500)

        def totals(filters):
            records = queries.board_records(sales, pipeline, filters)
            return queries.column_totals(records, filters.closed_since())

        plain = totals(queries.BoardFilters())
        assert plain[stages[100].pk] == {"count": 1, "amount": 300, "weighted": 300}
        assert plain[stages[10].pk]["count"] == 1 and plain[stages[10].pk]["amount"] == 500
        columns = queries.board(
            queries.board_records(sales, pipeline, queries.BoardFilters()), pipeline, closed_since=now
        )
        assert [c.count for c in columns if c.stage.is_won] == [0]  # nothing closed since "now"
        # A close-date range shows closed deals of any age whose close date falls in it.
        old_close = Opportunity.objects.get(pk=old.pk).expected_close_date
        ranged = totals(queries.BoardFilters(close_from=old_close, close_to=old_close))
        assert ranged[stages[100].pk]["count"] == 1 and ranged[stages[100].pk]["amount"] == 100


def test_column_totals_sum_a_stage_holding_open_and_closed_deals(tenant, deal_setup):
    stages = deal_setup["stages"]
    with tenant.scope():
        sales, admin = tenant.actors["sales"], tenant.actors["admin"]
        pipeline = deal_setup["pipeline"]
        before = _deal(sales, deal_setup, name="before", amount=200)
        services.move_to_stage(sales, before, stages[75])
        # The stage becomes a won stage: the deal in it stays open until it moves again.
        services.update_stage(admin, stages[75], is_won=True)
        after = _deal(sales, deal_setup, name="after", amount=300)
        services.move_to_stage(sales, after, Stage.objects.get(pk=stages[75].pk))
        statuses = set(Opportunity.objects.filter(stage=stages[75]).values_list("status", flat=True))
        assert statuses == {"open", "won"}
        filters = queries.BoardFilters()
        totals = queries.column_totals(
            queries.board_records(sales, pipeline, filters), filters.closed_since()
        )
        assert totals[stages[75].pk]["count"] == 2 and totals[stages[75].pk]["amount"] == 500


def _open_totals_by_hand():
    """The open deals' totals counted from the deals: {(stage, owner, team): (count, amount, weighted)}."""
    sums = {}
    for o in Opportunity.objects.filter(status=Opportunity.Status.OPEN):
        key = (o.stage_id, o.owner_id, o.team_id)
        n, amount, weighted = sums.get(key, (0, 0, 0))
        sums[key] = (n + 1, amount + o.base_amount, weighted + o.base_amount * o.probability)
    return sums


def _open_totals_kept():
    return {
        (t.stage_id, t.owner_id, t.team_id): (t.deal_count, t.amount_sum, t.weighted_sum)
        for t in OpenStageTotal.objects.all()
        if t.deal_count
    }


def test_open_stage_totals_follow_every_write_path(tenant, deal_setup):
    """The triggers keep the running totals exact through services, queryset updates and deletes."""
    stages = deal_setup["stages"]
    with tenant.scope():
        sales, admin = tenant.actors["sales"], tenant.actors["admin"]
        deals = [_deal(sales, deal_setup, name=f"D{i}", amount=100 * (i + 1)) for i in range(6)]
        _deal(admin, deal_setup, name="A", amount=777)
        assert _open_totals_kept() == _open_totals_by_hand()
        services.move_to_stage(sales, deals[0], stages[75])  # stage and probability change
        services.win(sales, deals[1])  # leaves the open totals
        services.lose(sales, deals[2], "Price")
        services.update_opportunity(sales, deals[3], amount=5000)  # amount changes
        services.update_opportunity(sales, deals[4], next_step="Call")  # nothing summed changes
        Opportunity.objects.filter(pk=deals[5].pk).update(owner=tenant.users["admin"])  # bypasses services
        services.delete_opportunity(admin, deals[4])
        assert _open_totals_kept() == _open_totals_by_hand()
        services.move_to_stage(sales, Opportunity.objects.get(pk=deals[1].pk), stages[20])  # reopened
        assert _open_totals_kept() == _open_totals_by_hand()
        # A fresh count through the board's rollup path equals the deals' own GROUP BY.
        pipeline = deal_setup["pipeline"]
        for actor in (admin, sales):
            filters = queries.BoardFilters()
            records = queries.board_records(actor, pipeline, filters)
            rollup = queries.open_totals(actor, pipeline, filters)
            assert rollup is not None
            assert queries.column_totals(records, None, rollup) == queries.column_totals(records, None)
        by_owner = queries.BoardFilters(owner_id=tenant.users["admin"].pk)
        records = queries.board_records(admin, pipeline, by_owner)
        rollup = queries.open_totals(admin, pipeline, by_owner)
        assert queries.column_totals(records, None, rollup) == queries.column_totals(records, None)
        assert queries.open_totals(admin, pipeline, queries.BoardFilters(q="D")) is None
