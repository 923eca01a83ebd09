"""Custom fields through the customers services: create/update validate values, exports carry them,
deleting a field keeps an export of its values and removes them from records in batches."""

import pytest

from kehu.audit.models import AuditEntry
from kehu.core.errors import ValidationFailed
from kehu.customers import services as customers
from kehu.customers.models import Account
from kehu.customfields import services
from kehu.customfields.models import FieldDefinition, FieldValueExport

pytestmark = pytest.mark.django_db


def define(tenant, object_type, key, field_type, **extra):
    with tenant.scope():
        return services.create_definition(
            tenant.actors["owner"],
            object_type=object_type,
            key=key,
            label=key,
            field_type=field_type,
            **extra,
        )


def test_account_create_and_update_validate_custom_values(tenant):
    define(tenant, "customers.account", "tier", "single_select", options={"choices": ["gold", "silver"]})
    define(tenant, "customers.account", "seats", "number", required=True, validation={"min": 1})
    owner = tenant.actors["owner"]
    with tenant.scope():
        with pytest.raises(ValidationFailed) as caught:
            customers.create_account(owner, name="", custom={"tier": "bronze"})
        assert {e.field: e.code for e in caught.value.details} == {
            "name": "required",
            "custom.tier": "invalid_choice",
            "custom.seats": "required",
        }
        assert not Account.objects.exists()  # nothing half-saved
        account = customers.create_account(owner, name="华信", custom={"tier": "gold", "seats": "12"})
        assert account.custom == {"tier": "gold", "seats": 12}
        customers.update_account(owner, account, custom={"tier": "silver"})
        account.refresh_from_db()
        assert account.custom == {"tier": "silver", "seats": 12}
        with pytest.raises(ValidationFailed) as caught:
            customers.update_account(owner, account, custom={"seats": 0})
        assert caught.value.details[0].field == "custom.seats"
        # Updates without custom values leave them alone.
        customers.update_account(owner, account, industry="IT")
        account.refresh_from_db()
        assert account.custom == {"tier": "silver", "seats": 12}
        change = AuditEntry.objects.filter(object_type="customers.account", action="update").first()
        assert "custom" in change.changes


def test_contacts_get_defaults_and_their_own_fields(tenant):
    define(tenant, "customers.contact", "newsletter", "boolean", default=True)
    define(tenant, "customers.account", "tier", "text")
    with tenant.scope():
        contact = customers.create_contact(tenant.actors["owner"], name="张伟")
        assert contact.custom == {"newsletter": True}
        with pytest.raises(ValidationFailed) as caught:
            customers.create_contact(tenant.actors["owner"], name="李娜", custom={"tier": "x"})
        assert caught.value.details[0].field == "custom.tier"


def test_export_has_a_column_per_readable_field(tenant):
    define(tenant, "customers.account", "tier", "text")
    define(tenant, "customers.account", "tags", "multi_select", options={"choices": ["a", "b"]})
    define(tenant, "customers.account", "margin", "percent", visible_to_roles=["manager"])
    with tenant.scope():
        customers.create_account(
            tenant.actors["owner"], name="One", custom={"tier": "gold", "tags": ["a", "b"], "margin": 30}
        )
        rows = list(customers.export_rows(tenant.actors["marketing"], Account.objects.all()))
        admin_rows = list(customers.export_rows(tenant.actors["admin"], Account.objects.all()))
    header, row = rows
    assert header[-2:] == ["custom.tier", "custom.tags"] and "custom.margin" not in header
    assert row[-2:] == ["gold", "a; b"]
    assert admin_rows[0][-1] == "custom.margin" and admin_rows[1][-1] == 30


def test_delete_keeps_an_export_then_removes_values_in_batches(tenant, other_tenant, monkeypatch):
    from django_scopes import scope

    definition = define(tenant, "customers.account", "legacy_id", "text")
    define(other_tenant, "customers.account", "legacy_id", "text")
    with tenant.scope():
        ids = [
            Account.objects.create(
                workspace=tenant.workspace, name=f"A{i}", custom={"legacy_id": f"L{i}", "x": 1}
            ).pk
            for i in range(7)
        ]
        Account.objects.create(workspace=tenant.workspace, name="empty", custom={})
    with scope(workspace=other_tenant.workspace):
        foreign = Account.objects.create(
            workspace=other_tenant.workspace, name="B", custom={"legacy_id": "keep"}
        )
    monkeypatch.setattr(services, "PURGE_BATCH", 3)
    calls = []
    original = Account.objects.bulk_update

    def counting(objs, fields, **kwargs):
        calls.append(len(objs))
        return original(objs, fields, **kwargs)

    monkeypatch.setattr(Account.objects, "bulk_update", counting, raising=False)
    with tenant.scope():
        export = services.delete_definition(tenant.actors["owner"], definition)
        assert export.count == 7
        assert export.values == {str(pk): f"L{i}" for i, pk in enumerate(ids)}
        assert not FieldDefinition.objects.filter(key="legacy_id").exists()
        assert all(a.custom == {"x": 1} for a in Account.objects.exclude(name="empty"))
        assert FieldValueExport.objects.count() == 1
        assert AuditEntry.objects.filter(object_type="customfields.fielddefinition", action="delete").exists()
    assert calls == [3, 3, 1]
    with scope(workspace=other_tenant.workspace):
        foreign.refresh_from_db()
        assert foreign.custom == {"legacy_id": "keep"}
        assert FieldDefinition.objects.filter(key="legacy_id").exists()
