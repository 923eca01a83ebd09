"""Reads of survey answers under the caller's permissions."""

from django.db.models import Q, QuerySet

from kehu.customers.models import Contact
from kehu.tickets.models import Ticket
from kehu.workspaces.access import Actor, require, scope_filter, visible

from .models import Survey, SurveyResponse


def visible_responses(actor: Actor) -> QuerySet[SurveyResponse]:
    """Answers the actor may read: needs "view" on surveys; a role that sees only some records sees the
    answers about tickets or contacts it can see."""
    require(actor, "view", Survey.object_type)
    qs = SurveyResponse.objects.all()
    if scope_filter(actor, Survey.object_type) is None and scope_filter(actor, Contact.object_type) is None:
        return qs
    return qs.filter(
        Q(ticket__in=visible(actor, Ticket.objects.all()).values("pk"))
        | Q(contact__in=visible(actor, Contact.objects.all()).values("pk"))
    )
