"""The duplicate check of creates and edits, as a hook: the duplicates app (a higher layer, which
customers must not import) registers its finder in ``ready()``.

A finder is ``fn(actor, object_type, values, instance=None) -> list[dict]``: it returns the likely
duplicates (``possible_duplicates``) or raises ``ValidationFailed`` when a blocking rule fires.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
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


# A batch finder is ``fn(actor, object_type, values_list) -> list[list[dict]]`` (one list of likely
# duplicates per item, in order) for bulk creates; it answers the whole batch with a few queries and
# raises ``ValidationFailed`` with ``items.<i>.<field>`` errors when a blocking rule fires.
_BATCH_FINDERS: list = []


def register_batch_duplicate_finder(fn) -> None:
    if fn not in _BATCH_FINDERS:
        _BATCH_FINDERS.append(fn)


def check_duplicates_many(actor, object_type: str, values_list: list[dict[str, Any]]) -> list[list[dict]]:
    found: list[list[dict]] = [[] for _ in values_list]
    for fn in _BATCH_FINDERS:
        for mine, more in zip(found, fn(actor, object_type, values_list), strict=True):
            mine += more
    return found


# What a batch finder read of existing records (the duplicates app keeps their match features by
# (object type, id)), kept from one bulk call to the next inside ``remembered_records()``.
_REMEMBERED: ContextVar[dict | None] = ContextVar("duplicate_candidates_remembered", default=None)


@contextmanager
def remembered_records() -> Iterator[dict]:
    """Inside, batch finders keep what they read of existing records for the next bulk calls (an
    import's batches share most of their namesakes); the dict is yielded so that the caller can bound how
    stale it gets (``clear()``) — records edited meanwhile are seen as they were when first read."""
    memo: dict = {}
    token = _REMEMBERED.set(memo)
    try:
        yield memo
    finally:
        _REMEMBERED.reset(token)


def remembered() -> dict | None:
    """The memo of the enclosing ``remembered_records()``, or None outside one."""
    return _REMEMBERED.get()
