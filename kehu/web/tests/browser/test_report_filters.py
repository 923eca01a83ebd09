"""The report builder's filter editor (issue 7): add a condition on a custom field, add and remove a
second one, watch the preview follow each change, save the report and find the filters kept."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _seed(tenant):
    from django_scopes import scopes_disabled

    from kehu.customers import services as customers
    from kehu.customers.models import Account
    from kehu.customfields.models import FieldDefinition

    with scopes_disabled():
        FieldDefinition.objects.create(
            workspace=tenant.workspace,
            object_type="customers.account",
            key="region",
            label="Region",
            field_type="single_select",
            options={"choices": [{"value": "n", "label": "North"}, {"value": "s", "label": "South"}]},
        )
    rows = [
        ("北方甲", "strategic", "active", "n"),
        ("北方乙", "ordinary", "at_risk", "n"),
        ("南方丙", "important", "new", "s"),
        ("南方丁", "strategic", "active", "s"),
    ]
    with tenant.scope():
        for name, grade, stage, region in rows:
            account = customers.create_account(tenant.actors["owner"], name=name, custom={"region": region})
            Account.objects.filter(pk=account.pk).update(grade=grade, lifecycle_stage=stage)


def test_filter_editor_in_the_report_builder(page, live_server, tenant, login, problems):
    _seed(tenant)
    login(tenant.users["owner"])
    page.select_option("#language-select", "en")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.goto(f"{live_server.url}/reports/new/")
    if page.locator("#r-type").input_value() != "customers.account":
        page.select_option("#r-type", "customers.account")
        expect(page.locator("#r-type")).to_have_value("customers.account")
    page.fill("#r-name", "North by grade")
    page.select_option("#r-group-1", "grade")
    page.select_option("#r-chart", "table")
    preview = page.locator("#report-preview")
    expect(preview).to_contain_text("Important")

    # 1. A condition on the custom field: the row is re-rendered with its lookups and choices, then
    #    the preview follows.
    rows = page.locator("#filter-editor .fb-condition")
    rows.nth(0).locator(".fb-field").select_option("custom.region")
    expect(rows.nth(0).locator(".fb-value")).to_be_visible()
    rows.nth(0).locator(".fb-value").select_option("n")
    expect(preview).not_to_contain_text("Important")
    expect(preview.locator("#builder-filters")).to_contain_text("Region")
    expect(preview.locator("#preview-chart-table")).to_contain_text("Strategic")

    # 2. A second condition (AND): at risk — only the ordinary northern account is left.
    page.locator("#filter-editor .fb-add-condition").first.click()
    expect(rows).to_have_count(2)
    # htmx wires a new row's selects when it settles (it then drops the row's htmx-added class): a
    # change made before that goes unheard (a flake seen in CI).
    expect(rows.nth(1)).not_to_have_class(re.compile(r"\bhtmx-added\b"))
    rows.nth(1).locator(".fb-field").select_option("lifecycle_stage")
    expect(rows.nth(1).locator(".fb-value")).to_be_visible()
    rows.nth(1).locator(".fb-value").select_option("at_risk")
    expect(preview.locator("#preview-chart-table")).not_to_contain_text("Strategic")
    expect(preview.locator("#preview-chart-table")).to_contain_text("Ordinary")

    # 3. Removing it brings the strategic account back.
    rows.nth(1).locator(".fb-remove").click()
    expect(rows).to_have_count(1)
    expect(preview.locator("#preview-chart-table")).to_contain_text("Strategic")

    # 4. Saved, the report keeps the condition: in words on its page, as a row when edited.
    page.click("#save-report")
    expect(page.locator("#report-title")).to_have_text("North by grade")
    expect(page.locator("#report-chart-table")).not_to_contain_text("Important")
    expect(page.locator("body")).to_contain_text("Region")
    page.goto(page.url + "edit/")
    first = page.locator("#filter-editor .fb-condition").nth(0)
    expect(first.locator(".fb-field")).to_have_value("custom.region")
    expect(first.locator(".fb-value")).to_have_value("n")
    assert problems.items == []
