"""Browser tests: Debian's headless Chromium driven by Playwright against pytest-django's live server.

Never run ``playwright install`` (it downloads a browser): the tests launch the machine's own
Chromium (``KEHU_CHROMIUM`` or ``chromium`` on PATH). Without one they skip, unless
``KEHU_REQUIRE_BROWSER`` is set (CI sets it), where they fail instead.
"""

import os
import shutil
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the test thread; Django then refuses ORM calls there
# (fixtures creating users) unless told the loop is not serving requests concurrently. Only these
# tests need it, so it is set here and not in settings.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SCREENSHOT_DIR = Path(__file__).resolve().parents[4] / "docs" / "screenshots"


def chromium_path() -> str | None:
    configured = os.environ.get("KEHU_CHROMIUM")
    if configured:
        return configured
    for name in ("chromium", "chromium-browser"):
        if found := shutil.which(name):
            return found
    return None


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    executable = chromium_path()
    if executable is None:
        message = "Chromium is not installed (apt-get install chromium); browser tests need it"
        if os.environ.get("KEHU_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    return {**browser_type_launch_args, "executable_path": executable, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # A browser in China: Kehu starts in Simplified Chinese, so switching to English is visible.
    return {**browser_context_args, "locale": "zh-CN", "viewport": DESKTOP}


class PageProblems:
    """Console errors (CSP violations included), uncaught exceptions and failed responses."""

    def __init__(self, page):
        self.items: list[str] = []
        page.on(
            "console",
            lambda msg: msg.type == "error"
            and self.items.append(f"console: {msg.text} ({msg.location.get('url', '')})"),
        )
        page.on("pageerror", lambda exc: self.items.append(f"exception: {exc}"))
        page.on(
            "response",
            lambda response: response.status >= 400
            and self.items.append(f"HTTP {response.status}: {response.url}"),
        )


@pytest.fixture
def problems(page) -> PageProblems:
    """Collects what went wrong on ``page``; a journey asserts it stayed empty."""
    return PageProblems(page)


@pytest.fixture
def login(page, live_server):
    """``login(user)`` signs in through the login form and waits for the home page."""
    from conftest import PASSWORD

    def sign_in(user, password: str = PASSWORD):
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", user.email)
        page.fill("#id_password", password)
        page.click("#login-form button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        return page

    return sign_in
