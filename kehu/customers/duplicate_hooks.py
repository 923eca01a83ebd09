"""The duplicate check of creates and edits, as a hook: the duplicates app (a higher layer, which
customers must not import) registers its finder in ``ready()``.

A finder is ``fn(actor, object_type, values, instance=None) -> list[dict]``: it returns the likely
duplicates (``possible_duplicates``) or raises ``ValidationFailed`` when a blocking rule fires.
"""

from typing import Any

_FINDERS: list = []


def register_duplicate_finder(fn) -> None:
    if fn not in _FINDERS:
        _FINDERS.append(fn)


def check_duplicates(actor, object_type: str, values: dict[str, Any], instance=None) -> list[dict]:
    found: list[dict] = []
    for fn in _FINDERS:
        found += fn(actor, object_type, values, instance)
    return found
