"""The analytical CRM journey (issue 7): open the customer-value dashboard, build a report grouped by
grade and month, save it to the dashboard, download a chart as PNG, turn a next best action into a task."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _seed(tenant):
    from kehu.customers import services as customers
    from kehu.customers.models import Account
    from kehu.predictions.models import CustomerPrediction, RecommendedAction

    with tenant.scope():
        owner = tenant.actors["owner"]
        now = timezone.now()
        rows = [
            ("上海明远贸易", "strategic", "active", 40),
            ("杭州云栖科技", "important", "new", 10),
            ("苏州工业园客户", "ordinary", "at_risk", 70),
            ("北京远见咨询", "strategic", "prospect", 5),
        ]
        accounts = []
        for name, grade, stage, days in rows:
            account = customers.create_account(owner, name=name, city="上海")
            Account.objects.filter(pk=account.pk).update(
                grade=grade, lifecycle_stage=stage, created_at=now - timedelta(days=days)
            )
            accounts.append(account)
        at_risk = accounts[2]
        CustomerPrediction.objects.create(
            workspace=tenant.workspace,
            account=at_risk,
            churn_probability=0.83,
            clv=12000,
            reasons=[{"text": "No order for 70 days"}],
            next_action="call",
            next_action_reason="High churn risk: a call by the owner",
        )
        RecommendedAction.objects.create(
            workspace=tenant.workspace,
            account=at_risk,
            kind="call",
            churn_probability=0.83,
            reason="High churn risk: a call by the owner",
        )
    return at_risk


def test_customer_value_dashboard_report_builder_and_next_best_action(
    page, live_server, tenant, login, problems
):
    at_risk = _seed(tenant)
    login(tenant.users["owner"])
    page.select_option("#language-select", "en")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    # 1. The customer-value dashboard: six tiles, each loaded by its own request.
    page.click("#nav-reports")
    page.click("#customer-value-link")
    expect(page.locator("#dashboard-title")).to_have_text("Customer value")
    tiles = page.locator("#dashboard-tiles .report-tile")
    expect(tiles).to_have_count(6)
    expect(page.locator("#dashboard-tiles .report-tile[aria-busy]")).to_have_count(0)
    expect(tiles.nth(0)).to_contain_text("Prospect")  # lifecycle funnel
    expect(tiles.nth(2)).to_contain_text("Strategic")  # grade distribution
    expect(page.locator("#churn-list")).to_contain_text("苏州工业园客户")
    dashboard_url = page.url

    # A chart downloads as PNG (the browser converts the server's SVG).
    with page.expect_download() as download_info:
        tiles.nth(0).locator("[data-png]").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".png")
    with open(download.path(), "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"

    # 2. Build a report grouped by grade and month; the preview follows every change.
    page.goto(f"{live_server.url}/reports/new/")
    if page.locator("#r-type").input_value() != "customers.account":
        page.select_option("#r-type", "customers.account")
        expect(page.locator("#r-type")).to_have_value("customers.account")
    page.fill("#r-name", "Accounts by grade and month")
    page.select_option("#r-group-1", "grade")
    page.select_option("#r-group-2", "created_at")
    page.select_option("#r-bucket-2", "month")
    page.select_option("#r-chart", "table")
    expect(page.locator("#report-preview")).to_contain_text("Strategic")
    expect(page.locator("#report-preview")).to_contain_text("Created at (Month)")
    page.click("#save-report")
    expect(page.locator("#report-title")).to_have_text("Accounts by grade and month")
    expect(page.locator("#report-chart-table")).to_contain_text("Ordinary")

    # 3. Save it to the customer-value dashboard.
    page.select_option("#a-dashboard", label="Customer value")
    page.select_option("#a-width", "2")
    page.click("#add-to-dashboard button[type=submit]")
    page.wait_for_url(f"{dashboard_url}**")
    expect(page.locator("#dashboard-tiles .report-tile")).to_have_count(7)
    expect(page.locator("#dashboard-tiles .report-tile").nth(6)).to_contain_text(
        "Accounts by grade and month"
    )

    # 4. Turn the next best action into a task from the churn-risk list's account.
    page.click(f"#churn-list a[href='/accounts/{at_risk.pk}/']")
    expect(page.locator("#nba-kind")).to_have_text("Call by the owner")
    page.click("#nba-panel .nba-task")
    expect(page.locator("#nba-taken")).to_be_visible()

    from kehu.activities.models import Task
    from kehu.predictions.models import RecommendedAction

    with tenant.scope():
        assert RecommendedAction.objects.get(account=at_risk).status == "taken"
        assert Task.objects.filter(record_id=at_risk.pk).count() == 1
    assert problems.items == []
