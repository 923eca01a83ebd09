"""Matching rules: the defaults every workspace starts with, and the admin's changes to them."""

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.audit.services import create_record, delete_record, update_record
from kehu.core.errors import FieldError, ValidationFailed
from kehu.workspaces.access import Actor, require_manager

from .matcher import FEATURES, Rule
from .models import MatchRule
from .registry import TYPES

PERSON_FUZZY = [
    {"field": "name", "weight": 6, "min": 0.8, "required": True},
    {"field": "company", "weight": 3},
    {"field": "city", "weight": 2},
]
EXACT_CONTACT_POINTS = [
    (gettext_lazy("Same email"), [{"field": "email"}]),
    (gettext_lazy("Same phone"), [{"field": "phone"}]),
]
DEFAULTS: dict[str, list[tuple[Any, str, list[dict], int]]] = {
    "customers.contact": [
        *[(name, "exact", fields, 100) for name, fields in EXACT_CONTACT_POINTS],
        (gettext_lazy("Similar name, company and city"), "fuzzy", PERSON_FUZZY, 85),
    ],
    "leads.lead": [
        *[(name, "exact", fields, 100) for name, fields in EXACT_CONTACT_POINTS],
        (gettext_lazy("Similar name, company and city"), "fuzzy", PERSON_FUZZY, 85),
    ],
    "customers.account": [
        *[(name, "exact", fields, 100) for name, fields in EXACT_CONTACT_POINTS],
        (
            gettext_lazy("Similar name and city"),
            "fuzzy",
            [
                {"field": "name", "weight": 7, "min": 0.85, "required": True},
                {"field": "city", "weight": 2},
                {"field": "address", "weight": 1},
            ],
            88,
        ),
    ],
}


def ensure_defaults(workspace, object_type: str) -> None:
    """Create the default rules of a type the first time a workspace needs them."""
    if MatchRule.objects.filter(object_type=object_type).exists():
        return
    MatchRule.objects.bulk_create(
        [
            MatchRule(
                workspace=workspace,
                object_type=object_type,
                name=str(name),
                kind=kind,
                fields=fields,
                threshold=threshold,
                position=i,
            )
            for i, (name, kind, fields, threshold) in enumerate(DEFAULTS.get(object_type, []))
        ]
    )


def rules_of(workspace, object_type: str, *, active_only: bool = True) -> list[MatchRule]:
    ensure_defaults(workspace, object_type)
    qs = MatchRule.objects.filter(object_type=object_type).order_by("position", "id")
    return list(qs.filter(is_active=True) if active_only else qs)


def active_rules(workspace, object_type: str) -> list[Rule]:
    return [Rule.from_dict(_as_dict(r)) for r in rules_of(workspace, object_type)]


def _as_dict(rule: MatchRule) -> dict:
    return {
        "name": rule.name,
        "kind": rule.kind,
        "fields": rule.fields,
        "threshold": rule.threshold,
        "action": rule.action,
    }


def _clean(values: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    errors: list[FieldError] = []
    cleaned = dict(values)
    if "object_type" in cleaned and cleaned["object_type"] not in TYPES:
        errors.append(FieldError("object_type", _("Choose one of: %s.") % ", ".join(TYPES), "invalid_choice"))
    if creating or "name" in cleaned:
        cleaned["name"] = " ".join(str(cleaned.get("name") or "").split())
        if not cleaned["name"]:
            errors.append(FieldError("name", _("This field is required."), "required"))
    if "kind" in cleaned and cleaned["kind"] not in MatchRule.Kind.values:
        errors.append(FieldError("kind", _("Choose one of: %s.") % "exact, fuzzy", "invalid_choice"))
    if "action" in cleaned and cleaned["action"] not in MatchRule.Action.values:
        errors.append(FieldError("action", _("Choose one of: %s.") % "warn, block", "invalid_choice"))
    if "threshold" in cleaned and not 1 <= int(cleaned["threshold"]) <= 100:
        errors.append(FieldError("threshold", _("Give a number from 1 to 100.")))
    if creating or "fields" in cleaned:
        items = cleaned.get("fields") or []
        if not items:
            errors.append(FieldError("fields", _("Give at least one field."), "required"))
        clean_items = []
        for i, item in enumerate(items):
            name = str(item.get("field") or "")
            if name not in FEATURES and not (name.startswith("custom.") and len(name) > 7):
                errors.append(
                    FieldError(
                        f"fields.{i}.field",
                        _("Use one of %(fields)s or custom.<key>.") % {"fields": ", ".join(FEATURES)},
                    )
                )
                continue
            try:
                weight, minimum = float(item.get("weight", 1)), float(item.get("min", 0))
            except (TypeError, ValueError):
                weight, minimum = -1.0, -1.0
            if not (0 < weight <= 100 and 0 <= minimum <= 1):
                errors.append(FieldError(f"fields.{i}.weight", _("Weights are above 0; minimums 0 to 1.")))
                continue
            clean_items.append(
                {"field": name, "weight": weight, "min": minimum, "required": bool(item.get("required"))}
            )
        cleaned["fields"] = clean_items
    if errors:
        raise ValidationFailed(errors)
    return cleaned


@transaction.atomic
def create_rule(actor: Actor, **values: Any) -> MatchRule:
    require_manager(actor)
    cleaned = _clean(values, creating=True)
    ensure_defaults(actor.workspace, cleaned["object_type"])
    if "position" not in cleaned:
        cleaned["position"] = MatchRule.objects.filter(object_type=cleaned["object_type"]).count()
    return create_record(actor, MatchRule(**cleaned))


@transaction.atomic
def update_rule(actor: Actor, rule: MatchRule, **values: Any) -> MatchRule:
    require_manager(actor)
    values.pop("object_type", None)
    update_record(actor, rule, _clean(values, creating=False))
    return rule


@transaction.atomic
def delete_rule(actor: Actor, rule: MatchRule) -> None:
    """Delete a rule. (When a type has no rules left, the defaults come back: deactivate instead.)"""
    require_manager(actor)
    delete_record(actor, rule)
