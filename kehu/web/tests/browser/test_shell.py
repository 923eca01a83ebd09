"""The web shell as a person uses it: log in, find the workspace, switch language, use a phone, log out."""

import os

import pytest
from django.utils import translation
from playwright.sync_api import expect

from .conftest import PHONE, SCREENSHOT_DIR

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def home_title(language: str) -> str:
    """The home page's title in ``language``, from the same catalog the server uses."""
    with translation.override(language):
        return f"{translation.gettext('Home')} · Acme 示例公司"


def test_login_page_renders_without_errors(page, live_server, problems):
    page.goto(f"{live_server.url}/login/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.locator("#id_username")).to_be_visible()
    expect(page.locator("#id_password")).to_have_attribute("type", "password")
    expect(page.locator("#login-form button[type=submit]")).to_be_enabled()
    assert problems.items == []


def test_wrong_password_stays_on_login_page(page, live_server, tenant):
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", tenant.users["sales"].email)
    page.fill("#id_password", "not-the-password")
    page.click("#login-form button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/login/")
    expect(page.locator("#id_password")).to_have_value("")
    assert page.locator("#user-menu").count() == 0


def test_login_shows_the_shell_with_the_workspace(page, live_server, tenant, login, problems):
    login(tenant.users["sales"])
    switcher = page.locator("#workspace-select")
    expect(switcher).to_be_visible()
    expect(switcher.locator("option:checked")).to_have_text("Acme 示例公司")
    expect(page).to_have_title(home_title("zh-hans"))
    expect(page.locator("#sidebar nav a[href='/']")).to_be_visible()
    expect(page.locator("#global-search input[name=q]")).to_be_visible()
    assert problems.items == []


def test_switch_language_to_english_and_back(page, live_server, tenant, login, problems):
    login(tenant.users["sales"])
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")

    page.select_option("#language-select", "en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page).to_have_title(home_title("en"))
    expect(page.locator("#language-select")).to_have_value("en")

    page.select_option("#language-select", "zh-hans")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page).to_have_title(home_title("zh-hans"))

    # The choice is remembered on the user, so it follows them to another browser.
    tenant.users["sales"].refresh_from_db()
    assert tenant.users["sales"].language == "zh-hans"
    assert problems.items == []


def test_phone_has_a_drawer_navigation(page, live_server, tenant, login, problems):
    page.set_viewport_size(PHONE)
    login(tenant.users["owner"])
    nav_home = page.locator("#sidebar nav a[href='/']")
    toggle = page.locator("#drawer-toggle")

    # The sidebar is folded away on a phone; the toggle opens it as a drawer.
    expect(toggle).to_be_visible()
    expect(nav_home).not_to_be_in_viewport()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(nav_home).to_be_in_viewport()
    nav_home.click()
    expect(page).to_have_url(f"{live_server.url}/")

    # Nothing is wider than the screen (no sideways scrolling).
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert problems.items == []


def test_logout_returns_to_login_and_closes_the_session(page, live_server, tenant, login, problems):
    login(tenant.users["sales"])
    page.click("#user-menu summary")
    page.click("#logout-form button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/login/")

    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(f"{live_server.url}/login/?next=/")
    assert problems.items == []


def test_home_screenshots(page, browser, browser_context_args, live_server, tenant, login, tmp_path):
    """Desktop and phone pictures of the home page. KEHU_SCREENSHOTS=1 writes them to docs/screenshots."""
    from conftest import PASSWORD
    from kehu.customers import services

    owner = tenant.actors["owner"]
    with tenant.scope():
        companies = [
            ("上海明远贸易有限公司", "上海"),
            ("Northwind Traders", "Shenzhen"),
            ("杭州青禾科技", "杭州"),
        ]
        for name, city in companies:
            account = services.create_account(owner, name=name, city=city)
            services.create_contact(owner, name=f"{city}联系人", account_id=account.pk)

    folder = SCREENSHOT_DIR if os.environ.get("KEHU_SCREENSHOTS") else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    login(tenant.users["owner"])
    page.screenshot(path=folder / "home-desktop.png")

    # A phone is its own browser, not a resized desktop one (which would catch the drawer mid-slide).
    options = {**browser_context_args, "viewport": PHONE, "is_mobile": True, "has_touch": True}
    phone_context = browser.new_context(**options)
    phone = phone_context.new_page()
    phone.goto(f"{live_server.url}/login/")
    phone.fill("#id_username", tenant.users["owner"].email)
    phone.fill("#id_password", PASSWORD)
    phone.click("#login-form button[type=submit]")
    phone.wait_for_url(f"{live_server.url}/")
    phone.screenshot(path=folder / "home-phone.png")
    phone_context.close()

    for name in ("home-desktop.png", "home-phone.png"):
        assert (folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
