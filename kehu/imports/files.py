"""Reading import files as a stream of rows: CSV in any common encoding and delimiter, and XLSX.

Nothing here reads a whole file: CSV is decoded and parsed line by line (each physical line capped),
XLSX sheets are parsed by openpyxl's read-only mode (XML streamed). Junk is refused early with a
clear message: binary files, over-long lines, too many columns, zip bombs posing as workbooks.
"""

import codecs
import csv
import io
import itertools
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

from django.utils.translation import gettext as _

from kehu.core.errors import DomainError

SAMPLE_BYTES = 64 * 1024
MAX_LINE_CHARS = 1_000_000  # one physical line of a CSV file
MAX_CELL_CHARS = 32_768  # one cell (a longer one rejects its row)
MAX_COLUMNS = 500
MAX_XLSX_UNCOMPRESSED = 2 * 1024**3  # all parts of a workbook, unpacked
MAX_XLSX_RATIO = 200  # unpacked / packed size of one part larger than 1 MB
DELIMITERS = (",", ";", "\t", "|")
ENCODINGS = ("utf-8", "utf-8-sig", "gb18030", "utf-16", "utf-16-le", "utf-16-be")
BINARY_MAGIC = {
    b"%PDF": "PDF",
    b"\x89PNG": "PNG",
    b"GIF8": "GIF",
    b"\xff\xd8\xff": "JPEG",
    b"\x7fELF": "executable",
    b"MZ": "executable",
    b"\x1f\x8b": "gzip",
    b"Rar!": "RAR",
    b"7z\xbc\xaf": "7-Zip",
    b"\xd0\xcf\x11\xe0": "Excel 97-2003 (.xls)",
}


class BadFile(DomainError):
    """The file cannot be imported: the message says why (shown to the user as is)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "bad_file", 422)


@dataclass
class FileInfo:
    kind: str  # csv | xlsx
    encoding: str = ""
    delimiter: str = ""
    sheets: list[str] = field(default_factory=list)


# --- detection -------------------------------------------------------------------------------------


def detect(path: Path) -> FileInfo:
    """What the file is: kind, encoding and delimiter (CSV) or sheet names (XLSX); BadFile if junk."""
    with open(path, "rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    if not sample.strip():
        raise BadFile(_("The file is empty."))
    if sample.startswith(b"PK\x03\x04"):
        return FileInfo("xlsx", sheets=xlsx_sheets(path))
    for magic, name in BINARY_MAGIC.items():
        if sample.startswith(magic):
            if name.startswith("Excel"):
                raise BadFile(_("Old Excel files (.xls) cannot be read: save the file as .xlsx or CSV."))
            raise BadFile(_("This is a %(kind)s file, not a table: upload CSV or XLSX.") % {"kind": name})
    encoding = detect_encoding(sample)
    text = _decode_sample(sample, encoding)
    return FileInfo("csv", encoding=encoding, delimiter=sniff_delimiter(text))


def detect_encoding(sample: bytes) -> str:
    """BOM first, then UTF-16 without BOM (NUL pattern), then strict UTF-8, then GB18030."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    head = sample[:4096]
    if head.count(b"\x00") > len(head) // 4:
        even = head[0::2].count(b"\x00")
        odd = head[1::2].count(b"\x00")
        if odd > len(head) // 4 and even < odd // 8:
            return "utf-16-le"
        if even > len(head) // 4 and odd < even // 8:
            return "utf-16-be"
    if b"\x00" in sample:
        raise BadFile(_("The file looks binary, not like a CSV text file."))
    for encoding in ("utf-8", "gb18030"):
        try:
            text = codecs.getincrementaldecoder(encoding)("strict").decode(sample, final=False)
        except UnicodeDecodeError:
            continue
        if _looks_binary(text):
            break
        return encoding
    raise BadFile(
        _("The file's text encoding is not recognised (use UTF-8, GB18030/GBK or UTF-16), or it is not text.")
    )


def _looks_binary(text: str) -> bool:
    controls = sum(1 for ch in text if ch < " " and ch not in "\t\r\n\f")
    return controls > max(2, len(text) // 100)


def _decode_sample(sample: bytes, encoding: str) -> str:
    text = codecs.getincrementaldecoder(encoding)("replace").decode(sample, final=False)
    if _looks_binary(text):
        raise BadFile(_("The file looks binary, not like a CSV text file."))
    return text.lstrip("\ufeff")


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the sample's first rows into the same number (> 1) of columns."""
    if len(text) >= SAMPLE_BYTES // 2 and "\n" in text:
        text = text[: text.rfind("\n")]  # the last line may be cut off
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        try:
            reader = csv.reader(io.StringIO(text), delimiter=delimiter)
            rows = [len(r) for r in itertools.islice(reader, 50)]
        except csv.Error:
            continue
        rows = [n for n in rows if n > 0]
        if not rows:
            continue
        mode = max(set(rows), key=rows.count)
        if mode < 2:
            continue
        score = (rows.count(mode) * 100 // len(rows), mode)
        if score > best_score:
            best, best_score = delimiter, score
    return best


# --- CSV ---------------------------------------------------------------------------------------------


def _capped_lines(stream: io.TextIOBase) -> Iterator[str]:
    """Physical lines, each at most MAX_LINE_CHARS (a longer one is junk: a 2 GB single line …)."""
    while True:
        line = stream.readline(MAX_LINE_CHARS + 1)
        if not line:
            return
        if len(line) > MAX_LINE_CHARS:
            raise BadFile(
                _("A line of the file is longer than %(n)s characters: this is not a normal table.")
                % {"n": f"{MAX_LINE_CHARS:,}"}
            )
        yield line


def iter_csv(path: Path, encoding: str, delimiter: str) -> Iterator[list[str]]:
    """Rows of a CSV file (header first), decoded and parsed as a stream."""
    with open(path, encoding=encoding, newline="", errors="strict") as stream:
        reader = csv.reader(_capped_lines(stream), delimiter=delimiter or ",")
        try:
            for row in reader:
                if len(row) > MAX_COLUMNS and any(row[MAX_COLUMNS:]):
                    raise BadFile(_too_many_columns(reader.line_num))
                yield row[:MAX_COLUMNS]
        except csv.Error as exc:
            raise BadFile(
                _("The CSV file cannot be read near line %(line)s: %(error)s")
                % {"line": reader.line_num, "error": exc}
            ) from None
        except UnicodeDecodeError:
            raise BadFile(
                _("The file is not valid %(encoding)s text near line %(line)s: choose its encoding.")
                % {"encoding": encoding, "line": reader.line_num + 1}
            ) from None


def _too_many_columns(line: int) -> str:
    return _("Row %(row)s has more than %(n)s columns.") % {"row": line, "n": MAX_COLUMNS}


# --- XLSX --------------------------------------------------------------------------------------------


def _check_zip(path: Path) -> None:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise BadFile(_("The workbook is damaged (not a valid XLSX file).")) from None
    with archive:
        total = 0
        for info in archive.infolist():
            total += info.file_size
            if info.file_size > 1024**2 and info.file_size > MAX_XLSX_RATIO * max(info.compress_size, 1):
                raise BadFile(
                    _("The workbook unpacks to far more data than it holds: refused as a zip bomb.")
                )
        if total > MAX_XLSX_UNCOMPRESSED:
            raise BadFile(_("The workbook unpacks to more than 2 GB: refused."))
        if "xl/workbook.xml" not in archive.namelist():
            raise BadFile(_("This zip file is not an Excel workbook (.xlsx)."))


def _open_book(path: Path):
    from openpyxl import load_workbook

    _check_zip(path)
    try:
        # data_only=False: a formula arrives as its text ("=HYPERLINK(…)") and is neutralised later.
        return load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds for damaged parts
        raise BadFile(_("The workbook cannot be read: %(error)s") % {"error": exc}) from None


def xlsx_sheets(path: Path) -> list[str]:
    book = _open_book(path)
    try:
        return list(book.sheetnames)
    finally:
        book.close()


def cell_text(value) -> str:
    """A workbook cell as the text a CSV would have held."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))  # phone numbers and ids typed as numbers
    return str(value)


def iter_xlsx(path: Path, sheet: str = "") -> Iterator[list[str]]:
    book = _open_book(path)
    try:
        if sheet and sheet not in book.sheetnames:
            raise BadFile(_("The workbook has no sheet “%(sheet)s”.") % {"sheet": sheet})
        ws = book[sheet] if sheet else book.worksheets[0]
        for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
            row = [cell_text(v) for v in values]
            while row and row[-1] == "":
                row.pop()
            if len(row) > MAX_COLUMNS:
                raise BadFile(_too_many_columns(number))
            yield row
    finally:
        book.close()


# --- both --------------------------------------------------------------------------------------------


def iter_rows(path: Path, *, kind: str, encoding: str = "", delimiter: str = "", sheet: str = ""):
    """Rows of the file, header first; every cell a str."""
    if kind == "xlsx":
        return iter_xlsx(path, sheet)
    return iter_csv(path, encoding or "utf-8", delimiter or ",")


def read_header(rows: Iterator[list[str]]) -> list[str]:
    """The first non-empty row, cleaned up to unique, non-empty column names."""
    for row in rows:
        if any(cell.strip() for cell in row):
            names, seen = [], set()
            for i, cell in enumerate(row):
                name = " ".join(cell.replace("\ufeff", "").split()) or _("Column %(n)s") % {"n": i + 1}
                base, n = name, 2
                while name in seen:
                    name, n = f"{base} ({n})", n + 1
                seen.add(name)
                names.append(name)
            return names
    raise BadFile(_("The file has no header row."))


def count_rows(path: Path, *, kind: str, encoding: str = "", delimiter: str = "", sheet: str = "") -> int:
    """Data rows (after the header): one streamed pass, for the progress bar."""
    rows = iter_rows(path, kind=kind, encoding=encoding, delimiter=delimiter, sheet=sheet)
    read_header(rows)
    return sum(1 for _row in rows)
