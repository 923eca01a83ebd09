"""The record picker and the addresses card as a person uses them (typing Chinese, keyboard, phone)."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def english(page):
    page.select_option("#language-select", "en")
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_pick_an_account_by_part_of_its_chinese_name(page, live_server, tenant, login, problems):
    from kehu.customers import services

    owner = tenant.actors["owner"]
    with tenant.scope():
        wanted = services.create_account(owner, name="杭州云帆科技有限公司", city="杭州")
        services.create_account(owner, name="上海云海贸易", city="上海")
        services.bulk_create_accounts(owner, [{"name": f"其他客户 {i}"} for i in range(30)])
    login(tenant.users["owner"])
    english(page)
    page.goto(f"{live_server.url}/contacts/new/")
    page.fill("#id_name", "陈静")
    search = page.locator("#id_account_id")
    search.click()
    search.fill("云")  # both 云帆 and 云海 match
    options = page.locator("#id_account_id_list [role=option]")
    expect(options).to_have_count(2)
    search.fill("云帆")
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("杭州云帆科技有限公司")
    search.press("ArrowDown")
    expect(options.first).to_have_attribute("aria-selected", "true")
    search.press("Enter")  # picks, does not submit
    expect(search).to_have_value("杭州云帆科技有限公司")
    expect(page.locator("#id_account_id_value")).to_have_value(str(wanted.pk))
    page.click("#contact-form button[type=submit]")
    expect(page.locator("#record-title")).to_have_text("陈静")
    expect(page.locator("#contact-accounts")).to_contain_text("杭州云帆科技有限公司")

    # Pinyin being composed by an input method is not searched; the characters it ends in are.
    page.goto(f"{live_server.url}/contacts/new/")
    search = page.locator("#id_account_id")
    search.evaluate(
        """el => { el.focus(); el.dispatchEvent(new CompositionEvent("compositionstart", {bubbles: true}));
                   el.value = "yunfan";
                   el.dispatchEvent(new InputEvent("input", {bubbles: true, isComposing: true})); }"""
    )
    page.wait_for_timeout(500)
    expect(page.locator("#id_account_id_list [role=option]")).to_have_count(0)
    search.evaluate(
        """el => { el.value = "云帆";
                   el.dispatchEvent(new InputEvent("input", {bubbles: true, isComposing: true}));
                   el.dispatchEvent(new CompositionEvent("compositionend", {bubbles: true})); }"""
    )
    expect(page.locator("#id_account_id_list [role=option]")).to_have_count(1)

    # A name typed without picking a suggestion is explained, nothing is saved.
    page.goto(f"{live_server.url}/contacts/new/")
    page.fill("#id_name", "王伟")
    page.locator("#id_account_id").fill("不存在的公司")
    page.click("#contact-form button[type=submit]")
    expect(page.locator(".field.has-error")).to_contain_text("pick one of the suggestions")
    assert problems.items == []


def test_addresses_card_on_a_phone(page, live_server, tenant, login, problems):
    from kehu.customers import services

    with tenant.scope():
        account = services.create_account(tenant.actors["owner"], name="云帆", city="杭州", country="CN")
    login(tenant.users["owner"])
    english(page)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/accounts/{account.pk}/")
    card = page.locator("#addresses")
    expect(card).to_contain_text("杭州")
    card.locator("#address-add").click()
    page.select_option("#id_address-kind", "shipping")
    page.fill("#id_address-country", "CN")
    page.fill("#id_address-city", "上海")
    page.fill("#id_address-postcode", "2001")
    page.click("#address-form button[type=submit]")
    expect(page.locator("#address-form .field.has-error")).to_contain_text("200120")
    page.fill("#id_address-postcode", "200120")
    page.click("#address-form button[type=submit]")
    expect(card.locator(".address-item")).to_have_count(2)
    expect(card).to_contain_text("上海 200120")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert problems.items == []
