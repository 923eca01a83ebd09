"""Form shapes for the quote editor; the rules (ranges, products, totals) live in the services."""

from django import forms
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from kehu.commerce.models import Product
from kehu.commerce.pickers import product_label
from kehu.core.pickers import RecordPickerField
from kehu.customers.forms import RecordForm
from kehu.customers.models import Contact
from kehu.customfields.forms import add_custom_fields
from kehu.workspaces.access import Actor, visible

from .models import Quote

DATE = {"type": "date"}


class QuoteForm(RecordForm):
    contact_id = forms.TypedChoiceField(label=_("Contact"), coerce=int, empty_value=None, required=False)
    issue_date = forms.DateField(label=_("Issue date"), widget=forms.DateInput(attrs=DATE))
    valid_until = forms.DateField(label=_("Valid until"), widget=forms.DateInput(attrs=DATE))
    discount_percent = forms.DecimalField(
        label=_("Quote discount (%)"),
        max_digits=5,
        decimal_places=2,
        required=False,
        min_value=0,
        max_value=100,
    )
    win_opportunity = forms.BooleanField(label=_("Win the opportunity on acceptance"), required=False)
    owner_id = forms.TypedChoiceField(label=_("Owner"), coerce=int, empty_value=None, required=False)
    team_id = forms.TypedChoiceField(label=_("Team"), coerce=int, empty_value=None, required=False)
    terms = forms.CharField(label=_("Terms"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    notes = forms.CharField(label=_("Notes"), widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, actor: Actor, *args, record: Quote, **kwargs):
        super().__init__(actor, *args, **kwargs)
        contacts = visible(actor, Contact.objects.filter(account_id=record.account_id).only("id", "name"))[
            :200
        ]
        self.fields["contact_id"].choices = [("", "—")] + [(str(c.pk), c.name) for c in contacts]
        add_custom_fields(self, actor, Quote.object_type, record)

    def service_values(self) -> dict:
        values = dict(self.cleaned_data)
        if values.get("discount_percent") is None:
            values["discount_percent"] = 0
        return values


class QuoteLineForm(forms.Form):
    product_id = RecordPickerField(
        label=_("Product"),
        required=False,
        search_url=reverse_lazy("commerce:product-pick"),
        label_of=product_label,
    )
    description = forms.CharField(label=_("Description"), max_length=300, required=False)
    quantity = forms.DecimalField(label=_("Quantity"), max_digits=14, decimal_places=3, required=False)
    unit_price = forms.DecimalField(
        label=_("Unit price"),
        max_digits=18,
        decimal_places=4,
        required=False,
        help_text=_("Empty: the product's price"),
    )
    discount_percent = forms.DecimalField(
        label=_("Discount (%)"), max_digits=5, decimal_places=2, required=False
    )
    tax_rate = forms.DecimalField(label=_("Tax rate (%)"), max_digits=5, decimal_places=2, required=False)

    def __init__(self, *args, product_labels=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product_id"].queryset = Product.objects.only("id", "name", "sku")
        self.fields["product_id"].widget.labels = dict(product_labels or {})

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {}) or {}
        return not any(data.get(name) not in (None, "") for name in ("product_id", "description", "quantity"))


QuoteLineFormSet = forms.formset_factory(
    QuoteLineForm, extra=0, can_delete=True, max_num=200, validate_max=True
)
