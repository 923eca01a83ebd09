"""What higher apps add to the public help-centre pages (the bot registers its chat widget here,
so the knowledge base never imports the bot)."""

from django.utils import translation

HELP_WIDGETS: list[str] = []  # template names, included at the end of every help-centre page


def help_language(request) -> str:
    """The help centre's language for this request: ``?lang=`` if it is one of the knowledge base's,
    else the request's language ("en" or "zh-hans")."""
    from .models import LANGUAGES

    chosen = request.GET.get("lang", "")
    if chosen in dict(LANGUAGES):
        return chosen
    return "en" if (translation.get_language() or "").startswith("en") else "zh-hans"


def widget_context(request, workspace) -> dict:
    """What the registered widgets need on a public page of ``workspace`` (the help centre, the
    support form)."""
    return {"widgets": HELP_WIDGETS, "help_workspace": workspace, "language": help_language(request)}


def register_help_widget(template: str) -> None:
    if template not in HELP_WIDGETS:
        HELP_WIDGETS.append(template)
