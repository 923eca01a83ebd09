"""Scoped reads of tickets for the list, the API, the panels and the complaint report."""

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from kehu.core.normalize import normalize_email
from kehu.workspaces.access import Actor, visible

from .hooks import entry_prefetches
from .models import Ticket, TicketEntry

LIST_RELATED = ("owner", "team", "account", "contact")


def search_condition(q: str) -> Q:
    """ "#123" or a number finds the ticket number; an email address the requester; otherwise the
    subject contains the text."""
    q = " ".join(q.split())
    digits = q.lstrip("#")
    if digits.isdigit():
        return Q(number=int(digits)) if len(digits) <= 9 else Q(pk__in=[])
    if "@" in q:
        try:
            return Q(requester_email=normalize_email(q))
        except ValueError:
            return Q(pk__in=[])
    return Q(subject__icontains=q)


def tickets_for(actor: Actor, q: str = "") -> QuerySet[Ticket]:
    """The tickets the actor may see, optionally searched; assignee, queue and customer joined."""
    qs = visible(actor, Ticket.objects.select_related(*LIST_RELATED))
    q = (q or "").strip()
    return qs.filter(search_condition(q)) if q else qs


def breached_condition(now=None) -> Q:
    """Tickets whose SLA is breached now, from the row's columns (the badge's "breached")."""
    now = now or timezone.now()
    running = Q(sla_paused_at__isnull=True)
    return Q(sla_policy__isnull=False) & (
        Q(sla_breached_at__isnull=False)
        | (running & Q(first_responded_at__isnull=True, first_response_due_at__lt=now))
        | (running & Q(resolved_at__isnull=True, resolution_due_at__lt=now))
    )


def thread(ticket: Ticket, *, include_notes: bool = True) -> list[TicketEntry]:
    """The conversation, oldest first, with authors, attachments and what higher apps show under each
    entry (``hooks``): one query for the entries, one per prefetch, whatever their number."""
    qs = (
        TicketEntry.objects.filter(ticket=ticket)
        .select_related("author")
        .prefetch_related("attachments", *entry_prefetches())
    )
    if not include_notes:
        qs = qs.exclude(kind=TicketEntry.Kind.NOTE)
    return list(qs.order_by("created_at", "id"))


def complaint_report(actor: Actor, *, since=None, until=None) -> dict:
    """Complaints the actor may see, grouped: by root cause, by product, by outcome (counts and
    compensation totals), in one grouped query each."""
    qs = tickets_for(actor).select_related(None).filter(type=Ticket.Type.COMPLAINT)
    if since:
        qs = qs.filter(created_at__gte=since)
    if until:
        qs = qs.filter(created_at__lt=until)

    def grouped(key: str, label, *extra: str) -> list[dict]:
        """Counts and compensation per value of ``key``; ``label(row)`` names a group."""
        rows = (
            qs.order_by()
            .values(key, *extra)
            .annotate(count=Count("id"), compensation=Sum("compensation_amount"))
            .order_by("-count", key, *extra)
        )
        return [
            {
                "key": r[key],
                "label": str(label(r) or "") or "—",
                "count": r["count"],
                "compensation": r["compensation"] or 0,
            }
            for r in rows
        ]

    def choice(field: str, choices):
        names = dict(choices.choices)
        return lambda row: names.get(row[field], "")

    totals = qs.order_by().aggregate(count=Count("id"), compensation=Sum("compensation_amount"))
    return {
        "total": totals["count"],
        "compensation": totals["compensation"] or 0,
        "by_root_cause": grouped("root_cause", choice("root_cause", Ticket.RootCause)),
        "by_product": grouped("product_id", lambda row: row["product__name"], "product__name"),
        "by_outcome": grouped("outcome", choice("outcome", Ticket.Outcome)),
        "by_severity": grouped("severity", choice("severity", Ticket.Severity)),
    }
