"""The fast write path of bulk creates (``kehu.customers.bulk``): COPY on PostgreSQL, executemany /
multi-row INSERT on SQLite. Both must store exactly what the single-record services store."""

import pytest
from django.db import connection, transaction
from django.utils import timezone

from kehu.audit.models import AuditEntry
from kehu.customers import bulk, queries, services
from kehu.customers.models import Account, AccountContact, Address, Contact, ContactPoint, Tag, TaggedRecord

pytestmark = pytest.mark.django_db

VOLATILE = {"id", "created_at", "updated_at", "consent_updated_at"}


def row_of(record, skip=()) -> dict:
    return {
        f.attname: getattr(record, f.attname)
        for f in record._meta.concrete_fields
        if f.name not in VOLATILE and f.attname not in skip
    }


def stored(model, pk) -> dict:
    return row_of(model.objects.get(pk=pk))


def dependents(record) -> dict:
    """The record's phones/emails, addresses, account relations and tags, without its own id."""
    owner = {"account": record} if isinstance(record, Account) else {"contact": record}
    mine = ("account_id",) if isinstance(record, Account) else ("contact_id",)

    def rows(qs, *order):
        return [row_of(r, skip=mine) for r in qs.order_by(*order)]

    return {
        "points": rows(ContactPoint.objects.filter(**owner), "kind", "value"),
        "addresses": rows(Address.objects.filter(**owner), "city"),
        "relations": rows(AccountContact.objects.filter(**owner), "account_id") if "contact" in owner else [],
        "tags": services.tags_of(record),
    }


CONTACT = {
    "name": " 欧阳  娜娜 ",
    "name_en": "Nana Ouyang",
    "job_title": "采购经理",
    "department": "采购部",
    "phones": [
        {"value": "+1 415 555 0100", "label": "mobile"},
        {"value": "139 1234 5678", "is_primary": True},
    ],
    "emails": [{"value": "Nana.Ouyang@Example.CN"}],
    "preferred_channel": "wechat",
    "preferred_language": "zh-Hans",
    "birthday": "1990-05-01",
    "social": {"wechat": " nana_oy "},
    "consent_email": True,
    "tags": ["VIP", "展会"],
}


def test_bulk_contacts_store_the_same_rows_as_single_creates(tenant):
    actor = tenant.actors["owner"]
    with tenant.scope():
        acme = services.create_account(actor, name="Acme")
        globex = services.create_account(actor, name="Globex")
        relations = [{"account_id": acme.pk, "role": "decision_maker"}, {"account_id": globex.pk}]
        single = services.create_contact(actor, **CONTACT, accounts=relations)
        plain_single = services.create_contact(actor, name="李雷", phone="138 0013 8000", account_id=acme.pk)
        made = services.bulk_create_contacts(
            actor,
            [
                {**CONTACT, "accounts": relations},
                {"name": "李雷", "phone": "138 0013 8000", "account_id": acme.pk},
            ],
        )
        # What the caller gets back is what was stored, with its id.
        assert [row_of(r) for r in made] == [stored(Contact, r.pk) for r in made]
        assert all(not r._state.adding for r in made) and made[0].pk < made[1].pk
        for one, other in ((single, made[0]), (plain_single, made[1])):
            assert stored(Contact, other.pk) == stored(Contact, one.pk)
            assert dependents(other) == dependents(one)
        assert made[0].name == "欧阳 娜娜" and made[0].name_pinyin == "ouyangnana"
        assert made[0].phone == "+8613912345678" and made[0].email == "nana.ouyang@example.cn"
        assert made[0].consent_updated_at is not None
        # The search columns and their indexes answer for bulk-created rows as for single ones.
        for q in ("欧阳", "ouyang", "Nana", "139 1234 5678", "+1 415 555 0100", "nana.ouyang@example.cn"):
            found = set(queries.contacts_for(actor, q).values_list("pk", flat=True))
            assert {single.pk, made[0].pk} <= found, q


def test_bulk_accounts_store_the_same_rows_and_addresses_as_single_creates(tenant):
    actor = tenant.actors["sales"]
    values = {
        "name": "星辰科技",
        "industry": "软件",
        "size": "50-249",
        "website": "https://xingchen.example.cn",
        "phone": "021 6888 8888",
        "tags": ["重点"],
        "addresses": [
            {
                "kind": "billing",
                "country": "cn",
                "city": "上海",
                "street": "世纪大道 1 号",
                "postcode": "200120",
            },
            {"kind": "shipping", "city": "北京", "is_primary": True},
        ],
    }
    with tenant.scope():
        single = services.create_account(actor, **values)
        (made,) = services.bulk_create_accounts(actor, [values])
        main_only = services.bulk_create_accounts(actor, [{"name": "云帆", "city": "杭州", "country": "CN"}])[
            0
        ]
        assert stored(Account, made.pk) == stored(Account, single.pk)
        assert dependents(made) == dependents(single)
        assert (made.city, made.country, made.owner_id) == ("北京", "", tenant.users["sales"].pk)
        assert [a["city"] for a in services.addresses_of(main_only)] == ["杭州"]
        entry = AuditEntry.objects.get(object_type="customers.account", object_id=str(made.pk))
        assert entry.action == "create" and entry.actor_id == tenant.users["sales"].pk
        assert entry.changes["name"] == [None, "星辰科技"] and entry.changes["tags"] == [[], ["重点"]]


def test_a_failing_write_rolls_back_the_whole_batch(tenant, monkeypatch):
    actor = tenant.actors["owner"]
    real_insert = bulk.Table.insert

    def failing_audit(self, rows, **kwargs):
        if self.model is AuditEntry:
            raise RuntimeError("the disk is full")
        return real_insert(self, rows, **kwargs)

    with tenant.scope():
        monkeypatch.setattr(bulk.Table, "insert", failing_audit)
        items = [{"name": f"人{i}", "phone": f"139 0000 {i:04d}", "tags": ["新"]} for i in range(20)]
        with pytest.raises(RuntimeError):
            services.bulk_create_contacts(actor, items)
        assert not Contact.objects.exists()
        assert not ContactPoint.objects.exists()
        assert not TaggedRecord.objects.exists() and not Tag.objects.exists()
        monkeypatch.undo()
        # The connection is usable and the same batch goes through afterwards.
        assert len(services.bulk_create_contacts(actor, items)) == 20
        assert ContactPoint.objects.count() == 20


def test_table_fills_defaults_converts_values_and_returns_ids_in_row_order(tenant):
    now = timezone.now()
    workspace_id, user_id = tenant.workspace.pk, tenant.users["owner"].pk
    with tenant.scope():
        contacts = Contact.objects.bulk_create(
            [Contact(workspace=tenant.workspace, name=f"c{i}") for i in range(3)]
        )
        table = bulk.Table(
            ContactPoint,
            ("workspace_id", "created_at", "updated_at", "created_by_id", "contact_id", "kind", "value"),
        )
        rows = [
            (workspace_id, now, now, user_id, c.pk, ContactPoint.Kind.EMAIL, f"c{i}@example.cn")
            for i, c in enumerate(contacts)
        ]
        ids = table.insert(rows, returning_ids=True)
        points = ContactPoint.objects.in_bulk(ids)
        assert [points[pk].value for pk in ids] == ["c0@example.cn", "c1@example.cn", "c2@example.cn"]
        first = points[ids[0]]
        # A Kind member is stored as its value; left-out columns get the model's defaults.
        assert (first.kind, first.label, first.is_primary, first.updated_by_id) == (
            "email",
            "work",
            False,
            None,
        )
        assert first.created_at == now and first.account_id is None
        assert table.insert([]) == []
        with pytest.raises(ValueError):
            bulk.Table(ContactPoint, ("workspace_id", "created_at", "kind", "value"))  # updated_at missing
        with pytest.raises(ValueError):
            bulk.Table(ContactPoint, ("workspace_id", "nonsense"))


def test_owners_by_points_finds_the_oldest_owner_of_each_value_in_the_workspace(tenant, other_tenant):
    actor = tenant.actors["owner"]
    with other_tenant.scope():
        services.create_contact(other_tenant.actors["owner"], name="外", email="shared@example.cn")
    with tenant.scope():
        first = services.create_contact(actor, name="甲", email="shared@example.cn", phone="139 1111 2222")
        services.create_contact(actor, name="乙", email="shared@example.cn")
        account = services.create_account(actor, name="丙", email="desk@example.cn")
        found = bulk.owners_by_points(
            tenant.workspace.pk,
            ContactPoint.Kind.EMAIL,
            ["shared@example.cn", "desk@example.cn", "nobody@example.cn", "shared@example.cn"],
            "contact_id",
        )
        assert found == {"shared@example.cn": first.pk}
        assert bulk.owners_by_points(tenant.workspace.pk, "email", ["desk@example.cn"], "account_id") == {
            "desk@example.cn": account.pk
        }
        assert bulk.owners_by_points(tenant.workspace.pk, "phone", ["+8613911112222"], "contact_id") == {
            "+8613911112222": first.pk
        }
        assert bulk.owners_by_points(tenant.workspace.pk, "email", [], "contact_id") == {}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL plans")
def test_point_lookups_probe_the_btree_not_the_trigram_index(tenant):
    """The duplicate check of an import: 1,000 exact values must never be planned on the trigram
    GIN index (a posting-list walk per value; 20–40 s at 100k rows), nor filter the workspace."""
    from django.test.utils import CaptureQueriesContext

    actor = tenant.actors["owner"]
    with tenant.scope():
        for start in range(0, 3000, 1000):
            services.bulk_create_contacts(
                actor,
                [{"name": f"人{i}", "email": f"user{i}@example.com"} for i in range(start, start + 1000)],
            )
        bulk.refresh_statistics(ContactPoint)
        values = [f"user{i}@example.com" for i in range(0, 3000, 3)]
        with CaptureQueriesContext(connection) as captured:
            found = bulk.owners_by_points(tenant.workspace.pk, "email", values, "contact_id")
        assert len(found) == 1000
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + captured.captured_queries[-1]["sql"])
            plan = "\n".join(line for (line,) in cursor.fetchall())
    assert "contact_point_lookup" in plan, plan
    assert "trgm" not in plan and "Seq Scan on customers_contactpoint" not in plan, plan


def test_bulk_write_runs_inside_the_callers_transaction(tenant):
    actor = tenant.actors["owner"]
    with tenant.scope():
        with pytest.raises(ZeroDivisionError), transaction.atomic():
            services.bulk_create_contacts(actor, [{"name": "甲", "email": "a@example.cn"}])
            assert Contact.objects.count() == 1  # visible inside the transaction
            raise ZeroDivisionError
        assert not Contact.objects.exists() and not AuditEntry.objects.filter(object_type="customers.contact")
