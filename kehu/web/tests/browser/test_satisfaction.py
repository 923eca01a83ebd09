"""CSAT as the customer and the agent see it: the link from the survey mail, five stars, a comment,
then the answer on the contact's 360° page."""

import re

import pytest
from django.core import mail
from django.test import override_settings
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_csat_link_from_the_mail_to_the_360_page(page, live_server, tenant, login, problems):
    from kehu.customers import services as customers
    from kehu.tickets import services as tickets
    from kehu.workspaces.tests.test_tasks import _reset_task_backends

    with override_settings(
        TASKS={"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}},
        MAILERS={"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}},
        SITE_URL=live_server.url,
    ):
        _reset_task_backends()
        try:
            with tenant.scope():
                account = customers.create_account(tenant.actors["owner"], name="苏州恒达电子")
                contact = customers.create_contact(
                    tenant.actors["owner"], name="陈静", email="chen.jing@hengda.cn", account_id=account.pk
                )
                ticket = tickets.open_ticket(
                    tenant.actors["service"],
                    subject="扫码枪无法连接",
                    description="蓝牙配对失败。",
                    channel="email",
                    contact=contact,
                )
                tickets.change_status(tenant.actors["service"], ticket, "resolved")
        finally:
            _reset_task_backends()
        survey_mail = next(m for m in mail.outbox if m.to == ["chen.jing@hengda.cn"] and "#" in m.subject)
        five = re.search(r"(http://\S+/survey/\S+/\?score=5)", survey_mail.body).group(1)
    _reset_task_backends()  # back to the configured backend: the live server only queues jobs

    # The customer clicks the fifth star in the mail (no login) and leaves a comment.
    page.goto(five)
    expect(page.locator("#survey-thanks")).to_be_visible()
    expect(page.locator(".survey-choice.on")).to_have_count(5)
    page.fill("#id_comment", "客服很耐心，问题当天就解决了，谢谢！")
    page.click("#comment-submit")
    expect(page.locator("#comment-saved")).to_be_visible()
    # The sentiment job is queued (no worker here): computed as the worker would run it.
    from kehu.surveys.services import refresh_sentiment

    with tenant.scope():
        assert refresh_sentiment(tenant.workspace) == 1

    # The agent sees it on the contact's 360° page.
    login(tenant.users["service"])
    page.goto(f"{live_server.url}/contacts/{contact.pk}/")
    panel = page.locator("#panel-satisfaction")
    expect(panel.locator("#latest-csat")).to_contain_text("5/5")
    expect(panel).to_contain_text("问题当天就解决了")
    expect(panel.locator(".sentiment-positive")).to_be_visible()
