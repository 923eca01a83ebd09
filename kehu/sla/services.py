"""The write path of calendars and SLA policies, the policy match, and the calendar → spec cache.

Writes are for workspace administrators (``require_manager``), audited. Reads need no permission:
every member's tickets show their SLA. Changing a calendar's exceptions touches the calendar's
``updated_at``, which is the key of the cached ``CalendarSpec``, so the arithmetic never reads a
stale calendar.
"""

from __future__ import annotations

import json
import zoneinfo
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.audit.services import create_record, delete_record, update_record
from kehu.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from kehu.workspaces.access import Actor, require_manager

from . import clock
from .choices import CONDITION_KEYS, NOTIFY_ROLES
from .models import WEEKDAYS, BusinessCalendar, CalendarException, SlaPolicy, default_weekly_hours

HOLIDAY_DIR = Path(__file__).parent / "holidays"


# --- calendars -----------------------------------------------------------------------------------------


def default_calendar(workspace) -> BusinessCalendar:
    """The workspace's default calendar, created on first use (Mon–Fri 9–12, 13–18, workspace zone)."""
    found = BusinessCalendar.objects.filter(workspace=workspace, is_default=True).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return BusinessCalendar.objects.create(
                workspace=workspace,
                name=_("Business hours"),
                time_zone=workspace.time_zone or "Asia/Shanghai",
                weekly_hours=default_weekly_hours(),
                is_default=True,
            )
    except IntegrityError:  # created meanwhile by a concurrent first use (or the name is taken)
        found = BusinessCalendar.objects.filter(workspace=workspace, is_default=True).first()
        if found is None:
            raise
        return found


_SPECS: dict[tuple[int, datetime], clock.CalendarSpec] = {}


def calendar_spec(calendar: BusinessCalendar) -> clock.CalendarSpec:
    """The arithmetic's view of a calendar (one query for its exceptions), cached per calendar+updated_at."""
    key = (calendar.pk, calendar.updated_at)
    spec = _SPECS.get(key)
    if spec is None:
        weekly = [_hours(calendar.weekly_hours.get(day, [])) for day in WEEKDAYS]
        base = clock.CalendarSpec(time_zone=calendar.time_zone, weekly=tuple(weekly))
        exceptions = {}
        rows = CalendarException.objects.filter(calendar_id=calendar.pk).values_list("date", "kind", "hours")
        for day, kind, hours in rows:
            if kind == CalendarException.Kind.HOLIDAY:
                exceptions[day] = ()
            else:
                exceptions[day] = _hours(hours) or base.workday_hours
        spec = clock.CalendarSpec(time_zone=calendar.time_zone, weekly=tuple(weekly), exceptions=exceptions)
        if len(_SPECS) > 256:
            _SPECS.clear()
        _SPECS[key] = spec
    return spec


def _hours(value) -> clock.DayHours:
    try:
        return clock.normalise_hours(value or [])
    except (TypeError, ValueError):
        return ()  # stored rows are validated on write; a broken one counts as closed


def _clean_hours(errors: list, name: str, value: Any) -> list[list[str]]:
    """Validate a list of ["HH:MM", "HH:MM"] pairs; returns them sorted and merged, as strings."""
    try:
        if not isinstance(value, list | tuple) or any(
            not isinstance(p, list | tuple) or len(p) != 2 or not all(isinstance(t, str) for t in p)
            for p in value
        ):
            raise ValueError
        hours = clock.normalise_hours(value)
    except ValueError:
        errors.append(FieldError(name, _("Enter intervals as HH:MM–HH:MM, each ending after it starts.")))
        return []
    return [[clock.format_hhmm(s), clock.format_hhmm(e)] for s, e in hours]


def _clean_calendar(values: dict, current: BusinessCalendar | None) -> dict:
    errors: list[FieldError] = []
    unknown = sorted(set(values) - {"name", "time_zone", "weekly_hours", "is_default"})
    errors += [FieldError(name, _("Unknown field."), "extra_forbidden") for name in unknown]
    cleaned: dict[str, Any] = {}
    if "name" in values or current is None:
        name = (values.get("name") or "").strip()
        if not name:
            errors.append(FieldError("name", _("Enter a name."), "required"))
        cleaned["name"] = name[:100]
    if "time_zone" in values:
        tz = (values.get("time_zone") or "").strip()
        if tz not in zoneinfo.available_timezones():
            errors.append(FieldError("time_zone", _("Unknown time zone."), "invalid"))
        cleaned["time_zone"] = tz
    if "weekly_hours" in values:
        weekly = values["weekly_hours"]
        if not isinstance(weekly, dict) or set(weekly) - set(WEEKDAYS):
            errors.append(FieldError("weekly_hours", _("Give the hours per weekday: mon … sun."), "invalid"))
        else:
            cleaned["weekly_hours"] = {
                day: _clean_hours(errors, f"weekly_hours.{day}", weekly.get(day, [])) for day in WEEKDAYS
            }
    if "is_default" in values:
        cleaned["is_default"] = bool(values["is_default"])
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def _unset_other_default(calendar: BusinessCalendar) -> None:
    BusinessCalendar.objects.filter(is_default=True).exclude(pk=calendar.pk).update(is_default=False)


def _name_taken(actor: Actor, name: str, current: BusinessCalendar | None) -> None:
    qs = BusinessCalendar.objects.filter(workspace=actor.workspace, name=name)
    if current is not None:
        qs = qs.exclude(pk=current.pk)
    if qs.exists():
        raise ValidationFailed([FieldError("name", _("A calendar with this name exists."), "unique")])


@transaction.atomic
def create_calendar(actor: Actor, **values: Any) -> BusinessCalendar:
    require_manager(actor)
    cleaned = _clean_calendar(values, None)
    cleaned.setdefault("time_zone", actor.workspace.time_zone or "Asia/Shanghai")
    cleaned.setdefault("weekly_hours", default_weekly_hours())
    _name_taken(actor, cleaned["name"], None)
    calendar = BusinessCalendar(**cleaned)
    if calendar.is_default:
        BusinessCalendar.objects.filter(is_default=True).update(is_default=False)
    return create_record(actor, calendar)


@transaction.atomic
def update_calendar(actor: Actor, calendar: BusinessCalendar, **values: Any) -> BusinessCalendar:
    require_manager(actor)
    cleaned = _clean_calendar(values, calendar)
    if "name" in cleaned:
        _name_taken(actor, cleaned["name"], calendar)
    if cleaned.get("is_default") is False and calendar.is_default:
        raise ValidationFailed(
            [FieldError("is_default", _("Make another calendar the default instead."), "invalid")]
        )
    if cleaned.get("is_default"):
        _unset_other_default(calendar)
    update_record(actor, calendar, cleaned)
    return calendar


@transaction.atomic
def delete_calendar(actor: Actor, calendar: BusinessCalendar) -> None:
    require_manager(actor)
    if calendar.is_default:
        raise Conflict(_("The default calendar cannot be deleted."))
    if SlaPolicy.objects.filter(calendar=calendar).exists():
        raise Conflict(_("SLA policies use this calendar: give them another one first."))
    delete_record(actor, calendar)


def _touch(calendar: BusinessCalendar) -> None:
    # The spec cache is keyed by updated_at: a changed exception must give the calendar a new stamp.
    calendar.updated_at = timezone.now()
    BusinessCalendar.objects.filter(pk=calendar.pk).update(updated_at=calendar.updated_at)


@transaction.atomic
def set_exception(
    actor: Actor, calendar: BusinessCalendar, *, date: date, kind: str, name: str = "", hours=None
) -> CalendarException:
    """Add or change the exception of a date (one per date and calendar)."""
    require_manager(actor)
    errors: list[FieldError] = []
    if kind not in CalendarException.Kind.values:
        errors.append(FieldError("kind", _("Choose holiday or working day."), "invalid_choice"))
    clean_hours = _clean_hours(errors, "hours", hours or [])
    if kind == CalendarException.Kind.HOLIDAY:
        clean_hours = []
    if errors:
        raise ValidationFailed(errors)
    values = {"kind": kind, "name": (name or "").strip()[:100], "hours": clean_hours, "source": ""}
    found = CalendarException.objects.filter(calendar=calendar, date=date).first()
    if found is None:
        found = create_record(actor, CalendarException(calendar=calendar, date=date, **values))
    else:
        update_record(actor, found, values)
    _touch(calendar)
    return found


@transaction.atomic
def delete_exception(actor: Actor, exception: CalendarException) -> None:
    require_manager(actor)
    calendar = exception.calendar
    delete_record(actor, exception)
    _touch(calendar)


@cache
def holiday_schedule(country: str, year: int) -> dict | None:
    """The shipped public-holiday data of a year (``holidays/cn-2026.json``), or None."""
    path = HOLIDAY_DIR / f"{country.lower()}-{int(year)}.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def holiday_years(country: str = "CN") -> list[int]:
    """The years with shipped data, ascending."""
    prefix = f"{country.lower()}-"
    return sorted(int(p.stem[len(prefix) :]) for p in HOLIDAY_DIR.glob(f"{prefix}*.json"))


def holiday_rows(country: str, year: int) -> list[tuple[date, str, str]]:
    """(date, kind, name) of each day the year's schedule closes or opens."""
    data = holiday_schedule(country, year)
    if data is None:
        return []
    rows = []
    for item in data["holidays"]:
        day, end = date.fromisoformat(item["start"]), date.fromisoformat(item["end"])
        while day <= end:
            rows.append((day, CalendarException.Kind.HOLIDAY, item["name"]))
            day += timedelta(days=1)
    for item in data["workdays"]:
        rows.append((date.fromisoformat(item["date"]), CalendarException.Kind.WORKDAY, item["name"]))
    return sorted(rows)


@transaction.atomic
def load_public_holidays(actor: Actor, calendar: BusinessCalendar, year: int, country: str = "CN") -> dict:
    """Create the exceptions of a year's official schedule; idempotent.

    A date already loaded is left alone; a date someone typed in by hand is kept (theirs wins) and
    counted as skipped. Returns {"created": n, "unchanged": n, "skipped": n}."""
    require_manager(actor)
    rows = holiday_rows(country, year)
    if not rows:
        raise ValidationFailed(
            [FieldError("year", _("No public holiday data for %(year)s.") % {"year": year}, "invalid")]
        )
    source = f"{country.lower()}-{int(year)}"
    existing = {
        e.date: e
        for e in CalendarException.objects.filter(
            calendar=calendar, date__gte=rows[0][0], date__lte=rows[-1][0]
        )
    }
    counts = {"created": 0, "unchanged": 0, "skipped": 0}
    new = []
    for day, kind, name in rows:
        found = existing.get(day)
        if found is None:
            new.append(
                CalendarException(
                    workspace=actor.workspace,
                    calendar=calendar,
                    date=day,
                    kind=kind,
                    name=name,
                    source=source,
                    created_by=actor.user,
                    updated_by=actor.user,
                )
            )
        elif found.source == source:
            counts["unchanged"] += 1
        else:
            counts["skipped"] += 1
    CalendarException.objects.bulk_create(new)
    counts["created"] = len(new)
    if new:
        from kehu.audit.models import AuditEntry
        from kehu.audit.services import record

        record(
            AuditEntry.Action.UPDATE,
            actor=actor,
            instance=calendar,
            changes={"exceptions": [None, f"{source}: +{len(new)}"]},
        )
        _touch(calendar)
    return counts


# --- policies ------------------------------------------------------------------------------------------


def _clean_policy(actor: Actor, values: dict, current: SlaPolicy | None) -> tuple[dict, dict]:
    """(model field values, relation values) of a policy's input; raises ValidationFailed."""
    from kehu.workspaces.models import Membership, Team

    allowed = {
        "name",
        "position",
        "active",
        "conditions",
        "first_response_minutes",
        "resolution_minutes",
        "calendar",
        "calendar_id",
        "warn_percent",
        "escalation",
    }
    errors = [FieldError(n, _("Unknown field."), "extra_forbidden") for n in sorted(set(values) - allowed)]
    cleaned: dict[str, Any] = {}
    relations: dict[str, Any] = {}
    if "name" in values or current is None:
        name = (values.get("name") or "").strip()
        if not name:
            errors.append(FieldError("name", _("Enter a name."), "required"))
        cleaned["name"] = name[:100]
    for key in ("position",):
        if values.get(key) is not None:
            cleaned[key] = max(0, int(values[key]))
    if "active" in values:
        cleaned["active"] = bool(values["active"])
    if "conditions" in values:
        conditions = values["conditions"] or {}
        if not isinstance(conditions, dict):
            errors.append(FieldError("conditions", _("Conditions are an object of lists."), "invalid"))
        else:
            out = {}
            for key, items in conditions.items():
                if key not in CONDITION_KEYS:
                    errors.append(FieldError(f"conditions.{key}", _("Unknown condition."), "invalid"))
                elif not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                    errors.append(FieldError(f"conditions.{key}", _("Give a list of values."), "invalid"))
                elif items:
                    out[key] = list(dict.fromkeys(i.strip() for i in items if i.strip()))
            cleaned["conditions"] = out
    for key in ("first_response_minutes", "resolution_minutes"):
        if key in values:
            value = values[key]
            if value in (None, ""):
                cleaned[key] = None
            elif not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= 1_000_000:
                errors.append(FieldError(key, _("Enter a number of minutes above zero."), "invalid"))
            else:
                cleaned[key] = value
    if "warn_percent" in values:
        value = values["warn_percent"]
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 100:
            errors.append(FieldError("warn_percent", _("Enter a percentage from 1 to 100."), "invalid"))
        else:
            cleaned["warn_percent"] = value
    calendar = values.get("calendar", values.get("calendar_id"))
    if calendar is not None:
        calendar_id = calendar.pk if isinstance(calendar, BusinessCalendar) else calendar
        found = BusinessCalendar.objects.filter(workspace=actor.workspace, pk=calendar_id).first()
        if found is None:
            errors.append(FieldError("calendar", _("Choose a calendar of this workspace."), "invalid"))
        cleaned["calendar"] = found
    elif current is None:
        cleaned["calendar"] = default_calendar(actor.workspace)
    if "escalation" in values:
        esc = values["escalation"] or {}
        if not isinstance(esc, dict) or set(esc) - {
            "notify",
            "reassign_to_user",
            "reassign_to_team",
            "raise_priority",
        }:
            errors.append(FieldError("escalation", _("Unknown escalation setting."), "invalid"))
            esc = {}
        roles, user_ids = [], []
        for item in esc.get("notify") or []:
            if isinstance(item, str) and item in NOTIFY_ROLES:
                roles.append(item)
            elif isinstance(item, int) and not isinstance(item, bool):
                user_ids.append(item)
            else:
                errors.append(FieldError("escalation.notify", _("Unknown recipient."), "invalid"))
        members = set(
            Membership.objects.filter(
                user_id__in=[*user_ids, esc.get("reassign_to_user") or 0], is_active=True
            ).values_list("user_id", flat=True)
        )
        if set(user_ids) - members:
            errors.append(FieldError("escalation.notify", _("Choose members of this workspace."), "invalid"))
        user = esc.get("reassign_to_user")
        if user is not None and user not in members:
            errors.append(
                FieldError("escalation.reassign_to_user", _("Choose a member of this workspace."), "invalid")
            )
        team = esc.get("reassign_to_team")
        if team is not None and not Team.objects.filter(pk=team).exists():
            errors.append(
                FieldError("escalation.reassign_to_team", _("Choose a team of this workspace."), "invalid")
            )
        cleaned["escalation"] = {
            "notify": list(dict.fromkeys(roles)),
            "raise_priority": bool(esc.get("raise_priority")),
        }
        cleaned["reassign_to_user_id"] = user
        cleaned["reassign_to_team_id"] = team
        relations["notify_users"] = sorted(set(user_ids))
    if errors:
        raise ValidationFailed(errors)
    return cleaned, relations


@transaction.atomic
def create_policy(actor: Actor, **values: Any) -> SlaPolicy:
    require_manager(actor)
    cleaned, relations = _clean_policy(actor, values, None)
    if cleaned.get("position") is None:
        last = SlaPolicy.objects.aggregate(m=Max("position"))["m"]
        cleaned["position"] = 0 if last is None else last + 1
    policy = create_record(actor, SlaPolicy(**cleaned))
    if "notify_users" in relations:
        policy.notify_users.set(relations["notify_users"])
    return policy


@transaction.atomic
def update_policy(actor: Actor, policy: SlaPolicy, **values: Any) -> SlaPolicy:
    require_manager(actor)
    cleaned, relations = _clean_policy(actor, values, policy)
    update_record(actor, policy, cleaned)
    if "notify_users" in relations:
        policy.notify_users.set(relations["notify_users"])
    return policy


@transaction.atomic
def delete_policy(actor: Actor, policy: SlaPolicy) -> None:
    """Delete a policy; tickets keep their due dates (their policy link is the tickets app's to clear)."""
    require_manager(actor)
    delete_record(actor, policy)


@transaction.atomic
def reorder_policies(actor: Actor, ids: list[int]) -> None:
    """Set the order of matching: the given ids first, in order; the others after them as they were."""
    require_manager(actor)
    policies = {p.pk: p for p in SlaPolicy.objects.select_for_update().order_by("position", "id")}
    if set(ids) - set(policies):
        raise NotFound()
    order = list(dict.fromkeys(ids)) + [pk for pk in policies if pk not in set(ids)]
    for position, pk in enumerate(order):
        if policies[pk].position != position:
            update_record(actor, policies[pk], {"position": position})


def move_policy(actor: Actor, policy: SlaPolicy, delta: int) -> None:
    """Move a policy up (-1) or down (+1) in the matching order."""
    ids = list(SlaPolicy.objects.order_by("position", "id").values_list("pk", flat=True))
    index = ids.index(policy.pk)
    target = max(0, min(len(ids) - 1, index + delta))
    ids.insert(target, ids.pop(index))
    reorder_policies(actor, ids)


def policy_matches(policy: SlaPolicy, facts: dict[str, str]) -> bool:
    for key, wanted in (policy.conditions or {}).items():
        if wanted and (facts.get(key) or "") not in wanted:
            return False
    return True


def match_policy(workspace, *, priority="", grade="", channel="", category="", type="") -> SlaPolicy | None:
    """The first active policy (by position) whose conditions all hold; None when none does."""
    facts = {"priority": priority, "grade": grade, "channel": channel, "category": category, "type": type}
    policies = SlaPolicy.objects.filter(workspace=workspace, active=True).select_related("calendar")
    for policy in policies.order_by("position", "id"):
        if policy_matches(policy, facts):
            return policy
    return None


def targets(policy: SlaPolicy, start: datetime) -> dict[str, datetime | None]:
    """The warning and due instants of a policy's two targets for a ticket opened at ``start``:
    first_response_warn_at/_due_at, resolution_warn_at/_due_at (None without a target)."""
    spec = calendar_spec(policy.calendar)
    out: dict[str, datetime | None] = {}
    for key in ("first_response", "resolution"):
        minutes = getattr(policy, f"{key}_minutes")
        if minutes:
            warn, due = clock.warn_and_due(spec, start, minutes, policy.warn_percent)
        else:
            warn = due = None
        out[f"{key}_warn_at"], out[f"{key}_due_at"] = warn, due
    return out


def calendar_preview(calendar: BusinessCalendar, start: datetime, *, end=None, minutes=None) -> dict:
    """Business minutes between start and end, and/or the due time of start + minutes."""
    spec = calendar_spec(calendar)
    out: dict[str, Any] = {}
    if end is not None:
        out["minutes_between"] = clock.business_minutes_between(spec, start, end)
    if minutes is not None:
        out["due_at"] = clock.add_business_minutes(spec, start, minutes)
    return out
