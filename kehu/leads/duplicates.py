"""The duplicate check of new leads, behind one function; the data-quality matcher answers it.

The duplicates app (a higher layer, which leads must not import) registers its finder here in
``ready()``: ``fn(workspace, lead_fields, exclude_lead_id) -> list[Match]`` over earlier leads and
contacts, by the workspace's matching rules for leads (exact email/phone, pinyin-aware fuzzy name
+ company + city). It raises ``ValidationFailed`` when a blocking rule fires, which rolls the
lead's create back.
"""

from dataclasses import dataclass
from typing import Any

MAX_MATCHES = 10
_FINDERS: list = []


@dataclass(frozen=True)
class Match:
    reason: str  # email | phone | name_company (LeadDuplicate.Reason)
    similarity: int
    lead_id: int | None = None
    contact_id: int | None = None


def register_duplicate_finder(fn) -> None:
    if fn not in _FINDERS:
        _FINDERS.append(fn)


def find_lead_duplicates(
    workspace, lead_fields: dict[str, Any], *, exclude_lead_id: int | None = None
) -> list[Match]:
    """Earlier leads and contacts that may be the same person as ``lead_fields`` (name, company,
    email, phone, city), strongest first; at most ``MAX_MATCHES``. Runs inside the workspace scope."""
    found: list[Match] = []
    for fn in _FINDERS:
        found += fn(workspace, lead_fields, exclude_lead_id)
    return sorted(found, key=lambda m: (-m.similarity, m.reason))[:MAX_MATCHES]
