"""Form shapes for the opportunity and pipeline pages; the rules themselves live in the services."""

from decimal import Decimal

from django import forms
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from kehu.commerce.forms import BaseLineFormSet, OrderLineForm
from kehu.commerce.models import Product
from kehu.commerce.money import cents
from kehu.commerce.services import RateBook
from kehu.core.pickers import RecordPickerField
from kehu.customers.forms import RecordForm, TagsField
from kehu.customers.models import Account
from kehu.customfields.forms import add_custom_fields
from kehu.workspaces.access import Actor, visible

from .models import LostReason, Opportunity, OpportunityContact, Stage
from .services import MAX_LINES, REQUIRABLE_FIELDS, field_label


def stage_choices() -> list[tuple[str, str]]:
    stages = Stage.objects.filter(pipeline__active=True).select_related("pipeline")
    stages = sorted(stages, key=lambda s: (s.pipeline.position, s.pipeline_id, s.position))
    return [(str(s.pk), f"{s.pipeline.name} · {s.name} ({s.probability}%)") for s in stages]


def lost_reason_choices() -> list[tuple[str, str]]:
    return [("", "—")] + [(r.name, r.name) for r in LostReason.objects.filter(active=True)]


class CompetitorsField(forms.CharField):
    def __init__(self, **kwargs):
        super().__init__(
            label=_("Competitors"), required=False, help_text=_("Separate names with commas."), **kwargs
        )

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list | tuple) else value

    def to_python(self, value):
        return [p.strip() for p in (value or "").replace("，", ",").split(",") if p.strip()]


class OpportunityForm(RecordForm):
    name = forms.CharField(label=_("Name"), max_length=200)
    account_id = RecordPickerField(search_url=reverse_lazy("customers:account-pick"), label=_("Account"))
    stage_id = forms.TypedChoiceField(label=_("Pipeline and stage"), coerce=int, empty_value=None)
    amount = forms.DecimalField(label=_("Amount"), max_digits=16, decimal_places=2, required=False)
    amount_from_lines = forms.BooleanField(
        label=_("Amount = sum of the product lines"),
        required=False,
        help_text=_("Untick to keep an amount typed by hand while the deal has lines."),
    )
    currency = forms.CharField(label=_("Currency"), max_length=3, required=False)
    expected_close_date = forms.DateField(
        label=_("Expected close date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    probability = forms.IntegerField(
        label=_("Probability (%)"),
        min_value=0,
        max_value=100,
        required=False,
        help_text=_("Leave empty for the stage's default."),
    )
    forecast_category = forms.ChoiceField(
        label=_("Forecast category"),
        required=False,
        choices=[("", _("From the probability")), *Opportunity.ForecastCategory.choices],
    )
    next_step = forms.CharField(label=_("Next step"), max_length=300, required=False)
    competitors = CompetitorsField()
    source = forms.CharField(label=_("Source"), max_length=100, required=False)
    campaign = forms.CharField(label=_("Campaign"), max_length=200, required=False)
    lost_reason = forms.CharField(label=_("Lost reason"), max_length=200, required=False)
    tags = TagsField()
    owner_id = forms.TypedChoiceField(label=_("Owner"), coerce=int, empty_value=None, required=False)
    team_id = forms.TypedChoiceField(label=_("Team"), coerce=int, empty_value=None, required=False)
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )

    def __init__(self, actor: Actor, *args, record: Opportunity | None = None, **kwargs):
        super().__init__(actor, *args, **kwargs)
        self.record = record
        self.fields["account_id"].queryset = visible(actor, Account.objects.all())
        self.fields["stage_id"].choices = stage_choices()
        add_custom_fields(self, actor, Opportunity.object_type, record)

    def service_values(self) -> dict:
        values = dict(self.cleaned_data)
        values.pop("amount_from_lines", None)  # the view applies it (see ``_save_lines``)
        for name in ("probability", "forecast_category"):
            if values.get(name) in (None, ""):
                values.pop(name)  # the stage's default
        if values.get("amount") is None:
            values["amount"] = 0
        if self.record is not None and self.record.pipeline_id:
            stage = Stage.objects.filter(pk=values.get("stage_id")).first()
            if stage is not None:
                values["pipeline_id"] = stage.pipeline_id
        return values


class OpportunityLineForm(OrderLineForm):
    """A product line of a deal: the order line's form (product picker, description, quantity, unit
    price) with a discount in percent instead of the order's cost and amount discount."""

    unit_cost = None
    discount = None
    discount_percent = forms.DecimalField(
        label=_("Discount (%)"), max_digits=5, decimal_places=2, required=False
    )


class OpportunityLineFormSet(
    forms.formset_factory(
        OpportunityLineForm,
        formset=BaseLineFormSet,
        extra=0,
        can_delete=True,
        max_num=MAX_LINES,
        validate_max=True,
    )
):
    def service_lines(self) -> tuple[list[dict], list[OpportunityLineForm]]:
        """The valid, non-blank, non-removed lines as service values, with the form of each (so that
        the services' ``lines.N.field`` errors find their row)."""
        values, used = [], []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None) or {}
            if not form.is_valid() or form.is_blank() or data.get("DELETE"):
                continue
            values.append({k: v for k, v in data.items() if k != "DELETE" and v not in (None, "")})
            used.append(form)
        return values, used


def price_in(product: Product, currency: str, workspace, day, book: RateBook | None = None) -> Decimal | None:
    """The product's price in ``currency``: as it is when the currencies agree, else converted with
    the exchange rates valid on ``day`` (from ``book`` when given, one rate table for many products);
    None when a rate is missing."""
    if not currency or product.currency == currency:
        return product.unit_price
    book = book or RateBook(workspace, [product.currency, currency])
    source, target = book.rate(product.currency, day), book.rate(currency, day)
    if not source or not target:
        return None
    return cents(product.unit_price * source / target)


class ContactRoleForm(forms.Form):
    contact_id = forms.TypedChoiceField(label=_("Contact"), coerce=int)
    role = forms.ChoiceField(label=_("Role"), choices=OpportunityContact.Role.choices)

    def __init__(self, *args, contacts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact_id"].choices = [(c.pk, c.name) for c in contacts]


class PipelineForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)


def requirable_choices() -> list[tuple[str, str]]:
    from kehu.customfields.queries import definitions

    return [(n, field_label(n)) for n in REQUIRABLE_FIELDS] + [
        (f"custom.{d.key}", d.label) for d in definitions(Opportunity.object_type)
    ]


class StageForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    probability = forms.IntegerField(label=_("Probability (%)"), min_value=0, max_value=100)
    outcome = forms.ChoiceField(
        label=_("Kind"),
        choices=[("open", _("Open")), ("won", _("Won")), ("lost", _("Lost"))],
        required=False,
    )
    required_fields = forms.MultipleChoiceField(
        label=_("Required to enter"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["required_fields"].choices = requirable_choices()

    def service_values(self) -> dict:
        data = self.cleaned_data
        outcome = data.get("outcome") or "open"
        return {
            "name": data["name"],
            "probability": data["probability"],
            "is_won": outcome == "won",
            "is_lost": outcome == "lost",
            "required_fields": data.get("required_fields") or [],
        }
