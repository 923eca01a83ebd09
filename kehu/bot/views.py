"""The chat widget's endpoint on the public help centre (htmx: posts a question, gets the turn's HTML)."""

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_scopes import scopes_disabled

from kehu.core.errors import DomainError
from kehu.core.ratelimit import over_limit
from kehu.workspaces.models import Workspace

from . import services
from .models import BotConversation


def _limited(request, workspace) -> bool:
    return over_limit(
        request,
        f"bot:{workspace.pk}",
        getattr(settings, "BOT_RATE_LIMIT", 60),
        getattr(settings, "BOT_RATE_WINDOW", 600),
    )


@require_POST
def widget_ask(request, slug: str):
    with scopes_disabled():
        workspace = Workspace.objects.filter(slug=slug).first()
    if workspace is None:
        raise Http404
    if _limited(request, workspace):
        return HttpResponse(
            _("Too many questions from your address. Try again later."),
            status=429,
            content_type="text/plain; charset=utf-8",
        )
    choice = request.POST.get("choice", "")
    language = request.POST.get("language") or None
    try:
        reply = services.ask(
            workspace,
            request.POST.get("question", ""),
            conversation_id=request.POST.get("conversation") or None,
            language=language if language in {"zh-hans", "en"} else None,
            channel=BotConversation.Channel.WIDGET,
            email=request.POST.get("email", "").strip(),
            choice=int(choice) if choice.isdigit() else None,
            handover=request.POST.get("handover") == "1",
        )
    except DomainError as error:
        return render(
            request,
            "bot/_turn.html",
            {"error": error.message, "question": request.POST.get("question", "")},
            status=200,
        )
    shown = request.POST.get("question", "") or (reply.article.title if reply.article and choice else "")
    return render(request, "bot/_turn.html", {"reply": reply, "question": shown, "slug": slug})
