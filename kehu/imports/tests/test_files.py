"""Reading import files: encodings, delimiters, multi-line cells, XLSX, and junk refused."""

import codecs
import zipfile

import pytest

from kehu.imports import files
from kehu.imports.files import BadFile

ROWS = [
    ["姓名", "手机", "公司名称"],
    ["张伟", "138 0013 8000", "北京示例科技有限公司"],
    ["李娜", "13900139000", "上海，示例"],
]


def write_csv(path, rows, *, encoding="utf-8", delimiter=","):
    text = "\r\n".join(
        delimiter.join(f'"{c}"' if delimiter in c or "\n" in c else c for c in r) for r in rows
    )
    path.write_bytes((text + "\r\n").encode(encoding))
    return path


def read_all(path):
    info = files.detect(path)
    return info, list(files.iter_rows(path, kind=info.kind, encoding=info.encoding, delimiter=info.delimiter))


@pytest.mark.parametrize(
    "encoding,expected",
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("gb18030", "gb18030"),
        ("gbk", "gb18030"),
        ("utf-16", "utf-16"),
        ("utf-16-le", "utf-16-le"),
        ("utf-16-be", "utf-16-be"),
    ],
)
def test_encodings_are_detected_and_decoded(tmp_path, encoding, expected):
    path = write_csv(tmp_path / "x.csv", ROWS, encoding=encoding)
    info, rows = read_all(path)
    assert info.encoding == expected
    assert files.read_header(iter(rows)) == ["姓名", "手机", "公司名称"]
    assert rows[1:] == ROWS[1:]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters_are_sniffed(tmp_path, delimiter):
    rows = [["name", "email", "city"], ["A, Inc", "a@x.cn", "Paris; FR"], ["B", "b@x.cn", "Bern"]]
    path = write_csv(tmp_path / "x.csv", rows, delimiter=delimiter)
    info, read = read_all(path)
    assert info.delimiter == delimiter
    assert read == rows


def test_quoted_multi_line_cells(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text('name,notes\n张伟,"第一行\n第二行, with comma"\n李娜,short\n', encoding="utf-8")
    _info, rows = read_all(path)
    assert rows == [["name", "notes"], ["张伟", "第一行\n第二行, with comma"], ["李娜", "short"]]


def test_xlsx_with_sheets_numbers_and_dates(tmp_path):
    from datetime import date

    from openpyxl import Workbook

    book = Workbook()
    first = book.active
    first.title = "说明"
    first.append(["ignore me"])
    sheet = book.create_sheet("客户")
    sheet.append(["姓名", "手机", "生日", "链接"])
    sheet.append(["张伟", 13800138000, date(1990, 5, 1), '=HYPERLINK("http://evil","x")'])
    path = tmp_path / "x.xlsx"
    book.save(path)
    info = files.detect(path)
    assert info.kind == "xlsx" and info.sheets == ["说明", "客户"]
    rows = list(files.iter_rows(path, kind="xlsx", sheet="客户"))
    assert rows == [
        ["姓名", "手机", "生日", "链接"],
        ["张伟", "13800138000", "1990-05-01", '=HYPERLINK("http://evil","x")'],
    ]
    with pytest.raises(BadFile, match="no sheet"):
        list(files.iter_rows(path, kind="xlsx", sheet="nope"))


def test_binary_junk_is_refused(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(bytes(range(256)) * 100)
    with pytest.raises(BadFile):
        files.detect(path)
    png = tmp_path / "p.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    with pytest.raises(BadFile, match="PNG"):
        files.detect(png)
    empty = tmp_path / "e.csv"
    empty.write_bytes(b"")
    with pytest.raises(BadFile, match="empty"):
        files.detect(empty)


def test_old_xls_gets_a_clear_message(tmp_path):
    path = tmp_path / "x.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    with pytest.raises(BadFile, match=r"\.xls"):
        files.detect(path)


def test_huge_single_line_is_refused_without_reading_it_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "MAX_LINE_CHARS", 10_000)
    path = tmp_path / "x.csv"
    path.write_text("name,email\n" + "a" * 50_000 + "\n", encoding="utf-8")
    info = files.detect(path)
    with pytest.raises(BadFile, match="longer than"):
        list(files.iter_rows(path, kind="csv", encoding=info.encoding, delimiter=info.delimiter))


def test_millions_of_columns_are_refused(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a" + ",a" * 2000 + "\n", encoding="utf-8")
    with pytest.raises(BadFile, match="more than 500 columns"):
        list(files.iter_rows(path, kind="csv", encoding="utf-8", delimiter=","))


def test_zip_bomb_posing_as_xlsx_is_refused(tmp_path):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * (20 * 1024 * 1024))
    with pytest.raises(BadFile, match="zip bomb"):
        files.detect(path)


def test_a_plain_zip_is_not_a_workbook(tmp_path):
    path = tmp_path / "x.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(BadFile, match="not an Excel workbook"):
        files.detect(path)


def test_a_later_invalid_byte_names_the_line(tmp_path):
    path = tmp_path / "x.csv"
    good = "name,city\n" + "张伟,北京\n" * 10_000
    path.write_bytes(good.encode("utf-8") + "王芳,上海\n".encode("gbk"))
    info = files.detect(path)
    assert info.encoding == "utf-8"
    with pytest.raises(BadFile, match="not valid utf-8"):
        list(files.iter_rows(path, kind="csv", encoding="utf-8", delimiter=","))


def test_duplicate_and_blank_headers_get_unique_names():
    assert files.read_header(iter([["", ""], ["Email", "Email", " "]])) == ["Email", "Email (2)", "Column 3"]


def test_reading_is_streamed(tmp_path):
    """Rows come one at a time from a generator (the whole file is never in memory)."""
    path = tmp_path / "x.csv"
    path.write_text("name\n" + "x\n" * 100, encoding="utf-8")
    rows = files.iter_rows(path, kind="csv", encoding="utf-8", delimiter=",")
    assert next(rows) == ["name"] and next(rows) == ["x"]
    assert codecs.lookup("gb18030")
