"""What higher apps add under each entry of a ticket's conversation. The mail app registers the
delivery status of a public reply's mail here, so tickets never imports mailboxes (it sits below it).

An extra is a template included inside each entry (with ``entry`` in its context) and the
``TicketEntry`` prefetch lookup that template reads: the ticket page prefetches every registered
lookup for all its entries at once, so an extra costs one query per page, never one per entry.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class EntryExtra:
    template: str
    prefetch: str


ENTRY_EXTRAS: list[EntryExtra] = []


def register_entry_extra(extra: EntryExtra) -> None:
    if extra not in ENTRY_EXTRAS:
        ENTRY_EXTRAS.append(extra)


def entry_prefetches() -> list[str]:
    return [extra.prefetch for extra in ENTRY_EXTRAS]


def entry_templates() -> list[str]:
    return [extra.template for extra in ENTRY_EXTRAS]
