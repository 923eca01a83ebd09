"""The import wizard as an office manager uses it: upload a CSV with one bad row, check the mapping
and the cleaned preview, run it, and read the counts and the rejected row's reason."""

import pytest
from playwright.sync_api import expect

from .conftest import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

IMMEDIATE = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
CSV = (
    "姓名,手机,邮箱\n"
    "张伟,138 0013 8000,Zhang.Wei@Example.com\n"
    "赵强,13700137000,bad-email\n"
    "李娜,13900139000,lina@example.com\n"
)


def fits_phone(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1


def test_upload_map_preview_run_and_report(page, live_server, tenant, login, problems, settings):
    from kehu.customers.models import Contact
    from kehu.imports.models import ImportIssue

    settings.TASKS = IMMEDIATE  # the live server runs the import in the request that starts it
    login(tenant.users["owner"])
    page.goto(f"{live_server.url}/imports/")
    page.select_option("#import-target", "contacts")
    page.set_input_files(
        "#import-file", files=[{"name": "people.csv", "mimeType": "text/csv", "buffer": CSV.encode()}]
    )
    page.click("#import-upload button[type=submit]")
    expect(page.locator("h1")).to_have_text("people.csv")

    # Mapping: suggested from the Chinese headers.
    mapping = page.locator("#import-mapping")
    expect(mapping.locator("select[aria-label='姓名']")).to_have_value("name")
    expect(mapping.locator("select[aria-label='邮箱']")).to_have_value("email")
    expect(mapping.locator("select[aria-label='手机']")).to_have_value("mobile")

    # Preview (loaded by htmx): the bad row is marked rejected with the field's reason, and the
    # corrected email shows its cleaned value.
    preview = page.locator("#import-preview")
    expect(preview.locator("tbody tr")).to_have_count(3)
    bad = preview.locator("tbody tr.has-error")
    expect(bad).to_have_count(1)
    expect(bad).to_contain_text("bad-email")
    expect(bad.locator(".badge-danger")).to_be_visible()
    expect(bad.locator("td .error")).to_have_text("bad-email")
    expect(preview).to_contain_text("zhang.wei@example.com")

    page.set_viewport_size(PHONE)
    assert fits_phone(page)
    page.set_viewport_size({"width": 1280, "height": 800})

    page.click("#import-start")
    expect(page.locator("#import-created")).to_have_text("2")
    expect(page.locator("#import-errors")).to_have_text("1")
    issues = page.locator("#import-issues tbody tr", has_text="bad-email")
    expect(issues).to_have_count(1)
    expect(issues.locator("td").first).to_have_text("3")
    expect(issues.locator("td").nth(1)).to_have_text("邮箱")
    with tenant.scope():
        assert set(Contact.objects.values_list("name", flat=True)) == {"张伟", "李娜"}
        rejected = ImportIssue.objects.get(value="bad-email")
    # The row's recorded reason is shown (the issue is a rejection with a reason).
    assert rejected.kind == ImportIssue.Kind.ERROR and rejected.row == 3 and rejected.reason.strip()
    expect(issues.locator("td").nth(4)).to_have_text(rejected.reason)

    # The history lists the job with its counts; the report downloads.
    page.goto(f"{live_server.url}/imports/")
    row = page.locator("#import-history tbody tr", has_text="people.csv")
    expect(row.locator("td").nth(3)).to_have_text("2")
    expect(row.locator("td").nth(5)).to_have_text("1")
    page.set_viewport_size(PHONE)
    assert fits_phone(page)
    assert problems.items == []
