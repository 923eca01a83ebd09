"""Settings pages (administrators): business calendars with exceptions, public holidays and a preview;
SLA policies with their matching order. Views shape input; ``services`` holds the rules."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kehu.core.errors import DomainError
from kehu.workspaces.views import admin_required, show_domain_error

from . import services
from .choices import CHANNELS, NOTIFY_ROLES, PRIORITIES, TYPES
from .forms import (
    CalendarForm,
    ExceptionForm,
    HolidayForm,
    PolicyForm,
    PreviewForm,
    hours_text,
    parse_hours_text,
)
from .models import WEEKDAY_LABELS, WEEKDAYS, BusinessCalendar, CalendarException, SlaPolicy


def _get(model, pk: int):
    found = model.objects.filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def _minutes_label(minutes: int | None) -> str:
    if not minutes:
        return "—"
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return _("%(h)s h %(m)s min") % {"h": hours, "m": rest}
    return _("%(h)s h") % {"h": hours} if hours else _("%(m)s min") % {"m": rest}


def _describe_conditions(policy: SlaPolicy, grades: dict) -> str:
    labels = {
        "priority": dict(PRIORITIES),
        "channel": dict(CHANNELS),
        "type": dict(TYPES),
        "grade": grades,
    }
    parts = []
    for key in ("priority", "grade", "channel", "type", "category"):
        values = (policy.conditions or {}).get(key) or []
        if values:
            names = ", ".join(str(labels.get(key, {}).get(v, v)) for v in values)
            parts.append(names)
    return " · ".join(parts) or _("Every ticket")


@admin_required
def index(request):
    """Calendars and policies (in matching order)."""
    from kehu.customers.grading import grade_choices

    services.default_calendar(request.actor.workspace)
    calendars = list(BusinessCalendar.objects.order_by("-is_default", "name"))
    grades = dict(grade_choices(request.actor.workspace))
    policies = list(SlaPolicy.objects.select_related("calendar").order_by("position", "id"))
    rows = [
        {
            "policy": p,
            "conditions": _describe_conditions(p, grades),
            "first": _minutes_label(p.first_response_minutes),
            "resolution": _minutes_label(p.resolution_minutes),
        }
        for p in policies
    ]
    return render(request, "sla/index.html", {"calendars": calendars, "rows": rows})


def _calendar_page(request, calendar: BusinessCalendar | None):
    initial = (
        CalendarForm.initial_of(calendar)
        if calendar
        else {
            "time_zone": request.actor.workspace.time_zone,
            **{f"hours_{k}": ("09:00-12:00, 13:00-18:00" if i < 5 else "") for i, k in enumerate(WEEKDAYS)},
        }
    )
    form = CalendarForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if calendar is None:
                calendar = services.create_calendar(request.actor, **form.service_values())
            else:
                services.update_calendar(request.actor, calendar, **form.service_values())
        except DomainError as error:
            for detail in error.details:  # weekly_hours.mon → the Monday field
                if detail.field.startswith("weekly_hours."):
                    detail.field = "hours_" + detail.field.split(".", 1)[1]
            show_domain_error(request, error, form)
        else:
            messages.success(request, _("Saved."))
            return redirect("sla:calendar", calendar.pk)
    context = {"form": form, "calendar": calendar}
    if calendar is not None:
        context.update(_calendar_context(request, calendar))
    return render(request, "sla/calendar.html", context)


def _calendar_context(request, calendar: BusinessCalendar) -> dict:
    year = timezone.localdate().year
    exceptions = list(calendar.exceptions.order_by("date"))
    preview_form = PreviewForm(request.GET or None)
    preview = None
    if request.GET and preview_form.is_valid():
        data = preview_form.cleaned_data
        zone = services.calendar_spec(calendar).zone
        start = data["start"].replace(tzinfo=None).replace(tzinfo=zone)  # typed in the calendar's zone
        end = data["end"].replace(tzinfo=None).replace(tzinfo=zone) if data["end"] else None
        preview = services.calendar_preview(calendar, start, end=end, minutes=data["minutes"])
        if preview.get("due_at"):
            preview["due_local"] = preview["due_at"].astimezone(zone)
    weekly = [
        (label, hours_text(calendar.weekly_hours.get(key, [])))
        for key, label in zip(WEEKDAYS, WEEKDAY_LABELS, strict=True)
    ]
    return {
        "exceptions": exceptions,
        "exception_form": ExceptionForm(initial={"kind": CalendarException.Kind.HOLIDAY}),
        "holiday_form": HolidayForm(years=services.holiday_years(), initial={"year": year}),
        "preview_form": preview_form,
        "preview": preview,
        "weekly": weekly,
        "hours_text": hours_text,
    }


@admin_required
def create_calendar(request):
    return _calendar_page(request, None)


@admin_required
def calendar_page(request, pk: int):
    return _calendar_page(request, _get(BusinessCalendar, pk))


@admin_required
@require_POST
def delete_calendar(request, pk: int):
    calendar = _get(BusinessCalendar, pk)
    try:
        services.delete_calendar(request.actor, calendar)
    except DomainError as error:
        show_domain_error(request, error)
        return redirect("sla:calendar", pk)
    messages.success(request, _("Deleted “%(name)s”.") % {"name": calendar.name})
    return redirect("sla:index")


@admin_required
@require_POST
def add_exception(request, pk: int):
    calendar = _get(BusinessCalendar, pk)
    form = ExceptionForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.set_exception(
                request.actor,
                calendar,
                date=data["date"],
                kind=data["kind"],
                name=data["name"],
                hours=parse_hours_text(data["hours"]),
            )
        except DomainError as error:
            show_domain_error(request, error)
        else:
            messages.success(request, _("Saved."))
    else:
        messages.error(request, _("Enter a date and a kind."))
    return redirect("sla:calendar", pk)


@admin_required
@require_POST
def delete_exception(request, pk: int, exception_pk: int):
    calendar = _get(BusinessCalendar, pk)
    found = CalendarException.objects.filter(calendar=calendar, pk=exception_pk).first()
    if found is None:
        raise Http404
    services.delete_exception(request.actor, found)
    messages.success(request, _("Removed %(date)s.") % {"date": found.date.isoformat()})
    return redirect("sla:calendar", pk)


@admin_required
@require_POST
def load_holidays(request, pk: int):
    calendar = _get(BusinessCalendar, pk)
    form = HolidayForm(request.POST, years=services.holiday_years())
    if not form.is_valid():
        raise Http404
    year = form.cleaned_data["year"]
    try:
        counts = services.load_public_holidays(request.actor, calendar, year)
    except DomainError as error:
        show_domain_error(request, error)
    else:
        messages.success(
            request,
            _(
                "China public holidays %(year)s: %(created)s days added, %(unchanged)s already there, "
                "%(skipped)s kept as typed in."
            )
            % {"year": year, **counts},
        )
    return redirect("sla:calendar", pk)


def _policy_page(request, policy: SlaPolicy | None):
    workspace = request.actor.workspace
    if policy is None:
        initial = {
            "active": True,
            "warn_percent": 80,
            "calendar": services.default_calendar(workspace).pk,
            "notify_roles": ["assignee"],
        }
    else:
        initial = PolicyForm.initial_of(policy)
    form = PolicyForm(request.POST or None, initial=initial, workspace=workspace)
    if request.method == "POST" and form.is_valid():
        try:
            if policy is None:
                services.create_policy(request.actor, **form.service_values())
            else:
                services.update_policy(request.actor, policy, **form.service_values())
        except DomainError as error:
            show_domain_error(request, error, form)
        else:
            messages.success(request, _("Saved."))
            return redirect("sla:index")
    return render(request, "sla/policy.html", {"form": form, "policy": policy, "roles": NOTIFY_ROLES})


@admin_required
def create_policy(request):
    return _policy_page(request, None)


@admin_required
def policy_page(request, pk: int):
    policy = SlaPolicy.objects.filter(pk=pk).prefetch_related("notify_users").first()
    if policy is None:
        raise Http404
    return _policy_page(request, policy)


@admin_required
@require_POST
def delete_policy(request, pk: int):
    policy = _get(SlaPolicy, pk)
    services.delete_policy(request.actor, policy)
    messages.success(request, _("Deleted “%(name)s”.") % {"name": policy.name})
    return redirect("sla:index")


@admin_required
@require_POST
def move_policy(request, pk: int):
    delta = -1 if request.POST.get("direction") == "up" else 1
    services.move_policy(request.actor, _get(SlaPolicy, pk), delta)
    return redirect("sla:index")
