"""Merge moves every kind of related row to the survivor; undo restores exactly; permissions."""

import json

import pytest
from django.utils import timezone

from kehu.activities.models import ActivityLink, Comment, Task
from kehu.activities.services import add_comment, create_task, log_activity
from kehu.commerce import services as commerce
from kehu.commerce.models import Order
from kehu.customers import services as customers
from kehu.customers.models import AccountContact, Address, Contact, ContactPoint, TaggedRecord
from kehu.deals.models import Opportunity, OpportunityContact
from kehu.duplicates import merge as merging
from kehu.duplicates.merge import full_row
from kehu.duplicates.models import MergeRecord
from kehu.imports.models import ImportedRecord, ImportJob
from kehu.leads import services as leads
from kehu.leads.models import Lead
from kehu.quotes import services as quotes
from kehu.quotes.models import Quote
from kehu.quotes.tests.conftest import Sale

CONTACT = "customers.contact"
ACCOUNT = "customers.account"


def _related(contact_ids=(), account_ids=()):
    """Counts of every relation kind per record id (what a merge must move)."""
    out = {}
    for pk in contact_ids:
        out[("contact", pk)] = {
            "links": ActivityLink.objects.filter(object_type=CONTACT, object_id=pk).count(),
            "tasks": Task.objects.filter(record_type=CONTACT, record_id=pk).count(),
            "comments": Comment.objects.filter(record_type=CONTACT, record_id=pk).count(),
            "tags": TaggedRecord.objects.filter(object_type=CONTACT, object_id=pk).count(),
            "lineage": ImportedRecord.objects.filter(object_type=CONTACT, object_id=pk).count(),
            "points": ContactPoint.objects.filter(contact_id=pk).count(),
            "addresses": Address.objects.filter(contact_id=pk).count(),
            "relations": AccountContact.objects.filter(contact_id=pk).count(),
            "orders": Order.objects.filter(contact_id=pk).count(),
            "quotes": Quote.objects.filter(contact_id=pk).count(),
            "opp_contacts": OpportunityContact.objects.filter(contact_id=pk).count(),
            "leads": Lead.objects.filter(converted_contact_id=pk).count(),
        }
    for pk in account_ids:
        out[("account", pk)] = {
            "opportunities": Opportunity.objects.filter(account_id=pk).count(),
            "orders": Order.objects.filter(account_id=pk).count(),
            "quotes": Quote.objects.filter(account_id=pk).count(),
            "contacts": Contact.objects.filter(account_id=pk).count(),
            "relations": AccountContact.objects.filter(account_id=pk).count(),
            "children": customers.Account.objects.filter(parent_id=pk).count(),
            "links": ActivityLink.objects.filter(object_type=ACCOUNT, object_id=pk).count(),
            "tags": TaggedRecord.objects.filter(object_type=ACCOUNT, object_id=pk).count(),
        }
    return out


def _rows(model, **filters):
    return sorted((full_row(r) for r in model.objects.filter(**filters)), key=lambda r: r["id"])


@pytest.fixture
def world(tenant):
    """The sale's contact and account (the losers) with one row of every relation kind; survivors."""
    sale = Sale(tenant)
    owner = tenant.actors["owner"]
    with tenant.scope():
        loser, account = sale.contact, sale.account
        customers.update_contact(
            owner,
            loser,
            email="zhang.wei@yunfan.cn",
            phone="13900139000",
            tags=["vip", "beta"],
            consent_email=True,
            addresses=[{"city": "杭州", "is_primary": True}],
        )
        Contact.objects.filter(pk=loser.pk).update(custom={"wechat_id": "zw88"})
        survivor_account = customers.create_account(owner, name="云帆科技有限公司", tags=["vip"])
        survivor = customers.create_contact(
            owner, name="Zhang Wei", account_id=survivor_account.pk, email="zw@yunfan.cn", tags=["vip"]
        )
        customers.create_account(owner, name="云帆 杭州分公司", parent_id=account.pk)
        shared = log_activity(
            owner, kind="call", subject="Both", links=[(CONTACT, loser.pk), (CONTACT, survivor.pk)]
        )
        log_activity(
            owner, kind="note", subject="Only loser", links=[(CONTACT, loser.pk), (ACCOUNT, account.pk)]
        )
        create_task(owner, title="Call back", record_type=CONTACT, record_id=loser.pk)
        add_comment(owner, record_type=CONTACT, record_id=loser.pk, body="Met at the fair")
        job = ImportJob.objects.create(
            workspace=tenant.workspace, target="contacts", file_name="a.csv", file_path="x"
        )
        ImportedRecord.objects.create(
            workspace=tenant.workspace,
            job=job,
            object_type=CONTACT,
            object_id=loser.pk,
            row=2,
            action="created",
        )
        commerce.create_order(
            owner,
            account_id=account.pk,
            contact_id=loser.pk,
            lines=[{"product_id": sale.widget.pk, "quantity": 1}],
        )
        quotes.create_quote(owner, opportunity_id=sale.opp.pk, contact_id=loser.pk)
        lead = leads.create_lead(owner, name="张伟", company="云帆科技")
        leads.update_lead(owner, lead, status="qualified")
        leads.convert_lead(owner, lead, account_id=account.pk, contact_id=loser.pk)
    return {
        "sale": sale,
        "loser": loser,
        "survivor": survivor,
        "account": account,
        "survivor_account": survivor_account,
        "shared": shared,
    }


def test_contact_merge_moves_every_relation_and_undo_restores_exactly(tenant, world):
    owner = tenant.actors["owner"]
    loser, survivor = world["loser"], world["survivor"]
    with tenant.scope():
        before = _related([loser.pk, survivor.pk])
        assert all(v for v in before[("contact", loser.pk)].values()), before
        loser_row = full_row(Contact.objects.get(pk=loser.pk))
        survivor_row = full_row(Contact.objects.get(pk=survivor.pk))
        tables = {
            m: _rows(m)
            for m in (
                ActivityLink,
                TaggedRecord,
                ContactPoint,
                Address,
                AccountContact,
                Task,
                Comment,
                ImportedRecord,
                Order,
                Quote,
                OpportunityContact,
                Lead,
            )
        }
        done = merging.merge(
            owner, CONTACT, survivor.pk, [loser.pk], {"name": loser.pk, "custom.wechat_id": loser.pk}
        )
        after = _related([loser.pk, survivor.pk])
        assert not Contact.objects.filter(pk=loser.pk).exists()
        assert all(v == 0 for v in after[("contact", loser.pk)].values()), after
        moved = after[("contact", survivor.pk)]
        b_l, b_s = before[("contact", loser.pk)], before[("contact", survivor.pk)]
        for kind in (
            "tasks",
            "comments",
            "lineage",
            "orders",
            "quotes",
            "opp_contacts",
            "leads",
            "addresses",
        ):
            assert moved[kind] == b_l[kind] + b_s[kind], kind
        assert moved["links"] == b_l["links"] + b_s["links"] - 1  # the shared call is linked once
        assert moved["tags"] == 2  # vip (both had it) + beta
        assert moved["points"] == b_l["points"] + b_s["points"]  # every phone and email kept
        survivor.refresh_from_db()
        assert (
            survivor.name == "张伟"
            and survivor.email == "zw@yunfan.cn"
            and survivor.phone == "+8613900139000"
        )
        assert survivor.custom == {"wechat_id": "zw88"} and survivor.consent_email is True
        primaries = ContactPoint.objects.filter(contact=survivor, is_primary=True)
        assert sorted(primaries.values_list("value", flat=True)) == ["+8613900139000", "zw@yunfan.cn"]
        assert Address.objects.filter(contact=survivor, is_primary=True).count() == 1
        assert done.moved_count > 0 and len(done.removed) == 2  # the shared link and the "vip" tag

        merging.undo(owner, done)
        assert full_row(Contact.objects.get(pk=loser.pk)) == loser_row
        restored = full_row(Contact.objects.get(pk=survivor.pk))
        assert {k: v for k, v in restored.items() if k not in ("updated_at", "updated_by_id")} == {
            k: v for k, v in survivor_row.items() if k not in ("updated_at", "updated_by_id")
        }
        for model, rows in tables.items():
            assert _rows(model) == [r for r in rows], model._meta.label
        assert _related([loser.pk, survivor.pk]) == before
        with pytest.raises(merging.Conflict):
            merging.undo(owner, done)


def test_account_merge_moves_opportunities_orders_contacts_children(tenant, world):
    owner = tenant.actors["owner"]
    loser, survivor = world["account"], world["survivor_account"]
    with tenant.scope():
        before = _related(account_ids=[loser.pk, survivor.pk])
        done = merging.merge(owner, ACCOUNT, survivor.pk, [loser.pk])
        after = _related(account_ids=[loser.pk, survivor.pk])
        for kind in ("opportunities", "orders", "quotes", "contacts", "relations", "children", "links"):
            assert after[("account", survivor.pk)][kind] == sum(
                before[("account", pk)][kind] for pk in (loser.pk, survivor.pk)
            ), kind
            assert after[("account", loser.pk)][kind] == 0
        assert Lead.objects.filter(converted_account_id=survivor.pk).count() == 1
        merging.undo(owner, done)
        assert _related(account_ids=[loser.pk, survivor.pk]) == before


def test_merge_of_1000_related_rows_each_is_fast(tenant, world, django_assert_max_num_queries):
    owner = tenant.actors["owner"]
    loser, survivor = world["loser"], world["survivor"]
    with tenant.scope():
        for target in (loser, survivor):
            activity = log_activity(owner, kind="note", subject="bulk", links=[(CONTACT, target.pk)])
            ActivityLink.objects.bulk_create(
                [
                    ActivityLink(
                        workspace=tenant.workspace,
                        activity=activity,
                        object_type="x.y",
                        object_id=i,
                        occurred_at=timezone.now(),
                        kind="note",
                    )
                    for i in range(1)
                ]
            )
        tasks = [
            Task(
                workspace=tenant.workspace,
                title=f"t{i}",
                record_type=CONTACT,
                record_id=pk,
                assignee=tenant.users["owner"],
            )
            for pk in (loser.pk, survivor.pk)
            for i in range(1000)
        ]
        Task.objects.bulk_create(tasks)
        with django_assert_max_num_queries(120):
            done = merging.merge(owner, CONTACT, survivor.pk, [loser.pk])
        assert Task.objects.filter(record_type=CONTACT, record_id=survivor.pk).count() == 2001
        assert done.moved_count >= 1001


def test_api_merge_permissions_hidden_records_and_isolation(tenant, other_tenant, world):
    loser, survivor = world["loser"], world["survivor"]
    body = json.dumps({"survivor": survivor.pk, "merged": [loser.pk]})
    # sales may change its own records but not delete: refused
    assert (
        tenant.api_client("sales")
        .post("/api/v1/contacts/merge", body, content_type="application/json")
        .status_code
        == 403
    )
    # a record of another workspace is not found
    assert (
        other_tenant.api_client("owner")
        .post("/api/v1/contacts/merge", body, content_type="application/json")
        .status_code
        == 404
    )
    with tenant.scope():
        hidden = customers.create_contact(tenant.actors["admin"], name="Hidden")
    manager = tenant.api_client("manager")  # team scope: the admin's contact is not visible
    hidden_body = json.dumps({"survivor": survivor.pk, "merged": [hidden.pk]})
    assert (
        manager.post("/api/v1/contacts/merge", hidden_body, content_type="application/json").status_code
        == 404
    )
    owner = tenant.api_client("owner")
    response = owner.post("/api/v1/contacts/merge", body, content_type="application/json")
    assert response.status_code == 200, response.content
    merge_id = response.json()["id"]
    assert other_tenant.api_client("owner").post(f"/api/v1/merges/{merge_id}/undo").status_code == 404
    assert other_tenant.api_client("owner").get(f"/api/v1/merges/{merge_id}").status_code == 404
    assert owner.get("/api/v1/merges").json()["items"][0]["id"] == merge_id
    assert owner.post(f"/api/v1/merges/{merge_id}/undo").status_code == 200
    with tenant.scope():
        assert Contact.objects.filter(pk=loser.pk).exists()
        assert MergeRecord.objects.get(pk=merge_id).undone_at is not None


def test_merge_page_side_by_side(tenant, world):
    client = tenant.web_client("owner")
    loser, survivor = world["loser"], world["survivor"]
    url = f"/duplicates/merge/?type={CONTACT}&ids={survivor.pk},{loser.pk}"
    page = client.get(url)
    assert page.status_code == 200 and "zhang.wei@yunfan.cn" in page.content.decode()
    response = client.post(url, {"survivor": survivor.pk, "value__name": loser.pk})
    assert response.status_code == 302 and response["Location"] == f"/contacts/{survivor.pk}/"
    with tenant.scope():
        assert Contact.objects.get(pk=survivor.pk).name == "张伟"
    assert tenant.web_client("sales").get(url).status_code == 404
    history = client.get("/duplicates/merges/")
    assert history.status_code == 200 and f"#{loser.pk}" in history.content.decode()
