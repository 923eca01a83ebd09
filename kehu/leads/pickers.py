"""Suggestions for the lead picker (``kehu.core.pickers``): the lead list's search as the user may see
it, 20 at a time by name. Custom "relation" fields to leads find it by its URL name ``leads:lead-pick``."""

from django.urls import path

from kehu.core.pickers import picker_query, picker_response
from kehu.workspaces.views import member_required

from .queries import leads_for


def _detail(lead) -> str:
    return " · ".join(part for part in (lead.company, lead.email) if part)


def pick_lead(request):
    """``?q=`` name, Latin name, company, pinyin start, email or phone digits."""
    records = leads_for(request.actor, picker_query(request)).select_related(None)
    return picker_response(
        request,
        records.only("id", "name", "company", "email"),
        label=lambda lead: lead.name,
        detail=_detail,
    )


urlpatterns = [path("leads/pick/", member_required(pick_lead), name="lead-pick")]
