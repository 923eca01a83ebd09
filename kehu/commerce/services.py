"""Writes on products, exchange rates, orders and feedback: validation, totals, permissions, audit.

Orders: the services compute every total from the lines (Decimal, half up to cents), snapshot the
exchange rate of the order date and store the totals in the base currency too. A single order, a
bulk of orders and an upsert by external ID share one validation (``_prepare``), so the UI, the
API and imports obey the same rules and report the same field paths (``lines.2.quantity``,
``items.5.lines.0.quantity``). Nothing is written unless every item is valid.

Revenue counts orders in the statuses of ``REVENUE_STATUSES`` (confirmed, paid, shipped): drafts are
not sales yet, cancelled and refunded orders are no longer sales.
"""

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django_scopes import get_scope

from kehu.audit.models import AuditEntry
from kehu.audit.services import create_record, delete_record, diff, record, snapshot, update_record
from kehu.core.errors import FieldError, NotFound, ValidationFailed
from kehu.customers.models import Account, Contact
from kehu.customfields.queries import remembered_definitions
from kehu.customfields.services import clean_custom_values
from kehu.workspaces.access import Actor, require, visible
from kehu.workspaces.models import Membership, Team, Workspace

from .models import ExchangeRate, Feedback, Order, OrderCounter, OrderLine, Product
from .money import cents, is_currency, places, to_decimal

S = Order.Status
REVENUE_STATUSES = (S.CONFIRMED, S.PAID, S.SHIPPED)
# Allowed status changes. Imports may create an order in any status; afterwards it only moves on.
TRANSITIONS: dict[str, set[str]] = {
    S.DRAFT: {S.CONFIRMED, S.PAID, S.SHIPPED, S.CANCELLED},
    S.CONFIRMED: {S.DRAFT, S.PAID, S.SHIPPED, S.CANCELLED},
    S.PAID: {S.SHIPPED, S.REFUNDED},
    S.SHIPPED: {S.PAID, S.REFUNDED},
    S.CANCELLED: set(),
    S.REFUNDED: set(),
}
# A cancelled or refunded order is history: its amounts no longer change (notes and owner still may).
FROZEN_STATUSES = (S.CANCELLED, S.REFUNDED)
MAX_BULK = 1000
NUMBER_PREFIX = "SO-"
LIMIT_MONEY = Decimal(10) ** 14  # fits DecimalField(max_digits=16, decimal_places=2)
LIMIT_QUANTITY = Decimal(10) ** 11


def _err(path: str, message: str, code: str = "invalid") -> FieldError:
    return FieldError(path, message, code)


def _decimal(
    errors: list[FieldError],
    path: str,
    value: Any,
    *,
    max_places: int,
    limit: Decimal = LIMIT_MONEY,
    positive: bool = False,
) -> Decimal | None:
    """Parse and range-check a number; appends a field error and returns None when it is bad."""
    number = to_decimal(value)
    if number is None:
        errors.append(_err(path, _("Enter a number."), "invalid_number"))
        return None
    if positive and number <= 0:
        errors.append(_err(path, _("Must be greater than 0."), "min_value"))
        return None
    if number < 0:
        errors.append(_err(path, _("Must not be negative."), "min_value"))
        return None
    if places(number) > max_places:
        errors.append(
            _err(path, _("Use at most %(n)s decimal places.") % {"n": max_places}, "max_decimal_places")
        )
        return None
    if number >= limit:
        errors.append(_err(path, _("The number is too large."), "max_value"))
        return None
    return number


def _currency(errors: list[FieldError], path: str, value: Any) -> str:
    code = str(value or "").strip().upper()
    if not is_currency(code):
        errors.append(
            _err(path, _("Enter a three-letter ISO 4217 currency code, e.g. CNY or USD."), "invalid")
        )
    return code


def _date(errors: list[FieldError], path: str, value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    parsed = parse_date(str(value)) if value else None
    if parsed is None:
        errors.append(_err(path, _("Enter a date as YYYY-MM-DD."), "invalid_date"))
    return parsed


def _check_owner_team(errors: list[FieldError], values: dict, prefix: str = "") -> None:
    owner_id, team_id = values.get("owner_id"), values.get("team_id")
    if owner_id is not None and not Membership.objects.filter(user_id=owner_id, is_active=True).exists():
        errors.append(_err(f"{prefix}owner_id", _("The owner must be an active member of this workspace.")))
    if team_id is not None and not Team.objects.filter(pk=team_id).exists():
        errors.append(_err(f"{prefix}team_id", _("Unknown team.")))


# --- exchange rates --------------------------------------------------------------------------------


def _workspace_of_scope() -> Workspace:
    current = get_scope().get("workspace")
    if isinstance(current, Workspace):
        return current
    if current is None:
        raise RuntimeError("rate_on() needs a workspace: pass it or run inside scope(workspace=...)")
    return Workspace.objects.get(pk=current)


class RateBook:
    """The rate table of some currencies, loaded with one query, answering any day in memory."""

    def __init__(self, workspace: Workspace, currencies: Iterable[str]) -> None:
        self.base = workspace.base_currency
        wanted = {c for c in currencies if c and c != self.base}
        self._days: dict[str, list[date]] = {}
        self._rates: dict[str, list[Decimal]] = {}
        if wanted:
            rows = (
                ExchangeRate.objects.filter(workspace=workspace, currency__in=wanted)
                .order_by("currency", "valid_from")
                .values_list("currency", "valid_from", "rate_to_base")
            )
            for currency, day, rate in rows:
                self._days.setdefault(currency, []).append(day)
                self._rates.setdefault(currency, []).append(rate)

    def rate(self, currency: str, day: date) -> Decimal | None:
        """The latest rate valid on ``day`` (1 for the base currency); None when there is none."""
        if currency == self.base:
            return Decimal(1)
        days = self._days.get(currency, [])
        index = bisect.bisect_right(days, day)
        return self._rates[currency][index - 1] if index else None


def no_rate_error(currency: str, day: date, path: str = "currency") -> FieldError:
    return _err(
        path,
        _("There is no exchange rate for %(currency)s valid on %(day)s. Add one under Exchange rates.")
        % {"currency": currency, "day": day.isoformat()},
        "no_exchange_rate",
    )


def rate_on(currency: str, day: date, workspace: Workspace | None = None) -> Decimal:
    """Units of the base currency per unit of ``currency`` on ``day``: the latest rate valid then.

    1 for the base currency; ``ValidationFailed`` (field ``currency``) when no rate is valid on that day.
    The workspace defaults to the active ``scope(workspace=...)``.
    """
    workspace = workspace or _workspace_of_scope()
    rate = RateBook(workspace, [currency]).rate(currency, day)
    if rate is None:
        raise ValidationFailed([no_rate_error(currency, day)])
    return rate


def _clean_rate(actor: Actor, values: dict, instance: ExchangeRate | None = None) -> dict:
    errors: list[FieldError] = []
    cleaned: dict[str, Any] = {}
    if "currency" in values or instance is None:
        cleaned["currency"] = _currency(errors, "currency", values.get("currency"))
        if cleaned["currency"] == actor.workspace.base_currency:
            errors.append(_err("currency", _("The base currency always has the rate 1.")))
    if "rate_to_base" in values or instance is None:
        cleaned["rate_to_base"] = _decimal(
            errors,
            "rate_to_base",
            values.get("rate_to_base"),
            max_places=8,
            limit=Decimal(10) ** 10,
            positive=True,
        )
    if "valid_from" in values or instance is None:
        cleaned["valid_from"] = _date(errors, "valid_from", values.get("valid_from"))
    if not any(e.field in {"currency", "valid_from"} for e in errors):
        currency = cleaned.get("currency", instance.currency if instance else "")
        day = cleaned.get("valid_from", instance.valid_from if instance else None)
        clash = ExchangeRate.objects.filter(currency=currency, valid_from=day)
        if instance is not None:
            clash = clash.exclude(pk=instance.pk)
        if clash.exists():
            errors.append(
                _err("valid_from", _("There is already a rate for this currency on that day."), "unique")
            )
    if errors:
        raise ValidationFailed(errors)
    return cleaned


@transaction.atomic
def create_rate(actor: Actor, **values: Any) -> ExchangeRate:
    require(actor, "create", ExchangeRate.object_type)
    return create_record(actor, ExchangeRate(**_clean_rate(actor, values)))


@transaction.atomic
def update_rate(actor: Actor, rate: ExchangeRate, **values: Any) -> ExchangeRate:
    require(actor, "change", ExchangeRate.object_type)
    update_record(actor, rate, _clean_rate(actor, values, rate))
    return rate


@transaction.atomic
def delete_rate(actor: Actor, rate: ExchangeRate) -> None:
    """Orders keep the rate they were booked with; deleting a rate changes no order."""
    require(actor, "delete", ExchangeRate.object_type)
    delete_record(actor, rate)


# --- products --------------------------------------------------------------------------------------

PRODUCT_FIELDS = (
    "sku",
    "name",
    "category",
    "unit_price",
    "unit_cost",
    "currency",
    "active",
    "description",
    "custom",
)


def _custom_values(
    actor: Actor, object_type: str, submitted, instance, errors: list[FieldError], prefix: str = ""
) -> dict:
    """Custom field values through the one validator every object shares; errors join ``errors``."""
    try:
        return clean_custom_values(
            actor, object_type, submitted, instance=instance, partial=instance is not None
        )
    except ValidationFailed as failed:
        errors.extend(FieldError(f"{prefix}{d.field}", d.message, d.code) for d in failed.details)
        return instance.custom if instance is not None else {}


def _clean_product(actor: Actor, values: dict, instance: Product | None = None) -> dict:
    errors: list[FieldError] = []
    creating = instance is None
    cleaned = {k: v for k, v in values.items() if k in PRODUCT_FIELDS}
    for name in ("sku", "name"):
        if name in cleaned or creating:
            cleaned[name] = " ".join(str(cleaned.get(name) or "").split())
            if not cleaned[name]:
                errors.append(_err(name, _("This field is required."), "required"))
    if "category" in cleaned:
        cleaned["category"] = " ".join(str(cleaned["category"] or "").split())
    if "currency" in cleaned or creating:
        cleaned["currency"] = _currency(
            errors, "currency", cleaned.get("currency") or actor.workspace.base_currency
        )
    for name in ("unit_price", "unit_cost"):
        if name in cleaned or creating:
            cleaned[name] = _decimal(errors, name, cleaned.get(name, 0) or 0, max_places=4)
    if "custom" in cleaned or creating:
        cleaned["custom"] = _custom_values(
            actor, Product.object_type, cleaned.get("custom"), instance, errors
        )
    if cleaned.get("sku"):
        clash = Product.objects.filter(sku=cleaned["sku"])
        if instance is not None:
            clash = clash.exclude(pk=instance.pk)
        if clash.exists():
            errors.append(_err("sku", _("Another product already has this SKU."), "unique"))
    if errors:
        raise ValidationFailed(errors)
    return cleaned


@transaction.atomic
def create_product(actor: Actor, **values: Any) -> Product:
    require(actor, "create", Product.object_type)
    return create_record(actor, Product(**_clean_product(actor, values)))


@transaction.atomic
def update_product(actor: Actor, product: Product, **values: Any) -> Product:
    require(actor, "change", Product.object_type)
    update_record(actor, product, _clean_product(actor, values, product))
    return product


@transaction.atomic
def delete_product(actor: Actor, product: Product) -> None:
    """Order lines keep their description, prices and totals; only the link to the product goes."""
    require(actor, "delete", Product.object_type)
    delete_record(actor, product)


# --- orders: validation ------------------------------------------------------------------------------

ORDER_FIELDS = (
    "number",
    "external_id",
    "account_id",
    "contact_id",
    "order_date",
    "status",
    "currency",
    "discount",
    "exchange_rate",
    "notes",
    "custom",
    "owner_id",
    "team_id",
    "total_amount",
    "total_cost",
    "lines",
)
LINE_FIELDS = ("product_id", "sku", "description", "quantity", "unit_price", "unit_cost", "discount")
# Fields whose change alters an order's amounts (refused once the order is cancelled or refunded).
MONEY_FIELDS = (
    "account_id",
    "order_date",
    "currency",
    "discount",
    "exchange_rate",
    "total_amount",
    "total_cost",
)


@dataclass
class _Lookups:
    """Everything a batch of orders refers to, loaded with one query per kind (no N+1 in bulk)."""

    actor: Actor
    accounts: dict[int, Account]
    contacts: dict[int, Contact]
    products: dict[int, Product]
    products_by_sku: dict[str, Product]
    rates: RateBook
    taken_numbers: set[str]
    taken_external_ids: set[str]
    owners: set[int]
    teams: set[int]

    @classmethod
    def load(cls, actor: Actor, items: list[dict], existing: Order | None = None) -> "_Lookups":
        def ints(key: str, rows: Iterable[dict]) -> set[int]:
            return {v for r in rows if isinstance(v := r.get(key), int) and not isinstance(v, bool)}

        lines = [line for item in items for line in (item.get("lines") or []) if isinstance(line, dict)]
        account_ids = ints("account_id", items) | ({existing.account_id} if existing else set())
        contact_ids = ints("contact_id", items) | (
            {existing.contact_id} if existing and existing.contact_id else set()
        )
        product_ids = ints("product_id", lines)
        skus = {str(line["sku"]).strip() for line in lines if line.get("sku")}
        accounts = {a.pk: a for a in visible(actor, Account.objects.filter(pk__in=account_ids))}
        contacts = {c.pk: c for c in visible(actor, Contact.objects.filter(pk__in=contact_ids))}
        products = {p.pk: p for p in Product.objects.filter(pk__in=product_ids)} if product_ids else {}
        by_sku = {p.sku: p for p in Product.objects.filter(sku__in=skus)} if skus else {}
        currencies = {str(i.get("currency") or "").upper() for i in items}
        if existing is not None:
            currencies.add(existing.currency)
        numbers = {str(i["number"]).strip() for i in items if i.get("number")}
        external = {str(i["external_id"]).strip() for i in items if i.get("external_id")}
        others = Order.objects.exclude(pk=existing.pk) if existing else Order.objects.all()
        owner_ids = ints("owner_id", items) | {actor.user.pk}
        team_ids = ints("team_id", items)
        return cls(
            actor=actor,
            accounts=accounts,
            contacts=contacts,
            products=products,
            products_by_sku=by_sku,
            rates=RateBook(actor.workspace, currencies),
            taken_numbers=set(others.filter(number__in=numbers).values_list("number", flat=True))
            if numbers
            else set(),
            taken_external_ids=set(
                others.filter(external_id__in=external).values_list("external_id", flat=True)
            )
            if external
            else set(),
            owners=set(
                Membership.objects.filter(user_id__in=owner_ids, is_active=True).values_list(
                    "user_id", flat=True
                )
            ),
            teams=set(Team.objects.filter(pk__in=team_ids).values_list("pk", flat=True))
            if team_ids
            else set(),
        )


@dataclass
class _Prepared:
    """A validated order: its field values and computed lines, ready to write."""

    fields: dict[str, Any]
    lines: list[OrderLine] | None  # None: keep the existing lines
    errors: list[FieldError] = field(default_factory=list)


def _line_repr(line: OrderLine) -> str:
    """A line as one audit string: quantity × description @ price − discount = total."""
    return (
        f"{line.quantity.normalize():f} × {line.description} @ {line.unit_price.normalize():f}"
        f" − {line.discount} = {line.line_total}"
    )


def _prepare_line(
    look: _Lookups, raw: Any, path: str, currency: str, errors: list[FieldError], old_products: set[int]
) -> OrderLine | None:
    if not isinstance(raw, dict):
        errors.append(_err(path, _("Must be an object.")))
        return None
    unknown = set(raw) - set(LINE_FIELDS)
    for name in sorted(unknown):
        errors.append(_err(f"{path}.{name}", _("Unknown field."), "extra_forbidden"))
    count = len(errors)
    product = None
    if raw.get("product_id") is not None:
        product = look.products.get(raw["product_id"])
        if product is None:
            errors.append(_err(f"{path}.product_id", _("Unknown product.")))
    elif raw.get("sku"):
        product = look.products_by_sku.get(str(raw["sku"]).strip())
        if product is None:
            errors.append(_err(f"{path}.sku", _("No product has this SKU.")))
    if product is not None and not product.active and product.pk not in old_products:
        errors.append(
            _err(f"{path}.product_id", _("The product is inactive and cannot be ordered."), "inactive")
        )
    # A product that was named but not found already has its error; what it would supply is not "missing".
    unresolved = product is None and (raw.get("product_id") is not None or bool(raw.get("sku")))
    description = " ".join(str(raw.get("description") or "").split())[:300]
    if not description:
        if product is not None:
            description = product.name[:300]
        elif not unresolved:
            errors.append(
                _err(f"{path}.description", _("Enter a description or choose a product."), "required")
            )
    quantity = None
    if raw.get("quantity") in (None, ""):
        errors.append(_err(f"{path}.quantity", _("This field is required."), "required"))
    else:
        quantity = _decimal(
            errors, f"{path}.quantity", raw["quantity"], max_places=3, limit=LIMIT_QUANTITY, positive=True
        )
    same_currency = product is not None and product.currency == currency
    price = raw.get("unit_price")
    if price in (None, ""):
        if same_currency:
            price = product.unit_price  # type: ignore[union-attr]
        elif not unresolved:
            message = (
                _("The product's price is in %(currency)s: enter the price in the order's currency.")
                % {"currency": product.currency}
                if product
                else _("This field is required.")
            )
            errors.append(_err(f"{path}.unit_price", message, "required"))
    unit_price = (
        _decimal(errors, f"{path}.unit_price", price, max_places=4) if price not in (None, "") else None
    )
    cost = raw.get("unit_cost")
    if cost in (None, ""):
        cost = product.unit_cost if same_currency else 0  # type: ignore[union-attr]
    unit_cost = _decimal(errors, f"{path}.unit_cost", cost, max_places=4)
    discount = _decimal(errors, f"{path}.discount", raw.get("discount") or 0, max_places=2)
    if len(errors) > count or quantity is None or unit_price is None or unit_cost is None or discount is None:
        return None
    gross = quantity * unit_price
    if discount > gross:
        errors.append(
            _err(f"{path}.discount", _("The discount is larger than the line's amount."), "max_value")
        )
        return None
    discount = cents(discount)
    line_total, line_cost = cents(gross - discount), cents(quantity * unit_cost)
    if line_total >= LIMIT_MONEY or line_cost >= LIMIT_MONEY:
        errors.append(_err(f"{path}.quantity", _("The line's amount is too large."), "max_value"))
        return None
    return OrderLine(
        product=product,
        description=description,
        quantity=quantity,
        unit_price=unit_price,
        unit_cost=unit_cost,
        discount=discount,
        line_total=line_total,
        line_cost=line_cost,
    )


def _prepare(look: _Lookups, values: dict, *, order: Order | None = None, prefix: str = "") -> _Prepared:
    """Validate one order's values (all of them on create, the given ones on update) and compute it."""
    errors: list[FieldError] = []
    actor = look.actor
    base = actor.workspace.base_currency
    for name in sorted(set(values) - set(ORDER_FIELDS)):
        errors.append(_err(f"{prefix}{name}", _("Unknown field."), "extra_forbidden"))
    current: dict[str, Any] = {}
    if order is not None:
        current = {name: getattr(order, name) for name in ORDER_FIELDS if name != "lines"}
    merged = {**current, **{k: v for k, v in values.items() if k in ORDER_FIELDS}}
    out: dict[str, Any] = {}

    for name, limit in (("number", 40), ("external_id", 100)):
        text = str(merged.get(name) or "").strip()
        if len(text) > limit:
            errors.append(_err(f"{prefix}{name}", _("Must have at most %(n)s characters.") % {"n": limit}))
        if text and name == "number" and text in look.taken_numbers:
            errors.append(_err(f"{prefix}number", _("Another order already has this number."), "unique"))
        if text and name == "external_id" and text in look.taken_external_ids:
            errors.append(
                _err(f"{prefix}external_id", _("Another order already has this external ID."), "unique")
            )
        out[name] = text

    account_id = merged.get("account_id")
    account = look.accounts.get(account_id) if account_id is not None else None
    if account_id is None:
        errors.append(_err(f"{prefix}account_id", _("This field is required."), "required"))
    elif account is None:
        errors.append(_err(f"{prefix}account_id", _("Unknown account.")))
    out["account_id"] = account_id
    contact_id = merged.get("contact_id")
    if contact_id is not None:
        contact = look.contacts.get(contact_id)
        if contact is None:
            errors.append(_err(f"{prefix}contact_id", _("Unknown contact.")))
        elif contact.account_id is not None and account is not None and contact.account_id != account.pk:
            errors.append(_err(f"{prefix}contact_id", _("The contact does not belong to this account.")))
    out["contact_id"] = contact_id

    order_date = _date(errors, f"{prefix}order_date", merged.get("order_date") or timezone.localdate())
    out["order_date"] = order_date
    status = merged.get("status") or S.DRAFT
    if status not in S.values:
        errors.append(
            _err(f"{prefix}status", _("Choose one of: %s.") % ", ".join(S.values), "invalid_choice")
        )
    elif order is not None and status != order.status and status not in TRANSITIONS[order.status]:
        errors.append(
            _err(
                f"{prefix}status",
                _("A %(old)s order cannot become %(new)s.")
                % {"old": S(order.status).label, "new": S(status).label},
                "invalid_transition",
            )
        )
    out["status"] = status
    currency = _currency(errors, f"{prefix}currency", merged.get("currency") or base)
    out["currency"] = currency
    out["notes"] = str(merged.get("notes") or "")
    if "custom" in values or order is None:
        out["custom"] = _custom_values(actor, Order.object_type, values.get("custom"), order, errors, prefix)
    else:
        out["custom"] = order.custom
    out["owner_id"] = merged.get("owner_id") if merged.get("owner_id") is not None else actor.user.pk
    out["team_id"] = merged.get("team_id")
    if out["owner_id"] not in look.owners and ("owner_id" in values or order is None):
        errors.append(_err(f"{prefix}owner_id", _("The owner must be an active member of this workspace.")))
    if out["team_id"] is not None and out["team_id"] not in look.teams and "team_id" in values:
        errors.append(_err(f"{prefix}team_id", _("Unknown team.")))

    discount = _decimal(errors, f"{prefix}discount", merged.get("discount") or 0, max_places=2)
    out["discount"] = discount

    # Lines: new ones replace the old; without "lines" an update keeps the stored ones.
    lines: list[OrderLine] | None = None
    old_lines = list(order.lines.all()) if order is not None else []
    raw_lines = values.get("lines")
    if raw_lines is not None:
        if not isinstance(raw_lines, list):
            errors.append(_err(f"{prefix}lines", _("Must be a list.")))
        else:
            old_products = {line.product_id for line in old_lines if line.product_id}
            lines = []
            for index, raw in enumerate(raw_lines):
                line = _prepare_line(look, raw, f"{prefix}lines.{index}", currency, errors, old_products)
                if line is not None:
                    line.position = index
                    lines.append(line)
    effective = lines if lines is not None else old_lines
    if effective and not errors:
        for name in ("total_amount", "total_cost"):
            if values.get(name) is not None:
                errors.append(
                    _err(f"{prefix}{name}", _("Computed from the lines: leave it out."), "computed")
                )
    if not errors and discount is not None:
        if effective:
            subtotal = sum((line.line_total for line in effective), Decimal(0))
            cost = sum((line.line_cost for line in effective), Decimal(0))
            if discount > subtotal:
                errors.append(
                    _err(f"{prefix}discount", _("The discount is larger than the lines' total."), "max_value")
                )
            total = subtotal - discount
        else:  # an order without lines (e.g. imported with its totals only)
            total = _decimal(errors, f"{prefix}total_amount", merged.get("total_amount") or 0, max_places=2)
            cost = _decimal(errors, f"{prefix}total_cost", merged.get("total_cost") or 0, max_places=2)
        out["total_amount"], out["total_cost"] = total, cost

    # The rate is a snapshot: kept unless currency or date change, or the caller brings its own.
    rate = None
    given_rate = values.get("exchange_rate")
    if currency == base:
        if given_rate is not None and to_decimal(given_rate) != 1:
            errors.append(_err(f"{prefix}exchange_rate", _("Orders in the base currency have the rate 1.")))
        rate = Decimal(1)
    elif given_rate is not None:
        rate = _decimal(
            errors, f"{prefix}exchange_rate", given_rate, max_places=8, limit=Decimal(10) ** 10, positive=True
        )
    elif order is not None and order.currency == currency and order.order_date == order_date:
        rate = order.exchange_rate
    elif order_date is not None and is_currency(currency):
        rate = look.rates.rate(currency, order_date)
        if rate is None:
            errors.append(no_rate_error(currency, order_date, f"{prefix}currency"))
    out["exchange_rate"] = rate
    if not errors and rate is not None:
        out["base_total_amount"] = cents(out["total_amount"] * rate)
        out["base_total_cost"] = cents(out["total_cost"] * rate)
        if out["base_total_amount"] >= LIMIT_MONEY or out["base_total_cost"] >= LIMIT_MONEY:
            errors.append(_err(f"{prefix}total_amount", _("The number is too large."), "max_value"))

    if order is not None and order.status in FROZEN_STATUSES and not errors:
        changed = [n for n in MONEY_FIELDS if n in out and out[n] != getattr(order, n)]
        if lines is not None and [_line_repr(x) for x in lines] != [_line_repr(x) for x in old_lines]:
            changed.append("lines")
        for name in changed:
            errors.append(
                _err(
                    f"{prefix}{name}",
                    _("A %(status)s order's amounts cannot change.") % {"status": S(order.status).label},
                    "frozen",
                )
            )
    return _Prepared(out, lines, errors)


# --- orders: writing -----------------------------------------------------------------------------


def _allocate_numbers(workspace: Workspace, count: int) -> list[str]:
    """``count`` unused generated numbers (SO-000001 …); the counter row is locked meanwhile."""
    if count == 0:
        return []
    counter, _created = OrderCounter.objects.select_for_update().get_or_create(
        workspace=workspace, defaults={"next_value": 1}
    )
    numbers: list[str] = []
    value = counter.next_value
    while len(numbers) < count:
        wanted = [f"{NUMBER_PREFIX}{n:06d}" for n in range(value, value + count - len(numbers))]
        value += len(wanted)
        taken = set(Order.objects.filter(number__in=wanted).values_list("number", flat=True))
        numbers += [n for n in wanted if n not in taken]
    counter.next_value = value
    counter.save(update_fields=["next_value"])
    return numbers


def _audit_values(order: Order, lines: list[OrderLine]) -> dict[str, Any]:
    return {**snapshot(order), "lines": [_line_repr(line) for line in lines]}


def _raise_if(prepared: list[_Prepared]) -> None:
    errors = [e for p in prepared for e in p.errors]
    if errors:
        raise ValidationFailed(errors)


def _insert(actor: Actor, prepared: list[_Prepared]) -> list[Order]:
    """Write validated new orders: one insert for the orders, one for all lines, one audit entry each."""
    numbers = iter(_allocate_numbers(actor.workspace, sum(1 for p in prepared if not p.fields["number"])))
    orders = []
    for p in prepared:
        values = {k: v for k, v in p.fields.items() if k != "lines"}
        values["number"] = values["number"] or next(numbers)
        orders.append(
            Order(workspace=actor.workspace, created_by=actor.user, updated_by=actor.user, **values)
        )
    Order.objects.bulk_create(orders)
    all_lines = []
    for order, p in zip(orders, prepared, strict=True):
        for line in p.lines or []:
            line.order, line.workspace = order, actor.workspace
            line.created_by = line.updated_by = actor.user
            all_lines.append(line)
    OrderLine.objects.bulk_create(all_lines)
    for order, p in zip(orders, prepared, strict=True):
        record(
            AuditEntry.Action.CREATE,
            actor=actor,
            instance=order,
            changes=diff({}, _audit_values(order, p.lines or [])),
        )
    return orders


@transaction.atomic
def create_order(actor: Actor, **values: Any) -> Order:
    """Create one order with its lines (``lines``: list of dicts); all or nothing."""
    require(actor, "create", Order.object_type)
    prepared = _prepare(_Lookups.load(actor, [values]), values)
    _raise_if([prepared])
    return _insert(actor, [prepared])[0]


@transaction.atomic
def bulk_create_orders(actor: Actor, items: list[dict]) -> list[Order]:
    """Create up to ``MAX_BULK`` orders; any invalid item fails the whole call (``items.N.field``)."""
    require(actor, "create", Order.object_type)
    if len(items) > MAX_BULK:
        raise ValidationFailed(
            [_err("items", _("At most %(n)s orders per call.") % {"n": MAX_BULK}, "max_items")]
        )
    look = _Lookups.load(actor, items)
    with remembered_definitions():
        prepared = [_prepare(look, item, prefix=f"items.{i}.") for i, item in enumerate(items)]
    seen: dict[tuple[str, str], int] = {}
    for index, p in enumerate(prepared):
        for name in ("number", "external_id"):
            value = p.fields.get(name)
            if value and (name, value) in seen:
                p.errors.append(
                    _err(
                        f"items.{index}.{name}",
                        _("Repeats item %(n)s of this call.") % {"n": seen[(name, value)]},
                        "unique",
                    )
                )
            elif value:
                seen[(name, value)] = index
    _raise_if(prepared)
    return _insert(actor, prepared)


@transaction.atomic
def update_order(actor: Actor, order: Order, **values: Any) -> Order:
    """Change an order; ``lines`` (when given) replace all lines. Totals and the rate follow."""
    require(actor, "change", Order.object_type)
    prepared = _prepare(_Lookups.load(actor, [values], existing=order), values, order=order)
    _raise_if([prepared])
    old_lines = list(order.lines.all())
    before = _audit_values(order, old_lines)
    fields = dict(prepared.fields)
    if not fields["number"]:
        fields["number"] = order.number
    for name, value in fields.items():
        setattr(order, name, value)
    lines = old_lines
    if prepared.lines is not None:
        order.lines.all().delete()
        lines = prepared.lines
        for line in lines:
            line.order, line.workspace = order, actor.workspace
            line.created_by = line.updated_by = actor.user
        OrderLine.objects.bulk_create(lines)
    changes = diff(before, _audit_values(order, lines))
    if changes:
        order.updated_by = actor.user
        order.save()
        record(AuditEntry.Action.UPDATE, actor=actor, instance=order, changes=changes)
    if hasattr(order, "_prefetched_objects_cache"):
        order._prefetched_objects_cache.pop("lines", None)
    return order


def change_status(actor: Actor, order: Order, status: str) -> Order:
    """Move an order to ``status`` if the transition is allowed (e.g. a cancelled order is never paid)."""
    return update_order(actor, order, status=status)


@transaction.atomic
def upsert_order_by_external_id(actor: Actor, external_id: str, values: dict[str, Any]) -> tuple[Order, bool]:
    """Create or update the order with ``external_id`` (ERP/shop imports). (order, created)."""
    external_id = str(external_id).strip()
    if not external_id:
        raise ValidationFailed([_err("external_id", _("This field is required."), "required")])
    values = {**values, "external_id": external_id}
    existing = Order.objects.filter(external_id=external_id).first()
    if existing is None:
        return create_order(actor, **values), True
    if not visible(actor, Order.objects.filter(pk=existing.pk)).exists():
        raise NotFound()
    return update_order(actor, existing, **values), False


@transaction.atomic
def delete_order(actor: Actor, order: Order) -> None:
    require(actor, "delete", Order.object_type)
    record(
        AuditEntry.Action.DELETE,
        actor=actor,
        instance=order,
        changes=diff(_audit_values(order, list(order.lines.all())), {}),
    )
    order.delete()


# --- feedback ----------------------------------------------------------------------------------------

FEEDBACK_FIELDS = (
    "account_id",
    "contact_id",
    "order_id",
    "product_id",
    "rating",
    "kind",
    "channel",
    "comment",
    "received_at",
    "owner_id",
    "team_id",
)


def _clean_feedback(actor: Actor, values: dict, instance: Feedback | None = None) -> dict:
    errors: list[FieldError] = []
    cleaned = {k: v for k, v in values.items() if k in FEEDBACK_FIELDS}
    creating = instance is None
    merged = {**({n: getattr(instance, n) for n in FEEDBACK_FIELDS} if instance else {}), **cleaned}
    account_id = merged.get("account_id")
    if account_id is None:
        errors.append(_err("account_id", _("This field is required."), "required"))
    elif ("account_id" in cleaned or creating) and not visible(
        actor, Account.objects.filter(pk=account_id)
    ).exists():
        errors.append(_err("account_id", _("Unknown account.")))
    if cleaned.get("contact_id") is not None:
        contact = visible(actor, Contact.objects.filter(pk=cleaned["contact_id"])).first()
        if contact is None:
            errors.append(_err("contact_id", _("Unknown contact.")))
        elif contact.account_id is not None and contact.account_id != account_id:
            errors.append(_err("contact_id", _("The contact does not belong to this account.")))
    if cleaned.get("order_id") is not None:
        order = visible(actor, Order.objects.filter(pk=cleaned["order_id"])).first()
        if order is None:
            errors.append(_err("order_id", _("Unknown order.")))
        elif order.account_id != account_id:
            errors.append(_err("order_id", _("The order belongs to another account.")))
    if (
        cleaned.get("product_id") is not None
        and not Product.objects.filter(pk=cleaned["product_id"]).exists()
    ):
        errors.append(_err("product_id", _("Unknown product.")))
    rating = cleaned.get("rating")
    if rating is not None and (
        isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5
    ):
        errors.append(_err("rating", _("Rate from 1 to 5."), "invalid_rating"))
    if "kind" in cleaned and cleaned["kind"] not in Feedback.Kind.values:
        errors.append(
            _err("kind", _("Choose one of: %s.") % ", ".join(Feedback.Kind.values), "invalid_choice")
        )
    if "channel" in cleaned and cleaned["channel"] not in Feedback.Channel.values:
        errors.append(
            _err("channel", _("Choose one of: %s.") % ", ".join(Feedback.Channel.values), "invalid_choice")
        )
    if creating and rating is None and not str(cleaned.get("comment") or "").strip():
        errors.append(_err("comment", _("Give a rating or a comment."), "required"))
    if "received_at" in cleaned and cleaned["received_at"] is None:
        cleaned["received_at"] = timezone.now()
    if "comment" in cleaned:
        cleaned["comment"] = str(cleaned["comment"] or "").strip()
    _check_owner_team(errors, cleaned)
    if errors:
        raise ValidationFailed(errors)
    return cleaned


@transaction.atomic
def create_feedback(actor: Actor, **values: Any) -> Feedback:
    require(actor, "create", Feedback.object_type)
    if values.get("owner_id") is None:
        values["owner_id"] = actor.user.pk
    return create_record(actor, Feedback(**_clean_feedback(actor, values)))


@transaction.atomic
def update_feedback(actor: Actor, feedback: Feedback, **values: Any) -> Feedback:
    require(actor, "change", Feedback.object_type)
    update_record(actor, feedback, _clean_feedback(actor, values, feedback))
    return feedback


@transaction.atomic
def delete_feedback(actor: Actor, feedback: Feedback) -> None:
    require(actor, "delete", Feedback.object_type)
    delete_record(actor, feedback)
