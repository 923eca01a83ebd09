"""Background jobs: the CSAT mail after a resolution, NPS campaigns in batches, sentiment refresh."""

from kehu.tickets.models import Ticket
from kehu.workspaces.tasks import actor_task, workspace_task

from . import services
from .models import Survey


@workspace_task
def send_csat(workspace, ticket_id: int) -> int | None:
    ticket = Ticket.objects.select_related("contact", "workspace").filter(pk=ticket_id).first()
    if ticket is None:
        return None
    invitation = services.send_csat(ticket)
    return invitation.pk if invitation else None


@actor_task
def send_survey_batch(actor, survey_id: int, after_id: int) -> int | None:
    """One batch, then the next one as its own job (a long campaign never holds one worker)."""
    survey = Survey.objects.select_related("workspace", "audience_view").filter(pk=survey_id).first()
    if survey is None or survey.status != Survey.Status.SENDING:
        return None
    last = services.send_batch(actor, survey, after_id)
    if last is not None:
        send_survey_batch.enqueue(actor.membership.pk, survey_id, last)
    return last


@workspace_task
def refresh_sentiment(workspace) -> int:
    return services.refresh_sentiment(workspace)
