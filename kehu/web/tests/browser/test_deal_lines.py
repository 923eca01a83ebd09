"""The product lines of an opportunity as a seller edits them: add a line, pick the product by name,
the price fills in the deal's currency, the line total and the amount follow, save and see the totals
on the deal's page; and the same on a 390 px phone."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _deal(tenant):
    from kehu.commerce import services as commerce
    from kehu.customers import services as customers
    from kehu.deals import services

    with tenant.scope():
        sales = tenant.actors["sales"]
        commerce.create_product(
            tenant.actors["owner"], sku="W-1", name="云帆网关", unit_price="1200", currency="CNY"
        )
        account = customers.create_account(sales, name="上海明远贸易")
        return services.create_opportunity(sales, name="CRM 部署", account_id=account.pk, amount=100)


def _add_line(page, index: int, quantity: str):
    page.click("#add-line")
    row = page.locator(f"tr[data-prefix='lines-{index}']")
    search = row.locator(f"#id_lines-{index}-product_id")
    search.click()
    search.fill("云帆")
    option = row.locator("[role=option]")
    expect(option).to_have_count(1)
    option.first.click()
    expect(row.locator(f"#id_lines-{index}-unit_price")).to_have_value("1200")  # the product's price
    row.locator(f"#id_lines-{index}-quantity").fill(quantity)
    row.locator(f"#id_lines-{index}-discount_percent").fill("10")
    return row


def test_add_a_line_with_the_picker_and_save(page, live_server, tenant, login, problems):
    opp = _deal(tenant)
    login(tenant.users["sales"])
    page.select_option("#language-select", "en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto(f"{live_server.url}/opportunities/{opp.pk}/")
    page.click("#edit-lines")
    row = _add_line(page, 0, "3")
    expect(row.locator("output")).to_have_text("3,240.00 CNY")  # 3 × 1,200 − 10 %
    expect(page.locator("#deal-lines-sum")).to_contain_text("3,240.00 CNY")
    expect(page.locator("#id_amount")).to_have_value("3240.00")  # amount = sum of the lines
    page.click("#opportunity-save")
    lines = page.locator("#deal-lines")
    expect(lines).to_contain_text("云帆网关")
    expect(lines).to_contain_text("3,240.00 CNY")
    expect(page.locator(".facts")).to_contain_text("3,240.00")
    assert problems.items == []


def test_lines_on_a_phone(page, live_server, tenant, login, problems):
    opp = _deal(tenant)
    login(tenant.users["sales"])
    page.select_option("#language-select", "en")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/opportunities/{opp.pk}/edit/")
    row = _add_line(page, 0, "2")
    expect(row.locator("output")).to_have_text("2,160.00 CNY")
    # The line is a card: nothing wider than the screen.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    box = row.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    page.click("#opportunity-save")
    expect(page.locator("#deal-lines")).to_contain_text("2,160.00 CNY")
    assert problems.items == []
