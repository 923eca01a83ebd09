"""Settings for the test suite: the production settings with a fast password hasher.

Tests never touch a user's data dir: unless KEHU_DATA_DIR is set, they get a fresh temporary one.
"""

import os
import tempfile

os.environ.setdefault("KEHU_DATA_DIR", tempfile.mkdtemp(prefix="kehu-test-"))

from kehu.settings import *  # noqa: F403

# PBKDF2's deliberate slowness costs seconds per test that creates personas; tests check behaviour.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Tests read English messages; the Chinese catalog is checked by test_translations and by tests
# that switch the language explicitly (production's default stays zh-hans).
LANGUAGE_CODE = "en"

# An in-memory SQLite test database is one connection shared by every thread; the browser tests'
# live server answers htmx requests in parallel threads, which then misuse that one connection
# ("bad parameter or other API misuse"). A file gives each thread its own connection, as in production.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}  # noqa: F405
