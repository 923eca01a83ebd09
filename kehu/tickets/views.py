"""Ticket pages (queue list with quick tabs, create, record page with the conversation and the customer's
history, reply, status, assign, edit, attachment download), the complaint report, the routing and
category settings, and the public support form at /support/<workspace slug>/. Views only shape input
and call services."""

from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_scopes import scope, scopes_disabled

from kehu.core.api import InvalidCursor
from kehu.core.errors import DomainError
from kehu.customers.models import Account, Contact
from kehu.customers.panels import render_panels
from kehu.knowledge.hooks import widget_context
from kehu.leads.views import HONEYPOT, form_rate_limited
from kehu.listviews.filters import encode_spec
from kehu.listviews.web import cell_context, list_state, page, toolbar_context
from kehu.workspaces.access import access_record, require, visible
from kehu.workspaces.models import Workspace
from kehu.workspaces.views import admin_required, member_required, show_domain_error

from . import services
from .forms import ReplyForm, RuleForm, SupportForm, TicketForm, rule_initial, ticket_initial
from .hooks import entry_templates
from .listing import SLA_LABELS, SLA_TONES, TICKET_TABS
from .models import RoutingRule, Ticket, TicketAttachment, TicketCategory
from .panels import customer_tickets
from .queries import complaint_report, thread

# --- the queue ---------------------------------------------------------------------------------------


@member_required
def ticket_list(request):
    """The queue: every ticket the member may see (filters, columns, saved views, export, bulk), with
    quick tabs (My open tickets, Unassigned, Breached, All open, Complaints) that are filter specs."""
    require(request.actor, "view", Ticket.object_type)
    tab = request.GET.get("tab", "")
    if tab in TICKET_TABS:
        query = request.GET.copy()
        query.pop("tab")
        _label, spec, sort = TICKET_TABS[tab]
        query["f"], query["sort"] = encode_spec(spec), sort
        request.GET = query
    state = list_state(request, Ticket.object_type)
    try:
        rows, next_cursor = page(state, None, request.GET.get("cursor") or None)
    except InvalidCursor as error:
        return HttpResponseBadRequest(str(error))
    tabs = [
        {
            "key": key,
            "label": label,
            "active": state.view is None and state.filters == spec and state.ordering == sort,
        }
        for key, (label, spec, sort) in TICKET_TABS.items()
    ]
    context = {
        "list_name": "ticket",
        "rows": rows,
        "next_cursor": next_cursor,
        "query": state.q,
        "tabs": tabs,
        "can_create": request.actor.can("create", Ticket.object_type),
        "can_export": request.actor.can("export", Ticket.object_type),
        **cell_context(request, state),
        **toolbar_context(request, state, next_cursor=next_cursor),
    }
    return render(request, "listviews/_rows.html" if request.htmx else "tickets/ticket_list.html", context)


# --- create and edit ---------------------------------------------------------------------------------


def _create_initial(request) -> dict:
    """Prefill from ?account= / ?contact= (the account and contact pages' "New ticket")."""
    actor = request.actor
    initial: dict = {"channel": "phone", "type": "inquiry", "priority": "normal"}
    contact_id, account_id = request.GET.get("contact", ""), request.GET.get("account", "")
    if contact_id.isdigit():
        contact = visible(actor, Contact.objects.filter(pk=contact_id)).first()
        if contact is not None:
            initial["contact_id"], initial["account_id"] = contact.pk, contact.account_id
    if account_id.isdigit() and visible(actor, Account.objects.filter(pk=account_id)).exists():
        initial["account_id"] = int(account_id)
    if request.GET.get("type") in Ticket.Type.values:
        initial["type"] = request.GET["type"]
    return initial


@member_required
def ticket_create(request):
    actor = request.actor
    require(actor, "create", Ticket.object_type)
    form = TicketForm(actor, request.POST or None, request.FILES or None, initial=_create_initial(request))
    if request.method == "POST" and form.is_valid():
        values = form.service_values()
        email = values.pop("requester_email", "")
        try:
            ticket = services.open_ticket(
                actor,
                sender_email=email if not values.get("contact_id") else "",
                attachments=form.cleaned_data.get("attachments") or (),
                **values,
            )
        except DomainError as error:
            show_domain_error(request, error, form)
        else:
            messages.success(request, _("Ticket #%(n)s opened.") % {"n": ticket.number})
            return redirect("tickets:detail", ticket.pk)
    return render(request, "tickets/ticket_form.html", {"form": form, "title": _("New ticket")})


@member_required
def ticket_edit(request, pk: int):
    actor = request.actor
    ticket = access_record(actor, Ticket.objects.all(), pk, "change")
    form = TicketForm(
        actor,
        request.POST or None,
        initial=ticket_initial(ticket, services.ticket_tags(ticket)),
        record=ticket,
    )
    if request.method == "POST" and form.is_valid():
        values = form.service_values()
        try:
            services.update_ticket(actor, ticket, **values)
        except DomainError as error:
            show_domain_error(request, error, form)
        else:
            messages.success(request, _("Saved."))
            return redirect("tickets:detail", ticket.pk)
    return render(request, "tickets/ticket_form.html", {"form": form, "title": str(ticket), "record": ticket})


# --- the record page ---------------------------------------------------------------------------------


def _history(actor, ticket: Ticket) -> dict:
    """The customer's recent orders, opportunities and other tickets (what the agent needs to know
    when the customer calls again), each one query, each limited to what the member may see."""
    from kehu.commerce.models import Order
    from kehu.deals.models import Opportunity

    history: dict = {"orders": [], "opportunities": [], "tickets": []}
    record = ticket.account or ticket.contact
    if record is None:
        return history
    if actor.can("view", Order.object_type):
        orders = visible(actor, Order.objects.all())
        orders = (
            orders.filter(account=ticket.account_id)
            if ticket.account_id
            else orders.filter(contact=ticket.contact_id)
        )
        history["orders"] = list(orders.order_by("-order_date", "-id")[:5])
    if ticket.account_id and actor.can("view", Opportunity.object_type):
        history["opportunities"] = list(
            visible(actor, Opportunity.objects.filter(account=ticket.account_id))
            .select_related("stage")
            .order_by("-created_at", "-id")[:5]
        )
    if actor.can("view", Ticket.object_type):
        history["tickets"], _more = customer_tickets(actor, record, limit=5, exclude=ticket.pk)
    return history


def _suggestions(request, ticket: Ticket) -> list[dict]:
    """Knowledge-base articles that may answer the ticket (the agent may view articles)."""
    from kehu.knowledge.models import Article
    from kehu.knowledge.search import suggest_for_ticket

    if not request.actor.can("view", Article.object_type):
        return []
    hits = suggest_for_ticket(request.workspace, ticket.subject, ticket.description)
    return [
        {
            "article": hit.article,
            "url": reverse("knowledge:detail", args=[hit.article.pk]),
            "score": hit.score,
        }
        for hit in hits
    ]


def _detail_context(request, ticket: Ticket, reply_form=None) -> dict:
    actor = request.actor
    state = ticket.sla_state()
    return {
        "record": ticket,
        "entries": thread(ticket),
        "entry_extras": entry_templates(),
        "tags": services.ticket_tags(ticket),
        "sla": {"state": state, "label": SLA_LABELS.get(state, ""), "tone": SLA_TONES.get(state, "")},
        "business_hours": {
            name: _("%(h)s business hours") % {"h": number_format(minutes / 60, 1)}
            for name, minutes in (
                ("first_response", ticket.first_response_business_minutes),
                ("resolution", ticket.resolution_business_minutes),
            )
            if minutes is not None
        },
        "history": _history(actor, ticket),
        "suggestions": _suggestions(request, ticket),
        "reply_form": reply_form or ReplyForm(ticket=ticket),
        "statuses": [
            (value, label)
            for value, label in Ticket.Status.choices
            if value in services.TRANSITIONS.get(ticket.status, set())
        ],
        "can_change": actor.can("change", Ticket.object_type),
        "panels": render_panels(request, actor, ticket),
    }


@member_required
def ticket_detail(request, pk: int):
    ticket = access_record(
        request.actor,
        Ticket.objects.select_related(
            "owner", "team", "account", "contact", "order", "product", "opportunity", "sla_policy"
        ),
        pk,
    )
    from kehu.customers.forms import _owner_choices, _team_choices

    context = _detail_context(request, ticket)
    context["owner_choices"], context["team_choices"] = _owner_choices(), _team_choices()
    return render(request, "tickets/ticket_detail.html", context)


def _ticket_for_change(request, pk: int) -> Ticket:
    return access_record(request.actor, Ticket.objects.all(), pk, "change")


@member_required
@require_POST
def ticket_reply(request, pk: int):
    """A public reply or an internal note, optionally with a status change, in one step."""
    ticket = _ticket_for_change(request, pk)
    form = ReplyForm(request.POST, request.FILES, ticket=ticket)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.reply(
                request.actor,
                ticket,
                body=data["body"],
                public=data["kind"] == "reply",
                status=data["status"] or None,
                attachments=data.get("attachments") or (),
            )
        except DomainError as error:
            show_domain_error(request, error, form)
        else:
            messages.success(request, _("Note added.") if data["kind"] == "note" else _("Reply sent."))
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect("tickets:detail", pk)


@member_required
@require_POST
def ticket_status(request, pk: int):
    ticket = _ticket_for_change(request, pk)
    try:
        services.change_status(
            request.actor, ticket, request.POST.get("status", ""), request.POST.get("reason", "")[:500]
        )
    except DomainError as error:
        show_domain_error(request, error)
    else:
        messages.success(request, _("Status: %(status)s.") % {"status": ticket.get_status_display()})
    return redirect("tickets:detail", pk)


@member_required
@require_POST
def ticket_assign(request, pk: int):
    ticket = _ticket_for_change(request, pk)
    owner, team = request.POST.get("owner_id") or None, request.POST.get("team_id") or None
    try:
        services.assign(request.actor, ticket, user=owner and int(owner), team=team and int(team))
    except (DomainError, ValueError) as error:
        if isinstance(error, DomainError):
            show_domain_error(request, error)
    else:
        messages.success(request, _("Assignment saved."))
    return redirect("tickets:detail", pk)


@member_required
def attachment_download(request, pk: int):
    """An attachment, to members who may see its ticket (404 otherwise), always as a download."""
    attachment = TicketAttachment.objects.select_related("entry").filter(pk=pk).first()
    if attachment is None:
        raise Http404
    access_record(request.actor, Ticket.objects.all(), attachment.entry.ticket_id)
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(
        handle, as_attachment=True, filename=attachment.name, content_type="application/octet-stream"
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- complaints --------------------------------------------------------------------------------------


@member_required
def complaints(request):
    """The complaint report: counts and compensation by root cause, product, outcome and severity."""
    require(request.actor, "view", Ticket.object_type)
    report = complaint_report(request.actor)
    return render(request, "tickets/complaints.html", {"report": report})


# --- settings: routing rules and categories ----------------------------------------------------------


@admin_required
def settings_index(request):
    return render(
        request,
        "tickets/settings.html",
        {
            "rules": RoutingRule.objects.select_related("team", "user").order_by("position", "id"),
            "categories": TicketCategory.objects.order_by("position", "name"),
            "support_url": request.build_absolute_uri(
                reverse("tickets:support", args=[request.workspace.slug])
            ),
        },
    )


@admin_required
def rule_edit(request, pk: int | None = None):
    rule = RoutingRule.objects.filter(pk=pk).first() if pk else None
    if pk and rule is None:
        raise Http404
    form = RuleForm(
        request.POST or None, initial=rule_initial(rule) if rule else None, workspace=request.workspace
    )
    if request.method == "POST" and form.is_valid():
        try:
            if rule is None:
                services.create_rule(request.actor, **form.service_values())
            else:
                services.update_rule(request.actor, rule, **form.service_values())
        except DomainError as error:
            show_domain_error(request, error, form)
        else:
            messages.success(request, _("Saved."))
            return redirect("tickets:settings")
    title = str(rule) if rule else _("New routing rule")
    return render(request, "tickets/rule_form.html", {"form": form, "title": title, "rule": rule})


@admin_required
@require_POST
def rule_delete(request, pk: int):
    rule = RoutingRule.objects.filter(pk=pk).first()
    if rule is None:
        raise Http404
    services.delete_rule(request.actor, rule)
    messages.success(request, _("Deleted."))
    return redirect("tickets:settings")


@admin_required
@require_POST
def category_save(request, pk: int | None = None):
    category = TicketCategory.objects.filter(pk=pk).first() if pk else None
    if pk and category is None:
        raise Http404
    values = {"name": request.POST.get("name", ""), "position": request.POST.get("position") or None}
    if category is not None:
        # The row's form has an "active" checkbox (unchecked = absent).
        values["is_active"] = bool(request.POST.get("is_active"))
    try:
        if category is None:
            services.create_category(request.actor, **values)
        else:
            services.update_category(request.actor, category, **values)
    except DomainError as error:
        show_domain_error(request, error)
    else:
        messages.success(request, _("Saved."))
    return redirect("tickets:settings")


@admin_required
@require_POST
def category_delete(request, pk: int):
    category = TicketCategory.objects.filter(pk=pk).first()
    if category is None:
        raise Http404
    services.delete_category(request.actor, category)
    return redirect("tickets:settings")


# --- the public support form -------------------------------------------------------------------------


@csrf_exempt  # a public page without a session; the honeypot and the rate limit protect it instead
def support_form(request, slug: str):
    """GET: the workspace's support form. POST: open a ticket (channel "web") as the workspace, with
    the web-to-lead form's protections: the same honeypot field and the same per-address rate limit."""
    with scopes_disabled():
        workspace = Workspace.objects.filter(slug=slug[:60]).first()
    if workspace is None:
        raise Http404
    with scope(workspace=workspace):
        # The help centre's widgets (the service bot) on the support form too.
        context = {"workspace": workspace, "honeypot": HONEYPOT, **widget_context(request, workspace)}
        if request.method == "GET":
            return render(request, "tickets/support_form.html", {**context, "form": SupportForm()})
        if request.method != "POST":
            return HttpResponse(status=405, headers={"Allow": "GET, POST"})
        if form_rate_limited(request, f"supportform:{workspace.pk}"):
            return render(
                request,
                "tickets/support_form.html",
                {
                    **context,
                    "form": SupportForm(request.POST),
                    "message": _("Too many submissions from your address. Try again later."),
                },
                status=429,
            )
        if request.POST.get(HONEYPOT):
            # A bot filled the hidden field: answer as if accepted, save nothing.
            return render(request, "tickets/support_form.html", {**context, "done": True})
        form = SupportForm(request.POST)
        if not form.is_valid():
            return render(request, "tickets/support_form.html", {**context, "form": form}, status=422)
        data = form.cleaned_data
        try:
            ticket = services.open_ticket(
                services.system_actor(workspace, "support form"),
                subject=data["subject"],
                description=data["description"],
                channel=Ticket.Channel.WEB,
                sender_email=data["email"],
                sender_name=data["name"],
                category=data.get("category") or "",
                language=getattr(request, "LANGUAGE_CODE", "") or "",
            )
        except DomainError as error:
            show_domain_error(request, error, form)
            return render(request, "tickets/support_form.html", {**context, "form": form}, status=422)
        return render(request, "tickets/support_form.html", {**context, "done": True, "ticket": ticket})
