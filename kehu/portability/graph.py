"""The model graph of a workspace: which tables hold its data, how they reference each other.

Nothing here names an app's model to export: every model with a ``workspace`` foreign key (all
``WorkspaceModel`` subclasses, and the plain models like the audit trail or the timeline links),
plus the automatic many-to-many tables of those, is found in the app registry. A new app's
models are exported and imported without code changes, unless they hold references this module
cannot see (ids inside a plain integer field): those must be declared in ``ID_REFERENCES`` —
``test_graph`` fails for an undeclared ``*_id`` integer field.
"""

from dataclasses import dataclass, field
from functools import cache

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models

# Models holding a workspace's data that are deliberately not exported, with the reason.
EXCLUDED: dict[str, str] = {
    "workspaces.apikey": "secrets: API keys are issued again in the new workspace",
    "portability.exportjob": "the exports' own bookkeeping (file paths on this server)",
    "portability.qualitysnapshot": "a cache, computed again from the data",
    "deals.openstagetotal": "derived: database triggers rebuild it as the deals are inserted",
    "customers.accountrollup": "derived: database triggers rebuild it as the accounts are inserted",
    "commerce.orderrollup": "derived: database triggers rebuild it as the orders are inserted",
}

# Integer fields holding ids without a foreign key and without an ``<x>_type`` sibling:
# "app.model.field" -> the referenced table's label; "=<field>" when the row's own field names the
# type (a duplicate candidate's ``object_type``); "@<fk>.<field>" when the row's foreign key does
# (a follow-up run's record type is its plan's ``record_type``).
ID_REFERENCES: dict[str, str] = {
    "scoring.scoringstate.last_link_id": "activities.activitylink",
    "activities.followuprun.object_id": "@plan.record_type",
    "duplicates.candidate.record_a": "=object_type",
    "duplicates.candidate.record_b": "=object_type",
    "duplicates.candidate.cluster": "=object_type",
    "duplicates.mergerecord.survivor_id": "=object_type",
}

# Integer fields that look like ids (``BigIntegerField`` or ``*_id``) but are not references.
NOT_REFERENCES: dict[str, str] = {
    "commerce.order.external_id": "the order's id in another system",
    "imports.importjob.file_size": "bytes",
    "deals.stagechange.seconds_in_previous": "a duration",
    "mailboxes.inboundmail.message_id": "a mail's Message-ID header",
    "mailboxes.outboundmail.message_id": "a mail's Message-ID header",
    "tickets.ticketentry.message_id": "a mail's Message-ID header",
}


@dataclass
class Node:
    """One exported table: its model, how to select the workspace's rows, and its references."""

    model: type[models.Model]
    label: str  # "customers.contact"
    workspace_path: str  # ORM path to the workspace id: "workspace_id" or "team__workspace_id"
    fields: list[models.Field] = field(default_factory=list)  # concrete fields, pk first
    fks: dict[str, str] = field(default_factory=dict)  # attname -> target label (exported or users.user)
    generic: list[tuple[str, str]] = field(default_factory=list)  # (type attname, id attname)
    id_refs: dict[str, str] = field(default_factory=dict)  # attname -> ID_REFERENCES target

    @property
    def file(self) -> str:
        return f"data/{self.label}.jsonl"

    @property
    def pk(self) -> str:
        return self.model._meta.pk.attname


def _has_workspace_fk(model) -> bool:
    try:
        f = model._meta.get_field("workspace")
    except FieldDoesNotExist:
        return False
    return bool(f.is_relation and f.related_model is not None and f.related_model._meta.label_lower
                == "workspaces.workspace")


def _kehu_models(include_auto_created: bool):
    for model in apps.get_models(include_auto_created=include_auto_created):
        if model.__module__.startswith("kehu.") and not model._meta.proxy:
            yield model


@cache
def nodes() -> dict[str, Node]:
    """Every exported table by label, in dependency order (a row's targets come before it)."""
    found: dict[str, Node] = {}
    for model in _kehu_models(False):
        label = model._meta.label_lower
        if label in EXCLUDED or label == "workspaces.workspace" or not _has_workspace_fk(model):
            continue
        found[label] = Node(model, label, "workspace_id")
    # Automatic many-to-many tables (team members, activity participants, mentions).
    for model in _kehu_models(True):
        if not model._meta.auto_created:
            continue
        owner = next(
            (f for f in model._meta.concrete_fields
             if f.is_relation and f.related_model._meta.label_lower in found),
            None,
        )
        if owner is not None:
            label = model._meta.label_lower
            found[label] = Node(model, label, f"{owner.name}__workspace_id")
    for node in found.values():
        _describe(node, found)
    return {label: found[label] for label in _order(found)}


def _describe(node: Node, found: dict[str, Node]) -> None:
    meta = node.model._meta
    node.fields = [f for f in meta.concrete_fields if f.attname != "workspace_id"]
    names = {f.attname for f in node.fields}
    for f in node.fields:
        if f.is_relation:
            target = f.related_model._meta.label_lower
            if target in found or target == "users.user":
                node.fks[f.attname] = target
            else:
                raise LookupError(f"{node.label}.{f.name} references {target}, which is not exported")
        elif f.attname.endswith("_type") and f.attname.removesuffix("_type") + "_id" in names:
            node.generic.append((f.attname, f.attname.removesuffix("_type") + "_id"))
    for attname in names:
        key = f"{node.label}.{attname}"
        if key in ID_REFERENCES:
            node.id_refs[attname] = ID_REFERENCES[key]


def undeclared_id_fields() -> list[str]:
    """Fields that may hold ids (``BigIntegerField`` or ``*_id``) but are neither foreign keys, generic
    pairs nor declared in ``ID_REFERENCES``/``NOT_REFERENCES`` (``test_graph`` wants none)."""
    problems = []
    for node in nodes().values():
        paired = {id_name for _t, id_name in node.generic}
        for f in node.fields:
            if f.is_relation or f.primary_key:
                continue
            if not (f.attname.endswith("_id") or f.get_internal_type() == "BigIntegerField"):
                continue
            key = f"{node.label}.{f.attname}"
            if f.attname not in paired and key not in ID_REFERENCES and key not in NOT_REFERENCES:
                problems.append(key)
    return problems


def _order(found: dict[str, Node]) -> list[str]:
    """Topological order by foreign keys; generic holders after every plain table (their targets can be
    anything). Cycles (self references, leads ↔ opportunities) are broken by deferring the nullable
    reference: the importer writes it in a second pass (``deferred``)."""
    holders = {label for label, n in found.items() if n.generic or n.id_refs}
    # Plain tables that refer to a holder (a comment's mentions) come after it, so holders wait only
    # for the other plain tables.
    after_holders: set[str] = set()
    grew = True
    while grew:
        grew = False
        for label in sorted(set(found) - holders - after_holders):
            if any(t in holders or t in after_holders for t in found[label].fks.values() if t != label):
                after_holders.add(label)
                grew = True
    deps: dict[str, set[str]] = {}
    for label, node in found.items():
        d = {t for t in node.fks.values() if t in found and t != label}
        if label in holders:
            d |= set(found) - holders - after_holders
        deps[label] = d
    order: list[str] = []
    done: set[str] = set()
    remaining = sorted(found)
    while remaining:
        ready = [lab for lab in remaining if deps[lab] <= done]
        if not ready:  # a cycle: take the table with fewest unmet dependencies, its references wait
            ready = [min(remaining, key=lambda lab: (len(deps[lab] - done), lab))]
        for lab in ready:
            order.append(lab)
            done.add(lab)
            remaining.remove(lab)
    return order


def model_of(object_type: str) -> str | None:
    """The exported table of a generic reference's type ("customers.contact"), if any."""
    label = (object_type or "").lower()
    return label if label in nodes() else None
