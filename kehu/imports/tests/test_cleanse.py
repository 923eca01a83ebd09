"""Cell cleansing: every date, number, phone, boolean and picklist format the import accepts."""

from datetime import date
from decimal import Decimal

import pytest

from kehu.core.normalize import half_width
from kehu.imports.cleanse import CellError, Cleaner, parse_bool, parse_date, parse_number
from kehu.imports.targets import TargetField


@pytest.mark.parametrize(
    "text,order,expected",
    [
        ("2026-11-25", "ymd", date(2026, 11, 25)),
        ("2026/11/25", "ymd", date(2026, 11, 25)),
        ("2026.11.25", "ymd", date(2026, 11, 25)),
        ("20261125", "ymd", date(2026, 11, 25)),
        ("25.11.2026", "ymd", date(2026, 11, 25)),
        ("11/25/2026", "mdy", date(2026, 11, 25)),
        ("25/11/2026", "dmy", date(2026, 11, 25)),
        ("03/04/2026", "mdy", date(2026, 3, 4)),
        ("03/04/2026", "dmy", date(2026, 4, 3)),
        ("25/11/2026", "mdy", date(2026, 11, 25)),  # day > 12 is unambiguous
        ("2026年11月25日", "ymd", date(2026, 11, 25)),
        ("２０２６年１１月２５日", "ymd", date(2026, 11, 25)),
        ("2026-11-25 10:30:00", "ymd", date(2026, 11, 25)),
    ],
)
def test_dates(text, order, expected):
    assert parse_date(text, order) == expected


@pytest.mark.parametrize("text", ["2026-13-01", "yesterday", "31.02.2026", "1/2"])
def test_bad_dates(text):
    with pytest.raises(CellError):
        parse_date(text, "ymd")


@pytest.mark.parametrize(
    "text,expected",
    [
        ("¥1,234.50", Decimal("1234.50")),
        ("￥1,234.50", Decimal("1234.50")),
        ("$1,234", Decimal("1234")),
        ("1.234,50 €", Decimal("1234.50")),
        ("1,234,567.8", Decimal("1234567.8")),
        ("1.234.567", Decimal("1234567")),
        ("1 234,5", Decimal("1234.5")),
        ("1,5", Decimal("1.5")),
        ("(1,234)", Decimal("-1234")),
        ("-12.5", Decimal("-12.5")),
        ("RMB 99", Decimal("99")),
        ("99元", Decimal("99")),
        ("１２３", Decimal("123")),
    ],
)
def test_numbers(text, expected):
    assert parse_number(text) == expected


def test_bad_number():
    with pytest.raises(CellError):
        parse_number("twelve")


@pytest.mark.parametrize("text", ["yes", "Yes", "TRUE", "true", "是", "1", "Y", "y", "对"])
def test_true(text):
    assert parse_bool(text) is True


@pytest.mark.parametrize("text", ["no", "NO", "false", "否", "0", "N", "n"])
def test_false(text):
    assert parse_bool(text) is False


def test_bad_boolean():
    with pytest.raises(CellError, match="not yes or no"):
        parse_bool("maybe")


@pytest.fixture
def cleaner():
    return Cleaner(region="CN", date_order="ymd", time_zone="Asia/Shanghai")


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("138 0013 8000", "+8613800138000"),
        ("138-0013-8000", "+8613800138000"),
        ("+86 138 0013 8000", "+8613800138000"),
        ("0086 13800138000", "+8613800138000"),
        ("(010) 6552 9988", "+861065529988"),
        ("１３８００１３８０００", "+8613800138000"),
        ("+1 (415) 555-2671", "+14155552671"),
    ],
)
def test_phones_to_e164(cleaner, raw, expected):
    value, correction = cleaner.clean(TargetField("phone", "Phone", "phone"), raw)
    assert value == expected
    assert correction is not None or raw.replace(" ", "") == expected


def test_phone_region_per_import():
    value, _c = Cleaner(region="US").clean(TargetField("phone", "Phone", "phone"), "(415) 555-2671")
    assert value == "+14155552671"


def test_bad_phone(cleaner):
    with pytest.raises(CellError):
        cleaner.clean(TargetField("phone", "Phone", "phone"), "12345")


def test_emails_lower_cased_and_validated(cleaner):
    f = TargetField("email", "Email", "email")
    assert cleaner.clean(f, "  Zhang.Wei@Example.COM ") == (
        "zhang.wei@example.com",
        "Email address lower-cased.",
    )
    assert cleaner.clean(f, "ｚｈａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ")[0] == "zhang@example.com"
    with pytest.raises(CellError):
        cleaner.clean(f, "not-an-email")


def test_text_whitespace_and_full_width(cleaner):
    f = TargetField("name", "Name", "text")
    assert cleaner.clean(f, "  北京   示例  ") == ("北京 示例", None)
    value, correction = cleaner.clean(f, "ＡＢＣ公司，北京")
    assert value == "ABC公司，北京"  # letters half-width; Chinese punctuation stays
    assert correction
    assert cleaner.clean(f, "   ") == (None, None)


def test_long_text_keeps_lines(cleaner):
    f = TargetField("description", "Description", "long_text")
    assert cleaner.clean(f, " a  b \r\n  c ")[0] == "a b\nc"


def test_formula_is_stored_as_text_and_flagged(cleaner):
    value, correction = cleaner.clean(TargetField("name", "Name", "text"), '=HYPERLINK("http://x","y")')
    assert value == '=HYPERLINK("http://x","y")'
    assert "formula" in correction


def test_picklist_by_key_or_label(cleaner):
    from django.utils.translation import gettext_lazy as _

    f = TargetField(
        "status", "Status", "choice", choices=[("active", _("Active")), ("prospect", _("Prospect"))]
    )
    assert cleaner.clean(f, "ACTIVE")[0] == "active"
    assert cleaner.clean(f, "Prospect")[0] == "prospect"
    with pytest.raises(CellError, match="not one of"):
        cleaner.clean(f, "gone")


def test_multi_choice(cleaner):
    f = TargetField("custom.x", "X", "multi_choice", choices=[("a", "Alpha"), ("b", "Beta")])
    assert cleaner.clean(f, "alpha、B")[0] == ["a", "b"]


def test_datetime_in_workspace_zone(cleaner):
    moment, _c = cleaner.clean(TargetField("occurred_at", "Time", "datetime"), "2026/11/25 14:30")
    assert moment.isoformat() == "2026-11-25T14:30:00+08:00"
    moment, _c = cleaner.clean(TargetField("occurred_at", "Time", "datetime"), "11/25/2026 2:30 PM")
    assert moment.hour == 14


def test_numbers_and_money(cleaner):
    assert cleaner.clean(TargetField("unit_price", "Price", "money"), "¥1,234.50") == (
        "1234.50",
        "Number read as 1234.50.",
    )
    assert cleaner.clean(TargetField("q", "Q", "number"), "12")[0] == "12"


def test_half_width_helper():
    assert half_width("ＡＢＣ　１２３！") == "ABC 123!"
    assert half_width("ＡＢＣ，", punctuation=False) == "ABC，"
