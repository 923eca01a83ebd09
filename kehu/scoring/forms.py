"""Form shapes of the scoring pages; validation of rules lives in ``services``."""

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.activities.models import Activity

from . import engine
from .models import ScoringRule
from .services import RULE_FIELDS

ANY = [("", _("Any"))]


def _int_or_none(value):
    return None if value in (None, "") else value


class RuleForm(forms.Form):
    """One form for both kinds; the page shows the fields of ``kind`` only."""

    FIT_FIELDS = ("field", "operator", "value")
    ENGAGEMENT_FIELDS = (
        "event",
        "activity_kind",
        "direction",
        "outcome_keywords",
        "min_duration",
        "half_life_days",
        "cap",
    )

    name = forms.CharField(
        label=_("Name"), max_length=100, required=False, help_text=_("Empty: described from the condition")
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=ScoringRule.Kind.choices, widget=forms.HiddenInput)
    points = forms.IntegerField(
        label=_("Points"),
        min_value=-100,
        max_value=100,
        initial=10,
        help_text=_("Negative points lower the score"),
    )
    field = forms.ChoiceField(label=_("Lead field"), required=False)
    operator = forms.ChoiceField(
        label=_("Condition"), choices=ScoringRule.Operator.choices, required=False, initial="eq"
    )
    value = forms.CharField(
        label=_("Value"),
        max_length=500,
        required=False,
        help_text=_("For “is one of”, separate the values with commas"),
    )
    event = forms.ChoiceField(
        label=_("Event"),
        choices=[(k, v[0]) for k, v in engine.EVENT_PRESETS.items()],
        required=False,
        help_text=_("A preset fills in what counts; choose “Custom event” to set it yourself"),
    )
    activity_kind = forms.ChoiceField(
        label=_("Activity kind"), choices=ANY + list(Activity.Kind.choices), required=False
    )
    direction = forms.ChoiceField(
        label=_("Direction"), choices=ANY + list(Activity.Direction.choices), required=False
    )
    outcome_keywords = forms.CharField(
        label=_("Outcome contains"),
        max_length=200,
        required=False,
        help_text=_("Alternatives separated by |, e.g. connected|接通"),
    )
    min_duration = forms.IntegerField(label=_("Minimum duration (seconds)"), min_value=0, required=False)
    half_life_days = forms.IntegerField(
        label=_("Half-life (days)"),
        min_value=1,
        max_value=3650,
        required=False,
        help_text=_("An event's points halve after this many days; empty for no decay"),
    )
    cap = forms.IntegerField(
        label=_("Cap"),
        min_value=1,
        max_value=1000,
        required=False,
        help_text=_("At most this many points from this rule; empty for no cap"),
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    position = forms.IntegerField(label=_("Position"), min_value=0, initial=0, required=False)

    def __init__(self, *args, fields: dict | None = None, kind: str = "fit", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["field"].choices = [(name, info.label) for name, info in (fields or {}).items()]
        hidden = self.ENGAGEMENT_FIELDS if kind == "fit" else self.FIT_FIELDS
        for name in hidden:
            del self.fields[name]

    @staticmethod
    def initial_of(rule: ScoringRule) -> dict:
        initial = {name: getattr(rule, name) for name in RULE_FIELDS if name != "value"}
        value = rule.value
        initial["value"] = ", ".join(str(v) for v in value) if isinstance(value, list) else (value or "")
        return initial

    def service_values(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items()}
        for name in ("min_duration", "half_life_days", "cap"):
            if name in data:
                data[name] = _int_or_none(data[name])
        data["position"] = data.get("position") or 0
        if "value" in data:
            text = (data["value"] or "").strip()
            if data.get("operator") in engine.OPERATORS_WITH_LIST:
                data["value"] = [v.strip() for v in text.split(",") if v.strip()]
            else:
                number = engine.number(text)  # "100000" compares as a number, "Software" as text
                if number is not None:
                    data["value"] = int(number) if number.is_integer() else number
                else:
                    data["value"] = text
        return data
