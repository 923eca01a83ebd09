"""Exports never hand a spreadsheet a cell it would run as a formula (CSV: ``'`` prefix; XLSX: text cells)."""

import csv
import io

import pytest
from openpyxl import load_workbook

from kehu.customers import services as customers
from kehu.listviews.services import spreadsheet_safe, write_csv, write_xlsx

pytestmark = pytest.mark.django_db

DANGEROUS = [
    "=HYPERLINK(\"http://x\",\"y\")", "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd",
    "\t=1+1", "\r=1+1",
]
PLAIN = ["+8613800000000", "-12.5", "+1 (206) 555-0123", "普通文本", "a=b", "", 12, None]


@pytest.mark.parametrize("value", DANGEROUS)
def test_formula_starts_are_neutralised(value):
    assert spreadsheet_safe(value) == "'" + value


@pytest.mark.parametrize("value", PLAIN)
def test_plain_values_stay(value):
    assert spreadsheet_safe(value) == value


def test_csv_and_xlsx_writers_escape_every_dangerous_cell():
    rows = [["h"], *([v] for v in DANGEROUS), ["+8613800000000"]]
    target = io.BytesIO()
    write_csv(iter(rows), target)
    read = list(csv.reader(io.StringIO(target.getvalue().decode("utf-8-sig"), newline="")))
    assert [r[0] for r in read[1:]] == ["'" + v for v in DANGEROUS] + ["+8613800000000"]
    target = io.BytesIO()
    write_xlsx(iter(rows), target)
    target.seek(0)
    sheet = load_workbook(target).active
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    # XLSX cells are typed: every one is a text cell, none a formula, the text unchanged.
    assert all(c.data_type == "s" for c in cells)
    # (XML turns a carriage return into a line feed; the cell is text either way.)
    assert [c.value for c in cells] == [*(v.replace("\r", "\n") for v in DANGEROUS), "+8613800000000"]


def test_list_csv_export_escapes_a_formula_name(tenant):
    with tenant.scope():
        customers.create_account(tenant.actors["owner"], name="=HYPERLINK(\"http://evil\")")
    response = tenant.web_client("owner").get("/lists/customers.account/export.csv", {"cols": "name"})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "'=HYPERLINK" in text
