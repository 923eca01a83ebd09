"""Validation of custom field values: every type (good and bad), required, unique, defaults, roles."""

import pytest

from kehu.core.errors import PermissionDenied, ValidationFailed
from kehu.customfields import services
from kehu.customfields.services import clean_custom_values

pytestmark = pytest.mark.django_db

ACCOUNT = "customers.account"


def define(tenant, key, field_type, **extra):
    with tenant.scope():
        return services.create_definition(
            tenant.actors["owner"],
            object_type=ACCOUNT,
            key=key,
            label=key.title(),
            field_type=field_type,
            **extra,
        )


def clean(tenant, values, role="owner", **kwargs):
    with tenant.scope():
        return clean_custom_values(tenant.actors[role], ACCOUNT, values, **kwargs)


def errors_of(tenant, values, role="owner", **kwargs) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        clean(tenant, values, role, **kwargs)
    return {e.field: e.code for e in caught.value.details}


CHOICES = {"choices": [{"value": "a", "label": "Alpha"}, {"value": "b", "label": "Beta"}, "c"]}

# (type, extra definition kwargs, good input, stored, bad input)
CASES = [
    ("text", {}, "  hello   world ", "hello world", ["x"]),
    ("long_text", {}, "line 1\nline 2", "line 1\nline 2", {"a": 1}),
    ("number", {}, "1,200", 1200, "twelve"),
    ("number", {}, 2.5, "2.5", True),
    ("money", {}, "19.999", "20.00", "1e400"),
    ("percent", {}, "12.5%", "12.5", "half"),
    ("date", {}, "2026-03-01", "2026-03-01", "01/03/2026"),
    ("datetime", {}, "2026-03-01T08:00", "2026-03-01T00:00:00Z", "tomorrow"),
    ("datetime", {}, "2026-03-01T08:00:00+00:00", "2026-03-01T08:00:00Z", "2026-13-01T00:00"),
    ("boolean", {}, "yes", True, "maybe"),
    ("boolean", {}, False, False, 7),
    ("single_select", {"options": CHOICES}, "b", "b", "z"),
    ("multi_select", {"options": CHOICES}, ["c", "a", "a"], ["a", "c"], ["a", "zz"]),
    ("url", {}, "example.com/x", "https://example.com/x", "not a url"),
    ("email", {}, " Li@Example.CN ", "li@example.cn", "li@"),
    ("phone", {}, "138 0013 8000", "+8613800138000", "12345"),
]


@pytest.mark.parametrize(("field_type", "extra", "good", "stored", "bad"), CASES)
def test_each_type_normalises_good_values_and_rejects_bad_ones(tenant, field_type, extra, good, stored, bad):
    define(tenant, "f", field_type, **extra)
    assert clean(tenant, {"f": good}) == {"f": stored}
    assert errors_of(tenant, {"f": bad}) == {"custom.f": errors_of(tenant, {"f": bad})["custom.f"]}
    assert "custom.f" in errors_of(tenant, {"f": bad})


def test_user_field_takes_active_members_only(tenant, other_tenant):
    define(tenant, "manager", "user")
    assert clean(tenant, {"manager": str(tenant.users["sales"].pk)}) == {"manager": tenant.users["sales"].pk}
    assert errors_of(tenant, {"manager": other_tenant.users["sales"].pk}) == {"custom.manager": "invalid"}
    assert errors_of(tenant, {"manager": "abc"}) == {"custom.manager": "type"}


def test_relation_target_must_be_visible_to_the_actor(tenant):
    from kehu.customers.models import Account

    define(tenant, "partner", "relation", options={"target": ACCOUNT})
    with tenant.scope():
        owners = Account.objects.create(
            workspace=tenant.workspace, name="Owner's", owner=tenant.users["owner"]
        )
        mine = Account.objects.create(workspace=tenant.workspace, name="Mine", owner=tenant.users["sales"])
    assert clean(tenant, {"partner": owners.pk}) == {"partner": owners.pk}
    assert clean(tenant, {"partner": mine.pk}, role="sales") == {"partner": mine.pk}
    # sales sees only their own accounts: another's is "unknown", like a missing one.
    assert errors_of(tenant, {"partner": owners.pk}, role="sales") == {"custom.partner": "invalid"}
    assert errors_of(tenant, {"partner": 999999}) == {"custom.partner": "invalid"}


def test_validation_rules_min_max_length_pattern(tenant):
    define(tenant, "score", "number", validation={"min": 0, "max": 10})
    define(tenant, "code", "text", validation={"min_length": 2, "max_length": 4, "pattern": "[A-Z]+"})
    define(tenant, "since", "date", validation={"min": "2020-01-01"})
    assert clean(tenant, {"score": 10, "code": "AB", "since": "2020-01-01"}) == {
        "score": 10,
        "code": "AB",
        "since": "2020-01-01",
    }
    assert errors_of(tenant, {"score": 11, "code": "A", "since": "2019-12-31"}) == {
        "custom.score": "max",
        "custom.code": "min_length",
        "custom.since": "min",
    }
    assert errors_of(tenant, {"score": -1, "code": "ABCDE"}) == {
        "custom.score": "min",
        "custom.code": "max_length",
    }
    assert errors_of(tenant, {"code": "ab"}) == {"custom.code": "pattern"}


def test_unknown_keys_and_non_objects_are_errors(tenant):
    define(tenant, "f", "text")
    assert errors_of(tenant, {"f": "ok", "nope": 1}) == {"custom.nope": "unknown"}
    assert errors_of(tenant, ["f"]) == {"custom": "type"}


def test_required_defaults_and_partial_updates(tenant):
    from kehu.customers.models import Account

    define(tenant, "tier", "single_select", options=CHOICES, required=True)
    define(tenant, "vip", "boolean", default="false")
    assert errors_of(tenant, {}) == {"custom.tier": "required"}
    assert errors_of(tenant, {"tier": ""}) == {"custom.tier": "required"}
    assert clean(tenant, {"tier": "a"}) == {"tier": "a", "vip": False}
    record = Account(name="x", custom={"tier": "a", "vip": True})
    # A partial update checks only what was sent; emptying a required field is still refused.
    assert clean(tenant, {"vip": False}, instance=record, partial=True) == {"tier": "a", "vip": False}
    assert errors_of(tenant, {"tier": None}, instance=record, partial=True) == {"custom.tier": "required"}
    # Clearing an optional field removes its key.
    assert clean(tenant, {"vip": None}, instance=record, partial=True) == {"tier": "a"}
    with tenant.scope():
        assert Account.objects.count() == 0


def test_unique_within_the_workspace_only(tenant, other_tenant):
    from django_scopes import scope

    from kehu.customers.models import Account

    define(tenant, "tax_id", "text", unique=True)
    define(other_tenant, "tax_id", "text", unique=True)
    with tenant.scope():
        taken = Account.objects.create(workspace=tenant.workspace, name="A", custom={"tax_id": "91-1"})
    assert errors_of(tenant, {"tax_id": "91-1"}) == {"custom.tax_id": "unique"}
    assert clean(tenant, {"tax_id": "91-1"}, instance=taken) == {"tax_id": "91-1"}  # itself
    with scope(workspace=other_tenant.workspace):
        assert clean_custom_values(other_tenant.actors["owner"], ACCOUNT, {"tax_id": "91-1"}) == {
            "tax_id": "91-1"
        }


def test_role_visibility_hides_and_protects_values(tenant):
    from kehu.customers.models import Account

    define(tenant, "margin", "percent", visible_to_roles=["manager"])
    define(tenant, "rating", "number", editable_by_roles=["manager"])
    record = Account(name="x", custom={"margin": "30", "rating": 4})
    # sales cannot see "margin": writing it is like writing an unknown field, and its value is kept.
    assert errors_of(tenant, {"margin": 10}, role="sales", instance=record) == {"custom.margin": "unknown"}
    assert clean(tenant, {}, role="sales", instance=record, partial=True) == {"margin": "30", "rating": 4}
    # "rating" is readable but read-only for sales: echoing the value is fine, changing it is not.
    assert clean(tenant, {"rating": "4"}, role="sales", instance=record) == {"margin": "30", "rating": 4}
    assert errors_of(tenant, {"rating": 5}, role="sales", instance=record) == {"custom.rating": "read_only"}
    assert clean(tenant, {"margin": 12, "rating": 5}, role="manager", instance=record) == {
        "margin": 12,
        "rating": 5,
    }
    from kehu.customfields.queries import readable_values

    with tenant.scope():
        assert readable_values(tenant.actors["sales"], ACCOUNT, record.custom) == {"rating": 4}
        assert readable_values(tenant.actors["admin"], ACCOUNT, record.custom) == {
            "margin": "30",
            "rating": 4,
        }
        assert Account.objects.count() == 0


def test_archived_fields_are_not_writable_and_keep_values(tenant):
    from kehu.customers.models import Account

    definition = define(tenant, "old", "text")
    with tenant.scope():
        services.archive_definition(tenant.actors["owner"], definition)
    record = Account(name="x", custom={"old": "keep"})
    assert errors_of(tenant, {"old": "new"}, instance=record) == {"custom.old": "archived"}
    assert clean(tenant, {}, instance=record, partial=True) == {"old": "keep"}


def test_definitions_are_validated_and_admin_only(tenant):
    with pytest.raises(PermissionDenied), tenant.scope():
        services.create_definition(
            tenant.actors["manager"], object_type=ACCOUNT, key="x", label="X", field_type="text"
        )
    with pytest.raises(ValidationFailed) as caught, tenant.scope():
        services.create_definition(
            tenant.actors["owner"],
            object_type="nope.thing",
            key="Bad Key",
            label="",
            field_type="colour",
        )
    assert {e.field for e in caught.value.details} == {"object_type", "key", "label", "field_type"}
    with pytest.raises(ValidationFailed) as caught, tenant.scope():
        services.create_definition(
            tenant.actors["owner"],
            object_type=ACCOUNT,
            key="sel",
            label="Sel",
            field_type="single_select",
            options={"choices": []},
            validation={"pattern": "(", "colour": 1},
            visible_to_roles=["ghost"],
        )
    assert {e.field for e in caught.value.details} == {
        "options.choices",
        "validation.pattern",
        "validation.colour",
        "visible_to_roles",
    }
    define(tenant, "dup", "text")
    with pytest.raises(ValidationFailed) as caught:
        define(tenant, "dup", "number")
    assert [e.code for e in caught.value.details] == ["unique"]


def test_key_and_type_are_immutable_label_renames(tenant):
    definition = define(tenant, "region_code", "text")
    with tenant.scope():
        services.update_definition(tenant.actors["owner"], definition, label="Region")
        with pytest.raises(ValidationFailed) as caught:
            services.update_definition(tenant.actors["owner"], definition, key="other", field_type="number")
    assert {e.field: e.code for e in caught.value.details} == {"key": "immutable", "field_type": "immutable"}
    definition.refresh_from_db()
    assert (definition.key, definition.label) == ("region_code", "Region")
