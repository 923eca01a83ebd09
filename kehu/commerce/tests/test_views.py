"""Commerce pages: order list and form with lines, panels on the account page, products, rates, feedback."""

from datetime import date

import pytest
from django_scopes import scope

from kehu.commerce import services
from kehu.commerce.models import ExchangeRate, Feedback, Order, Product
from kehu.customers import services as customers

pytestmark = pytest.mark.django_db


def line_post(index: int, **values) -> dict:
    return {f"lines-{index}-{k}": v for k, v in values.items()}


def test_create_order_with_lines_through_the_form(shop):
    client = shop.tenant.web_client("sales")
    page = client.get(f"/orders/new/?account_id={shop.account.pk}")
    assert page.status_code == 200 and f'name="account_id" value="{shop.account.pk}"' in page.content.decode()
    data = {
        "account_id": shop.account.pk,
        "contact_id": shop.contact.pk,
        "order_date": "2025-08-01",
        "status": "confirmed",
        "currency": "CNY",
        "discount": "0",
        "owner_id": shop.tenant.users["sales"].pk,
        "lines-TOTAL_FORMS": "3",
        "lines-INITIAL_FORMS": "0",
        **line_post(0, product_id=shop.widget.pk, quantity="2"),
        **line_post(1, description="", quantity=""),  # a blank row is ignored
        **line_post(2, description="Installation", quantity="1", unit_price="100"),
    }
    response = client.post("/orders/new/", data)
    with shop.tenant.scope():
        order = Order.objects.get()
    assert response.status_code == 302 and response.url == f"/orders/{order.pk}/"
    assert str(order.total_amount) == "139.98" and order.contact_id == shop.contact.pk
    detail = client.get(response.url).content.decode()
    assert "139.98 CNY" in detail and "Installation" in detail and "Widget" in detail


def test_line_errors_show_on_the_line_and_nothing_is_saved(shop):
    client = shop.tenant.web_client("sales")
    data = {
        "account_id": shop.account.pk,
        "order_date": "2025-08-01",
        "status": "draft",
        "currency": "CNY",
        "discount": "0",
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "0",
        **line_post(0, product_id=shop.widget.pk, quantity="1"),
        **line_post(1, product_id=shop.widget.pk, quantity="-2"),
    }
    response = client.post("/orders/new/", data)
    assert response.status_code == 200
    formset = response.context["formset"]
    assert not formset.forms[0].errors and formset.forms[1].errors["quantity"] == ["Must be greater than 0."]
    with shop.tenant.scope():
        assert not Order.objects.exists()


def test_add_line_returns_a_numbered_row(shop):
    response = shop.tenant.web_client("sales").get(
        "/orders/line-row/", {"lines-TOTAL_FORMS": "3"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert (
        'name="lines-3-quantity"' in html and 'value="4" id="id_lines-TOTAL_FORMS" hx-swap-oob="true"' in html
    )


def test_edit_order_and_change_status(shop):
    order = shop.order(lines=[{"sku": "W-1", "quantity": 1}])
    client = shop.tenant.web_client("sales")
    form = client.get(f"/orders/{order.pk}/edit/")
    assert form.status_code == 200 and 'name="lines-0-quantity" value="1"' in form.content.decode()
    client.post(f"/orders/{order.pk}/status/", {"status": "cancelled"})
    client.post(f"/orders/{order.pk}/status/", {"status": "paid"})  # refused: cancelled is final
    with shop.tenant.scope():
        order.refresh_from_db()
    assert order.status == "cancelled"


def test_order_list_filters_and_query_count(shop, django_assert_num_queries):
    for i in range(12):
        shop.order(status="paid" if i % 2 else "draft", order_date=date(2025, 1, 1 + i), total_amount=str(i))
    shop.order("owner", account_id=shop.other_account.pk, status="paid")  # not the rep's
    client = shop.tenant.web_client("sales")
    client.get("/orders/")  # warm up the session
    # session, user, membership (+ role and workspace), default view, custom fields, one page of
    # orders (with account, contact and owner), the saved-view tabs, members (owner filter and
    # bulk), the workspace switcher
    with django_assert_num_queries(9):
        response = client.get("/orders/")
    assert len(response.context["rows"]) == 12
    paid = client.get("/orders/", {"status": "paid", "date_from": "2025-01-05"})
    assert [o.order_date.day for o in paid.context["rows"]] == [12, 10, 8, 6]
    by_number = client.get("/orders/", {"q": "000003"})
    assert [o.number for o in by_number.context["rows"]] == ["SO-000003"]
    mine = client.get("/orders/", {"account": shop.other_account.pk})
    assert mine.context["rows"] == [] and mine.context["account"] is None


def test_account_page_shows_purchase_and_feedback_panels(shop, django_assert_max_num_queries):
    shop.order(status="paid", order_date=date(2025, 3, 1), total_amount="1234.50")
    shop.order(status="draft", order_date=date(2025, 4, 1), total_amount="99")
    with shop.tenant.scope():
        services.create_feedback(
            shop.tenant.actors["owner"],
            account_id=shop.account.pk,
            rating=4,
            kind="praise",
            comment="Fast delivery",
            owner_id=shop.tenant.users["sales"].pk,
        )
    client = shop.tenant.web_client("sales")
    html = client.get(f"/accounts/{shop.account.pk}/").content.decode()
    assert 'id="panel-purchases"' in html and "1,234.50 CNY" in html and "SO-000002" in html
    assert 'id="panel-feedback"' in html and "Fast delivery" in html and "★ 4.0" in html
    # the service role may add feedback from the panel
    service = shop.tenant.web_client("service")
    response = service.post(
        "/feedback/new/",
        {
            "account_id": shop.account.pk,
            "rating": "2",
            "kind": "complaint",
            "channel": "phone",
            "comment": "Late",
            "next": f"/accounts/{shop.account.pk}/",
        },
    )
    assert response.status_code == 302 and response.url == f"/accounts/{shop.account.pk}/"
    with shop.tenant.scope():
        assert Feedback.objects.filter(comment="Late", rating=2).exists()


def test_purchase_panel_query_count_is_pinned(shop, django_assert_num_queries):
    from kehu.commerce.panels import purchases_context

    for i in range(15):
        shop.order(status="paid", order_date=date(2025, 1, 1 + i), total_amount="10")
    with shop.tenant.scope(), django_assert_num_queries(2):  # one aggregate + the latest 10 orders
        context = purchases_context(shop.tenant.actors["sales"], shop.account)
    assert context["summary"].orders == 15 and len(context["orders"]) == 10


def test_product_pages(shop):
    client = shop.tenant.web_client("owner")
    response = client.post(
        "/products/new/",
        {
            "sku": "NEW-1",
            "name": "茶叶礼盒",
            "category": "Gifts",
            "unit_price": "288",
            "unit_cost": "120",
            "currency": "CNY",
            "active": "on",
        },
    )
    with shop.tenant.scope():
        product = Product.objects.get(sku="NEW-1")
    assert response.status_code == 302 and response.url == f"/products/{product.pk}/"
    assert "288.00 CNY" in client.get(response.url).content.decode()
    duplicate = client.post(
        "/products/new/",
        {"sku": "NEW-1", "name": "x", "unit_price": "1", "unit_cost": "0", "currency": "CNY"},
    )
    assert duplicate.context["form"].errors["sku"]
    listing = client.get("/products/", {"q": "礼盒"})
    assert [p.sku for p in listing.context["rows"]] == ["NEW-1"]
    inactive = client.get("/products/", {"show": "inactive"})
    assert [p.sku for p in inactive.context["rows"]] == ["OLD"]
    assert shop.tenant.web_client("readonly").get("/products/new/").status_code == 403


def test_exchange_rate_page(shop):
    admin = shop.tenant.web_client("admin")
    page = admin.get("/settings/exchange-rates/")
    assert page.status_code == 200 and "7.25" in page.content.decode()
    admin.post(
        "/settings/exchange-rates/", {"currency": "gbp", "rate_to_base": "9.1", "valid_from": "2025-01-01"}
    )
    with shop.tenant.scope():
        rate = ExchangeRate.objects.get(currency="GBP")
    sales = shop.tenant.web_client("sales")
    assert sales.get("/settings/exchange-rates/").status_code == 200  # may look
    assert sales.post(f"/settings/exchange-rates/{rate.pk}/delete/").status_code == 403  # may not change
    assert admin.post(f"/settings/exchange-rates/{rate.pk}/delete/").status_code == 302
    with shop.tenant.scope():
        assert not ExchangeRate.objects.filter(currency="GBP").exists()


def test_other_workspaces_and_other_peoples_orders_are_404(shop, other_tenant):
    mine = shop.order("owner", account_id=shop.other_account.pk)
    with scope(workspace=other_tenant.workspace):
        owner = other_tenant.actors["owner"]
        account = customers.create_account(owner, name="Globex customer")
        foreign = services.create_order(owner, account_id=account.pk)
        foreign_product = services.create_product(owner, sku="X", name="X", currency="USD")
    sales = shop.tenant.web_client("sales")
    for url in (
        f"/orders/{mine.pk}/",
        f"/orders/{mine.pk}/edit/",
        f"/orders/{foreign.pk}/",
        f"/orders/{foreign.pk}/delete/",
    ):
        assert sales.get(url).status_code == 404, url
    assert shop.tenant.web_client("owner").get(f"/products/{foreign_product.pk}/").status_code == 404


def test_contact_page_shows_the_contacts_orders_and_feedback_form(shop):
    shop.order(
        status="shipped",
        contact_id=shop.contact.pk,
        currency="USD",
        total_amount="10",
        order_date=date(2025, 9, 9),
    )
    shop.order(status="paid", total_amount="999")  # the account's, not the contact's
    html = shop.tenant.web_client("owner").get(f"/contacts/{shop.contact.pk}/").content.decode()
    assert "10.00 USD" in html and "999.00" not in html and "72.50 CNY" in html  # revenue in base currency
    assert f'href="/orders/?contact={shop.contact.pk}"' in html and 'id="feedback-form"' in html
    listing = shop.tenant.web_client("owner").get("/orders/", {"contact": shop.contact.pk})
    assert [o.currency for o in listing.context["rows"]] == ["USD"]


def test_money_is_formatted_per_language(shop):
    from django.utils import translation

    from kehu.commerce.templatetags.kehu_commerce import money

    with translation.override("en"):
        assert money("1234567.005", "CNY") == "1,234,567.01 CNY"
    with translation.override("zh-hans"):
        assert money("1234.5", "USD") == "1,234.50 USD"
    assert money(None, "CNY") == ""


def test_order_and_product_forms_carry_custom_fields(tenant):
    from kehu.commerce.models import Order, Product
    from kehu.customers import services as customers
    from kehu.customfields import services as customfields

    owner = tenant.actors["owner"]
    with tenant.scope():
        customfields.create_definition(
            owner,
            object_type="commerce.order",
            key="po_number",
            label="PO number",
            field_type="text",
            required=True,
        )
        customfields.create_definition(
            owner, object_type="commerce.product", key="origin", label="Origin", field_type="text"
        )
        account = customers.create_account(owner, name="Form buyer")
    client = tenant.web_client("owner")
    assert 'name="custom__po_number"' in client.get("/orders/new/").content.decode()
    base = {
        "account_id": account.pk,
        "order_date": "2026-11-20",
        "status": "draft",
        "currency": "CNY",
        "discount": "0",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-0-description": "Tea",
        "lines-0-quantity": "2",
        "lines-0-unit_price": "9",
        "lines-0-unit_cost": "0",
        "lines-0-discount": "0",
    }
    missing = client.post("/orders/new/", base)
    assert missing.status_code == 200 and missing.context["form"].errors["custom__po_number"]
    saved = client.post("/orders/new/", {**base, "custom__po_number": "PO-77"})
    assert saved.status_code == 302
    with tenant.scope():
        order = Order.objects.get(account=account)
    assert order.custom == {"po_number": "PO-77"}
    assert "PO-77" in client.get(f"/orders/{order.pk}/").content.decode()
    client.post(
        "/products/new/",
        {
            "sku": "TEA-1",
            "name": "Tea",
            "unit_price": "9",
            "unit_cost": "3",
            "currency": "CNY",
            "active": "on",
            "custom__origin": "云南",
        },
    )
    with tenant.scope():
        product = Product.objects.get(sku="TEA-1")
    assert product.custom == {"origin": "云南"}
    assert "云南" in client.get(f"/products/{product.pk}/").content.decode()
