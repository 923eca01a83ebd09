"""The one computation of a quote's amounts, used by the services, the editor, the API and print.

Per line (Decimal throughout, ROUND_HALF_UP to the currency's minor unit):

- ``net``   = quantity × unit price × (1 − line discount %), rounded;
- the quote-level discount = subtotal × quote discount %, rounded once on the subtotal (so a reader
  can check it by hand), then shared out over the lines in proportion to their net amounts
  (largest remainder, so the shares add up to the discount exactly);
- ``tax``   = (net − the line's share of the quote discount) × tax rate %, rounded per line;
- ``gross`` = net − share + tax: what the customer pays for the line.

Quote: ``subtotal`` = Σ net, ``discount`` = the quote-level discount, ``tax`` = Σ line tax,
``total`` = subtotal − discount + tax = Σ gross.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

HUNDRED = Decimal(100)

# ISO 4217 minor units that are not 2 (the common case).
ZERO_DECIMALS = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
THREE_DECIMALS = "BHD IQD JOD KWD LYD OMR TND"
MINOR_UNITS = {
    **dict.fromkeys(ZERO_DECIMALS.split(), 0),
    **dict.fromkeys(THREE_DECIMALS.split(), 3),
}


def minor_unit(currency: str) -> int:
    """Decimal places of ``currency``'s smallest unit (JPY 0, CNY 2, KWD 3)."""
    return MINOR_UNITS.get(currency, 2)


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_unit(currency))


def round_money(value: Decimal, currency: str) -> Decimal:
    """``value`` rounded half up to the currency's minor unit (CNY 0.005 → 0.01, JPY 0.5 → 1)."""
    return value.quantize(quantum(currency), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineInput:
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal = Decimal(0)
    tax_rate: Decimal = Decimal(0)


@dataclass
class LineAmounts:
    net: Decimal
    discount_share: Decimal
    tax: Decimal
    gross: Decimal


@dataclass
class Totals:
    currency: str
    subtotal: Decimal
    discount: Decimal
    tax: Decimal
    total: Decimal
    lines: list[LineAmounts] = field(default_factory=list)

    def tax_by_rate(self, rates: Iterable[Decimal]) -> list[tuple[Decimal, Decimal]]:
        """(rate, tax) per distinct non-zero rate, in the lines' order (for print and orders)."""
        sums: dict[Decimal, Decimal] = {}
        for rate, line in zip(rates, self.lines, strict=True):
            if rate:
                key = rate.normalize()
                sums[key] = sums.get(key, Decimal(0)) + line.tax
        return [(rate, amount) for rate, amount in sums.items() if amount]


def _shares(nets: list[Decimal], discount: Decimal, step: Decimal) -> list[Decimal]:
    """``discount`` split over lines in proportion to ``nets``; exact sum, steps of the minor unit."""
    subtotal = sum(nets, Decimal(0))
    if not discount or not subtotal:
        return [Decimal(0) * step for _ in nets]
    raw = [net * discount / subtotal for net in nets]
    floors = [value.quantize(step, rounding=ROUND_DOWN) for value in raw]
    left = int(((discount - sum(floors, Decimal(0))) / step).to_integral_value())
    # The biggest remainders get one more unit each; ties go to the earlier line.
    order = sorted(range(len(nets)), key=lambda i: (-(raw[i] - floors[i]), i))
    for index in order[:left]:
        floors[index] += step
    return floors


def compute(lines: Iterable[LineInput], discount_percent: Decimal, currency: str) -> Totals:
    """The amounts of a quote's lines and totals (see the module docstring)."""
    step = quantum(currency)
    items = list(lines)
    nets = [
        round_money(item.quantity * item.unit_price * (HUNDRED - item.discount_percent) / HUNDRED, currency)
        for item in items
    ]
    subtotal = sum(nets, Decimal(0) * step)
    discount = round_money(subtotal * Decimal(discount_percent or 0) / HUNDRED, currency)
    shares = _shares(nets, discount, step)
    amounts = []
    for item, net, share in zip(items, nets, shares, strict=True):
        tax = round_money((net - share) * item.tax_rate / HUNDRED, currency)
        amounts.append(LineAmounts(net=net, discount_share=share, tax=tax, gross=net - share + tax))
    tax = sum((a.tax for a in amounts), Decimal(0) * step)
    return Totals(
        currency=currency,
        subtotal=subtotal,
        discount=discount,
        tax=tax,
        total=subtotal - discount + tax,
        lines=amounts,
    )
