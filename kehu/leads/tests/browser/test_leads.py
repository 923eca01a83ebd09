"""The lead journey in a browser: public form → assigned lead with a first-contact task → converted."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_public_form_lead_is_assigned_and_converted(page, live_server, tenant, login, problems):
    from kehu.leads import services

    with tenant.scope():
        services.create_rule(
            tenant.actors["admin"],
            name="华东",
            conditions=[{"field": "city", "op": "in", "value": ["杭州"]}],
            user_id=tenant.users["sales"].pk,
            sla_hours=24,
        )
        form = services.create_form(
            tenant.actors["admin"],
            name="联系我们",
            fields=["name", "company", "email", "city"],
            required_fields=["name", "email"],
            thank_you_text="谢谢，我们会尽快联系您。",
        )
    page.goto(f"{live_server.url}/f/{form.token}?utm_source=baidu&utm_campaign=spring")
    page.fill("#id_name", "陈晓")
    page.fill("#id_company", "杭州云帆科技")
    page.fill("#id_email", "not-an-email")
    page.fill("#id_city", "杭州")
    page.click("#public-submit")
    expect(page.locator("#form-error")).to_be_visible()
    page.fill("#id_email", "chenxiao@yunfan.example")
    page.click("#public-submit")
    expect(page.locator("#form-thanks")).to_contain_text("谢谢")

    problems.items.clear()  # the deliberate 422 above is not a problem
    login(tenant.users["sales"])
    page.select_option("#language-select", "en")
    expect(page.locator("html")).to_have_attribute("lang", "en")  # the switch reloads the page
    page.goto(f"{live_server.url}/leads/")
    page.click("#lead-rows a:has-text('陈晓')")
    expect(page.locator("#lead-owner")).to_contain_text(str(tenant.users["sales"]))
    expect(page.locator("#lead-utm")).to_contain_text("baidu")
    # Written during the visitor's (Chinese) request, in the workspace's language: data, not UI.
    expect(page.locator(".panels")).to_contain_text("首次联系")

    page.click("#record-edit")
    page.select_option("#id_status", "qualified")
    page.click("#lead-form button[type=submit]")
    page.click("#lead-convert")
    page.click("#convert-submit")
    page.wait_for_url(f"{live_server.url}/contacts/**")
    expect(page.locator("#record-title")).to_contain_text("陈晓")
    assert "/contacts/" in page.url
    assert problems.items == []
