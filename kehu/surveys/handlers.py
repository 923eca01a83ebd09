"""Reactions to the ticket services' signals."""

from django.db import transaction


def on_status_changed(sender, ticket, old, new, **kwargs) -> None:
    """A ticket reached "resolved": invite its requester to rate it (mail sent by a background job)."""
    if new != "resolved" or old == "resolved":
        return
    from .tasks import send_csat

    workspace_id, ticket_id = ticket.workspace_id, ticket.pk
    transaction.on_commit(lambda: send_csat.enqueue(workspace_id, ticket_id))


def connect() -> None:
    from kehu.tickets.signals import status_changed

    status_changed.connect(on_status_changed, dispatch_uid="surveys.on_status_changed")
