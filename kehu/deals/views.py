"""Opportunity pages (list, detail, form), the kanban board and the pipeline settings page.

Views validate shapes and call services. The board's drag and drop posts to ``opportunity_move``
(``deals/board.js``); the answer is JSON: the new column totals, or the error to show while the
card snaps back.
"""

from django.contrib import messages
from django.http import Http404, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kehu.commerce.templatetags.kehu_commerce import money
from kehu.core.api import InvalidCursor
from kehu.core.errors import DomainError, FieldError, NotFound, ValidationFailed
from kehu.customers.models import Contact
from kehu.customfields.queries import readable
from kehu.customfields.web import OPERATOR_LABELS
from kehu.listviews.web import cell_context, list_state, page, toolbar_context
from kehu.workspaces.access import access_record, require, visible
from kehu.workspaces.models import Membership, Team
from kehu.workspaces.views import admin_required, member_required, show_domain_error

from . import queries, services
from .forms import ContactRoleForm, OpportunityForm, StageForm, lost_reason_choices
from .models import LostReason, Opportunity, OpportunityLine, Pipeline, Stage


def _int(value) -> int | None:
    return int(value) if value and str(value).isdigit() else None


def _day(value):
    try:
        return parse_date(value) if value else None
    except ValueError:
        return None


def _opportunity(request, pk: int, action: str = "view") -> Opportunity:
    qs = Opportunity.objects.select_related("account", "stage", "pipeline", "owner", "team")
    return access_record(request.actor, qs, pk, action)


# --- list, detail, form ----------------------------------------------------------------------------


@member_required
def opportunity_list(request):
    actor = request.actor
    require(actor, "view", Opportunity.object_type)
    state = list_state(request, Opportunity.object_type)
    records = queries.opportunities_for(actor, state.q)
    try:
        rows, next_cursor = page(state, records, request.GET.get("cursor") or None)
    except InvalidCursor as error:
        return HttpResponseBadRequest(str(error))
    context = {
        "rows": rows,
        "next_cursor": next_cursor,
        "query": state.q,
        "can_create": actor.can("create", Opportunity.object_type),
        "list_name": "opportunity",
        **cell_context(request, state),
        **toolbar_context(request, state, next_cursor=next_cursor),
    }
    return render(request, "listviews/_rows.html" if request.htmx else "deals/opportunity_list.html", context)


@member_required
def opportunity_detail(request, pk: int):
    from kehu.customers.panels import render_panels

    actor = request.actor
    opp = _opportunity(request, pk)
    roles = queries.contact_roles(opp)
    taken = {r.contact_id for r in roles}
    candidates = [
        c
        for c in visible(actor, Contact.objects.filter(account_id=opp.account_id).only("id", "name"))[:200]
        if c.pk not in taken
    ]
    history = queries.stage_history(opp)
    context = {
        "opp": opp,
        "record": opp,
        "stages": queries.stages_of(opp.pipeline),
        "roles": roles,
        "role_form": ContactRoleForm(contacts=candidates) if candidates else None,
        "lines": list(OpportunityLine.objects.filter(opportunity=opp).select_related("product")),
        "history": history,
        "tags": services.tags_of(opp),
        "lost_reasons": lost_reason_choices(),
        "base_currency": request.workspace.base_currency,
        "can_change": actor.can("change", Opportunity.object_type),
        "can_delete": actor.can("delete", Opportunity.object_type),
        "panels": render_panels(request, actor, opp),
    }
    return render(request, "deals/opportunity_detail.html", context)


def _form_page(request, opp: Opportunity | None):
    actor = request.actor
    if opp is None:
        require(actor, "create", Opportunity.object_type)
        first = (
            services.default_pipeline(request.workspace).stages.filter(is_won=False, is_lost=False).first()
        )
        initial = {
            "owner_id": request.user.pk,
            "currency": request.workspace.base_currency,
            "stage_id": first.pk if first else None,
            "account_id": _int(request.GET.get("account_id")),
        }
    else:
        initial = {name: getattr(opp, name) for name in OpportunityForm.base_fields if hasattr(opp, name)}
        initial["tags"] = services.tags_of(opp)
    form = OpportunityForm(actor, request.POST or None, initial=initial, record=opp)
    if request.method == "POST" and form.is_valid():
        try:
            if opp is None:
                opp = services.create_opportunity(actor, **form.service_values())
            else:
                services.update_opportunity(actor, opp, **form.service_values())
        except DomainError as error:
            show_domain_error(request, error, form)
        else:
            messages.success(request, _("Saved."))
            return redirect("deals:opportunity-detail", opp.pk)
    title = str(opp) if opp else _("New opportunity")
    return render(request, "deals/opportunity_form.html", {"form": form, "opp": opp, "title": title})


@member_required
def opportunity_create(request):
    return _form_page(request, None)


@member_required
def opportunity_edit(request, pk: int):
    return _form_page(request, _opportunity(request, pk, "change"))


@member_required
def opportunity_delete(request, pk: int):
    opp = _opportunity(request, pk, "delete")
    if request.method == "POST":
        services.delete_opportunity(request.actor, opp)
        messages.success(request, _("Deleted “%(name)s”.") % {"name": opp})
        return redirect("deals:opportunity-list")
    return render(request, "deals/confirm_delete.html", {"opp": opp})


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _totals_json(request, pipeline: Pipeline) -> dict:
    """The board's column totals under the filters the board was showing (sent along by the script)."""
    filters = _board_filters(request, request.POST)
    records = queries.board_records(request.actor, pipeline, filters)
    currency = request.workspace.base_currency
    totals = queries.column_totals(records, filters.closed_since())
    return {
        str(stage.pk): {
            "count": totals.get(stage.pk, {}).get("count", 0),
            "amount": money(totals.get(stage.pk, {}).get("amount", queries.ZERO), currency),
            "weighted": money(totals.get(stage.pk, {}).get("weighted", queries.ZERO), currency),
        }
        for stage in queries.stages_of(pipeline)
    }


@require_POST
@member_required
def opportunity_move(request, pk: int):
    """Move to ``stage_id`` (board drop or detail page); JSON for the board, a redirect otherwise."""
    opp = _opportunity(request, pk, "change")
    stage = Stage.objects.filter(pk=_int(request.POST.get("stage_id"))).first()
    try:
        if stage is None:
            raise NotFound(_("Unknown stage."))
        reason = request.POST.get("lost_reason")
        services.move_to_stage(request.actor, opp, stage, lost_reason=reason if reason is not None else None)
    except DomainError as error:
        if _wants_json(request):
            details = [str(d.message) for d in error.details]
            return JsonResponse(
                {
                    "ok": False,
                    "message": " ".join(details) or str(error.message),
                    "fields": [d.field for d in error.details],
                },
                status=error.status,
            )
        show_domain_error(request, error)
        return redirect("deals:opportunity-detail", opp.pk)
    if _wants_json(request):
        return JsonResponse(
            {"ok": True, "status": opp.status, "columns": _totals_json(request, opp.pipeline)}
        )
    messages.success(request, _("Moved to “%(stage)s”.") % {"stage": stage.name})
    return redirect("deals:opportunity-detail", opp.pk)


@require_POST
@member_required
def opportunity_contacts(request, pk: int):
    """Add a contact with a role (``contact_id``, ``role``) or remove one (``remove``)."""
    opp = _opportunity(request, pk, "change")
    current = [
        {"contact_id": r.contact_id, "role": r.role, "is_primary": r.is_primary}
        for r in queries.contact_roles(opp)
    ]
    remove = _int(request.POST.get("remove"))
    if remove:
        current = [c for c in current if c["contact_id"] != remove]
    elif _int(request.POST.get("contact_id")):
        current.append(
            {"contact_id": int(request.POST["contact_id"]), "role": request.POST.get("role") or "other"}
        )
    try:
        services.update_opportunity(request.actor, opp, contacts=current)
    except DomainError as error:
        show_domain_error(request, error)
    return redirect("deals:opportunity-detail", opp.pk)


# --- board -----------------------------------------------------------------------------------------


def _board_filters(request, params) -> queries.BoardFilters:
    custom = None
    key = params.get("cf_key", "")
    if key and params.get("cf_op", "eq") in OPERATOR_LABELS:
        custom = (key, params.get("cf_op", "eq"), params.get("cf_value", ""))
    return queries.BoardFilters(
        owner_id=_int(params.get("owner")),
        team_id=_int(params.get("team")),
        close_from=_day(params.get("close_from")),
        close_to=_day(params.get("close_to")),
        custom=custom,
        q=params.get("q", "")[:200],
    )


def _board_pipeline(request, pk: int | None) -> Pipeline:
    require(request.actor, "view", Opportunity.object_type)
    default = services.default_pipeline(request.workspace)
    if pk is None:
        return default
    pipeline = Pipeline.objects.filter(pk=pk).first()
    if pipeline is None:
        raise Http404
    return pipeline


@member_required
def board(request, pk: int | None = None):
    actor = request.actor
    pipeline = _board_pipeline(request, pk)
    filters = _board_filters(request, request.GET)
    try:
        columns = queries.board(
            queries.board_records(actor, pipeline, filters), pipeline, closed_since=filters.closed_since()
        )
    except DomainError as error:
        show_domain_error(request, error)
        filters.custom = None
        columns = queries.board(
            queries.board_records(actor, pipeline, filters), pipeline, closed_since=filters.closed_since()
        )
    context = {
        "pipeline": pipeline,
        "pipelines": queries.pipelines_for(actor, active_only=True),
        "columns": columns,
        "filters": filters,
        "filter_params": filters.params(),
        "members": Membership.objects.filter(is_active=True).select_related("user").order_by("user__name"),
        "teams": Team.objects.order_by("name"),
        "custom_defs": readable(actor, Opportunity.object_type),
        "operators": list(OPERATOR_LABELS.items()),
        "currency": request.workspace.base_currency,
        "lost_reasons": lost_reason_choices(),
        "can_change": actor.can("change", Opportunity.object_type),
        "can_create": actor.can("create", Opportunity.object_type),
    }
    return render(request, "deals/board.html", context)


@member_required
def board_column(request, pk: int, stage_pk: int):
    """The next page of one column's cards ("load more", htmx)."""
    pipeline = _board_pipeline(request, pk)
    stage = Stage.objects.filter(pk=stage_pk, pipeline=pipeline).first()
    if stage is None:
        raise Http404
    filters = _board_filters(request, request.GET)
    try:
        cards, next_cursor = queries.cards(
            queries.board_records(request.actor, pipeline, filters),
            stage,
            cursor=request.GET.get("cursor"),
            closed_since=filters.closed_since(),
        )
    except (InvalidCursor, DomainError) as error:
        return HttpResponseBadRequest(str(error))
    context = {
        "pipeline": pipeline,
        "column": queries.Column(stage, cards=cards, next_cursor=next_cursor),
        "filter_params": filters.params(),
        "currency": request.workspace.base_currency,
        "can_change": request.actor.can("change", Opportunity.object_type),
    }
    return render(request, "deals/_cards.html", context)


# --- pipeline settings -----------------------------------------------------------------------------


@admin_required
def pipeline_settings(request):
    services.default_pipeline(request.workspace)
    pipelines = list(Pipeline.objects.prefetch_related("stages").order_by("position", "id"))
    counts = queries.deal_counts_by_stage()
    for pipeline in pipelines:
        pipeline.stage_list = sorted(pipeline.stages.all(), key=lambda s: (s.position, s.pk))
        for stage in pipeline.stage_list:
            stage.deal_count = counts.get(stage.pk, 0)
            stage.form = StageForm(
                prefix=f"stage{stage.pk}",
                initial={
                    "name": stage.name,
                    "probability": stage.probability,
                    "outcome": "won" if stage.is_won else "lost" if stage.is_lost else "open",
                    "required_fields": stage.required_fields,
                },
            )
        pipeline.new_stage_form = StageForm(prefix=f"new{pipeline.pk}", initial={"probability": 50})
    context = {"pipelines": pipelines, "lost_reasons": LostReason.objects.all()}
    return render(request, "deals/pipeline_settings.html", context)


def _settings_redirect(anchor: str = ""):
    return redirect(reverse("deals:pipeline-settings") + (f"#{anchor}" if anchor else ""))


@require_POST
@admin_required
def pipeline_action(request):
    """Every change of the settings page, by ``action`` (each a service call)."""
    actor, post = request.actor, request.POST
    action = post.get("action", "")
    pipeline = Pipeline.objects.filter(pk=_int(post.get("pipeline"))).first()
    stage = Stage.objects.filter(pk=_int(post.get("stage"))).select_related("pipeline").first()
    try:
        if action == "create_pipeline":
            pipeline = services.create_pipeline(actor, name=post.get("name", ""))
        elif action == "rename_pipeline" and pipeline:
            services.update_pipeline(actor, pipeline, name=post.get("name", ""))
        elif action == "make_default" and pipeline:
            services.update_pipeline(actor, pipeline, is_default=True)
        elif action == "toggle_active" and pipeline:
            services.update_pipeline(actor, pipeline, active=not pipeline.active)
        elif action == "delete_pipeline" and pipeline:
            target = Stage.objects.filter(pk=_int(post.get("move_to"))).first()
            services.delete_pipeline(actor, pipeline, move_to=target)
            pipeline = None
        elif action == "add_stage" and pipeline:
            form = StageForm(post, prefix=f"new{pipeline.pk}")
            if not form.is_valid():
                raise ValidationFailed([FieldError(k, " ".join(v)) for k, v in form.errors.items()])
            services.create_stage(actor, pipeline, **form.service_values())
        elif action == "update_stage" and stage:
            pipeline = stage.pipeline
            form = StageForm(post, prefix=f"stage{stage.pk}")
            if not form.is_valid():
                raise ValidationFailed([FieldError(k, " ".join(v)) for k, v in form.errors.items()])
            services.update_stage(actor, stage, **form.service_values())
        elif action in {"stage_up", "stage_down"} and stage:
            pipeline = stage.pipeline
            ids = [s.pk for s in queries.stages_of(pipeline)]
            index = ids.index(stage.pk)
            other = index - 1 if action == "stage_up" else index + 1
            if 0 <= other < len(ids):
                ids[index], ids[other] = ids[other], ids[index]
                services.reorder_stages(actor, pipeline, ids)
        elif action == "delete_stage" and stage:
            pipeline = stage.pipeline
            target = Stage.objects.filter(pk=_int(post.get("move_to"))).first()
            services.delete_stage(actor, stage, move_to=target)
        elif action == "add_reason":
            services.create_lost_reason(actor, name=post.get("name", ""))
        elif action == "delete_reason":
            reason = LostReason.objects.filter(pk=_int(post.get("reason"))).first()
            if reason:
                services.delete_lost_reason(actor, reason)
        else:
            return HttpResponseBadRequest(_("Unknown action."))
    except DomainError as error:
        show_domain_error(request, error)
    else:
        messages.success(request, _("Saved."))
    return _settings_redirect(f"pipeline-{pipeline.pk}" if pipeline else "")
