"""Filter specs compile to the same records on SQLite and PostgreSQL; bad specs name their paths."""

from datetime import timedelta

import pytest
from django.utils import timezone

from kehu.core.errors import ValidationFailed
from kehu.customers import services as customers
from kehu.customers.models import Account, Contact
from kehu.customfields.services import create_definition as create_field
from kehu.listviews.filters import compile_filters, decode_spec, describe, encode_spec, relative_range
from kehu.listviews.registry import config_for

pytestmark = pytest.mark.django_db

ACCOUNTS = "customers.account"
CONTACTS = "customers.contact"


@pytest.fixture
def data(tenant):
    owner, sales = tenant.actors["owner"], tenant.users["sales"]
    with tenant.scope():
        create_field(owner, object_type=ACCOUNTS, key="seats", label="Seats", field_type="number")
        create_field(
            owner,
            object_type=ACCOUNTS,
            key="grade",
            label="Grade",
            field_type="single_select",
            options={"choices": [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}]},
        )
        create_field(owner, object_type=ACCOUNTS, key="signed", label="Signed", field_type="date")
        today = timezone.localdate()
        made = {
            "sh": customers.create_account(
                owner,
                name="上海明远贸易",
                city="上海",
                industry="Trade",
                kind="company",
                tags=["vip"],
                custom={"seats": 120, "grade": "a", "signed": (today - timedelta(days=3)).isoformat()},
            ),
            "bj": customers.create_account(
                owner,
                name="北京青禾科技",
                city="北京",
                industry="Software",
                owner_id=sales.pk,
                custom={"seats": 8, "grade": "b", "signed": (today - timedelta(days=60)).isoformat()},
            ),
            "zhang": customers.create_account(
                owner, name="张伟", kind="individual", city="上海", industry=""
            ),
            "north": customers.create_account(
                owner, name="Northwind Traders", city="Seattle", industry="Trade", tags=["vip", "usa"]
            ),
        }
        customers.create_contact(owner, name="王芳", account_id=made["sh"].pk, job_title="CEO")
        customers.create_contact(
            owner, name="李娜", account_id=made["bj"].pk, job_title="CTO", owner_id=sales.pk
        )
        customers.create_contact(owner, name="Anna", job_title="Buyer")
    return made


def names(tenant, object_type, spec, role="owner"):
    actor = tenant.actors[role]
    config = config_for(object_type)
    with tenant.scope():
        qs = config.queryset(actor, "").filter(compile_filters(actor, config, spec))
        return sorted(qs.values_list("name", flat=True))


def cond(field, lookup, value=None):
    return {"op": "and", "conditions": [{"field": field, "lookup": lookup, "value": value}]}


@pytest.mark.parametrize(
    ("field", "lookup", "value", "expected"),
    [
        ("city", "eq", "上海", ["上海明远贸易", "张伟"]),
        ("city", "ne", "上海", ["Northwind Traders", "北京青禾科技"]),
        ("name", "contains", "明远", ["上海明远贸易"]),
        ("name", "contains", "north", ["Northwind Traders"]),
        ("name", "startswith", "北京", ["北京青禾科技"]),
        ("city", "in", ["北京", "Seattle"], ["Northwind Traders", "北京青禾科技"]),
        ("city", "in", "北京,Seattle", ["Northwind Traders", "北京青禾科技"]),
        ("industry", "isnull", True, ["张伟"]),
        ("industry", "isnull", False, ["Northwind Traders", "上海明远贸易", "北京青禾科技"]),
        ("kind", "eq", "individual", ["张伟"]),
        ("kind", "in", ["company"], ["Northwind Traders", "上海明远贸易", "北京青禾科技"]),
        ("owner", "ne", "me", ["北京青禾科技"]),
        ("tag", "has", "vip", ["Northwind Traders", "上海明远贸易"]),
        ("tag", "hasnot", "vip", ["张伟", "北京青禾科技"]),
        (
            "created_at",
            "relative",
            "last_7_days",
            ["Northwind Traders", "上海明远贸易", "北京青禾科技", "张伟"],
        ),
        ("created_at", "relative", "last_month", []),
        ("custom.seats", "gte", 100, ["上海明远贸易"]),
        ("custom.seats", "lt", "100", ["北京青禾科技"]),
        ("custom.seats", "between", [5, 10], ["北京青禾科技"]),
        ("custom.seats", "isnull", True, ["Northwind Traders", "张伟"]),
        ("custom.grade", "eq", "a", ["上海明远贸易"]),
        ("custom.grade", "ne", "a", ["Northwind Traders", "北京青禾科技", "张伟"]),
        ("custom.grade", "in", ["a", "b"], ["上海明远贸易", "北京青禾科技"]),
        ("custom.signed", "relative", "last_30_days", ["上海明远贸易"]),
        ("custom.signed", "relative", "last_90_days", ["上海明远贸易", "北京青禾科技"]),
    ],
)
def test_each_lookup(tenant, data, field, lookup, value, expected):
    assert names(tenant, ACCOUNTS, cond(field, lookup, value)) == sorted(expected)


def test_owner_me_is_the_acting_user(tenant, data):
    assert names(tenant, ACCOUNTS, cond("owner", "eq", "me"), role="sales") == ["北京青禾科技"]
    # Visibility still applies: the sales persona only sees its own records whatever the filter.
    assert names(tenant, ACCOUNTS, cond("city", "eq", "上海"), role="sales") == []


def test_nested_groups(tenant, data):
    spec = {
        "op": "and",
        "conditions": [
            {"field": "kind", "lookup": "eq", "value": "company"},
            {
                "op": "or",
                "conditions": [
                    {"field": "city", "lookup": "eq", "value": "北京"},
                    {
                        "op": "and",
                        "conditions": [
                            {"field": "tag", "lookup": "has", "value": "vip"},
                            {"field": "industry", "lookup": "eq", "value": "Trade"},
                            {"field": "custom.seats", "lookup": "isnull", "value": True},
                        ],
                    },
                ],
            },
        ],
    }
    assert names(tenant, ACCOUNTS, spec) == ["Northwind Traders", "北京青禾科技"]
    spec["op"] = "or"
    assert names(tenant, ACCOUNTS, spec) == ["Northwind Traders", "上海明远贸易", "北京青禾科技"]
    assert names(tenant, ACCOUNTS, {"op": "or", "conditions": []}) == sorted(
        ["Northwind Traders", "上海明远贸易", "北京青禾科技", "张伟"]
    )


def test_related_fields_of_contacts(tenant, data):
    assert names(tenant, CONTACTS, cond("account.city", "eq", "上海")) == ["王芳"]
    assert names(tenant, CONTACTS, cond("account.kind", "eq", "company")) == ["李娜", "王芳"]
    assert names(tenant, CONTACTS, cond("account.name", "isnull", True)) == ["Anna"]
    assert names(tenant, CONTACTS, cond("job_title", "in", ["CEO", "CTO"])) == ["李娜", "王芳"]


def errors_of(tenant, object_type, spec):
    actor = tenant.actors["owner"]
    with tenant.scope(), pytest.raises(ValidationFailed) as failed:
        compile_filters(actor, config_for(object_type), spec)
    return {d.field: d.code for d in failed.value.details}


def test_invalid_specs_name_the_path(tenant, data):
    spec = {
        "op": "and",
        "conditions": [
            {"field": "city", "lookup": "eq", "value": "x"},
            {"field": "custom.seats", "lookup": "gt", "value": "many"},
            {"field": "nope", "lookup": "eq", "value": 1},
            {"field": "kind", "lookup": "contains", "value": "c"},
            {
                "op": "or",
                "conditions": [{"field": "created_at", "lookup": "between", "value": ["2026-01-01"]}],
            },
            {"field": "kind", "lookup": "eq", "value": "robot"},
            {"field": "custom.seats", "lookup": "startswith", "value": "1"},
            {"field": "created_at", "lookup": "relative", "value": "someday"},
            {"field": "city", "lookup": "in", "value": []},
        ],
    }
    assert errors_of(tenant, ACCOUNTS, spec) == {
        "filters.conditions.1.value": "invalid",
        "filters.conditions.2.field": "unknown",
        "filters.conditions.3.lookup": "invalid_choice",
        "filters.conditions.4.conditions.0.value": "invalid",
        "filters.conditions.5.value": "invalid",
        "filters.conditions.6.lookup": "invalid_choice",
        "filters.conditions.7.value": "invalid",
        "filters.conditions.8.value": "invalid",
    }


def test_depth_op_and_shape_limits(tenant, data):
    deep = {"op": "and", "conditions": [{"op": "and", "conditions": [{"op": "or", "conditions": [
        {"op": "and", "conditions": []}]}]}]}  # fmt: skip
    assert errors_of(tenant, ACCOUNTS, deep) == {"filters.conditions.0.conditions.0.conditions.0": "too_deep"}
    assert errors_of(tenant, ACCOUNTS, {"op": "xor", "conditions": []}) == {"filters.op": "invalid_choice"}
    assert errors_of(tenant, ACCOUNTS, {"op": "and", "conditions": "x"}) == {"filters.conditions": "invalid"}
    assert errors_of(tenant, ACCOUNTS, {"op": "and", "conditions": [3]}) == {
        "filters.conditions.0": "invalid"
    }


def test_hidden_custom_fields_cannot_be_filtered(tenant, data):
    with tenant.scope():
        create_field(
            tenant.actors["owner"],
            object_type=ACCOUNTS,
            key="margin",
            label="Margin",
            field_type="percent",
            visible_to_roles=["manager"],
        )
        with pytest.raises(ValidationFailed) as failed:
            compile_filters(tenant.actors["sales"], config_for(ACCOUNTS), cond("custom.margin", "gt", 1))
    assert failed.value.details[0].field == "filters.conditions.0.field"


def test_url_encoding_round_trip_and_description(tenant, data):
    spec = cond("city", "eq", "上海")
    assert decode_spec(encode_spec(spec)) == spec
    with pytest.raises(ValidationFailed):
        decode_spec("%%%not-base64")
    with tenant.scope():
        text = describe(tenant.actors["owner"], config_for(ACCOUNTS), spec)
    assert text == "(City is 上海)"


def test_relative_ranges():
    from datetime import date

    today = date(2026, 3, 15)
    assert relative_range("today", today) == (today, date(2026, 3, 16))
    assert relative_range("last_7_days", today) == (date(2026, 3, 9), date(2026, 3, 16))
    assert relative_range("this_month", today) == (date(2026, 3, 1), date(2026, 4, 1))
    assert relative_range("last_month", today) == (date(2026, 2, 1), date(2026, 3, 1))
    assert relative_range("this_year", today) == (date(2026, 1, 1), date(2027, 1, 1))
    assert relative_range("next_30_days", today) == (today, date(2026, 4, 15))


def test_models_are_the_registered_ones():
    assert config_for(ACCOUNTS).model is Account and config_for(CONTACTS).model is Contact
