"""Quote pages: opportunity panel, new → editor (formset, live totals), detail actions, print, list."""

import pytest

from kehu.commerce.models import Order
from kehu.quotes import services
from kehu.quotes.models import Quote

pytestmark = pytest.mark.django_db


def _editor_data(quote, lines, **header):
    data = {
        "issue_date": quote.issue_date.isoformat(),
        "valid_until": quote.valid_until.isoformat(),
        "discount_percent": "0",
        "win_opportunity": "on",
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "200",
        **header,
    }
    for index, line in enumerate(lines):
        for key, value in line.items():
            data[f"lines-{index}-{key}"] = value
    return data


def test_opportunity_page_panel_and_new_quote(sale):
    client = sale.tenant.web_client("sales")
    page = client.get(f"/opportunities/{sale.opp.pk}/")
    assert page.status_code == 200
    assert b'id="panel-quotes"' in page.content and b'id="quote-new"' in page.content
    created = client.post("/quotes/new/", {"opportunity_id": sale.opp.pk})
    with sale.tenant.scope():
        quote = Quote.objects.get()
    assert created.status_code == 302 and created["Location"] == f"/quotes/{quote.pk}/edit/"
    editor = client.get(f"/quotes/{quote.pk}/edit/")
    assert editor.status_code == 200 and "实施服务".encode() in editor.content
    assert quote.number.encode() in client.get(f"/opportunities/{sale.opp.pk}/").content


def test_editor_saves_lines_and_shows_field_errors(sale):
    client = sale.tenant.web_client("sales")
    with sale.tenant.scope():
        quote = services.create_quote(sale.actor(), opportunity_id=sale.opp.pk, lines=[])
    bad = client.post(
        f"/quotes/{quote.pk}/edit/",
        _editor_data(quote, [{"description": "咨询", "quantity": "-1", "unit_price": "100"}]),
    )
    assert bad.status_code == 200 and b"has-error" in bad.content
    good = client.post(
        f"/quotes/{quote.pk}/edit/",
        _editor_data(
            quote,
            [
                {
                    "product_id": str(sale.widget.pk),
                    "quantity": "3",
                    "discount_percent": "10",
                    "tax_rate": "13",
                },
                {
                    "description": "实施服务",
                    "quantity": "2",
                    "unit_price": "1000",
                    "discount_percent": "5",
                    "tax_rate": "6",
                    "DELETE": "",
                },
                {"description": "removed", "quantity": "1", "unit_price": "5", "DELETE": "on"},
            ],
            discount_percent="2",
        ),
    )
    assert good.status_code == 302, good.content.decode()[:2000]
    quote.refresh_from_db()
    assert str(quote.total) == "2033.490"


def test_live_totals_use_the_server_computation(sale):
    client = sale.tenant.web_client("sales")
    with sale.tenant.scope():
        quote = services.create_quote(sale.actor(), opportunity_id=sale.opp.pk, lines=[])
    data = _editor_data(
        quote,
        [
            {
                "description": "A",
                "quantity": "3",
                "unit_price": "19.99",
                "discount_percent": "10",
                "tax_rate": "13",
            },
            {
                "description": "B",
                "quantity": "2",
                "unit_price": "1000",
                "discount_percent": "5",
                "tax_rate": "6",
            },
            {"description": "bad", "quantity": "-3", "unit_price": "1"},
        ],
        discount_percent="2",
    )
    answer = client.post(f"/quotes/{quote.pk}/totals/", data, HTTP_HX_REQUEST="true")
    html = answer.content.decode()
    assert answer.status_code == 200
    assert "2,033.49 CNY" in html and "118.60 CNY" in html and "39.08 CNY" in html
    assert 'id="totals-note"' in html  # the bad line is left out, and it says so
    row = client.get("/quotes/line-row/?lines-TOTAL_FORMS=2", HTTP_HX_REQUEST="true").content.decode()
    assert 'name="lines-2-quantity"' in row and 'value="3"' in row


def test_detail_actions_accept_and_print(sale):
    client = sale.tenant.web_client("sales")
    with sale.tenant.scope():
        quote = services.create_quote(sale.actor(), opportunity_id=sale.opp.pk)
    assert client.post(f"/quotes/{quote.pk}/send/").status_code == 302
    page = client.get(f"/quotes/{quote.pk}/")
    assert b'id="quote-accept"' in page.content and b'id="quote-versions"' in page.content
    client.post(f"/quotes/{quote.pk}/accept/", {"win_opportunity": "on"})
    with sale.tenant.scope():
        quote.refresh_from_db()
        order = Order.objects.get()
    assert quote.status == "accepted" and quote.order_id == order.pk
    page = client.get(f"/quotes/{quote.pk}/").content.decode()
    assert order.number in page and 'id="quote-accept"' not in page
    printed = client.get(f"/quotes/{quote.pk}/print/").content.decode()
    assert "Acme 示例公司" in printed and "云帆科技" in printed and "2,099.90 CNY" in printed
    assert "quotes/print.css" in printed
    assert client.get(f"/quotes/{quote.pk}/edit/").status_code == 302  # accepted: read-only
    listing = client.get("/quotes/")
    assert listing.status_code == 200 and quote.number.encode() in listing.content


def test_pages_of_another_workspace_are_404(sale, other_tenant):
    with sale.tenant.scope():
        quote = services.create_quote(sale.actor(), opportunity_id=sale.opp.pk)
    stranger = other_tenant.web_client("owner")
    for path in (f"/quotes/{quote.pk}/", f"/quotes/{quote.pk}/edit/", f"/quotes/{quote.pk}/print/"):
        assert stranger.get(path).status_code == 404
    assert stranger.post(f"/quotes/{quote.pk}/send/").status_code == 404
    assert stranger.post("/quotes/new/", {"opportunity_id": sale.opp.pk}).status_code == 404
