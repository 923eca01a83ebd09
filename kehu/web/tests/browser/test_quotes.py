"""Quotes as a salesperson uses them: build a quote of two lines on a deal, accept it, see the order."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_build_accept_and_see_the_order_on_the_account(page, live_server, tenant, login, problems):
    from kehu.customers import services as customers
    from kehu.deals import services as deals

    with tenant.scope():
        sales = tenant.actors["sales"]
        account = customers.create_account(sales, name="上海明远贸易", city="上海")
        opp = deals.create_opportunity(sales, name="明远 CRM 项目", account_id=account.pk, currency="CNY")
    login(tenant.users["sales"])
    page.select_option("#language-select", "en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto(f"{live_server.url}/opportunities/{opp.pk}/")
    page.click("#quote-new")
    expect(page.locator("#quote-form")).to_be_visible()

    # Two lines, added with htmx; the totals box follows the typing (server-side computation).
    for index, (text, quantity, price, tax) in enumerate(
        [("软件许可 Licence", "3", "19.99", "13"), ("实施服务 Implementation", "2", "1000", "6")]
    ):
        page.click("#add-line")
        expect(page.locator("#quote-lines tr.quote-line")).to_have_count(index + 1)
        page.fill(f"#id_lines-{index}-description", text)
        page.fill(f"#id_lines-{index}-quantity", quantity)
        page.fill(f"#id_lines-{index}-unit_price", price)
        page.fill(f"#id_lines-{index}-tax_rate", tax)
    # 59.97 + 2000.00 = 2059.97; tax 7.80 + 120.00; total 2187.77
    expect(page.locator("#total-total")).to_have_text("2,187.77 CNY")
    page.click("#quote-save")
    expect(page.locator("#quote-status")).to_have_text("Draft")
    expect(page.locator("#quote-lines tbody tr")).to_have_count(2)

    page.click("#quote-send")
    expect(page.locator("#quote-status")).to_have_text("Sent")
    page.click("#quote-accept")
    expect(page.locator("#quote-status")).to_have_text("Accepted")
    order_number = page.locator("#quote-order").inner_text()
    assert order_number.startswith("SO-")
    quote_url = page.url

    # The printable view: A4, the workspace's letterhead, Chinese text; the browser's PDF of it.
    page.goto(f"{quote_url}print/")
    expect(page.locator("#print-company")).to_have_text("Acme 示例公司")
    expect(page.locator("#print-lines")).to_contain_text("实施服务 Implementation")
    expect(page.locator("#print-totals")).to_contain_text("2,187.77 CNY")
    assert "CJK" in page.evaluate("getComputedStyle(document.body).fontFamily")
    assert page.pdf(format="A4").startswith(b"%PDF")

    page.goto(f"{live_server.url}/accounts/{account.pk}/")
    expect(page.locator("#panel-purchases")).to_contain_text(order_number)
    expect(page.locator("#panel-purchases")).to_contain_text("2,187.77")
    page.goto(f"{live_server.url}/opportunities/{opp.pk}/")
    expect(page.locator("#deal-status")).to_have_text("Won")
    assert problems.items == []
