"""Form shapes of the calendar and policy settings pages; the rules live in ``services``."""

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.activities.forms import member_choices
from kehu.customers.grading import grade_choices

from .choices import CHANNELS, NOTIFY_ROLES, PRIORITIES, TYPES
from .models import WEEKDAY_LABELS, WEEKDAYS, BusinessCalendar, CalendarException

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
HOURS_HELP = _("Open intervals separated by commas, e.g. 09:00-12:00, 13:00-18:00; empty = closed")


def hours_text(intervals) -> str:
    return ", ".join(f"{a}-{b}" for a, b in intervals or [])


def parse_hours_text(text: str) -> list[list[str]]:
    """ "09:00-12:00, 13:00-18:00" → [["09:00", "12:00"], ["13:00", "18:00"]] (checked by the services)."""
    out = []
    for part in (text or "").replace("，", ",").replace("–", "-").split(","):
        part = part.strip()
        if part:
            start, _sep, end = part.partition("-")
            out.append([start.strip(), end.strip()])
    return out


class CalendarForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    time_zone = forms.CharField(label=_("Time zone"), max_length=60, help_text=_("e.g. Asia/Shanghai"))
    is_default = forms.BooleanField(label=_("Default calendar for new policies"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for key, label in zip(WEEKDAYS, WEEKDAY_LABELS, strict=True):
            self.fields[f"hours_{key}"] = forms.CharField(label=label, required=False, help_text=HOURS_HELP)

    @staticmethod
    def initial_of(calendar: BusinessCalendar) -> dict:
        data = {"name": calendar.name, "time_zone": calendar.time_zone, "is_default": calendar.is_default}
        for key in WEEKDAYS:
            data[f"hours_{key}"] = hours_text(calendar.weekly_hours.get(key, []))
        return data

    def service_values(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "time_zone": data["time_zone"],
            "is_default": data["is_default"],
            "weekly_hours": {key: parse_hours_text(data[f"hours_{key}"]) for key in WEEKDAYS},
        }


class ExceptionForm(forms.Form):
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    kind = forms.ChoiceField(label=_("Kind"), choices=CalendarException.Kind.choices)
    name = forms.CharField(label=_("Name"), max_length=100, required=False)
    hours = forms.CharField(
        label=_("Hours"), required=False, help_text=_("Working day only; empty = the normal weekday hours")
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "exc")
        super().__init__(*args, **kwargs)


class HolidayForm(forms.Form):
    year = forms.TypedChoiceField(label=_("Year"), coerce=int)

    def __init__(self, *args, years=(), **kwargs):
        kwargs.setdefault("prefix", "hol")
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = [(y, y) for y in years]


class PreviewForm(forms.Form):
    start = forms.DateTimeField(label=_("Start"), widget=DATETIME_INPUT)
    end = forms.DateTimeField(label=_("End"), widget=DATETIME_INPUT, required=False)
    minutes = forms.IntegerField(
        label=_("Business minutes"), min_value=0, max_value=1_000_000, required=False
    )


class PolicyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    priority = forms.MultipleChoiceField(label=_("Priority"), choices=PRIORITIES, required=False)
    grade = forms.MultipleChoiceField(label=_("Customer grade"), required=False)
    channel = forms.MultipleChoiceField(label=_("Channel"), choices=CHANNELS, required=False)
    type = forms.MultipleChoiceField(label=_("Type"), choices=TYPES, required=False)
    category = forms.CharField(
        label=_("Categories"), required=False, help_text=_("Separated by commas; empty = any category")
    )
    first_response_minutes = forms.IntegerField(
        label=_("First response target (business minutes)"), min_value=1, required=False
    )
    resolution_minutes = forms.IntegerField(
        label=_("Resolution target (business minutes)"), min_value=1, required=False
    )
    calendar = forms.TypedChoiceField(label=_("Business calendar"), coerce=int)
    warn_percent = forms.IntegerField(
        # xgettext:no-python-format
        label=_("Warn at (% of the target elapsed)"), min_value=1, max_value=100, initial=80
    )
    notify_roles = forms.MultipleChoiceField(
        label=_("Notify on warning and breach"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=list(NOTIFY_ROLES.items()),
    )
    notify_users = forms.MultipleChoiceField(label=_("Also notify"), required=False)
    reassign_to_user = forms.ChoiceField(label=_("On breach, reassign to"), required=False)
    reassign_to_team = forms.ChoiceField(label=_("On breach, move to team"), required=False)
    raise_priority = forms.BooleanField(label=_("On breach, raise the priority one step"), required=False)

    def __init__(self, *args, workspace, **kwargs):
        from kehu.workspaces.models import Team

        super().__init__(*args, **kwargs)
        help_any = _("None chosen = any")
        for name in ("priority", "grade", "channel", "type"):
            self.fields[name].help_text = help_any
            self.fields[name].widget.attrs["size"] = 5
        self.fields["grade"].choices = grade_choices(workspace)
        self.fields["calendar"].choices = [
            (c.pk, c.name) for c in BusinessCalendar.objects.order_by("-is_default", "name")
        ]
        members = member_choices()
        self.fields["notify_users"].choices = members[1:]
        self.fields["reassign_to_user"].choices = [("", _("Keep the assignee")), *members[1:]]
        self.fields["reassign_to_team"].choices = [("", _("Keep the team"))] + [
            (str(t.pk), t.name) for t in Team.objects.order_by("name")
        ]

    @staticmethod
    def initial_of(policy) -> dict:
        conditions = policy.conditions or {}
        config = policy.escalation_config
        return {
            "name": policy.name,
            "active": policy.active,
            **{key: conditions.get(key, []) for key in ("priority", "grade", "channel", "type")},
            "category": ", ".join(conditions.get("category", [])),
            "first_response_minutes": policy.first_response_minutes,
            "resolution_minutes": policy.resolution_minutes,
            "calendar": policy.calendar_id,
            "warn_percent": policy.warn_percent,
            "notify_roles": [r for r in config["notify"] if isinstance(r, str)],
            "notify_users": [str(u) for u in config["notify"] if isinstance(u, int)],
            "reassign_to_user": str(config["reassign_to_user"] or ""),
            "reassign_to_team": str(config["reassign_to_team"] or ""),
            "raise_priority": config["raise_priority"],
        }

    def service_values(self) -> dict:
        data = self.cleaned_data
        categories = [c.strip() for c in data["category"].replace("，", ",").split(",") if c.strip()]
        return {
            "name": data["name"],
            "active": data["active"],
            "conditions": {
                "priority": data["priority"],
                "grade": data["grade"],
                "channel": data["channel"],
                "type": data["type"],
                "category": categories,
            },
            "first_response_minutes": data["first_response_minutes"],
            "resolution_minutes": data["resolution_minutes"],
            "calendar_id": data["calendar"],
            "warn_percent": data["warn_percent"],
            "escalation": {
                "notify": list(data["notify_roles"]) + [int(u) for u in data["notify_users"]],
                "reassign_to_user": int(data["reassign_to_user"]) if data["reassign_to_user"] else None,
                "reassign_to_team": int(data["reassign_to_team"]) if data["reassign_to_team"] else None,
                "raise_priority": data["raise_priority"],
            },
        }
