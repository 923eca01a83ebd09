"""The builder's one grouped query: every aggregate and date bucket against hand-computed fixtures
(tests/conftest.py), custom fields, labels, record permissions, validation."""

from datetime import date
from decimal import Decimal

import pytest

from kehu.core.errors import ValidationFailed
from kehu.reports import engine


def run(actor, object_type, **definition):
    cleaned = engine.clean_definition(actor, object_type, definition)
    start, end = definition.pop("start", None), definition.pop("end", None)
    return engine.run(actor, object_type, cleaned, start=start, end=end)


def table(result):
    return {row.labels: row.values for row in result.rows}


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        ("count", {("a1",): [2], ("a2",): [1], ("a4",): [1], ("a5",): [1]}),
        (
            "sum",
            {
                ("a1",): [Decimal(400)],
                ("a2",): [Decimal("50.50")],
                ("a4",): [Decimal(1000)],
                ("a5",): [Decimal("9.50")],
            },
        ),
        (
            "avg",
            {
                ("a1",): [Decimal(200)],
                ("a2",): [Decimal("50.50")],
                ("a4",): [Decimal(1000)],
                ("a5",): [Decimal("9.50")],
            },
        ),
        (
            "min",
            {
                ("a1",): [Decimal(100)],
                ("a2",): [Decimal("50.50")],
                ("a4",): [Decimal(1000)],
                ("a5",): [Decimal("9.50")],
            },
        ),
        (
            "max",
            {
                ("a1",): [Decimal(300)],
                ("a2",): [Decimal("50.50")],
                ("a4",): [Decimal(1000)],
                ("a5",): [Decimal("9.50")],
            },
        ),
    ],
)
def test_each_aggregate_by_foreign_key_name(data, fn, expected):
    agg = {"fn": fn} if fn == "count" else {"fn": fn, "field": "total_amount"}
    with data.tenant.scope():
        result = run(
            data.tenant.actors["owner"], "commerce.order", group_by=[{"field": "account"}], aggregates=[agg]
        )
    assert table(result) == expected
    assert result.dimensions == ["Account"]


def test_totals_without_grouping_and_several_aggregates(data):
    aggs = [{"fn": "count"}, *({"fn": f, "field": "total_amount"} for f in ("sum", "avg", "min", "max"))]
    with data.tenant.scope():
        result = run(data.tenant.actors["owner"], "commerce.order", aggregates=aggs)
    assert [r.values for r in result.rows] == [
        [5, Decimal(1460), Decimal(292), Decimal("9.50"), Decimal(1000)]
    ]
    assert result.measures[0] == "Count" and result.measures[1].startswith("Sum")


@pytest.mark.parametrize(
    ("bucket", "expected"),
    [
        # a3 was created at 00:30 on 1 March in Shanghai (still 28 February in UTC).
        (
            "day",
            {
                "2026-01-10": 1,
                "2026-01-20": 1,
                "2026-03-01": 1,
                "2026-02-05": 1,
                "2026-02-06": 1,
                "2026-03-15": 1,
            },
        ),
        ("week", {"2026-W02": 1, "2026-W04": 1, "2026-W06": 2, "2026-W09": 1, "2026-W11": 1}),
        ("month", {"2026-01": 2, "2026-02": 2, "2026-03": 2}),
        ("quarter", {"2026 Q1": 6}),
        ("year", {"2026": 6}),
    ],
)
def test_datetime_buckets_in_the_workspace_time_zone(data, bucket, expected):
    with data.tenant.scope():
        result = run(
            data.tenant.actors["owner"],
            "customers.account",
            group_by=[{"field": "created_at", "bucket": bucket}],
        )
    assert {row.labels[0]: row.value for row in result.rows} == expected
    assert [row.labels[0] for row in result.rows] == sorted(expected)  # dates in order by default


def test_date_field_month_bucket_and_sum(data):
    with data.tenant.scope():
        result = run(
            data.tenant.actors["owner"],
            "commerce.order",
            group_by=[{"field": "order_date", "bucket": "month"}],
            aggregates=[{"fn": "sum", "field": "total_amount"}],
        )
    assert table(result) == {
        ("2026-01",): [Decimal(100)],
        ("2026-02",): [Decimal("1350.50")],
        ("2026-03",): [Decimal("9.50")],
    }


def test_two_dimensions_choice_labels_and_pivot(data):
    with data.tenant.scope():
        result = run(
            data.tenant.actors["owner"],
            "customers.account",
            group_by=[{"field": "grade"}, {"field": "created_at", "bucket": "month"}],
        )
    assert table(result) == {
        ("Strategic", "2026-01"): [1],
        ("Strategic", "2026-02"): [1],
        ("Important", "2026-01"): [1],
        ("Ordinary", "2026-02"): [1],
        ("Ordinary", "2026-03"): [1],
        ("(empty)", "2026-03"): [1],
    }
    # The grade order of the workspace's tiers, then empty.
    assert [r.labels[0] for r in result.rows][:3] == ["Strategic", "Strategic", "Important"]
    pivot = result.pivot()
    assert pivot["columns"] == ["2026-01", "2026-02", "2026-03"]
    assert ("Ordinary", [None, 1, 1]) in pivot["rows"]


def test_lifecycle_stage_labels_in_choice_order(data):
    with data.tenant.scope():
        result = run(
            data.tenant.actors["owner"],
            "customers.account",
            group_by=[{"field": "lifecycle_stage"}],
            sort="group",
        )
    assert [r.labels[0] for r in result.rows] == [
        "Prospect",
        "New customer",
        "Active / repeat",
        "At risk",
        "Churned",
    ]
    assert [r.value for r in result.rows] == [1, 1, 2, 1, 1]


def test_custom_field_group_by_and_sum(data):
    with data.tenant.scope():
        result = run(
            data.tenant.actors["owner"],
            "customers.account",
            group_by=[{"field": "custom.region"}],
            aggregates=[{"fn": "count"}, {"fn": "sum", "field": "custom.seats"}],
            sort="value_desc",
        )
    assert table(result) == {
        ("North",): [3, Decimal(30)],
        ("South",): [2, Decimal(9)],
        ("(empty)",): [1, Decimal(1)],
    }
    assert result.rows[0].labels == ("North",)


def test_filters_use_the_list_filter_language(data):
    spec = {"op": "and", "conditions": [{"field": "status", "lookup": "eq", "value": "paid"}]}
    with data.tenant.scope():
        result = run(
            data.tenant.actors["owner"],
            "commerce.order",
            filters=spec,
            aggregates=[{"fn": "sum", "field": "total_amount"}],
        )
    assert result.rows[0].values == [Decimal(1400)]


def test_record_permissions_apply_two_members_see_different_numbers(data):
    with data.tenant.scope():
        mine = run(
            data.tenant.actors["sales"],
            "commerce.order",
            aggregates=[{"fn": "count"}, {"fn": "sum", "field": "total_amount"}],
        )
        everyone = run(
            data.tenant.actors["owner"],
            "commerce.order",
            aggregates=[{"fn": "count"}, {"fn": "sum", "field": "total_amount"}],
        )
        accounts = run(data.tenant.actors["sales"], "customers.account", group_by=[{"field": "owner"}])
    assert mine.rows[0].values == [3, Decimal("450.50")]
    assert everyone.rows[0].values == [5, Decimal(1460)]
    assert [(r.labels, r.value) for r in accounts.rows] == [((str(data.tenant.users["sales"].name),), 3)]


def test_date_range_on_the_date_field_in_local_days(data):
    with data.tenant.scope():
        result = run(
            data.tenant.actors["owner"],
            "customers.account",
            date_field="created_at",
            start=date(2026, 2, 1),
            end=date(2026, 2, 28),
        )
    assert result.rows[0].value == 2  # a4, a5 — not a3 (1 March local)


def test_sort_and_limit(data):
    with data.tenant.scope():
        result = run(
            data.tenant.actors["owner"],
            "commerce.order",
            group_by=[{"field": "account"}],
            aggregates=[{"fn": "sum", "field": "total_amount"}],
            sort="value_asc",
            limit=2,
        )
    assert [r.labels[0] for r in result.rows] == ["a5", "a2"]
    assert result.truncated


def test_validation_names_each_bad_part(data):
    with data.tenant.scope(), pytest.raises(ValidationFailed) as failed:
        engine.clean_definition(
            data.tenant.actors["owner"],
            "customers.account",
            {
                "group_by": [{"field": "nope"}, {"field": "grade", "bucket": "month"}, {"field": "city"}],
                "aggregates": [{"fn": "sum", "field": "name"}, {"fn": "median"}],
                "limit": 0,
                "filters": {"op": "and", "conditions": [{"field": "x", "lookup": "eq", "value": 1}]},
            },
        )
    fields = {d.field for d in failed.value.details}
    assert {
        "definition.group_by",
        "definition.aggregates.0.field",
        "definition.aggregates.1.fn",
        "definition.limit",
        "definition.filters.conditions.0.field",
    } <= fields


def test_unknown_object_type_and_reports_are_not_reportable(data):
    with data.tenant.scope():
        for object_type in ("nope.thing", "reports.report"):
            with pytest.raises(ValidationFailed) as failed:
                engine.clean_definition(data.tenant.actors["owner"], object_type, {})
            assert failed.value.details[0].field == "object_type"


def test_hidden_custom_field_is_not_offered(data):
    from kehu.customfields.models import FieldDefinition
    from kehu.reports.fields import report_fields

    with data.tenant.scope():
        FieldDefinition.objects.filter(key="seats").update(visible_to_roles=["manager"])
        assert "custom.seats" not in report_fields(data.tenant.actors["sales"], "customers.account")
        assert "custom.seats" in report_fields(data.tenant.actors["owner"], "customers.account")


def test_one_query(data, django_assert_max_num_queries):
    actor = data.tenant.actors["owner"]
    with data.tenant.scope():
        cleaned = engine.clean_definition(
            actor,
            "commerce.order",
            {"group_by": [{"field": "account"}, {"field": "order_date", "bucket": "month"}]},
        )
        with django_assert_max_num_queries(1):
            engine.run(actor, "commerce.order", cleaned)
