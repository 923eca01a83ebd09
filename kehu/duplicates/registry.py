"""What the duplicates app knows of each object type: where its match features live, and which
related rows a merge moves. Later apps (tickets …) add theirs with one call in ``ready()``.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import models

from .matcher import Features, build_features


@dataclass(frozen=True)
class TypeSpec:
    """One object type the matcher and the merge handle.

    ``columns`` maps the matcher's input names (name, name_en, name_pinyin — the stored joined
    pinyin of the name, company, city, street, email, phone) to ORM paths; ``points`` names the
    ``ContactPoint`` foreign key when the type keeps every phone and email there; ``merge_fields``
    are the fields whose surviving value the user picks.
    """

    object_type: str
    model_label: str
    columns: dict[str, str]
    label: Any = ""
    organisation: bool = False
    points: str = ""
    merge_fields: tuple[str, ...] = ()
    url_name: str = ""
    annotations: dict[str, Callable] = field(default_factory=dict)  # computed columns (a contact's city)

    @property
    def model(self) -> type[models.Model]:
        return apps.get_model(self.model_label)


TYPES: dict[str, TypeSpec] = {}


def register_type(spec: TypeSpec) -> None:
    TYPES[spec.object_type] = spec


def spec_for(object_type: str) -> TypeSpec:
    return TYPES[object_type]


def fetch_features(spec: TypeSpec, queryset, region: str, *, with_custom: bool = True) -> list[Features]:
    """Features of every record of ``queryset`` (two queries: the rows, then their phones/emails)."""
    paths = list(spec.columns.values())
    names = list(spec.columns.keys())
    extra = ["custom"] if with_custom else []
    if spec.annotations:
        queryset = queryset.annotate(**{name: make() for name, make in spec.annotations.items()})
    rows = list(queryset.values_list("id", *paths, *extra))
    points: dict[int, dict[str, list[str]]] = {}
    if spec.points and rows:
        from kehu.customers.models import ContactPoint

        ids = [r[0] for r in rows]
        owner = spec.points + "_id"
        for owner_id, kind, value in ContactPoint.objects.filter(**{owner + "__in": ids}).values_list(
            owner, "kind", "value"
        ):
            points.setdefault(owner_id, {}).setdefault(kind + "s", []).append(value)
    return [features_of_row(spec, names, row, region, points.get(row[0]), with_custom) for row in rows]


def features_of_row(spec: TypeSpec, names, row, region, points=None, with_custom=True) -> Features:
    values = dict(zip(names, row[1 : 1 + len(names)], strict=True))
    if with_custom:
        values["custom"] = row[1 + len(names)]
    if points:
        values.update(points)
    return build_features(
        values,
        region=region,
        organisation=spec.organisation,
        object_type=spec.object_type,
        record_id=row[0],
        stored=True,
    )


# --- relations a merge moves ----------------------------------------------------------------------


@dataclass(frozen=True)
class Relation:
    """Rows of ``model`` that point at a record: by foreign key (``field``), or generically by
    ``(type_field, field)`` = (object type, id).

    ``reset`` sets columns on the moved rows (a moved address is not the survivor's primary);
    ``unique_with`` names columns that, with the pointer, identify a row: a loser's row that the
    survivor already has (the same tag, the same timeline entry) is removed instead of moved.
    """

    model_label: str
    field: str
    type_field: str = ""
    reset: dict[str, Any] = field(default_factory=dict)
    unique_with: tuple[str, ...] = ()

    @property
    def model(self) -> type[models.Model]:
        return apps.get_model(self.model_label)

    @property
    def key(self) -> tuple[str, str]:
        return (self.model_label, self.field)


RELATIONS: dict[str, dict[tuple[str, str], Relation]] = {}
GENERIC: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {}  # generic pointers, for every type
SKIPPED: set[tuple[str, str]] = set()  # foreign keys a merge must not move (the app handles them)


def register_relation(object_type: str, relation: Relation) -> None:
    """Add (or refine) one relation of ``object_type`` that a merge moves to the survivor."""
    RELATIONS.setdefault(object_type, {})[relation.key] = relation


def register_generic_relation(
    model_label: str, type_field: str, id_field: str, unique_with: tuple[str, ...] = ()
) -> None:
    """Rows that name any record as ``(type_field, id_field)`` (timeline links, tags, comments …):
    every merged type moves them."""
    GENERIC[(model_label, id_field)] = (type_field, unique_with)


def skip_relation(model_label: str, field_name: str) -> None:
    SKIPPED.add((model_label, field_name))


def relations_for(object_type: str) -> list[Relation]:
    """Every relation of the type: the registered ones, the generic ones, and every foreign key to
    the model found in the installed apps (so a new app's foreign keys move without registering).
    A foreign key in a unique constraint gets that constraint's other columns as ``unique_with``."""
    spec = spec_for(object_type)
    found = dict(RELATIONS.get(object_type, {}))
    for (label, id_field), (type_field, unique_with) in GENERIC.items():
        found.setdefault((label, id_field), Relation(label, id_field, type_field, unique_with=unique_with))
    for rel in spec.model._meta.get_fields(include_hidden=True):  # hidden: related_name="+" too
        if not (rel.auto_created and not rel.concrete and rel.one_to_many):
            continue
        if not isinstance(rel.field, models.ForeignKey):
            continue
        label = rel.related_model._meta.label
        key = (label, rel.field.name)
        if key in found or key in SKIPPED or (rel.related_model is spec.model and rel.field.name != "parent"):
            continue
        found[key] = Relation(
            label, rel.field.name, unique_with=_unique_partners(rel.related_model, rel.field)
        )
    return list(found.values())


def _unique_partners(model, fk) -> tuple[str, ...]:
    for constraint in model._meta.constraints:
        unique = isinstance(constraint, models.UniqueConstraint) and constraint.condition is None
        if unique and fk.name in constraint.fields:
            return tuple(f for f in constraint.fields if f not in (fk.name, "workspace"))
    return ()


Callback = Callable[..., None]
AFTER_MERGE: dict[str, list[Callback]] = {}


def after_merge(object_type: str, callback: Callback) -> None:
    """``callback(survivor)`` runs after a merge and after its undo (keeps denormalised columns right)."""
    AFTER_MERGE.setdefault(object_type, []).append(callback)
