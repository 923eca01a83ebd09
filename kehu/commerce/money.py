"""Money arithmetic and currency codes: Decimal only, half-up rounding to cents."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")

# Active ISO 4217 codes (2024), without funds, precious metals and testing codes.
ISO_4217 = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD
    CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD
    GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT
    LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR
    NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP
    STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG
    XOF XPF YER ZAR ZMW ZWG
    """.split()  # noqa: SIM905 -- a table is easier to check than a list of strings
)


def is_currency(code: str) -> bool:
    return code in ISO_4217


def without_trailing_zeros(value: Decimal) -> Decimal:
    """``13.00`` → ``13``, ``1000.0000`` → ``1000`` for a form box or a line text (``normalize()`` alone
    gives ``1E+3``)."""
    return Decimal(f"{value.normalize():f}")


def cents(value: Decimal) -> Decimal:
    """``value`` rounded half up to two decimal places (0.005 → 0.01)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def to_decimal(value) -> Decimal | None:
    """A finite Decimal from an int, str or Decimal (floats via their shortest repr); None if invalid."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return None
    return number if number.is_finite() else None


def places(value: Decimal) -> int:
    """Number of decimal places written in ``value`` (1.50 → 2, 3 → 0)."""
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0
