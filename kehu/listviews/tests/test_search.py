"""The global search registry: groups from several apps, access per group, one registration call."""

from datetime import date

import pytest

from kehu.listviews import search

pytestmark = pytest.mark.django_db


def test_registered_groups_answer_in_order_and_only_with_the_view_right(tenant):
    from kehu.commerce import services as commerce
    from kehu.customers import services as customers

    with tenant.scope():
        account = customers.create_account(tenant.actors["sales"], name="王伟贸易")
        customers.create_contact(tenant.actors["sales"], name="王伟", account_id=account.pk)
        order = commerce.create_order(
            tenant.actors["sales"], account_id=account.pk, order_date=date(2025, 1, 2), total_amount="5"
        )
    assert [g.key for g in search.search_groups(tenant.actors["sales"])][:3] == [
        "accounts",
        "contacts",
        "orders",
    ]
    page = tenant.web_client("sales").get("/search/", {"q": order.number})
    assert page.context["results"]["orders"] == [order]
    html = page.content.decode()
    assert 'id="search-orders"' in html and f'href="/orders/{order.pk}/"' in html
    # Words without digits are no order number: that group does not scan the orders.
    assert tenant.web_client("sales").get("/search/", {"q": "王伟"}).context["results"]["orders"] == []

    # A later app contributes a group with one call; a member without its view right never sees it.
    group = search.SearchGroup(
        key="probe",
        label="Probe",
        object_type="workspaces.nosuchtype",
        search=lambda actor, q, limit: pytest.fail("must not run"),
        url=lambda r: "/",
    )
    search.register_search(group)
    try:
        assert "probe" not in tenant.web_client("owner").get("/search/", {"q": "x"}).context["results"]
        visible = search.SearchGroup(
            key="probe",
            label="Probe",
            object_type="customers.account",
            search=lambda actor, q, limit: [f"{q}-{i}" for i in range(limit)],
            url=lambda r: f"/probe/{r}/",
            more_url=lambda q: f"/probe/?q={q}",
            order=5,
        )
        search.register_search(visible)
        with tenant.scope():
            results = search.run_search(tenant.actors["sales"], "x", limit=3)
        assert results[0].group.key == "probe" and results[0].rows == ["x-0", "x-1", "x-2"]
        assert results[0].more_link == "/probe/?q=x"  # 4 asked for, 4 found: "Show all"
        html = tenant.web_client("sales").get("/search/", {"q": "x"}).content.decode()
        assert 'id="search-probe"' in html and 'href="/probe/x-0/"' in html
    finally:
        search.GROUPS.pop("probe", None)
