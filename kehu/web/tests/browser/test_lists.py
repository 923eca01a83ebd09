"""Lists as a sales team uses them: build a filter with two conditions, save it as a view, reopen it."""

import os

import pytest
from playwright.sync_api import expect

from .conftest import PHONE, SCREENSHOT_DIR

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_filter_with_two_conditions_saved_as_a_view_and_reopened(
    page, live_server, tenant, login, problems, tmp_path
):
    from kehu.customers import services

    owner = tenant.actors["owner"]
    with tenant.scope():
        services.create_account(owner, name="上海明远贸易", city="上海", kind="company")
        services.create_account(owner, name="张伟", city="上海", kind="individual")
        services.create_account(owner, name="北京青禾科技", city="北京", kind="company")
    login(tenant.users["owner"])
    page.goto(f"{live_server.url}/accounts/")
    expect(page.locator("#account-rows tr")).to_have_count(3)

    # Filters: city contains 上海 AND kind is company (the field choice reshapes the row through htmx;
    # the default lookups, "contains" for text and "is" for choices, are kept).
    page.click("#list-filters summary")
    first = page.locator("#filter-builder .fb-condition").first
    first.locator(".fb-field").select_option("city")
    first = page.locator("#filter-builder .fb-condition").first
    expect(first.locator(".fb-lookup")).to_have_value("contains")
    first.locator("input.fb-value").fill("上海")
    page.locator("#filter-builder .fb-add-condition").first.click()
    expect(page.locator("#filter-builder .fb-condition")).to_have_count(2)
    # A row htmx has just inserted listens for changes only once it has settled.
    expect(page.locator("#filter-builder .htmx-added, #filter-builder .htmx-settling")).to_have_count(0)
    second = page.locator("#filter-builder .fb-condition").nth(1)
    second.locator(".fb-field").select_option("kind")
    second = page.locator("#filter-builder .fb-condition").nth(1)
    expect(second.locator("select.fb-value")).to_be_visible()
    second.locator("select.fb-value").select_option("company")
    page.click("#filter-apply")
    expect(page.locator("#account-rows tr")).to_have_count(1)
    expect(page.locator("#account-rows")).to_contain_text("上海明远贸易")
    expect(page.locator("#filter-count")).to_have_text("2")

    # Save as a view: it becomes a tab and the URL names it.
    page.click("#list-save summary")
    page.fill("#view-name", "上海公司")
    page.click("#view-create-submit")
    expect(page.locator("#view-tabs .view-tab.active")).to_contain_text("上海公司")
    assert "view=" in page.url

    # Everything again, then reopen the view from its tab.
    page.click("#view-tabs .view-tab >> nth=0")
    expect(page.locator("#account-rows tr")).to_have_count(3)
    page.locator("#view-tabs .view-tab", has_text="上海公司").click()
    expect(page.locator("#account-rows tr")).to_have_count(1)
    expect(page.locator("#account-rows")).to_contain_text("上海明远贸易")

    # Sorting by a header keeps the view's filter.
    page.click("#account-table thead a[data-sort=name]")
    expect(page.locator("#account-rows tr")).to_have_count(1)

    folder = SCREENSHOT_DIR if os.environ.get("KEHU_SCREENSHOTS") else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    page.click("#list-filters summary")
    page.screenshot(path=str(folder / "lists-desktop.png"), full_page=True)

    # On a phone the filter panel starts collapsed and the page does not scroll sideways.
    page.set_viewport_size(PHONE)
    page.reload()
    expect(page.locator("#filter-builder")).to_be_hidden()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1
    page.click("#list-filters summary")
    expect(page.locator("#filter-builder")).to_be_visible()

    page.screenshot(path=str(folder / "lists-phone.png"), full_page=True)
    assert problems.items == []
