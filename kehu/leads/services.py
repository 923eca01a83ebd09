"""Writes on leads: capture (UI, API, bulk, public web forms), duplicate check, assignment, conversion.

Every write path comes through here, so the rules hold everywhere: names get their pinyin, phones
become E.164 in the workspace's region, emails are lower-cased, every bad field is reported at once
(``ValidationFailed``), each write is audited, and ``signals.lead_saved`` is sent afterwards so the
scoring app can react without this app knowing it.
"""

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.crypto import get_random_string
from django.utils.translation import gettext as _

from kehu.activities.models import Activity, ActivityLink, Comment, Notification, Task
from kehu.activities.services import notify, record_system_activity
from kehu.audit.models import AuditEntry
from kehu.audit.services import create_record, delete_record, record, update_record
from kehu.core.errors import Conflict, FieldError, ValidationFailed
from kehu.core.normalize import normalize_email, normalize_phone
from kehu.customers import services as customer_services
from kehu.customers.models import Account, Contact
from kehu.customers.normalize import pinyin_keys
from kehu.customfields.queries import definitions, remembered_definitions
from kehu.customfields.services import clean_custom_values
from kehu.workspaces.access import Actor, access_record, require, require_manager
from kehu.workspaces.models import Membership, Team

from .duplicates import find_lead_duplicates
from .models import AssignmentRule, AssignmentState, Lead, LeadDuplicate, WebForm
from .signals import lead_saved

TEXT_FIELDS = (
    "name",
    "name_en",
    "title",
    "company",
    "country",
    "province",
    "city",
    "industry",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "disqualified_reason",
)
LEAD_FIELDS = {
    *TEXT_FIELDS,
    "email",
    "phone",
    "website",
    "size",
    "source",
    "status",
    "description",
    "owner_id",
    "team_id",
    "custom",
}
MAX_BULK = 1000
DEFAULT_SLA_HOURS = 24


# --- validation ------------------------------------------------------------------------------------


def _max_length(name: str) -> int | None:
    return Lead._meta.get_field(name).max_length


def clean_lead_values(
    workspace, values: dict[str, Any], *, actor: Actor | None, creating: bool, instance: Lead | None = None
) -> dict[str, Any]:
    """Normalise and validate lead fields; raise ValidationFailed listing every bad field.

    ``actor`` is None for public web-form submissions: they carry no custom fields.
    """
    errors: list[FieldError] = []
    unknown = sorted(set(values) - LEAD_FIELDS)
    errors += [FieldError(name, _("Unknown field."), "extra_forbidden") for name in unknown]
    cleaned = {k: v for k, v in values.items() if k in LEAD_FIELDS}

    def fail(name: str, message: str, code: str = "invalid") -> None:
        errors.append(FieldError(name, message, code))

    for name in TEXT_FIELDS:
        if name in cleaned:
            cleaned[name] = " ".join(str(cleaned[name] or "").split())
            limit = _max_length(name)
            if limit and len(cleaned[name]) > limit:
                fail(name, _("Must have at most %(n)s characters.") % {"n": limit}, "string_too_long")
    if "description" in cleaned:
        cleaned["description"] = str(cleaned["description"] or "").strip()
    if "name" in cleaned or creating:
        cleaned["name"] = cleaned.get("name") or ""
        if not cleaned["name"]:
            fail("name", _("This field is required."), "required")
        else:
            cleaned["name_pinyin"], cleaned["name_initials"] = pinyin_keys(cleaned["name"])
    region = workspace.default_region
    for name, normalize in (("phone", lambda v: normalize_phone(v, region)), ("email", normalize_email)):
        if cleaned.get(name):
            try:
                cleaned[name] = normalize(str(cleaned[name]))
            except ValueError as exc:
                fail(name, str(exc))
        elif name in cleaned:
            cleaned[name] = ""
    if cleaned.get("website"):
        website = str(cleaned["website"]).strip()
        if "://" not in website:
            website = f"https://{website}"
        try:
            URLValidator(schemes=["http", "https"])(website)
            if len(website) > 200:
                raise ValidationError("too long")
        except ValidationError:
            fail("website", _("Enter a web address, e.g. https://www.example.com."))
        cleaned["website"] = website
    elif "website" in cleaned:
        cleaned["website"] = ""
    for name, choices in (
        ("size", Lead.Size.values),
        ("source", Lead.Source.values),
        ("status", Lead.Status.values),
    ):
        if cleaned.get(name) and cleaned[name] not in choices:
            fail(name, _("Choose one of: %s.") % ", ".join(choices), "invalid_choice")
        elif name in cleaned and not cleaned[name] and name != "size":
            cleaned.pop(name)  # blank status/source: keep the default (or the current value)
    if cleaned.get("country"):
        cleaned["country"] = cleaned["country"].upper()
        if cleaned["country"] not in phonenumbers.SUPPORTED_REGIONS:
            fail("country", _("Use a two-letter ISO 3166 country code, e.g. CN."))
    status = cleaned.get("status", instance.status if instance else Lead.Status.NEW)
    if status == Lead.Status.DISQUALIFIED:
        reason = cleaned.get("disqualified_reason", instance.disqualified_reason if instance else "")
        if not reason:
            fail("disqualified_reason", _("Say why the lead is disqualified."), "required")
    elif "status" in cleaned:
        cleaned["disqualified_reason"] = ""
    if (
        cleaned.get("owner_id") is not None
        and not Membership.objects.filter(user_id=cleaned["owner_id"], is_active=True).exists()
    ):
        fail("owner_id", _("The owner must be an active member of this workspace."))
    if cleaned.get("team_id") is not None and not Team.objects.filter(pk=cleaned["team_id"]).exists():
        fail("team_id", _("Unknown team."))
    if actor is not None and ("custom" in cleaned or creating):
        try:
            cleaned["custom"] = clean_custom_values(
                actor, Lead.object_type, cleaned.get("custom"), instance=instance, partial=not creating
            )
        except ValidationFailed as failed:
            errors.extend(failed.details)
    elif actor is None:
        cleaned.pop("custom", None)
    if errors:
        raise ValidationFailed(errors)
    return cleaned


# --- create, change, delete ------------------------------------------------------------------------


def _flag_duplicates(lead: Lead) -> list[LeadDuplicate]:
    matches = find_lead_duplicates(lead.workspace, _fields_of(lead), exclude_lead_id=lead.pk)
    rows = [
        LeadDuplicate(
            workspace_id=lead.workspace_id,
            lead=lead,
            other_lead_id=m.lead_id,
            other_contact_id=m.contact_id,
            reason=m.reason,
            similarity=m.similarity,
        )
        for m in matches
    ]
    return LeadDuplicate.objects.bulk_create(rows)


def _fields_of(lead: Lead) -> dict[str, Any]:
    return {
        "name": lead.name,
        "name_en": lead.name_en,
        "company": lead.company,
        "city": lead.city,
        "email": lead.email,
        "phone": lead.phone,
        "custom": lead.custom,
    }


def _after_create(lead: Lead, actor: Actor | None, *, assign: bool, log=None) -> Lead:
    """Duplicate check, assignment, then ``log(lead)`` (a first timeline entry, written once the
    owner is known so the entry is theirs), then ``lead_saved``."""
    _flag_duplicates(lead)
    if assign:
        run_assignment(lead, actor=actor)
    if log is not None:
        log(lead)
    lead_saved.send(sender=Lead, lead=lead, actor=actor, created=True, timeline=log is not None)
    return lead


def _default_owner(actor: Actor, values: dict[str, Any], assign: bool | None) -> bool:
    """Without an owner the lead is the actor's and the assignment rules run (unless ``assign`` says)."""
    if assign is None:
        assign = values.get("owner_id") is None
    if values.get("owner_id") is None:
        values["owner_id"] = actor.user.pk
    return assign


@transaction.atomic
def create_lead(actor: Actor, *, assign: bool | None = None, **values: Any) -> Lead:
    """A new lead; the assignment rules run unless an owner is given (or ``assign`` says otherwise)."""
    require(actor, "create", Lead.object_type)
    assign = _default_owner(actor, values, assign)
    cleaned = clean_lead_values(actor.workspace, values, actor=actor, creating=True)
    lead = create_record(actor, Lead(**cleaned))
    return _after_create(lead, actor, assign=assign)


@transaction.atomic
def update_lead(actor: Actor, lead: Lead, **values: Any) -> Lead:
    require(actor, "change", Lead.object_type)
    cleaned = clean_lead_values(actor.workspace, values, actor=actor, creating=False, instance=lead)
    if lead.is_converted and cleaned.get("status", lead.status) != lead.status:
        raise Conflict(_("A converted lead keeps its status."))
    update_record(actor, lead, cleaned)
    lead_saved.send(sender=Lead, lead=lead, actor=actor, created=False)
    return lead


@transaction.atomic
def delete_lead(actor: Actor, lead: Lead) -> None:
    require(actor, "delete", Lead.object_type)
    delete_record(actor, lead)


@transaction.atomic
def bulk_create_leads(actor: Actor, items: list[dict]) -> list[Lead]:
    """Up to 1,000 leads (each as ``create_lead`` takes it), all or none; errors as ``items.<i>.<field>``.

    Each lead gets the duplicate check and the assignment rules like a single create.
    """
    require(actor, "create", Lead.object_type)
    if not items:
        raise ValidationFailed([FieldError("items", _("Send at least one record."), "required")])
    if len(items) > MAX_BULK:
        raise ValidationFailed(
            [FieldError("items", _("At most %d records per call.") % MAX_BULK, "too_many")]
        )
    errors: list[FieldError] = []
    prepared: list[tuple[dict, bool]] = []
    with remembered_definitions():
        for i, item in enumerate(items):
            values = dict(item)
            assign = _default_owner(actor, values, values.pop("assign", None))
            try:
                prepared.append(
                    (clean_lead_values(actor.workspace, values, actor=actor, creating=True), assign)
                )
            except ValidationFailed as failed:
                errors += [FieldError(f"items.{i}.{d.field}", d.message, d.code) for d in failed.details]
    if errors:
        raise ValidationFailed(errors)
    leads = []
    for cleaned, assign in prepared:
        lead = create_record(actor, Lead(**cleaned))
        leads.append(_after_create(lead, actor, assign=assign))
    return leads


# --- duplicates: merge or keep ---------------------------------------------------------------------


@transaction.atomic
def keep_both(actor: Actor, lead: Lead) -> int:
    """The user looked at the flagged duplicates and keeps this lead: the flags are dismissed."""
    require(actor, "change", Lead.object_type)
    count = LeadDuplicate.objects.filter(lead=lead, dismissed_at__isnull=True).update(
        dismissed_at=timezone.now()
    )
    record(AuditEntry.Action.UPDATE, actor=actor, instance=lead, changes={"duplicates": ["flagged", "kept"]})
    return count


MERGE_FIELDS = (
    "name_en",
    "title",
    "company",
    "email",
    "phone",
    "website",
    "country",
    "province",
    "city",
    "industry",
    "size",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "description",
)


@transaction.atomic
def merge_lead(actor: Actor, lead: Lead, into: Lead) -> Lead:
    """Merge ``lead`` into the existing lead ``into``: blanks of ``into`` are filled from ``lead``, the
    timeline, tasks and comments move over, and ``lead`` is deleted. Both must be unconverted."""
    require(actor, "change", Lead.object_type)
    require(actor, "delete", Lead.object_type)
    if lead.pk == into.pk:
        raise Conflict(_("A lead cannot be merged into itself."))
    if lead.is_converted or into.is_converted:
        raise Conflict(_("Converted leads cannot be merged."))
    filled = {
        name: getattr(lead, name) for name in MERGE_FIELDS if not getattr(into, name) and getattr(lead, name)
    }
    custom = {**lead.custom, **into.custom}
    if custom != into.custom:
        filled["custom"] = custom
    update_record(actor, into, filled)
    _copy_links(lead, [(Lead.object_type, into.pk)])
    Task.objects.filter(record_type=Lead.object_type, record_id=lead.pk).update(record_id=into.pk)
    Comment.objects.filter(record_type=Lead.object_type, record_id=lead.pk).update(record_id=into.pk)
    record(AuditEntry.Action.UPDATE, actor=actor, instance=into, changes={"merged_lead": [None, lead.pk]})
    delete_record(actor, lead)
    lead_saved.send(sender=Lead, lead=into, actor=actor, created=False)
    return into


def _copy_links(lead: Lead, targets: list[tuple[str, int]]) -> int:
    """Link every activity of the lead's timeline also to ``targets`` (the lead keeps its links)."""
    links = list(
        ActivityLink.objects.filter(object_type=Lead.object_type, object_id=lead.pk).values(
            "activity_id", "occurred_at", "kind"
        )
    )
    rows = [
        ActivityLink(workspace_id=lead.workspace_id, object_type=t, object_id=pk, **link)
        for link in links
        for t, pk in targets
    ]
    ActivityLink.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    return len(links)


# --- assignment rules ------------------------------------------------------------------------------


def _lead_value(lead: Lead, name: str) -> Any:
    if name.startswith("custom."):
        return (lead.custom or {}).get(name.removeprefix("custom."))
    return getattr(lead, name, None)


def _norm(value: Any) -> str:
    return " ".join(str(value).split()).casefold() if value is not None else ""


def rule_matches(rule: AssignmentRule, lead: Lead) -> bool:
    """Every condition of the rule holds for the lead (a rule without conditions matches all)."""
    for condition in rule.conditions or []:
        actual = _lead_value(lead, condition.get("field", ""))
        wanted = condition.get("value")
        values = wanted if isinstance(wanted, list) else [wanted]
        actual_values = actual if isinstance(actual, list) else [actual]
        actual_set = {_norm(v) for v in actual_values if v not in (None, "")}
        if not actual_set & {_norm(v) for v in values}:
            return False
    return True


def _team_weights(rule: AssignmentRule) -> dict[int, int]:
    """Active members of the rule's team with their weight (0 = left out), by user id."""
    if rule.team_id is None:
        return {}
    members = Membership.objects.filter(
        is_active=True,
        user_id__in=Team.members.through.objects.filter(team_id=rule.team_id).values("user_id"),
    ).values_list("user_id", flat=True)
    weights = {}
    for user_id in sorted(members):
        try:
            weight = int((rule.weights or {}).get(str(user_id), 1))
        except (TypeError, ValueError):
            weight = 1
        if weight > 0:
            weights[user_id] = weight
    return weights


def _pick_from_team(rule: AssignmentRule) -> int | None:
    """The next member by smooth weighted round-robin, skipping members at today's cap.

    The rule row is locked first (``select_for_update`` on PostgreSQL; SQLite serialises writers),
    so concurrent lead creations read and advance the state one after the other.
    """
    AssignmentRule.objects.select_for_update().filter(pk=rule.pk).values_list("pk", flat=True).first()
    weights = _team_weights(rule)
    if not weights:
        return None
    today = timezone.localdate()
    states = {s.user_id: s for s in AssignmentState.objects.select_for_update().filter(rule=rule)}
    for user_id in weights:
        if user_id not in states:
            states[user_id] = AssignmentState.objects.create(
                workspace_id=rule.workspace_id, rule=rule, user_id=user_id
            )
    eligible = []
    for user_id, weight in weights.items():
        state = states[user_id]
        if state.day != today:
            state.day, state.day_count = today, 0
        if rule.daily_cap is None or state.day_count < rule.daily_cap:
            eligible.append((user_id, weight))
    if not eligible:
        return None
    total = sum(w for _u, w in eligible)
    for user_id, weight in eligible:
        states[user_id].current += weight
    chosen = max(eligible, key=lambda uw: (states[uw[0]].current, -uw[0]))[0]
    states[chosen].current -= total
    states[chosen].day_count += 1
    states[chosen].total += 1
    AssignmentState.objects.bulk_update(
        [states[u] for u, _w in eligible], ["current", "day", "day_count", "total"]
    )
    return chosen


def choose_owner(lead: Lead) -> tuple[AssignmentRule | None, int | None]:
    """The first active rule (by position) that matches the lead and can name an owner."""
    for rule in AssignmentRule.objects.filter(is_active=True).order_by("position", "id"):
        if not rule_matches(rule, lead):
            continue
        if rule.user_id is not None:
            if Membership.objects.filter(user_id=rule.user_id, is_active=True).exists():
                return rule, rule.user_id
            continue
        owner = _pick_from_team(rule)
        if owner is not None:
            return rule, owner
    return None, None


def run_assignment(lead: Lead, *, actor: Actor | None = None) -> AssignmentRule | None:
    """Assign the lead by the rules: owner (and team), a notification and a first-contact task.

    Returns the rule that assigned it, or None when none matched (the owner is left as it is).
    The task and notification are written in the workspace's language, not in the language of the
    request that created the lead (for a web-form lead, the visitor's browser).
    """
    with translation.override(lead.workspace.default_language):
        return _assign(lead, actor)


def _assign(lead: Lead, actor: Actor | None) -> AssignmentRule | None:
    rule, owner_id = choose_owner(lead)
    if rule is None:
        return None
    now = timezone.now()
    changes = {"owner_id": owner_id, "assigned_by_rule_id": rule.pk, "assigned_at": now}
    if rule.team_id is not None:
        changes["team_id"] = rule.team_id
    before = {"owner_id": lead.owner_id, "team_id": lead.team_id}
    for name, value in changes.items():
        setattr(lead, name, value)
    lead.save(update_fields=[*(name.removesuffix("_id") for name in changes), "updated_at"])
    record(
        AuditEntry.Action.UPDATE,
        workspace=lead.workspace,
        actor=actor,
        instance=lead,
        label=_("Assignment rule: %(rule)s") % {"rule": rule.name},
        changes={
            "owner": [before["owner_id"], owner_id],
            **({"team": [before["team_id"], rule.team_id]} if rule.team_id else {}),
            "assignment_rule": [None, rule.name],
        },
    )
    task = Task.objects.create(
        workspace_id=lead.workspace_id,
        title=(_("First contact: %(lead)s") % {"lead": lead})[:200],
        description=_("Assigned by the rule “%(rule)s”. Contact the lead within %(hours)s hours.")
        % {"rule": rule.name, "hours": rule.sla_hours},
        due_at=now + timedelta(hours=rule.sla_hours or DEFAULT_SLA_HOURS),
        assignee_id=owner_id,
        owner_id=owner_id,
        team_id=lead.team_id,
        priority=Task.Priority.HIGH,
        record_type=Lead.object_type,
        record_id=lead.pk,
        created_by=actor.user if actor else None,
    )
    record(AuditEntry.Action.CREATE, workspace=lead.workspace, actor=actor, instance=task, label="assignment")
    notify(
        lead.workspace,
        [owner_id],
        Notification.Verb.ASSIGNED,
        _("New lead for you: %(lead)s") % {"lead": lead},
        Lead.object_type,
        lead.pk,
    )
    return rule


@transaction.atomic
def rerun_assignment(actor: Actor, lead: Lead) -> AssignmentRule | None:
    """Run the assignment rules again on an existing lead ("re-run assignment")."""
    require(actor, "change", Lead.object_type)
    if lead.is_converted:
        raise Conflict(_("A converted lead is not assigned again."))
    rule = run_assignment(lead, actor=actor)
    if rule is not None:
        lead_saved.send(sender=Lead, lead=lead, actor=actor, created=False)
    return rule


RULE_FIELDS = {
    "name",
    "position",
    "is_active",
    "conditions",
    "user_id",
    "team_id",
    "weights",
    "daily_cap",
    "sla_hours",
}
CONDITION_OPS = ("eq", "in")


def _clean_rule(values: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    errors: list[FieldError] = []
    cleaned = {k: v for k, v in values.items() if k in RULE_FIELDS}
    errors += [
        FieldError(k, _("Unknown field."), "extra_forbidden") for k in sorted(set(values) - RULE_FIELDS)
    ]
    if "name" in cleaned or creating:
        cleaned["name"] = " ".join(str(cleaned.get("name") or "").split())[:100]
        if not cleaned["name"]:
            errors.append(FieldError("name", _("This field is required."), "required"))
    conditions = cleaned.get("conditions")
    if conditions is not None:
        if not isinstance(conditions, list):
            errors.append(FieldError("conditions", _("Give a list of conditions.")))
        else:
            allowed = AssignmentRule.CONDITION_FIELDS
            clean_conditions = []
            for i, c in enumerate(conditions):
                name = c.get("field", "") if isinstance(c, dict) else ""
                op = (c.get("op") or "eq") if isinstance(c, dict) else ""
                value = c.get("value") if isinstance(c, dict) else None
                if name not in allowed and not (name.startswith("custom.") and len(name) > 7):
                    errors.append(
                        FieldError(
                            f"conditions.{i}.field",
                            _("Choose one of: %s.") % ", ".join([*allowed, "custom.<key>"]),
                            "invalid_choice",
                        )
                    )
                    continue
                if op not in CONDITION_OPS:
                    errors.append(FieldError(f"conditions.{i}.op", _("Choose one of: %s.") % "eq, in"))
                    continue
                values_ = value if isinstance(value, list) else [value]
                values_ = [str(v).strip() for v in values_ if v is not None and str(v).strip()]
                if not values_:
                    errors.append(
                        FieldError(f"conditions.{i}.value", _("This field is required."), "required")
                    )
                    continue
                clean_conditions.append(
                    {"field": name, "op": op, "value": values_ if op == "in" else values_[0]}
                )
            cleaned["conditions"] = clean_conditions
    if (
        cleaned.get("user_id") is not None
        and not Membership.objects.filter(user_id=cleaned["user_id"], is_active=True).exists()
    ):
        errors.append(FieldError("user_id", _("The user must be an active member of this workspace.")))
    if cleaned.get("team_id") is not None and not Team.objects.filter(pk=cleaned["team_id"]).exists():
        errors.append(FieldError("team_id", _("Unknown team.")))
    if creating and (cleaned.get("user_id") is None) == (cleaned.get("team_id") is None):
        errors.append(FieldError("user_id", _("Assign to either a user or a team."), "required"))
    weights = cleaned.get("weights")
    if weights is not None:
        if not isinstance(weights, dict) or any(
            not str(k).isdigit() or not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 100
            for k, v in weights.items()
        ):
            errors.append(FieldError("weights", _("Give whole-number weights from 0 to 100 by user id.")))
        else:
            cleaned["weights"] = {str(k): v for k, v in weights.items()}
    for name, low, high in (("daily_cap", 1, 10000), ("sla_hours", 1, 24 * 90), ("position", 0, 10000)):
        v = cleaned.get(name)
        if v is not None and (not isinstance(v, int) or not low <= v <= high):
            errors.append(
                FieldError(
                    name, _("Enter a whole number from %(low)s to %(high)s.") % {"low": low, "high": high}
                )
            )
    if errors:
        raise ValidationFailed(errors)
    return cleaned


@transaction.atomic
def create_rule(actor: Actor, **values: Any) -> AssignmentRule:
    require_manager(actor)
    cleaned = _clean_rule(values, creating=True)
    if "position" not in cleaned:
        last = AssignmentRule.objects.order_by("-position").values_list("position", flat=True).first()
        cleaned["position"] = (last or 0) + 10
    return create_record(actor, AssignmentRule(**cleaned))


@transaction.atomic
def update_rule(actor: Actor, rule: AssignmentRule, **values: Any) -> AssignmentRule:
    require_manager(actor)
    cleaned = _clean_rule(values, creating=False)
    if "user_id" in cleaned and cleaned["user_id"] is not None:
        cleaned.setdefault("team_id", None)
    elif "team_id" in cleaned and cleaned["team_id"] is not None:
        cleaned.setdefault("user_id", None)
    update_record(actor, rule, cleaned)
    if (rule.user_id is None) == (rule.team_id is None):
        raise ValidationFailed([FieldError("user_id", _("Assign to either a user or a team."), "required")])
    return rule


@transaction.atomic
def delete_rule(actor: Actor, rule: AssignmentRule) -> None:
    require_manager(actor)
    delete_record(actor, rule)


# --- web forms -------------------------------------------------------------------------------------

FORM_FIELDS = {
    "name",
    "fields",
    "required_fields",
    "submit_label",
    "thank_you_text",
    "redirect_url",
    "default_source",
    "default_owner_id",
    "run_assignment",
    "allowed_origins",
    "is_active",
}


def _clean_form(values: dict[str, Any], *, creating: bool, instance: WebForm | None = None) -> dict[str, Any]:
    errors: list[FieldError] = []
    cleaned = {k: v for k, v in values.items() if k in FORM_FIELDS}
    errors += [
        FieldError(k, _("Unknown field."), "extra_forbidden") for k in sorted(set(values) - FORM_FIELDS)
    ]
    if "name" in cleaned or creating:
        cleaned["name"] = " ".join(str(cleaned.get("name") or "").split())[:100]
        if not cleaned["name"]:
            errors.append(FieldError("name", _("This field is required."), "required"))
    fields = cleaned.get("fields", instance.fields if instance else None)
    if fields is None or (creating and "fields" not in cleaned):
        fields = ["name", "company", "email", "phone", "description"]
        cleaned["fields"] = fields
    if not isinstance(fields, list) or any(f not in WebForm.FIELD_CHOICES for f in fields):
        errors.append(
            FieldError("fields", _("Choose from: %s.") % ", ".join(WebForm.FIELD_CHOICES), "invalid_choice")
        )
        fields = []
    else:
        fields = list(dict.fromkeys(fields))
        if "name" not in fields:
            fields.insert(0, "name")  # a lead needs a name
        cleaned["fields"] = fields
    required = cleaned.get("required_fields", instance.required_fields if instance else ["name"])
    if not isinstance(required, list) or any(f not in fields for f in required):
        errors.append(FieldError("required_fields", _("Required fields must be among the form's fields.")))
    else:
        cleaned["required_fields"] = list(dict.fromkeys(["name", *required]))
    if cleaned.get("default_source") and cleaned["default_source"] not in Lead.Source.values:
        errors.append(
            FieldError(
                "default_source", _("Choose one of: %s.") % ", ".join(Lead.Source.values), "invalid_choice"
            )
        )
    if cleaned.get("redirect_url"):
        try:
            URLValidator(schemes=["http", "https"])(cleaned["redirect_url"])
        except ValidationError:
            errors.append(FieldError("redirect_url", _("Enter a web address, e.g. https://www.example.com.")))
    if (
        cleaned.get("default_owner_id") is not None
        and not Membership.objects.filter(user_id=cleaned["default_owner_id"], is_active=True).exists()
    ):
        errors.append(
            FieldError("default_owner_id", _("The owner must be an active member of this workspace."))
        )
    if "allowed_origins" in cleaned:
        origins = [
            o.strip().rstrip("/") for o in str(cleaned["allowed_origins"] or "").splitlines() if o.strip()
        ]
        bad = [o for o in origins if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d+)?", o)]
        if bad:
            errors.append(
                FieldError("allowed_origins", _("Not a site address: %(value)s") % {"value": ", ".join(bad)})
            )
        cleaned["allowed_origins"] = "\n".join(origins)
    if errors:
        raise ValidationFailed(errors)
    return cleaned


@transaction.atomic
def create_form(actor: Actor, **values: Any) -> WebForm:
    require_manager(actor)
    cleaned = _clean_form(values, creating=True)
    return create_record(actor, WebForm(token=get_random_string(24), **cleaned))


@transaction.atomic
def update_form(actor: Actor, form: WebForm, **values: Any) -> WebForm:
    require_manager(actor)
    update_record(actor, form, _clean_form(values, creating=False, instance=form))
    return form


@transaction.atomic
def delete_form(actor: Actor, form: WebForm) -> None:
    require_manager(actor)
    delete_record(actor, form)


HTML_TAG = re.compile(r"<\s*[a-zA-Z/!?]|javascript:", re.IGNORECASE)
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
UTM_PARAMS = ("utm_source", "utm_medium", "utm_campaign")


def submit_web_form(form: WebForm, data: dict[str, str], *, utm: dict[str, str] | None = None) -> Lead:
    """Create a lead from a public form submission (no user: audited as the form).

    Only the form's fields are taken; unknown fields, markup and control characters are errors,
    so a malicious post changes nothing. Runs the duplicate check and (if set) the assignment rules.
    """
    errors: list[FieldError] = []
    unknown = sorted(set(data) - set(form.fields))
    errors += [FieldError(name[:60], _("Unknown field."), "extra_forbidden") for name in unknown]
    values: dict[str, Any] = {}
    for name in form.fields:
        value = str(data.get(name) or "").strip()
        if HTML_TAG.search(value) or CONTROL_CHARS.search(value):
            errors.append(
                FieldError(name, _("Plain text only: markup and control characters are not allowed."))
            )
            continue
        if name in form.required_fields and not value:
            errors.append(FieldError(name, _("This field is required."), "required"))
            continue
        if value:
            values[name] = value
    for name in UTM_PARAMS:
        value = str((utm or {}).get(name) or "").strip()[:100]
        if value and not (HTML_TAG.search(value) or CONTROL_CHARS.search(value)):
            values[name] = value
    workspace = form.workspace
    try:
        cleaned = clean_lead_values(workspace, values, actor=None, creating=True)
    except ValidationFailed as failed:
        errors += [d for d in failed.details if d.field not in {e.field for e in errors}]
    if errors:
        raise ValidationFailed(errors)
    return _save_submission(form, cleaned)


@transaction.atomic
def _save_submission(form: WebForm, cleaned: dict[str, Any]) -> Lead:
    source = form.default_source or Lead.Source.WEB_FORM
    if (
        source == Lead.Source.WEB_FORM
        and cleaned.get("utm_source")
        and cleaned.get("utm_medium")
        in {
            "cpc",
            "ppc",
            "paid",
            "display",
            "ad",
        }
    ):
        source = Lead.Source.AD_CAMPAIGN
    lead = Lead(
        workspace=form.workspace,
        source=source,
        web_form=form,
        owner_id=form.default_owner_id,
        **cleaned,
    )
    lead.save()
    record(
        AuditEntry.Action.CREATE,
        workspace=form.workspace,
        instance=lead,
        label=_("Web form: %(form)s") % {"form": form.name},
        changes={
            k: [None, v]
            for k, v in cleaned.items()
            if v not in ("", None) and k not in ("name_pinyin", "name_initials")
        },
    )
    WebForm.objects.filter(pk=form.pk).update(submission_count=F("submission_count") + 1)
    return _after_create(lead, None, assign=form.run_assignment, log=lambda lead: log_submission(form, lead))


def log_submission(form: WebForm, lead: Lead):
    """The submission on the lead's timeline: an inbound entry whose outcome says "form submitted"
    (what the scoring app's "Form submitted" engagement event counts). Logged once per lead."""
    return record_system_activity(
        lead.workspace,
        links=[(Lead.object_type, lead.pk)],
        kind=Activity.Kind.NOTE,
        direction=Activity.Direction.INBOUND,
        subject=_("Web form: %(form)s") % {"form": form.name},
        outcome=_("Form submitted"),
        source_ref=f"leads.webform:{lead.pk}",
        owner=lead.owner,
    )


def origin_allowed(form: WebForm, origin: str | None) -> bool:
    """A form with allowed origins accepts posts only from those sites (checked on Origin/Referer)."""
    allowed = [o for o in form.allowed_origins.splitlines() if o.strip()]
    if not allowed:
        return True
    if not origin:
        return False
    match = re.match(r"https?://[^/]+", origin)
    return bool(match) and match.group(0).lower() in {o.lower() for o in allowed}


# --- conversion ------------------------------------------------------------------------------------


@dataclass
class Conversion:
    lead: Lead
    account: Account | None
    contact: Contact | None
    opportunity: Any = None
    already: bool = False
    dropped_custom: list[str] = field(default_factory=list)


def _carried_custom(actor: Actor, lead: Lead, object_type: str, dropped: list[str]) -> dict:
    """The lead's custom values under keys the target type also has, valid for the target's rules."""
    keys = {d.key for d in definitions(object_type)}
    carried = {k: v for k, v in (lead.custom or {}).items() if k in keys}
    for _attempt in range(2):
        try:
            clean_custom_values(actor, object_type, carried, partial=True)
            return carried
        except ValidationFailed as failed:
            bad = {d.field.removeprefix("custom.") for d in failed.details}
            if not bad & set(carried):
                return carried  # not about the carried values (a required field): the create will say
            dropped += sorted(bad & set(carried))
            carried = {k: v for k, v in carried.items() if k not in bad}
    return carried


def _stored(lead: Lead) -> Conversion:
    opportunity = None
    if lead.converted_opportunity_id:
        from kehu.deals.models import Opportunity

        opportunity = Opportunity.objects.filter(pk=lead.converted_opportunity_id).first()
    return Conversion(lead, lead.converted_account, lead.converted_contact, opportunity, already=True)


@transaction.atomic
def convert_lead(
    actor: Actor,
    lead: Lead,
    *,
    account_id: int | None = None,
    contact_id: int | None = None,
    opportunity: dict | None = None,
) -> Conversion:
    """Turn a qualified lead into an account (new, or ``account_id``) + contact (new, or ``contact_id``)
    + optionally an opportunity (``opportunity``: fields for deals' ``create_opportunity``, e.g.
    ``{"pipeline_id": …, "name": …, "amount": …}``).

    The lead's activities are linked also to the new records, its tasks move to the contact, its
    comments are copied there, custom values with the same key are carried. Idempotent: converting a
    converted lead answers with the records of the first conversion. Atomic and audited.
    """
    require(actor, "change", Lead.object_type)
    result = _convert(
        actor, Lead.objects.select_for_update().get(pk=lead.pk), account_id, contact_id, opportunity
    )
    lead.refresh_from_db()  # the caller's instance shows the conversion too
    result.lead = lead
    return result


def _convert(actor: Actor, lead: Lead, account_id, contact_id, opportunity) -> Conversion:
    if lead.is_converted:
        return _stored(lead)
    if lead.status != Lead.Status.QUALIFIED:
        raise Conflict(_("Only a qualified lead can be converted: mark it qualified first."))
    dropped: list[str] = []
    errors: list[FieldError] = []
    account = contact = None
    if account_id is not None:
        try:
            account = access_record(actor, Account.objects.all(), account_id)
        except Exception:  # NotFound: the same answer for hidden and missing accounts
            errors.append(FieldError("account_id", _("Unknown account.")))
    if contact_id is not None:
        try:
            contact = access_record(actor, Contact.objects.all(), contact_id)
        except Exception:
            errors.append(FieldError("contact_id", _("Unknown contact.")))
    if errors:
        raise ValidationFailed(errors)
    owner = {"owner_id": lead.owner_id, "team_id": lead.team_id}

    def prefixed(prefix: str, failed: ValidationFailed) -> ValidationFailed:
        return ValidationFailed(
            [FieldError(f"{prefix}.{d.field}", d.message, d.code) for d in failed.details]
        )

    if account is None:
        try:
            account = customer_services.create_account(
                actor,
                name=lead.company or lead.name,
                kind=Account.Kind.COMPANY if lead.company else Account.Kind.INDIVIDUAL,
                industry=lead.industry,
                size=lead.size,
                source=lead.get_source_display(),
                website=lead.website,
                country=lead.country,
                province=lead.province,
                city=lead.city,
                custom=_carried_custom(actor, lead, Account.object_type, dropped),
                **owner,
            )
        except ValidationFailed as failed:
            raise prefixed("account", failed) from None
    if contact is None:
        try:
            contact = customer_services.create_contact(
                actor,
                name=lead.name,
                name_en=lead.name_en,
                account_id=account.pk,
                job_title=lead.title,
                email=lead.email,
                phone=lead.phone,
                custom=_carried_custom(actor, lead, Contact.object_type, dropped),
                **owner,
            )
        except ValidationFailed as failed:
            raise prefixed("contact", failed) from None
    new_opportunity = None
    if opportunity is not None:
        from kehu.deals import services as deal_services

        fields = {"name": lead.company or lead.name, **opportunity}
        fields.setdefault("source", lead.source)
        fields.setdefault("owner_id", lead.owner_id)
        if lead.utm_campaign:
            fields.setdefault("campaign", lead.utm_campaign)
        carried = _carried_custom(actor, lead, "deals.opportunity", dropped)
        if carried:
            fields["custom"] = {**carried, **(fields.get("custom") or {})}
        try:
            new_opportunity = deal_services.create_opportunity(
                actor,
                account_id=account.pk,
                contacts=[{"contact_id": contact.pk, "is_primary": True}],
                **fields,
            )
        except ValidationFailed as failed:
            raise prefixed("opportunity", failed) from None
    targets = [(Account.object_type, account.pk), (Contact.object_type, contact.pk)]
    if new_opportunity is not None:
        targets.append((new_opportunity.object_type, new_opportunity.pk))
    moved_links = _copy_links(lead, targets)
    moved_tasks = Task.objects.filter(record_type=Lead.object_type, record_id=lead.pk).update(
        record_type=Contact.object_type, record_id=contact.pk
    )
    comments = list(Comment.objects.filter(record_type=Lead.object_type, record_id=lead.pk).order_by("id"))
    Comment.objects.bulk_create(
        [
            Comment(
                workspace_id=c.workspace_id,
                record_type=Contact.object_type,
                record_id=contact.pk,
                author_id=c.author_id,
                body=c.body,
                created_at=c.created_at,
                created_by_id=c.created_by_id,
            )
            for c in comments
        ]
    )
    lead.converted_at = timezone.now()
    lead.converted_account, lead.converted_contact = account, contact
    lead.converted_opportunity_id = new_opportunity.pk if new_opportunity is not None else None
    lead.updated_by = actor.user
    lead.save(
        update_fields=[
            "converted_at",
            "converted_account",
            "converted_contact",
            "converted_opportunity",
            "updated_by",
            "updated_at",
        ]
    )
    record(
        AuditEntry.Action.UPDATE,
        actor=actor,
        instance=lead,
        changes={
            "converted": [None, lead.converted_at.isoformat()],
            "converted_account": [None, account.pk],
            "converted_contact": [None, contact.pk],
            **({"converted_opportunity": [None, new_opportunity.pk]} if new_opportunity else {}),
            "moved": [None, {"activities": moved_links, "tasks": moved_tasks, "comments": len(comments)}],
        },
    )
    lead_saved.send(sender=Lead, lead=lead, actor=actor, created=False)
    return Conversion(lead, account, contact, new_opportunity, dropped_custom=dropped)
