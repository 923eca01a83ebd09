"""The permission model: object types, actions, record scopes and the built-in role matrix.

Apps register their object types (``register_object_type``) when they load; a role's stored
``permissions`` override the defaults below per object type, so workspace admins can change them.
"""

from dataclasses import dataclass
from typing import Literal

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

ACTIONS = ("view", "create", "change", "delete", "export")
RecordScope = Literal["own", "team", "all"]
SCOPES: tuple[RecordScope, ...] = ("own", "team", "all")

SYSTEM_ROLES: dict[str, Promise] = {
    # The role; a record's "Owner" (the person responsible) translates differently.
    "owner": pgettext_lazy("role", "Owner"),
    "admin": _("Administrator"),
    "manager": _("Manager"),
    "sales": _("Sales"),
    "marketing": _("Marketing"),
    "service": _("Service"),
    "readonly": _("Read only"),
}
MANAGING_ROLES = {"owner", "admin"}


@dataclass(frozen=True)
class ObjectType:
    key: str
    label: Promise | str
    domain: str  # customer | sales | marketing | service | admin


@dataclass(frozen=True)
class Grant:
    actions: frozenset[str]
    scope: RecordScope

    def allows(self, action: str) -> bool:
        return action in self.actions

    def as_dict(self) -> dict:
        return {"actions": sorted(self.actions, key=ACTIONS.index), "scope": self.scope}


NO_ACCESS = Grant(frozenset(), "own")
OBJECT_TYPES: dict[str, ObjectType] = {}


def register_object_type(key: str, label: Promise | str, domain: str) -> None:
    OBJECT_TYPES[key] = ObjectType(key, label, domain)


_ALL = frozenset(ACTIONS)
_WRITE = frozenset({"view", "create", "change"})
_VIEW = frozenset({"view"})

# role -> domain -> grant. "manager" sees and manages the records of their teams.
DEFAULT_MATRIX: dict[str, dict[str, Grant]] = {
    "owner": {d: Grant(_ALL, "all") for d in ("customer", "sales", "marketing", "service", "admin")},
    "admin": {d: Grant(_ALL, "all") for d in ("customer", "sales", "marketing", "service", "admin")},
    "manager": {
        "customer": Grant(_ALL, "team"),
        "sales": Grant(_ALL, "team"),
        "marketing": Grant(_ALL, "team"),
        "service": Grant(_ALL, "team"),
        "admin": Grant(_VIEW, "all"),
    },
    "sales": {
        "customer": Grant(_WRITE, "own"),
        "sales": Grant(_WRITE, "own"),
        "marketing": Grant(_VIEW, "all"),
        "service": Grant(_VIEW, "own"),
        "admin": Grant(_VIEW, "all"),
    },
    "marketing": {
        "customer": Grant(_VIEW | {"export"}, "all"),
        "sales": Grant(_VIEW, "all"),
        "marketing": Grant(_ALL, "all"),
        "service": Grant(frozenset(), "own"),
        "admin": Grant(_VIEW, "all"),
    },
    "service": {
        "customer": Grant(frozenset({"view", "change"}), "all"),
        "sales": Grant(_VIEW, "own"),
        "marketing": Grant(frozenset(), "own"),
        "service": Grant(_WRITE, "all"),
        "admin": Grant(_VIEW, "all"),
    },
    "readonly": {d: Grant(_VIEW, "all") for d in ("customer", "sales", "marketing", "service", "admin")},
}


def default_grant(role_key: str, object_type: str) -> Grant:
    ot = OBJECT_TYPES.get(object_type)
    if ot is None:
        return NO_ACCESS
    return DEFAULT_MATRIX.get(role_key, {}).get(ot.domain, NO_ACCESS)


def grant_from_stored(stored: dict | None) -> Grant | None:
    if not stored:
        return None
    return Grant(frozenset(a for a in stored.get("actions", []) if a in ACTIONS), stored.get("scope", "own"))


def validate_permissions(permissions: dict) -> list[tuple[str, str]]:
    """Problems in a role's stored permissions as (path, message); empty when valid."""
    problems = []
    if not isinstance(permissions, dict):
        return [("permissions", "must be an object")]
    for key, grant in permissions.items():
        if key not in OBJECT_TYPES:
            problems.append((f"permissions.{key}", f"unknown object type {key!r}"))
            continue
        if not isinstance(grant, dict):
            problems.append((f"permissions.{key}", "must be an object with actions and scope"))
            continue
        unknown = [a for a in grant.get("actions", []) if a not in ACTIONS]
        if unknown:
            problems.append((f"permissions.{key}.actions", f"unknown actions {unknown}"))
        if grant.get("scope") not in SCOPES:
            problems.append((f"permissions.{key}.scope", f"must be one of {', '.join(SCOPES)}"))
    return problems
