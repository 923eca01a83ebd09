"""Form shapes for the timeline, tasks and follow-up plan pages; the rules live in services and plans."""

import json

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kehu.workspaces.models import Membership

from .models import Activity, FollowUpPlan, Task

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def member_choices(empty: str = "—") -> list[tuple[str, str]]:
    members = (
        Membership.objects.filter(is_active=True).select_related("user").order_by("user__name", "user__email")
    )
    return [("", empty)] + [(str(m.user_id), str(m.user)) for m in members]


class ActivityForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=Activity.Kind.choices, initial=Activity.Kind.CALL)
    channel = forms.ChoiceField(
        label=_("Channel"),
        choices=[("", "—"), *Activity.Channel.choices],
        required=False,
        help_text=_("For messages"),
    )
    direction = forms.ChoiceField(label=_("Direction"), choices=Activity.Direction.choices)
    occurred_at = forms.DateTimeField(label=_("Time"), widget=DATETIME_INPUT, required=False)
    duration_minutes = forms.IntegerField(label=_("Duration (minutes)"), min_value=0, required=False)
    subject = forms.CharField(label=_("Subject"), max_length=200, required=False)
    body = forms.CharField(label=_("Notes"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    outcome = forms.CharField(label=_("Outcome"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "activity")
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("occurred_at", timezone.localtime().replace(second=0, microsecond=0))

    def service_values(self) -> dict:
        data = dict(self.cleaned_data)
        minutes = data.pop("duration_minutes")
        data["duration"] = minutes * 60 if minutes is not None else None
        return data


class CommentForm(forms.Form):
    body = forms.CharField(
        label=_("Comment"),
        max_length=10000,
        widget=forms.Textarea(
            attrs={"rows": 2, "placeholder": _("Write a comment; @name mentions a colleague")}
        ),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "comment")
        super().__init__(*args, **kwargs)


class TaskForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    due_at = forms.DateTimeField(label=_("Due"), widget=DATETIME_INPUT, required=False)
    assignee_id = forms.TypedChoiceField(label=_("Assignee"), coerce=int, empty_value=None, required=False)
    priority = forms.ChoiceField(
        label=_("Priority"), choices=Task.Priority.choices, initial=Task.Priority.NORMAL
    )
    status = forms.ChoiceField(label=_("Status"), choices=Task.Status.choices, initial=Task.Status.OPEN)
    reminder_at = forms.DateTimeField(label=_("Remind at"), widget=DATETIME_INPUT, required=False)
    record_type = forms.CharField(widget=forms.HiddenInput, required=False)
    record_id = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee_id"].choices = member_choices()


class PlanForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    record_type = forms.ChoiceField(label=_("Records"), choices=FollowUpPlan.Target.choices)
    condition = forms.CharField(
        label=_("Condition"),
        required=False,
        initial="{}",
        help_text=_(
            'JSON, e.g. {"kind": "company", "city": "上海"}. Fields: kind, industry, city, owner_id, '
            "team_id (accounts); owner_id, team_id, job_title, account_id (contacts). A list means any of."
        ),
    )
    trigger = forms.ChoiceField(label=_("Trigger"), choices=FollowUpPlan.Trigger.choices)
    interval = forms.IntegerField(label=_("Every / after (N)"), min_value=1, initial=1)
    unit = forms.ChoiceField(
        label=_("Unit"),
        choices=FollowUpPlan.Unit.choices,
        initial=FollowUpPlan.Unit.MONTH,
        help_text=_("“After the first order” always counts days."),
    )
    task_title = forms.CharField(
        label=_("Task title"), max_length=200, help_text=_("{name} is the record's name.")
    )
    task_description = forms.CharField(
        label=_("Task description"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    due_in_days = forms.IntegerField(label=_("Due in (days)"), min_value=0, initial=3)
    priority = forms.ChoiceField(
        label=_("Priority"), choices=Task.Priority.choices, initial=Task.Priority.NORMAL
    )
    assignee_mode = forms.ChoiceField(label=_("Assign to"), choices=FollowUpPlan.AssigneeMode.choices)
    assignee_id = forms.TypedChoiceField(label=_("Member"), coerce=int, empty_value=None, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee_id"].choices = member_choices()

    def clean_condition(self):
        raw = (self.cleaned_data.get("condition") or "").strip() or "{}"
        try:
            value = json.loads(raw)
        except ValueError:
            raise forms.ValidationError(_("Not valid JSON.")) from None
        if not isinstance(value, dict):
            raise forms.ValidationError(_("The condition must be an object of field: value."))
        return value
