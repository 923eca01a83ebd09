"""Listeners on the ticket signals: a public reply on a ticket goes out by mail."""


def on_entry_added(sender, entry, **kwargs) -> None:
    from .services import queue_reply

    queue_reply(entry)


def connect() -> None:
    from kehu.tickets.signals import entry_added

    entry_added.connect(on_entry_added, dispatch_uid="mailboxes.send_reply")
