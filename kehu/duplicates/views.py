"""Pages: the review queue (with scans and bulk confirm), the side-by-side merge, the merge history
with undo, and the matching rules (admins). Thin: parse → service → template."""

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.core.api import keyset_page
from kehu.core.errors import DomainError, NotFound
from kehu.workspaces.views import admin_required, member_required, show_domain_error

from . import merge as merging
from . import rules, services
from .matcher import FEATURES
from .models import Candidate, MatchRule, ScanJob
from .queries import merges_for, review_queue, with_labels
from .registry import TYPES, spec_for

PAGE = 50


def _type_of(request) -> str:
    object_type = request.GET.get("type") or request.POST.get("type") or "customers.contact"
    if object_type not in TYPES:
        raise Http404
    return object_type


def _tabs(object_type: str) -> list[dict]:
    return [{"key": k, "label": spec.label, "active": k == object_type} for k, spec in TYPES.items()]


@member_required
def queue(request):
    actor = request.actor
    object_type = _type_of(request)
    try:
        min_score = max(0, min(100, int(request.GET.get("min_score") or 0)))
    except ValueError:
        min_score = 0
    ordering = "score" if request.GET.get("sort") == "score" else "-score"
    try:
        pairs, cursor = keyset_page(
            review_queue(actor, object_type, min_score=min_score),
            ordering=ordering,
            limit=PAGE,
            cursor=request.GET.get("cursor"),
        )
    except DomainError:
        pairs, cursor = [], None
    context = {
        "object_type": object_type,
        "tabs": _tabs(object_type),
        "pairs": with_labels(object_type, pairs),
        "next_cursor": cursor,
        "min_score": min_score,
        "sort": ordering,
        "scan": ScanJob.objects.filter(object_type=object_type).order_by("-created_at").first(),
        "can_merge": actor.can("change", object_type) and actor.can("delete", object_type),
        "detail_url": spec_for(object_type).url_name,
    }
    template = (
        "duplicates/_scan.html"
        if request.htmx and request.GET.get("part") == "scan"
        else "duplicates/queue.html"
    )
    return render(request, template, context)


def _back(object_type: str, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"type": object_type, **params}.items())
    return reverse("duplicates:queue") + "?" + query


@member_required
def start_scan(request):
    object_type = _type_of(request)
    if request.method == "POST":
        try:
            services.start_scan(request.actor, object_type)
            messages.success(request, _("The scan has started."))
        except DomainError as error:
            show_domain_error(request, error)
    return redirect(_back(object_type))


@member_required
def pair_action(request, pk: int, action: str):
    if request.method != "POST":
        raise Http404
    try:
        pair = services.candidate_for(request.actor, pk)
    except NotFound:
        raise Http404 from None
    try:
        if action == "dismiss":
            services.dismiss(request.actor, pair)
            messages.success(request, _("Marked as not a duplicate."))
        else:
            done = services.merge_pair(request.actor, pair)
            messages.success(request, _("Merged. You can undo it from the merge history."))
            return redirect(reverse(spec_for(pair.object_type).url_name, args=[done.survivor_id]))
    except DomainError as error:
        show_domain_error(request, error)
    return redirect(_back(pair.object_type))


@member_required
def bulk_confirm(request):
    object_type = _type_of(request)
    if request.method == "POST":
        try:
            result = services.bulk_confirm(
                request.actor, object_type, int(request.POST.get("min_score") or 0)
            )
            messages.success(
                request,
                _("%(merged)s pairs merged, %(skipped)s skipped.") % result,
            )
        except (DomainError, ValueError) as error:
            if isinstance(error, DomainError):
                show_domain_error(request, error)
    return redirect(_back(object_type))


@member_required
def merge_page(request):
    """Side by side: one column per record, one row per field; the user picks the surviving value."""
    actor = request.actor
    object_type = _type_of(request)
    spec = spec_for(object_type)
    try:
        ids = list(
            dict.fromkeys(
                int(x) for x in (request.GET.get("ids") or request.POST.get("ids", "")).split(",") if x
            )
        )
    except ValueError:
        raise Http404 from None
    if not 2 <= len(ids) <= merging.MAX_RECORDS:
        raise Http404
    try:
        records = merging.load_records(actor, object_type, ids, "view")
    except NotFound:
        raise Http404 from None
    survivor_id, choices = merging.default_choices(object_type, records)
    if request.method == "POST":
        try:
            survivor_id = int(request.POST.get("survivor") or survivor_id)
            values = {
                name: int(request.POST[f"value__{name}"])
                for name in choices
                if request.POST.get(f"value__{name}")
            }
            done = merging.merge(
                actor, object_type, survivor_id, [i for i in ids if i != survivor_id], values
            )
            messages.success(request, _("Merged. You can undo it from the merge history."))
            return redirect(reverse(spec.url_name, args=[done.survivor_id]))
        except (DomainError, ValueError) as error:
            if isinstance(error, DomainError):
                show_domain_error(request, error)
    rows = []
    for name, chosen in choices.items():
        label = name if name.startswith("custom.") else spec.model._meta.get_field(name).verbose_name
        cells = [{"id": r.pk, "value": _shown(r, name), "chosen": r.pk == chosen} for r in records]
        rows.append(
            {"name": name, "label": label, "cells": cells, "differs": len({c["value"] for c in cells}) > 1}
        )
    context = {
        "object_type": object_type,
        "records": records,
        "rows": rows,
        "survivor_id": survivor_id,
        "ids": ",".join(str(i) for i in ids),
        "detail_url": spec.url_name,
    }
    return render(request, "duplicates/merge.html", context)


def _shown(record_, name: str) -> str:
    if name.startswith("custom."):
        value = merging.field_value(record_, name)
    else:
        field = record_._meta.get_field(name)
        value = getattr(record_, name)
        if getattr(field, "choices", None) and value:
            value = getattr(record_, f"get_{name}_display")()
    return "" if value in merging.EMPTY else str(value)


@member_required
def history(request):
    actor = request.actor
    rows, cursor = keyset_page(
        merges_for(actor), ordering="-created_at", limit=PAGE, cursor=request.GET.get("cursor")
    )
    return render(request, "duplicates/history.html", {"merges": rows, "next_cursor": cursor})


@member_required
def undo(request, pk: int):
    if request.method != "POST":
        raise Http404
    try:
        row = merging.merge_for(request.actor, pk)
    except NotFound:
        raise Http404 from None
    try:
        merging.undo(request.actor, row)
        messages.success(request, _("The merge was undone."))
    except DomainError as error:
        show_domain_error(request, error)
    return redirect("duplicates:history")


# --- rules (admins) -------------------------------------------------------------------------------


class RuleForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=MatchRule.Kind.choices)
    action = forms.ChoiceField(label=gettext_lazy("Action"), choices=MatchRule.Action.choices)
    threshold = forms.IntegerField(label=gettext_lazy("Threshold"), min_value=1, max_value=100, initial=85)
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)
    position = forms.IntegerField(label=gettext_lazy("Position"), min_value=0, required=False)


FIELD_ROWS = 5


def _field_rows(data, rule: MatchRule | None) -> list[dict]:
    if data is not None:
        return [
            {
                "field": data.get(f"field_{i}", ""),
                "weight": data.get(f"weight_{i}", "1"),
                "min": data.get(f"min_{i}", "0"),
                "required": bool(data.get(f"required_{i}")),
            }
            for i in range(FIELD_ROWS)
        ]
    current = list(rule.fields) if rule else []
    return (current + [{"field": "", "weight": 1, "min": 0, "required": False}] * FIELD_ROWS)[:FIELD_ROWS]


@admin_required
def rule_list(request):
    object_type = _type_of(request)
    context = {
        "object_type": object_type,
        "tabs": _tabs(object_type),
        "rules": rules.rules_of(request.actor.workspace, object_type, active_only=False),
    }
    return render(request, "duplicates/rules.html", context)


@admin_required
def rule_edit(request, pk: int | None = None):
    actor = request.actor
    rule = None
    if pk is not None:
        rule = MatchRule.objects.filter(pk=pk).first()
        if rule is None:
            raise Http404
    object_type = rule.object_type if rule else _type_of(request)
    initial = (
        {k: getattr(rule, k) for k in ("name", "kind", "action", "threshold", "is_active", "position")}
        if rule
        else {}
    )
    form = RuleForm(request.POST or None, initial=initial)
    field_rows = _field_rows(request.POST if request.method == "POST" else None, rule)
    if request.method == "POST" and "delete" in request.POST and rule is not None:
        rules.delete_rule(actor, rule)
        return redirect(reverse("duplicates:rules") + f"?type={object_type}")
    if request.method == "POST" and form.is_valid():
        values = {k: v for k, v in form.cleaned_data.items() if v is not None}
        values["fields"] = [
            {"field": r["field"], "weight": r["weight"] or 1, "min": r["min"] or 0, "required": r["required"]}
            for r in field_rows
            if r["field"]
        ]
        try:
            if rule is None:
                rules.create_rule(actor, object_type=object_type, **values)
            else:
                rules.update_rule(actor, rule, **values)
            messages.success(request, _("Saved."))
            return redirect(reverse("duplicates:rules") + f"?type={object_type}")
        except DomainError as error:
            show_domain_error(request, error, form)
    context = {
        "form": form,
        "rule": rule,
        "object_type": object_type,
        "field_rows": field_rows,
        "features": [*FEATURES],
    }
    return render(request, "duplicates/rule_form.html", context)


__all__ = ["Candidate"]
