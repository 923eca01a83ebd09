"""Settings for the test suite: the production settings with a fast password hasher."""

from kehu.settings import *  # noqa: F403

# PBKDF2's deliberate slowness costs seconds per test that creates personas; tests check behaviour.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
