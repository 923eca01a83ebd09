"""The addresses card of the account and contact pages: add, change, make primary, remove.

htmx posts swap the whole card (``#addresses``) in place; without JavaScript the same URLs show a
plain form page and redirect back to the record. Every change needs "change" on the record.
"""

from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from kehu.core.errors import DomainError
from kehu.workspaces.access import access_record
from kehu.workspaces.views import member_required, show_domain_error

from . import services
from .forms import AddressForm
from .models import Account, Address


def _owner(record) -> dict:
    return {"account": record} if isinstance(record, Account) else {"contact": record}


def addresses_context(request, record, pages, **extra) -> dict:
    """What the card needs (also used by the record page)."""
    return {
        "record": record,
        "pages": pages,
        "addresses": Address.objects.filter(**_owner(record)).order_by("-is_primary", "id"),
        "can_change": request.actor.can("change", record.object_type),
        **extra,
    }


class AddressPages:
    """The address URLs of one record kind (``pages`` is its ``RecordPages``)."""

    def __init__(self, pages):
        self.pages = pages

    def urls(self) -> list:
        name = self.pages.name
        return [
            path(f"{name}s/<int:pk>/addresses/", member_required(self.card), name=f"{name}-addresses"),
            path(f"{name}s/<int:pk>/addresses/new/", member_required(self.add), name=f"{name}-address-add"),
            path(
                f"{name}s/<int:pk>/addresses/<int:address_id>/edit/",
                member_required(self.edit),
                name=f"{name}-address-edit",
            ),
            path(
                f"{name}s/<int:pk>/addresses/<int:address_id>/delete/",
                member_required(require_POST(self.delete)),
                name=f"{name}-address-delete",
            ),
        ]

    def _record(self, request, pk: int, action: str = "change"):
        return access_record(request.actor, self.pages.model.objects.all(), pk, action)

    def _address(self, record, address_id: int) -> Address:
        address = Address.objects.filter(pk=address_id, **_owner(record)).first()
        if address is None:
            raise Http404
        return address

    def _respond(self, request, record, form=None, address=None):
        """The card (htmx) or, without htmx, the record page after a change / a plain form page."""
        context = addresses_context(request, record, self.pages, address_form=form, editing=address)
        if request.htmx:
            return render(request, "customers/_addresses.html", context)
        if form is None:
            return redirect(reverse(f"customers:{self.pages.name}-detail", args=[record.pk]))
        return render(request, "customers/address_form.html", context)

    def card(self, request, pk: int):
        return (
            self._respond(request, self._record(request, pk, "view"))
            if request.htmx
            else redirect(reverse(f"customers:{self.pages.name}-detail", args=[pk]))
        )

    def add(self, request, pk: int):
        record = self._record(request, pk)
        form = AddressForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.add_address(request.actor, record, **form.cleaned_data)
            except DomainError as error:
                show_domain_error(request, error, form)
            else:
                return self._respond(request, record)
        return self._respond(request, record, form)

    def edit(self, request, pk: int, address_id: int):
        record = self._record(request, pk)
        address = self._address(record, address_id)
        initial = {name: getattr(address, name) for name in AddressForm.base_fields}
        form = AddressForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                services.change_address(request.actor, address, **form.cleaned_data)
            except DomainError as error:
                show_domain_error(request, error, form)
            else:
                return self._respond(request, record)
        return self._respond(request, record, form, address)

    def delete(self, request, pk: int, address_id: int):
        record = self._record(request, pk)
        try:
            services.remove_address(request.actor, self._address(record, address_id))
        except DomainError as error:
            show_domain_error(request, error)
        return self._respond(request, record)


def address_urls(*record_pages) -> list:
    return [url for pages in record_pages for url in AddressPages(pages).urls()]
