"""Lifecycle stage, grade, RFM segment and value label on the account list (filters and columns).

``kehu.listviews`` keeps each list's ``ListConfig`` in a registry; the customers app registers the
account list, and this app, being above it, appends its fields and columns to that config when it
is ready. The RFM segment lives in our own table, so the list's queryset is wrapped to annotate it
(one correlated lookup per shown row through the unique account index, no N+1 queries).
"""

from django.db.models import OuterRef, Q, Subquery
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from kehu.customers.models import Account
from kehu.listviews.registry import Column, ListField, config_for

from .models import SEGMENTS, VALUE_LABELS, CustomerScore

SEGMENT_LABELS = dict(SEGMENTS)
VALUE_LABEL_NAMES = dict(VALUE_LABELS)


def _score_condition(column: str):
    def condition(actor, lookup: str, value) -> Q:
        if lookup == "isnull":
            scored = CustomerScore.objects.exclude(**{column: ""}).values("account_id")
            return ~Q(pk__in=scored) if value in (True, "true", "1", 1) else Q(pk__in=scored)
        values = value if isinstance(value, list) else [value]
        matched = Q(pk__in=CustomerScore.objects.filter(**{f"{column}__in": values}).values("account_id"))
        return ~matched if lookup == "ne" else matched

    return condition


def _segment_cell(record, context) -> str:
    key = getattr(record, "rfm_segment", "") or ""
    if not key:
        return "—"
    return format_html('<span class="badge badge-muted">{}</span>', SEGMENT_LABELS.get(key, key))


def _stage_cell(record, context) -> str:
    if not record.lifecycle_stage:
        return "—"
    return format_html('<span class="badge">{}</span>', record.get_lifecycle_stage_display())


def _grade_label(record) -> str:
    from .services import tier_labels

    return tier_labels(record.workspace_id).get(record.grade, record.grade) if record.grade else ""


def _with_segment(queryset_of):
    def queryset(actor, q):
        segment = CustomerScore.objects.filter(account_id=OuterRef("pk")).values("segment")[:1]
        return queryset_of(actor, q).annotate(rfm_segment=Subquery(segment))

    queryset.analytics_wrapped = True
    return queryset


def extend_account_list() -> None:
    config = config_for(Account.object_type)
    if config is None or getattr(config.queryset, "analytics_wrapped", False):
        return
    config.queryset = _with_segment(config.queryset)
    config.fields += [
        ListField(
            "lifecycle_stage",
            _("Lifecycle stage"),
            "choice",
            choices=tuple(Account.Lifecycle.choices),
        ),
        # Tiers are configured per workspace: the filter takes the tier key.
        ListField("grade", _("Grade"), "choice"),
        ListField(
            "rfm_segment",
            _("RFM segment"),
            "choice",
            choices=tuple(SEGMENTS),
            condition=_score_condition("segment"),
            only=("eq", "ne", "in", "isnull"),
        ),
        ListField(
            "value_label",
            _("Value label"),
            "choice",
            choices=tuple(VALUE_LABELS),
            condition=_score_condition("value_label"),
            only=("eq", "ne", "in", "isnull"),
        ),
    ]
    config.columns += [
        Column(
            "lifecycle_stage",
            _("Lifecycle stage"),
            lambda r: r.get_lifecycle_stage_display() if r.lifecycle_stage else "",
            _stage_cell,
            sort="lifecycle_stage",
        ),
        Column("grade", _("Grade"), _grade_label, sort="grade"),
        Column(
            "rfm_segment",
            _("RFM segment"),
            lambda r: str(SEGMENT_LABELS.get(getattr(r, "rfm_segment", "") or "", "")),
            _segment_cell,
        ),
    ]
    config.orderings.update({"lifecycle_stage": "lifecycle_stage", "grade": "grade"})
