"""Custom fields as an administrator uses them: add a field to accounts, fill it, filter the list by it."""

import os

import pytest
from playwright.sync_api import expect

from .conftest import SCREENSHOT_DIR

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_adds_a_field_fills_it_and_filters_by_it(page, live_server, tenant, login, problems, tmp_path):
    from kehu.customers import services

    with tenant.scope():
        services.create_account(tenant.actors["owner"], name="上海明远贸易有限公司")
    login(tenant.users["admin"])

    # Settings → Custom fields → New field (accounts are the first record type).
    page.click("#nav-custom-fields")
    page.click("#custom-field-types a[href='?type=customers.account']")
    page.click("#custom-field-new")
    form = page.locator("#custom-field-form")
    # The type picker shows only the options of the chosen type.
    expect(form.locator("#id_choices")).to_be_hidden()
    page.select_option("#id_field_type", "single_select")
    expect(form.locator("#id_choices")).to_be_visible()
    expect(form.locator("#id_min_length")).to_be_hidden()
    page.fill("#id_label", "客户等级")
    page.fill("#id_key", "grade")
    page.fill("#id_choices", "a | A 级\nb | B 级")
    page.fill("#id_help_text", "按年采购额")
    form.locator("button[type=submit]").click()
    expect(page.locator("#custom-field-grade")).to_contain_text("客户等级")

    # The field is on the account form; the value is saved and shown on the account page.
    page.goto(f"{live_server.url}/accounts/new/")
    page.fill("#id_name", "杭州青禾科技")
    page.select_option("#id_custom__grade", "a")
    page.locator("#account-form button[type=submit]").click()
    expect(page.locator("#record-title")).to_have_text("杭州青禾科技")
    expect(page.locator("#custom-fields [data-custom-key=grade]")).to_have_text("A 级")

    # The list filters by it, and can show it as a column.
    page.goto(f"{live_server.url}/accounts/")
    expect(page.locator("#account-rows tr")).to_have_count(2)
    # (The list toolbar's filter builder and column picker come from kehu.listviews.)
    page.click("#list-filters summary")
    page.locator("#filter-builder .fb-condition .fb-field").first.select_option("custom.grade")
    condition = page.locator("#filter-builder .fb-condition").first
    expect(condition.locator("select.fb-value")).to_be_visible()
    expect(condition.locator(".fb-lookup")).to_have_value("eq")
    page.locator("#filter-builder .fb-condition select.fb-value").first.select_option("a")
    page.click("#filter-apply")
    expect(page.locator("#account-rows tr")).to_have_count(1)
    expect(page.locator("#account-rows")).to_contain_text("杭州青禾科技")
    page.click("#list-columns summary")
    page.check("#column-picker input[name=pick][value='custom.grade']")
    page.click("#columns-apply")
    expect(page.locator("#account-table thead")).to_contain_text("客户等级")
    expect(page.locator("#account-rows")).to_contain_text("A 级")
    expect(page.locator("#account-rows tr")).to_have_count(1)

    folder = SCREENSHOT_DIR if os.environ.get("KEHU_SCREENSHOTS") else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / "custom-fields-list.png"), full_page=True)
    assert problems.items == []
