"""The customer grades (tiers) lower apps may route and filter by.

``Account.grade`` holds a tier key. Which tiers a workspace has is configured in the analytics app,
which sits above the apps that use grades (SLA policies, ticket routing, lead assignment); it
installs its provider here with ``set_grade_provider`` so those apps can offer the workspace's tiers
without importing it. Until then the three tiers of the seeds apply.
"""

from collections.abc import Callable

from django.utils.translation import gettext_lazy as _

DEFAULT_GRADES = [
    ("strategic", _("Strategic")),
    ("important", _("Important")),
    ("ordinary", _("Ordinary")),
]

_provider: Callable | None = None


def set_grade_provider(provider: Callable) -> None:
    """Install ``provider(workspace) -> [(key, label), ...]`` (highest tier first)."""
    global _provider
    _provider = provider


def grade_choices(workspace) -> list[tuple[str, str]]:
    """The workspace's tiers as (key, label), highest first."""
    if _provider is not None:
        return list(_provider(workspace))
    return [(key, str(label)) for key, label in DEFAULT_GRADES]
