"""Account and contact pages: list with search and "load more", record page, form, delete.

Accounts and contacts share the same page flow, so one ``RecordPages`` describes it and each kind
supplies its model, form, query and services. Views only validate shapes and call services.
"""

import csv
import itertools
from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.core.errors import DomainError
from kehu.customfields.web import list_state as custom_list_state
from kehu.listviews.registry import config_for
from kehu.listviews.web import list_state, page, toolbar_context
from kehu.workspaces.access import access_record, require
from kehu.workspaces.views import member_required, show_domain_error

from . import services
from .address_views import addresses_context
from .forms import AccountForm, ContactForm, initial_values
from .models import Account, Contact
from .panels import render_panels
from .queries import accounts_for, contacts_for, with_tag

PAGE_SIZE = 50


class _Echo:
    """A file-like object whose write returns the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


@dataclass(frozen=True)
class RecordPages:
    """The pages of one record kind (``name`` is the URL prefix and template stem)."""

    name: str
    model: type
    form: type[forms.Form]
    query: Callable
    create: Callable
    update: Callable
    delete: Callable
    title: object
    new_title: object

    def _url(self, view: str, *args) -> str:
        return reverse(f"customers:{self.name}-{view}", args=args)

    def urls(self) -> list:
        return [
            path(f"{self.name}s/", member_required(self.list_view), name=f"{self.name}-list"),
            path(f"{self.name}s/export.csv", member_required(self.export_view), name=f"{self.name}-export"),
            path(f"{self.name}s/new/", member_required(self.create_view), name=f"{self.name}-create"),
            path(f"{self.name}s/<int:pk>/", member_required(self.detail_view), name=f"{self.name}-detail"),
            path(f"{self.name}s/<int:pk>/edit/", member_required(self.edit_view), name=f"{self.name}-edit"),
            path(
                f"{self.name}s/<int:pk>/delete/",
                member_required(self.delete_view),
                name=f"{self.name}-delete",
            ),
        ]

    def list_view(self, request):
        query = request.GET.get("q", "").strip()[:200]
        tag = request.GET.get("tag", "").strip()[:50]
        # The registered list's queryset: higher apps wrap it to join their columns (no query per row).
        # The custom-column choice is read first: it stores the chosen columns before the list state.
        config = config_for(self.model.object_type)
        records, custom_state = custom_list_state(request, config.queryset(request.actor, query))
        state = list_state(request, self.model.object_type)  # filters, sort, columns, saved view
        for name in ("tag", "cf_key", "cf_op", "cf_value"):  # kept in "load more" and toolbar links
            if request.GET.get(name):
                state.explicit[name] = request.GET[name]
        rows, next_cursor = page(state, with_tag(records, tag) if tag else records, request.GET.get("cursor"))
        context = {
            "pages": self,
            "rows": rows,
            "query": query,
            "tag": tag,
            "next_cursor": next_cursor,
            "region": request.workspace.default_region,
            "can_create": request.actor.can("create", self.model.object_type),
            "can_export": request.actor.can("export", self.model.object_type),
            **custom_state.context(),
            **toolbar_context(request, state, next_cursor=next_cursor),
        }
        template = f"customers/_{self.name}_rows.html" if request.htmx else f"customers/{self.name}_list.html"
        return render(request, template, context)

    def export_view(self, request):
        """The current list (search applied) as CSV, streamed; needs the export permission."""
        query = request.GET.get("q", "").strip()[:200]
        records, _state = custom_list_state(request, self.query(request.actor, query))
        records = list_state(request, self.model.object_type).apply(records)  # the list's filters too
        rows = services.export_rows(request.actor, records, description=query)
        first = next(rows)  # checks the permission and audits before any byte is sent
        writer = csv.writer(_Echo())
        stream = itertools.chain([writer.writerow(first)], (writer.writerow(row) for row in rows))
        response = StreamingHttpResponse(stream, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{self.name}s.csv"'
        return response

    def detail_view(self, request, pk: int):
        record = access_record(request.actor, self.model.objects.all(), pk)
        context = {
            "record": record,
            "pages": self,
            "region": request.workspace.default_region,
            "can_change": request.actor.can("change", self.model.object_type),
            "can_delete": request.actor.can("delete", self.model.object_type),
        }
        context["points"] = services.contact_points(record)
        context["addresses"] = addresses_context(request, record, self)["addresses"]
        context["tags"] = services.tags_of(record)
        if self.model is Account:
            context["contacts"] = contacts_for(request.actor, account=record).order_by("name")[:100]
            context["children"] = accounts_for(request.actor).filter(parent=record).order_by("name")[:100]
        else:
            context["relations"] = services.relations_of(record)
        context["panels"] = render_panels(request, request.actor, record)
        return render(request, f"customers/{self.name}_detail.html", context)

    def create_view(self, request):
        require(request.actor, "create", self.model.object_type)
        initial = {"owner_id": request.user.pk, **request.GET.dict()}
        form = self.form(request.actor, request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                record = self.create(request.actor, **form.service_values())
            except DomainError as error:
                show_domain_error(request, error, form)
            else:
                messages.success(request, _("Saved."))
                return redirect(self._url("detail", record.pk))
        return render(request, "customers/form.html", {"form": form, "pages": self, "title": self.new_title})

    def edit_view(self, request, pk: int):
        record = access_record(request.actor, self.model.objects.all(), pk, "change")
        initial = initial_values(self.form, record, services.tags_of(record))
        form = self.form(request.actor, request.POST or None, initial=initial, record=record)
        if request.method == "POST" and form.is_valid():
            try:
                self.update(request.actor, record, **form.service_values())
            except DomainError as error:
                show_domain_error(request, error, form)
            else:
                messages.success(request, _("Saved."))
                return redirect(self._url("detail", record.pk))
        return render(
            request,
            "customers/form.html",
            {"form": form, "pages": self, "title": str(record), "record": record},
        )

    def delete_view(self, request, pk: int):
        record = access_record(request.actor, self.model.objects.all(), pk, "delete")
        if request.method == "POST":
            try:
                self.delete(request.actor, record)
            except DomainError as error:
                show_domain_error(request, error)
                return redirect(self._url("detail", record.pk))
            messages.success(request, _("Deleted “%(name)s”.") % {"name": record})
            return redirect(self._url("list"))
        return render(request, "customers/confirm_delete.html", {"record": record, "pages": self})


ACCOUNT_PAGES = RecordPages(
    "account",
    Account,
    AccountForm,
    accounts_for,
    services.create_account,
    services.update_account,
    services.delete_account,
    gettext_lazy("Accounts"),
    gettext_lazy("New account"),
)
CONTACT_PAGES = RecordPages(
    "contact",
    Contact,
    ContactForm,
    contacts_for,
    services.create_contact,
    services.update_contact,
    services.delete_contact,
    gettext_lazy("Contacts"),
    gettext_lazy("New contact"),
)
