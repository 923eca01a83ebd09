"""REST endpoints of business calendars and SLA policies (reads: members; writes: administrators).

``/sla/calendars`` (+ exceptions, public-holiday loading, a business-time preview) and
``/sla/policies`` (+ ``/sla/policies/order``). Ids of another workspace answer 404.
"""

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from kehu.core.api import InputSchema, actor_of, patch_schema
from kehu.core.errors import FieldError, NotFound, ValidationFailed
from kehu.workspaces.access import require_manager

from . import services
from .models import BusinessCalendar, CalendarException, SlaPolicy

router = Router(tags=["sla"])

HOURS_HELP = 'Per weekday (mon … sun) a list of ["HH:MM", "HH:MM"] open intervals; [] = closed'


class ExceptionOut(Schema):
    id: int
    date: date
    kind: str = Field(..., description="holiday (closed all day) | workday (adjusted working day, 调休)")
    name: str
    hours: list = Field(..., description='[["09:00", "18:00"]]; [] = the calendar\'s normal weekday hours')
    source: str = Field(..., description='"cn-2026" for loaded public holidays; "" when typed in')


class CalendarOut(Schema):
    id: int
    name: str
    time_zone: str
    weekly_hours: dict = Field(..., description=HOURS_HELP)
    is_default: bool
    updated_at: datetime


class CalendarDetailOut(CalendarOut):
    exceptions: list[ExceptionOut]


class CalendarIn(InputSchema):
    name: str = Field(..., max_length=100)
    time_zone: str | None = Field(None, max_length=60, description="IANA zone; default the workspace's")
    weekly_hours: dict | None = Field(None, description=HOURS_HELP + ". Default Mon–Fri 09–12, 13–18")
    is_default: bool = False


CalendarPatch = patch_schema(CalendarIn, "CalendarPatch")


class ExceptionIn(InputSchema):
    date: date
    kind: str = Field("holiday", description="holiday | workday")
    name: str = Field("", max_length=100)
    hours: list = Field(default_factory=list, description='Working day hours, e.g. [["09:00", "18:00"]]')


class HolidaysIn(InputSchema):
    year: int
    country: str = Field("CN", description="Only CN data ships (2025, 2026)")


class HolidaysOut(Schema):
    created: int
    unchanged: int = Field(..., description="Already loaded from the same schedule")
    skipped: int = Field(..., description="Dates with a typed-in exception, kept as they are")


class PreviewQuery(Schema):
    start: datetime
    end: datetime | None = Field(None, description="Count the business minutes from start to end")
    minutes: int | None = Field(None, ge=0, le=1_000_000, description="The due time of start + minutes")


class PreviewOut(Schema):
    minutes_between: int | None = None
    due_at: datetime | None = None


def _calendar(calendar_id: int) -> BusinessCalendar:
    found = BusinessCalendar.objects.filter(pk=calendar_id).first()
    if found is None:
        raise NotFound()
    return found


def _detail(calendar: BusinessCalendar) -> dict:
    data = CalendarOut.from_orm(calendar).dict()
    data["exceptions"] = list(calendar.exceptions.order_by("date"))
    return data


@router.get("/sla/calendars", response=list[CalendarOut], summary="Business calendars")
def list_calendars(request: HttpRequest):
    actor = actor_of(request)
    services.default_calendar(actor.workspace)
    return list(BusinessCalendar.objects.order_by("-is_default", "name", "id")[:200])


@router.get(
    "/sla/calendars/{calendar_id}", response=CalendarDetailOut, summary="A calendar with its exceptions"
)
def get_calendar(request: HttpRequest, calendar_id: int):
    actor_of(request)
    return _detail(_calendar(calendar_id))


@router.post("/sla/calendars", response={201: CalendarDetailOut}, summary="Add a calendar (administrators)")
def create_calendar(request: HttpRequest, payload: CalendarIn):
    actor = actor_of(request)
    values = {k: v for k, v in payload.dict().items() if v is not None}
    return Status(201, _detail(services.create_calendar(actor, **values)))


@router.patch(
    "/sla/calendars/{calendar_id}", response=CalendarDetailOut, summary="Change a calendar (admins)"
)
def update_calendar(request: HttpRequest, calendar_id: int, payload: CalendarPatch):  # type: ignore[valid-type]
    actor = actor_of(request)
    require_manager(actor)
    calendar = _calendar(calendar_id)
    services.update_calendar(actor, calendar, **payload.dict(exclude_unset=True))
    return _detail(calendar)


@router.delete("/sla/calendars/{calendar_id}", response={204: None}, summary="Delete a calendar (admins)")
def delete_calendar(request: HttpRequest, calendar_id: int):
    actor = actor_of(request)
    require_manager(actor)
    services.delete_calendar(actor, _calendar(calendar_id))
    return Status(204, None)


@router.post(
    "/sla/calendars/{calendar_id}/exceptions",
    response={201: ExceptionOut},
    summary="Set the exception of a date: holiday or adjusted working day (administrators)",
)
def set_exception(request: HttpRequest, calendar_id: int, payload: ExceptionIn):
    actor = actor_of(request)
    require_manager(actor)
    return Status(201, services.set_exception(actor, _calendar(calendar_id), **payload.dict()))


@router.delete(
    "/sla/calendars/{calendar_id}/exceptions/{exception_id}",
    response={204: None},
    summary="Remove an exception",
)
def delete_exception(request: HttpRequest, calendar_id: int, exception_id: int):
    actor = actor_of(request)
    require_manager(actor)
    found = CalendarException.objects.filter(calendar=_calendar(calendar_id), pk=exception_id).first()
    if found is None:
        raise NotFound()
    services.delete_exception(actor, found)
    return Status(204, None)


@router.post(
    "/sla/calendars/{calendar_id}/public-holidays",
    response=HolidaysOut,
    summary="Load a year's official public holidays and adjusted working days (idempotent; admins)",
)
def load_holidays(request: HttpRequest, calendar_id: int, payload: HolidaysIn):
    actor = actor_of(request)
    require_manager(actor)
    return services.load_public_holidays(actor, _calendar(calendar_id), payload.year, payload.country)


@router.get(
    "/sla/calendars/{calendar_id}/preview",
    response=PreviewOut,
    summary="Business minutes between two instants and/or the due time of start + N business minutes",
)
def preview(request: HttpRequest, calendar_id: int, query: Query[PreviewQuery]):
    actor_of(request)
    if query.start.tzinfo is None or (query.end is not None and query.end.tzinfo is None):
        raise ValidationFailed(
            [FieldError("start", _("Give times with a UTC offset, e.g. 2026-10-09T17:00+08:00."))]
        )
    return services.calendar_preview(
        _calendar(calendar_id), query.start, end=query.end, minutes=query.minutes
    )


# --- policies ------------------------------------------------------------------------------------------


class EscalationIO(Schema):
    notify: list[str | int] = Field(
        default_factory=list, description='"assignee", "team_manager" and/or user ids'
    )
    reassign_to_user: int | None = None
    reassign_to_team: int | None = None
    raise_priority: bool = False


class PolicyOut(Schema):
    id: int
    name: str
    position: int = Field(..., description="Matching order: the first active policy that matches wins")
    active: bool
    conditions: dict = Field(
        ...,
        description='{"priority": [...], "grade": [...], "channel": [...], "category": [...], "type": [...]}',
    )
    first_response_minutes: int | None = Field(..., description="Business minutes")
    resolution_minutes: int | None = Field(..., description="Business minutes")
    calendar_id: int
    warn_percent: int
    escalation: EscalationIO

    @staticmethod
    def resolve_escalation(obj) -> dict:
        return obj.escalation_config


class PolicyIn(InputSchema):
    name: str = Field(..., max_length=100)
    position: int | None = None
    active: bool = True
    conditions: dict[str, list[str]] = Field(default_factory=dict, description="Empty list / missing = any")
    first_response_minutes: int | None = Field(None, gt=0)
    resolution_minutes: int | None = Field(None, gt=0)
    calendar_id: int | None = Field(None, description="Default: the workspace's default calendar")
    warn_percent: int = Field(80, ge=1, le=100)
    escalation: EscalationIO | None = None


PolicyPatch = patch_schema(PolicyIn, "PolicyPatch")


class OrderIn(InputSchema):
    ids: list[int] = Field(..., description="Policy ids in matching order; the ones left out follow")


def _policy(policy_id: int) -> SlaPolicy:
    found = SlaPolicy.objects.filter(pk=policy_id).prefetch_related("notify_users").first()
    if found is None:
        raise NotFound()
    return found


def _values(data: dict[str, Any]) -> dict[str, Any]:
    if data.get("calendar_id") is None:
        data.pop("calendar_id", None)
    if data.get("position") is None:
        data.pop("position", None)
    return data


@router.get("/sla/policies", response=list[PolicyOut], summary="SLA policies in matching order")
def list_policies(request: HttpRequest):
    actor_of(request)
    return list(SlaPolicy.objects.prefetch_related("notify_users").order_by("position", "id")[:500])


# Before the {policy_id} routes: "/sla/policies/order" must not be read as a policy id.
@router.post("/sla/policies/order", response=list[PolicyOut], summary="Reorder the policies (administrators)")
def order_policies(request: HttpRequest, payload: OrderIn):
    actor = actor_of(request)
    services.reorder_policies(actor, payload.ids)
    return list(SlaPolicy.objects.prefetch_related("notify_users").order_by("position", "id"))


@router.get("/sla/policies/{policy_id}", response=PolicyOut, summary="One SLA policy")
def get_policy(request: HttpRequest, policy_id: int):
    actor_of(request)
    return _policy(policy_id)


@router.post("/sla/policies", response={201: PolicyOut}, summary="Add an SLA policy (administrators)")
def create_policy(request: HttpRequest, payload: PolicyIn):
    actor = actor_of(request)
    policy = services.create_policy(actor, **_values(payload.dict()))
    return Status(201, _policy(policy.pk))


@router.patch(
    "/sla/policies/{policy_id}", response=PolicyOut, summary="Change an SLA policy (administrators)"
)
def update_policy(request: HttpRequest, policy_id: int, payload: PolicyPatch):  # type: ignore[valid-type]
    actor = actor_of(request)
    require_manager(actor)
    policy = _policy(policy_id)
    services.update_policy(actor, policy, **_values(payload.dict(exclude_unset=True)))
    return _policy(policy_id)


@router.delete(
    "/sla/policies/{policy_id}", response={204: None}, summary="Delete an SLA policy (administrators)"
)
def delete_policy(request: HttpRequest, policy_id: int):
    actor = actor_of(request)
    require_manager(actor)
    services.delete_policy(actor, _policy(policy_id))
    return Status(204, None)
