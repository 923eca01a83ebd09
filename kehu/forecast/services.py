"""Setting sales targets (quotas): one at a time, or a whole quarter's grid of users × months.

Who may set them: whoever may change ``forecast.salestarget`` with the team or all scope
(administrators; managers for the people and teams they manage). A rep with the "own" scope sees
their own quota but cannot set it.
"""

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from kehu.audit.services import create_record, delete_record, update_record
from kehu.commerce.money import cents, to_decimal
from kehu.core.errors import FieldError, PermissionDenied, ValidationFailed
from kehu.workspaces.access import Actor
from kehu.workspaces.models import Membership, Team

from .models import SalesTarget
from .periods import Period, parse_period

OT = SalesTarget.object_type
MAX_AMOUNT = Decimal("99999999999999.99")
MAX_GRID_ITEMS = 1000


def can_set_targets(actor: Actor) -> bool:
    return actor.can("change", OT) and actor.grant(OT).scope in ("team", "all")


def _may_manage(actor: Actor, owner_id: int | None, team_id: int | None) -> bool:
    """Is the user/team within the actor's scope (all; or their own teams and teammates)?"""
    if actor.grant(OT).scope == "all":
        return True
    if owner_id:
        return owner_id == actor.user.pk or owner_id in actor.teammate_ids
    return team_id in actor.team_ids


def _require_setter(actor: Actor) -> None:
    if not can_set_targets(actor):
        raise PermissionDenied(_("Only administrators and managers can set sales targets."))


def clean_amount(value: Any, field: str = "amount") -> Decimal:
    amount = to_decimal(value)
    if amount is None:
        raise ValidationFailed([FieldError(field, _("Enter an amount."), "invalid")])
    if amount < 0:
        raise ValidationFailed([FieldError(field, _("The amount cannot be negative."), "min_value")])
    if amount > MAX_AMOUNT:
        raise ValidationFailed([FieldError(field, _("The amount is too large."), "max_value")])
    return cents(amount)


def _subject(actor: Actor, owner_id: Any, team_id: Any) -> tuple[int | None, int | None]:
    """Check that exactly one of user/team is given, is in the workspace and in the actor's scope."""
    if bool(owner_id) == bool(team_id):
        raise ValidationFailed([FieldError("owner_id", _("Give either a user or a team."), "invalid")])
    if owner_id:
        if not Membership.objects.filter(user_id=owner_id, is_active=True).exists():
            raise ValidationFailed([FieldError("owner_id", _("Unknown member."), "invalid")])
    elif not Team.objects.filter(pk=team_id).exists():
        raise ValidationFailed([FieldError("team_id", _("Unknown team."), "invalid")])
    if not _may_manage(actor, owner_id or None, team_id or None):
        raise PermissionDenied(_("You can set targets only for the people and teams you manage."))
    return owner_id or None, team_id or None


def _period(actor: Actor, value: Any) -> Period:
    if not value:
        raise ValidationFailed([FieldError("period", _("This field is required."), "required")])
    return parse_period(str(value), actor.workspace)


def _write(
    actor: Actor, owner_id: int | None, team_id: int | None, chosen: Period, amount: Decimal | None
) -> tuple[SalesTarget | None, str]:
    """Create, change or (amount None) remove one target; answers the target and what was done."""
    existing = (
        SalesTarget.objects.select_for_update()
        .filter(owner_id=owner_id, team_id=team_id, period=chosen.kind, start_date=chosen.start)
        .first()
    )
    if amount is None:
        if existing is None:
            return None, ""
        delete_record(actor, existing)
        return None, "deleted"
    if existing is not None:
        return existing, "updated" if update_record(actor, existing, {"amount": amount}) else ""
    target = SalesTarget(
        owner_id=owner_id,
        team_id=team_id,
        period=chosen.kind,
        start_date=chosen.start,
        end_date=chosen.end,
        amount=amount,
    )
    return create_record(actor, target), "created"


@transaction.atomic
def set_target(
    actor: Actor, *, period: str, amount: Any, owner_id: int | None = None, team_id: int | None = None
) -> SalesTarget:
    """Create or change the target of a user or team for a month (``2026-11``) or quarter (``2026-Q4``)."""
    _require_setter(actor)
    owner_id, team_id = _subject(actor, owner_id, team_id)
    chosen = _period(actor, period)
    target, _action = _write(actor, owner_id, team_id, chosen, clean_amount(amount))
    assert target is not None  # an amount was given: created or kept
    return target


@transaction.atomic
def update_target(actor: Actor, target: SalesTarget, *, amount: Any) -> SalesTarget:
    _require_setter(actor)
    if not _may_manage(actor, target.owner_id, target.team_id):
        raise PermissionDenied(_("You can set targets only for the people and teams you manage."))
    update_record(actor, target, {"amount": clean_amount(amount)})
    return target


@transaction.atomic
def delete_target(actor: Actor, target: SalesTarget) -> None:
    _require_setter(actor)
    if not _may_manage(actor, target.owner_id, target.team_id):
        raise PermissionDenied(_("You can set targets only for the people and teams you manage."))
    delete_record(actor, target)


@transaction.atomic
def set_targets(actor: Actor, items: list[dict]) -> dict[str, int]:
    """Many targets at once, all or nothing: ``[{owner_id | team_id, period, amount}]``; an amount of
    ``None`` removes that target. Errors name the item: ``items.<i>.<field>``."""
    _require_setter(actor)
    if len(items) > MAX_GRID_ITEMS:
        raise ValidationFailed(
            [FieldError("items", _("Send at most %(n)s items.") % {"n": MAX_GRID_ITEMS}, "max_items")]
        )
    errors: list[FieldError] = []
    plans = []
    for index, item in enumerate(items):
        try:
            owner_id, team_id = _subject(actor, item.get("owner_id"), item.get("team_id"))
            chosen = _period(actor, item.get("period"))
            amount = None if item.get("amount") in (None, "") else clean_amount(item["amount"])
        except ValidationFailed as failed:
            errors += [FieldError(f"items.{index}.{d.field}", d.message, d.code) for d in failed.details]
            continue
        plans.append((owner_id, team_id, chosen, amount))
    if errors:
        raise ValidationFailed(errors)
    counts = {"created": 0, "updated": 0, "deleted": 0}
    for owner_id, team_id, chosen, amount in plans:
        _target, action = _write(actor, owner_id, team_id, chosen, amount)
        if action:
            counts[action] += 1
    return counts
