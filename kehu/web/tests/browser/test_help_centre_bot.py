"""The public help centre and its bot as a customer uses them: no login, ask a question, get the
cited answer, ask for a person → a ticket number."""

import pytest
from django_scopes import scope
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_ask_the_bot_then_a_person(page, live_server, tenant, problems):
    from kehu.bot.evaluation.harness import load_kb
    from kehu.tickets.models import Ticket

    with tenant.scope():
        load_kb(tenant.actors["admin"])
    page.goto(f"{live_server.url}/help/{tenant.workspace.slug}/?lang=zh-hans")
    expect(page.locator("#help-categories")).to_contain_text("退款多久到账")

    page.click("#bot-panel summary")
    page.fill("#bot-question", "退款多久能到账？")
    page.click("#bot-send")
    answer = page.locator('#bot-log .bot-msg.bot[data-action="answer"]').last
    expect(answer).to_contain_text("1 个工作日")
    expect(answer.locator(".bot-cited")).to_have_text("退款多久到账")

    page.fill("#bot-email", "li.lei@example.com")
    page.fill("#bot-question", "转人工")
    page.click("#bot-send")
    ticket = page.locator("#bot-log .bot-ticket").last
    expect(ticket).to_contain_text("#")
    number = int(ticket.inner_text().split("#")[-1].strip())
    with scope(workspace=tenant.workspace):
        created = Ticket.objects.get(number=number)
        assert created.channel == "bot" and "退款多久能到账" in created.description
        assert created.requester_email == "li.lei@example.com"

    # The cited article opens in the help centre; feedback is one click.
    page.goto(f"{live_server.url}/help/{tenant.workspace.slug}/search/?q=发票")
    page.click("#help-results a >> nth=0")
    page.click("#feedback-yes")
    expect(page.locator("#feedback-thanks")).to_be_visible()
    assert not problems.items, problems.items


def test_the_bot_on_the_support_form(page, live_server, tenant, problems):
    """The same chat on the support form: a routine question is answered before anyone writes a ticket."""
    from kehu.bot.evaluation.harness import load_kb

    with tenant.scope():
        load_kb(tenant.actors["admin"])
    page.goto(f"{live_server.url}/support/{tenant.workspace.slug}/")
    expect(page.locator("#support-form")).to_be_visible()
    page.click("#bot-panel summary")
    page.fill("#bot-question", "退款多久能到账？")
    page.click("#bot-send")
    answer = page.locator('#bot-log .bot-msg.bot[data-action="answer"]').last
    expect(answer.locator(".bot-cited")).to_have_text("退款多久到账")
    assert not problems.items, problems.items
