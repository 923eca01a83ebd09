"""The customer core as a person uses it: create an account and a contact, open the 360° view."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def english(page):
    """Switch the UI to English and wait until the page says so (the switch is a form post)."""
    page.select_option("#language-select", "en")
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_create_an_account_then_a_contact_from_its_page(page, live_server, tenant, login, problems):
    login(tenant.users["sales"])
    english(page)
    page.goto(f"{live_server.url}/accounts/")
    page.click("#account-new")
    page.fill("#id_name", "杭州云帆科技有限公司")
    page.fill("#id_phone", "0571 8888 6666")
    page.fill("#id_city", "杭州")
    page.fill("#id_tags", "VIP，华东")
    page.click("#account-form button[type=submit]")

    expect(page.locator("#record-title")).to_have_text("杭州云帆科技有限公司")
    profile = page.locator("#account-profile")
    expect(profile).to_contain_text("0571 8888 6666")  # stored as E.164, shown nationally
    expect(page.locator(".tags")).to_contain_text("VIP")

    page.click("#account-contacts >> text=New contact")
    page.fill("#id_name", "陈静")
    page.fill("#id_phone", "139-1234-5678")
    page.fill("#id_email", "Chen.Jing@Yunfan.CN")
    page.click("#contact-form button[type=submit]")
    expect(page.locator("#record-title")).to_have_text("陈静")
    expect(page.locator("#contact-profile")).to_contain_text("chen.jing@yunfan.cn")
    expect(page.locator("#contact-accounts")).to_contain_text("杭州云帆科技有限公司")

    # A wrong phone is explained next to the field and nothing is saved.
    page.goto(f"{live_server.url}/contacts/new/")
    page.fill("#id_name", "Bad number")
    page.fill("#id_phone", "12345")
    page.click("#contact-form button[type=submit]")
    expect(page.locator(".field.has-error")).to_contain_text("12345")

    # The global search finds the person by pinyin.
    page.fill("#search-input", "chenjing")
    page.press("#search-input", "Enter")
    expect(page.locator("#search-contacts")).to_contain_text("陈静")
    assert problems.items == []


def test_the_360_view_gathers_contacts_timeline_and_purchases(page, live_server, tenant, login, problems):
    from kehu.activities.services import log_activity
    from kehu.commerce import services as commerce
    from kehu.customers import services

    owner = tenant.actors["owner"]
    with tenant.scope():
        account = services.create_account(owner, name="Northwind Traders", city="Seattle")
        services.create_contact(owner, name="Nancy Davolio", account_id=account.pk, job_title="Buyer")
        log_activity(
            owner, kind="meeting", subject="Quarterly review", links=[(account.object_type, account.pk)]
        )
        commerce.create_order(
            owner,
            account_id=account.pk,
            currency="CNY",
            status="paid",
            lines=[{"description": "Tea", "quantity": 10, "unit_price": "18.50"}],
        )
    login(tenant.users["owner"])
    english(page)
    page.goto(f"{live_server.url}/accounts/{account.pk}/")
    expect(page.locator("#account-contacts")).to_contain_text("Nancy Davolio")
    expect(page.locator("#timeline-items")).to_contain_text("Quarterly review")
    expect(page.locator("#panel-purchases")).to_contain_text("185.00")
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator("#panel-purchases")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the 360° page scrolls sideways on a phone ({width}px)"
    assert problems.items == []
