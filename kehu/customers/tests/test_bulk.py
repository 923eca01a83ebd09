"""Bulk create of accounts and contacts (API and service): all or nothing, per-item errors, audit."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kehu.audit.models import AuditEntry
from kehu.customers import services
from kehu.customers.models import Account, AccountContact, Contact, ContactPoint, TaggedRecord

pytestmark = pytest.mark.django_db


def post(client, path, items):
    return client.post(path, {"items": items}, content_type="application/json")


def test_bulk_contacts_are_written_with_points_relations_tags_and_one_audit_entry_each(tenant):
    with tenant.scope():
        acme = services.create_account(tenant.actors["owner"], name="Acme")
    items = [
        {"name": "王伟", "phone": "138 0013 8000", "email": "Wang.Wei@Example.cn", "account_id": acme.pk},
        {
            "name": "Anna Smith",
            "phones": [{"value": "+1 415 555 0100", "label": "mobile"}, {"value": "139 1234 5678"}],
            "tags": ["VIP", "展会"],
            "accounts": [{"account_id": acme.pk, "role": "decision_maker"}],
        },
    ]
    response = post(tenant.api_client("owner"), "/api/v1/contacts/bulk", items)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["count"] == 2 and len(body["ids"]) == 2
    with tenant.scope():
        wang, anna = (Contact.objects.get(pk=pk) for pk in body["ids"])
        assert (wang.name, wang.phone, wang.email) == ("王伟", "+8613800138000", "wang.wei@example.cn")
        assert wang.name_pinyin == "wangwei" and wang.owner_id == tenant.users["owner"].pk
        assert anna.phone == "+14155550100" and anna.account_id == acme.pk
        assert services.contact_points(anna)["phones"] == [
            {"value": "+14155550100", "label": "mobile", "is_primary": True},
            {"value": "+8613912345678", "label": "work", "is_primary": False},
        ]
        assert services.relations_of(wang)[0]["account_id"] == acme.pk
        assert services.relations_of(anna)[0]["role"] == "decision_maker"
        assert services.tags_of(anna) == ["VIP", "展会"]
        entries = AuditEntry.objects.filter(
            object_type="customers.contact", object_id__in=map(str, body["ids"])
        )
        assert entries.count() == 2 and {e.action for e in entries} == {"create"}
        anna_entry = entries.get(object_id=str(anna.pk))
        assert anna_entry.changes["name"] == [None, "Anna Smith"]
        assert anna_entry.changes["tags"] == [[], ["VIP", "展会"]]
        assert anna_entry.api_key_prefix  # written through an API key: the trail says which


def test_one_bad_item_saves_nothing_and_every_error_names_its_item(tenant):
    items = [
        {"name": "好的"},
        {"name": "Bad phone", "phone": "123"},
        {"name": "", "email": "nope"},
    ]
    response = post(tenant.api_client("owner"), "/api/v1/contacts/bulk", items)
    assert response.status_code == 422
    fields = {d["field"] for d in response.json()["error"]["details"]}
    assert fields == {"items.1.phone", "items.2.name", "items.2.email"}
    with tenant.scope():
        assert not Contact.objects.exists()
        assert not AuditEntry.objects.filter(object_type="customers.contact").exists()


def test_unknown_account_of_an_item_is_an_item_error(tenant, other_tenant):
    with other_tenant.scope():
        foreign = services.create_account(other_tenant.actors["owner"], name="Globex account")
    response = post(
        tenant.api_client("owner"), "/api/v1/contacts/bulk", [{"name": "A", "account_id": foreign.pk}]
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "items.0.account_id"


def test_limits_empty_and_more_than_1000_are_refused(tenant):
    client = tenant.api_client("owner")
    assert post(client, "/api/v1/accounts/bulk", []).status_code == 422
    too_many = post(client, "/api/v1/accounts/bulk", [{"name": f"A{i}"} for i in range(1001)])
    assert too_many.status_code == 422
    assert too_many.json()["error"]["details"][0]["field"].startswith("items")


def test_bulk_accounts_and_permissions(tenant):
    ok = post(
        tenant.api_client("sales"), "/api/v1/accounts/bulk", [{"name": "甲"}, {"name": "乙", "city": "上海"}]
    )
    assert ok.status_code == 201, ok.content
    with tenant.scope():
        accounts = list(Account.objects.filter(pk__in=ok.json()["ids"]).order_by("pk"))
        assert [a.name for a in accounts] == ["甲", "乙"]
        assert {a.owner_id for a in accounts} == {tenant.users["sales"].pk}
        assert AuditEntry.objects.filter(object_type="customers.account", action="create").count() == 2
    # Marketing may view customers but not create them.
    refused = post(tenant.api_client("marketing"), "/api/v1/accounts/bulk", [{"name": "丙"}])
    assert refused.status_code == 403
    unauthenticated = post(tenant.api_client("owner").__class__(), "/api/v1/contacts/bulk", [{"name": "丁"}])
    assert unauthenticated.status_code == 401


def test_bulk_created_records_stay_in_their_workspace(tenant, other_tenant):
    response = post(other_tenant.api_client("owner"), "/api/v1/contacts/bulk", [{"name": "Globex person"}])
    assert response.status_code == 201
    pk = response.json()["ids"][0]
    assert tenant.api_client("owner").get(f"/api/v1/contacts/{pk}").status_code == 404
    with tenant.scope():
        assert not Contact.objects.filter(pk=pk).exists()


def test_query_count_does_not_grow_with_the_number_of_items(tenant):
    actor = tenant.actors["owner"]
    with tenant.scope():
        acme = services.create_account(actor, name="Acme")

        def run(n, offset):
            items = [
                {
                    "name": f"人{i}",
                    "phone": f"139 0000 {offset + i:04d}",
                    "account_id": acme.pk,
                    "tags": ["批量"],
                }
                for i in range(n)
            ]
            with CaptureQueriesContext(connection) as queries:
                services.bulk_create_contacts(actor, items)
            return len(queries)

        small, large = run(5, 0), run(50, 100)
        # Per item only the custom-field definitions are read; every write is one batched insert.
        assert large - small <= 45 + 5, (small, large)
        assert ContactPoint.objects.filter(contact__isnull=False).count() == 55
        assert AccountContact.objects.count() == 55
        assert TaggedRecord.objects.filter(object_type="customers.contact").count() == 55


def test_bulk_audit_entry_records_the_same_changes_as_a_single_create(tenant):
    actor = tenant.actors["owner"]
    values = {
        "name": "李娜",
        "phone": "139 1111 2222",
        "email": "li.na@example.cn",
        "job_title": "采购经理",
        "consent_email": True,
        "social": {"wechat": "lina"},
        "birthday": "1990-05-01",
    }
    with tenant.scope():
        acme = services.create_account(actor, name="Acme")
        single = services.create_contact(actor, account_id=acme.pk, **values)
        (bulk,) = services.bulk_create_contacts(actor, [{**values, "account_id": acme.pk}])
        entries = {
            e.object_id: e.changes
            for e in AuditEntry.objects.filter(
                object_type="customers.contact", action="create", object_id__in=[single.pk, bulk.pk]
            )
        }
    single_changes, bulk_changes = entries[str(single.pk)], entries[str(bulk.pk)]
    # consent_updated_at is stamped with the time of each write.
    assert single_changes.pop("consent_updated_at") and bulk_changes.pop("consent_updated_at")
    assert bulk_changes == single_changes
    assert bulk_changes["account"] == [None, acme.pk] and bulk_changes["social"] == [None, {"wechat": "lina"}]


def test_bulk_calls_leave_the_garbage_collector_as_they_found_it(tenant):
    import gc

    actor = tenant.actors["owner"]
    assert gc.isenabled()
    with tenant.scope():
        services.bulk_create_contacts(actor, [{"name": "甲"}])
        assert gc.isenabled()
        with pytest.raises(services.ValidationFailed):
            services.bulk_create_contacts(actor, [{"name": ""}])
        assert gc.isenabled()
        gc.disable()
        try:
            services.bulk_create_contacts(actor, [{"name": "乙"}])
            assert not gc.isenabled()  # a caller that switched it off keeps it off
        finally:
            gc.enable()


def test_bulk_update_changes_every_item_or_none(tenant):
    import json

    from kehu.audit.models import AuditEntry
    from kehu.customers import services as customer_services
    from kehu.customers.models import Account

    owner = tenant.actors["owner"]
    with tenant.scope():
        a = customer_services.create_account(owner, name="Alpha", city="上海")
        b = customer_services.create_account(owner, name="Beta", city="北京")
    client = tenant.api_client("owner")
    bad = client.patch(
        "/api/v1/accounts/bulk",
        json.dumps(
            {
                "items": [
                    {"id": a.pk, "city": "杭州"},
                    {"id": b.pk, "phone": "12"},
                    {"id": 999999, "city": "x"},
                ]
            }
        ),
        content_type="application/json",
    )
    assert bad.status_code == 422
    assert {d["field"] for d in bad.json()["error"]["details"]} == {"items.1.phone", "items.2.id"}
    with tenant.scope():
        assert Account.objects.get(pk=a.pk).city == "上海"  # nothing saved

    ok = client.patch(
        "/api/v1/accounts/bulk",
        json.dumps(
            {
                "items": [
                    {"id": a.pk, "city": "杭州", "tags": ["VIP"]},
                    {"id": b.pk, "status": "inactive"},
                ]
            }
        ),
        content_type="application/json",
    )
    assert ok.status_code == 200 and ok.json() == {"count": 2, "ids": [a.pk, b.pk]}
    with tenant.scope():
        a.refresh_from_db()
        b.refresh_from_db()
        assert (a.city, b.status, b.city) == ("杭州", "inactive", "北京")
        assert customer_services.tags_of(a) == ["VIP"]
        assert (
            AuditEntry.objects.filter(
                action="update", object_id=str(b.pk), object_type="customers.account"
            ).count()
            == 1
        )


def test_bulk_update_respects_record_access_and_workspaces(tenant, other_tenant):
    import json

    from django_scopes import scope

    from kehu.customers import services as customer_services

    with tenant.scope():
        own = customer_services.create_account(tenant.actors["sales"], name="Mine")
        theirs = customer_services.create_account(tenant.actors["owner"], name="Not mine")
    with scope(workspace=other_tenant.workspace):
        foreign = customer_services.create_account(other_tenant.actors["owner"], name="Globex")
    sales = tenant.api_client("sales")
    response = sales.patch(
        "/api/v1/contacts/bulk", json.dumps({"items": []}), content_type="application/json"
    )
    assert response.status_code == 422  # at least one item
    response = sales.patch(
        "/api/v1/accounts/bulk",
        json.dumps(
            {
                "items": [
                    {"id": own.pk, "city": "上海"},
                    {"id": theirs.pk, "city": "x"},
                    {"id": foreign.pk, "city": "x"},
                ]
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 422
    assert {d["field"] for d in response.json()["error"]["details"]} == {"items.1.id", "items.2.id"}
    readonly = tenant.api_client("readonly")
    denied = readonly.patch(
        "/api/v1/accounts/bulk",
        json.dumps({"items": [{"id": own.pk, "city": "x"}]}),
        content_type="application/json",
    )
    assert denied.status_code == 403
