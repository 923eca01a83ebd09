"""What every page's shell needs: the workspace, the switcher's list and the page language."""

from django.utils.translation import get_language, to_locale


def shell(request) -> dict:
    actor = getattr(request, "actor", None)
    language = get_language() or "en"
    return {
        "actor": actor,
        "workspace": getattr(request, "workspace", None),
        "memberships": getattr(request, "kehu_memberships", []) if actor else [],
        # BCP 47 for <html lang>: "zh-hans" → "zh-Hans".
        "html_lang": to_locale(language).replace("_", "-"),
    }
