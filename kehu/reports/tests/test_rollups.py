"""Rollups: the triggers keep them equal to a fresh GROUP BY through every write path, and a report
answered from a rollup gives the same rows as the same report run on the records — for every
dimension, bucket, value, filter, date range and record scope (own, team, all)."""

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Count, Q, Sum
from django.test.utils import CaptureQueriesContext
from django_scopes import scopes_disabled

from kehu.commerce import services as commerce
from kehu.commerce.models import Order, OrderRollup
from kehu.customers import services as customers
from kehu.customers.bulk import Table
from kehu.customers.models import Account, AccountRollup
from kehu.customfields.models import FieldDefinition
from kehu.reports import engine, rollups
from kehu.workspaces.models import Team

ORDER_KEYS = ("workspace_id", "order_date", "status", "currency", "owner_id", "team_id")
ORDER_SUMS = ("total_amount", "total_cost", "discount", "base_total_amount", "base_total_cost")
ACCOUNT_KEYS = ("workspace_id", "owner_id", "team_id", "grade", "lifecycle_stage", "kind", "size", "status")
STATUSES = [s for s, _label in Order.Status.choices]
GRADES = ["strategic", "important", "ordinary", ""]
STAGES = ["", *(s for s, _label in Account.Lifecycle.choices)]
SIZES = ["", *(s for s, _label in Account.Size.choices)]


def _money(rng) -> Decimal:
    # Quarters: exact in binary floating point too, so SQLite's REAL sums are exact on both paths.
    return Decimal(rng.randint(0, 40000)) / 4


def _fresh(model, keys, sums, count):
    """A GROUP BY of the records now, as {key: (count, sums…)} — what the rollup must hold."""
    with scopes_disabled():
        rows = model.objects.order_by().values(*keys).annotate(n=Count("*"), **{s: Sum(s) for s in sums})
        return {tuple(r[k] for k in keys): (r["n"], *(Decimal(r[s]) for s in sums)) for r in rows}


def _kept(model, keys, sums, count):
    with scopes_disabled():
        rows = model.objects.filter(**{f"{count}__gt": 0}).values(*keys, count, *sums)
        return {tuple(r[k] for k in keys): (r[count], *(Decimal(r[s]) for s in sums)) for r in rows}


def assert_exact():
    assert _kept(OrderRollup, ORDER_KEYS, ORDER_SUMS, "order_count") == _fresh(
        Order, ORDER_KEYS, ORDER_SUMS, "order_count"
    )
    assert _kept(AccountRollup, ACCOUNT_KEYS, (), "account_count") == _fresh(
        Account, ACCOUNT_KEYS, (), "account_count"
    )
    with scopes_disabled():
        assert not AccountRollup.objects.filter(account_count__lt=0).exists()
        assert not OrderRollup.objects.filter(order_count__lt=0).exists()


def _seed(tenant, rng, accounts=40, orders=240):
    """Random accounts and orders owned by every member (and nobody), some in teams."""
    ws = tenant.workspace
    users = [*tenant.users.values(), None]
    with scopes_disabled():
        north = Team.objects.create(workspace=ws, name="North")
        south = Team.objects.create(workspace=ws, name="South")
        north.members.add(tenant.users["manager"], tenant.users["sales"])
        south.members.add(tenant.users["marketing"])
        teams = [north, south, None]
        made = Account.objects.bulk_create(
            Account(
                workspace=ws,
                name=f"acc {i}",
                owner=rng.choice(users),
                team=rng.choice(teams),
                grade=rng.choice(GRADES),
                lifecycle_stage=rng.choice(STAGES),
                kind=rng.choice(["company", "individual"]),
                size=rng.choice(SIZES),
                status=rng.choice(["prospect", "active", "inactive"]),
                custom={"region": rng.choice(["n", "s"])},
            )
            for i in range(accounts)
        )
        Order.objects.bulk_create(
            Order(
                workspace=ws,
                number=f"N{i}",
                account=rng.choice(made),
                owner=rng.choice(users),
                team=rng.choice(teams),
                order_date=date(2025, 1, 1) + timedelta(days=rng.randint(0, 600)),
                status=rng.choice(STATUSES),
                currency=rng.choice(["CNY", "USD"]),
                total_amount=_money(rng),
                total_cost=_money(rng),
                discount=_money(rng),
                base_total_amount=_money(rng),
                base_total_cost=_money(rng),
            )
            for i in range(orders)
        )
        FieldDefinition.objects.create(
            workspace=ws,
            object_type="customers.account",
            key="region",
            label="Region",
            field_type="single_select",
            options={"choices": [{"value": "n", "label": "North"}, {"value": "s", "label": "South"}]},
        )
    return made


@pytest.fixture
def world(tenant, other_tenant):
    rng = random.Random(7)
    _seed(tenant, rng)
    _seed(other_tenant, rng, accounts=15, orders=80)
    return tenant


def _filter(*conditions, op="and"):
    return {"op": op, "conditions": list(conditions)}


MONTH = {"field": "order_date", "bucket": "month"}
ORDER_REPORTS = [
    {"group_by": [{"field": "status"}]},
    {"group_by": [MONTH], "aggregates": [{"fn": "sum", "field": "base_total_amount"}, {"fn": "count"}]},
    *(
        {"group_by": [{"field": "order_date", "bucket": b}], "aggregates": [{"fn": "count"}]}
        for b in ("day", "week", "quarter", "year")
    ),
    {
        "group_by": [{"field": "status"}],
        "aggregates": [{"fn": "count"}, {"fn": "avg", "field": "base_total_amount"}],
    },
    {
        "group_by": [{"field": "owner"}],
        "aggregates": [{"fn": "avg", "field": "total_amount"}],
        "sort": "value_asc",
    },
    {
        "group_by": [{"field": "team"}, {"field": "currency"}],
        "aggregates": [{"fn": "sum", "field": "total_cost"}],
    },
    {"group_by": [{"field": "status"}, {"field": "owner"}], "limit": 3},
    {"group_by": [MONTH, {"field": "status"}], "aggregates": [{"fn": "sum", "field": "discount"}]},
    {"group_by": [], "aggregates": [{"fn": "count"}, {"fn": "sum", "field": "base_total_cost"}]},
    {"group_by": [], "aggregates": [{"fn": "avg", "field": "base_total_amount"}]},
    {
        "filters": _filter({"field": "status", "lookup": "in", "value": ["paid", "shipped"]}),
        "group_by": [MONTH],
    },
    {
        "filters": _filter({"field": "owner", "lookup": "eq", "value": "me"}),
        "group_by": [{"field": "status"}],
    },
    {
        "filters": _filter({"field": "owner", "lookup": "isnull", "value": True}),
        "group_by": [{"field": "status"}],
    },
    {
        "filters": _filter(
            {"field": "currency", "lookup": "ne", "value": "USD"},
            _filter(
                {"field": "status", "lookup": "eq", "value": "paid"},
                {"field": "order_date", "lookup": "gte", "value": "2026-01-01"},
                op="or",
            ),
        ),
        "group_by": [{"field": "status"}],
    },
    {
        "filters": _filter(
            {"field": "order_date", "lookup": "between", "value": ["2025-03-01", "2025-09-30"]}
        ),
        "group_by": [{"field": "order_date", "bucket": "quarter"}],
        "aggregates": [{"fn": "sum", "field": "total_amount"}, {"fn": "avg", "field": "total_amount"}],
    },
]
ACCOUNT_REPORTS = [
    {"group_by": [{"field": "grade"}], "date_field": ""},
    {"group_by": [{"field": "lifecycle_stage"}], "date_field": "", "sort": "group"},
    {"group_by": [{"field": "owner"}, {"field": "grade"}], "date_field": ""},
    {"group_by": [{"field": "kind"}, {"field": "size"}], "date_field": ""},
    {"group_by": [{"field": "team"}, {"field": "status"}], "date_field": "", "limit": 4},
    {"group_by": [], "date_field": ""},
    {
        "filters": _filter({"field": "grade", "lookup": "in", "value": ["strategic", "important"]}),
        "group_by": [{"field": "lifecycle_stage"}],
        "date_field": "",
    },
    {
        "filters": _filter({"field": "owner", "lookup": "isnull", "value": True}),
        "group_by": [{"field": "grade"}],
        "date_field": "",
    },
]
ROLES = ["owner", "manager", "sales", "marketing", "service", "readonly"]
RANGES = [
    (None, None),
    (date(2025, 4, 1), date(2025, 12, 31)),
    (None, date(2025, 6, 30)),
    (date(2026, 1, 1), None),
]


def _result(actor, object_type, definition, start=None, end=None, use_rollups=True):
    dated = "order_date" if object_type == "commerce.order" else ""
    cleaned = engine.clean_definition(actor, object_type, {"date_field": dated, **definition})
    with CaptureQueriesContext(connection) as context:
        result = engine.run(actor, object_type, cleaned, start=start, end=end, use_rollups=use_rollups)
    used = any("rollup" in q["sql"] for q in context.captured_queries)
    rows = [(r.keys, r.labels, r.values) for r in result.rows]
    return (result.dimensions, result.measures, rows, result.truncated), used


def _same(actor, object_type, definition, start=None, end=None, expect_rollup=True):
    fast, used = _result(actor, object_type, definition, start, end)
    slow, direct_used = _result(actor, object_type, definition, start, end, use_rollups=False)
    assert not direct_used
    assert used is expect_rollup, (object_type, definition)
    assert fast == slow, (actor.membership.role.key, definition, start, end)
    return fast


@pytest.mark.parametrize("role", ROLES)
def test_order_reports_from_the_rollup_equal_the_records(world, role):
    actor = world.actors[role]
    with world.scope():
        for definition in ORDER_REPORTS:
            for start, end in RANGES:
                _same(actor, "commerce.order", definition, start, end)


@pytest.mark.parametrize("role", ROLES)
def test_account_reports_from_the_rollup_equal_the_records(world, role):
    actor = world.actors[role]
    with world.scope():
        for definition in ACCOUNT_REPORTS:
            _same(actor, "customers.account", definition)


def test_the_rollup_answers_are_not_empty(world):
    """The comparisons above compare something: each role sees rows, the rep fewer than the owner."""
    with world.scope():
        everything = _same(world.actors["owner"], "commerce.order", ORDER_REPORTS[0])
        own = _same(world.actors["sales"], "commerce.order", ORDER_REPORTS[0])
        team = _same(world.actors["manager"], "commerce.order", ORDER_REPORTS[0])
        records = Order.objects.count()
    total = sum(r[2][0] for r in everything[2])
    assert total == records == 240
    assert 0 < sum(r[2][0] for r in own[2]) < sum(r[2][0] for r in team[2]) < total


def test_reports_the_rollup_cannot_answer_fall_back_and_stay_right(world):
    owner = world.actors["owner"]
    region = _filter({"field": "custom.region", "lookup": "eq", "value": "n"})
    with world.scope():
        # a custom field filter; a field the rollup does not keep; min/max; a datetime range
        (_d, _m, rows, _t), used = _result(owner, "customers.account", {"filters": region, "date_field": ""})
        assert not used
        assert rows[0][2] == [Account.objects.filter(custom__region="n").count()]
        _same(
            owner,
            "customers.account",
            {"filters": region, "group_by": [{"field": "grade"}]},
            expect_rollup=False,
        )
        _same(
            owner,
            "customers.account",
            {"group_by": [{"field": "created_at", "bucket": "month"}]},
            expect_rollup=False,
        )
        _same(
            owner,
            "customers.account",
            {"group_by": [{"field": "grade"}], "date_field": "created_at"},
            date(2020, 1, 1),
            date(2030, 1, 1),
            expect_rollup=False,
        )
        _same(owner, "commerce.order", {"group_by": [{"field": "account"}]}, expect_rollup=False)
        _same(
            owner,
            "commerce.order",
            {"group_by": [{"field": "status"}], "aggregates": [{"fn": "max", "field": "total_amount"}]},
            expect_rollup=False,
        )
        _same(
            owner,
            "commerce.order",
            {"group_by": [], "aggregates": [{"fn": "sum", "field": "exchange_rate"}]},
            expect_rollup=False,
        )
        name = _filter({"field": "account.name", "lookup": "contains", "value": "acc 1"})
        (_d, _m, rows, _t), used = _result(owner, "commerce.order", {"filters": name})
        assert not used
        assert rows[0][2] == [Order.objects.filter(account__name__icontains="acc 1").count()]
        # an undated report with a range on the order date still fits (the range is a column filter)
        _same(
            owner, "commerce.order", {"group_by": [{"field": "status"}]}, date(2025, 5, 1), date(2025, 5, 31)
        )


def test_a_rollup_row_of_another_workspace_never_shows(world, other_tenant):
    with world.scope():
        (_d, _m, rows, _t), used = _result(world.actors["owner"], "commerce.order", {"group_by": []})
    assert used
    assert rows[0][2] == [240]
    with other_tenant.scope():
        (_d, _m, rows, _t), used = _result(other_tenant.actors["owner"], "commerce.order", {"group_by": []})
    assert rows[0][2] == [80]
    with scopes_disabled():
        assert OrderRollup.objects.filter(workspace=other_tenant.workspace).exists()


def test_the_migration_back_fill_matches_the_records(world):
    """The migration's back-fill statement, run on the seeded data, gives what the triggers kept."""
    from importlib import import_module

    migration = import_module("kehu.commerce.migrations.0006_order_rollup")
    kept = _kept(OrderRollup, ORDER_KEYS, ORDER_SUMS, "order_count")
    backfill = migration._rollup.trigger_sql(
        connection.vendor,
        "commerce_order",
        "commerce_orderrollup",
        migration.KEYS,
        {"owner_id", "team_id"},
        "order_count",
        migration.SUMS,
    )[-1]
    with scopes_disabled():
        OrderRollup.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(backfill)
    assert _kept(OrderRollup, ORDER_KEYS, ORDER_SUMS, "order_count") == kept
    assert_exact()


def test_every_write_path_keeps_the_rollups_exact(world, other_tenant):
    assert_exact()
    owner, sales = world.actors["owner"], world.actors["sales"]
    with world.scope():
        account = Account.objects.order_by("pk").first()
        # services: create, update (amount, status, date, owner), delete
        order = commerce.create_order(
            owner,
            account_id=account.pk,
            currency="CNY",
            order_date=date(2025, 2, 2),
            status="confirmed",
            lines=[{"description": "x", "quantity": "2", "unit_price": "10.25"}],
        )
        assert_exact()
        commerce.update_order(
            owner, order, lines=[{"description": "y", "quantity": "1", "unit_price": "7.5"}]
        )
        commerce.change_status(owner, order, "paid")
        commerce.update_order(owner, order, order_date=date(2025, 3, 3), owner_id=sales.user.pk)
        assert_exact()
        commerce.delete_order(owner, order)
        assert_exact()
        made = customers.create_account(owner, name="Rollup Co", grade="important", lifecycle_stage="new")
        customers.update_account(owner, made, grade="strategic", size="10-49")
        assert_exact()
        customers.delete_account(owner, made)
        assert_exact()

        # QuerySet.update of every kept column (and of one it does not keep)
        orders = Order.objects.filter(pk__in=Order.objects.order_by("pk").values("pk")[:50])
        orders.filter(status="draft").update(status="paid")
        orders.update(owner=sales.user)
        orders.update(base_total_amount=Decimal("12.50"), total_amount=Decimal("1.25"))
        orders.update(order_date=date(2026, 6, 1), currency="USD")
        orders.update(notes="no change to the rollup")
        Account.objects.filter(grade="ordinary").update(grade="important", lifecycle_stage="at_risk")
        Account.objects.update(kind="company")
        assert_exact()

        # raw SQL like the analytics engine's
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE customers_account SET lifecycle_stage = 'churned', grade = '' WHERE id %% 3 = 0 "
                "AND workspace_id = %s",
                [world.workspace.pk],
            )
            cursor.execute(
                "UPDATE commerce_order SET status = 'refunded', base_total_amount = base_total_amount + 1 "
                "WHERE id %% 4 = 0 AND workspace_id = %s",
                [world.workspace.pk],
            )
        assert_exact()

        # bulk insert (COPY on PostgreSQL), then deletes: a queryset delete of many orders
        Table(
            Order,
            (
                "workspace_id",
                "number",
                "account_id",
                "owner_id",
                "order_date",
                "status",
                "currency",
                "base_total_amount",
                "created_at",
                "updated_at",
            ),
        ).insert(
            [
                (
                    world.workspace.pk,
                    f"B{i}",
                    account.pk,
                    sales.user.pk,
                    date(2025, 7, 1 + i % 20),
                    "paid",
                    "CNY",
                    Decimal(i) / 4,
                    account.created_at,
                    account.created_at,
                )
                for i in range(60)
            ]
        )
        assert_exact()
        Order.objects.filter(account=account).delete()
        Order.objects.filter(number__startswith="N1").delete()
        customers.delete_account(owner, account)  # its orders are gone: the account can go
        assert_exact()

    # a user leaving: the orders' owner becomes NULL, the rollup follows
    world.users["marketing"].delete()
    assert_exact()
    # a whole workspace going: every rollup row of it goes with it, the other workspace's stay
    with scopes_disabled():
        before = _kept(OrderRollup, ORDER_KEYS, ORDER_SUMS, "order_count")
        Order.objects.filter(workspace=other_tenant.workspace).delete()
    assert_exact()
    assert {k for k in before if k[0] == world.workspace.pk} <= set(
        _kept(OrderRollup, ORDER_KEYS, ORDER_SUMS, "order_count")
    )


def test_the_tile_cache_sees_writes_through_the_rollup(world):
    """A tile read from the rollup is kept like any other, and any write to the orders ends it."""
    owner = world.actors["owner"]
    with world.scope():
        definition = engine.clean_definition(owner, "commerce.order", {"group_by": [{"field": "status"}]})
        first = engine.run(owner, "commerce.order", definition, cached=True)
        again = engine.run(owner, "commerce.order", definition, cached=True)
        assert first.computed_at is not None and again.computed_at == first.computed_at
        Order.objects.filter(status="paid").update(status="shipped")
        after = engine.run(owner, "commerce.order", definition, cached=True)
        shipped = Order.objects.filter(status="shipped").count()
    counts = {r.keys[0]: r.value for r in after.rows}
    assert after.computed_at != first.computed_at
    assert "paid" not in counts
    assert counts["shipped"] == shipped


def test_the_plan_refuses_what_it_cannot_vouch_for():
    assert rollups.covered(Q(owner_id=1) | Q(team_id__in=[1, 2]), rollups.ROLLUPS["commerce.order"].columns)
    assert not rollups.covered(Q(pk__in=[]), rollups.ROLLUPS["commerce.order"].columns)
    assert not rollups.covered(Q(owner__name__icontains="x"), rollups.ROLLUPS["commerce.order"].columns)
    assert not rollups.covered(Q(status__regex="x"), rollups.ROLLUPS["commerce.order"].columns)
    from django.db.models import F

    assert not rollups.covered(
        Q(total_amount__gte=F("total_cost")), rollups.ROLLUPS["commerce.order"].columns
    )
