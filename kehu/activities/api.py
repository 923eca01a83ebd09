"""REST endpoints: activities, comments, notifications, tasks and follow-up plans."""

from datetime import datetime
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from kehu.core.api import InputSchema, actor_of, keyset
from kehu.core.errors import NotFound
from kehu.listviews.api import apply_api_filters
from kehu.workspaces.access import access_record

from . import plans, queries, services
from .models import Activity, Comment, FollowUpPlan, Task
from .records import access_linked

router = Router(tags=["activities"])

Kind = Literal["call", "email", "meeting", "visit", "note", "message"]
Direction = Literal["inbound", "outbound", "internal"]
Priority = Literal["low", "normal", "high", "urgent"]
Status_ = Literal["open", "in_progress", "done", "cancelled"]


class LinkSchema(Schema):
    object_type: str = Field(..., description="e.g. customers.account, customers.contact")
    object_id: int


# --- activities ------------------------------------------------------------------------------------


class ActivityOut(Schema):
    id: int
    kind: str
    channel: str
    direction: str
    occurred_at: datetime
    duration: int | None = Field(None, description="Seconds")
    subject: str
    body: str
    outcome: str
    external_participants: str
    participant_ids: list[int]
    links: list[LinkSchema]
    source: str
    source_ref: str
    owner_id: int | None
    team_id: int | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_participant_ids(obj: Activity) -> list[int]:
        return [u.pk for u in obj.participants.all()]

    @staticmethod
    def resolve_links(obj: Activity) -> list[dict]:
        return [{"object_type": link.object_type, "object_id": link.object_id} for link in obj.links.all()]


class ActivityIn(InputSchema):
    kind: Kind
    channel: Literal["", "wechat", "sms", "chat"] = Field("", description="Only for kind=message")
    direction: Direction = "outbound"
    occurred_at: datetime | None = Field(None, description="Defaults to now")
    duration: int | None = Field(None, ge=0, description="Seconds")
    subject: str = Field("", max_length=200)
    body: str = ""
    outcome: str = Field("", max_length=200)
    external_participants: str = Field("", max_length=500)
    participant_ids: list[int] = Field(default_factory=list, description="Workspace members")
    links: list[LinkSchema] = Field(default_factory=list, max_length=100, description="Records it is about")
    source: Literal["api", "import"] = "api"
    owner_id: int | None = Field(None, description="Defaults to the caller")
    team_id: int | None = None


class ActivityPatch(InputSchema):
    kind: Kind | None = None
    channel: Literal["", "wechat", "sms", "chat"] | None = None
    direction: Direction | None = None
    occurred_at: datetime | None = None
    duration: int | None = Field(None, ge=0)
    subject: str | None = Field(None, max_length=200)
    body: str | None = None
    outcome: str | None = Field(None, max_length=200)
    external_participants: str | None = Field(None, max_length=500)
    participant_ids: list[int] | None = None
    links: list[LinkSchema] | None = Field(None, max_length=100, description="Replaces the links")
    owner_id: int | None = None
    team_id: int | None = None


class ActivityFilters(Schema):
    object_type: str | None = Field(None, description="With object_id: activities linked to that record")
    object_id: int | None = None
    kind: Kind | None = None


def _links(items) -> list[tuple[str, int]]:
    return [(item.object_type, item.object_id) for item in items]


def _activity(request, activity_id: int, action: str = "view") -> Activity:
    return access_record(
        actor_of(request), Activity.objects.prefetch_related("participants", "links"), activity_id, action
    )


@router.get("/activities", response=list[ActivityOut], summary="Activities the caller may see")
@keyset(orderings=("occurred_at", "created_at"), default="-occurred_at")
def list_activities(request: HttpRequest, filters: Query[ActivityFilters]):
    """Also filters by ``?filters=<JSON filter spec>`` (AND/OR groups, docs/lists.md)."""
    actor = actor_of(request)
    qs = queries.activities_for(actor).prefetch_related("participants", "links")
    if filters.object_type or filters.object_id is not None:
        if not (filters.object_type and filters.object_id is not None):
            from kehu.core.errors import FieldError, ValidationFailed

            raise ValidationFailed([FieldError("object_id", "Give object_type and object_id together.")])
        access_linked(actor, filters.object_type, filters.object_id)
        qs = qs.filter(queries.linked_to(filters.object_type, filters.object_id))
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    return apply_api_filters(actor, qs, request)


@router.post("/activities", response={201: ActivityOut}, summary="Log an activity")
def create_activity(request: HttpRequest, payload: ActivityIn):
    data = payload.dict()
    links = _links(payload.links)
    data.pop("links")
    activity = services.log_activity(actor_of(request), links=links, **data)
    return Status(201, activity)


@router.get("/activities/{activity_id}", response=ActivityOut, summary="One activity")
def get_activity(request: HttpRequest, activity_id: int):
    return _activity(request, activity_id)


@router.patch("/activities/{activity_id}", response=ActivityOut, summary="Change an activity")
def update_activity(request: HttpRequest, activity_id: int, payload: ActivityPatch):
    actor = actor_of(request)
    activity = _activity(request, activity_id, "change")
    data = payload.dict(exclude_unset=True)
    links = _links(payload.links) if data.pop("links", None) is not None else None
    services.update_activity(actor, activity, links=links, **data)
    return _activity(request, activity_id)


@router.delete("/activities/{activity_id}", response={204: None}, summary="Delete an activity")
def delete_activity(request: HttpRequest, activity_id: int):
    actor = actor_of(request)
    services.delete_activity(actor, _activity(request, activity_id, "delete"))
    return Status(204, None)


# --- comments --------------------------------------------------------------------------------------


class CommentOut(Schema):
    id: int
    object_type: str = Field(..., alias="record_type")
    object_id: int = Field(..., alias="record_id")
    author_id: int | None
    body: str
    mention_ids: list[int]
    created_at: datetime

    @staticmethod
    def resolve_mention_ids(obj: Comment) -> list[int]:
        return [u.pk for u in obj.mentions.all()]


class CommentIn(InputSchema):
    object_type: str
    object_id: int
    body: str = Field(
        ..., min_length=1, max_length=10000, description="@name or @email-prefix mentions members"
    )


class CommentFilters(Schema):
    object_type: str
    object_id: int


@router.get("/comments", response=list[CommentOut], summary="Comments on a record")
@keyset(orderings=("created_at",), default="-created_at")
def list_comments(request: HttpRequest, filters: Query[CommentFilters]):
    access_linked(actor_of(request), filters.object_type, filters.object_id)
    return Comment.objects.filter(
        record_type=filters.object_type, record_id=filters.object_id
    ).prefetch_related("mentions")


@router.post("/comments", response={201: CommentOut}, summary="Comment on a record")
def create_comment(request: HttpRequest, payload: CommentIn):
    comment = services.add_comment(
        actor_of(request), record_type=payload.object_type, record_id=payload.object_id, body=payload.body
    )
    return Status(201, comment)


@router.delete("/comments/{comment_id}", response={204: None}, summary="Delete a comment (author or admin)")
def delete_comment(request: HttpRequest, comment_id: int):
    actor = actor_of(request)
    comment = Comment.objects.filter(pk=comment_id).first()
    if comment is None:
        raise NotFound()
    access_linked(actor, comment.record_type, comment.record_id)
    services.delete_comment(actor, comment)
    return Status(204, None)


# --- notifications ---------------------------------------------------------------------------------


class NotificationOut(Schema):
    id: int
    verb: str
    text: str
    object_type: str
    object_id: int | None
    read_at: datetime | None
    created_at: datetime


class NotificationFilters(Schema):
    unread: bool = Field(True, description="Only unread ones (default)")


class ReadIn(InputSchema):
    ids: list[int] | None = Field(None, description="Omit to mark all as read")


class ReadOut(Schema):
    marked: int


@router.get("/notifications", response=list[NotificationOut], summary="The caller's notifications")
@keyset(orderings=("created_at",), default="-created_at")
def list_notifications(request: HttpRequest, filters: Query[NotificationFilters]):
    from .models import Notification

    qs = Notification.objects.filter(user_id=actor_of(request).user.pk)
    return qs.filter(read_at__isnull=True) if filters.unread else qs


@router.post("/notifications/read", response=ReadOut, summary="Mark notifications as read")
def read_notifications(request: HttpRequest, payload: ReadIn):
    return {"marked": services.mark_read(actor_of(request), payload.ids)}


@router.post("/notifications/{notification_id}/read", response=ReadOut, summary="Mark one notification read")
def read_notification(request: HttpRequest, notification_id: int):
    from .models import Notification

    if not Notification.objects.filter(pk=notification_id, user_id=actor_of(request).user.pk).exists():
        raise NotFound()
    return {"marked": services.mark_read(actor_of(request), [notification_id])}


# --- tasks -----------------------------------------------------------------------------------------


class TaskOut(Schema):
    id: int
    title: str
    description: str
    due_at: datetime | None
    assignee_id: int | None
    priority: str
    status: str
    completed_at: datetime | None
    reminder_at: datetime | None
    reminded_at: datetime | None
    record_type: str = Field(..., description="The record the task is about (optional)")
    record_id: int | None
    created_by_plan_id: int | None
    owner_id: int | None
    team_id: int | None
    created_at: datetime
    updated_at: datetime


class TaskIn(InputSchema):
    title: str = Field(..., max_length=200)
    description: str = ""
    due_at: datetime | None = None
    assignee_id: int | None = Field(None, description="Defaults to the caller")
    priority: Priority = "normal"
    status: Status_ = "open"
    reminder_at: datetime | None = None
    record_type: str = Field("", description="e.g. customers.account")
    record_id: int | None = None
    owner_id: int | None = Field(None, description="Defaults to the assignee")
    team_id: int | None = None


class TaskPatch(InputSchema):
    title: str | None = Field(None, max_length=200)
    description: str | None = None
    due_at: datetime | None = None
    assignee_id: int | None = None
    priority: Priority | None = None
    status: Status_ | None = None
    reminder_at: datetime | None = None
    record_type: str | None = None
    record_id: int | None = None
    owner_id: int | None = None
    team_id: int | None = None


class TaskFilters(Schema):
    assignee: str | None = Field(None, description="'me' or a user id")
    status: Status_ | None = None
    due_before: datetime | None = None
    record_type: str | None = None
    record_id: int | None = None


def _task(request, task_id: int) -> Task:
    try:
        return queries.tasks_for(actor_of(request)).get(pk=task_id)
    except (Task.DoesNotExist, ValueError):
        raise NotFound() from None


@router.get("/tasks", response=list[TaskOut], summary="Tasks the caller may see (and all assigned to them)")
@keyset(orderings=("due_at", "created_at", "priority"), default="due_at")
def list_tasks(request: HttpRequest, filters: Query[TaskFilters]):
    """Also filters by ``?filters=<JSON filter spec>`` (e.g. ``due_state`` overdue; docs/lists.md)."""
    actor = actor_of(request)
    qs = queries.tasks_for(actor)
    if filters.assignee == "me":
        qs = qs.filter(assignee_id=actor.user.pk)
    elif filters.assignee:
        if not filters.assignee.isdigit():
            from kehu.core.errors import FieldError, ValidationFailed

            raise ValidationFailed([FieldError("assignee", "Use 'me' or a user id.")])
        qs = qs.filter(assignee_id=int(filters.assignee))
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.due_before:
        qs = qs.filter(due_at__lt=filters.due_before)
    if filters.record_type:
        qs = qs.filter(record_type=filters.record_type)
    if filters.record_id is not None:
        qs = qs.filter(record_id=filters.record_id)
    return apply_api_filters(actor, qs, request)


@router.post("/tasks", response={201: TaskOut}, summary="Create a task")
def create_task(request: HttpRequest, payload: TaskIn):
    return Status(201, services.create_task(actor_of(request), **payload.dict()))


@router.get("/tasks/{task_id}", response=TaskOut, summary="One task")
def get_task(request: HttpRequest, task_id: int):
    return _task(request, task_id)


@router.patch("/tasks/{task_id}", response=TaskOut, summary="Change a task (status done completes it)")
def update_task(request: HttpRequest, task_id: int, payload: TaskPatch):
    return services.update_task(
        actor_of(request), _task(request, task_id), **payload.dict(exclude_unset=True)
    )


@router.delete("/tasks/{task_id}", response={204: None}, summary="Delete a task")
def delete_task(request: HttpRequest, task_id: int):
    services.delete_task(actor_of(request), _task(request, task_id))
    return Status(204, None)


# --- follow-up plans -------------------------------------------------------------------------------


class PlanOut(Schema):
    id: int
    name: str
    active: bool
    object_type: str = Field(..., alias="record_type", description="customers.account | customers.contact")
    condition: dict
    trigger: str
    interval: int
    unit: str
    task_title: str
    task_description: str
    due_in_days: int
    assignee_mode: str
    assignee_id: int | None
    priority: str
    last_run_at: datetime | None
    created_at: datetime


class PlanIn(InputSchema):
    name: str = Field(..., max_length=200)
    active: bool = True
    object_type: Literal["customers.account", "customers.contact"] = "customers.account"
    condition: dict = Field(default_factory=dict, description="Field: value (or list of values) to match")
    trigger: Literal["every", "after_first_order"] = "every"
    interval: int = Field(1, ge=1)
    unit: Literal["day", "week", "month"] = "month"
    task_title: str = Field(..., max_length=200, description="{name} is replaced by the record's name")
    task_description: str = ""
    due_in_days: int = Field(3, ge=0)
    assignee_mode: Literal["owner", "user"] = "owner"
    assignee_id: int | None = None
    priority: Priority = "normal"


class PlanPatch(InputSchema):
    name: str | None = Field(None, max_length=200)
    active: bool | None = None
    object_type: Literal["customers.account", "customers.contact"] | None = None
    condition: dict | None = None
    trigger: Literal["every", "after_first_order"] | None = None
    interval: int | None = Field(None, ge=1)
    unit: Literal["day", "week", "month"] | None = None
    task_title: str | None = Field(None, max_length=200)
    task_description: str | None = None
    due_in_days: int | None = Field(None, ge=0)
    assignee_mode: Literal["owner", "user"] | None = None
    assignee_id: int | None = None
    priority: Priority | None = None


class RunOut(Schema):
    created: int


def _plan_values(data: dict) -> dict:
    if "object_type" in data:
        data["record_type"] = data.pop("object_type")
    return data


def _plan(request, plan_id: int) -> FollowUpPlan:
    if not plans.can_manage_plans(actor_of(request)):
        raise NotFound()
    try:
        return FollowUpPlan.objects.select_related("workspace").get(pk=plan_id)
    except FollowUpPlan.DoesNotExist:
        raise NotFound() from None


@router.get("/follow-up-plans", response=list[PlanOut], summary="Follow-up plans (admins and managers)")
@keyset(orderings=("created_at", "name"), default="name")
def list_plans(request: HttpRequest):
    if not plans.can_manage_plans(actor_of(request)):
        from kehu.core.errors import PermissionDenied

        raise PermissionDenied()
    return FollowUpPlan.objects.all()


@router.post("/follow-up-plans", response={201: PlanOut}, summary="Create a follow-up plan")
def create_plan(request: HttpRequest, payload: PlanIn):
    return Status(201, plans.create_plan(actor_of(request), **_plan_values(payload.dict())))


@router.get("/follow-up-plans/{plan_id}", response=PlanOut, summary="One follow-up plan")
def get_plan(request: HttpRequest, plan_id: int):
    return _plan(request, plan_id)


@router.patch("/follow-up-plans/{plan_id}", response=PlanOut, summary="Change a follow-up plan")
def update_plan(request: HttpRequest, plan_id: int, payload: PlanPatch):
    plan = _plan(request, plan_id)
    return plans.update_plan(actor_of(request), plan, **_plan_values(payload.dict(exclude_unset=True)))


@router.delete("/follow-up-plans/{plan_id}", response={204: None}, summary="Delete a follow-up plan")
def delete_plan(request: HttpRequest, plan_id: int):
    plans.delete_plan(actor_of(request), _plan(request, plan_id))
    return Status(204, None)


@router.post("/follow-up-plans/{plan_id}/run", response=RunOut, summary="Run a plan now (idempotent)")
def run_plan(request: HttpRequest, plan_id: int):
    return {"created": plans.run_plan(_plan(request, plan_id))}
