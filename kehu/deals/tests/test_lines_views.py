"""The product-line editor of the opportunity form: add lines with the product picker, live totals,
"amount = sum of the lines", per-line errors (nothing saved), prices in the deal's currency,
permissions and workspace isolation; and quotes prefilled from lines entered in the UI."""

import re
from datetime import date
from decimal import Decimal

import pytest

from kehu.commerce import services as commerce
from kehu.deals import services
from kehu.deals.models import Opportunity, OpportunityLine

pytestmark = pytest.mark.django_db


def _sum_option_ticked(page: str) -> bool:
    box = re.search(r'<input[^>]*name="amount_from_lines"[^>]*>', page).group(0)
    return " checked" in box


@pytest.fixture
def catalog(tenant, deal_setup):
    owner = tenant.actors["owner"]
    with tenant.scope():
        widget = commerce.create_product(owner, sku="W-1", name="Widget", unit_price="19.99", currency="CNY")
        service = commerce.create_product(
            owner, sku="S-1", name="实施服务", unit_price="1000", currency="CNY"
        )
        usd = commerce.create_product(owner, sku="U-1", name="Licence", unit_price="100", currency="USD")
        eur = commerce.create_product(owner, sku="E-1", name="Support", unit_price="50", currency="EUR")
        commerce.create_rate(owner, currency="USD", rate_to_base="7.10", valid_from=date(2020, 1, 1))
        opp = services.create_opportunity(
            tenant.actors["sales"], name="云帆 ERP", account_id=deal_setup["account"].pk, amount=500
        )
    return {"widget": widget, "service": service, "usd": usd, "eur": eur, "opp": opp, **deal_setup}


def _form(setup, lines, **extra) -> dict:
    """The opportunity form as the page posts it, with ``lines`` (dicts) as the formset."""
    opp = setup["opp"]
    data = {
        "name": opp.name,
        "account_id": str(opp.account_id),
        "stage_id": str(opp.stage_id),
        "amount": "500",
        "currency": "CNY",
        "owner_id": str(opp.owner_id),
        "amount_from_lines": "on",
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "200",
    }
    for index, line in enumerate(lines):
        for key, value in line.items():
            data[f"lines-{index}-{key}"] = str(value)
    data.update(extra)
    return data


def _lines(tenant, opp):
    with tenant.scope():
        return list(OpportunityLine.objects.filter(opportunity_id=opp.pk).order_by("position"))


def test_add_two_lines_sets_the_amount_to_their_sum(tenant, catalog):
    client = tenant.web_client("sales")
    opp = catalog["opp"]
    page = client.get(f"/opportunities/{opp.pk}/edit/").content.decode()
    assert 'id="deal-lines-editor"' in page and 'id="id_lines-TOTAL_FORMS"' in page
    row = client.get("/opportunities/lines/row/?lines-TOTAL_FORMS=0", HTTP_HX_REQUEST="true").content.decode()
    assert 'name="lines-0-product_id"' in row and "/products/pick/" in row and 'value="1"' in row
    data = _form(
        catalog,
        [
            {"product_id": catalog["widget"].pk, "quantity": "3"},  # price from the product
            {
                "product_id": catalog["service"].pk,
                "quantity": "2",
                "unit_price": "900",
                "discount_percent": "10",
            },
        ],
    )
    response = client.post(f"/opportunities/{opp.pk}/edit/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    lines = _lines(tenant, opp)
    assert [(x.description, x.quantity, x.unit_price, x.line_total) for x in lines] == [
        ("Widget", Decimal("3"), Decimal("19.99"), Decimal("59.97")),
        ("实施服务", Decimal("2"), Decimal("900"), Decimal("1620.00")),
    ]
    with tenant.scope():
        assert Opportunity.objects.get(pk=opp.pk).amount == Decimal("1679.97")
    detail = client.get(f"/opportunities/{opp.pk}/").content.decode()
    assert "1,620.00 CNY" in detail and "1,679.97 CNY" in detail and 'id="edit-lines"' in detail
    # The edit page shows the lines again, with their products' labels and the option ticked.
    page = client.get(f"/opportunities/{opp.pk}/edit/").content.decode()
    assert "Widget · W-1" in page and 'value="900"' in page
    assert _sum_option_ticked(page)


def test_live_totals_are_the_services_arithmetic(tenant, catalog):
    client = tenant.web_client("sales")
    data = _form(
        catalog,
        [
            {"product_id": catalog["widget"].pk, "quantity": "3", "discount_percent": "10"},
            {"description": "Consulting", "quantity": "1.5", "unit_price": "1000"},
            {"description": "Bad", "quantity": "-1", "unit_price": "5"},
            {"description": "Removed", "quantity": "1", "unit_price": "5", "DELETE": "on"},
        ],
    )
    response = client.post("/opportunities/lines/totals/", data, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    # 3 × 19.99 − 10 % = 53.973 → 53.97; 1.5 × 1,000 = 1,500.00; the bad line is left out.
    assert 'data-sum="1553.97"' in body and "1,553.97 CNY" in body
    assert '<output id="lines-0-total" class="line-total-value" hx-swap-oob="true">53.97 CNY</output>' in body
    assert (
        '<output id="lines-1-total" class="line-total-value" hx-swap-oob="true">1,500.00 CNY</output>' in body
    )
    assert '<output id="lines-2-total" class="line-total-value" hx-swap-oob="true">—</output>' in body
    assert "lines-3-total" not in body and "left out until they are corrected" in body
    with tenant.scope():
        assert not OpportunityLine.objects.exists()


def test_bad_quantity_is_a_field_error_on_its_line_and_nothing_is_saved(tenant, catalog):
    client = tenant.web_client("sales")
    opp = catalog["opp"]
    data = _form(
        catalog,
        [
            {"product_id": catalog["widget"].pk, "quantity": "2"},
            {"product_id": catalog["service"].pk, "quantity": "0"},
        ],
        name="Renamed",
    )
    response = client.post(f"/opportunities/{opp.pk}/edit/", data)
    assert response.status_code == 200
    page = response.content.decode()
    second_row = page.split('data-prefix="lines-1"')[1].split("</tr>")[0]
    assert 'class="line-quantity has-error"' in second_row and '<div class="error">' in second_row
    assert 'class="line-quantity has-error"' not in page.split('data-prefix="lines-1"')[0]
    with tenant.scope():
        fresh = Opportunity.objects.get(pk=opp.pk)
        assert fresh.name == "云帆 ERP" and fresh.amount == Decimal("500")
        assert not OpportunityLine.objects.filter(opportunity=opp).exists()


def test_amount_kept_when_sum_of_lines_is_unticked(tenant, catalog):
    client = tenant.web_client("sales")
    opp = catalog["opp"]
    data = _form(catalog, [{"product_id": catalog["widget"].pk, "quantity": "1"}], amount="800")
    del data["amount_from_lines"]
    assert client.post(f"/opportunities/{opp.pk}/edit/", data).status_code == 302
    with tenant.scope():
        assert Opportunity.objects.get(pk=opp.pk).amount == Decimal("800")
    assert len(_lines(tenant, opp)) == 1
    page = client.get(f"/opportunities/{opp.pk}/edit/").content.decode()
    assert not _sum_option_ticked(page)
    # Removing every line keeps the amount as typed.
    data = _form(
        catalog, [{"product_id": catalog["widget"].pk, "quantity": "1", "DELETE": "on"}], amount="800"
    )
    assert client.post(f"/opportunities/{opp.pk}/edit/", data).status_code == 302
    assert _lines(tenant, opp) == []


def test_prices_follow_the_deal_currency(tenant, catalog):
    client = tenant.web_client("sales")
    usd = client.get(f"/opportunities/lines/price/?product_id={catalog['usd'].pk}&currency=CNY").json()
    assert usd["unit_price"] == "710" and usd["product_currency"] == "USD"
    same = client.get(f"/opportunities/lines/price/?product_id={catalog['widget'].pk}&currency=CNY").json()
    assert same["unit_price"] == "19.99"
    back = client.get(f"/opportunities/lines/price/?product_id={catalog['widget'].pk}&currency=USD").json()
    assert back["unit_price"] == "2.82"  # 19.99 / 7.10
    assert (
        client.get(f"/opportunities/lines/price/?product_id={catalog['eur'].pk}").json()["unit_price"] is None
    )
    # Saved with the price left empty: converted; without a rate: an error on the line, nothing saved.
    opp = catalog["opp"]
    data = _form(catalog, [{"product_id": catalog["usd"].pk, "quantity": "2"}])
    assert client.post(f"/opportunities/{opp.pk}/edit/", data).status_code == 302
    assert [x.unit_price for x in _lines(tenant, opp)] == [Decimal("710")]
    data = _form(catalog, [{"product_id": catalog["eur"].pk, "quantity": "1"}])
    page = client.post(f"/opportunities/{opp.pk}/edit/", data).content.decode()
    assert "no exchange rate" in page and 'class="line-unit_price has-error"' in page
    assert [x.unit_price for x in _lines(tenant, opp)] == [Decimal("710")]


def test_create_with_lines(tenant, catalog):
    client = tenant.web_client("sales")
    data = _form(catalog, [{"product_id": catalog["service"].pk, "quantity": "2"}], name="New with lines")
    response = client.post("/opportunities/new/", data)
    assert response.status_code == 302
    with tenant.scope():
        opp = Opportunity.objects.get(name="New with lines")
        assert opp.amount == Decimal("2000.00") and opp.lines.count() == 1


def test_readonly_cannot_edit_lines(tenant, catalog):
    opp = catalog["opp"]
    readonly = tenant.web_client("readonly")
    assert 'id="edit-lines"' not in readonly.get(f"/opportunities/{opp.pk}/").content.decode()
    data = _form(catalog, [{"product_id": catalog["widget"].pk, "quantity": "1"}])
    assert readonly.get(f"/opportunities/{opp.pk}/edit/").status_code == 403
    assert readonly.post(f"/opportunities/{opp.pk}/edit/", data).status_code == 403
    assert _lines(tenant, opp) == []


def test_another_workspace_gets_404(tenant, catalog, other_tenant):
    opp = catalog["opp"]
    stranger = other_tenant.web_client("owner")
    data = _form(catalog, [{"product_id": catalog["widget"].pk, "quantity": "1"}])
    assert stranger.get(f"/opportunities/{opp.pk}/edit/").status_code == 404
    assert stranger.post(f"/opportunities/{opp.pk}/edit/", data).status_code == 404
    assert stranger.get(f"/opportunities/lines/price/?product_id={catalog['widget'].pk}").status_code == 404
    # A product of another workspace on a line of one's own deal: the picker's field error.
    with other_tenant.scope():
        own = services.create_opportunity(
            other_tenant.actors["owner"],
            name="Theirs",
            account_id=_account(other_tenant).pk,
        )
    theirs = {"opp": own}
    data = _form(theirs, [{"product_id": catalog["widget"].pk, "quantity": "1"}])
    page = stranger.post(f"/opportunities/{own.pk}/edit/", data).content.decode()
    assert "There is no record number" in page
    assert _lines(other_tenant, own) == []


def _account(tenant):
    from kehu.customers.services import create_account

    return create_account(tenant.actors["owner"], name="Other Co")


def test_quote_prefilled_from_lines_entered_in_the_ui(tenant, catalog):
    client = tenant.web_client("sales")
    opp = catalog["opp"]
    data = _form(
        catalog,
        [
            {"product_id": catalog["widget"].pk, "quantity": "3"},
            {"description": "Training day", "quantity": "1", "unit_price": "2500", "discount_percent": "5"},
        ],
    )
    assert client.post(f"/opportunities/{opp.pk}/edit/", data).status_code == 302
    response = client.post("/quotes/new/", {"opportunity_id": opp.pk})
    assert response.status_code == 302
    from kehu.quotes.models import Quote

    with tenant.scope():
        quote = Quote.objects.get(opportunity_id=opp.pk)
        got = [
            (x.description, x.quantity, x.unit_price, x.discount_percent)
            for x in quote.lines.order_by("position")
        ]
    assert got == [
        ("Widget", Decimal("3"), Decimal("19.99"), Decimal("0")),
        ("Training day", Decimal("1"), Decimal("2500"), Decimal("5")),
    ]
    editor = client.get(f"/quotes/{quote.pk}/edit/").content.decode()
    assert "Training day" in editor
