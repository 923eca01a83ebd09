"""Pages: the customer analytics page (RFM grid, segments, KPIs, cohorts, transitions), the
settings page with "Recompute now", and the manual lifecycle stage form of the scores panel."""

import json
from datetime import date, timedelta

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kehu.core.errors import DomainError, PermissionDenied
from kehu.customers.models import Account
from kehu.forecast import charts
from kehu.listviews.filters import encode_spec
from kehu.workspaces.views import member_required, show_domain_error

from . import kpis, queries, services
from .engine import months_before
from .models import AnalyticsRun, LifecycleSettings, ValueSettings


def _account_list(field: str, value: str) -> str:
    spec = {"op": "and", "conditions": [{"field": field, "lookup": "eq", "value": value}]}
    return reverse("customers:account-list") + "?f=" + encode_spec(spec)


def _day(text: str | None, default: date) -> date:
    try:
        return date.fromisoformat(text) if text else default
    except ValueError:
        return default


@member_required
def overview(request):
    actor = request.actor
    if not actor.can("view", services.REPORT_TYPE):
        raise Http404
    workspace = actor.workspace
    grid = queries.rfm_grid(workspace)
    top = max((c["count"] for row in grid["grid"] for c in row["cells"]), default=0) or 1
    for row in grid["grid"]:
        for cell in row["cells"]:
            cell["heat"] = min(4, int(cell["count"] * 5 / (top + 1))) if cell["count"] else -1
            cell["url"] = _account_list("rfm_segment", cell["segment"])
    segments = [s for s in grid["segments"]]
    for s in segments:
        s["url"] = _account_list("rfm_segment", s["segment"])
    chart = charts.treemap([((s["label"],), s["count"], str(s["count"])) for s in segments])
    period = request.GET.get("period") if request.GET.get("period") in ("month", "quarter") else "month"
    today = timezone.localdate()
    start = months_before(today, 23 if period == "quarter" else 11).replace(day=1)
    kpi_rows = kpis.compute_kpis(workspace, period, start, today)
    cohort_rows = kpis.cohort_matrix(workspace, months_before(today, 11).replace(day=1), today)
    dates = queries.snapshot_dates()
    to_date = _day(request.GET.get("to"), today)
    from_date = _day(request.GET.get("from"), dates[1] if len(dates) > 1 else to_date - timedelta(days=30))
    moves = queries.transitions(workspace, from_date, to_date)
    labels = {s["segment"]: s["label"] for s in segments} | {"": _("No segment")}
    matrix_keys = [
        k for k in moves["segments"] if any(c["from"] == k or c["to"] == k for c in moves["cells"])
    ]
    counts = {(c["from"], c["to"]): c["count"] for c in moves["cells"]}
    matrix = [
        {"label": labels.get(a, a), "cells": [counts.get((a, b), 0) for b in matrix_keys]}
        for a in matrix_keys
    ]
    stages = [(label, _account_list("lifecycle_stage", key), count) for key, label, count in _stage_counts()]
    return render(
        request,
        "analytics/overview.html",
        {
            "grid": grid,
            "segments": segments,
            "chart": chart,
            "period": period,
            "kpis": kpi_rows,
            "cohorts": cohort_rows,
            "horizon": range(max((len(c["rates"]) for c in cohort_rows), default=0)),
            "moves": moves,
            "matrix": matrix,
            "matrix_heads": [labels.get(k, k) for k in matrix_keys],
            "from_date": from_date,
            "to_date": to_date,
            "stages": stages,
            "last_run": services.last_run(),
            "can_manage": actor.can("change", services.SETTINGS_TYPE),
        },
    )


def _stage_counts():
    from django.db.models import Count

    counts = dict(
        Account.objects.exclude(lifecycle_stage="").values_list("lifecycle_stage").annotate(n=Count("id"))
    )
    return [(key, label, counts.get(key, 0)) for key, label in Account.Lifecycle.choices]


class LifecycleForm(forms.ModelForm):
    class Meta:
        model = LifecycleSettings
        fields = list(services.LIFECYCLE_FIELDS)


class JsonField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 4, "class": "mono"})

    def prepare_value(self, value):
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

    def to_python(self, value):
        try:
            return json.loads(value or "null")
        except ValueError:
            raise forms.ValidationError(gettext_lazy("Enter valid JSON.")) from None


class ValueForm(forms.ModelForm):
    tiers = JsonField(label=gettext_lazy("Tiers (highest first)"))
    weights = JsonField(label=gettext_lazy("Dimension weights"))
    rfm_bins = JsonField(label=gettext_lazy("RFM bins (upper edges of scores 1–4)"))

    class Meta:
        model = ValueSettings
        fields = list(services.VALUE_FIELDS)


@member_required
def settings_page(request):
    actor = request.actor
    if not actor.can("change", services.SETTINGS_TYPE):
        raise Http404
    life = services.lifecycle_settings(actor.workspace)
    value = services.value_settings(actor.workspace)
    life_form = LifecycleForm(request.POST or None, instance=life, prefix="life")
    value_form = ValueForm(request.POST or None, instance=value, prefix="value")
    if request.method == "POST" and life_form.is_valid() and value_form.is_valid():
        values = {k: life_form.cleaned_data[k] for k in LifecycleForm.Meta.fields}
        values |= {k: value_form.cleaned_data[k] for k in ValueForm.Meta.fields}
        try:
            services.update_settings(actor, values)
        except DomainError as err:
            show_domain_error(request, err, value_form)
        else:
            messages.success(request, _("Settings saved. They apply from the next computation."))
            return redirect("analytics:settings")
    return render(
        request,
        "analytics/settings.html",
        {
            "life_form": life_form,
            "value_form": value_form,
            "runs": list(AnalyticsRun.objects.order_by("-started_at", "-pk")[:10]),
        },
    )


@member_required
@require_POST
def recompute(request):
    kind = request.POST.get("kind", "full")
    try:
        services.request_recompute(request.actor, kind)
    except PermissionDenied:
        raise Http404 from None
    except DomainError as err:
        show_domain_error(request, err)
    else:
        messages.success(request, _("The scores are being recomputed; refresh in a moment."))
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return redirect(target)
    return redirect("analytics:settings")


@member_required
@require_POST
def lifecycle(request, account_id: int):
    try:
        if request.POST.get("clear"):
            services.clear_override(request.actor, account_id)
            messages.success(request, _("The manual stage was cleared."))
        else:
            services.set_override(
                request.actor, account_id, request.POST.get("stage", ""), request.POST.get("reason", "")
            )
            messages.success(request, _("The lifecycle stage was set by hand."))
    except PermissionDenied:
        raise Http404 from None
    except DomainError as err:
        show_domain_error(request, err)
    return redirect("customers:account-detail", account_id)
