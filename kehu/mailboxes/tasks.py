"""Background jobs of the mailboxes: polling (``schedule.tick`` enqueues it) and sending replies."""

from kehu.workspaces.tasks import workspace_task

from . import services
from .models import Mailbox


@workspace_task
def poll_mailboxes(workspace, mailbox_id: int | None = None) -> dict:
    """Poll the workspace's active mailboxes (or one): counts of mails fetched, opened, added, ignored."""
    mailboxes = services.pollable().order_by("pk")
    if mailbox_id is not None:
        mailboxes = Mailbox.objects.filter(pk=mailbox_id).exclude(imap_host="")
    totals: dict = {}
    for mailbox in mailboxes:
        result = services.poll(mailbox)
        totals[mailbox.pk] = result.__dict__
    return totals


@workspace_task
def deliver_reply(workspace, outbound_id: int) -> str:
    """Send one queued reply by SMTP; failures are kept on the row and retried by the scheduler."""
    return services.deliver(outbound_id)
