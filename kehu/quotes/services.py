"""Writes on quotes: validation, numbers, versions, the status flow and acceptance into an order.

Flow: draft → sent → accepted | rejected | expired. Only the current draft is edited; a sent,
rejected or expired quote is *revised* into version n+1 (a sent one becomes superseded), older
versions stay read-only. Accepting is atomic and idempotent: the quote row is locked, the order is
created through ``kehu.commerce.services.create_order`` (so totals, exchange rates, purchase
history and the 360° view are commerce's), other open versions are superseded and, unless turned
off, the opportunity is won through ``kehu.deals.services.win``. A failure anywhere changes nothing.

Amounts come from ``totals.compute`` only. Errors name their field (``lines.2.quantity``).
"""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.audit.models import AuditEntry
from kehu.audit.services import diff, record, snapshot
from kehu.commerce import services as commerce
from kehu.commerce.models import Order, Product
from kehu.commerce.money import cents
from kehu.core.errors import FieldError, ValidationFailed
from kehu.customers.models import Contact
from kehu.customfields.services import clean_custom_values
from kehu.deals import services as deals
from kehu.deals.models import Opportunity, OpportunityContact, OpportunityLine
from kehu.workspaces.access import Actor, require, visible
from kehu.workspaces.models import Workspace

from .models import Quote, QuoteCounter, QuoteLine
from .totals import LineInput, Totals, compute

S = Quote.Status
QUOTE_FIELDS = (
    "opportunity_id",
    "contact_id",
    "issue_date",
    "valid_until",
    "terms",
    "notes",
    "discount_percent",
    "win_opportunity",
    "custom",
    "owner_id",
    "team_id",
    "lines",
)
LINE_FIELDS = ("product_id", "description", "quantity", "unit_price", "discount_percent", "tax_rate")
VALIDITY_DAYS = 30
MAX_LINES = 200
NUMBER_FORMAT = "Q-{year}-{value:04d}"
LIMIT_QUANTITY = Decimal(10) ** 11
LIMIT_PRICE = Decimal(10) ** 13
LIMIT_TOTAL = Decimal(10) ** 13


def _err(path: str, message: str, code: str = "invalid") -> FieldError:
    return FieldError(path, message, code)


def _percent(errors: list[FieldError], path: str, value: Any) -> Decimal | None:
    """A percentage 0–100 with at most 2 decimal places."""
    number = commerce._decimal(
        errors, path, 0 if value in (None, "") else value, max_places=2, limit=Decimal(1000)
    )
    if number is not None and number > 100:
        errors.append(_err(path, _("At most 100."), "max_value"))
        return None
    return number


# --- lines and totals ------------------------------------------------------------------------------


def clean_lines(
    raw_lines: Any, currency: str, errors: list[FieldError], *, keep_products: set[int] = frozenset()
) -> list[QuoteLine]:
    """Validated, unsaved lines (amounts not yet computed); problems go to ``errors`` by path.

    Products come from the catalog of the current workspace only (the scoped manager): a product id
    of another workspace is "Unknown product". Inactive products may stay on a revised quote
    (``keep_products``) but not be added.
    """
    if not isinstance(raw_lines, list):
        errors.append(_err("lines", _("Must be a list.")))
        return []
    if len(raw_lines) > MAX_LINES:
        errors.append(_err("lines", _("Give at most %(n)s lines.") % {"n": MAX_LINES}, "max_items"))
        return []
    ids = {
        r.get("product_id") for r in raw_lines if isinstance(r, dict) and isinstance(r.get("product_id"), int)
    }
    products = {p.pk: p for p in Product.objects.filter(pk__in=ids)} if ids else {}
    lines = []
    for index, raw in enumerate(raw_lines):
        path = f"lines.{index}"
        if not isinstance(raw, dict):
            errors.append(_err(path, _("Must be an object.")))
            continue
        count = len(errors)
        for name in sorted(set(raw) - set(LINE_FIELDS)):
            errors.append(_err(f"{path}.{name}", _("Unknown field."), "extra_forbidden"))
        product = None
        if raw.get("product_id") not in (None, ""):
            product = products.get(raw["product_id"])
            if product is None:
                errors.append(_err(f"{path}.product_id", _("Unknown product.")))
            elif not product.active and product.pk not in keep_products:
                errors.append(
                    _err(f"{path}.product_id", _("The product is inactive and cannot be quoted."), "inactive")
                )
        description = " ".join(str(raw.get("description") or "").split())[:300]
        if not description and product is not None:
            description = product.name[:300]
        if not description and raw.get("product_id") in (None, ""):
            errors.append(
                _err(f"{path}.description", _("Enter a description or choose a product."), "required")
            )
        quantity = None
        if raw.get("quantity") in (None, ""):
            errors.append(_err(f"{path}.quantity", _("This field is required."), "required"))
        else:
            quantity = commerce._decimal(
                errors, f"{path}.quantity", raw["quantity"], max_places=3, limit=LIMIT_QUANTITY, positive=True
            )
        price = raw.get("unit_price")
        if price in (None, "") and product is not None:
            if product.currency == currency:
                price = product.unit_price
            else:
                errors.append(
                    _err(
                        f"{path}.unit_price",
                        _("The product's price is in %(currency)s: enter the price in the quote's currency.")
                        % {"currency": product.currency},
                        "required",
                    )
                )
        elif price in (None, "") and raw.get("product_id") in (None, ""):
            errors.append(_err(f"{path}.unit_price", _("This field is required."), "required"))
        unit_price = (
            commerce._decimal(errors, f"{path}.unit_price", price, max_places=4, limit=LIMIT_PRICE)
            if price not in (None, "")
            else None
        )
        discount = _percent(errors, f"{path}.discount_percent", raw.get("discount_percent"))
        tax_rate = _percent(errors, f"{path}.tax_rate", raw.get("tax_rate"))
        if len(errors) > count or None in (quantity, unit_price, discount, tax_rate):
            continue
        lines.append(
            QuoteLine(
                position=index,
                product=product,
                description=description,
                quantity=quantity,
                unit_price=unit_price,
                discount_percent=discount,
                tax_rate=tax_rate,
            )
        )
    return lines


def totals_of(lines: list[QuoteLine], discount_percent: Decimal, currency: str) -> Totals:
    """The one totals computation, over quote lines (saved or not)."""
    return compute(
        (LineInput(x.quantity, x.unit_price, x.discount_percent, x.tax_rate) for x in lines),
        discount_percent,
        currency,
    )


def _apply_totals(quote: Quote, lines: list[QuoteLine], errors: list[FieldError]) -> Totals:
    totals = totals_of(lines, quote.discount_percent, quote.currency)
    for line, amounts in zip(lines, totals.lines, strict=True):
        line.net_amount, line.tax_amount, line.gross_amount = amounts.net, amounts.tax, amounts.gross
    quote.subtotal, quote.discount_amount = totals.subtotal, totals.discount
    quote.tax_amount, quote.total = totals.tax, totals.total
    if totals.subtotal >= LIMIT_TOTAL or totals.total >= LIMIT_TOTAL:
        errors.append(_err("lines", _("The quote's amount is too large."), "max_value"))
    return totals


def preview(raw_lines: list[dict], discount_percent: Any, currency: str) -> tuple[Totals, list[FieldError]]:
    """Totals of what an editor holds right now (valid lines only) and the problems, for live totals."""
    errors: list[FieldError] = []
    lines = clean_lines(raw_lines, currency, errors)
    discount = _percent(errors, "discount_percent", discount_percent)
    return totals_of(lines, discount or Decimal(0), currency), errors


def lines_from_opportunity(opp: Opportunity) -> list[dict]:
    """The opportunity's product lines as quote line values ("prefill from the opportunity")."""
    return [
        {
            "product_id": line.product_id,
            "description": line.description,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "discount_percent": line.discount_percent,
        }
        for line in OpportunityLine.objects.filter(opportunity=opp).order_by("position", "id")
    ]


def _line_repr(line: QuoteLine) -> str:
    """A line as one audit string."""
    return (
        f"{line.quantity.normalize():f} × {line.description} @ {line.unit_price.normalize():f}"
        f" −{line.discount_percent.normalize():f}% +{line.tax_rate.normalize():f}% = {line.gross_amount}"
    )


def _audit_values(quote: Quote, lines: list[QuoteLine]) -> dict[str, Any]:
    values = snapshot(quote)
    values["total"] = str(quote.total)
    values["lines"] = [_line_repr(line) for line in lines]
    return values


# --- numbers -----------------------------------------------------------------------------------------


def _next_number(workspace: Workspace, day: date) -> str:
    """The next free number of the year (Q-2026-0001); the counter row is locked until commit."""
    locked = QuoteCounter.objects.select_for_update()
    counter = locked.filter(workspace=workspace, year=day.year).first()
    if counter is None:
        try:
            with transaction.atomic():  # a savepoint: a concurrent first quote of the year may win
                QuoteCounter.objects.create(workspace=workspace, year=day.year)
        except IntegrityError:
            pass
        counter = locked.get(workspace=workspace, year=day.year)
    value = counter.next_value
    while Quote.objects.filter(number=NUMBER_FORMAT.format(year=day.year, value=value)).exists():
        value += 1
    counter.next_value = value + 1
    counter.save(update_fields=["next_value"])
    return NUMBER_FORMAT.format(year=day.year, value=value)


# --- validation -------------------------------------------------------------------------------------


def _clean(actor: Actor, values: dict, quote: Quote | None = None) -> tuple[dict, list[QuoteLine] | None]:
    """Validated header values and lines (None: keep the current lines) of a create or update."""
    errors: list[FieldError] = []
    creating = quote is None
    for name in sorted(set(values) - set(QUOTE_FIELDS)):
        errors.append(_err(name, _("Unknown field."), "extra_forbidden"))
    out: dict[str, Any] = {}
    opp = quote.opportunity if quote is not None else None
    if creating:
        opp_id = values.get("opportunity_id")
        opp = (
            visible(actor, Opportunity.objects.select_related("account")).filter(pk=opp_id).first()
            if isinstance(opp_id, int)
            else None
        )
        if opp_id is None:
            errors.append(_err("opportunity_id", _("This field is required."), "required"))
        elif opp is None:
            errors.append(_err("opportunity_id", _("Unknown opportunity.")))
        else:
            out.update(opportunity=opp, account_id=opp.account_id, currency=opp.currency, team_id=opp.team_id)
    elif "opportunity_id" in values and values["opportunity_id"] != quote.opportunity_id:
        errors.append(_err("opportunity_id", _("A quote stays with its opportunity."), "read_only"))

    if "contact_id" in values and values["contact_id"] is not None:
        contact = visible(actor, Contact.objects.filter(pk=values["contact_id"])).first()
        if contact is None:
            errors.append(_err("contact_id", _("Unknown contact.")))
        elif opp is not None and contact.account_id != opp.account_id:
            errors.append(_err("contact_id", _("The contact does not belong to the opportunity's account.")))
        out["contact_id"] = values["contact_id"]
    elif "contact_id" in values:
        out["contact_id"] = None
    elif creating and opp is not None:
        primary = (
            OpportunityContact.objects.filter(opportunity=opp)
            .order_by("-is_primary", "id")
            .values_list("contact_id", flat=True)
            .first()
        )
        out["contact_id"] = primary

    today = timezone.localdate()
    issue = quote.issue_date if quote else today
    if "issue_date" in values and values["issue_date"] is not None:
        issue = commerce._date(errors, "issue_date", values["issue_date"])
        out["issue_date"] = issue
    elif creating:
        out["issue_date"] = issue
    valid = quote.valid_until if quote else None
    if "valid_until" in values and values["valid_until"] is not None:
        valid = commerce._date(errors, "valid_until", values["valid_until"])
        out["valid_until"] = valid
    elif creating or "valid_until" in values:
        valid = (issue or today) + timedelta(days=VALIDITY_DAYS)
        out["valid_until"] = valid
    if issue and valid and valid < issue:
        errors.append(_err("valid_until", _("Must not be before the issue date."), "invalid_range"))

    for name in ("terms", "notes"):
        if name in values or creating:
            out[name] = str(values.get(name) or "").strip()
    if "discount_percent" in values or creating:
        out["discount_percent"] = _percent(errors, "discount_percent", values.get("discount_percent"))
    if "win_opportunity" in values and values["win_opportunity"] is not None:
        out["win_opportunity"] = bool(values["win_opportunity"])
    if "owner_id" in values or creating:
        out["owner_id"] = values.get("owner_id") or actor.user.pk
    if "team_id" in values:
        out["team_id"] = values["team_id"]
    commerce._check_owner_team(errors, {k: out[k] for k in ("owner_id", "team_id") if k in values})
    if "custom" in values or creating:
        try:
            out["custom"] = clean_custom_values(
                actor, Quote.object_type, values.get("custom"), instance=quote, partial=not creating
            )
        except ValidationFailed as failed:
            errors.extend(failed.details)

    lines = None
    currency = out.get("currency") or (quote.currency if quote else "")
    if "lines" in values and values["lines"] is not None:
        kept = {x.product_id for x in quote.lines.all() if x.product_id} if quote else set()
        lines = clean_lines(values["lines"], currency, errors, keep_products=kept)
    elif creating and opp is not None:
        lines = clean_lines(lines_from_opportunity(opp), currency, errors)
    if errors:
        raise ValidationFailed(errors)
    return out, lines


def _editable_or_fail(quote: Quote) -> None:
    if quote.status == S.DRAFT and quote.is_current:
        return
    if not quote.is_current:
        message = _("This is an old version of the quote: it is read-only.")
    else:
        message = _("Only a draft quote can be changed; revise it to make a new version.")
    raise ValidationFailed([_err("status", message, "not_editable")])


def _lock(quote: Quote) -> Quote:
    """The quote re-read under a row lock (concurrent accepts, edits and the expiry job serialise)."""
    return Quote.objects.select_for_update().select_related("opportunity").get(pk=quote.pk)


def _write_lines(actor: Actor, quote: Quote, lines: list[QuoteLine]) -> None:
    for position, line in enumerate(lines):
        line.quote, line.workspace, line.position = quote, actor.workspace, position
        line.created_by = line.updated_by = actor.user
    QuoteLine.objects.bulk_create(lines)


def _sync(target: Quote, source: Quote) -> Quote:
    """Copy the stored state into the caller's instance (callers keep using their object)."""
    if target is not source:
        target.__dict__.update({k: v for k, v in source.__dict__.items() if k != "_state"})
        target.__dict__.pop("_prefetched_objects_cache", None)
        target._state.fields_cache.clear()  # related objects (order, contact) are read again
    return target


# --- create, update, delete ----------------------------------------------------------------------


@transaction.atomic
def create_quote(actor: Actor, **values: Any) -> Quote:
    """A new draft (version 1) for an opportunity; without ``lines`` they come from the opportunity."""
    require(actor, "create", Quote.object_type)
    fields, lines = _clean(actor, values)
    lines = lines or []
    quote = Quote(workspace=actor.workspace, created_by=actor.user, updated_by=actor.user, **fields)
    errors: list[FieldError] = []
    _apply_totals(quote, lines, errors)
    if errors:
        raise ValidationFailed(errors)
    quote.number = _next_number(actor.workspace, timezone.localdate())
    quote.save()
    _write_lines(actor, quote, lines)
    after = {k: v for k, v in _audit_values(quote, lines).items() if v not in ("", None, {}, [])}
    record(AuditEntry.Action.CREATE, actor=actor, instance=quote, changes=diff({}, after))
    return quote


@transaction.atomic
def update_quote(actor: Actor, quote: Quote, **values: Any) -> Quote:
    """Change the current draft; ``lines`` (when given) replace all lines. Totals follow."""
    require(actor, "change", Quote.object_type)
    fresh = _lock(quote)
    _editable_or_fail(fresh)
    fields, lines = _clean(actor, values, fresh)
    old_lines = list(fresh.lines.all())
    before = _audit_values(fresh, old_lines)
    for name, value in fields.items():
        setattr(fresh, name, value)
    current = lines if lines is not None else old_lines
    errors: list[FieldError] = []
    _apply_totals(fresh, current, errors)
    if errors:
        raise ValidationFailed(errors)
    if lines is not None:
        fresh.lines.all().delete()
        _write_lines(actor, fresh, lines)
    else:
        QuoteLine.objects.bulk_update(old_lines, ["net_amount", "tax_amount", "gross_amount"])
    changes = diff(before, _audit_values(fresh, current))
    if changes:
        fresh.updated_by = actor.user
        fresh.save()
        record(AuditEntry.Action.UPDATE, actor=actor, instance=fresh, changes=changes)
    return _sync(quote, fresh)


@transaction.atomic
def delete_quote(actor: Actor, quote: Quote) -> None:
    """Delete a draft; deleting a draft revision makes the version before it current again."""
    require(actor, "delete", Quote.object_type)
    fresh = _lock(quote)
    if fresh.status != S.DRAFT:
        raise ValidationFailed(
            [
                _err(
                    "status",
                    _("Only a draft quote can be deleted; it is part of the sales history."),
                    "not_editable",
                )
            ]
        )
    lines = list(fresh.lines.all())
    record(
        AuditEntry.Action.DELETE, actor=actor, instance=fresh, changes=diff(_audit_values(fresh, lines), {})
    )
    was_current = fresh.is_current
    fresh.delete()
    if was_current:
        previous = Quote.objects.filter(number=fresh.number).order_by("-version").first()
        if previous is not None:
            values: dict[str, Any] = {"is_current": True}
            if previous.status == S.SUPERSEDED:  # it was the sent offer this draft replaced
                values["status"] = S.SENT if previous.valid_until >= timezone.localdate() else S.EXPIRED
            before = snapshot(previous)
            Quote.objects.filter(pk=previous.pk).update(**values)
            previous.refresh_from_db()
            record(
                AuditEntry.Action.UPDATE,
                actor=actor,
                instance=previous,
                changes=diff(before, snapshot(previous)),
            )


# --- versions and status ---------------------------------------------------------------------------


@transaction.atomic
def revise(actor: Actor, quote: Quote) -> Quote:
    """Version n+1 of a sent, rejected or expired quote, as a draft with the same lines.

    The revised version becomes read-only history; a sent one is superseded (the customer can no
    longer accept an outdated offer).
    """
    require(actor, "create", Quote.object_type)
    require(actor, "change", Quote.object_type)
    old = _lock(quote)
    if not old.is_current:
        raise ValidationFailed(
            [_err("status", _("Revise the current version of this quote."), "not_current")]
        )
    if old.status == S.DRAFT:
        raise ValidationFailed([_err("status", _("A draft can be edited directly."), "invalid_transition")])
    if old.status == S.ACCEPTED:
        raise ValidationFailed([_err("status", _("An accepted quote is final."), "invalid_transition")])
    old_lines = list(old.lines.all())
    before = snapshot(old)
    Quote.objects.filter(pk=old.pk).update(
        is_current=False, status=S.SUPERSEDED if old.status == S.SENT else old.status, updated_by=actor.user
    )
    old.refresh_from_db()
    record(AuditEntry.Action.UPDATE, actor=actor, instance=old, changes=diff(before, snapshot(old)))
    latest = Quote.objects.filter(number=old.number).aggregate(v=Max("version"))["v"] or old.version
    today = timezone.localdate()
    new = Quote(
        workspace=actor.workspace,
        number=old.number,
        version=latest + 1,
        is_current=True,
        opportunity_id=old.opportunity_id,
        account_id=old.account_id,
        contact_id=old.contact_id,
        status=S.DRAFT,
        currency=old.currency,
        issue_date=today,
        valid_until=today + timedelta(days=VALIDITY_DAYS),
        terms=old.terms,
        notes=old.notes,
        discount_percent=old.discount_percent,
        subtotal=old.subtotal,
        discount_amount=old.discount_amount,
        tax_amount=old.tax_amount,
        total=old.total,
        win_opportunity=old.win_opportunity,
        custom=old.custom,
        owner_id=old.owner_id,
        team_id=old.team_id,
        created_by=actor.user,
        updated_by=actor.user,
    )
    new.save()
    lines = [
        QuoteLine(
            product_id=x.product_id,
            description=x.description,
            quantity=x.quantity,
            unit_price=x.unit_price,
            discount_percent=x.discount_percent,
            tax_rate=x.tax_rate,
            net_amount=x.net_amount,
            tax_amount=x.tax_amount,
            gross_amount=x.gross_amount,
        )
        for x in old_lines
    ]
    _write_lines(actor, new, lines)
    after = {k: v for k, v in _audit_values(new, lines).items() if v not in ("", None, {}, [])}
    record(AuditEntry.Action.CREATE, actor=actor, instance=new, changes=diff({}, after))
    return new


def _set_status(actor: Actor | None, quote: Quote, workspace: Workspace | None = None, **values: Any) -> None:
    before = snapshot(quote)
    for name, value in values.items():
        setattr(quote, name, value)
    if actor is not None:
        quote.updated_by = actor.user
    quote.save()
    record(
        AuditEntry.Action.UPDATE,
        actor=actor,
        workspace=workspace,
        instance=quote,
        changes=diff(before, snapshot(quote)),
        label="" if actor is not None else "scheduler",
    )


@transaction.atomic
def send(actor: Actor, quote: Quote) -> Quote:
    """Mark the current draft as sent to the customer (idempotent for a sent quote)."""
    require(actor, "change", Quote.object_type)
    fresh = _lock(quote)
    if fresh.status == S.SENT:
        return _sync(quote, fresh)
    _editable_or_fail(fresh)
    errors = []
    if not fresh.lines.exists():
        errors.append(_err("lines", _("Add at least one line before sending the quote."), "required"))
    if fresh.valid_until < timezone.localdate():
        errors.append(_err("valid_until", _("The validity date has passed: choose a later one."), "expired"))
    if errors:
        raise ValidationFailed(errors)
    _set_status(actor, fresh, status=S.SENT, sent_at=timezone.now())
    return _sync(quote, fresh)


def _order_values(quote: Quote, lines: list[QuoteLine]) -> dict[str, Any]:
    """The order an accepted quote becomes: its lines at their net amounts, the quote discount, and
    one line per tax rate, so the order's total is the quote's total."""
    order_lines: list[dict[str, Any]] = []
    for line in lines:
        list_amount = cents(line.quantity * line.unit_price)
        order_lines.append(
            {
                "product_id": line.product_id,
                "description": line.description,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                # commerce computes quantity × price − discount, rounded: exactly the quote's net
                "discount": cents(list_amount - line.net_amount),
            }
        )
    totals = totals_of(lines, quote.discount_percent, quote.currency)
    for rate, amount in totals.tax_by_rate(line.tax_rate for line in lines):
        order_lines.append(
            {
                "description": _("Tax %(rate)s%%") % {"rate": f"{rate:f}"},
                "quantity": 1,
                "unit_price": cents(amount),
            }
        )
    return {
        "account_id": quote.account_id,
        "contact_id": quote.contact_id,
        "order_date": timezone.localdate(),
        "status": Order.Status.CONFIRMED,
        "currency": quote.currency,
        "discount": cents(quote.discount_amount),
        "notes": _("From quote %(quote)s") % {"quote": quote},
        "owner_id": quote.owner_id,
        "team_id": quote.team_id,
        "lines": order_lines,
    }


def _prefixed(error: ValidationFailed, prefix: str, message: str) -> ValidationFailed:
    details = [FieldError(f"{prefix}.{d.field}", d.message, d.code) for d in error.details]
    return ValidationFailed(details or [FieldError(prefix, str(error.message), error.code)], message)


@transaction.atomic
def accept(actor: Actor, quote: Quote, *, win_opportunity: bool | None = None) -> Quote:
    """The customer accepted a sent quote: create the confirmed order, supersede the other open
    versions and (``win_opportunity``, default the quote's setting) win the opportunity.

    Idempotent: accepting an accepted quote returns it unchanged (no second order).
    """
    require(actor, "change", Quote.object_type)
    fresh = _lock(quote)
    if fresh.status == S.ACCEPTED:
        return _sync(quote, fresh)
    if fresh.status != S.SENT:
        messages = {
            S.DRAFT: _("Send the quote before it can be accepted."),
            S.EXPIRED: _("The quote has expired; revise it to make a new offer."),
            S.REJECTED: _("The quote was rejected; revise it to make a new offer."),
            S.SUPERSEDED: _("A newer version of this quote exists."),
        }
        raise ValidationFailed([_err("status", messages[fresh.status], "invalid_transition")])
    if fresh.valid_until < timezone.localdate():
        raise ValidationFailed(
            [
                _err(
                    "valid_until",
                    _("The quote expired on %(day)s; revise it.") % {"day": fresh.valid_until},
                    "expired",
                )
            ]
        )
    lines = list(fresh.lines.all())
    try:
        order = commerce.create_order(actor, **_order_values(fresh, lines))
    except ValidationFailed as error:
        raise _prefixed(
            error, "order", _("The order could not be created: %(reason)s") % {"reason": error.message}
        ) from None
    others = Quote.objects.filter(number=fresh.number, status__in=[S.DRAFT, S.SENT]).exclude(pk=fresh.pk)
    for other in others:
        _set_status(actor, other, status=S.SUPERSEDED, is_current=False)
    _set_status(actor, fresh, status=S.ACCEPTED, decided_at=timezone.now(), order=order, is_current=True)
    win = fresh.win_opportunity if win_opportunity is None else win_opportunity
    if win:
        opp = Opportunity.objects.get(pk=fresh.opportunity_id)
        try:
            deals.win(actor, opp)
        except ValidationFailed as error:
            raise _prefixed(
                error,
                "opportunity",
                _("The opportunity cannot be won: %(reason)s") % {"reason": error.message},
            ) from None
    return _sync(quote, fresh)


@transaction.atomic
def reject(actor: Actor, quote: Quote, reason: str) -> Quote:
    """The customer declined a sent quote; ``reason`` is required."""
    require(actor, "change", Quote.object_type)
    fresh = _lock(quote)
    reason = " ".join(str(reason or "").split())[:300]
    if fresh.status == S.REJECTED:
        return _sync(quote, fresh)
    if fresh.status != S.SENT:
        raise ValidationFailed(
            [_err("status", _("Only a sent quote can be rejected."), "invalid_transition")]
        )
    if not reason:
        raise ValidationFailed([_err("reason", _("Give the reason the customer declined."), "required")])
    _set_status(actor, fresh, status=S.REJECTED, decided_at=timezone.now(), rejection_reason=reason)
    return _sync(quote, fresh)


def expire_due(workspace: Workspace, today: date | None = None, batch: int = 500) -> int:
    """Mark the sent quotes whose validity ended before ``today`` expired (the scheduler's job).

    Idempotent; works in batches with one short transaction each, so it never holds many locks.
    """
    today = today or timezone.localdate()
    count = 0
    while True:
        with transaction.atomic():
            due = list(
                Quote.objects.select_for_update(skip_locked=True)
                .filter(workspace=workspace, status=S.SENT, valid_until__lt=today)
                .order_by("valid_until", "id")[:batch]
            )
            for quote in due:
                _set_status(None, quote, workspace=workspace, status=S.EXPIRED, decided_at=timezone.now())
        count += len(due)
        if len(due) < batch:
            return count
