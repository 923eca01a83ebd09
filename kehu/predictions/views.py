"""Pages: the churn-risk page (at-risk accounts, model figures, actions → outcome), the htmx NBA buttons."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kehu.core.errors import DomainError
from kehu.customers.models import Account
from kehu.workspaces.access import access_record
from kehu.workspaces.views import member_required, show_domain_error

from . import queries, services
from .models import ClvModel, RecommendedAction
from .tasks import refit


@member_required
def churn_page(request):
    if not request.actor.can("view", Account.object_type):
        raise Http404
    context = {
        "rows": queries.at_risk(request.actor, 100),
        "report": queries.model_report(),
        "actions": services.action_summary(request.actor.workspace),
        "threshold": queries.threshold(),
        "can_refit": request.actor.can("change", ClvModel.object_type),
    }
    return render(request, "predictions/churn.html", context)


@require_POST
@member_required
def refit_now(request):
    if not request.actor.can("change", ClvModel.object_type):
        raise Http404
    refit.enqueue(request.actor.workspace.pk)
    messages.success(request, _("Refitting is queued; this page shows the new models when the job has run."))
    return redirect("predictions:churn")


def _nba(request, pk: int, decide):
    account = access_record(request.actor, Account.objects.all(), pk)
    task_url = ""
    try:
        action = decide(request.actor, account)
    except DomainError as error:
        show_domain_error(request, error)
    else:
        if action.task_id:
            task_url = reverse("activities:task-edit", args=[action.task_id])
            messages.success(request, _("Task created for the account's owner."))
    p = queries.account_data(request.actor, account)
    p["next_action"] = None  # decided: the suggestion is gone until the next scoring run
    context = {
        "p": p,
        "record": account,
        "task_url": task_url,
        "can_act": request.actor.can("change", RecommendedAction.object_type),
    }
    if request.htmx:
        return render(request, "predictions/_nba.html", context)
    return redirect("customers:account-detail", pk=account.pk)


@require_POST
@member_required
def take(request, pk: int):
    return _nba(request, pk, services.take_action)


@require_POST
@member_required
def dismiss(request, pk: int):
    return _nba(request, pk, services.dismiss_action)
