"""The "Satisfaction" panel of account and contact pages: the latest CSAT and NPS answers, the trend,
and the comments with their sentiment (one indexed query per page)."""

from django.utils.translation import gettext_lazy as _

from kehu.customers.models import Contact
from kehu.customers.panels import Panel, register_panel
from kehu.workspaces.access import Actor

from .charts import line
from .models import Kind, Survey, SurveyResponse

PANEL_ROWS = 20


def responses_of(record, limit: int = PANEL_ROWS) -> list[SurveyResponse]:
    column = "contact" if isinstance(record, Contact) else "account"
    return list(
        SurveyResponse.objects.filter(**{column: record.pk})
        .select_related("ticket")  # the latest CSAT shows its ticket's reference
        .order_by("-answered_at", "-id")[:limit]
    )


def _summary(rows: list[SurveyResponse]) -> dict:
    csat = [r for r in rows if r.kind == Kind.CSAT]
    nps = [r for r in rows if r.kind == Kind.NPS]
    return {
        "latest_csat": csat[0] if csat else None,
        "latest_nps": nps[0] if nps else None,
        "csat_average": round(sum(r.score for r in csat) / len(csat), 1) if csat else None,
        "comments": [r for r in rows if r.comment][:5],
        "csat_rows": csat,
        "nps_rows": nps,
    }


def satisfaction_context(actor: Actor, record) -> dict | None:
    if not actor.can("view", Survey.object_type):
        return None
    rows = responses_of(record)
    summary = _summary(rows)
    csat = list(reversed(summary["csat_rows"][:10]))
    summary["trend"] = (
        line([(r.answered_at.strftime("%m-%d"), r.score, str(r.score)) for r in csat], low=1, high=5)
        if len(csat) > 1
        else None
    )
    return summary


def _row(r: SurveyResponse) -> dict:
    return {
        "id": r.pk,
        "kind": r.kind,
        "score": r.score,
        "comment": r.comment,
        "sentiment": r.sentiment,
        "ticket_id": r.ticket_id,
        "survey_id": r.survey_id,
        "answered_at": r.answered_at.isoformat(),
    }


def satisfaction_data(actor: Actor, record) -> dict:
    if not actor.can("view", Survey.object_type):
        return {"available": True, "latest_csat": None, "latest_nps": None, "responses": []}
    rows = responses_of(record)
    summary = _summary(rows)
    return {
        "available": True,
        "latest_csat": _row(summary["latest_csat"]) if summary["latest_csat"] else None,
        "latest_nps": _row(summary["latest_nps"]) if summary["latest_nps"] else None,
        "csat_average": summary["csat_average"],
        "responses": [_row(r) for r in rows],
    }


def register() -> None:
    register_panel(
        Panel(
            key="satisfaction",
            title=_("Satisfaction"),
            object_types=("customers.account", "customers.contact"),
            template="surveys/_panel.html",
            context=satisfaction_context,
            data=satisfaction_data,
            order=65,
            column="side",
        )
    )
