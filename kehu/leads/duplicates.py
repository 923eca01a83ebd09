"""The duplicate check of new leads, behind one function until the data-quality matcher replaces it.

A new lead matches an earlier lead or a contact when it has the same normalised email or phone
(indexed lookups: ``lead_ws_email``/``lead_ws_phone`` and contacts' ``contact_point_lookup``), or a
very similar name at a very similar company. Name candidates are the records whose pinyin starts
like the new name's (an indexed prefix range), compared with rapidfuzz.
"""

import contextlib
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz

from kehu.core.normalize import normalize_email, normalize_phone
from kehu.customers.models import Contact, ContactPoint
from kehu.customers.normalize import pinyin_keys

from .models import Lead

NAME_THRESHOLD = 90
COMPANY_THRESHOLD = 85
MAX_CANDIDATES = 200
MAX_MATCHES = 10


@dataclass(frozen=True)
class Match:
    reason: str  # email | phone | name_company (LeadDuplicate.Reason)
    similarity: int
    lead_id: int | None = None
    contact_id: int | None = None


def _normalised(workspace, fields: dict[str, Any]) -> tuple[str, str]:
    email = phone = ""
    with contextlib.suppress(ValueError):
        email = normalize_email(str(fields.get("email") or ""))
    with contextlib.suppress(ValueError):
        phone = normalize_phone(str(fields.get("phone") or ""), workspace.default_region)
    return email, phone


def _company_key(value: str) -> str:
    return " ".join(str(value or "").casefold().split())


def find_lead_duplicates(
    workspace, lead_fields: dict[str, Any], *, exclude_lead_id: int | None = None
) -> list[Match]:
    """Earlier leads and contacts that may be the same person as ``lead_fields`` (name, company,
    email, phone), strongest first; at most ``MAX_MATCHES``. Runs inside the workspace scope."""
    email, phone = _normalised(workspace, lead_fields)
    found: dict[tuple[str, int], Match] = {}

    def add(match: Match) -> None:
        key = ("lead", match.lead_id) if match.lead_id else ("contact", match.contact_id)
        current = found.get(key)  # type: ignore[arg-type]
        if current is None or match.similarity > current.similarity:
            found[key] = match  # type: ignore[index]

    leads = Lead.objects.exclude(pk=exclude_lead_id) if exclude_lead_id else Lead.objects.all()
    for reason, value in (("email", email), ("phone", phone)):
        if not value:
            continue
        for pk in leads.filter(**{reason: value}).order_by("-id").values_list("pk", flat=True)[:MAX_MATCHES]:
            add(Match(reason, 100, lead_id=pk))
        contact_ids = (
            ContactPoint.objects.filter(kind=reason, value=value, contact__isnull=False)
            .order_by("-contact_id")
            .values_list("contact_id", flat=True)[:MAX_MATCHES]
        )
        for pk in contact_ids:
            add(Match(reason, 100, contact_id=pk))
    name = " ".join(str(lead_fields.get("name") or "").split())
    company = _company_key(lead_fields.get("company") or "")
    if name and company:
        pinyin, _initials = pinyin_keys(name)
        prefix = pinyin[: max(2, min(4, len(pinyin)))]
        for pk, other_pinyin, other_company in leads.filter(name_pinyin__startswith=prefix).values_list(
            "pk", "name_pinyin", "company"
        )[:MAX_CANDIDATES]:
            score = _similarity(pinyin, company, other_pinyin, other_company)
            if score:
                add(Match("name_company", score, lead_id=pk))
        contacts = Contact.objects.filter(name_pinyin__startswith=prefix, account__isnull=False).values_list(
            "pk", "name_pinyin", "account__name"
        )[:MAX_CANDIDATES]
        for pk, other_pinyin, other_company in contacts:
            score = _similarity(pinyin, company, other_pinyin, other_company)
            if score:
                add(Match("name_company", score, contact_id=pk))
    return sorted(found.values(), key=lambda m: (-m.similarity, m.reason))[:MAX_MATCHES]


def _similarity(pinyin: str, company: str, other_pinyin: str, other_company: str) -> int:
    """The weaker of the name and company similarities (0 when either is below its threshold)."""
    name_score = fuzz.ratio(pinyin, other_pinyin)
    if name_score < NAME_THRESHOLD:
        return 0
    company_score = fuzz.token_sort_ratio(company, _company_key(other_company))
    if company_score < COMPANY_THRESHOLD:
        return 0
    return int(min(name_score, company_score))
