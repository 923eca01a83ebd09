"""Lead pages (list, record page with timeline and tasks, form, convert), the leads settings (web forms,
assignment rules) and the public web-to-lead form at /f/<token>. Views only shape input and call services.
"""

import json

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django_scopes import scope, scopes_disabled

from kehu.core.errors import DomainError, FieldError, ValidationFailed
from kehu.core.ratelimit import over_limit
from kehu.customers.panels import render_panels
from kehu.customers.queries import accounts_for, contacts_for
from kehu.customfields.web import list_state as custom_list_state
from kehu.listviews.web import list_state, page, toolbar_context
from kehu.users.models import User
from kehu.workspaces.access import access_record, require
from kehu.workspaces.views import admin_required, member_required, show_domain_error

from . import services
from .forms import ConvertForm, LeadForm, RuleForm, WebFormForm, lead_initial
from .models import AssignmentRule, Lead, WebForm
from .queries import leads_for, open_duplicates

# --- lead pages ------------------------------------------------------------------------------------


@member_required
def lead_list(request):
    query = request.GET.get("q", "").strip()[:200]
    records, custom_state = custom_list_state(request, leads_for(request.actor, query))
    state = list_state(request, Lead.object_type)
    rows, next_cursor = page(state, records, request.GET.get("cursor"))
    context = {
        "list_name": "lead",
        "rows": rows,
        "query": query,
        "next_cursor": next_cursor,
        "region": request.workspace.default_region,
        "can_create": request.actor.can("create", Lead.object_type),
        **custom_state.context(),
        **toolbar_context(request, state, next_cursor=next_cursor),
    }
    return render(request, "listviews/_rows.html" if request.htmx else "leads/lead_list.html", context)


@member_required
def lead_detail(request, pk: int):
    actor = request.actor
    lead = access_record(actor, Lead.objects.select_related("owner", "team", "web_form"), pk)
    context = {
        "record": lead,
        "region": request.workspace.default_region,
        "duplicates": open_duplicates(actor, lead),
        "can_change": actor.can("change", Lead.object_type),
        "can_delete": actor.can("delete", Lead.object_type),
        "panels": render_panels(request, actor, lead),
    }
    return render(request, "leads/lead_detail.html", context)


def _save(request, form, lead: Lead | None):
    try:
        if lead is None:
            lead = services.create_lead(request.actor, **form.cleaned_data)
        else:
            values = dict(form.cleaned_data)
            if values.get("owner_id") is None:
                values.pop("owner_id")  # empty owner on edit: keep it (re-run assignment chooses anew)
            services.update_lead(request.actor, lead, **values)
    except DomainError as error:
        show_domain_error(request, error, form)
        return None
    messages.success(request, _("Saved."))
    return redirect("leads:detail", lead.pk)


@member_required
def lead_create(request):
    require(request.actor, "create", Lead.object_type)
    form = LeadForm(request.actor, request.POST or None, initial={"source": Lead.Source.MANUAL})
    if request.method == "POST" and form.is_valid() and (response := _save(request, form, None)):
        return response
    return render(request, "leads/lead_form.html", {"form": form, "title": _("New lead")})


@member_required
def lead_edit(request, pk: int):
    lead = access_record(request.actor, Lead.objects.all(), pk, "change")
    form = LeadForm(request.actor, request.POST or None, initial=lead_initial(lead), record=lead)
    if request.method == "POST" and form.is_valid() and (response := _save(request, form, lead)):
        return response
    return render(request, "leads/lead_form.html", {"form": form, "title": str(lead), "record": lead})


def _post_action(request, pk: int, action: str, run):
    if request.method != "POST":
        return redirect("leads:detail", pk)
    lead = access_record(request.actor, Lead.objects.all(), pk, action)
    try:
        message = run(lead)
    except DomainError as error:
        show_domain_error(request, error)
        return redirect("leads:detail", pk)
    if message:
        messages.success(request, message)
    return None


@member_required
def lead_delete(request, pk: int):
    response = _post_action(request, pk, "delete", lambda lead: services.delete_lead(request.actor, lead))
    return response or redirect("leads:list")


@member_required
def lead_assign(request, pk: int):
    def run(lead):
        rule = services.rerun_assignment(request.actor, lead)
        if rule is None:
            return _("No assignment rule matches this lead.")
        return _("Assigned to %(owner)s by “%(rule)s”.") % {"owner": lead.owner, "rule": rule.name}

    return _post_action(request, pk, "change", run) or redirect("leads:detail", pk)


@member_required
def lead_keep(request, pk: int):
    response = _post_action(
        request, pk, "change", lambda lead: services.keep_both(request.actor, lead) and _("Kept both.")
    )
    return response or redirect("leads:detail", pk)


@member_required
def lead_merge(request, pk: int, into: int):
    def run(lead):
        target = access_record(request.actor, Lead.objects.all(), into, "change")
        services.merge_lead(request.actor, lead, target)
        return _("Merged into the existing lead.")

    return _post_action(request, pk, "delete", run) or redirect("leads:detail", into)


HINT_LIMIT = 3


def _convert_options(actor, lead: Lead) -> dict:
    """The pipelines to choose from, and a few existing records that look like the lead (its company's
    accounts, contacts with its email or name) named under the pickers as what to search for."""
    pipelines = []
    if actor.can("create", "deals.opportunity"):
        from kehu.deals.models import Pipeline

        pipelines = [(p.pk, p.name) for p in Pipeline.objects.filter(active=True).order_by("position", "id")]
    account_hints: list[str] = []
    if lead.company:
        accounts = accounts_for(actor, lead.company).select_related(None).only("id", "name")
        account_hints = [a.name for a in accounts.order_by("name")[:HINT_LIMIT]]
    contacts = contacts_for(actor, lead.email or lead.name).select_related(None).only("id", "name")
    return {
        "pipelines": pipelines,
        "hints": {
            "account_id": account_hints,
            "contact_id": [c.name for c in contacts.order_by("name")[:HINT_LIMIT]],
        },
    }


@member_required
def lead_convert(request, pk: int):
    lead = access_record(request.actor, Lead.objects.all(), pk, "change")
    if lead.is_converted:
        return redirect("leads:detail", pk)
    form = ConvertForm(
        request.actor,
        request.POST if request.method == "POST" else None,
        **_convert_options(request.actor, lead),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        opportunity = None
        if data["create_opportunity"]:
            opportunity = {
                k: v
                for k, v in {
                    "pipeline_id": data["pipeline_id"],
                    "name": data["opportunity_name"],
                    "amount": data["amount"],
                }.items()
                if v not in (None, "")
            }
        try:
            result = services.convert_lead(
                request.actor,
                lead,
                account_id=data["account_id"],
                contact_id=data["contact_id"],
                opportunity=opportunity,
            )
        except DomainError as error:
            show_domain_error(request, error, form)
        else:
            messages.success(request, _("Converted: the account and contact are ready."))
            return redirect("customers:contact-detail", result.contact.pk)
    return render(request, "leads/lead_convert.html", {"form": form, "record": lead})


# --- settings: web forms and assignment rules ------------------------------------------------------


@admin_required
def settings_index(request):
    context = {
        "forms": WebForm.objects.order_by("name", "id")[:200],
        "rules": AssignmentRule.objects.select_related("user", "team").order_by("position", "id")[:200],
    }
    return render(request, "leads/settings.html", context)


def _form_values(cleaned: dict) -> dict:
    values = dict(cleaned)
    values["fields"] = list(values["fields"] or [])
    values["required_fields"] = [
        f for f in values["required_fields"] or [] if f in values["fields"] or f == "name"
    ]
    return values


@admin_required
def webform_edit(request, pk: int | None = None):
    instance = WebForm.objects.filter(pk=pk).first() if pk else None
    if pk and instance is None:
        raise Http404
    initial = {"fields": ["name", "company", "email", "phone", "description"], "required_fields": ["name"]}
    if instance:
        initial = {
            name: getattr(instance, name) for name in WebFormForm.base_fields if hasattr(instance, name)
        }
        initial["default_owner_id"] = instance.default_owner_id
    form = WebFormForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if instance is None:
                instance = services.create_form(request.actor, **_form_values(form.cleaned_data))
            else:
                services.update_form(request.actor, instance, **_form_values(form.cleaned_data))
        except DomainError as error:
            show_domain_error(request, error, form)
        else:
            messages.success(request, _("Saved."))
            return redirect("leads:webform-edit", instance.pk)
    context = {"form": form, "instance": instance}
    if instance:
        url = request.build_absolute_uri(reverse("leads:public-form", args=[instance.token]))
        context["public_url"] = url
        context["snippet"] = _snippet(instance, url)
    return render(request, "leads/webform_form.html", context)


def _snippet(form: WebForm, url: str) -> str:
    """Embeddable HTML: a plain form posting to the public endpoint (with the honeypot field)."""
    from django.template.loader import render_to_string

    return render_to_string("leads/_embed_snippet.html", {"webform": form, "url": url, **_form_fields(form)})


@admin_required
def webform_delete(request, pk: int):
    instance = WebForm.objects.filter(pk=pk).first()
    if instance is None:
        raise Http404
    if request.method == "POST":
        services.delete_form(request.actor, instance)
        messages.success(request, _("Deleted “%(name)s”.") % {"name": instance.name})
    return redirect("leads:settings")


def _rule_initial(rule: AssignmentRule) -> dict:
    initial = {
        name: getattr(rule, name) for name in ("name", "position", "is_active", "daily_cap", "sla_hours")
    }
    initial.update(user_id=rule.user_id, team_id=rule.team_id)
    emails = dict(User.objects.filter(pk__in=[int(k) for k in rule.weights]).values_list("pk", "email"))
    initial["weights"] = ", ".join(f"{emails.get(int(k), k)}={v}" for k, v in rule.weights.items())
    for i, c in enumerate(rule.conditions[: RuleForm.CONDITIONS]):
        value = c["value"] if isinstance(c["value"], list) else [c["value"]]
        if c["field"].startswith("custom."):
            initial[f"condition_{i}_custom"] = c["field"].removeprefix("custom.")
        else:
            initial[f"condition_{i}_field"] = c["field"]
        initial[f"condition_{i}_value"] = ", ".join(value)
    return initial


def _rule_values(form: RuleForm) -> dict:
    data = form.cleaned_data
    values = {k: data[k] for k in ("name", "is_active", "user_id", "team_id", "daily_cap", "sla_hours")}
    if data["position"] is not None:
        values["position"] = data["position"]
    conditions = []
    for i in range(RuleForm.CONDITIONS):
        field = data[f"condition_{i}_field"] or (
            f"custom.{data[f'condition_{i}_custom'].strip()}" if data[f"condition_{i}_custom"].strip() else ""
        )
        raw = data[f"condition_{i}_value"].replace("，", ",")
        items = [v.strip() for v in raw.split(",") if v.strip()]
        if field or items:
            conditions.append({"field": field, "op": "in", "value": items})
    values["conditions"] = conditions
    weights, errors = {}, []
    for part in data["weights"].replace("，", ",").split(","):
        if not part.strip():
            continue
        who, _sep, weight = part.partition("=")
        user = User.objects.filter(email__iexact=who.strip()).first()
        if user is None or not weight.strip().isdigit():
            errors.append(part.strip())
            continue
        weights[str(user.pk)] = int(weight)
    if errors:
        raise ValidationFailed(
            [FieldError("weights", _("Not understood: %(value)s") % {"value": ", ".join(errors)})]
        )
    values["weights"] = weights
    return values


@admin_required
def rule_edit(request, pk: int | None = None):
    rule = AssignmentRule.objects.filter(pk=pk).first() if pk else None
    if pk and rule is None:
        raise Http404
    form = RuleForm(request.POST or None, initial=_rule_initial(rule) if rule else {"sla_hours": 24})
    if request.method == "POST" and form.is_valid():
        try:
            values = _rule_values(form)
            if rule is None:
                services.create_rule(request.actor, **values)
            else:
                services.update_rule(request.actor, rule, **values)
        except DomainError as error:
            show_domain_error(request, error, form)
            for detail in error.details:  # conditions.<i>.<part> → the condition's value field
                if detail.field.startswith("conditions."):
                    form.add_error(f"condition_{detail.field.split('.')[1]}_value", str(detail.message))
        else:
            messages.success(request, _("Saved."))
            return redirect("leads:settings")
    return render(request, "leads/rule_form.html", {"form": form, "instance": rule})


@admin_required
def rule_delete(request, pk: int):
    rule = AssignmentRule.objects.filter(pk=pk).first()
    if rule is None:
        raise Http404
    if request.method == "POST":
        services.delete_rule(request.actor, rule)
        messages.success(request, _("Deleted “%(name)s”.") % {"name": rule.name})
    return redirect("leads:settings")


# --- the public web-to-lead form -------------------------------------------------------------------

HONEYPOT = "website_url"  # hidden from people; bots fill it
UTM_PARAMS = services.UTM_PARAMS


def _form_fields(form: WebForm) -> dict:
    labels = {name: Lead._meta.get_field(name).verbose_name for name in form.fields}
    return {
        "fields": [
            {"name": n, "label": labels[n], "required": n in form.required_fields, "long": n == "description"}
            for n in form.fields
        ],
        "honeypot": HONEYPOT,
        "utm_params": UTM_PARAMS,
    }


def _wants_json(request) -> bool:
    return (
        "application/json" in request.headers.get("Accept", "") or request.content_type == "application/json"
    )


def _form_error(request, status: int, code: str, message: str, details=(), webform=None, values=None):
    if _wants_json(request):
        return JsonResponse(
            {"error": {"code": code, "message": str(message), "details": [d.as_dict() for d in details]}},
            status=status,
        )
    if webform is None:
        return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    errors = {d.field: d.message for d in details}
    return _render_public(
        request, webform, status=status, message=message, errors=errors, values=values or {}
    )


def _render_public(request, webform, *, status=200, message="", errors=None, values=None, done=False):
    context = {
        "webform": webform,
        "message": message,
        "errors": errors or {},
        "values": values or {},
        "done": done,
        "utm": {k: request.GET.get(k, "")[:100] for k in UTM_PARAMS},
        **_form_fields(webform),
    }
    return render(request, "leads/public_form.html", context, status=status)


def form_rate_limited(request, bucket: str) -> bool:
    """Over ``LEADS_FORM_RATE_LIMIT`` posts from this address to the public form ``bucket`` in the
    current window (public API: the web-to-lead forms and the tickets' support form count with it)."""
    return over_limit(request, bucket, settings.LEADS_FORM_RATE_LIMIT, settings.LEADS_FORM_RATE_WINDOW)


def _rate_limited(request, webform) -> bool:
    return form_rate_limited(request, f"leadform:{webform.pk}")


@csrf_exempt  # embedded on other sites: the origin check and the rate limit protect it instead
@xframe_options_exempt
def public_form(request, token: str):
    """GET: the hosted form page. POST: create a lead (HTML re-render or JSON with field errors)."""
    with scopes_disabled():
        webform = WebForm.objects.select_related("workspace").filter(token=token[:32], is_active=True).first()
    if webform is None:
        raise Http404
    with scope(workspace=webform.workspace):
        if request.method == "GET":
            return _render_public(request, webform)
        if request.method != "POST":
            return HttpResponse(status=405, headers={"Allow": "GET, POST"})
        max_bytes = settings.LEADS_FORM_MAX_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > max_bytes:
            return _form_error(
                request,
                413,
                "request_too_large",
                _("The submission is larger than %(limit)s bytes.") % {"limit": max_bytes},
                webform=webform,
            )
        origin = request.headers.get("Origin") or request.headers.get("Referer")
        hosted = bool(origin) and origin.startswith(request.build_absolute_uri("/"))  # our own page
        if not hosted and not services.origin_allowed(webform, origin):
            return _form_error(
                request, 403, "origin_not_allowed", _("This form does not accept posts from this site.")
            )
        if _rate_limited(request, webform):
            return _form_error(
                request,
                429,
                "rate_limited",
                _("Too many submissions from your address. Try again later."),
                webform=webform,
            )
        if request.content_type == "application/json":
            try:
                data = json.loads(request.body or b"{}")
            except ValueError:
                data = None
            if not isinstance(data, dict):
                return _form_error(request, 400, "malformed_json", _("The request body is not valid JSON."))
        else:
            data = {k: request.POST.get(k) for k in request.POST}
        data = {str(k): "" if v is None else str(v) for k, v in data.items() if k != "csrfmiddlewaretoken"}
        if data.pop(HONEYPOT, ""):
            # A bot filled the hidden field: answer as if accepted, save nothing.
            return (
                JsonResponse({"ok": True}, status=201)
                if _wants_json(request)
                else _render_public(request, webform, done=True)
            )
        utm = {k: data.pop(k, "") or request.GET.get(k, "") for k in UTM_PARAMS}
        try:
            lead = services.submit_web_form(webform, data, utm=utm)
        except ValidationFailed as failed:
            return _form_error(
                request,
                422,
                "validation_error",
                _("Please correct the marked fields."),
                failed.details,
                webform=webform,
                values=data,
            )
        if _wants_json(request):
            return JsonResponse(
                {"ok": True, "lead_id": lead.pk, "message": webform.thank_you_text}, status=201
            )
        if webform.redirect_url:
            return redirect(webform.redirect_url)
        return _render_public(request, webform, done=True)
