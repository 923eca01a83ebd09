"""Scoped reads of leads for views, the API and exports."""

from django.db.models import Q, QuerySet

from kehu.core.normalize import normalize_email
from kehu.customers.models import Contact
from kehu.workspaces.access import Actor, visible

from .models import Lead, LeadDuplicate


def search_condition(q: str) -> Q:
    """Name, Latin name or company contains ``q``; an email address matches exactly; Latin letters
    also match the start of the pinyin ("zhangw")."""
    q = " ".join(q.split())
    if "@" in q:
        try:
            return Q(email=normalize_email(q))
        except ValueError:
            return Q(pk__in=[])
    condition = Q(name__icontains=q) | Q(name_en__icontains=q) | Q(company__icontains=q)
    compact = q.replace(" ", "").lower()
    if compact.isascii() and compact.isalpha() and len(compact) >= 3:
        condition |= Q(name_pinyin__startswith=compact)
    digits = "".join(ch for ch in q if ch.isdigit())
    if len(digits) >= 4 and len(digits) >= len(q.replace(" ", "")) - 3:
        condition |= Q(phone__contains=digits)
    return condition


def leads_for(actor: Actor, q: str = "") -> QuerySet[Lead]:
    """The leads the actor may see, optionally searched; owners joined for list pages."""
    qs = visible(actor, Lead.objects.select_related("owner"))
    q = (q or "").strip()
    return qs.filter(search_condition(q)) if q else qs


def open_duplicates(actor: Actor, lead: Lead) -> list[LeadDuplicate]:
    """The lead's flagged, not dismissed, possible duplicates the actor may see."""
    rows = list(
        LeadDuplicate.objects.filter(lead=lead, dismissed_at__isnull=True)
        .select_related("other_lead", "other_contact__account")
        .order_by("-similarity", "id")
    )
    lead_ids = {r.other_lead_id for r in rows if r.other_lead_id}
    contact_ids = {r.other_contact_id for r in rows if r.other_contact_id}
    seen_leads = set(visible(actor, Lead.objects.filter(pk__in=lead_ids)).values_list("pk", flat=True))
    seen_contacts = set(
        visible(actor, Contact.objects.filter(pk__in=contact_ids)).values_list("pk", flat=True)
    )
    return [r for r in rows if r.other_lead_id in seen_leads or r.other_contact_id in seen_contacts]
