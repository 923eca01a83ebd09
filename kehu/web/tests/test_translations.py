"""Every UI string has a Chinese (zh-Hans) translation, and the compiled catalog matches the source.

The test extracts the strings afresh from a copy of the code (Django's makemessages, which needs
GNU gettext's xgettext), so a new string without a translation fails here, not in front of users.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

import kehu

PACKAGE = Path(kehu.__file__).parent
PO = PACKAGE / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")

pytestmark = pytest.mark.skipif(shutil.which("xgettext") is None, reason="GNU gettext is not installed")


def _extract(tmp_path: Path) -> polib.POFile:
    """The catalog as makemessages would leave it for the current code: our .po merged with new strings."""
    copy = tmp_path / "kehu"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "tests"))
    subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "zh_Hans", "--no-obsolete", "--no-wrap",
         "-i", "tests/*", "--no-location"],
        cwd=copy, check=True, capture_output=True,
        env={"DJANGO_SETTINGS_MODULE": "kehu.settings_test", "PYTHONPATH": str(tmp_path),
             "PATH": "/usr/bin:/bin", "KEHU_DATA_DIR": str(tmp_path / "data")},
    )
    return polib.pofile(str(copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))


def test_every_string_is_translated_to_chinese(tmp_path):
    catalog = _extract(tmp_path)
    missing = [e.msgid for e in catalog if not e.obsolete and (not e.translated() or e.fuzzy)]
    assert not missing, f"{len(missing)} strings lack a zh-Hans translation, e.g. {missing[:10]}"
    assert len(catalog) > 100


def test_compiled_catalog_matches_the_source():
    source = {(e.msgctxt, e.msgid): e.msgstr for e in polib.pofile(str(PO)) if e.translated()}
    compiled = {(e.msgctxt, e.msgid): e.msgstr for e in polib.mofile(str(MO)) if e.msgid}
    assert compiled == source, "run: kehu compilemessages (then commit the .mo file)"
