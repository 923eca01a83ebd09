"""What a report can group by and aggregate, per object type: discovered, never listed by hand.

The reportable object types are those with a list (``kehu.listviews`` registry): their ``ListConfig``
gives the records an actor may see (``queryset``, record permissions applied) and the filter fields.
The fields come from the model (numbers, dates, choices, foreign keys, yes/no) plus the workspace's
custom fields the actor may read (``custom.<key>``, values read from the ``custom`` JSON column with
``KeyTextTransform`` and cast like ``kehu.customfields.queries.custom_filter`` does).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils.functional import Promise
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from kehu.customfields.models import FieldType
from kehu.customfields.queries import readable
from kehu.listviews.registry import REGISTRY, ListConfig, config_for
from kehu.workspaces.access import Actor

BUCKETS = {
    "day": _("Day"),
    "week": _("Week"),
    "month": _("Month"),
    "quarter": _("Quarter"),
    "year": _("Year"),
}
# Columns that are bookkeeping, not something to report on.
SKIPPED = {
    "id",
    "workspace",
    "custom",
    "created_by",
    "updated_by",
    "name_pinyin",
    "name_initials",
    "search_text",
}
NUMBER_FIELDS = (models.DecimalField, models.IntegerField, models.FloatField)
NUMERIC_CUSTOM = {FieldType.NUMBER, FieldType.MONEY, FieldType.PERCENT}


def _grade_labels(workspace) -> dict:
    from kehu.customers.grading import grade_choices

    return dict(grade_choices(workspace))


# Plain text columns whose values have labels the model does not declare as choices.
EXTRA_LABELS: dict[tuple[str, str], Callable[[Any], dict]] = {
    ("customers.account", "grade"): _grade_labels,
}


@dataclass
class ReportField:
    """``kind``: text, choice, number, date, datetime, bool, user, relation.

    ``path`` is the ORM path (model fields) — or ``expression()`` builds the value (custom fields);
    ``label_path`` the ORM path of a foreign key's display name (read in the same query by a join).
    """

    name: str
    label: Promise | str
    kind: str
    path: str = ""
    choices: dict = field(default_factory=dict)
    label_path: str = ""
    custom: Any = None  # the FieldDefinition of a custom field

    @property
    def numeric(self) -> bool:
        return self.kind == "number"

    @property
    def dated(self) -> bool:
        return self.kind in {"date", "datetime"}

    @property
    def groupable(self) -> bool:
        return True

    def expression(self):
        """The value as an expression: the column, or the custom JSON key cast to its type."""
        if self.custom is None:
            return models.F(self.path)
        text = KeyTextTransform(self.custom.key, "custom")
        if self.kind == "number":
            return Cast(text, models.DecimalField(max_digits=30, decimal_places=8))
        if self.kind == "date":
            return Cast(text, models.DateField())
        if self.kind == "datetime":
            return Cast(text, models.DateTimeField())
        return text

    def label_of(self, value: Any) -> str:
        if value is None or value == "":
            return str(_("(empty)"))
        if self.kind == "bool" or isinstance(value, bool):
            if self.custom is not None and isinstance(value, str):
                value = value.lower() in {"true", "1"}
            return str(_("Yes") if value else _("No"))
        if self.choices:
            return str(self.choices.get(value, self.choices.get(str(value), value)))
        return str(value)


def reportable_types() -> list[ListConfig]:
    """The object types a report can be built on, by label (reports themselves excluded)."""
    return sorted(
        (c for c in REGISTRY.values() if not c.object_type.startswith("reports.")), key=lambda c: str(c.label)
    )


def _model_field(model, f, workspace) -> ReportField | None:
    if f.name in SKIPPED or not f.concrete or f.primary_key:
        return None
    label = capfirst(f.verbose_name)
    extra = EXTRA_LABELS.get((getattr(model, "object_type", ""), f.name))
    if isinstance(f, models.ForeignKey):
        target = f.related_model
        if target._meta.label_lower == "workspaces.workspace":
            return None
        names = {x.name for x in target._meta.concrete_fields}
        text = "name" if "name" in names else "number" if "number" in names else ""
        if target._meta.label_lower == "users.user":
            return ReportField(f.name, label, "user", path=f.attname, label_path=f"{f.name}__name")
        return ReportField(
            f.name, label, "relation", path=f.attname, label_path=f"{f.name}__{text}" if text else ""
        )
    if f.choices:
        return ReportField(
            f.name, label, "choice", path=f.name, choices={k: str(v) for k, v in f.flatchoices}
        )
    if extra is not None:
        return ReportField(f.name, label, "choice", path=f.name, choices=extra(workspace))
    if isinstance(f, models.BooleanField):
        return ReportField(f.name, label, "bool", path=f.name)
    if isinstance(f, models.DateTimeField):
        return ReportField(f.name, label, "datetime", path=f.name)
    if isinstance(f, models.DateField):
        return ReportField(f.name, label, "date", path=f.name)
    if isinstance(f, NUMBER_FIELDS) and not isinstance(f, models.AutoField):
        return ReportField(f.name, label, "number", path=f.name)
    if isinstance(f, models.CharField) and f.max_length and f.max_length <= 200:
        return ReportField(f.name, label, "text", path=f.name)
    return None


CUSTOM_KINDS = {
    FieldType.NUMBER: "number",
    FieldType.MONEY: "number",
    FieldType.PERCENT: "number",
    FieldType.DATE: "date",
    FieldType.DATETIME: "datetime",
    FieldType.BOOLEAN: "bool",
    FieldType.SINGLE_SELECT: "choice",
    FieldType.USER: "user",
    FieldType.RELATION: "relation",
}


def report_fields(actor: Actor, object_type: str) -> dict[str, ReportField]:
    """The fields of ``object_type`` an actor can group by or aggregate, by name (model, then custom)."""
    config = config_for(object_type)
    if config is None:
        return {}
    cache = actor.__dict__.setdefault("_report_field_cache", {})
    if object_type in cache:
        return cache[object_type]
    found: dict[str, ReportField] = {}
    for f in config.model._meta.get_fields():
        made = _model_field(config.model, f, actor.workspace) if getattr(f, "concrete", False) else None
        if made is not None:
            found[made.name] = made
    for definition in readable(actor, object_type):
        kind = CUSTOM_KINDS.get(definition.field_type)
        if kind is None and definition.field_type not in {FieldType.TEXT, FieldType.EMAIL, FieldType.URL}:
            continue  # long text, multi-select, phone: no useful groups
        choices = {c.get("value"): c.get("label") or c.get("value") for c in definition.choices}
        found[f"custom.{definition.key}"] = ReportField(
            f"custom.{definition.key}", definition.label, kind or "text", choices=choices, custom=definition
        )
    cache[object_type] = found
    return found
