"""Quote pages: list, detail with versions and actions, the editor (htmx lines and live totals), print.

Views validate shapes and call services. The editor's totals box posts the form as it is being
typed to ``quote_totals``, which answers with ``totals.compute``'s figures: the same function the
services store and the print view shows, so the editor never does its own arithmetic.
"""


from django.contrib import messages
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kehu.commerce.money import without_trailing_zeros
from kehu.commerce.views import _place_errors
from kehu.core.api import InvalidCursor
from kehu.core.errors import DomainError
from kehu.deals.models import Opportunity
from kehu.listviews.web import cell_context, list_state, page, toolbar_context
from kehu.workspaces.access import access_record, require
from kehu.workspaces.views import member_required, show_domain_error

from . import services
from .forms import QuoteForm, QuoteLineForm, QuoteLineFormSet
from .models import Quote
from .queries import quotes_for, versions_of, with_lines

LINE_FIELDS = services.LINE_FIELDS


def _quote(request, pk: int, action: str = "view") -> Quote:
    return access_record(request.actor, with_lines(Quote.objects.all()), pk, action)


@member_required
def quote_list(request):
    actor = request.actor
    require(actor, "view", Quote.object_type)
    state = list_state(request, Quote.object_type)
    try:
        rows, next_cursor = page(state, quotes_for(actor, state.q), request.GET.get("cursor") or None)
    except InvalidCursor as error:
        return HttpResponseBadRequest(str(error))
    context = {
        "rows": rows,
        "next_cursor": next_cursor,
        "query": state.q,
        "list_name": "quote",
        **cell_context(request, state),
        **toolbar_context(request, state, next_cursor=next_cursor),
    }
    return render(request, "listviews/_rows.html" if request.htmx else "quotes/quote_list.html", context)


@member_required
@require_POST
def quote_new(request):
    """A new draft for an opportunity, prefilled from its product lines; then the editor."""
    actor = request.actor
    opp_id = request.POST.get("opportunity_id", "")
    opp = access_record(actor, Opportunity.objects.all(), int(opp_id) if opp_id.isdigit() else None)
    try:
        quote = services.create_quote(actor, opportunity_id=opp.pk)
    except DomainError as error:
        show_domain_error(request, error)
        return redirect("deals:opportunity-detail", opp.pk)
    messages.success(request, _("Quote %(quote)s created.") % {"quote": quote})
    return redirect("quotes:quote-edit", quote.pk)


@member_required
def quote_detail(request, pk: int):
    actor = request.actor
    quote = _quote(request, pk)
    lines = list(quote.lines.all())
    totals = services.totals_of(lines, quote.discount_percent, quote.currency)
    can_change = actor.can("change", Quote.object_type)
    context = {
        "quote": quote,
        "lines": lines,
        "totals": totals,
        "taxes": totals.tax_by_rate(x.tax_rate for x in lines),
        "versions": versions_of(quote),
        "can_change": can_change,
        "can_create": actor.can("create", Quote.object_type),
        "can_delete": actor.can("delete", Quote.object_type) and quote.status == Quote.Status.DRAFT,
    }
    return render(request, "quotes/quote_detail.html", context)


def _line_values(formset) -> tuple[list[dict], list]:
    """The submitted, non-blank, non-removed lines as service values, with the form of each."""
    values, used = [], []
    for form in formset.forms:
        if not form.is_valid() or form.is_blank() or form.cleaned_data.get("DELETE"):
            continue
        data = {name: form.cleaned_data.get(name) for name in LINE_FIELDS}
        values.append({k: v for k, v in data.items() if v not in (None, "")})
        used.append(form)
    return values, used


def _product_labels(quote: Quote) -> dict[int, str]:
    from kehu.commerce.pickers import product_label

    return {x.product_id: product_label(x.product) for x in quote.lines.all() if x.product_id and x.product}


@member_required
def quote_edit(request, pk: int):
    actor = request.actor
    quote = _quote(request, pk, "change")
    if not quote.is_editable:
        messages.error(request, _("Only a draft quote can be changed; revise it to make a new version."))
        return redirect("quotes:quote-detail", quote.pk)
    initial = {
        name: getattr(quote, name)
        for name in (
            "contact_id",
            "issue_date",
            "valid_until",
            "discount_percent",
            "win_opportunity",
            "owner_id",
            "team_id",
            "terms",
            "notes",
        )
    }
    line_initial = [
        {
            "product_id": x.product_id,
            "description": x.description,
            "quantity": without_trailing_zeros(x.quantity),
            "unit_price": without_trailing_zeros(x.unit_price),
            "discount_percent": without_trailing_zeros(x.discount_percent),
            "tax_rate": without_trailing_zeros(x.tax_rate),
        }
        for x in quote.lines.all()
    ]
    post = request.POST if request.method == "POST" else None
    form = QuoteForm(actor, post, initial=initial, record=quote)
    labels = _product_labels(quote)
    formset = QuoteLineFormSet(
        post, initial=None if post else line_initial, prefix="lines", form_kwargs={"product_labels": labels}
    )
    if post is not None and form.is_valid() and formset.is_valid():
        lines, line_forms = _line_values(formset)
        try:
            services.update_quote(actor, quote, **form.service_values(), lines=lines)
        except DomainError as error:
            _place_errors(request, error, form, line_forms)
        else:
            messages.success(request, _("Saved."))
            return redirect("quotes:quote-detail", quote.pk)
    lines = [x for x in quote.lines.all()]
    totals = services.totals_of(lines, quote.discount_percent, quote.currency)
    context = {"quote": quote, "form": form, "formset": formset, "totals": totals, "title": str(quote)}
    return render(request, "quotes/quote_form.html", context)


@member_required
def quote_line_row(request):
    """One more empty line for the editor (htmx), numbered after the lines already there."""
    raw = request.GET.get("lines-TOTAL_FORMS", "")
    index = int(raw) if raw.isdigit() else 0
    form = QuoteLineForm(prefix=f"lines-{index}")
    return render(request, "quotes/_line_row.html", {"line": form, "next_total": index + 1})


@member_required
@require_POST
def quote_totals(request, pk: int):
    """The totals of the editor's current content (nothing is saved): the server's one computation."""
    quote = _quote(request, pk)
    formset = QuoteLineFormSet(request.POST, prefix="lines")
    formset.is_valid()
    raw = []
    for form in formset.forms:
        data = getattr(form, "cleaned_data", None) or {}
        if not form.is_valid() or form.is_blank() or data.get("DELETE"):
            continue
        raw.append({k: data.get(k) for k in LINE_FIELDS if data.get(k) not in (None, "")})
    totals, errors = services.preview(raw, request.POST.get("discount_percent") or 0, quote.currency)
    return render(request, "quotes/_totals.html", {"totals": totals, "quote": quote, "problems": errors})


@member_required
@require_POST
def quote_prefill(request, pk: int):
    """Replace the draft's lines by the opportunity's product lines."""
    quote = _quote(request, pk, "change")
    try:
        services.update_quote(request.actor, quote, lines=services.lines_from_opportunity(quote.opportunity))
    except DomainError as error:
        show_domain_error(request, error)
    else:
        messages.success(request, _("Lines copied from the opportunity."))
    return redirect("quotes:quote-edit", quote.pk)


@member_required
@require_POST
def quote_transition(request, pk: int, action: str):
    """send / accept / reject / revise, then back to the (new) quote."""
    actor = request.actor
    quote = _quote(request, pk, "change")
    target = quote
    try:
        if action == "send":
            services.send(actor, quote)
            done = _("Marked as sent.")
        elif action == "accept":
            services.accept(actor, quote, win_opportunity=request.POST.get("win_opportunity") == "on")
            done = _("Accepted: order %(order)s created.") % {"order": quote.order}
        elif action == "reject":
            services.reject(actor, quote, request.POST.get("reason", ""))
            done = _("Marked as rejected.")
        elif action == "revise":
            target = services.revise(actor, quote)
            done = _("Version %(n)s created.") % {"n": target.version}
        else:
            return HttpResponseBadRequest()
    except DomainError as error:
        show_domain_error(request, error)
    else:
        messages.success(request, done)
    if action == "revise" and target is not quote:
        return redirect("quotes:quote-edit", target.pk)
    return redirect("quotes:quote-detail", quote.pk)


@member_required
def quote_delete(request, pk: int):
    quote = _quote(request, pk, "delete")
    if request.method == "POST":
        opp_id = quote.opportunity_id
        try:
            services.delete_quote(request.actor, quote)
        except DomainError as error:
            show_domain_error(request, error)
            return redirect("quotes:quote-detail", quote.pk)
        messages.success(request, _("Deleted “%(name)s”.") % {"name": quote})
        return redirect("deals:opportunity-detail", opp_id)
    cancel = reverse("quotes:quote-detail", args=[quote.pk])
    return render(request, "commerce/confirm_delete.html", {"record": quote, "cancel_url": cancel})


@member_required
def quote_print(request, pk: int):
    """The printable quote (A4); the browser's "Print → Save as PDF" makes the PDF."""
    quote = _quote(request, pk)
    lines = list(quote.lines.all())
    totals = services.totals_of(lines, quote.discount_percent, quote.currency)
    context = {
        "quote": quote,
        "lines": lines,
        "totals": totals,
        "taxes": totals.tax_by_rate(x.tax_rate for x in lines),
        "workspace": request.workspace,
    }
    return render(request, "quotes/quote_print.html", context)
