"""The periodic part of the mailboxes, called by ``kehu scheduler`` once a minute.

One indexed query finds the workspaces with active mailboxes (a poll job each), another the reply
mails whose (re)try is due (partial index on ``next_attempt_at``): an idle tick costs two queries.
"""

from django_scopes import scopes_disabled

from . import services
from .tasks import deliver_reply, poll_mailboxes


def tick() -> int:
    """Enqueue the poll job of each workspace with active mailboxes and the due deliveries."""
    with scopes_disabled():
        workspace_ids = list(services.pollable().order_by().values_list("workspace_id", flat=True).distinct())
    for workspace_id in workspace_ids:
        poll_mailboxes.enqueue(workspace_id)
    due = services.due_deliveries()
    for workspace_id, outbound_id in due:
        deliver_reply.enqueue(workspace_id, outbound_id)
    return len(workspace_ids) + len(due)
