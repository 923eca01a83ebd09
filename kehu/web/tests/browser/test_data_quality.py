"""Customer data as an asset, seen by an administrator: the data quality dashboard's figures lead to
exactly the records behind them, and a full workspace export runs and downloads."""

import json
import re
import zipfile

import pytest
from playwright.sync_api import expect

from .conftest import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

IMMEDIATE = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


def fits_phone(page) -> bool:
    page.set_viewport_size(PHONE)
    fits = page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    page.set_viewport_size({"width": 1280, "height": 800})
    return fits


def test_quality_figures_render_and_open_the_records_behind_them(page, live_server, tenant, login, problems):
    from kehu.customers import services
    from kehu.customers.models import Contact

    owner = tenant.actors["owner"]
    with tenant.scope():
        services.create_contact(owner, name="张伟", email="zhang@example.com", phone="+8613800138000")
        services.create_contact(owner, name="李娜", email="lina@example.com")
        broken = services.create_contact(owner, name="王芳", email="wang@example.com")
        # Data from before validation existed: written past the services on purpose.
        Contact.objects.filter(pk=broken.pk).update(email="wang-at-example")
    login(tenant.users["owner"])
    page.goto(f"{live_server.url}/data-quality/")
    card = page.locator("#dq-customers\\.contact")
    expect(card.locator("h2")).to_contain_text("(3)")
    # Completeness: phone is filled on one of three contacts; the empty count links to the two.
    phone = card.locator("tr[data-field=phone]")
    expect(phone.locator("td").nth(1)).to_contain_text("33")
    expect(phone.locator("td").nth(2)).to_have_text("2")
    # Invalid values and duplicates render.
    invalid = card.locator("li[data-invalid=email]")
    expect(invalid.locator("strong")).to_have_text("1")
    expect(card.locator("[data-stale]")).to_be_visible()
    # No scan has run yet: 0 clusters and 0 pairs, the only two numbers in the line.
    expect(card.locator("[data-duplicates]")).to_have_text(re.compile(r"^\D*0\D+0\D*$"))
    assert fits_phone(page)

    # The invalid figure opens the contact list filtered to exactly that record.
    invalid.locator("a").click()
    expect(page.locator("#contact-rows tr")).to_have_count(1)
    expect(page.locator("#contact-rows")).to_contain_text("王芳")

    # The empty-phone figure opens the two contacts without a phone.
    page.go_back()
    card.locator("tr[data-field=phone] a").click()
    expect(page.locator("#contact-rows tr")).to_have_count(2)
    expect(page.locator("#contact-rows")).not_to_contain_text("张伟")

    # The stale-period select reloads the page with the new period (no inline script: CSP).
    page.go_back()
    page.select_option("#dq-months", "12")
    page.wait_for_url("**months=12**")
    expect(page.locator("#dq-months")).to_have_value("12")
    assert problems.items == []


def test_workspace_export_runs_and_downloads(page, live_server, tenant, login, problems, settings, tmp_path):
    from kehu.customers import services

    settings.TASKS = IMMEDIATE  # the export runs in the request that starts it
    with tenant.scope():
        services.create_account(tenant.actors["owner"], name="上海明远贸易", kind="company")
    login(tenant.users["owner"])
    page.goto(f"{live_server.url}/settings/export/")
    expect(page.locator("#workspace-exports .empty-state")).to_be_visible()
    assert fits_phone(page)
    page.click("#export-start")
    row = page.locator("#workspace-exports tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator(".badge-success")).to_be_visible()
    with page.expect_download() as info:
        row.locator("a.btn").click()
    target = tmp_path / "export.zip"
    info.value.save_as(target)
    with zipfile.ZipFile(target) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        names = archive.namelist()
    accounts = [f for f in manifest["files"] if f["kind"] == "table" and f["table"] == "customers.account"]
    assert [f["rows"] for f in accounts] == [1] and accounts[0]["path"] in names
    assert any("上海明远贸易" in archive_text for archive_text in _texts(target))
    assert fits_phone(page)
    assert problems.items == []


def _texts(path):
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.endswith(".jsonl"):
                yield archive.read(name).decode()
