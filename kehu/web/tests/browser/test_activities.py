"""Activities as a person uses them: log a call on an account page, plan recurring follow-ups."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _english(page):
    page.select_option("#language-select", "en")
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_log_a_call_on_an_account_page_and_see_it_in_the_timeline(page, live_server, tenant, login, problems):
    from kehu.customers import services

    with tenant.scope():
        account = services.create_account(tenant.actors["sales"], name="上海明远贸易", city="上海")
    login(tenant.users["sales"])
    page.goto(f"{live_server.url}/accounts/{account.pk}/")
    expect(page.locator("#timeline-empty")).to_be_visible()

    page.click("#log-activity summary")
    page.select_option("#id_activity-kind", "call")
    page.select_option("#id_activity-direction", "outbound")
    page.fill("#id_activity-duration_minutes", "20")
    page.fill("#id_activity-subject", "电话回访：续约")
    page.fill("#id_activity-body", "客户同意下周看报价。")
    page.fill("#id_activity-outcome", "发报价")
    page.click("#log-activity-form button[type=submit]")

    entry = page.locator("#timeline-items .timeline-entry").first
    expect(entry).to_contain_text("电话回访：续约")
    expect(entry).to_contain_text("客户同意下周看报价。")
    expect(entry).to_have_attribute("data-kind", "call")
    expect(page).to_have_url(f"{live_server.url}/accounts/{account.pk}/")  # inline, no page load

    # The kind filter narrows the list in place.
    page.click("#timeline-filters [data-kind=visit]")
    expect(page.locator("#timeline-items .timeline-entry")).to_have_count(0)
    page.click("#timeline-filters [data-kind=call]")
    expect(page.locator("#timeline-items .timeline-entry")).to_have_count(1)

    # Still there after a reload: it was saved, linked to the account.
    page.reload()
    expect(page.locator("#timeline-items")).to_contain_text("电话回访：续约")
    assert problems.items == []


def test_recurring_follow_up_plan_creates_a_task_in_my_tasks(page, live_server, tenant, login, problems):
    from kehu.activities.plans import run_follow_up_plans
    from kehu.customers import services

    with tenant.scope():
        sales = tenant.actors["sales"]
        services.create_account(sales, name="Northwind Traders", kind="company", city="Seattle")
        services.create_account(tenant.actors["sales"], name="Elsewhere Inc", kind="company", city="Boston")
    login(tenant.users["manager"])
    _english(page)
    page.goto(f"{live_server.url}/follow-up-plans/new/")
    page.fill("#id_name", "Monthly visit in Seattle")
    page.select_option("#id_record_type", "customers.account")
    page.fill("#id_condition", '{"kind": "company", "city": "Seattle"}')
    page.select_option("#id_trigger", "every")
    page.fill("#id_interval", "1")
    page.select_option("#id_unit", "month")
    page.fill("#id_task_title", "Visit {name}")
    page.fill("#id_due_in_days", "5")
    page.select_option("#id_priority", "high")
    page.select_option("#id_assignee_mode", "owner")
    page.click("#plan-form button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/follow-up-plans/")
    expect(page.locator("#plan-table")).to_contain_text("Monthly visit in Seattle")

    # The scheduler's job, run as the worker would; twice, to show it is idempotent.
    with tenant.scope():
        assert run_follow_up_plans(tenant.workspace) == 1
        assert run_follow_up_plans(tenant.workspace) == 0

    page.click("#user-menu summary")
    page.click("#logout-form button[type=submit]")
    login(tenant.users["sales"])
    expect(page.locator("#bell-count")).to_have_text("1")  # "created 1 task for you"
    page.click("#nav-tasks")
    page.click("#task-tabs [data-tab=upcoming]")
    row = page.locator("#task-rows tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Visit Northwind Traders")

    # Quick complete moves it to Done.
    row.locator(".task-complete").click()
    expect(page.locator("#task-rows .badge-success")).to_have_count(1)
    page.click("#task-tabs [data-tab=done]")
    expect(page.locator("#task-rows")).to_contain_text("Visit Northwind Traders")
    assert problems.items == []
