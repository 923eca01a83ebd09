"""The orders list on the list machinery: filters (incl. a custom field and margin), sorting, saved
views, exports, bulk actions through the services, the API's ?filters=, isolation, query counts."""

import io
import json
from datetime import date
from urllib.parse import quote

import pytest
from openpyxl import load_workbook

from kehu.audit.models import AuditEntry
from kehu.commerce.models import Order
from kehu.customfields.services import create_definition
from kehu.listviews import services as lists
from kehu.listviews.filters import encode_spec

pytestmark = pytest.mark.django_db


def spec(*conditions, op="and") -> dict:
    return {"op": op, "conditions": list(conditions)}


def cond(field, lookup, value) -> dict:
    return {"field": field, "lookup": lookup, "value": value}


@pytest.fixture
def orders(shop):
    """Three of the sales rep's orders (one with a custom channel) and one of the owner's."""
    with shop.tenant.scope():
        create_definition(
            shop.tenant.actors["owner"],
            object_type="commerce.order",
            key="channel",
            label="Sales channel",
            field_type="text",
        )
    small = shop.order(
        order_date=date(2025, 3, 1), total_amount="100", total_cost="90", custom={"channel": "shop"}
    )
    big = shop.order(order_date=date(2025, 1, 1), total_amount="5000", total_cost="1000", status="confirmed")
    mid = shop.order(
        order_date=date(2025, 2, 1), total_amount="700", total_cost="200", custom={"channel": "erp"}
    )
    theirs = shop.order(
        "owner", account_id=shop.other_account.pk, total_amount="9", order_date=date(2025, 4, 1)
    )
    return {"small": small, "big": big, "mid": mid, "theirs": theirs}


def numbers(response) -> list[str]:
    return [o.number for o in response.context["rows"]]


def test_the_list_renders_with_toolbar_and_only_visible_orders(shop, orders):
    page = shop.tenant.web_client("sales").get("/orders/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="list-filters"' in html and 'id="view-tabs"' in html and 'id="bulk-form"' in html
    # Newest order date first; the owner's order is not the rep's.
    assert numbers(page) == [orders["small"].number, orders["mid"].number, orders["big"].number]
    assert f'href="/orders/{orders["small"].pk}/"' in html and "云帆科技" in html
    assert orders["theirs"].number not in html
    # Sales may not export orders: no export menu.
    assert 'id="list-export"' not in html


def test_filters_custom_field_margin_and_sort(shop, orders):
    web = shop.tenant.web_client("owner")
    by_custom = web.get("/orders/", {"f": encode_spec(spec(cond("custom.channel", "eq", "erp")))})
    assert numbers(by_custom) == [orders["mid"].number]
    either = spec(cond("custom.channel", "eq", "shop"), cond("status", "eq", "confirmed"), op="or")
    assert set(numbers(web.get("/orders/", {"f": encode_spec(either)}))) == {
        orders["small"].number,
        orders["big"].number,
    }
    margin = web.get("/orders/", {"f": encode_spec(spec(cond("margin", "gte", "500"))), "sort": "-amount"})
    assert numbers(margin) == [orders["big"].number, orders["mid"].number]
    by_account = spec(cond("account.name", "contains", "云帆"), cond("order_date", "lt", "2025-03-01"))
    assert numbers(web.get("/orders/", {"f": encode_spec(by_account), "sort": "order_date"})) == [
        orders["big"].number,
        orders["mid"].number,
    ]
    cheapest = web.get("/orders/", {"sort": "amount", "cols": "number,total,margin,custom.channel"})
    assert numbers(cheapest)[0] == orders["theirs"].number
    html = cheapest.content.decode()
    assert "Sales channel" in html and "<td>erp</td>" in html
    # A bad condition is reported, not applied.
    bad = web.get("/orders/", {"f": encode_spec(spec(cond("margin", "between", ["1", "2"])))}, follow=True)
    assert len(bad.context["rows"]) == 4


def test_keyset_pages_and_account_preset(shop, orders):
    web = shop.tenant.web_client("owner")
    for i in range(3):
        shop.order(order_date=date(2024, 1, 1 + i), total_amount="1")
    first = web.get("/orders/", {"all": "1"})
    assert len(first.context["rows"]) == 7 and first.context["next_cursor"] is None
    # The account page's link narrows the list and keeps the narrowing in its links.
    narrowed = web.get("/orders/", {"account": shop.other_account.pk})
    assert numbers(narrowed) == [orders["theirs"].number]
    assert f"account={shop.other_account.pk}" in narrowed.context["state_query"]


def test_saved_view_of_orders(shop, orders):
    web = shop.tenant.web_client("owner")
    saved = web.post(
        "/lists/commerce.order/views/",
        {
            "name": "ERP orders",
            "f": encode_spec(spec(cond("custom.channel", "isnull", "false"))),
            "sort": "-amount",
            "cols": "number,account,total,custom.channel",
            "is_default": "1",
        },
    )
    assert saved.status_code == 302
    page = web.get("/orders/")  # the default view opens
    assert page.context["list_state"].view.name == "ERP orders"
    assert numbers(page) == [orders["mid"].number, orders["small"].number]
    assert [c.key for c in page.context["list_columns"]] == ["number", "account", "total", "custom.channel"]
    # Nobody else sees a personal view.
    view_id = page.context["list_state"].view.pk
    assert shop.tenant.web_client("admin").get("/orders/", {"view": view_id}).status_code == 404


def test_export_of_the_current_view_respects_access(shop, orders):
    query = {
        "f": encode_spec(spec(cond("total_amount", "gte", "1"))),
        "sort": "-amount",
        "cols": "number,account,status,total,margin,custom.channel",
    }
    response = shop.tenant.web_client("owner").get("/lists/commerce.order/export.xlsx", query)
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    rows = [list(r) for r in book.active.iter_rows(values_only=True)]
    assert rows[0] == ["Number", "Account", "Status", "Total", "Margin", "Sales channel"]
    assert rows[1] == [orders["big"].number, "云帆科技", "Confirmed", 5000, 4000, None]
    assert [r[0] for r in rows[1:]] == [
        orders["big"].number,
        orders["mid"].number,
        orders["small"].number,
        orders["theirs"].number,
    ]
    with shop.tenant.scope():
        entry = AuditEntry.objects.filter(action="export", object_type="commerce.order").latest("pk")
    assert entry.changes["filter"] == "(Total at least 1)"
    # A manager (team scope, no team) exports only their own orders: none here.
    manager = shop.tenant.web_client("manager").get("/lists/commerce.order/export.csv", query)
    lines = b"".join(manager.streaming_content).decode("utf-8-sig").splitlines()
    assert lines == ["Number,Account,Status,Total,Margin,Sales channel"]
    assert shop.tenant.web_client("sales").get("/lists/commerce.order/export.csv").status_code == 403


def test_bulk_actions_run_through_the_services(shop, orders):
    owner, sales = shop.tenant.actors["owner"], shop.tenant.actors["sales"]
    ids = [o.pk for o in orders.values()]
    with shop.tenant.scope():
        # Sales changes only the orders it may see; the owner's is skipped.
        result = lists.run_bulk(sales, "commerce.order", "status_paid", ids=ids)
        assert (result.done, result.skipped) == (3, 1)
        assert set(Order.objects.filter(pk__in=ids[:3]).values_list("status", flat=True)) == {"paid"}
        # A transition the services refuse (paid → confirmed) is skipped with the reason.
        refused = lists.run_bulk(owner, "commerce.order", "status_confirmed", ids=ids[:1])
        assert (refused.done, refused.skipped) == (0, 1) and "cannot become" in refused.problems[0]
        moved = lists.run_bulk(
            owner, "commerce.order", "assign_owner", ids=ids, value=shop.tenant.users["manager"].pk
        )
        assert moved.done == 4
        assert set(Order.objects.values_list("owner_id", flat=True)) == {shop.tenant.users["manager"].pk}
        from kehu.core.errors import PermissionDenied

        with pytest.raises(PermissionDenied):
            lists.run_bulk(sales, "commerce.order", "delete", ids=ids)
        assert AuditEntry.objects.filter(object_type="commerce.order", action="update").count() >= 7
    # Delete asks for a confirmation stating the count, then deletes through the services (audited).
    web = shop.tenant.web_client("owner")
    confirm = web.post("/lists/commerce.order/bulk/", {"action": "delete", "ids": ids[:2], "back": ""})
    assert confirm.status_code == 200 and "Delete 2 records" in confirm.content.decode()
    done = web.post(
        "/lists/commerce.order/bulk/", {"action": "delete", "ids": ids[:2], "back": "", "confirmed": "1"}
    )
    assert done.status_code == 302 and done["Location"] == "/orders/"
    with shop.tenant.scope():
        assert Order.objects.count() == 2
        assert AuditEntry.objects.filter(object_type="commerce.order", action="delete").count() == 2


def test_api_filters_and_isolation(shop, orders, other_tenant):
    api = shop.tenant.api_client("sales")
    found = api.get(
        "/api/v1/orders?ordering=-base_total_amount&filters="
        + quote(json.dumps(spec(cond("margin", "gt", "100"), cond("custom.channel", "isnull", "true"))))
    )
    assert found.status_code == 200, found.content
    assert [o["number"] for o in found.json()["items"]] == [orders["big"].number]
    bad = api.get("/api/v1/orders?filters=" + quote(json.dumps(spec(cond("margin", "in", "1,2")))))
    assert (
        bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "filters.conditions.0.lookup"
    )
    # Another workspace sees none of these orders, whatever the filter; its bulk skips them.
    foreign = other_tenant.api_client("owner").get("/api/v1/orders?filters=" + quote(json.dumps(spec())))
    assert foreign.json()["items"] == []
    response = other_tenant.web_client("owner").post(
        "/lists/commerce.order/bulk/",
        {"action": "status_paid", "ids": [orders["small"].pk], "back": ""},
        follow=True,
    )
    assert "0 changed, 1 skipped." in response.content.decode()
    assert other_tenant.web_client("owner").get("/orders/").context["rows"] == []


def test_list_page_query_count_is_pinned(shop, orders, django_assert_num_queries):
    web = shop.tenant.web_client("owner")
    query = {"cols": "number,account,contact,owner,total,custom.channel", "sort": "-amount", "all": "1"}
    web.get("/orders/", query)
    # session, user, membership, custom fields, one page of orders (account, contact, owner), saved
    # views, members, workspace switcher
    with django_assert_num_queries(8):
        web.get("/orders/", query)
    for i in range(20):
        shop.order(order_date=date(2024, 5, 1 + i), total_amount=str(i), contact_id=shop.contact.pk)
    with django_assert_num_queries(8):
        response = web.get("/orders/", query)
    assert len(response.context["rows"]) == 24
