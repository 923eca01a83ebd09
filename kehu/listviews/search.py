"""The global search (the top-bar box): a registry of result groups, one per record type.

An app contributes a group with one call in its ``AppConfig.ready()``::

    register_search(SearchGroup(
        key="leads", label=_("Leads"), object_type="leads.lead",
        search=lambda actor, q, limit: list(leads_for(actor, q).order_by("name")[:limit]),
        url=lambda lead: reverse("leads:lead-detail", args=[lead.pk]),
        details=lambda lead: [lead.company],
        more_url=lambda q: reverse("leads:lead-list") + "?q=" + quote(q),
        order=30,
    ))

``search`` must return only records the actor may see (use the app's ``visible`` query); the page
asks for ``limit + 1`` rows to know whether to offer "Show all". Groups whose object type the
member may not view are skipped without running their query.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise

from kehu.workspaces.access import Actor


@dataclass(frozen=True)
class SearchGroup:
    key: str  # the result section's id on the page: ``search-<key>``
    label: Promise | str
    object_type: str  # the member needs its "view" right
    search: Callable[[Actor, str, int], list]  # (actor, query, limit) -> visible records
    url: Callable[[Any], str]  # a result's page
    title: Callable[[Any], str] = str
    details: Callable[[Any], list] = field(default=lambda record: [])  # short extra cells
    more_url: Callable[[str], str] | None = None  # the full list for the query
    order: int = 100


@dataclass
class GroupResult:
    group: SearchGroup
    rows: list
    more: bool  # more than the rows shown match
    query: str = ""

    @property
    def more_link(self) -> str:
        return self.group.more_url(self.query) if self.more and self.group.more_url else ""

    @property
    def items(self) -> list[dict]:
        g = self.group
        return [
            {"title": g.title(r), "url": g.url(r), "details": [d for d in g.details(r) if d]}
            for r in self.rows
        ]


GROUPS: dict[str, SearchGroup] = {}


def register_search(group: SearchGroup) -> None:
    GROUPS[group.key] = group


def search_groups(actor: Actor) -> list[SearchGroup]:
    return sorted((g for g in GROUPS.values() if actor.can("view", g.object_type)), key=lambda g: g.order)


def run_search(actor: Actor, query: str, limit: int = 10) -> list[GroupResult]:
    """Every group's first ``limit`` matches, in the groups' order."""
    results = []
    for group in search_groups(actor):
        found = list(group.search(actor, query, limit + 1))
        results.append(GroupResult(group, found[:limit], len(found) > limit, query))
    return results
