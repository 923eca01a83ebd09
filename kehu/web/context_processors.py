"""What every page's shell needs: the workspace, the switcher's list and the languages."""


def shell(request) -> dict:
    actor = getattr(request, "actor", None)
    return {
        "actor": actor,
        "workspace": getattr(request, "workspace", None),
        "memberships": getattr(request, "kehu_memberships", []) if actor else [],
    }
