"""Writes on accounts and contacts: validation, normalisation, permission checks and audit.

Every write path (UI, API, imports, the demo seed) comes through here, so the rules hold everywhere:
names are trimmed and get their pinyin, phones become E.164 in the workspace's region, emails are
validated and lower-cased, every bad field is reported at once (``ValidationFailed``) and nothing
is half-saved.
"""

import functools
import gc
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from typing import Any

import phonenumbers
from django.db import transaction
from django.db.models import ProtectedError, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.audit.models import AuditEntry
from kehu.audit.services import (
    EMPTY_VALUES,
    MASK,
    create_record,
    delete_record,
    diff,
    is_secret,
    json_ready,
    record,
    snapshot,
    update_record,
)
from kehu.core.errors import Conflict, FieldError, ValidationFailed
from kehu.core.normalize import normalize_email, normalize_phone
from kehu.customfields.queries import export_columns, remembered_definitions
from kehu.customfields.services import clean_custom_values
from kehu.workspaces.access import Actor, require, visible
from kehu.workspaces.models import Membership, Team

from . import bulk
from .duplicate_hooks import check_duplicates, check_duplicates_many
from .models import Account, AccountContact, Address, Contact, ContactPoint, Tag, TaggedRecord
from .normalize import pinyin_keys

SOCIAL_NETWORKS = ("wechat", "linkedin", "weibo", "dingtalk", "qq", "x", "facebook", "whatsapp")
CONSENT_FIELDS = ("consent_email", "consent_sms", "consent_phone")
MAX_TAGS = 50
ADDRESS_FIELDS = ("country", "province", "city", "district", "street", "postcode")
MAX_ADDRESSES = 20
# Postcode shapes of the countries Kehu's customers write to most (upper-cased, one space allowed);
# elsewhere any 2–12 letters, digits, spaces and hyphens pass.
POSTCODE_SHAPES = {
    "CN": (r"\d{6}", "200120"),
    "SG": (r"\d{6}", "018956"),
    "IN": (r"\d{6}", "110001"),
    "TW": (r"\d{3}(\d{2,3})?", "10048"),
    "JP": (r"\d{3}-?\d{4}", "100-0001"),
    "KR": (r"\d{5}", "04524"),
    "US": (r"\d{5}(-\d{4})?", "94105"),
    "DE": (r"\d{5}", "10115"),
    "FR": (r"\d{5}", "75001"),
    "AU": (r"\d{4}", "2000"),
    "CA": (r"[A-Z]\d[A-Z] ?\d[A-Z]\d", "K1A 0B1"),
    "GB": (r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}", "SW1A 1AA"),
}
POSTCODE_ANY = re.compile(r"[A-Z0-9][A-Z0-9 -]{0,10}[A-Z0-9]")


# --- validation ------------------------------------------------------------------------------------


def _clean(actor: Actor, values: dict[str, Any], *, creating: bool, model, instance=None) -> dict[str, Any]:
    """Normalise and validate submitted field values; raise ValidationFailed listing every bad field."""
    errors: list[FieldError] = []
    cleaned = dict(values)
    region = actor.workspace.default_region

    def fail(field: str, message: str, code: str = "invalid") -> None:
        errors.append(FieldError(field, message, code))

    for name in (
        "name",
        "name_en",
        "industry",
        "source",
        "job_title",
        "department",
        "city",
        "province",
        "district",
        "street",
        "postcode",
    ):
        if name in cleaned and cleaned[name] is not None:
            cleaned[name] = " ".join(str(cleaned[name]).split())
    if "name" in cleaned or creating:
        cleaned["name"] = cleaned.get("name") or ""
        if not cleaned["name"]:
            fail("name", _("This field is required."), "required")
        else:
            cleaned["name_pinyin"], cleaned["name_initials"] = pinyin_keys(cleaned["name"])
    for name, normalize in (("phone", lambda v: normalize_phone(v, region)), ("email", normalize_email)):
        if cleaned.get(name):
            try:
                cleaned[name] = normalize(cleaned[name])
            except ValueError as exc:
                fail(name, str(exc))
        elif name in cleaned:
            cleaned[name] = ""
    for name, choices in _choice_fields(model).items():
        if cleaned.get(name) and cleaned[name] not in choices:
            fail(name, _("Choose one of: %s.") % ", ".join(choices), "invalid_choice")
    if any(f in cleaned for f in ADDRESS_FIELDS):
        errors.extend(_check_address(cleaned, fallback=instance))
    if cleaned.get("owner_id") is not None and not _active_member(cleaned["owner_id"]):
        fail("owner_id", _("The owner must be an active member of this workspace."))
    if cleaned.get("team_id") is not None and not Team.objects.filter(pk=cleaned["team_id"]).exists():
        fail("team_id", _("Unknown team."))
    if cleaned.get("account_id") is not None and not _visible_account(actor, cleaned["account_id"]):
        fail("account_id", _("Unknown account."))
    if cleaned.get("parent_id") is not None:
        if not _visible_account(actor, cleaned["parent_id"]):
            fail("parent_id", _("Unknown account."))
        elif instance is not None and _would_cycle(instance, cleaned["parent_id"]):
            fail("parent_id", _("An account cannot be its own parent or the parent of its parent."))
    if "social" in cleaned:
        social = cleaned["social"] or {}
        if not isinstance(social, dict) or any(
            k not in SOCIAL_NETWORKS or not isinstance(v, str) for k, v in social.items()
        ):
            fail("social", _("Use handles of these networks: %s.") % ", ".join(SOCIAL_NETWORKS))
        else:
            cleaned["social"] = {k: v.strip() for k, v in social.items() if v.strip()}
    if "birthday" in cleaned and cleaned["birthday"] and not isinstance(cleaned["birthday"], date):
        try:
            cleaned["birthday"] = date.fromisoformat(str(cleaned["birthday"]))
        except ValueError:
            fail("birthday", _("Enter a date as YYYY-MM-DD."))
    if "custom" in cleaned or creating:
        try:
            cleaned["custom"] = clean_custom_values(
                actor, model.object_type, cleaned.get("custom"), instance=instance, partial=not creating
            )
        except ValidationFailed as failed:
            errors.extend(failed.details)
    if errors:
        raise ValidationFailed(errors)
    return cleaned


@functools.cache
def _choice_fields(model) -> dict[str, list[str]]:
    # Cached per model: a bulk create checks 1,000 records against the same choices.
    return {f.name: [c[0] for c in f.choices] for f in model._meta.fields if f.choices}


# Answers memoised for the duration of one bulk call (its 1,000 items share owners and accounts).
_bulk_memo: ContextVar[dict | None] = ContextVar("kehu_customers_bulk_memo", default=None)


def _memoised(key: tuple, compute) -> bool:
    memo = _bulk_memo.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def _active_member(user_id: int) -> bool:
    return _memoised(
        ("member", user_id), lambda: Membership.objects.filter(user_id=user_id, is_active=True).exists()
    )


def _visible_account(actor: Actor, account_id: int) -> bool:
    return _memoised(
        ("account", account_id),
        lambda: visible(actor, Account.objects.filter(pk=account_id)).exists(),
    )


def _would_cycle(account: Account, parent_id: int) -> bool:
    seen = {account.pk}
    current: int | None = parent_id
    while current is not None:
        if current in seen:
            return True
        seen.add(current)
        current = Account.objects.filter(pk=current).values_list("parent_id", flat=True).first()
    return False


def _clean_points(actor: Actor, kind: str, items: list[dict] | None) -> list[dict] | None:
    """Validate a full list of phones or emails; exactly one primary when any are given."""
    if items is None:
        return None
    field = "phones" if kind == ContactPoint.Kind.PHONE else "emails"
    region = actor.workspace.default_region
    errors, cleaned, seen = [], [], set()
    for i, item in enumerate(items):
        raw = str(item.get("value") or "")
        try:
            value = normalize_phone(raw, region) if kind == ContactPoint.Kind.PHONE else normalize_email(raw)
        except ValueError as exc:
            errors.append(FieldError(f"{field}.{i}.value", str(exc)))
            continue
        if not value:
            errors.append(FieldError(f"{field}.{i}.value", _("This field is required."), "required"))
            continue
        label = item.get("label") or ContactPoint.Label.WORK
        if label not in ContactPoint.Label.values:
            errors.append(
                FieldError(
                    f"{field}.{i}.label",
                    _("Choose one of: %s.") % ", ".join(ContactPoint.Label.values),
                    "invalid_choice",
                )
            )
        if value in seen:
            continue  # the same number typed twice is one number
        seen.add(value)
        cleaned.append({"value": value, "label": label, "is_primary": bool(item.get("is_primary"))})
    if errors:
        raise ValidationFailed(errors)
    if cleaned and sum(p["is_primary"] for p in cleaned) != 1:
        for p in cleaned:
            p["is_primary"] = False
        cleaned[0]["is_primary"] = True
    return cleaned


# --- contact points, tags, relations -------------------------------------------------------------


def _owner_kwargs(record) -> dict:
    return {"account": record} if isinstance(record, Account) else {"contact": record}


def _final_points(record, kind: str, items: list[dict] | None, scalar: str | None) -> list[dict] | None:
    """The complete list of phones (or emails) after this write, or None when it leaves them alone.

    A caller that knows one number (a form, a simple API call) passes only ``scalar``: it becomes
    the primary, the record's other numbers stay.
    """
    if items is not None:
        return items
    if scalar is None:
        return None
    others = []
    if record is not None:
        others = [
            {"value": p.value, "label": p.label, "is_primary": False}
            for p in ContactPoint.objects.filter(kind=kind, **_owner_kwargs(record)).order_by("id")
            if not p.is_primary and p.value != scalar
        ]
    result = (
        [{"value": scalar, "label": ContactPoint.Label.WORK, "is_primary": True}] if scalar else []
    ) + others
    if result and not any(p["is_primary"] for p in result):
        result[0]["is_primary"] = True
    return result


def _primary(items: list[dict]) -> str:
    return next((p["value"] for p in items if p["is_primary"]), "")


def _write_points(actor: Actor, record, kind: str, items: list[dict] | None) -> None:
    if items is None:
        return
    owner = _owner_kwargs(record)
    existing = ContactPoint.objects.filter(kind=kind, **owner).order_by("-is_primary", "id")
    before = [(p.value, p.label, p.is_primary) for p in existing]
    if before == [(p["value"], p["label"], p["is_primary"]) for p in items]:
        return
    existing.delete()
    ContactPoint.objects.bulk_create(
        [
            ContactPoint(
                workspace=actor.workspace,
                kind=kind,
                created_by=actor.user,
                updated_by=actor.user,
                **owner,
                **p,
            )
            for p in items
        ]
    )


def contact_points(record) -> dict[str, list[dict]]:
    """The record's phones and emails as plain data (for the API and audit)."""
    result: dict[str, list[dict]] = {"phones": [], "emails": []}
    for p in ContactPoint.objects.filter(**_owner_kwargs(record)).order_by("-is_primary", "id"):
        result["phones" if p.kind == ContactPoint.Kind.PHONE else "emails"].append(
            {"value": p.value, "label": p.label, "is_primary": p.is_primary}
        )
    return result


def _clean_tags(tags: list[str] | None) -> list[str] | None:
    if tags is None:
        return None
    names = []
    for i, raw in enumerate(tags):
        name = " ".join(str(raw).split())[:50]
        if not name:
            raise ValidationFailed([FieldError(f"tags.{i}", _("A tag needs a name."), "required")])
        if name not in names:
            names.append(name)
    if len(names) > MAX_TAGS:
        raise ValidationFailed([FieldError("tags", _("At most %d tags.") % MAX_TAGS, "too_many")])
    return names


def set_tags(actor: Actor, record, names: list[str]) -> list[str]:
    """Make ``names`` the record's tags (creating missing tags); returns the previous names."""
    object_type, object_id = record.object_type, record.pk
    current = dict(
        TaggedRecord.objects.filter(object_type=object_type, object_id=object_id).values_list(
            "tag__name", "pk"
        )
    )
    tags = {t.name: t for t in Tag.objects.filter(name__in=names)}
    for name in names:
        if name not in tags:
            tags[name] = Tag.objects.create(workspace=actor.workspace, name=name, created_by=actor.user)
    TaggedRecord.objects.filter(pk__in=[pk for name, pk in current.items() if name not in names]).delete()
    TaggedRecord.objects.bulk_create(
        [
            TaggedRecord(
                workspace=actor.workspace,
                tag=tags[name],
                object_type=object_type,
                object_id=object_id,
                created_by=actor.user,
            )
            for name in names
            if name not in current
        ]
    )
    return sorted(current)


def tags_of(record) -> list[str]:
    return list(
        TaggedRecord.objects.filter(object_type=record.object_type, object_id=record.pk)
        .order_by("tag__name")
        .values_list("tag__name", flat=True)
    )


def _clean_relations(actor: Actor, relations: list[dict] | None) -> list[dict] | None:
    if relations is None:
        return None
    errors, cleaned, seen = [], [], set()
    for i, item in enumerate(relations):
        account_id = item.get("account_id")
        if not isinstance(account_id, int) or not _visible_account(actor, account_id):
            errors.append(FieldError(f"accounts.{i}.account_id", _("Unknown account.")))
            continue
        role = item.get("role") or AccountContact.Role.USER
        if role not in AccountContact.Role.values:
            errors.append(
                FieldError(
                    f"accounts.{i}.role",
                    _("Choose one of: %s.") % ", ".join(AccountContact.Role.values),
                    "invalid_choice",
                )
            )
            continue
        if account_id not in seen:
            seen.add(account_id)
            cleaned.append(
                {"account_id": account_id, "role": role, "is_primary": bool(item.get("is_primary"))}
            )
    if errors:
        raise ValidationFailed(errors)
    if cleaned and sum(r["is_primary"] for r in cleaned) != 1:
        for r in cleaned:
            r["is_primary"] = False
        cleaned[0]["is_primary"] = True
    return cleaned


def _sync_relations(actor: Actor, contact: Contact, relations: list[dict] | None) -> None:
    """Replace the contact's account relations; the primary one is mirrored in ``contact.account``."""
    if relations is None:
        current = AccountContact.objects.filter(contact=contact)
        if contact.account_id is None:
            current.filter(is_primary=True).update(is_primary=False)
        elif not current.filter(account_id=contact.account_id, is_primary=True).exists():
            current.update(is_primary=False)
            updated = current.filter(account_id=contact.account_id).update(is_primary=True)
            if not updated:
                AccountContact.objects.create(
                    workspace=actor.workspace,
                    account_id=contact.account_id,
                    contact=contact,
                    is_primary=True,
                    created_by=actor.user,
                )
        return
    AccountContact.objects.filter(contact=contact).delete()
    AccountContact.objects.bulk_create(
        [
            AccountContact(workspace=actor.workspace, contact=contact, created_by=actor.user, **r)
            for r in relations
        ]
    )


def relations_of(contact: Contact) -> list[dict]:
    return [
        {
            "account_id": r.account_id,
            "account_name": r.account.name,
            "role": r.role,
            "is_primary": r.is_primary,
        }
        for r in AccountContact.objects.filter(contact=contact)
        .select_related("account")
        .order_by("-is_primary", "account__name")
    ]


# --- addresses -------------------------------------------------------------------------------------


def _check_address(values: dict, prefix: str = "", fallback=None) -> list[FieldError]:
    """Errors of one address's fields (upper-cases country and postcode in ``values`` in place).

    ``fallback`` (the record being changed) gives the country when only the postcode is sent.
    """
    errors = []
    for name in ADDRESS_FIELDS:
        if values.get(name) is None:
            continue
        values[name] = " ".join(str(values[name]).split())
        limit = Address._meta.get_field(name).max_length
        if len(values[name]) > limit:
            errors.append(FieldError(prefix + name, _("At most %d characters.") % limit, "max_length"))
    if values.get("country"):
        values["country"] = values["country"].upper()
        if values["country"] not in phonenumbers.SUPPORTED_REGIONS:
            errors.append(
                FieldError(prefix + "country", _("Use a two-letter ISO 3166 country code, e.g. CN."))
            )
    if values.get("postcode"):
        values["postcode"] = values["postcode"].upper()
        country = values["country"] if "country" in values else getattr(fallback, "country", "")
        shape = POSTCODE_SHAPES.get(country or "")
        if shape and not re.fullmatch(shape[0], values["postcode"]):
            errors.append(
                FieldError(
                    prefix + "postcode",
                    _("Not a postcode of %(country)s (e.g. %(example)s).")
                    % {"country": country, "example": shape[1]},
                )
            )
        elif not shape and not POSTCODE_ANY.fullmatch(values["postcode"]):
            errors.append(FieldError(prefix + "postcode", _("Use 2–12 letters, digits, spaces or hyphens.")))
    return errors


def _address_item(item: dict, prefix: str = "") -> tuple[dict, list[FieldError]]:
    """One submitted address, cleaned, and its errors (field names after ``prefix``)."""
    values = {name: str(item.get(name) or "") for name in ADDRESS_FIELDS}
    errors = _check_address(values, prefix)
    kind = item.get("kind") or Address.Kind.OFFICE
    if kind not in Address.Kind.values:
        message = _("Choose one of: %s.") % ", ".join(Address.Kind.values)
        errors.append(FieldError(prefix + "kind", message, "invalid_choice"))
    if not any(values.values()):
        errors.append(FieldError(prefix + "city", _("Give at least a city or a street."), "required"))
    return {"kind": kind, **values, "is_primary": bool(item.get("is_primary"))}, errors


def _clean_addresses(items: list[dict] | None, record=None) -> list[dict] | None:
    """Validate a full list of addresses; an ``id`` keeps that address of ``record`` (changed in
    place), addresses left out are removed; exactly one primary when any are given."""
    if items is None:
        return None
    if len(items) > MAX_ADDRESSES:
        raise ValidationFailed(
            [FieldError("addresses", _("At most %d addresses.") % MAX_ADDRESSES, "too_many")]
        )
    known = set()
    if record is not None and record.pk:
        known = set(Address.objects.filter(**_owner_kwargs(record)).values_list("pk", flat=True))
    errors, cleaned, seen_ids = [], [], set()
    for i, item in enumerate(items):
        prefix = f"addresses.{i}."
        address, item_errors = _address_item(item, prefix)
        errors += item_errors
        address_id = item.get("id")
        if address_id is not None and (address_id not in known or address_id in seen_ids):
            errors.append(FieldError(prefix + "id", _("Unknown address."), "invalid"))
        seen_ids.add(address_id)
        cleaned.append({"id": address_id, **address})
    if errors:
        raise ValidationFailed(errors)
    if cleaned and sum(a["is_primary"] for a in cleaned) != 1:
        first = next((a for a in cleaned if a["is_primary"]), cleaned[0])
        for a in cleaned:
            a["is_primary"] = a is first
    return cleaned


def addresses_of(record) -> list[dict]:
    """The record's addresses as plain data, the primary first (for the API, pages and audit)."""
    return [
        {"id": a.pk, "kind": a.kind, **{f: getattr(a, f) for f in ADDRESS_FIELDS}, "is_primary": a.is_primary}
        for a in Address.objects.filter(**_owner_kwargs(record)).order_by("-is_primary", "id")
    ]


def _final_addresses(model, instance, items: list[dict] | None, cleaned: dict) -> list[dict] | None:
    """The complete list of addresses after this write, or None when it leaves them alone.

    An account's own country … postcode fields (a form, a simple API call) edit its primary
    address; its other addresses stay.
    """
    if items is not None:
        return items
    if model is not Account or not any(f in cleaned for f in ADDRESS_FIELDS):
        return None
    current = addresses_of(instance) if instance is not None else []
    primary = next((a for a in current if a["is_primary"]), None)
    main = {f: cleaned[f] if f in cleaned else getattr(instance, f, "") for f in ADDRESS_FIELDS}
    result = [dict(a, is_primary=False) for a in current if not a["is_primary"]]
    if any(main.values()):
        kind = primary["kind"] if primary else Address.Kind.OFFICE
        result.insert(0, {"id": primary and primary["id"], "kind": kind, **main, "is_primary": True})
    elif result:
        result[0]["is_primary"] = True
    return result


def _mirror_primary(cleaned: dict, items: list[dict]) -> None:
    """Copy the primary address into the account's own fields (lists filter by them)."""
    primary = next((a for a in items if a["is_primary"]), None)
    cleaned.update({f: primary[f] if primary else "" for f in ADDRESS_FIELDS})


def _write_addresses(actor: Actor, record, items: list[dict] | None) -> None:
    if items is None:
        return
    owner = _owner_kwargs(record)
    existing = {a.pk: a for a in Address.objects.filter(**owner)}
    keep = {a["id"] for a in items if a.get("id")}
    gone = [pk for pk in existing if pk not in keep]
    if gone:
        Address.objects.filter(pk__in=gone).delete()
    primary_id = next((a.get("id") for a in items if a["is_primary"]), None)
    # One primary per record is a constraint: the old primary steps down before the new one is saved.
    stepping_down = [pk for pk in keep if existing[pk].is_primary and pk != primary_id]
    if stepping_down or (primary_id is None and any(a.is_primary for a in existing.values())):
        Address.objects.filter(**owner, is_primary=True).exclude(pk=primary_id).update(is_primary=False)
    new = []
    for item in items:
        fields = {k: v for k, v in item.items() if k != "id"}
        row = existing.get(item.get("id"))
        if row is None:
            new.append(
                Address(
                    workspace=actor.workspace, created_by=actor.user, updated_by=actor.user, **owner, **fields
                )
            )
        elif any(getattr(row, k) != v for k, v in fields.items()) or row.pk in stepping_down:
            Address.objects.filter(pk=row.pk).update(
                **fields, updated_by=actor.user, updated_at=timezone.now()
            )
    Address.objects.bulk_create(new)


def _address_lines(items: list[dict]) -> list[str]:
    """Addresses as the audit log shows them: "billing*: CN 上海 浦东新区 世纪大道 100 200120"."""
    return [
        f"{a['kind']}{'*' if a['is_primary'] else ''}: " + " ".join(a[f] for f in ADDRESS_FIELDS if a[f])
        for a in items
    ]


def _one_address(values: dict) -> dict:
    """One address from a form, checked alone so errors name plain fields (``city``, not
    ``addresses.2.city``)."""
    address, errors = _address_item(values)
    if errors:
        raise ValidationFailed(errors)
    return address


def _replace_addresses(actor: Actor, record, items: list[dict]) -> None:
    update = update_account if isinstance(record, Account) else update_contact
    update(actor, record, addresses=items)


@transaction.atomic
def add_address(actor: Actor, record, **values: Any) -> Address:
    """Add one address to an account or contact (the caller checked "change" on the record)."""
    item = _one_address(values)
    current = addresses_of(record)
    if item["is_primary"]:
        for a in current:
            a["is_primary"] = False
    _replace_addresses(actor, record, [*current, {"id": None, **item}])
    known = {a["id"] for a in current}
    return Address.objects.filter(**_owner_kwargs(record)).exclude(pk__in=known).get()


@transaction.atomic
def change_address(actor: Actor, address: Address, **values: Any) -> Address:
    """Change one address; making it primary makes the others secondary. The primary stays primary
    until another one is made primary."""
    record_ = address.account or address.contact
    item = _one_address(values)
    current = addresses_of(record_)
    for a in current:
        if a["id"] == address.pk:
            a.update(item, is_primary=item["is_primary"] or a["is_primary"])
        elif item["is_primary"]:
            a["is_primary"] = False
    _replace_addresses(actor, record_, current)
    address.refresh_from_db()
    return address


@transaction.atomic
def remove_address(actor: Actor, address: Address) -> None:
    """Remove one address; when it was the primary, the next one becomes primary."""
    record_ = address.account or address.contact
    _replace_addresses(actor, record_, [a for a in addresses_of(record_) if a["id"] != address.pk])


# --- accounts and contacts -------------------------------------------------------------------------


def _stamp_consent(values: dict, instance=None) -> None:
    changed = [
        f
        for f in CONSENT_FIELDS
        if f in values and (instance is None or getattr(instance, f) != bool(values[f]))
    ]
    if changed and (instance is not None or any(values[f] for f in changed)):
        values["consent_updated_at"] = timezone.now()


def _validated(
    actor: Actor, model, values: dict, *, instance, phones, emails, tags, relations, addresses=None
):
    """Every submitted part validated at once, so one answer lists every bad field."""
    errors: list[FieldError] = []

    def attempt(check, *args, **kwargs):
        try:
            return check(*args, **kwargs)
        except ValidationFailed as failed:
            errors.extend(failed.details)
            return None

    cleaned = attempt(_clean, actor, values, creating=instance is None, model=model, instance=instance)
    phone_items = attempt(_clean_points, actor, ContactPoint.Kind.PHONE, phones)
    email_items = attempt(_clean_points, actor, ContactPoint.Kind.EMAIL, emails)
    tag_names = attempt(_clean_tags, tags)
    relation_items = attempt(_clean_relations, actor, relations)
    address_items = attempt(_clean_addresses, addresses, instance)
    if errors:
        raise ValidationFailed(errors)
    address_items = _final_addresses(model, instance, address_items, cleaned)
    if address_items is not None and model is Account:
        _mirror_primary(cleaned, address_items)
    points = {}
    for kind, items, field in (
        (ContactPoint.Kind.PHONE, phone_items, "phone"),
        (ContactPoint.Kind.EMAIL, email_items, "email"),
    ):
        points[kind] = _final_points(instance, kind, items, cleaned.get(field))
        if points[kind] is not None:
            cleaned[field] = _primary(points[kind])
    if relation_items is not None:
        cleaned["account_id"] = next((r["account_id"] for r in relation_items if r["is_primary"]), None)
    if model is Contact:
        _stamp_consent(cleaned, instance)
    return cleaned, points, tag_names, relation_items, address_items


def _save_new(actor: Actor, model, values: dict, *, phones, emails, tags, relations=None, addresses=None):
    if values.get("owner_id") is None:
        values["owner_id"] = actor.user.pk
    cleaned, points, tag_names, relation_items, address_items = _validated(
        actor,
        model,
        values,
        instance=None,
        phones=phones,
        emails=emails,
        tags=tags,
        relations=relations,
        addresses=addresses,
    )
    warnings = check_duplicates(actor, model.object_type, {**cleaned, "phones": phones, "emails": emails})
    new = create_record(actor, model(**cleaned))
    new.possible_duplicates = warnings
    for kind, items in points.items():
        _write_points(actor, new, kind, items)
    _write_addresses(actor, new, address_items)
    if model is Contact:
        _sync_relations(actor, new, relation_items)
    # An account's main-address fields alone are audited on the record itself.
    extra_changes = {"addresses": [[], _address_lines(address_items)]} if addresses and address_items else {}
    if tag_names:
        set_tags(actor, new, tag_names)
        extra_changes["tags"] = [[], tag_names]
    if extra_changes:
        record(AuditEntry.Action.UPDATE, actor=actor, instance=new, changes=extra_changes)
    return new


def _save_changes(
    actor: Actor, record_, values: dict, *, phones, emails, tags, relations=None, addresses=None
):
    model = type(record_)
    cleaned, points, tag_names, relation_items, address_items = _validated(
        actor,
        model,
        values,
        instance=record_,
        phones=phones,
        emails=emails,
        tags=tags,
        relations=relations,
        addresses=addresses,
    )
    checked = {**cleaned, "phones": phones, "emails": emails}
    warnings = check_duplicates(actor, model.object_type, checked, record_)
    lists_touched = any(items is not None for items in points.values())
    points_before = contact_points(record_) if lists_touched else {}
    # An account's main-address fields alone are audited on the record itself.
    addresses_before = _address_lines(addresses_of(record_)) if addresses is not None else None
    update_record(actor, record_, cleaned)
    for kind, items in points.items():
        _write_points(actor, record_, kind, items)
    _write_addresses(actor, record_, address_items)
    if model is Contact:
        _sync_relations(actor, record_, relation_items)
    extra_changes = diff(points_before, contact_points(record_)) if lists_touched else {}
    if addresses_before is not None:
        extra_changes.update(
            diff({"addresses": addresses_before}, {"addresses": _address_lines(address_items)})
        )
    if tag_names is not None:
        extra_changes.update(diff({"tags": set_tags(actor, record_, tag_names)}, {"tags": sorted(tag_names)}))
    if extra_changes:
        record(AuditEntry.Action.UPDATE, actor=actor, instance=record_, changes=extra_changes)
    record_.possible_duplicates = warnings
    return record_


@transaction.atomic
def create_account(
    actor: Actor, *, phones=None, emails=None, tags=None, addresses=None, **values: Any
) -> Account:
    """A new account; ``phones``/``emails`` are lists of {value, label, is_primary}, ``tags`` names,
    ``addresses`` a list of {kind, country, province, city, district, street, postcode, is_primary}
    (without it, the account's own country … postcode fields make its primary address)."""
    require(actor, "create", Account.object_type)
    return _save_new(actor, Account, values, phones=phones, emails=emails, tags=tags, addresses=addresses)


@transaction.atomic
def update_account(
    actor: Actor, account: Account, *, phones=None, emails=None, tags=None, addresses=None, **values: Any
) -> Account:
    """Change an account; lists given replace the current ones, ``None`` leaves them alone."""
    require(actor, "change", Account.object_type)
    return _save_changes(actor, account, values, phones=phones, emails=emails, tags=tags, addresses=addresses)


@transaction.atomic
def delete_account(actor: Actor, account: Account) -> None:
    """Delete an account; refused while records that must outlive it (orders) point to it."""
    require(actor, "delete", Account.object_type)
    TaggedRecord.objects.filter(object_type=Account.object_type, object_id=account.pk).delete()
    try:
        with transaction.atomic():
            delete_record(actor, account)
    except ProtectedError as error:
        raise _still_referenced(error) from None


def _still_referenced(error: ProtectedError) -> Conflict:
    kinds = sorted({str(obj._meta.verbose_name_plural) for obj in error.protected_objects})
    return Conflict(
        _("This account cannot be deleted while it has %(records)s.") % {"records": ", ".join(kinds)}
    )


def delete_accounts(actor: Actor, ids: list[int]) -> int:
    """``delete_account`` for many accounts at once (an import's undo: ids it chose, like the single
    delete's record); how many were deleted. Raises ``Conflict`` (deleting none) when records that must
    outlive them (orders, opportunities, quotes) point to any."""
    return _bulk_delete(actor, Account, ids)


def delete_contacts(actor: Actor, ids: list[int]) -> int:
    """``delete_contact`` for many contacts at once (an import's undo); how many were deleted."""
    return _bulk_delete(actor, Contact, ids)


@transaction.atomic
def _bulk_delete(actor: Actor, model, ids: list[int]) -> int:
    """What the single delete does, in a few statements per call: the records' tags dropped, one audit
    entry each with its last values, the records and their cascades deleted by the ORM's collector."""
    require(actor, "delete", model.object_type)
    records = list(model.objects.filter(pk__in=ids))
    if not records:
        return 0
    pks = [r.pk for r in records]
    _write_audit(
        actor, AuditEntry.Action.DELETE, model.object_type, ((r, diff(snapshot(r), {})) for r in records)
    )
    TaggedRecord.objects.filter(object_type=model.object_type, object_id__in=pks).delete()
    try:
        with transaction.atomic():
            model.objects.filter(pk__in=pks).delete()
    except ProtectedError as error:  # only accounts are protected (by orders, opportunities, quotes)
        raise _still_referenced(error) from None
    return len(records)


@transaction.atomic
def create_contact(
    actor: Actor, *, phones=None, emails=None, tags=None, accounts=None, addresses=None, **values: Any
) -> Contact:
    """A new contact; ``accounts`` is a list of {account_id, role, is_primary} relations,
    ``addresses`` as for ``create_account``."""
    require(actor, "create", Contact.object_type)
    return _save_new(
        actor,
        Contact,
        values,
        phones=phones,
        emails=emails,
        tags=tags,
        relations=accounts,
        addresses=addresses,
    )


@transaction.atomic
def update_contact(
    actor: Actor,
    contact: Contact,
    *,
    phones=None,
    emails=None,
    tags=None,
    accounts=None,
    addresses=None,
    **values: Any,
) -> Contact:
    require(actor, "change", Contact.object_type)
    return _save_changes(
        actor,
        contact,
        values,
        phones=phones,
        emails=emails,
        tags=tags,
        relations=accounts,
        addresses=addresses,
    )


@transaction.atomic
def delete_contact(actor: Actor, contact: Contact) -> None:
    require(actor, "delete", Contact.object_type)
    TaggedRecord.objects.filter(object_type=Contact.object_type, object_id=contact.pk).delete()
    delete_record(actor, contact)


# --- bulk create -----------------------------------------------------------------------------------

MAX_BULK = 1000
LIST_FIELDS = ("phones", "emails", "tags", "accounts", "addresses")


def _bulk_create(actor: Actor, model, items: list[dict]) -> list:
    """Validate every item (errors as ``items.<i>.<field>``), then write all rows with bulk inserts."""
    require(actor, "create", model.object_type)
    if not items:
        raise ValidationFailed([FieldError("items", _("Send at least one record."), "required")])
    if len(items) > MAX_BULK:
        raise ValidationFailed(
            [FieldError("items", _("At most %d records per call.") % MAX_BULK, "too_many")]
        )
    errors: list[FieldError] = []
    prepared = []
    token = _bulk_memo.set({})
    try:
        with remembered_definitions():
            _prefetch_bulk_lookups(actor, items)
            for i, item in enumerate(items):
                values = dict(item)
                lists = {name: values.pop(name, None) for name in LIST_FIELDS}
                if values.get("owner_id") is None:
                    values["owner_id"] = actor.user.pk
                try:
                    prepared.append(
                        (
                            *_validated(
                                actor,
                                model,
                                values,
                                instance=None,
                                phones=lists["phones"],
                                emails=lists["emails"],
                                tags=lists["tags"],
                                relations=lists["accounts"] if model is Contact else None,
                                addresses=lists["addresses"],
                            ),
                            # whether the addresses came as a list (audited) or from the main fields
                            lists["addresses"] is not None,
                        )
                    )
                except ValidationFailed as failed:
                    errors += [FieldError(f"items.{i}.{d.field}", d.message, d.code) for d in failed.details]
    finally:
        _bulk_memo.reset(token)
    if errors:
        raise ValidationFailed(errors)
    Kind = ContactPoint.Kind
    # One batch check (a few queries for the whole call) instead of one per item; blocking rules
    # refuse the batch with items.<i>.<field> errors.
    warnings = check_duplicates_many(
        actor,
        model.object_type,
        [
            {**cleaned, "phones": points.get(Kind.PHONE), "emails": points.get(Kind.EMAIL)}
            for cleaned, points, *_rest in prepared
        ],
    )
    records = _bulk_write(actor, model, prepared)
    for record_, found in zip(records, warnings, strict=True):
        record_.possible_duplicates = found
    return records


def _prefetch_bulk_lookups(actor: Actor, items: list[dict]) -> None:
    """Answer the owner and account checks of all items with two queries instead of one per item."""
    memo = _bulk_memo.get()
    owners = {item.get("owner_id") for item in items} | {actor.user.pk}
    active = set(
        Membership.objects.filter(
            user_id__in=[o for o in owners if isinstance(o, int)], is_active=True
        ).values_list("user_id", flat=True)
    )
    memo.update({("member", o): o in active for o in owners if isinstance(o, int)})
    accounts = {item.get("account_id") for item in items} | {item.get("parent_id") for item in items}
    for item in items:
        accounts |= {r.get("account_id") for r in item.get("accounts") or [] if isinstance(r, dict)}
    wanted = [a for a in accounts if isinstance(a, int)]
    seen = set(visible(actor, Account.objects.filter(pk__in=wanted)).values_list("pk", flat=True))
    memo.update({("account", a): a in seen for a in wanted})


def _bulk_write(actor: Actor, model, prepared: list) -> list:
    """Insert the validated records and their points, addresses, relations, tags and audit entries.

    Every table gets one multi-row write of plain tuples (``bulk.Table``: COPY on PostgreSQL), in
    the caller's transaction; the records come back as saved instances.
    """
    user, workspace = actor.user, actor.workspace
    user_id, workspace_id = user.pk, workspace.pk
    now = timezone.now()
    records = bulk.new_records(
        model,
        [cleaned for cleaned, *_rest in prepared],
        {
            "workspace": workspace,
            "created_by": user,
            "updated_by": user,
            "created_at": now,
            "updated_at": now,
        },
    )
    owner_field = "account_id" if model is Account else "contact_id"
    stamps = (workspace_id, now, now, user_id, user_id)
    points, relations, tagged_names, addresses = [], [], [], []
    for r, (_cleaned, points_, names_, relation_items, address_items, _listed) in zip(
        records, prepared, strict=True
    ):
        pk = r.pk
        addresses += [
            (*stamps, pk, a["kind"], *(a[f] for f in ADDRESS_FIELDS), a["is_primary"])
            for a in address_items or []
        ]
        for kind, items in points_.items():
            points += [(*stamps, pk, kind, p["label"], p["value"], p["is_primary"]) for p in items or []]
        if model is Contact:
            if relation_items is None and r.account_id is not None:
                relation_items = [
                    {"account_id": r.account_id, "role": AccountContact.Role.USER, "is_primary": True}
                ]
            relations += [
                (workspace_id, now, now, user_id, pk, r_["account_id"], r_["role"], r_["is_primary"])
                for r_ in relation_items or []
            ]
        tagged_names += [(pk, name) for name in names_ or []]
    stamp_columns = ("workspace_id", "created_at", "updated_at", "created_by_id", "updated_by_id")
    bulk.Table(ContactPoint, (*stamp_columns, owner_field, "kind", "label", "value", "is_primary")).insert(
        points
    )
    bulk.Table(Address, (*stamp_columns, owner_field, "kind", *ADDRESS_FIELDS, "is_primary")).insert(
        addresses
    )
    # Relations and tag links name only their creator, as the single-record writes do.
    bulk.Table(
        AccountContact,
        (
            "workspace_id",
            "created_at",
            "updated_at",
            "created_by_id",
            "contact_id",
            "account_id",
            "role",
            "is_primary",
        ),
    ).insert(relations)
    if tagged_names:
        names = sorted({name for _pk, name in tagged_names})
        tags = {t.name: t for t in Tag.objects.filter(name__in=names)}
        missing = [Tag(workspace=workspace, name=name, created_by=user) for name in names if name not in tags]
        for tag in Tag.objects.bulk_create(missing):
            tags[tag.name] = tag
        bulk.Table(
            TaggedRecord,
            (
                "workspace_id",
                "created_at",
                "updated_at",
                "created_by_id",
                "tag_id",
                "object_type",
                "object_id",
            ),
        ).insert(
            [
                (workspace_id, now, now, user_id, tags[name].pk, model.object_type, pk)
                for pk, name in tagged_names
            ]
        )
    # One audit entry per record with the changes ``create_record`` writes for a single create
    # (its filled-in values), plus its addresses and tags.
    entries = []
    audited = _audited_fields(model)
    for r, (_cleaned, _points, names_, _relations, address_items, listed) in zip(
        records, prepared, strict=True
    ):
        # = diff({}, <snapshot without empty values>), without snapshot's per-field checks per record
        changes = {}
        for name, attname, secret in audited:
            value = json_ready(getattr(r, attname))
            if value not in EMPTY_VALUES:
                changes[name] = [MASK, MASK] if secret else [None, value]
        if address_items and listed:
            changes["addresses"] = [[], _address_lines(address_items)]
        if names_:
            changes["tags"] = [[], names_]
        entries.append((r, changes))
    _write_audit(actor, AuditEntry.Action.CREATE, model.object_type, entries, now=now)
    return records


AUDIT_COLUMNS = (
    "workspace_id",
    "created_at",
    "actor_id",
    "actor_label",
    "api_key_prefix",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "changes",
)


def _write_audit(actor: Actor, action: str, object_type: str, changes_of, *, now=None) -> None:
    """One audit entry per (record, changes), as ``audit.services.record`` would write it, in one insert."""
    user = actor.user
    stamps = (
        actor.workspace.pk,
        now or timezone.now(),
        user.pk,
        str(user.email),
        actor.api_key.prefix if actor.api_key else "",
    )
    bulk.Table(AuditEntry, AUDIT_COLUMNS).insert(
        [(*stamps, action, object_type, str(r.pk), str(r)[:200], changes) for r, changes in changes_of]
    )


@functools.cache
def _audited_fields(model) -> tuple[tuple[str, str, bool], ...]:
    """(name, attname, secret) of the fields ``snapshot`` keeps for ``model``, in ``diff``'s order."""
    names = sorted(snapshot(model()))  # which fields it keeps depends on the model only
    return tuple((n, model._meta.get_field(n).attname, is_secret(n)) for n in names)


_collector_lock = threading.Lock()
_collector_pauses = {"count": 0, "was_enabled": False}


@contextmanager
def _collector_paused():
    """Pause Python's cyclic garbage collector while a bulk call builds its rows.

    A call allocates tens of thousands of short-lived objects (models, dicts, SQL parameters):
    enough to start a full collection of the whole process heap nearly every time (≈ 130 ms,
    a quarter of the call). They are freed by reference counting when the call ends, so the
    collector has nothing to find. Concurrent calls share one pause (counted under a lock);
    the last one to finish switches the collector back on if it was on.
    """
    with _collector_lock:
        if _collector_pauses["count"] == 0:
            _collector_pauses["was_enabled"] = gc.isenabled()
            gc.disable()
        _collector_pauses["count"] += 1
    try:
        yield
    finally:
        with _collector_lock:
            _collector_pauses["count"] -= 1
            if _collector_pauses["count"] == 0 and _collector_pauses["was_enabled"]:
                gc.enable()


@transaction.atomic
def bulk_create_accounts(actor: Actor, items: list[dict]) -> list[Account]:
    """Up to 1,000 accounts (each as ``create_account`` takes it), all or none."""
    with _collector_paused():
        return _bulk_create(actor, Account, items)


@transaction.atomic
def bulk_create_contacts(actor: Actor, items: list[dict]) -> list[Contact]:
    """Up to 1,000 contacts (each as ``create_contact`` takes it), all or none."""
    with _collector_paused():
        return _bulk_create(actor, Contact, items)


def _bulk_update(actor: Actor, model, items: list[dict]) -> list:
    """Change up to ``MAX_BULK`` records, each item ``{"id": …, <fields to change>}``; all or none.

    Each item goes through the same path as a single update (access, validation, audit). A record the
    actor may not see or change is reported as ``items.<i>.id``; every error is collected before the
    transaction is rolled back, so one answer lists them all.
    """
    require(actor, "change", model.object_type)
    if len(items) > MAX_BULK:
        raise ValidationFailed(
            [FieldError("items", _("At most %d records per call.") % MAX_BULK, "too_many")]
        )
    ids = [item.get("id") for item in items]
    records = visible(actor, model.objects.all()).in_bulk([i for i in ids if isinstance(i, int)])
    errors: list[FieldError] = []
    changed = []
    with remembered_definitions():
        for i, item in enumerate(items):
            values = {k: v for k, v in item.items() if k != "id"}
            record_ = records.get(item.get("id"))
            if record_ is None or ids.index(item.get("id")) != i:
                message = (
                    _("Unknown record.") if record_ is None else _("This record is already in the call.")
                )
                errors.append(FieldError(f"items.{i}.id", message, "invalid"))
                continue
            lists = {name: values.pop(name, None) for name in LIST_FIELDS}
            try:
                with transaction.atomic():
                    changed.append(
                        _save_changes(
                            actor,
                            record_,
                            values,
                            phones=lists["phones"],
                            emails=lists["emails"],
                            tags=lists["tags"],
                            relations=lists["accounts"] if model is Contact else None,
                            addresses=lists["addresses"],
                        )
                    )
            except ValidationFailed as failed:
                errors += [FieldError(f"items.{i}.{d.field}", d.message, d.code) for d in failed.details]
    if errors:
        raise ValidationFailed(errors)
    return changed


@transaction.atomic
def bulk_update_accounts(actor: Actor, items: list[dict]) -> list[Account]:
    """Up to 1,000 account changes (each as ``update_account`` takes it), all or none."""
    return _bulk_update(actor, Account, items)


@transaction.atomic
def bulk_update_contacts(actor: Actor, items: list[dict]) -> list[Contact]:
    """Up to 1,000 contact changes (each as ``update_contact`` takes it), all or none."""
    return _bulk_update(actor, Contact, items)


# --- export ---------------------------------------------------------------------------------------

EXPORT_COLUMNS = {
    Account: [
        "id",
        "name",
        "name_en",
        "kind",
        "industry",
        "size",
        "source",
        "status",
        "phone",
        "email",
        "website",
        "country",
        "province",
        "city",
        "district",
        "street",
        "postcode",
        "owner__email",
        "created_at",
        "updated_at",
    ],
    Contact: [
        "id",
        "name",
        "name_en",
        "account__name",
        "job_title",
        "department",
        "phone",
        "email",
        "preferred_channel",
        "consent_email",
        "consent_sms",
        "consent_phone",
        "owner__email",
        "created_at",
        "updated_at",
    ],
}


def export_rows(actor: Actor, queryset: QuerySet, *, description: str = "") -> Iterator[list]:
    """Rows (header first) of the records of ``queryset`` the actor may see; the export is audited.

    ``queryset`` must come from the scoped queries (``accounts_for`` …), so record access holds.
    Rows stream in chunks: memory stays flat however many records there are.
    """
    model = queryset.model
    require(actor, "export", model.object_type)
    columns = EXPORT_COLUMNS[model]
    custom_headers, custom_cells = export_columns(actor, model.object_type)
    record(
        AuditEntry.Action.EXPORT,
        actor=actor,
        object_type=model.object_type,
        changes={"format": "csv", "filter": description},
    )
    yield columns + custom_headers
    for *values, custom in queryset.order_by("pk").values_list(*columns, "custom").iterator(chunk_size=2000):
        yield [v.isoformat() if hasattr(v, "isoformat") else v for v in values] + custom_cells(custom)
