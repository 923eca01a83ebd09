"""Scoped reads of quotes: the list, one quote with its lines, its versions, an opportunity's quotes."""

from django.db.models import Prefetch, Q, QuerySet

from kehu.workspaces.access import Actor, visible

from .models import Quote, QuoteLine


def quotes_for(actor: Actor, q: str = "") -> QuerySet[Quote]:
    """Quotes the actor may see; ``q`` matches the number, the opportunity's or the account's name."""
    qs = visible(actor, Quote.objects.select_related("account", "opportunity", "owner"))
    if q := " ".join(q.split()):
        qs = qs.filter(
            Q(number__icontains=q) | Q(opportunity__name__icontains=q) | Q(account__name__icontains=q)
        )
    return qs


def with_lines(qs: QuerySet[Quote]) -> QuerySet[Quote]:
    return qs.select_related("account", "contact", "opportunity", "owner", "order").prefetch_related(
        Prefetch("lines", queryset=QuoteLine.objects.select_related("product").order_by("position", "id"))
    )


def versions_of(quote: Quote) -> list[Quote]:
    """Every version of the quote's number, newest first (the version history)."""
    return list(
        Quote.objects.filter(number=quote.number)
        .only(
            "id", "number", "version", "status", "is_current", "total", "currency", "issue_date", "created_at"
        )
        .order_by("-version")
    )


def quotes_of_opportunity(actor: Actor, opportunity_id: int, limit: int = 20) -> list[Quote]:
    """The current version of each quote of a deal, newest first."""
    return list(
        visible(actor, Quote.objects.filter(opportunity_id=opportunity_id, is_current=True))
        .only("id", "number", "version", "status", "total", "currency", "valid_until", "owner_id", "team_id")
        .order_by("-created_at", "-id")[:limit]
    )
