"""Report builder, report pages, dashboards and their tiles (``/reports/``).

Every tile is its own request (htmx ``hx-trigger="load"``, like the sales dashboard's panels): the
page paints at once and a slow report delays only its tile. Charts are inline SVG drawn from
``charts.py`` geometry; PNG export converts that SVG in the browser (``reports/png.js``).
"""

import io
from datetime import date

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_date
from django.utils.http import urlencode
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kehu.core.errors import DomainError, ValidationFailed
from kehu.listviews.builder import YES_NO, condition_node, new_path, spec_from_form, tree
from kehu.listviews.filters import available_fields, describe, empty_spec, is_empty
from kehu.listviews.registry import config_for
from kehu.listviews.services import CONTENT_TYPES, WRITERS, views_of
from kehu.listviews.views import member_options
from kehu.workspaces.models import Membership
from kehu.workspaces.views import member_required

from . import charts, engine, services
from .fields import BUCKETS, report_fields, reportable_types
from .models import Chart, Dashboard, Sharing, Tile
from .tiles import SPECIAL_TILES, last_twelve_months, tile_title


def _range(request) -> tuple[date | None, date | None]:
    """The dashboard's date range (``?start=&end=``, ISO dates); bad values are ignored."""

    def day(name: str) -> date | None:
        try:
            return parse_date(request.GET.get(name) or "")
        except ValueError:
            return None

    return day("start"), day("end")


def _result_context(actor, report, start=None, end=None, *, chart: str | None = None, cached=False) -> dict:
    """What a tile body needs: the result, the chart geometry, or the problem that stops it."""
    try:
        result = services.run_report(actor, report, start=start, end=end, cached=cached)
    except ValidationFailed as failed:
        return {"problem": " ".join(str(d.message) for d in failed.details) or str(failed.message)}
    kind = chart or report.chart
    return {"result": result, "chart": charts.chart_for(kind, result), "chart_kind": kind}


# --- report list -----------------------------------------------------------------------------------


@member_required
def index(request):
    actor = request.actor
    reports = list(services.reports_of(actor))
    labels = {c.object_type: c.label for c in reportable_types()}
    for report in reports:
        report.type_label = labels.get(report.object_type, report.object_type)
        report.editable = services.can_edit(actor, report)
    return render(
        request,
        "reports/index.html",
        {
            "reports": reports,
            "dashboards": list(services.dashboards_of(actor)),
            "sharing": Sharing.choices,
        },
    )


# --- the builder -----------------------------------------------------------------------------------


def _posted_definition(data, object_type: str, actor) -> dict:
    """The definition the builder form describes (``group_1``/``bucket_1``, ``agg_fn``/``agg_field``…)."""
    group_by = []
    for n in (1, 2):
        name = data.get(f"group_{n}") or ""
        if name:
            item = {"field": name}
            if data.get(f"bucket_{n}"):
                fields = report_fields(actor, object_type)
                if name in fields and fields[name].dated:
                    item["bucket"] = data.get(f"bucket_{n}")
            group_by.append(item)
    aggregates = []
    for n in (1, 2):
        fn = data.get(f"agg_fn_{n}") or ""
        if fn == "count":
            aggregates.append({"fn": "count"})
        elif fn:
            aggregates.append({"fn": fn, "field": data.get(f"agg_field_{n}") or ""})
    filters = empty_spec()
    view_id = data.get("filter_view") or ""
    if view_id.isdigit():
        # "Start from a saved view": its conditions replace the editor's (then edited there).
        view = next((v for v in views_of(actor, object_type) if v.pk == int(view_id)), None)
        filters = view.filters if view is not None else filters
    elif "g.r.op" in data:
        filters = spec_from_form(data)  # the filter editor: listviews' builder rows, same protocol
    elif data.get("filters"):
        try:
            import json

            filters = json.loads(data["filters"])
        except ValueError:
            filters = {"invalid": True}
    return {
        "filters": filters,
        "group_by": group_by,
        "aggregates": aggregates or [{"fn": "count"}],
        "date_field": data.get("date_field", "created_at"),
        "sort": data.get("sort") or "",
        "limit": data.get("limit") or engine.DEFAULT_LIMIT,
    }


def _filter_editor(request, config, filters) -> dict:
    """The listviews filter builder's rows for the report's filters (its templates and fragments are
    reused as they are: fields incl. custom ones, lookups, value widgets, AND/OR groups)."""
    if config is None:
        return {}
    fields = available_fields(request.actor, config)
    spec = (
        filters if isinstance(filters, dict) and not is_empty(filters) and "invalid" not in filters else None
    )
    root = tree(spec, fields)
    if not root.children:  # an empty row to start from, as on the lists
        root.children.append(condition_node(new_path("r"), fields))
    return {
        "filter_root": root,
        "filter_config": config,
        "filter_fields": list(fields.values()),
        "members": member_options() if any(f.type == "user" for f in fields.values()) else [],
        "yes_no": YES_NO,
    }


def _builder_context(request, object_type: str, definition: dict, values: dict) -> dict:
    actor = request.actor
    fields = report_fields(actor, object_type)
    types = reportable_types()
    config = config_for(object_type)
    group_by = definition.get("group_by") or []
    aggregates = definition.get("aggregates") or [{"fn": "count"}]
    slots = []
    for n in (1, 2):
        g = group_by[n - 1] if len(group_by) >= n else {}
        a = aggregates[n - 1] if len(aggregates) >= n else {}
        slots.append(
            {
                "n": n,
                "field": g.get("field", ""),
                "bucket": g.get("bucket", ""),
                "fn": a.get("fn", "count" if n == 1 else ""),
                "agg_field": a.get("field", ""),
            }
        )
    return {
        "object_type": object_type,
        "types": types,
        "fields": list(fields.values()),
        "numeric_fields": [f for f in fields.values() if f.numeric],
        "dated_fields": [f for f in fields.values() if f.dated],
        "buckets": BUCKETS.items(),
        "aggregates": [(k, v[1]) for k, v in engine.AGGREGATES.items()],
        "sorts": engine.SORTS.items(),
        "charts": Chart.choices,
        "sharing": Sharing.choices,
        "slots": slots,
        "definition": definition,
        **_filter_editor(request, config, definition.get("filters")),
        "saved_views": views_of(actor, object_type) if config else [],
        "values": values,
        "teams": actor.team_ids,
    }


def _builder(request, report=None):
    actor = request.actor
    types = reportable_types()
    if not types:
        raise Http404
    data = request.POST if request.method == "POST" else request.GET
    object_type = data.get("object_type") or (report.object_type if report else types[0].object_type)
    if config_for(object_type) is None:
        object_type = types[0].object_type
    if request.method == "POST" or "group_1" in data:
        definition = _posted_definition(data, object_type, actor)
        values = {
            "name": data.get("name", ""),
            "chart": data.get("chart") or Chart.BAR,
            "sharing": data.get("sharing") or Sharing.PRIVATE,
            "description": data.get("description", ""),
        }
    elif report is not None:
        definition = report.definition
        values = {
            "name": report.name,
            "chart": report.chart,
            "sharing": report.sharing,
            "description": report.description,
        }
    else:
        definition = engine.default_definition(object_type)
        values = {"name": "", "chart": Chart.BAR, "sharing": Sharing.PRIVATE, "description": ""}
    if data.get("object_type_changed"):
        definition = engine.default_definition(object_type)
    errors = []
    if request.method == "POST" and "save" in request.POST:
        try:
            fields = {
                "name": values["name"],
                "object_type": object_type,
                "definition": definition,
                "chart": values["chart"],
                "sharing": values["sharing"],
                "description": values["description"],
            }
            if report is None:
                report = services.create_report(actor, **fields)
                messages.success(request, _("Report saved."))
            else:
                services.update_report(actor, report, **fields)
                messages.success(request, _("Report updated."))
            return redirect("reports:report", report.pk)
        except DomainError as error:
            errors = list(getattr(error, "details", [])) or [error]
    context = _builder_context(request, object_type, definition, values)
    context.update({"report": report, "errors": errors})
    context.update(_preview(actor, object_type, definition, values["chart"]))
    if request.htmx and request.method == "GET":
        return render(request, "reports/_builder_form.html", context)
    return render(request, "reports/builder.html", context)


def _preview(actor, object_type: str, definition: dict, chart: str) -> dict:
    try:
        cleaned = engine.clean_definition(actor, object_type, definition)
    except ValidationFailed as failed:
        return {
            "problem": "; ".join(f"{d.message}" for d in failed.details),
            "preview_errors": failed.details,
        }
    result = engine.run(actor, object_type, cleaned)
    kind = chart if chart in Chart.values else Chart.BAR
    config = config_for(object_type)
    return {
        "result": result,
        "chart": charts.chart_for(kind, result),
        "chart_kind": kind,
        "filters_text": describe(actor, config, cleaned["filters"]),
    }


@member_required
def builder_new(request):
    return _builder(request)


@member_required
def builder_edit(request, pk: int):
    return _builder(request, services.get_report(request.actor, pk, edit=True))


@member_required
def preview(request):
    """The live preview of the builder (htmx: the form posts here on every change)."""
    actor = request.actor
    data = request.POST if request.method == "POST" else request.GET
    object_type = data.get("object_type") or ""
    if config_for(object_type) is None:
        raise Http404
    definition = _posted_definition(data, object_type, actor)
    context = _preview(actor, object_type, definition, data.get("chart") or Chart.BAR)
    context["title"] = data.get("name") or _("Preview")
    return render(request, "reports/_preview.html", context)


# --- one report ------------------------------------------------------------------------------------


@member_required
def report_page(request, pk: int):
    actor = request.actor
    report = services.get_report(actor, pk)
    start, end = _range(request)
    context = _result_context(actor, report, start, end)
    config = config_for(report.object_type)
    dashboards = [d for d in services.dashboards_of(actor) if services.can_edit(actor, d)]
    context.update(
        {
            "report": report,
            "type_label": config.label if config else report.object_type,
            "editable": services.can_edit(actor, report),
            "dashboards": dashboards,
            "filters_text": describe(actor, config, report.definition.get("filters")) if config else "",
            "range_query": urlencode({k: v for k, v in (("start", start), ("end", end)) if v}),
        }
    )
    return render(request, "reports/report.html", context)


@member_required
def report_export(request, pk: int, fmt: str):
    """The report's rows as CSV or XLSX (the listviews writers: formulas neutralised)."""
    actor = request.actor
    if fmt not in WRITERS:
        raise Http404
    report = services.get_report(actor, pk)
    start, end = _range(request)
    result = services.run_report(actor, report, start=start, end=end)
    buffer = io.BytesIO()
    WRITERS[fmt](iter(result.table()), buffer)
    response = HttpResponse(buffer.getvalue(), content_type=CONTENT_TYPES[fmt])
    name = slugify(report.name) or "report"
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


@member_required
@require_POST
def report_delete(request, pk: int):
    actor = request.actor
    report = services.get_report(actor, pk, edit=True)
    services.delete_report(actor, report)
    messages.success(request, _("Report deleted."))
    return redirect("reports:index")


# --- dashboards ------------------------------------------------------------------------------------


@member_required
def customer_value(request):
    dashboard = services.ensure_customer_value(request.actor)
    return redirect("reports:dashboard", dashboard.pk)


@member_required
@require_POST
def dashboard_create(request):
    actor = request.actor
    try:
        dashboard = services.create_dashboard(
            actor, name=request.POST.get("name", ""), sharing=request.POST.get("sharing") or Sharing.PRIVATE
        )
    except DomainError as error:
        messages.error(request, " ".join(str(d.message) for d in getattr(error, "details", [])) or str(error))
        return redirect("reports:index")
    return redirect(reverse("reports:dashboard", args=[dashboard.pk]) + "?edit=1")


@member_required
def dashboard_page(request, pk: int):
    actor = request.actor
    dashboard = services.get_dashboard(actor, pk)
    editable = services.can_edit(actor, dashboard)
    edit = editable and request.GET.get("edit") == "1"
    start, end = _range(request)
    if start is None and end is None and "start" not in request.GET:
        start, end = last_twelve_months(actor.workspace)
    tiles = services.tiles_of(dashboard)
    for tile in tiles:
        tile.shown_title = tile_title(tile)
    query = urlencode({"start": start.isoformat() if start else "", "end": end.isoformat() if end else ""})
    context = {
        "dashboard": dashboard,
        "tiles": tiles,
        "editable": editable,
        "edit": edit,
        "start": start,
        "end": end,
        "range_query": query,
    }
    if edit:
        context.update(
            {
                "reports": list(services.reports_of(actor)),
                "special_tiles": list(SPECIAL_TILES.values()),
                "schedules": Dashboard.Schedule.choices,
                "members": Membership.objects.filter(is_active=True)
                .select_related("user")
                .order_by("user__name"),
                "recipient_ids": set(dashboard.recipients.values_list("pk", flat=True)),
            }
        )
    return render(request, "reports/dashboard.html", context)


@member_required
def tile(request, pk: int, tile_id: int):
    """One tile's body: the report (or special tile) run for the viewer over the date range."""
    actor = request.actor
    dashboard = services.get_dashboard(actor, pk)
    try:
        item = dashboard.tiles.select_related("report").get(pk=tile_id)
    except Tile.DoesNotExist:
        raise Http404 from None
    start, end = _range(request)
    context = {
        "tile_zone": actor.workspace.time_zone or "UTC",
        "tile": item,
        "title": tile_title(item),
        "dashboard": dashboard,
        "range_query": request.GET.urlencode(),
    }
    if item.report_id:
        try:
            report = services.get_report(actor, item.report_id)
        except DomainError:
            context["problem"] = _("This report is not shared with you.")
        else:
            fresh = request.GET.get("fresh") == "1"
            context.update(_result_context(actor, report, start, end, cached=not fresh))
            context["report"] = report
    else:
        special = SPECIAL_TILES.get(item.kind)
        data = special.render(actor, start, end) if special else None
        context.update({"special": special, "data": data})
    return render(request, "reports/_tile.html", context)


def _edit_redirect(dashboard):
    return redirect(reverse("reports:dashboard", args=[dashboard.pk]) + "?edit=1")


@member_required
@require_POST
def dashboard_edit(request, pk: int):
    """The edit mode's forms: add/remove/move/resize tiles, rename, share, schedule, delete."""
    actor = request.actor
    dashboard = services.get_dashboard(actor, pk, edit=True)
    action = request.POST.get("action", "")
    try:
        if action == "add":
            value = request.POST.get("item", "")
            kind, _sep, ident = value.partition(":")
            services.add_tile(
                actor,
                dashboard,
                report_id=ident if kind == "report" else None,
                kind=ident if kind == "special" else "",
                width=request.POST.get("width", 1),
            )
        elif action == "remove":
            services.remove_tile(actor, dashboard, request.POST.get("tile"))
        elif action in {"up", "down"}:
            services.update_tile(actor, dashboard, request.POST.get("tile"), move=action)
        elif action == "width":
            services.update_tile(actor, dashboard, request.POST.get("tile"), width=request.POST.get("width"))
        elif action == "settings":
            services.update_dashboard(
                actor,
                dashboard,
                name=request.POST.get("name", dashboard.name),
                sharing=request.POST.get("sharing") or dashboard.sharing,
                schedule=request.POST.get("schedule", ""),
                recipient_ids=request.POST.getlist("recipients"),
            )
            messages.success(request, _("Dashboard saved."))
        elif action == "delete":
            services.delete_dashboard(actor, dashboard)
            messages.success(request, _("Dashboard deleted."))
            return redirect("reports:index")
    except DomainError as error:
        messages.error(request, " ".join(str(d.message) for d in getattr(error, "details", [])) or str(error))
    return _edit_redirect(dashboard)


@member_required
@require_POST
def add_to_dashboard(request, pk: int):
    """From a report's page: put it on one of the actor's dashboards (or a new one)."""
    actor = request.actor
    report = services.get_report(actor, pk)
    target = request.POST.get("dashboard", "")
    try:
        if target == "new":
            dashboard = services.create_dashboard(actor, name=request.POST.get("name") or report.name)
        else:
            dashboard = services.get_dashboard(actor, target, edit=True)
        services.add_tile(actor, dashboard, report_id=report.pk, width=request.POST.get("width", 1))
    except DomainError as error:
        messages.error(request, " ".join(str(d.message) for d in getattr(error, "details", [])) or str(error))
        return redirect("reports:report", report.pk)
    messages.success(request, _("Added to the dashboard “%(name)s”.") % {"name": dashboard.name})
    return redirect("reports:dashboard", dashboard.pk)
