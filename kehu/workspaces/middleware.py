"""Resolves who is acting in which workspace, and runs the request inside that workspace's scope.

API keys (``Authorization: Bearer …``) and browser sessions end in the same place: ``request.actor``
(an ``Actor``) and ``request.workspace``. Everything below the middleware reads those.
"""

from django.db.models import F
from django.utils.functional import SimpleLazyObject
from django_scopes import scope, scopes_disabled

from .access import Actor
from .models import Membership
from .services import authenticate_api_key

SESSION_KEY = "kehu_workspace_id"


def session_actor(request) -> Actor | None:
    """The actor for a logged-in browser session: the chosen workspace, else the first one."""
    user = request.user
    if not user.is_authenticated:
        return None
    with scopes_disabled():
        memberships = Membership.objects.select_related("role", "workspace", "user").filter(
            user=user, is_active=True
        )
        chosen = request.session.get(SESSION_KEY)
        membership = (memberships.filter(workspace_id=chosen).first() if chosen else None) or (
            memberships.order_by(F("last_used_at").desc(nulls_last=True), "created_at", "pk").first()
        )
    return Actor(membership) if membership else None


class WorkspaceMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.actor = None
        request.workspace = None
        authorization = request.headers.get("Authorization", "")
        if authorization[:7].lower() == "bearer ":
            request.api_key_presented = True
            actor = authenticate_api_key(authorization[7:].strip())
            if actor is not None:
                request.user = actor.user
                # A key is not a browser session: no cookie can forge it, so no CSRF check applies.
                request._dont_enforce_csrf_checks = True
        else:
            request.api_key_presented = False
            actor = session_actor(request)
        if actor is None:
            return self.get_response(request)
        request.actor = actor
        request.workspace = actor.workspace
        request.kehu_memberships = SimpleLazyObject(lambda: _memberships(actor.user))
        with scope(workspace=actor.workspace):
            return self.get_response(request)


def _memberships(user) -> list[Membership]:
    with scopes_disabled():
        return list(
            Membership.objects.select_related("workspace")
            .filter(user=user, is_active=True)
            .order_by("workspace__name")
        )
