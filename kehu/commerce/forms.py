"""Form shapes for the commerce pages; the rules themselves live in services."""

from django import forms
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from kehu.core.pickers import RecordPickerField
from kehu.customers.models import Account, Contact
from kehu.customfields.forms import add_custom_fields, clean_custom_form
from kehu.workspaces.access import Actor, visible
from kehu.workspaces.models import Membership

from .models import Feedback, Order, Product
from .pickers import product_label


def _owner_choices() -> list[tuple[str, str]]:
    # A select: a workspace has tens of members; accounts, contacts and products use search pickers.
    members = Membership.objects.filter(is_active=True).select_related("user").order_by("user__name")
    return [("", "—")] + [(str(m.user_id), str(m.user)) for m in members]


class ProductForm(forms.Form):
    sku = forms.CharField(label=_("SKU"), max_length=64)
    name = forms.CharField(label=_("Name"), max_length=200)
    category = forms.CharField(label=_("Category"), max_length=100, required=False)
    unit_price = forms.DecimalField(label=_("Unit price"), max_digits=18, decimal_places=4, initial=0)
    unit_cost = forms.DecimalField(label=_("Unit cost"), max_digits=18, decimal_places=4, initial=0)
    currency = forms.CharField(label=_("Currency"), max_length=3, help_text=_("ISO 4217 code, e.g. CNY"))
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )

    def __init__(self, actor: Actor, *args, record: Product | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].initial = actor.workspace.base_currency
        add_custom_fields(self, actor, Product.object_type, record)

    def clean(self):
        # custom__<key> fields → cleaned_data["custom"], checked with the service's rules.
        return clean_custom_form(self, super().clean())


class RateForm(forms.Form):
    currency = forms.CharField(label=_("Currency"), max_length=3, help_text=_("ISO 4217 code, e.g. USD"))
    rate_to_base = forms.DecimalField(label=_("Rate to base currency"), max_digits=18, decimal_places=8)
    valid_from = forms.DateField(label=_("Valid from"), widget=forms.DateInput(attrs={"type": "date"}))


class OrderForm(forms.Form):
    account_id = RecordPickerField(label=_("Account"), search_url=reverse_lazy("customers:account-pick"))
    contact_id = RecordPickerField(
        label=_("Contact"),
        required=False,
        search_url=reverse_lazy("customers:contact-pick"),
        depends="account=account_id",  # suggests the people of the chosen account
    )
    number = forms.CharField(
        label=_("Number"),
        max_length=40,
        required=False,
        help_text=_("Leave empty to number it automatically."),
    )
    order_date = forms.DateField(label=_("Order date"), widget=forms.DateInput(attrs={"type": "date"}))
    status = forms.ChoiceField(label=_("Status"), choices=Order.Status.choices)
    currency = forms.CharField(label=_("Currency"), max_length=3)
    discount = forms.DecimalField(label=_("Order discount"), max_digits=16, decimal_places=2, initial=0)
    owner_id = forms.TypedChoiceField(label=_("Owner"), coerce=int, empty_value=None, required=False)
    notes = forms.CharField(label=_("Notes"), widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, actor: Actor, *args, record: Order | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner_id"].choices = _owner_choices()
        self.fields["currency"].initial = actor.workspace.base_currency
        add_custom_fields(self, actor, Order.object_type, record)
        self.fields["account_id"].queryset = visible(actor, Account.objects.only("id", "name"))
        self.fields["contact_id"].queryset = visible(actor, Contact.objects.only("id", "name"))

    def clean(self):
        return clean_custom_form(self, super().clean())


class OrderLineForm(forms.Form):
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
    unit_cost = forms.DecimalField(label=_("Unit cost"), max_digits=18, decimal_places=4, required=False)
    discount = forms.DecimalField(label=_("Discount"), max_digits=16, decimal_places=2, required=False)

    def __init__(self, *args, product_choices=None, **kwargs):
        super().__init__(*args, **kwargs)
        # Any product, active or not, may stay on a line; the service checks the rest.
        self.fields["product_id"].queryset = Product.objects.only("id", "name", "sku")
        self.fields["product_id"].widget.labels = dict(product_choices or {})

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {}) or {}
        return not any(data.get(name) not in (None, "") for name in ("product_id", "description", "quantity"))


def product_choices(extra_ids: set[int] | None = None) -> dict[int, str]:
    """Labels of the products already on the order, for the line pickers: one query for all rows
    (the picker searches the catalog for new lines)."""
    if not extra_ids:
        return {}
    return {
        p.pk: product_label(p) for p in Product.objects.filter(pk__in=extra_ids).only("id", "name", "sku")
    }


class BaseLineFormSet(forms.BaseFormSet):
    pass


OrderLineFormSet = forms.formset_factory(
    OrderLineForm, formset=BaseLineFormSet, extra=0, can_delete=True, max_num=500, validate_max=True
)


class FeedbackForm(forms.Form):
    account_id = forms.IntegerField(widget=forms.HiddenInput)
    contact_id = forms.IntegerField(widget=forms.HiddenInput, required=False)
    rating = forms.TypedChoiceField(
        label=_("Rating"),
        coerce=int,
        empty_value=None,
        required=False,
        choices=[("", "—")] + [(str(n), "★" * n) for n in range(5, 0, -1)],
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=Feedback.Kind.choices, initial=Feedback.Kind.PRAISE)
    channel = forms.ChoiceField(label=_("Channel"), choices=Feedback.Channel.choices)
    comment = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 2}), required=False)
