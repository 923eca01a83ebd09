"""The demo as a browser meets it: the real server (granian), real static files, page after page.

The other browser tests use Django's live server; this one guards what only the production
server shows (a granian setting once left every third page load hanging on its static files).
"""

import pytest

from kehu.operations import demo
from kehu.operations.tests.test_demo import _free_port, _start_demo, _stop, _wait_healthy

pytestmark = pytest.mark.browser


def test_pages_and_their_static_files_load_every_time(tmp_path, browser):
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    process = _start_demo(tmp_path, port)
    try:
        _wait_healthy(process, base)
        page = browser.new_page()
        page.goto(f"{base}/login/")
        page.fill("#id_username", "owner@demo.kehu")
        page.fill("#id_password", demo.DEMO_PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_url(f"{base}/")
        for path in ["/accounts/", "/contacts/", "/", "/accounts/", "/contacts/", "/accounts/"]:
            response = page.goto(f"{base}{path}", wait_until="load", timeout=10_000)
            assert response is not None and response.status == 200, path
        page.close()
    finally:
        _stop(process)
