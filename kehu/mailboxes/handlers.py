"""Listeners on the ticket signals: a public reply on a ticket goes out by mail."""

import logging

logger = logging.getLogger("kehu.mailboxes")


def on_entry_added(sender, entry, **kwargs) -> None:
    """Queue the mail of a public reply. The reply itself is saved already: a failure here is logged,
    never turned into an error page for the agent."""
    from .services import queue_reply

    try:
        queue_reply(entry)
    except Exception:
        logger.exception("the mail of ticket entry %s could not be queued", entry.pk)


def connect() -> None:
    from kehu.tickets.signals import entry_added

    entry_added.connect(on_entry_added, dispatch_uid="mailboxes.send_reply")
