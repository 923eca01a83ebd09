"""The mail channel in the browser, on real servers: an administrator adds the support mailbox
(Dovecot), tests it, fetches a customer's mail into a ticket, and the agent's reply on the ticket page
reaches the customer through the local SMTP server (aiosmtpd)."""

import pytest
from playwright.sync_api import expect

from kehu.mailboxes.tests.mails import mime_mail

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_mailbox_setup_mail_to_ticket_and_reply_by_mail(
    page, live_server, tenant, login, problems, mail_servers
):
    from kehu.customers import services

    imap, smtp = mail_servers
    [(user, password)] = imap.users.items()
    with tenant.scope():
        account = services.create_account(tenant.actors["owner"], name="华东贸易有限公司")
        services.create_contact(
            tenant.actors["owner"], name="张伟", email="zhang.wei@customer.test", account_id=account.pk
        )

    login(tenant.users["admin"])
    page.goto(f"{live_server.url}/settings/mailboxes/")
    page.click("#mailbox-new")
    page.fill("#id_name", "Acme 客服")
    page.fill("#id_address", "support@acme.test")
    page.fill("#id_imap_host", imap.host)
    page.fill("#id_imap_port", str(imap.port))
    page.uncheck("#id_imap_ssl")
    page.fill("#id_imap_user", user)
    page.fill("#id_password", password)
    page.click("#mailbox-form button[type=submit]")
    expect(page.locator("#mailbox-status")).to_be_visible()
    expect(page.locator("#id_password")).to_have_value("")  # never shown back

    page.click("#mailbox-test-form button")
    expect(page.locator("body")).to_contain_text("INBOX")

    imap.deliver(user, mime_mail(to="support@acme.test", subject="订单 1234 的发票问题"))
    page.click("#mailbox-poll-form button")
    recent = page.locator("#mailbox-recent")
    expect(recent).to_contain_text("订单 1234 的发票问题")
    recent.locator("a").first.click()

    expect(page.locator("#record-title")).to_contain_text("订单 1234 的发票问题")
    expect(page.locator("#ticket-customer")).to_contain_text("华东贸易有限公司")
    page.fill("#id_body", "您好，已为您更正发票抬头。")
    page.click("#reply-send")
    expect(page.locator("#ticket-thread .entry-reply")).to_contain_text("更正发票抬头")

    [sent] = smtp.wait_for(1, timeout=10)
    assert sent["rcpt_tos"] == ["zhang.wei@customer.test"]
    assert "订单 1234 的发票问题 [#" in sent["message"]["Subject"]
    assert problems.items == []
