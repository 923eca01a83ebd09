"""The public answer page behind the emailed link (no login): one click rates, then a comment box."""

from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_scopes import scope

from kehu.core.errors import ValidationFailed

from . import services
from .models import Kind, SurveyResponse


def _question(invitation) -> str:
    if invitation.kind == Kind.CSAT:
        return _("How satisfied are you with the handling of your request “%(subject)s”?") % {
            "subject": invitation.ticket.subject if invitation.ticket_id else ""
        }
    return invitation.survey.question(translation.get_language() or "") or _(
        "How likely is it that you would recommend us to a friend or colleague?"
    )


def _page(request, invitation, *, status: int = 200, message: str = "", saved: bool = False):
    response = SurveyResponse.objects.filter(invitation=invitation).first()
    if response is None:
        state = "expired" if invitation.expired else "open"
    else:
        state = "open" if response.is_open else "closed"
    low, high = services.SCORE_RANGE[Kind(invitation.kind)]
    nps = invitation.kind == Kind.NPS
    choices = [
        (n, f"?score={n}", _("%(n)s of %(high)s") % {"n": n, "high": high}) for n in range(low, high + 1)
    ]
    context = {
        "workspace": invitation.workspace,
        "question": _question(invitation),
        "response": response,
        "state": state,
        "choices": choices,
        "nps": nps,
        "message": message,
        "saved": saved,
    }
    return render(request, "surveys/public.html", context, status=410 if state == "expired" else status)


@require_http_methods(["GET", "POST"])
def answer_page(request, workspace: str, token: str):
    """GET ``?score=N``: record the click and redirect to the plain page; POST: save the comment."""
    invitation = services.find_invitation(workspace, token)
    if invitation is None:
        raise Http404
    language = invitation.language or invitation.workspace.default_language
    with scope(workspace=invitation.workspace), translation.override(language):
        if request.method == "POST":
            try:
                services.comment(invitation, request.POST.get("comment", ""))
            except services.Closed:
                return _page(request, invitation, status=409)
            except ValidationFailed as err:
                return _page(request, invitation, status=400, message=err.details[0].message)
            return _page(request, invitation, saved=True)
        if "score" in request.GET:
            try:
                services.answer(invitation, request.GET["score"])
            except services.Closed:
                return _page(request, invitation, status=409 if not invitation.expired else 410)
            except ValidationFailed as err:
                return _page(request, invitation, status=400, message=err.details[0].message)
            return HttpResponseRedirect(request.path)
        return _page(request, invitation)
