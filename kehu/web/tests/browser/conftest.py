"""Browser tests: Debian's headless Chromium driven by Playwright against pytest-django's live server.

Never run ``playwright install`` (it downloads a browser): the tests launch the machine's own
Chromium (``KEHU_CHROMIUM`` or ``chromium`` on PATH). Without one they skip, unless
``KEHU_REQUIRE_BROWSER`` is set (CI sets it), where they fail instead.
"""

import os
import shutil
import tempfile
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

    def sign_in(user, password: str = PASSWORD, on=None):
        """On ``page``, or on ``on`` (a page of another browser context: a second person)."""
        tab = on or page
        tab.goto(f"{live_server.url}/login/")
        tab.fill("#id_username", user.email)
        tab.fill("#id_password", password)
        tab.click("#login-form button[type=submit]")
        tab.wait_for_url(f"{live_server.url}/")
        return tab

    return sign_in


@pytest.fixture
def mail_servers(settings):
    """Real local mail servers for this test (no mocks): Dovecot with one account (IMAP in) and aiosmtpd
    as the mailer (SMTP out); background jobs run at once (no worker here). ``(imap, smtp)``."""
    from django.test import override_settings

    from kehu.mailboxes.tests.conftest import DOVECOT, IMMEDIATE, ImapServer, SmtpServer
    from kehu.workspaces.tests.test_tasks import _reset_task_backends

    if DOVECOT is None:
        pytest.skip("Dovecot is not installed (apt-get install dovecot-imapd; .ci/run installs it)")
    root = Path(tempfile.mkdtemp(prefix="kehu-dovecot-"))
    root.chmod(0o755)
    imap = ImapServer(root)
    imap.add_users(1)
    imap.start()
    smtp = SmtpServer()
    smtp.controller.start()
    settings.MAILERS = smtp.mailers()
    try:
        with override_settings(TASKS=IMMEDIATE):
            _reset_task_backends()
            yield imap, smtp
    finally:
        _reset_task_backends()
        smtp.controller.stop()
        imap.stop()
        shutil.rmtree(root, ignore_errors=True)
