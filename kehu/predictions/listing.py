"""Churn risk, CLV and next best action as columns, filters and sort keys of the account list.

The account list belongs to customers (below this app), so its ``ListConfig`` is extended here in
``ready()``: fields and columns appended, and its queryset wrapped to join the prediction row
(one LEFT JOIN; no query per row). Another app extending the same list does the same, and the
wrappers compose.
"""

from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from kehu.listviews.registry import Column, ListField, config_for

from .models import RecommendedAction


def _prediction(record):
    try:
        return record.prediction
    except Exception:
        return None


def _churn_value(record):
    p = _prediction(record)
    return None if p is None or p.churn_probability is None else round(p.churn_probability, 4)


def _churn_html(record, context):
    value = _churn_value(record)
    if value is None:
        return "—"
    css = "badge badge-danger" if value >= 0.5 else "badge badge-muted"
    return format_html('<span class="{}">{}%</span>', css, round(value * 100))


def _clv_value(record):
    p = _prediction(record)
    return None if p is None else p.clv


def _action_value(record):
    p = _prediction(record)
    return "" if p is None or not p.next_action else str(RecommendedAction.Kind(p.next_action).label)


def register_list_extensions() -> None:
    config = config_for("customers.account")
    if config is None or any(f.name == "churn_risk" for f in config.fields):
        return
    config.fields += [
        ListField(
            "churn_risk", _("Churn risk (0–1)"), "number", path="prediction__churn_probability", nullable=True
        ),
        ListField("clv", _("Lifetime value (12 months)"), "number", path="prediction__clv", nullable=True),
        ListField(
            "next_action",
            _("Next best action"),
            "choice",
            path="prediction__next_action",
            choices=tuple(RecommendedAction.Kind.choices),
        ),
    ]
    config.columns += [
        Column(
            "churn_risk", _("Churn risk"), _churn_value, _churn_html, sort="prediction__churn_probability"
        ),
        Column("clv", _("Lifetime value (12 months)"), _clv_value, sort="prediction__clv"),
        Column("next_action", _("Next best action"), _action_value),
    ]
    config.orderings.update({"churn_risk": "prediction__churn_probability", "clv": "prediction__clv"})
    inner = config.queryset

    def with_prediction(actor, q):
        return inner(actor, q).select_related("prediction")

    config.queryset = with_prediction
