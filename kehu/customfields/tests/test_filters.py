"""custom_filter on the JSON column: every operator, on SQLite and PostgreSQL (run both)."""

import pytest
from django.http import QueryDict

from kehu.core.errors import ValidationFailed
from kehu.customers.models import Account
from kehu.customfields import services
from kehu.customfields.queries import custom_filter, filter_from_params

pytestmark = pytest.mark.django_db

ACCOUNT = "customers.account"
CHOICES = {
    "choices": [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}, {"value": "c", "label": "C"}]
}


@pytest.fixture
def data(tenant):
    owner = tenant.actors["owner"]
    with tenant.scope():
        for key, field_type, extra in (
            ("size", "number", {}),
            ("revenue", "money", {}),
            ("since", "date", {}),
            ("seen", "datetime", {}),
            ("vip", "boolean", {}),
            ("tier", "single_select", {"options": CHOICES}),
            ("tags", "multi_select", {"options": CHOICES}),
            ("note", "text", {}),
            ("secret", "text", {"visible_to_roles": ["manager"]}),
        ):
            services.create_definition(
                owner, object_type=ACCOUNT, key=key, label=key, field_type=field_type, **extra
            )
        rows = {
            "one": {
                "size": 5,
                "revenue": "100.00",
                "since": "2024-01-10",
                "seen": "2026-01-01T08:00:00Z",
                "vip": True,
                "tier": "a",
                "tags": ["a", "b"],
                "note": "Big 客户 in Beijing",
            },
            "two": {
                "size": 50,
                "revenue": "2500.50",
                "since": "2025-06-01",
                "seen": "2026-02-01T08:00:00Z",
                "vip": False,
                "tier": "b",
                "tags": ["b"],
                "note": "small",
                "secret": "x",
            },
            "three": {"size": "7.5", "tier": "c", "tags": ["c"]},
            "none": {},
        }
        for name, custom in rows.items():
            Account.objects.create(workspace=tenant.workspace, name=name, custom=custom)
    return tenant


def names(tenant, condition) -> set[str]:
    with tenant.scope():
        return set(Account.objects.filter(condition).values_list("name", flat=True))


@pytest.mark.parametrize(
    ("key", "op", "value", "expected"),
    [
        ("size", "eq", "5", {"one"}),
        ("size", "eq", "7.50", {"three"}),
        ("size", "ne", 5, {"two", "three", "none"}),
        ("size", "gt", "6", {"two", "three"}),
        ("size", "gte", "50", {"two"}),
        ("size", "lt", 8, {"one", "three"}),
        ("size", "lte", "5", {"one"}),
        ("size", "in", "5,50", {"one", "two"}),
        ("size", "isnull", "true", {"none"}),
        ("size", "isnull", "false", {"one", "two", "three"}),
        ("revenue", "gte", "1000", {"two"}),
        ("revenue", "eq", "100", {"one"}),
        ("since", "lt", "2025-01-01", {"one"}),
        ("since", "gte", "2025-01-01", {"two"}),
        ("seen", "gt", "2026-01-15T00:00:00Z", {"two"}),
        ("vip", "eq", "true", {"one"}),
        ("vip", "eq", "false", {"two"}),
        ("tier", "eq", "b", {"two"}),
        ("tier", "in", ["a", "c"], {"one", "three"}),
        ("tags", "contains", "b", {"one", "two"}),
        ("tags", "eq", "c", {"three"}),
        ("note", "contains", "beijing", {"one"}),
        ("note", "contains", "客户", {"one"}),
        ("note", "eq", "small", {"two"}),
    ],
)
def test_operators(data, key, op, value, expected):
    with data.scope():
        condition = custom_filter(ACCOUNT, key, op, value)
    assert names(data, condition) == expected


def test_bad_filters_name_the_field(data):
    with data.scope():
        for key, op, value in (
            ("size", "gt", "lots"),
            ("vip", "gt", "1"),
            ("nope", "eq", "1"),
            ("size", "xx", 1),
        ):
            with pytest.raises(ValidationFailed) as caught:
                custom_filter(ACCOUNT, key, op, value)
            assert caught.value.details[0].field == f"custom.{key}"


def test_query_params_respect_role_visibility(data):
    params = QueryDict("custom.size__gte=6&custom.tier=b&q=ignored")
    with data.scope():
        assert names(data, filter_from_params(data.actors["sales"], ACCOUNT, params)) == {"two"}
        # A field hidden from the role cannot be filtered on (that would reveal its values).
        with pytest.raises(ValidationFailed) as caught:
            filter_from_params(data.actors["sales"], ACCOUNT, QueryDict("custom.secret=x"))
        assert caught.value.details[0].field == "custom.secret"
        assert names(
            data, filter_from_params(data.actors["manager"], ACCOUNT, QueryDict("custom.secret=x"))
        ) == {"two"}


def test_keys_named_like_lookups_stay_keys(tenant):
    with tenant.scope():
        services.create_definition(
            tenant.actors["owner"], object_type=ACCOUNT, key="contains", label="C", field_type="text"
        )
        Account.objects.create(workspace=tenant.workspace, name="hit", custom={"contains": "x"})
        Account.objects.create(workspace=tenant.workspace, name="miss", custom={"other": "x"})
        assert names(tenant, custom_filter(ACCOUNT, "contains", "eq", "x")) == {"hit"}
        assert names(tenant, custom_filter(ACCOUNT, "contains", "ne", "x")) == {"miss"}
