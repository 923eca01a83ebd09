"""The "Customer scores" panel of the 360° view (replaces the customers app's placeholder).

Shows the effective lifecycle stage with its recent history, the grade, the RFM segment and scores,
historical value and profit — each with when it was computed and from what (the run's settings
and the figures on the score row). Predictions (CLV, churn risk, next best action) have their own
panel. A contact shows the scores of its primary account.
"""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from kehu.customers.models import Account
from kehu.customers.panels import Panel, register_panel
from kehu.workspaces.access import Actor, visible

from .models import (
    SEGMENTS,
    VALUE_LABELS,
    AnalyticsRun,
    CustomerScore,
    GradeChange,
    LifecycleChange,
    LifecycleOverride,
)

SEGMENT_LABELS = dict(SEGMENTS)
VALUE_LABEL_NAMES = dict(VALUE_LABELS)
HISTORY = 5


def _account(actor: Actor, record) -> Account | None:
    if isinstance(record, Account):
        return record
    account_id = getattr(record, "account_id", None)
    if not account_id:
        return None
    return visible(actor, Account.objects.all()).filter(pk=account_id).first()


def scores_of(account: Account) -> dict:
    """Everything the panel and ``GET /api/v1/analytics/accounts/{id}`` show, JSON-ready."""
    from .services import tier_labels

    score = CustomerScore.objects.filter(account=account).select_related("run").first()
    override = LifecycleOverride.objects.filter(account=account).select_related("user").first()
    changes = list(
        LifecycleChange.objects.filter(account=account)
        .select_related("user")
        .order_by("-at", "-pk")[:HISTORY]
    )
    grades = list(GradeChange.objects.filter(account=account).order_by("-at", "-pk")[:HISTORY])
    labels = tier_labels(account.workspace_id)
    stages = dict(Account.Lifecycle.choices)
    out = {
        "available": True,
        "account_id": account.pk,
        "lifecycle": {
            "stage": account.lifecycle_stage,
            "label": str(stages.get(account.lifecycle_stage, "")),
            "derived_stage": score.derived_stage if score else "",
            "manual": override is not None,
            "override": (
                {
                    "stage": override.stage,
                    "reason": override.reason,
                    "by": str(override.user) if override.user_id else "",
                    "at": override.updated_at.isoformat(),
                }
                if override
                else None
            ),
            "next_change_on": score.next_change_on.isoformat() if score and score.next_change_on else None,
            "history": [
                {
                    "from": c.from_stage,
                    "to": c.to_stage,
                    "to_label": str(stages.get(c.to_stage, c.to_stage)),
                    "at": c.at.isoformat(),
                    "manual": c.manual,
                    "reason": c.reason,
                    "by": str(c.user) if c.user_id else "",
                }
                for c in changes
            ],
        },
        "grade": {
            "grade": account.grade,
            "label": labels.get(account.grade, account.grade),
            "score": score.grade_score if score else None,
            "history": [
                {"from": g.from_grade, "to": g.to_grade, "score": g.score, "at": g.at.isoformat()}
                for g in grades
            ],
        },
        "computed_at": None,
    }
    if score is None:
        out["rfm"] = out["value"] = None
        return out
    # A full run leaves unchanged rows as they were: its time and date then apply to them too.
    run, computed_at, as_of = score.run, score.computed_at, score.as_of
    last_full = AnalyticsRun.objects.filter(kind="full", status="done").order_by("-started_at", "-pk").first()
    if last_full is not None and last_full.finished_at and last_full.finished_at > computed_at:
        run, computed_at, as_of = last_full, last_full.finished_at, last_full.as_of
    config = run.config if run else {}
    out["computed_at"] = computed_at.isoformat()
    out["as_of"] = as_of.isoformat()
    out["from"] = {
        "run": run.pk if run else None,
        "run_kind": run.kind if run else "",
        "statuses": config.get("statuses", []),
        "value_months": config.get("value_months"),
        "rfm_method": config.get("rfm_method"),
        "cuts": run.cuts if run else {},
        "inputs": score.inputs,
    }
    out["rfm"] = {
        "r": score.r,
        "f": score.f,
        "m": score.m,
        "fm": score.fm,
        "segment": score.segment,
        "segment_label": str(SEGMENT_LABELS.get(score.segment, "")),
        "recency_days": (as_of - score.last_order_date).days if score.last_order_date else None,
        "frequency": score.orders,
        "monetary": float(score.historical_value),
        "first_order_date": score.first_order_date.isoformat() if score.first_order_date else None,
        "last_order_date": score.last_order_date.isoformat() if score.last_order_date else None,
        "median_interval_days": score.median_interval_days,
    }
    out["value"] = {
        "historical_value": float(score.historical_value),
        "historical_margin": float(score.historical_margin),
        "revenue_window": float(score.revenue_window),
        "margin": float(score.margin),
        "discounts": float(score.discounts),
        "tickets": score.tickets,
        "complaints": score.complaints,
        "visits": score.visits,
        "cost_to_serve": float(score.cost_to_serve),
        "profit": float(score.profit),
        "label": score.value_label,
        "label_text": str(VALUE_LABEL_NAMES.get(score.value_label, "")),
        "potential": float(score.potential),
    }
    return out


def _context(actor: Actor, record) -> dict | None:
    account = _account(actor, record)
    if account is None:
        return {"scores": None, "account": None}
    from .services import SETTINGS_TYPE

    return {
        "scores": scores_of(account),
        "account": account,
        "stages": Account.Lifecycle.choices,
        "can_override": actor.can("change", Account.object_type) and isinstance(record, Account),
        "grid_url": reverse("analytics:segments"),
        "can_recompute": actor.can("change", SETTINGS_TYPE),
    }


def _data(actor: Actor, record) -> dict:
    account = _account(actor, record)
    return scores_of(account) if account is not None else {"available": False}


def register() -> None:
    register_panel(
        Panel(
            key="scores",
            title=_("Customer scores"),
            object_types=("customers.account", "customers.contact"),
            template="analytics/panel.html",
            context=_context,
            data=_data,
            order=70,
            column="side",
        )
    )
