"""The one totals function: hand-computed figures, rounding half up to the currency's minor unit."""

from decimal import Decimal

from kehu.quotes.totals import LineInput, compute, minor_unit, round_money


def D(value: str) -> Decimal:
    return Decimal(value)


def test_line_and_quote_totals_hand_computed():
    # Line 1: 3 × 19.99 = 59.97, −10 % = 53.973 → 53.97; Line 2: 2 × 1000 = 2000, −5 % = 1900.00.
    # Subtotal 1953.97; quote discount 2 % = 39.0794 → 39.08, shared 1.0794 / 38.0006 → 1.08 / 38.00.
    # Tax 13 % of 52.89 = 6.8757 → 6.88; 6 % of 1862.00 = 111.72. Total 1953.97 − 39.08 + 118.60.
    totals = compute(
        [
            LineInput(D("3"), D("19.99"), D("10"), D("13")),
            LineInput(D("2"), D("1000"), D("5"), D("6")),
        ],
        D("2"),
        "CNY",
    )
    assert [x.net for x in totals.lines] == [D("53.97"), D("1900.00")]
    assert [x.discount_share for x in totals.lines] == [D("1.08"), D("38.00")]
    assert [x.tax for x in totals.lines] == [D("6.88"), D("111.72")]
    assert [x.gross for x in totals.lines] == [D("59.77"), D("1973.72")]
    assert (totals.subtotal, totals.discount, totals.tax) == (D("1953.97"), D("39.08"), D("118.60"))
    assert totals.total == D("2033.49") == sum(x.gross for x in totals.lines)


def test_half_up_rounding_at_the_minor_unit():
    # 0.125 net → 0.13 (half up, not banker's 0.12); tax 10 % of 0.13 = 0.013 → 0.01.
    totals = compute([LineInput(D("1"), D("0.125"), D("0"), D("10"))], D("0"), "CNY")
    assert totals.lines[0].net == D("0.13")
    assert totals.tax == D("0.01")
    assert round_money(D("2.5"), "JPY") == D("3")
    assert round_money(D("1.0005"), "KWD") == D("1.001")
    assert (minor_unit("JPY"), minor_unit("CNY"), minor_unit("BHD")) == (0, 2, 3)


def test_yen_has_no_decimals():
    # 3 × 333.5 = 1000.5 → 1001; 8 % tax = 80.08 → 80.
    totals = compute([LineInput(D("3"), D("333.5"), D("0"), D("8"))], D("0"), "JPY")
    assert (totals.subtotal, totals.tax, totals.total) == (D("1001"), D("80"), D("1081"))


def test_quote_discount_shares_add_up_exactly():
    # 100 split into three equal 33.33 lines with 10 %: discount = 10.00 (of 99.99 → 9.999 → 10.00);
    # each share 3.333 → floors 3.33 ×3 = 9.99, the remaining cent goes to the first line.
    lines = [LineInput(D("1"), D("33.33"))] * 3
    totals = compute(lines, D("10"), "CNY")
    assert totals.discount == D("10.00")
    assert [x.discount_share for x in totals.lines] == [D("3.34"), D("3.33"), D("3.33")]
    assert totals.total == D("89.99")


def test_hundred_percent_discounts_and_no_lines():
    assert compute([LineInput(D("2"), D("50"), D("100"), D("13"))], D("0"), "CNY").total == D("0.00")
    assert compute([LineInput(D("2"), D("50"))], D("100"), "CNY").total == D("0.00")
    empty = compute([], D("5"), "CNY")
    assert (empty.subtotal, empty.discount, empty.tax, empty.total) == (0, 0, 0, 0)


def test_tax_by_rate_groups_rates():
    lines = [
        LineInput(D("1"), D("100"), tax_rate=D("13")),
        LineInput(D("1"), D("50"), tax_rate=D("13.00")),
        LineInput(D("1"), D("10"), tax_rate=D("6")),
        LineInput(D("1"), D("10")),
    ]
    totals = compute(lines, D("0"), "CNY")
    assert totals.tax_by_rate(x.tax_rate for x in lines) == [(D("13"), D("19.50")), (D("6"), D("0.60"))]
