"""The duplicate check of the bulk create API: warnings per item, blocking rules refuse the whole
batch, the same answers as one check per item, and a query count that does not grow per item."""

import json

from django.db import connection
from django.test.utils import CaptureQueriesContext

from kehu.customers import services as customers
from kehu.duplicates import rules
from kehu.duplicates.batch import find_duplicates_many
from kehu.duplicates.finder import find_duplicates


def _post(client, url, data):
    return client.post(url, json.dumps(data), content_type="application/json")


def test_bulk_contacts_warn_per_item(tenant, other_tenant, wang):
    with other_tenant.scope():  # another workspace's twin is never reported
        customers.create_contact(other_tenant.actors["admin"], name="Zhou Jie", email="zhou@example.com")
    items = [
        {"name": "Someone Else", "email": "WANG.WEI@xingchen.cn"},  # exact email
        {"name": "Zhou Jie", "email": "zhou@example.com"},  # unique here
        {"name": "Wei Wang", "account_id": wang.account_id},  # fuzzy name at the same company
    ]
    response = _post(tenant.api_client("admin"), "/api/v1/contacts/bulk", {"items": items})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["count"] == 3 and len(body["ids"]) == 3
    found = {d["index"]: d["matches"] for d in body["possible_duplicates"]}
    assert set(found) == {0, 2}
    assert [(m["id"], m["matched_fields"], m["action"]) for m in found[0]] == [(wang.pk, ["email"], "warn")]
    assert found[2][0]["id"] == wang.pk and "name" in found[2][0]["matched_fields"]
    assert found[2][0]["name"] == "王伟" and 0 < found[2][0]["score"] <= 100


def test_bulk_accounts_warn_per_item(tenant):
    admin = tenant.actors["admin"]
    with tenant.scope():
        known = customers.create_account(admin, name="北京青禾科技有限公司", email="info@qinghe.cn")
    items = [{"name": "Northwind"}, {"name": "Other Name", "email": "INFO@qinghe.cn"}]
    response = _post(tenant.api_client("admin"), "/api/v1/accounts/bulk", {"items": items})
    assert response.status_code == 201, response.content
    [warning] = response.json()["possible_duplicates"]
    assert warning["index"] == 1 and [m["id"] for m in warning["matches"]] == [known.pk]


def test_blocking_rule_refuses_the_whole_batch(tenant, wang):
    with tenant.scope():
        rule = rules.rules_of(tenant.workspace, "customers.contact")[1]  # Same phone
        rules.update_rule(tenant.actors["admin"], rule, action="block")
        before = customers.Contact.objects.count()
    items = [{"name": "A"}, {"name": "B", "phone": "139 0013 9000"}]
    response = _post(tenant.api_client("admin"), "/api/v1/contacts/bulk", {"items": items})
    assert response.status_code == 422
    [detail] = response.json()["error"]["details"]
    assert detail["field"] == "items.1.phone" and detail["code"] == "duplicate"
    assert f"#{wang.pk}" in detail["message"]
    with tenant.scope():
        assert customers.Contact.objects.count() == before


def test_batch_answers_as_one_check_per_item(tenant, wang):
    ws = tenant.workspace
    items = [
        {"name": "X", "email": "WANG.WEI@xingchen.cn"},
        {"name": "X", "phone": "+86 139-0013-9000"},
        {"name": "Wei Wang", "company": "星辰科技", "city": "Shanghai"},
        {"name": "Wei Wang", "company": "Northwind"},
        {"name": "王伟", "emails": [{"value": "wang.wei@xingchen.cn"}]},
    ]
    with tenant.scope():
        single = [
            [(m.record_id, m.score, m.matched_fields) for m in find_duplicates(ws, "customers.contact", i)]
            for i in items
        ]
        batch = [
            [(m.record_id, m.score, m.matched_fields) for m in ms]
            for ms in find_duplicates_many(ws, "customers.contact", items)
        ]
    assert batch == single
    assert [bool(ms) for ms in batch] == [True, True, True, False, True]


def _items(n: int, offset: int) -> list[dict]:
    """n new contacts, one of them (the fifth) sharing the fixture's email: the same work per call
    except for the number of items."""
    items = [
        {
            "name": f"客户{offset + i}号",
            "email": f"c{offset + i}@example.com",
            "phone": f"138{offset + i:08d}",
        }
        for i in range(n)
    ]
    items[4] = {"name": "Other", "email": "wang.wei@xingchen.cn"}
    return items


def test_query_count_does_not_grow_per_item(tenant, wang, django_assert_max_num_queries):
    client = tenant.api_client("admin")
    _post(client, "/api/v1/contacts/bulk", {"items": _items(5, 0)})  # warm up: default rules, session
    with CaptureQueriesContext(connection) as ten:
        response = _post(client, "/api/v1/contacts/bulk", {"items": _items(10, 100)})
    assert response.status_code == 201 and [d["index"] for d in response.json()["possible_duplicates"]] == [4]
    with django_assert_max_num_queries(len(ten)):
        response = _post(client, "/api/v1/contacts/bulk", {"items": _items(100, 1000)})
    assert response.status_code == 201
    assert [d["index"] for d in response.json()["possible_duplicates"]] == [4]


def test_column_lookup_finds_the_workspace_records_by_value(tenant, other_tenant):
    """The contacts' own phone/email columns, per value (one btree probe each on PostgreSQL)."""
    from kehu.customers.bulk import column_owners
    from kehu.customers.models import Contact

    with other_tenant.scope():
        customers.create_contact(other_tenant.actors["admin"], name="Twin", phone="13900139001")
    with tenant.scope():
        a = customers.create_contact(tenant.actors["admin"], name="A", phone="13900139001")
        b = customers.create_contact(tenant.actors["admin"], name="B", email="b@x.cn")
        found = column_owners(
            Contact.objects.all(), tenant.workspace.pk, "phone", ["+8613900139001", "+8613900139009"]
        )
        assert found == [(a.pk, "+8613900139001")]
        assert column_owners(Contact.objects.all(), tenant.workspace.pk, "email", ["b@x.cn"]) == [
            (b.pk, "b@x.cn")
        ]


def test_remembered_records_are_read_once_and_give_the_same_answers(tenant, wang):
    """Inside ``remembered_records()`` (an import creating contacts) a record read as a candidate by
    one call is taken from the memo by the next: the same matches, two queries less (the records and
    their phones and emails); once cleared, it is read again."""
    from kehu.customers.duplicate_hooks import remembered_records

    ws = tenant.workspace
    items = [{"name": "Wei Wang", "company": "星辰科技"}, {"name": "X", "email": "WANG.WEI@xingchen.cn"}]

    def answers():
        return [
            [(m.record_id, m.score, m.matched_fields) for m in ms]
            for ms in find_duplicates_many(ws, "customers.contact", items)
        ]

    with tenant.scope():
        expected = answers()
        with remembered_records() as memo:
            with CaptureQueriesContext(connection) as first:
                assert answers() == expected
            assert set(memo) == {("customers.contact", wang.pk)}
            with CaptureQueriesContext(connection) as second:
                assert answers() == expected
            memo.clear()
            with CaptureQueriesContext(connection) as cleared:
                assert answers() == expected
    assert expected[0] and expected[1][0][0] == wang.pk
    assert len(second) == len(first) - 2 and len(cleared) == len(first)


def test_remembered_records_stay_under_their_cap(tenant, wang, monkeypatch):
    from kehu.customers.duplicate_hooks import remembered_records
    from kehu.duplicates import batch

    monkeypatch.setattr(batch, "REMEMBERED_MAX", 0)
    items = [{"name": "Wei Wang", "company": "星辰科技"}]
    with tenant.scope():
        plain = find_duplicates_many(tenant.workspace, "customers.contact", items)
        with remembered_records() as memo:
            kept = find_duplicates_many(tenant.workspace, "customers.contact", items)
            assert memo == {}
    assert [m.record_id for m in kept[0]] == [m.record_id for m in plain[0]] == [wang.pk]
