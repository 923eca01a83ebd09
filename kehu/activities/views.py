"""Pages: the timeline panel's htmx endpoints, My tasks, task forms, follow-up plans, the bell.

Views only shape input and call services/queries. htmx requests get partials; the same forms work
without JavaScript (a plain POST redirects back to the record).
"""

import json

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kehu.core.api import InvalidCursor
from kehu.core.errors import DomainError
from kehu.listviews.filters import encode_spec
from kehu.listviews.web import cell_context, list_state, page, toolbar_context
from kehu.workspaces.access import access_record, require
from kehu.workspaces.views import member_required, show_domain_error

from . import plans, queries, services
from .forms import ActivityForm, CommentForm, PlanForm, TaskForm
from .listing import TASK_TABS
from .models import Activity, FollowUpPlan, Notification, Task
from .panels import tasks_context, timeline_context
from .records import RECORD_PAGES, access_linked

BELL_LIMIT = 10


def record_url(object_type: str, object_id) -> str | None:
    """The page of a record, for links and no-JavaScript redirects (None when it has no page)."""
    app, _dot, model = object_type.partition(".")
    try:
        return reverse(RECORD_PAGES.get(object_type) or f"{app}:{model}-detail", args=[object_id])
    except NoReverseMatch:
        return None


# --- timeline panel --------------------------------------------------------------------------------


def _panel(request, record, **kwargs):
    context = timeline_context(request.actor, record, **kwargs)
    if context is None:
        raise Http404
    return render(
        request, "activities/_timeline_panel.html", {"record": record, "actor": request.actor, **context}
    )


@member_required
def timeline_items(request, object_type: str, object_id: int):
    """The list part of a timeline: a kind filter (replaces the list) or the next page (appends)."""
    record = access_linked(request.actor, object_type, object_id)
    kind = request.GET.get("kind", "")
    try:
        entries, next_cursor = queries.timeline(
            request.actor, record, kind=kind, cursor=request.GET.get("cursor")
        )
    except InvalidCursor as error:
        return HttpResponseBadRequest(str(error))
    context = {"entries": entries, "next_cursor": next_cursor, "kind": kind, "record": record}
    return render(request, "activities/_timeline_items.html", context)


@member_required
@require_POST
def log_activity(request, object_type: str, object_id: int):
    record = access_linked(request.actor, object_type, object_id)
    form = ActivityForm(request.POST)
    if form.is_valid():
        try:
            services.log_activity(request.actor, links=[(object_type, record.pk)], **form.service_values())
        except DomainError as error:
            show_domain_error(request, error, form)
        else:
            if not request.htmx:
                messages.success(request, _("Activity logged."))
                return redirect(record_url(object_type, record.pk) or "/")
            return _panel(request, record)
    return _panel(request, record, form=form)


@member_required
@require_POST
def add_comment(request, object_type: str, object_id: int):
    record = access_linked(request.actor, object_type, object_id)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            services.add_comment(
                request.actor, record_type=object_type, record_id=record.pk, body=form.cleaned_data["body"]
            )
        except DomainError as error:
            show_domain_error(request, error, form)
        else:
            if not request.htmx:
                return redirect(record_url(object_type, record.pk) or "/")
            return _panel(request, record)
    return _panel(request, record, comment_form=form)


# --- tasks -----------------------------------------------------------------------------------------


def _task(request, pk: int) -> Task:
    try:
        return queries.tasks_for(request.actor).get(pk=pk)
    except (Task.DoesNotExist, ValueError):
        raise Http404 from None


def _list_page(request, object_type: str, template: str, state=None, **extra):
    """A record list on the list machinery: one keyset page of the state, the toolbar, the rows."""
    state = state or list_state(request, object_type)
    try:
        rows, next_cursor = page(state, None, request.GET.get("cursor") or None)
    except InvalidCursor as error:
        return HttpResponseBadRequest(str(error))
    context = {
        "rows": rows,
        "next_cursor": next_cursor,
        "query": state.q,
        "can_export": request.actor.can("export", object_type),
        **cell_context(request, state),
        **toolbar_context(request, state, next_cursor=next_cursor),
        **extra,
    }
    return render(request, "listviews/_rows.html" if request.htmx else template, context)


@member_required
def activity_list(request):
    """Every activity the member may see, newest first (filters, columns, saved views, export, bulk)."""
    require(request.actor, "view", Activity.object_type)
    return _list_page(request, Activity.object_type, "activities/activity_list.html", list_name="activity")


@member_required
def my_tasks(request):
    """The tasks list. Its quick tabs (mine, overdue, today, upcoming, done) are filter specs with a
    sort: ``?tab=overdue`` opens one, and the member can refine it and save it as a view. Without
    any list parameter and without a default view the "Overdue" tab opens."""
    require(request.actor, "view", Task.object_type)
    tab = request.GET.get("tab", "")
    if tab in TASK_TABS:
        query = request.GET.copy()
        query.pop("tab")
        _label, spec, sort = TASK_TABS[tab]
        query["f"], query["sort"] = encode_spec(spec), sort
        request.GET = query
    state = list_state(request, Task.object_type)
    if not request.GET and state.view is None:
        _label, spec, sort = TASK_TABS["overdue"]
        state.filters, state.ordering = spec, sort
        state.explicit.update(f=encode_spec(spec), sort=sort)
    tabs = [
        {
            "key": key,
            "label": label,
            "active": state.view is None and state.filters == spec and state.ordering == sort,
        }
        for key, (label, spec, sort) in TASK_TABS.items()
    ]
    return _list_page(
        request,
        Task.object_type,
        "activities/task_list.html",
        state=state,
        list_name="task",
        tabs=tabs,
        counts=queries.tab_counts(request.actor),
        can_create=request.actor.can("create", Task.object_type),
        can_plan=plans.can_manage_plans(request.actor),
    )


@member_required
@require_POST
def complete_task(request, pk: int):
    task = _task(request, pk)
    try:
        services.complete_task(request.actor, task)
    except DomainError as error:
        show_domain_error(request, error)
    if request.htmx and request.POST.get("cell"):  # the tasks list's status cell
        return render(request, "activities/_task_status_cell.html", {"task": task})
    if request.htmx:
        return render(request, "activities/_task_row.html", {"task": task, "just_done": True})
    return redirect(_next(request) or reverse("activities:my-tasks"))


def _next(request) -> str | None:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return target
    return None


def _task_form_page(request, form, title, task=None):
    return render(
        request,
        "activities/task_form.html",
        {"form": form, "title": title, "task": task, "next": _next(request) or ""},
    )


@member_required
def create_task(request):
    require(request.actor, "create", Task.object_type)
    initial = {"assignee_id": request.user.pk, **{k: v for k, v in request.GET.items() if k != "next"}}
    form = TaskForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            task = services.create_task(request.actor, **form.cleaned_data)
        except DomainError as error:
            show_domain_error(request, error, form)
        else:
            messages.success(request, _("Task created."))
            about = record_url(task.record_type, task.record_id) if task.record_type else None
            return redirect(_next(request) or about or reverse("activities:my-tasks"))
    return _task_form_page(request, form, _("New task"))


@member_required
def edit_task(request, pk: int):
    task = _task(request, pk)
    initial = {name: getattr(task, name) for name in TaskForm.base_fields}
    form = TaskForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_task(request.actor, task, **form.cleaned_data)
        except DomainError as error:
            show_domain_error(request, error, form)
        else:
            messages.success(request, _("Saved."))
            return redirect(_next(request) or reverse("activities:my-tasks"))
    return _task_form_page(request, form, task.title, task)


@member_required
@require_POST
def delete_task(request, pk: int):
    task = access_record(request.actor, Task.objects.all(), pk, "delete")
    services.delete_task(request.actor, task)
    messages.success(request, _("Deleted “%(name)s”.") % {"name": task})
    return redirect(reverse("activities:my-tasks"))


@member_required
def record_tasks_panel(request, object_type: str, object_id: int):
    record = access_linked(request.actor, object_type, object_id)
    context = tasks_context(request.actor, record)
    if context is None:
        raise Http404
    return render(request, "activities/_tasks_panel.html", {"record": record, **context})


# --- follow-up plans -------------------------------------------------------------------------------


def _plans_allowed(request) -> None:
    if not plans.can_manage_plans(request.actor):
        raise Http404


@member_required
def plan_list(request):
    _plans_allowed(request)
    rows = FollowUpPlan.objects.select_related("assignee").order_by("-active", "name")[:500]
    return render(request, "activities/plan_list.html", {"rows": rows})


def _plan_form(request, plan=None):
    _plans_allowed(request)
    if plan is None:
        initial = {}
    else:
        initial = {name: getattr(plan, name) for name in PlanForm.base_fields}
        initial["condition"] = json.dumps(plan.condition, ensure_ascii=False)
    form = PlanForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if plan is None:
                plan = plans.create_plan(request.actor, **form.cleaned_data)
            else:
                plans.update_plan(request.actor, plan, **form.cleaned_data)
        except DomainError as error:
            show_domain_error(request, error, form)
        else:
            messages.success(request, _("Saved."))
            return redirect("activities:plan-list")
    title = plan.name if plan else _("New follow-up plan")
    return render(request, "activities/plan_form.html", {"form": form, "title": title, "plan": plan})


@member_required
def create_plan(request):
    return _plan_form(request)


@member_required
def edit_plan(request, pk: int):
    _plans_allowed(request)
    try:
        plan = FollowUpPlan.objects.get(pk=pk)
    except FollowUpPlan.DoesNotExist:
        raise Http404 from None
    return _plan_form(request, plan)


@member_required
@require_POST
def run_plan(request, pk: int):
    """Run a plan now (what the scheduler does every minute), e.g. right after creating it."""
    _plans_allowed(request)
    try:
        plan = FollowUpPlan.objects.select_related("workspace").get(pk=pk)
    except FollowUpPlan.DoesNotExist:
        raise Http404 from None
    created = plans.run_plan(plan)
    messages.success(request, _("%(n)s task(s) created.") % {"n": created})
    return redirect("activities:plan-list")


@member_required
@require_POST
def delete_plan(request, pk: int):
    _plans_allowed(request)
    try:
        plan = FollowUpPlan.objects.get(pk=pk)
    except FollowUpPlan.DoesNotExist:
        raise Http404 from None
    plans.delete_plan(request.actor, plan)
    messages.success(request, _("Deleted “%(name)s”.") % {"name": plan})
    return redirect("activities:plan-list")


# --- notifications ---------------------------------------------------------------------------------


def _bell(request) -> HttpResponse:
    unread = queries.unread_notifications(request.actor)
    items = list(unread[: BELL_LIMIT + 1])
    count = len(items) if len(items) <= BELL_LIMIT else unread.count()
    for item in items:
        item.url = record_url(item.object_type, item.object_id) if item.object_id else None
        if item.object_type == Task.object_type:
            item.url = reverse("activities:my-tasks")
    return render(request, "activities/_bell.html", {"items": items[:BELL_LIMIT], "count": count})


@member_required
def bell(request):
    return _bell(request)


@member_required
@require_POST
def read_notification(request, pk: int):
    services.mark_read(request.actor, [pk])
    if request.htmx:
        return _bell(request)
    notification = Notification.objects.filter(pk=pk, user=request.user).first()
    url = (
        record_url(notification.object_type, notification.object_id)
        if notification and notification.object_id
        else None
    )
    return redirect(url or "/")


@member_required
@require_POST
def read_all(request):
    services.mark_read(request.actor)
    return _bell(request) if request.htmx else redirect(_next(request) or "/")
