"""Opportunity pages (list, detail, form), the kanban board and the pipeline settings page.

Views validate shapes and call services. The board's drag and drop posts to ``opportunity_move``
(``deals/board.js``); the answer is JSON: the new column totals, or the error to show while the
card snaps back.
"""

from decimal import Decimal

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kehu.commerce.models import Product
from kehu.commerce.money import without_trailing_zeros
from kehu.commerce.pickers import product_label
from kehu.commerce.queries import products_for
from kehu.commerce.services import RateBook
from kehu.commerce.templatetags.kehu_commerce import money
from kehu.commerce.views import _place_errors
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
from .forms import (
    ContactRoleForm,
    OpportunityForm,
    OpportunityLineForm,
    OpportunityLineFormSet,
    StageForm,
    lost_reason_choices,
    price_in,
)
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


def _line_initial(opp: Opportunity) -> tuple[list[dict], dict[int, str]]:
    """The deal's lines as formset initial data, and the labels of their products (one query)."""
    lines = list(OpportunityLine.objects.filter(opportunity=opp).select_related("product"))
    initial = [
        {
            "product_id": x.product_id,
            "description": x.description,
            "quantity": without_trailing_zeros(x.quantity),
            "unit_price": without_trailing_zeros(x.unit_price),
            "discount_percent": without_trailing_zeros(x.discount_percent),
        }
        for x in lines
    ]
    labels = {x.product_id: product_label(x.product) for x in lines if x.product_id and x.product}
    return initial, labels


def _fill_prices(request, lines: list[dict], currency: str) -> dict[int, str]:
    """An empty unit price on a product line takes the product's price in the deal's ``currency``
    (converted when the product is priced in another one). Answers the lines (by index) that could
    not be priced, with the message: there is no rate to convert with."""
    wanted = {x["product_id"] for x in lines if "product_id" in x and "unit_price" not in x}
    products = {p.pk: p for p in Product.objects.filter(pk__in=wanted)} if wanted else {}
    # One rate table for every product priced in another currency (not one per line).
    foreign = {p.currency for p in products.values() if p.currency != currency}
    book = RateBook(request.workspace, [currency, *foreign]) if foreign and currency else None
    today = timezone.localdate()
    failed = {}
    for index, line in enumerate(lines):
        product = products.get(line.get("product_id")) if "unit_price" not in line else None
        if product is None:
            continue
        price = price_in(product, currency, request.workspace, today, book)
        if price is None:
            failed[index] = _(
                "The price is in %(currency)s and there is no exchange rate: enter the price."
            ) % {"currency": product.currency}
        else:
            line["unit_price"] = price
    return failed


def _save(actor, opp: Opportunity | None, values: dict, amount_from_lines: bool) -> Opportunity:
    """Create or change the deal in one transaction. With lines the services make the amount their
    sum; "amount = sum of lines" unticked puts the typed amount back in the same transaction (until
    the services take that choice themselves: notes/requests.md)."""
    typed = values.get("amount")
    with transaction.atomic():
        if opp is None:
            opp = services.create_opportunity(actor, **values)
        else:
            services.update_opportunity(actor, opp, **values)
        if values.get("lines") and not amount_from_lines and typed is not None and typed != opp.amount:
            services.update_opportunity(actor, opp, amount=typed)
    return opp


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
            "amount_from_lines": True,
        }
        line_initial, labels = [], {}
    else:
        initial = {name: getattr(opp, name) for name in OpportunityForm.base_fields if hasattr(opp, name)}
        initial["tags"] = services.tags_of(opp)
        line_initial, labels = _line_initial(opp)
        line_sum = sum((x.line_total for x in OpportunityLine.objects.filter(opportunity=opp)), Decimal(0))
        initial["amount_from_lines"] = not line_initial or line_sum == opp.amount
    post = request.POST if request.method == "POST" else None
    form = OpportunityForm(actor, post, initial=initial, record=opp)
    # A post without the lines' management form (an older page, a script) leaves the lines alone.
    with_lines = post is None or "lines-TOTAL_FORMS" in post
    formset = OpportunityLineFormSet(
        post if with_lines else None,
        initial=None if post else line_initial,
        prefix="lines",
        form_kwargs={"product_choices": labels},
    )
    if post is not None and form.is_valid() and (not with_lines or formset.is_valid()):
        values = form.service_values()
        line_forms: list = []
        if with_lines:
            values["lines"], line_forms = formset.service_lines()
        currency = values.get("currency") or (opp.currency if opp else request.workspace.base_currency)
        unpriced = _fill_prices(request, values.get("lines", []), currency)
        for index, message in unpriced.items():
            line_forms[index].add_error("unit_price", message)
        if not unpriced:
            try:
                saved = _save(actor, opp, values, form.cleaned_data.get("amount_from_lines", True))
            except DomainError as error:
                _place_errors(request, error, form, line_forms)
            else:
                messages.success(request, _("Saved."))
                return redirect("deals:opportunity-detail", saved.pk)
    title = str(opp) if opp else _("New opportunity")
    context = {"form": form, "formset": formset, "opp": opp, "title": title}
    return render(request, "deals/opportunity_form.html", context)


@member_required
def opportunity_create(request):
    return _form_page(request, None)


@member_required
def opportunity_edit(request, pk: int):
    return _form_page(request, _opportunity(request, pk, "change"))


@member_required
def opportunity_line_row(request):
    """One more empty product line for the opportunity form (htmx), numbered after those there."""
    require(request.actor, "view", Opportunity.object_type)
    index = _int(request.GET.get("lines-TOTAL_FORMS")) or 0
    form = OpportunityLineForm(prefix=f"lines-{index}")
    return render(request, "deals/_line_row.html", {"line": form, "next_total": index + 1})


@member_required
def opportunity_line_price(request):
    """A product's price in the deal's currency (``product_id``, ``currency``) to prefill a line."""
    product = products_for(request.actor).filter(pk=_int(request.GET.get("product_id"))).first()
    if product is None:
        raise Http404
    currency = request.GET.get("currency", "").strip().upper()[:3] or request.workspace.base_currency
    price = price_in(product, currency, request.workspace, timezone.localdate())
    return JsonResponse(
        {
            "unit_price": f"{without_trailing_zeros(price)}" if price is not None else None,
            "currency": currency,
            "product_price": f"{without_trailing_zeros(product.unit_price)}",
            "product_currency": product.currency,
            "description": product.name,
        }
    )


@require_POST
@member_required
def opportunity_line_totals(request):
    """Line totals and their sum for the form as it is being typed (nothing is saved), computed by
    the services' own line rules so the page never does its own arithmetic."""
    require(request.actor, "view", Opportunity.object_type)
    currency = request.POST.get("currency", "").strip().upper()[:3] or request.workspace.base_currency
    formset = OpportunityLineFormSet(request.POST, prefix="lines")
    formset.is_valid()
    lines, line_forms = formset.service_lines()
    unpriced = _fill_prices(request, lines, currency)
    priced = [index for index in range(len(lines)) if index not in unpriced]
    errors: list[FieldError] = []
    # The services' line rules and arithmetic (request: a public preview, notes/requests.md).
    cleaned = services._clean_lines(errors, [lines[i] for i in priced]) or []
    totals = {priced[line.position]: line.line_total for line in cleaned}
    rows = [{"prefix": form.prefix, "total": totals.get(index)} for index, form in enumerate(line_forms)]
    context = {
        "rows": rows,
        "sum": sum(totals.values(), Decimal(0)),
        "count": len(lines),
        "currency": currency,
        "problems": len(lines) - len(totals),
    }
    return render(request, "deals/_line_totals.html", context)


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
        columns = queries.pipeline_board(actor, pipeline, filters)
    except DomainError as error:
        show_domain_error(request, error)
        filters.custom = None
        columns = queries.pipeline_board(actor, pipeline, filters)
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
