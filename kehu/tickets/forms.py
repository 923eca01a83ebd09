"""Form shapes for the ticket pages, the routing rules and the public support form; rules live in
services."""

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.customers.forms import RecordForm, TagsField, account_picker, contact_picker
from kehu.customers.models import Account, Contact
from kehu.customfields.forms import add_custom_fields
from kehu.workspaces.access import Actor, visible

from .models import RoutingRule, Ticket, TicketCategory


def _blank(choices) -> list:
    return [("", "—"), *choices]


def category_choices(current: str = "") -> list:
    names = list(
        TicketCategory.objects.filter(is_active=True)
        .order_by("position", "name")
        .values_list("name", flat=True)
    )
    if current and current not in names:
        names.append(current)
    return [("", "—")] + [(n, n) for n in names]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(d, initial) for d in data if d]
        return [super().clean(data, initial)] if data else []


class TicketForm(RecordForm):
    subject = forms.CharField(label=_("Subject"), max_length=300)
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 5}), required=False
    )
    account_id = account_picker(label=_("Account"), required=False)
    contact_id = contact_picker(label=_("Contact"), required=False, depends="account=account_id")
    requester_email = forms.CharField(
        label=_("Requester email"),
        max_length=254,
        required=False,
        help_text=_("When no contact is chosen: the address replies go to (matched to a contact if known)."),
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=Ticket.Channel.choices, initial="phone")
    type = forms.ChoiceField(label=_("Type"), choices=Ticket.Type.choices, initial="inquiry")
    category = forms.ChoiceField(label=_("Category"), required=False)
    priority = forms.ChoiceField(label=_("Priority"), choices=Ticket.Priority.choices, initial="normal")
    language = forms.CharField(
        label=_("Language"), max_length=10, required=False, help_text=_("e.g. zh-hans, en")
    )
    owner_id = forms.TypedChoiceField(
        label=_("Assignee"),
        coerce=int,
        empty_value=None,
        required=False,
        help_text=_("Leave assignee and queue empty to let the routing rules choose."),
    )
    team_id = forms.TypedChoiceField(label=_("Queue (team)"), coerce=int, empty_value=None, required=False)
    tags = TagsField()
    severity = forms.ChoiceField(label=_("Severity"), choices=_blank(Ticket.Severity.choices), required=False)
    root_cause = forms.ChoiceField(
        label=_("Root cause"), choices=_blank(Ticket.RootCause.choices), required=False
    )
    compensation_amount = forms.DecimalField(
        label=_("Compensation amount"), required=False, min_value=0, max_digits=14, decimal_places=2
    )
    compensation = forms.CharField(label=_("Compensation"), max_length=300, required=False)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=_blank(Ticket.Outcome.choices), required=False)
    attachments = MultipleFileField(label=_("Attachments"), required=False)

    COMPLAINT_FIELDS = ("severity", "root_cause", "compensation_amount", "compensation", "outcome")

    def __init__(self, actor: Actor, *args, record: Ticket | None = None, **kwargs):
        super().__init__(actor, *args, **kwargs)
        self.fields["account_id"].queryset = visible(actor, Account.objects.all())
        self.fields["contact_id"].queryset = visible(actor, Contact.objects.all())
        self.fields["category"].choices = category_choices(record.category if record else "")
        if record is not None:
            del self.fields["attachments"]
            self.fields["owner_id"].help_text = ""
        add_custom_fields(self, actor, Ticket.object_type, record)

    def service_values(self) -> dict:
        values = dict(self.cleaned_data)
        values.pop("attachments", None)
        if values.get("compensation_amount") is None:
            values["compensation_amount"] = None
        return values


def ticket_initial(ticket: Ticket, tags: list[str]) -> dict:
    initial = {name: getattr(ticket, name) for name in TicketForm.base_fields if hasattr(ticket, name)}
    initial["tags"] = tags
    return initial


class ReplyForm(forms.Form):
    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 5}), required=False)
    kind = forms.ChoiceField(
        label=_("Send as"),
        choices=[("reply", _("Public reply")), ("note", _("Internal note"))],
        initial="reply",
        widget=forms.RadioSelect,
    )
    status = forms.ChoiceField(label=_("Then set status"), required=False)
    attachments = MultipleFileField(label=_("Attachments"), required=False)

    def __init__(self, *args, ticket: Ticket, **kwargs):
        super().__init__(*args, **kwargs)
        from .services import TRANSITIONS

        allowed = TRANSITIONS.get(ticket.status, set())
        self.fields["status"].choices = [("", _("(unchanged)"))] + [
            (value, label) for value, label in Ticket.Status.choices if value in allowed
        ]


class RuleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    position = forms.IntegerField(
        label=_("Position"), min_value=0, initial=0, help_text=_("Lower runs first.")
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    channel = forms.MultipleChoiceField(
        label=_("Channels"),
        choices=Ticket.Channel.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    category = forms.MultipleChoiceField(
        label=_("Categories"), required=False, widget=forms.CheckboxSelectMultiple
    )
    grade = forms.MultipleChoiceField(
        label=_("Customer grades"), required=False, widget=forms.CheckboxSelectMultiple
    )
    language = forms.CharField(
        label=_("Languages"), required=False, help_text=_("Comma-separated, e.g. zh, en")
    )
    keywords = forms.CharField(
        label=_("Keywords"),
        required=False,
        help_text=_("Comma-separated; any of them in the subject or description matches."),
    )
    team_id = forms.TypedChoiceField(label=_("Queue (team)"), coerce=int, empty_value=None, required=False)
    assignment = forms.ChoiceField(label=_("Assignment"), choices=RoutingRule.Assignment.choices)
    user_id = forms.TypedChoiceField(label=_("Agent"), coerce=int, empty_value=None, required=False)

    def __init__(self, *args, workspace=None, **kwargs):
        super().__init__(*args, **kwargs)
        from kehu.customers.forms import _owner_choices, _team_choices
        from kehu.customers.grading import grade_choices

        self.fields["team_id"].choices = _team_choices()
        self.fields["user_id"].choices = _owner_choices()
        self.fields["category"].choices = category_choices()[1:]
        self.fields["grade"].choices = [(k, str(label)) for k, label in grade_choices(workspace)]

    def service_values(self) -> dict:
        data = self.cleaned_data

        def split(text):
            return [p.strip() for p in text.replace("，", ",").split(",") if p.strip()]

        return {
            "name": data["name"],
            "position": data["position"] or 0,
            "is_active": data["is_active"],
            "conditions": {
                "channel": data["channel"],
                "category": data["category"],
                "grade": data["grade"],
                "language": split(data["language"]),
                "keywords": split(data["keywords"]),
            },
            "team_id": data["team_id"],
            "assignment": data["assignment"],
            "user_id": data["user_id"],
        }


def rule_initial(rule: RoutingRule) -> dict:
    c = rule.conditions or {}
    return {
        "name": rule.name,
        "position": rule.position,
        "is_active": rule.is_active,
        "channel": c.get("channel", []),
        "category": c.get("category", []),
        "grade": c.get("grade", []),
        "language": ", ".join(c.get("language", [])),
        "keywords": ", ".join(c.get("keywords", [])),
        "team_id": rule.team_id,
        "assignment": rule.assignment,
        "user_id": rule.user_id,
    }


class SupportForm(forms.Form):
    """The public support form (no account needed)."""

    name = forms.CharField(label=_("Your name"), max_length=200)
    email = forms.EmailField(label=_("Your email"), max_length=254)
    subject = forms.CharField(label=_("Subject"), max_length=300)
    description = forms.CharField(
        label=_("How can we help?"), widget=forms.Textarea(attrs={"rows": 6}), max_length=10000
    )
    category = forms.ChoiceField(label=_("Category"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = category_choices()
        if len(choices) > 1:
            self.fields["category"].choices = choices
        else:
            del self.fields["category"]
