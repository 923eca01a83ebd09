"""Accounts and contacts: validation, normalisation, record access and audit."""

import pytest
from django_scopes import scope

from kehu.audit.models import AuditEntry
from kehu.core.errors import NotFound, PermissionDenied, ValidationFailed
from kehu.customers import services
from kehu.customers.models import Account
from kehu.customers.queries import accounts_for, contacts_for
from kehu.workspaces.access import access_record
from kehu.workspaces.services import create_team, set_team_members

pytestmark = pytest.mark.django_db


def test_create_contact_normalises_phone_and_email(tenant):
    with tenant.scope():
        contact = services.create_contact(
            tenant.actors["sales"], name="  王  伟 ", phone="138 0013 8000", email=" Wang.Wei@Example.COM "
        )
    assert contact.name == "王 伟"
    assert contact.phone == "+8613800138000"
    assert contact.email == "wang.wei@example.com"
    assert contact.owner == tenant.users["sales"]


def test_invalid_values_report_every_field_and_save_nothing(tenant):
    with tenant.scope():
        with pytest.raises(ValidationFailed) as caught:
            services.create_contact(tenant.actors["sales"], name="", phone="12", email="not-an-email")
        fields = {d.field: d.code for d in caught.value.details}
        assert fields == {"name": "required", "phone": "invalid", "email": "invalid"}
        assert not contacts_for(tenant.actors["owner"]).exists()


def test_create_and_update_are_audited_with_field_diff(tenant):
    actor = tenant.actors["sales"]
    with tenant.scope():
        account = services.create_account(actor, name="上海明远贸易有限公司", city="上海")
        services.update_account(actor, account, city="杭州", industry="Retail")
        entries = list(
            AuditEntry.objects.filter(object_type="customers.account", object_id=str(account.pk)).order_by(
                "id"
            )
        )
    assert [e.action for e in entries] == ["create", "update"]
    assert entries[0].changes["name"] == [None, "上海明远贸易有限公司"]
    assert entries[1].changes == {"city": ["上海", "杭州"], "industry": ["", "Retail"]}
    assert entries[1].actor == tenant.users["sales"]


def test_sales_sees_only_own_records_manager_sees_team(tenant):
    with tenant.scope():
        mine = services.create_account(tenant.actors["sales"], name="Mine")
        theirs = services.create_account(tenant.actors["owner"], name="Owner's")
        team = create_team(tenant.actors["owner"], "East")
        set_team_members(tenant.actors["owner"], team, [tenant.users["sales"].pk, tenant.users["manager"].pk])
        sales, manager = tenant.actors["sales"], tenant.actors["manager"]
        assert list(accounts_for(sales)) == [mine]
        with pytest.raises(NotFound):
            access_record(sales, Account.objects.all(), theirs.pk)
        assert set(accounts_for(manager)) == {mine}
        assert set(accounts_for(tenant.actors["readonly"])) == {mine, theirs}


def test_sales_cannot_delete_and_readonly_cannot_create(tenant):
    with tenant.scope():
        account = services.create_account(tenant.actors["sales"], name="Keep")
        with pytest.raises(PermissionDenied):
            services.delete_account(tenant.actors["sales"], account)
        with pytest.raises(PermissionDenied):
            services.create_account(tenant.actors["readonly"], name="Nope")


def test_other_workspace_records_are_not_found(tenant, other_tenant):
    with tenant.scope():
        account = services.create_account(tenant.actors["owner"], name="Acme only")
    with scope(workspace=other_tenant.workspace):
        assert not accounts_for(other_tenant.actors["owner"]).exists()
        with pytest.raises(NotFound):
            access_record(other_tenant.actors["owner"], Account.objects.all(), account.pk)


def test_search_by_name_email_and_phone_in_any_format(tenant):
    actor = tenant.actors["owner"]
    with tenant.scope():
        c = services.create_contact(actor, name="李娜", phone="+86 139-1234-5678", email="li.na@example.cn")
        services.create_contact(actor, name="John Smith", phone="+1 415 555 0100")
        assert list(contacts_for(actor, "李娜")) == [c]
        assert list(contacts_for(actor, "LI.NA@example.cn")) == [c]
        assert list(contacts_for(actor, "139 1234 5678")) == [c]
