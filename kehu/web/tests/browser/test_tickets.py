"""The service desk as an agent uses it: open a ticket for a customer, reply, add an internal note,
resolve it; the ticket page also fits a phone."""

import pytest
from playwright.sync_api import expect

from .conftest import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_create_reply_note_and_resolve_a_ticket(page, live_server, tenant, login, problems):
    from kehu.customers import services

    with tenant.scope():
        account = services.create_account(tenant.actors["owner"], name="杭州云帆科技")
        services.create_contact(
            tenant.actors["owner"], name="周敏", email="zhou@yunfan.cn", account_id=account.pk
        )
    login(tenant.users["service"])
    page.goto(f"{live_server.url}/accounts/{account.pk}/")
    page.click("#panel-ticket-new")  # "New ticket" on the account's 360° panel
    page.fill("#id_subject", "发票金额有误")
    page.fill("#id_description", "三月的发票少开了运费。")
    page.select_option("#id_channel", "phone")
    page.select_option("#id_priority", "high")
    page.click("#ticket-save")

    expect(page.locator("#record-title")).to_contain_text("发票金额有误")
    expect(page.locator("#ticket-customer")).to_contain_text("杭州云帆科技")
    expect(page.locator("#ticket-thread .entry-customer")).to_contain_text("少开了运费")

    page.fill("#id_body", "您好，我们已核实，会在今天重开发票。")
    page.select_option("#id_status", "pending")
    page.click("#reply-send")
    expect(page.locator("#ticket-thread .entry-reply")).to_contain_text("重开发票")

    page.check("#id_kind_1")  # internal note
    page.fill("#id_body", "财务已确认差额 120 元。")
    page.click("#reply-send")
    note = page.locator("#ticket-thread .entry-note")
    expect(note).to_contain_text("差额 120 元")
    expect(page.locator("#ticket-thread .entry")).to_have_count(3)

    page.click("#ticket-to-resolved")
    expect(page.locator("#ticket-to-closed")).to_be_visible()
    expect(page.locator("#ticket-to-reopened")).to_be_visible()

    # The ticket is in the queue and on the account's 360° panel.
    page.goto(f"{live_server.url}/tickets/?all=1")
    expect(page.locator("#ticket-table")).to_contain_text("发票金额有误")
    page.goto(f"{live_server.url}/accounts/{account.pk}/")
    expect(page.locator("#panel-tickets")).to_contain_text("发票金额有误")

    # On a phone the ticket page has no sideways scrolling.
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/tickets/")
    page.click("#ticket-table a[href^='/tickets/']")
    expect(page.locator("#ticket-reply")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert problems.items == []
