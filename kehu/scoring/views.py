"""Pages: the scoring rules (list, add/edit/delete, try on a lead) and the predictive model's status."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kehu.core.errors import DomainError, NotFound
from kehu.leads.models import Lead
from kehu.leads.queries import leads_for
from kehu.workspaces.access import access_record
from kehu.workspaces.views import member_required, show_domain_error

from . import services
from .forms import RuleForm
from .models import ScoringRule


def _can(request, action: str) -> bool:
    return request.actor.can(action, ScoringRule.object_type)


def _allowed(request, action: str = "view") -> None:
    if not _can(request, action):
        raise Http404


@member_required
def rule_list(request):
    """Both kinds of rules, and a box to try them on a lead."""
    _allowed(request)
    fields = services.lead_fields(request.actor)
    rules = list(ScoringRule.objects.order_by("kind", "position", "id")[:500])
    rows = [(rule, services.describe(rule, fields)) for rule in rules]
    context = {
        "fit_rows": [r for r in rows if r[0].kind == ScoringRule.Kind.FIT],
        "engagement_rows": [r for r in rows if r[0].kind == ScoringRule.Kind.ENGAGEMENT],
        "can_change": _can(request, "change"),
        "status": services.model_status(),
        **_try_context(request),
    }
    return render(request, "scoring/rule_list.html", context)


def _try_context(request) -> dict:
    """ "Try the rules on a lead": search leads by name/email/phone, score the chosen (or first) one."""
    q = request.GET.get("q", "").strip()
    lead_id = request.GET.get("lead", "")
    if not q and not lead_id:
        return {"q": q}
    matches = list(leads_for(request.actor, q).order_by("-created_at")[:5]) if q else []
    lead = None
    if lead_id.isdigit():
        try:
            lead = access_record(request.actor, Lead.objects.all(), int(lead_id))
        except NotFound:
            lead = None
    lead = lead or (matches[0] if matches else None)
    tried = services.try_rules(request.actor, lead) if lead is not None else None
    return {"q": q, "matches": matches, "tried_lead": lead, "tried": tried}


@member_required
def try_rules(request):
    """The try-out box alone (htmx)."""
    _allowed(request)
    return render(request, "scoring/_try.html", _try_context(request))


def _form_page(request, rule: ScoringRule | None = None):
    _allowed(request, "change" if rule else "create")
    kind = rule.kind if rule else request.GET.get("kind", ScoringRule.Kind.FIT)
    if kind not in ScoringRule.Kind.values:
        raise Http404
    fields = services.lead_fields(request.actor)
    initial = RuleForm.initial_of(rule) if rule else {"kind": kind, "event": "meeting_held", "active": True}
    form = RuleForm(request.POST or None, initial=initial, fields=fields, kind=kind)
    if request.method == "POST" and form.is_valid():
        values = form.service_values()
        values["kind"] = kind
        try:
            if rule is None:
                rule = services.create_rule(request.actor, **values)
            else:
                services.update_rule(request.actor, rule, **values)
        except DomainError as error:
            show_domain_error(request, error, form)
        else:
            messages.success(request, _("Saved."))
            return redirect("scoring:rules")
    if rule:
        title = rule.name or services.describe(rule, fields)
    elif kind == ScoringRule.Kind.FIT:
        title = _("New fit rule")
    else:
        title = _("New engagement rule")
    return render(
        request,
        "scoring/rule_form.html",
        {"form": form, "title": title, "rule": rule, "kind": kind},
    )


@member_required
def create_rule(request):
    return _form_page(request)


def _get(pk: int) -> ScoringRule:
    try:
        return ScoringRule.objects.get(pk=pk)
    except ScoringRule.DoesNotExist:
        raise Http404 from None


@member_required
def edit_rule(request, pk: int):
    _allowed(request, "change")
    return _form_page(request, _get(pk))


@member_required
@require_POST
def delete_rule(request, pk: int):
    _allowed(request, "delete")
    rule = _get(pk)
    label = rule.name or services.describe(rule)
    services.delete_rule(request.actor, rule)
    messages.success(request, _("Deleted “%(name)s”.") % {"name": label})
    return redirect("scoring:rules")


@member_required
def model_page(request):
    """The predictive model: in use or not (and why), sizes, AUC, strongest factors, recent runs."""
    _allowed(request)
    report = services.model_report(request.actor)
    return render(request, "scoring/model.html", {"report": report, "can_change": _can(request, "change")})


@member_required
@require_POST
def retrain(request):
    _allowed(request, "change")
    services.request_retrain(request.actor)
    messages.success(request, _("Retraining is queued; this page shows the result when the job has run."))
    return redirect("scoring:model")
