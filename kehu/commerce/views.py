"""Pages for orders (list, detail, form with lines), products, exchange rates and feedback.

Views validate shapes and call services; the rules (totals, rates, transitions) live there. The
order form is a form plus a formset of lines; "add line" fetches one more row with htmx.
"""

from datetime import date

from django.contrib import messages
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kehu.core.api import InvalidCursor, keyset_page
from kehu.core.errors import DomainError, NotFound
from kehu.customers.models import Account, Contact
from kehu.listviews.web import cell_context, list_state, page, toolbar_context
from kehu.workspaces.access import access_record, require, visible
from kehu.workspaces.views import member_required, show_domain_error

from . import services
from .forms import (
    FeedbackForm,
    OrderForm,
    OrderLineForm,
    OrderLineFormSet,
    ProductForm,
    RateForm,
    product_choices,
)
from .models import ExchangeRate, Feedback, Order, Product
from .queries import order_with_lines, orders_for, products_for, rates_for

PAGE_SIZE = 50
LINE_FIELDS = ("product_id", "description", "quantity", "unit_price", "unit_cost", "discount")


def _int(value) -> int | None:
    return int(value) if value and str(value).isdigit() else None


def _day(value) -> date | None:
    try:
        return parse_date(value) if value else None
    except ValueError:
        return None


# --- orders ----------------------------------------------------------------------------------------


# Narrowings older links carry (the account and contact pages link to ``?account=`` / ``?contact=``);
# they combine with the list's filters, sort and columns and are kept in its links.
PRESETS = ("account", "contact", "status", "date_from", "date_to")


@member_required
def order_list(request):
    """The orders list on the list machinery (filters, sort, columns, saved views, export, bulk)."""
    actor = request.actor
    require(actor, "view", Order.object_type)
    params = request.GET
    state = list_state(request, Order.object_type)
    account_id, contact_id = _int(params.get("account")), _int(params.get("contact"))
    status = params.get("status") if params.get("status") in Order.Status.values else None
    records = orders_for(
        actor,
        q=state.q,
        account_id=account_id,
        contact_id=contact_id,
        status=status,
        date_from=_day(params.get("date_from")),
        date_to=_day(params.get("date_to")),
    ).select_related("contact")
    for name in PRESETS:
        if params.get(name):
            state.explicit[name] = params[name]
    try:
        rows, next_cursor = page(state, records, params.get("cursor") or None)
    except InvalidCursor as error:
        return HttpResponseBadRequest(str(error))
    context = {
        "rows": rows,
        "next_cursor": next_cursor,
        "query": state.q,
        "account": visible(actor, Account.objects.only("id", "name", "owner_id", "team_id"))
        .filter(pk=account_id)
        .first()
        if account_id
        else None,
        "contact": visible(actor, Contact.objects.only("id", "name", "owner_id", "team_id"))
        .filter(pk=contact_id)
        .first()
        if contact_id
        else None,
        "can_create": actor.can("create", Order.object_type),
        "can_export": actor.can("export", Order.object_type),
        "list_name": "order",
        **cell_context(request, state),
        **toolbar_context(request, state, next_cursor=next_cursor),
    }
    template = "listviews/_rows.html" if request.htmx else "commerce/order_list.html"
    return render(request, template, context)


@member_required
def order_detail(request, pk: int):
    actor = request.actor
    order = access_record(actor, order_with_lines(Order.objects.all()), pk)
    allowed = sorted(services.TRANSITIONS[order.status], key=Order.Status.values.index)
    context = {
        "order": order,
        "lines": list(order.lines.all()),
        "base_currency": request.workspace.base_currency,
        "can_change": actor.can("change", Order.object_type),
        "can_delete": actor.can("delete", Order.object_type),
        "next_statuses": [(s, Order.Status(s).label) for s in allowed],
    }
    return render(request, "commerce/order_detail.html", context)


def _line_values(formset) -> tuple[list[dict], list]:
    """The submitted, non-blank, non-deleted lines as service values, with the form of each."""
    values, forms_used = [], []
    for form in formset.forms:
        if not form.is_valid() or form.is_blank() or form.cleaned_data.get("DELETE"):
            continue
        data = {name: form.cleaned_data.get(name) for name in LINE_FIELDS}
        values.append({k: v for k, v in data.items() if v not in (None, "")})
        forms_used.append(form)
    return values, forms_used


def _place_errors(request, error: DomainError, form, line_forms: list) -> None:
    """``lines.N.field`` errors go to line N's field; the others to the order form."""
    rest = []
    for detail in error.details:
        parts = detail.field.split(".")
        if len(parts) == 3 and parts[0] == "lines" and parts[1].isdigit() and int(parts[1]) < len(line_forms):
            line_form = line_forms[int(parts[1])]
            name = parts[2] if parts[2] in line_form.fields else None
            line_form.add_error(name, str(detail.message))
        else:
            rest.append(detail)
    if rest or not error.details:
        show_domain_error(request, DomainError(error.message, error.code, error.status, rest), form)


def _order_form_page(request, order: Order | None):
    actor = request.actor
    if order is None:
        initial = {
            "account_id": _int(request.GET.get("account_id")),
            "order_date": timezone.localdate(),
            "status": Order.Status.DRAFT,
            "currency": request.workspace.base_currency,
            "discount": 0,
            "owner_id": request.user.pk,
        }
        line_initial = [{}]
    else:
        initial = {
            "account_id": order.account_id,
            "contact_id": order.contact_id,
            "number": order.number,
            "order_date": order.order_date,
            "status": order.status,
            "currency": order.currency,
            "discount": order.discount,
            "owner_id": order.owner_id,
            "notes": order.notes,
        }
        line_initial = [
            {
                "product_id": line.product_id,
                "description": line.description,
                "quantity": line.quantity.normalize(),
                "unit_price": line.unit_price.normalize(),
                "unit_cost": line.unit_cost.normalize(),
                "discount": line.discount,
            }
            for line in order.lines.all()
        ]
    post = request.POST if request.method == "POST" else None
    form = OrderForm(actor, post, initial=initial, record=order)
    existing = {line["product_id"] for line in line_initial if line.get("product_id")}
    choices = product_choices(existing)
    formset = OrderLineFormSet(
        post, initial=None if post else line_initial, prefix="lines", form_kwargs={"product_choices": choices}
    )
    if post is not None and form.is_valid() and formset.is_valid():
        lines, line_forms = _line_values(formset)
        values = dict(form.cleaned_data)
        values["lines"] = lines
        try:
            if order is None:
                order = services.create_order(actor, **values)
            else:
                order = services.update_order(actor, order, **values)
        except DomainError as error:
            _place_errors(request, error, form, line_forms)
        else:
            messages.success(request, _("Saved."))
            return redirect("commerce:order-detail", order.pk)
    context = {
        "form": form,
        "formset": formset,
        "order": order,
        "title": str(order) if order else _("New order"),
    }
    return render(request, "commerce/order_form.html", context)


@member_required
def order_create(request):
    require(request.actor, "create", Order.object_type)
    return _order_form_page(request, None)


@member_required
def order_edit(request, pk: int):
    order = access_record(request.actor, Order.objects.all(), pk, "change")
    return _order_form_page(request, order)


@member_required
def order_line_row(request):
    """One more empty line for the order form (htmx), numbered after the lines already there."""
    index = _int(request.GET.get("lines-TOTAL_FORMS")) or 0
    form = OrderLineForm(prefix=f"lines-{index}", product_choices=product_choices())
    return render(request, "commerce/_order_line_row.html", {"line": form, "next_total": index + 1})


@member_required
@require_POST
def order_status(request, pk: int):
    order = access_record(request.actor, Order.objects.all(), pk, "change")
    try:
        services.change_status(request.actor, order, request.POST.get("status", ""))
    except DomainError as error:
        show_domain_error(request, error)
    else:
        messages.success(request, _("Status changed to %(status)s.") % {"status": order.get_status_display()})
    return redirect("commerce:order-detail", order.pk)


@member_required
def order_delete(request, pk: int):
    order = access_record(request.actor, Order.objects.all(), pk, "delete")
    if request.method == "POST":
        services.delete_order(request.actor, order)
        messages.success(request, _("Deleted “%(name)s”.") % {"name": order})
        return redirect("commerce:order-list")
    return render(
        request,
        "commerce/confirm_delete.html",
        {"record": order, "cancel_url": reverse("commerce:order-detail", args=[order.pk])},
    )


# --- products --------------------------------------------------------------------------------------


def _product(request, pk: int, action: str = "view") -> Product:
    require(request.actor, "view", Product.object_type)
    product = Product.objects.filter(pk=pk).first()
    if product is None:
        raise Http404
    require(request.actor, action, Product.object_type)
    return product


@member_required
def product_list(request):
    actor = request.actor
    query = request.GET.get("q", "").strip()[:100]
    show = request.GET.get("show", "active")
    active = {"active": True, "inactive": False}.get(show)
    rows, next_cursor = keyset_page(
        products_for(actor, q=query, active=active),
        ordering="name",
        limit=PAGE_SIZE,
        cursor=request.GET.get("cursor") or None,
    )
    context = {
        "rows": rows,
        "next_cursor": next_cursor,
        "query": query,
        "show": show,
        "can_create": actor.can("create", Product.object_type),
        "can_view_rates": actor.can("view", ExchangeRate.object_type),
    }
    template = "commerce/_product_rows.html" if request.htmx else "commerce/product_list.html"
    return render(request, template, context)


@member_required
def product_detail(request, pk: int):
    product = _product(request, pk)
    context = {
        "product": product,
        "can_change": request.actor.can("change", Product.object_type),
        "can_delete": request.actor.can("delete", Product.object_type),
    }
    return render(request, "commerce/product_detail.html", context)


def _product_form_page(request, product: Product | None):
    initial = {"active": True}
    if product is not None:
        initial = {name: getattr(product, name) for name in ProductForm.base_fields}
    form = ProductForm(request.actor, request.POST or None, initial=initial, record=product)
    if request.method == "POST" and form.is_valid():
        try:
            if product is None:
                product = services.create_product(request.actor, **form.cleaned_data)
            else:
                services.update_product(request.actor, product, **form.cleaned_data)
        except DomainError as error:
            show_domain_error(request, error, form)
        else:
            messages.success(request, _("Saved."))
            return redirect("commerce:product-detail", product.pk)
    title = str(product) if product else _("New product")
    cancel = (
        reverse("commerce:product-detail", args=[product.pk]) if product else reverse("commerce:product-list")
    )
    return render(
        request,
        "commerce/form.html",
        {"form": form, "title": title, "cancel_url": cancel, "form_id": "product-form"},
    )


@member_required
def product_create(request):
    require(request.actor, "create", Product.object_type)
    return _product_form_page(request, None)


@member_required
def product_edit(request, pk: int):
    return _product_form_page(request, _product(request, pk, "change"))


@member_required
def product_delete(request, pk: int):
    product = _product(request, pk, "delete")
    if request.method == "POST":
        services.delete_product(request.actor, product)
        messages.success(request, _("Deleted “%(name)s”.") % {"name": product})
        return redirect("commerce:product-list")
    return render(
        request,
        "commerce/confirm_delete.html",
        {"record": product, "cancel_url": reverse("commerce:product-detail", args=[product.pk])},
    )


# --- exchange rates --------------------------------------------------------------------------------


@member_required
def rate_list(request):
    actor = request.actor
    try:
        rates = rates_for(actor, request.GET.get("currency", "")[:3])
    except DomainError:
        raise Http404 from None
    can_create = actor.can("create", ExchangeRate.object_type)
    form = RateForm(request.POST or None)
    if request.method == "POST":
        require(actor, "create", ExchangeRate.object_type)
        if form.is_valid():
            try:
                services.create_rate(actor, **form.cleaned_data)
            except DomainError as error:
                show_domain_error(request, error, form)
            else:
                messages.success(request, _("Saved."))
                return redirect("commerce:rate-list")
    rows, next_cursor = keyset_page(
        rates.order_by(), ordering="-valid_from", limit=PAGE_SIZE, cursor=request.GET.get("cursor") or None
    )
    context = {
        "rows": rows,
        "next_cursor": next_cursor,
        "form": form,
        "can_create": can_create,
        "can_delete": actor.can("delete", ExchangeRate.object_type),
        "base_currency": request.workspace.base_currency,
    }
    return render(request, "commerce/rate_list.html", context)


@member_required
@require_POST
def rate_delete(request, pk: int):
    require(request.actor, "view", ExchangeRate.object_type)
    rate = ExchangeRate.objects.filter(pk=pk).first()
    if rate is None:
        raise Http404
    services.delete_rate(request.actor, rate)
    messages.success(request, _("Deleted “%(name)s”.") % {"name": rate})
    return redirect("commerce:rate-list")


# --- feedback --------------------------------------------------------------------------------------


@member_required
@require_POST
def feedback_create(request):
    """The small form of the feedback panel; back to the page it came from."""
    form = FeedbackForm(request.POST)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = ""
    if form.is_valid():
        try:
            services.create_feedback(request.actor, **form.cleaned_data)
        except NotFound:
            raise Http404 from None
        except DomainError as error:
            show_domain_error(request, error)
        else:
            messages.success(request, _("Feedback recorded."))
    else:
        messages.error(request, _("The feedback could not be saved: check the rating and the kind."))
    account_id = form.cleaned_data.get("account_id") if hasattr(form, "cleaned_data") else None
    return redirect(back or (f"/accounts/{account_id}/" if account_id else reverse("commerce:order-list")))


@member_required
@require_POST
def feedback_delete(request, pk: int):
    item = access_record(request.actor, Feedback.objects.all(), pk, "delete")
    services.delete_feedback(request.actor, item)
    messages.success(request, _("Deleted."))
    return redirect(f"/accounts/{item.account_id}/")
