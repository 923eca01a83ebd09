"""The write path of customer analytics: settings, manual lifecycle overrides, recompute requests."""

import re
import time
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.audit.services import create_record, record, update_record
from kehu.core.errors import FieldError, ValidationFailed
from kehu.customers.models import Account
from kehu.workspaces.access import Actor, access_record, require

from .models import (
    AnalyticsRun,
    LifecycleChange,
    LifecycleOverride,
    LifecycleSettings,
    ValueSettings,
    default_tiers,
)

SETTINGS_TYPE = "analytics.settings"
REPORT_TYPE = "analytics.report"
KEY = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
DIMENSIONS = ("value", "potential", "loyalty", "margin")


def lifecycle_settings(workspace) -> LifecycleSettings:
    row = LifecycleSettings.objects.filter(workspace=workspace).first()
    return row or LifecycleSettings(workspace=workspace)


def value_settings(workspace) -> ValueSettings:
    row = ValueSettings.objects.filter(workspace=workspace).first()
    return row or ValueSettings(workspace=workspace)


_TIER_CACHE: dict[int, tuple[float, dict[str, str]]] = {}


def tier_labels(workspace_id: int) -> dict[str, str]:
    """Tier key -> label, cached a minute per process (list cells ask once per row)."""
    now = time.monotonic()
    hit = _TIER_CACHE.get(workspace_id)
    if hit is None or now - hit[0] > 60:
        hit = (now, dict(tiers_of(workspace_id)))
        _TIER_CACHE[workspace_id] = hit
    return hit[1]


def tiers_of(workspace) -> list[tuple[str, str]]:
    """The grade provider installed in ``kehu.customers.grading``: (key, label), highest first."""
    from django_scopes import scopes_disabled

    with scopes_disabled():
        row = ValueSettings.objects.filter(workspace=workspace).only("tiers").first()
    tiers = row.tiers if row else default_tiers()
    return [
        (t["key"], _(t["label"]) if t["key"] in ("strategic", "important", "ordinary") else t["label"])
        for t in tiers
    ]


# --- settings --------------------------------------------------------------------------------------

LIFECYCLE_FIELDS = (
    "new_customer_days",
    "at_risk_factor",
    "at_risk_floor_days",
    "at_risk_ceiling_days",
    "default_interval_days",
    "churn_days",
)
VALUE_FIELDS = (
    "value_months",
    "rfm_method",
    "rfm_bins",
    "grade_method",
    "tiers",
    "weights",
    "potential_source",
    "loyalty_source",
    "cost_per_ticket",
    "cost_per_complaint",
    "cost_per_visit",
    "valuable_share",
    "growth_pct",
)


def _int(errors, field, value, low, high) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        errors.append(FieldError(field, _("Enter a whole number."), "invalid"))
        return None
    if not low <= number <= high:
        errors.append(
            FieldError(
                field,
                _("Enter a number from %(low)s to %(high)s.") % {"low": low, "high": high},
                "out_of_range",
            )
        )
        return None
    return number


def _decimal(errors, field, value, low, high) -> Decimal | None:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        errors.append(FieldError(field, _("Enter a number."), "invalid"))
        return None
    if not (Decimal(low) <= number <= Decimal(high)) or number.is_nan():
        errors.append(
            FieldError(
                field,
                _("Enter a number from %(low)s to %(high)s.") % {"low": low, "high": high},
                "out_of_range",
            )
        )
        return None
    return number


def _clean(values: dict) -> dict:
    """Validate settings values (any subset of the fields); raises ValidationFailed."""
    errors: list[FieldError] = []
    out: dict = {}
    days = {
        "new_customer_days",
        "at_risk_floor_days",
        "at_risk_ceiling_days",
        "default_interval_days",
        "churn_days",
    }
    for name, value in values.items():
        if name in days:
            out[name] = _int(errors, name, value, 1, 3650)
        elif name == "at_risk_factor":
            out[name] = _decimal(errors, name, value, "0.5", "20")
        elif name == "value_months":
            out[name] = _int(errors, name, value, 1, 120)
        elif name in ("valuable_share", "growth_pct"):
            out[name] = _int(errors, name, value, 1, 100 if name == "valuable_share" else 1000)
        elif name.startswith("cost_per_"):
            out[name] = _decimal(errors, name, value, "0", "1000000")
        elif name == "rfm_method":
            out[name] = value if value in ValueSettings.RfmMethod.values else None
        elif name == "grade_method":
            out[name] = value if value in ValueSettings.GradeMethod.values else None
        elif name == "potential_source":
            out[name] = value if value in ValueSettings.Potential.values else None
        elif name == "loyalty_source":
            out[name] = value if value in ValueSettings.Loyalty.values else None
        elif name == "rfm_bins":
            out[name] = _bins(errors, value)
        elif name == "tiers":
            out[name] = _tiers(errors, value)
        elif name == "weights":
            out[name] = _weights(errors, value)
        else:
            errors.append(FieldError(name, _("Unknown setting."), "unknown"))
        if out.get(name, 0) is None and not any(e.field == name for e in errors):
            errors.append(FieldError(name, _("Choose a valid option."), "invalid_choice"))
    if errors:
        raise ValidationFailed(errors)
    return out


def _bins(errors, value) -> dict | None:
    if not isinstance(value, dict) or set(value) != {"r", "f", "m"}:
        errors.append(FieldError("rfm_bins", _("Give the edges of r, f and m."), "invalid"))
        return None
    out = {}
    for key, edges in value.items():
        try:
            numbers = [float(x) for x in edges]
        except (TypeError, ValueError):
            numbers = []
        if len(numbers) != 4 or numbers != sorted(numbers):
            errors.append(FieldError(f"rfm_bins.{key}", _("Give 4 ascending upper edges."), "invalid"))
            return None
        out[key] = numbers
    return out


def _tiers(errors, value) -> list | None:
    if not isinstance(value, list) or not 2 <= len(value) <= 10:
        errors.append(FieldError("tiers", _("Give 2 to 10 tiers, highest first."), "invalid"))
        return None
    out, keys = [], set()
    for i, tier in enumerate(value):
        key = str((tier or {}).get("key", "")).strip()
        label = str((tier or {}).get("label", "")).strip()[:60]
        if not KEY.match(key) or key in keys:
            errors.append(
                FieldError(
                    f"tiers.{i}.key", _("Use a unique key of lowercase letters, digits and _."), "invalid"
                )
            )
            return None
        keys.add(key)
        try:
            min_score, share = float(tier.get("min_score") or 0), float(tier.get("share") or 0)
        except (TypeError, ValueError):
            errors.append(FieldError(f"tiers.{i}", _("Enter numbers."), "invalid"))
            return None
        out.append({"key": key, "label": label or key, "min_score": min_score, "share": share})
    scores = [t["min_score"] for t in out[:-1]]
    if scores != sorted(scores, reverse=True):
        errors.append(
            FieldError("tiers", _("Minimum scores must fall from the highest tier down."), "invalid")
        )
    if sum(t["share"] for t in out[:-1]) > 100:
        errors.append(FieldError("tiers", _("The shares add up to more than 100%."), "invalid"))
    return out


def _weights(errors, value) -> dict | None:
    if not isinstance(value, dict) or not set(value) <= set(DIMENSIONS):
        errors.append(FieldError("weights", _("Weights of value, potential, loyalty and margin."), "invalid"))
        return None
    try:
        out = {k: float(v) for k, v in value.items()}
    except (TypeError, ValueError):
        errors.append(FieldError("weights", _("Enter numbers."), "invalid"))
        return None
    if any(v < 0 for v in out.values()) or not any(v > 0 for v in out.values()):
        errors.append(FieldError("weights", _("At least one weight above 0, none below."), "invalid"))
        return None
    return out


@transaction.atomic
def update_settings(actor: Actor, values: dict) -> tuple[LifecycleSettings, ValueSettings]:
    """Change any of the lifecycle and value settings (audited)."""
    require(actor, "change", SETTINGS_TYPE)
    clean = _clean(values)
    _TIER_CACHE.pop(actor.workspace.pk, None)
    life, value = lifecycle_settings(actor.workspace), value_settings(actor.workspace)
    merged_floor = clean.get("at_risk_floor_days", life.at_risk_floor_days)
    merged_ceiling = clean.get("at_risk_ceiling_days", life.at_risk_ceiling_days)
    if merged_floor > merged_ceiling:
        raise ValidationFailed(
            [FieldError("at_risk_floor_days", _("The floor is above the ceiling."), "invalid")]
        )
    for row, fields in ((life, LIFECYCLE_FIELDS), (value, VALUE_FIELDS)):
        changes = {k: v for k, v in clean.items() if k in fields}
        if row.pk is None:
            for k, v in changes.items():
                setattr(row, k, v)
            row.created_by = row.updated_by = actor.user
            create_record(actor, row)
        elif changes:
            update_record(actor, row, changes)
    return life, value


# --- lifecycle override ----------------------------------------------------------------------------


@transaction.atomic
def set_override(actor: Actor, account_id: int, stage: str, reason: str) -> LifecycleOverride:
    """Set an account's lifecycle stage by hand; it stays until ``clear_override``."""
    account = access_record(actor, Account.objects.select_for_update(), account_id, "change")
    reason = (reason or "").strip()
    errors = []
    if stage not in Account.Lifecycle.values:
        errors.append(FieldError("stage", _("Choose a lifecycle stage."), "invalid_choice"))
    if not reason:
        errors.append(FieldError("reason", _("Say why the stage is set by hand."), "required"))
    if errors:
        raise ValidationFailed(errors)
    override = LifecycleOverride.objects.filter(account=account).first()
    if override is None:
        override = LifecycleOverride(
            workspace=actor.workspace,
            account=account,
            stage=stage,
            reason=reason,
            user=actor.user,
            created_by=actor.user,
            updated_by=actor.user,
        )
        create_record(actor, override)
    else:
        update_record(actor, override, {"stage": stage, "reason": reason, "user": actor.user})
    _set_stage(actor, account, stage, reason, manual=True)
    return override


@transaction.atomic
def clear_override(actor: Actor, account_id: int) -> None:
    """Remove the manual stage: the derived stage (from the last computation) applies again."""
    from .models import CustomerScore

    account = access_record(actor, Account.objects.select_for_update(), account_id, "change")
    override = LifecycleOverride.objects.filter(account=account).first()
    if override is None:
        return
    record("delete", actor=actor, instance=override, changes={"stage": [override.stage, None]})
    override.delete()
    score = CustomerScore.objects.filter(account=account).first()
    derived = score.derived_stage if score else ""
    _set_stage(actor, account, derived, _("Manual stage cleared"), manual=True)


def _set_stage(actor: Actor, account: Account, stage: str, reason: str, *, manual: bool) -> None:
    if account.lifecycle_stage == stage:
        return
    now = timezone.now()
    LifecycleChange.objects.create(
        workspace=actor.workspace,
        account=account,
        from_stage=account.lifecycle_stage,
        to_stage=stage,
        at=now,
        as_of=timezone.localdate(),
        reason=reason,
        manual=manual,
        user=actor.user,
        created_by=actor.user,
        updated_by=actor.user,
    )
    Account.objects.filter(pk=account.pk).update(lifecycle_stage=stage)
    record(
        "update", actor=actor, instance=account, changes={"lifecycle_stage": [account.lifecycle_stage, stage]}
    )
    account.lifecycle_stage = stage


# --- recompute -------------------------------------------------------------------------------------


def request_recompute(actor: Actor, kind: str = "full") -> str:
    """Enqueue a recompute of the actor's workspace; returns the task result id."""
    from .tasks import recompute

    require(actor, "change", SETTINGS_TYPE)
    if kind not in AnalyticsRun.Kind.values:
        raise ValidationFailed([FieldError("kind", _("full or incremental"), "invalid_choice")])
    result = recompute.enqueue(actor.workspace.pk, kind, timezone.now().isoformat())
    record("update", actor=actor, object_type=SETTINGS_TYPE, changes={"recompute": [None, kind]})
    return str(result.id)


def last_run(workspace=None, kind: str | None = None) -> AnalyticsRun | None:
    qs = AnalyticsRun.objects.filter(status="done")
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-started_at", "-pk").first()
