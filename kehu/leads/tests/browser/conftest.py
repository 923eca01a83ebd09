# The browser fixtures (machine Chromium, login, problems) are the web app's; reuse them here.
from kehu.web.tests.browser.conftest import (  # noqa: F401
    browser_context_args,
    browser_type_launch_args,
    login,
    problems,
)
