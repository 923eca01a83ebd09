"""Signals of the ticket services, sent after the surrounding transaction commits.

- ``ticket_opened(sender=Ticket, ticket=...)``
- ``entry_added(sender=TicketEntry, entry=...)`` — mailboxes sends public replies by SMTP
- ``status_changed(sender=Ticket, ticket=..., old=..., new=...)`` — surveys sends the CSAT on "resolved"
"""

from django.db import transaction
from django.dispatch import Signal

ticket_opened = Signal()
entry_added = Signal()
status_changed = Signal()


def send_after_commit(signal: Signal, sender, **kwargs) -> None:
    transaction.on_commit(lambda: signal.send(sender=sender, **kwargs))
