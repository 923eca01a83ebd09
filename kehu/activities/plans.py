"""Follow-up plans: recurring care rules that create tasks ("visit every key account monthly").

A plan matches records of one type by a small condition on their fields and, per period, creates
one task for each. ``FollowUpRun(plan, record, period)`` is unique, so a run repeated (by the
scheduler every minute, or by two workers at once) never creates a second task for the same period.

Triggers:
- ``every`` N days/weeks/months: the periods are counted from 1970-01-01 (so "every 2 weeks" is
  the same fortnight for every record and every run); one task per record per period.
- ``after_first_order`` N days: a task N days after the record's first order. Orders belong to
  the commerce app, which sits above activities, so it registers a ``first_order_source`` here
  (see ``register_first_order_source``). Until one is registered the trigger creates nothing.
"""

from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.audit.models import AuditEntry
from kehu.audit.services import create_record, delete_record, record, update_record
from kehu.core.errors import FieldError, PermissionDenied, ValidationFailed
from kehu.workspaces.access import Actor
from kehu.workspaces.models import Membership

from .models import FollowUpPlan, FollowUpRun, Notification, Task
from .services import notify

BATCH = 500
PLAN_FIELDS = {
    "name",
    "active",
    "record_type",
    "condition",
    "trigger",
    "interval",
    "unit",
    "task_title",
    "task_description",
    "due_in_days",
    "assignee_mode",
    "assignee_id",
    "priority",
}
# Condition keys per record type: fields that exist on the record (grade comes with analytics).
CONDITION_FIELDS = {
    "customers.account": {"kind", "industry", "city", "owner_id", "team_id"},
    "customers.contact": {"owner_id", "team_id", "job_title", "account_id"},
}

# (workspace, record_type, since: date, until: date) -> iterable of (record id, first order date)
FirstOrderSource = Callable[[Any, str, date, date], Iterable[tuple[int, date]]]
FIRST_ORDER_SOURCES: list[FirstOrderSource] = []


def register_first_order_source(source: FirstOrderSource) -> None:
    """Called by the app that owns orders (commerce) in its ``ready()``."""
    if source not in FIRST_ORDER_SOURCES:
        FIRST_ORDER_SOURCES.append(source)


def can_manage_plans(actor: Actor) -> bool:
    """Plans create work for others: workspace administrators and managers only."""
    return actor.can_manage_workspace or actor.role.key == "manager"


def _require_manager(actor: Actor) -> None:
    if not can_manage_plans(actor):
        raise PermissionDenied(_("Only administrators and managers manage follow-up plans."))


def _clean(values: dict[str, Any], current: FollowUpPlan | None = None) -> dict[str, Any]:
    errors: list[FieldError] = []
    cleaned = {k: v for k, v in values.items() if k in PLAN_FIELDS}
    for name in ("name", "task_title"):
        if name in cleaned or current is None:
            cleaned[name] = " ".join(str(cleaned.get(name) or "").split())
            if not cleaned[name]:
                errors.append(FieldError(name, _("This field is required."), "required"))
    choices = {
        "record_type": FollowUpPlan.Target.values,
        "trigger": FollowUpPlan.Trigger.values,
        "unit": FollowUpPlan.Unit.values,
        "assignee_mode": FollowUpPlan.AssigneeMode.values,
        "priority": Task.Priority.values,
    }
    for name, allowed in choices.items():
        if name in cleaned and cleaned[name] not in allowed:
            errors.append(FieldError(name, _("Choose one of: %s.") % ", ".join(allowed), "invalid_choice"))
    if "interval" in cleaned and (not isinstance(cleaned["interval"], int) or cleaned["interval"] < 1):
        errors.append(FieldError("interval", _("Must be at least %(n)s.") % {"n": 1}, "invalid"))
    record_type = cleaned.get("record_type", current.record_type if current else FollowUpPlan.Target.ACCOUNT)
    condition = cleaned.get("condition", current.condition if current else {}) or {}
    if not isinstance(condition, dict):
        errors.append(
            FieldError("condition", _("The condition must be an object of field: value."), "invalid")
        )
    else:
        allowed = CONDITION_FIELDS.get(record_type, set())
        if unknown := sorted(set(condition) - allowed):
            errors.append(
                FieldError(
                    "condition",
                    _("Unknown fields %(unknown)s; use %(allowed)s.")
                    % {"unknown": ", ".join(unknown), "allowed": ", ".join(sorted(allowed))},
                    "invalid",
                )
            )
        cleaned["condition"] = condition
    mode = cleaned.get("assignee_mode", current.assignee_mode if current else FollowUpPlan.AssigneeMode.OWNER)
    assignee_id = cleaned.get("assignee_id", current.assignee_id if current else None)
    if mode == FollowUpPlan.AssigneeMode.USER and (
        assignee_id is None or not Membership.objects.filter(user_id=assignee_id, is_active=True).exists()
    ):
        errors.append(FieldError("assignee_id", _("Choose an active member of this workspace."), "invalid"))
    if errors:
        raise ValidationFailed(errors)
    return cleaned


@transaction.atomic
def create_plan(actor: Actor, **values: Any) -> FollowUpPlan:
    _require_manager(actor)
    return create_record(actor, FollowUpPlan(**_clean(values)))


@transaction.atomic
def update_plan(actor: Actor, plan: FollowUpPlan, **values: Any) -> FollowUpPlan:
    _require_manager(actor)
    update_record(actor, plan, _clean(values, current=plan))
    return plan


@transaction.atomic
def delete_plan(actor: Actor, plan: FollowUpPlan) -> None:
    _require_manager(actor)
    delete_record(actor, plan)


# --- running ---------------------------------------------------------------------------------------


def period_key(plan: FollowUpPlan, today: date) -> str:
    """The period ``today`` falls in for an "every" plan, e.g. ``month3:676`` (stable across runs)."""
    n = max(1, plan.interval)
    if plan.unit == FollowUpPlan.Unit.MONTH:
        index = (today.year * 12 + today.month - 1) // n
    elif plan.unit == FollowUpPlan.Unit.WEEK:
        index = ((today - date(1970, 1, 5)).days // 7) // n  # weeks start on Monday
    else:
        index = (today - date(1970, 1, 1)).days // n
    return f"{plan.unit}{n}:{index}"


def _records(plan: FollowUpPlan):
    from django.apps import apps

    model = apps.get_model(plan.record_type)
    condition = Q()
    for name, value in (plan.condition or {}).items():
        condition &= Q(**{f"{name}__in": value}) if isinstance(value, list) else Q(**{name: value})
    return model.objects.filter(condition)


def _title(plan: FollowUpPlan, obj) -> str:
    try:
        return plan.task_title.format(name=str(obj))[:200]
    except (KeyError, IndexError, ValueError):  # a stray "{x}" in the title: keep it literal
        return plan.task_title.replace("{name}", str(obj))[:200]


def _create_batch(plan: FollowUpPlan, items: list[tuple[Any, str]], now: datetime) -> int:
    """Tasks for ``(record, period key)`` pairs not yet served; returns how many were created."""
    if not items:
        return 0
    existing = set(
        FollowUpRun.objects.filter(plan=plan, object_id__in=[obj.pk for obj, _k in items]).values_list(
            "object_id", "period_key"
        )
    )
    todo = [(obj, key) for obj, key in items if (obj.pk, key) not in existing]
    if not todo:
        return 0
    due = now + timedelta(days=plan.due_in_days)
    tasks = []
    for obj, _key in todo:
        assignee = plan.assignee_id if plan.assignee_mode == FollowUpPlan.AssigneeMode.USER else obj.owner_id
        tasks.append(
            Task(
                workspace_id=plan.workspace_id,
                title=_title(plan, obj),
                description=plan.task_description,
                due_at=due,
                assignee_id=assignee,
                owner_id=assignee,
                team_id=getattr(obj, "team_id", None),
                priority=plan.priority,
                record_type=plan.record_type,
                record_id=obj.pk,
                created_by_plan=plan,
                created_at=now,
            )
        )
    try:
        with transaction.atomic():
            Task.objects.bulk_create(tasks)
            FollowUpRun.objects.bulk_create(
                FollowUpRun(
                    workspace_id=plan.workspace_id,
                    plan=plan,
                    object_id=obj.pk,
                    period_key=key,
                    task=task,
                    created_at=now,
                )
                for (obj, key), task in zip(todo, tasks, strict=True)
            )
    except IntegrityError:
        return 0  # another run served this batch meanwhile; its tasks stand, ours were rolled back
    by_assignee: dict[int, list[Task]] = {}
    for task in tasks:
        if task.assignee_id:
            by_assignee.setdefault(task.assignee_id, []).append(task)
    with transaction.atomic():
        for user_id, theirs in by_assignee.items():
            text = f"{plan.name}: {theirs[0].title}" + (f" (+{len(theirs) - 1})" if len(theirs) > 1 else "")
            notify(
                plan.workspace,
                [user_id],
                Notification.Verb.ASSIGNED,
                text,
                Task.object_type,
                theirs[0].pk if len(theirs) == 1 else None,
            )
    return len(tasks)


def _every(plan: FollowUpPlan, now: datetime) -> int:
    key = period_key(plan, timezone.localdate(now))
    created, last_pk = 0, 0
    records = _records(plan).order_by("pk")
    while True:
        batch = list(records.filter(pk__gt=last_pk)[:BATCH])
        if not batch:
            return created
        created += _create_batch(plan, [(obj, key) for obj in batch], now)
        last_pk = batch[-1].pk


def _after_first_order(plan: FollowUpPlan, now: datetime) -> int:
    today = timezone.localdate(now)
    target = today - timedelta(days=plan.interval)
    # A week of slack so a scheduler that was down for a few days still catches up.
    since = target - timedelta(days=7)
    created = 0
    for source in FIRST_ORDER_SOURCES:
        firsts = {int(pk): day for pk, day in source(plan.workspace, plan.record_type, since, target)}
        if not firsts:
            continue
        records = _records(plan).filter(pk__in=list(firsts))
        ids = sorted(firsts)
        for start in range(0, len(ids), BATCH):
            chunk = set(ids[start : start + BATCH])
            batch = [obj for obj in records.filter(pk__in=chunk)]
            created += _create_batch(
                plan, [(obj, f"first:{firsts[obj.pk].isoformat()}") for obj in batch], now
            )
    return created


def run_plan(plan: FollowUpPlan, now: datetime | None = None) -> int:
    """Create the tasks that are due for one plan; idempotent. Returns how many were created."""
    now = now or timezone.now()
    if plan.trigger == FollowUpPlan.Trigger.EVERY:
        created = _every(plan, now)
    else:
        created = _after_first_order(plan, now)
    FollowUpPlan.objects.filter(pk=plan.pk).update(last_run_at=now)
    if created:
        record(
            AuditEntry.Action.CREATE,
            workspace=plan.workspace,
            object_type=Task.object_type,
            label="system",
            changes={"follow_up_plan": [None, plan.pk], "tasks": [None, created]},
        )
    return created


def run_follow_up_plans(workspace, now: datetime | None = None) -> int:
    """Run every active plan of the workspace (the scheduler's job); how many tasks were created."""
    return sum(
        run_plan(plan, now) for plan in FollowUpPlan.objects.filter(active=True).select_related("workspace")
    )
