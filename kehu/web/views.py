"""The shell's own pages: the home dashboard, the search page and the workspace switch."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from kehu.customers.models import Account, Contact
from kehu.listviews.search import run_search
from kehu.workspaces.access import visible
from kehu.workspaces.middleware import SESSION_KEY
from kehu.workspaces.models import Membership
from kehu.workspaces.services import choose_workspace


@login_required
def home(request):
    actor = request.actor
    if actor is None:
        return render(request, "web/no_workspace.html")
    counts = {
        "members": Membership.objects.filter(is_active=True).count(),
        "accounts": visible(actor, Account.objects.all()).count(),
        "contacts": visible(actor, Contact.objects.all()).count(),
    }
    return render(request, "web/home.html", {"counts": counts})


SEARCH_LIMIT = 10


@login_required
def search(request):
    """Every registered result group (accounts, contacts, orders, …) for the query, as the user may
    see them; apps add groups with ``kehu.listviews.search.register_search`` (docs/lists.md)."""
    query = request.GET.get("q", "").strip()[:200]
    groups = []
    if query and request.actor is not None:
        groups = run_search(request.actor, query, SEARCH_LIMIT)
    context = {"query": query, "groups": groups, "results": {g.group.key: g.rows for g in groups}}
    return render(request, "web/search.html", context)


@login_required
@require_POST
def switch_workspace(request):
    """Make another of the user's workspaces the current one; 404 for a workspace they are not in."""
    try:
        workspace_id = int(request.POST.get("workspace", ""))
    except ValueError:
        raise Http404 from None
    if choose_workspace(request.user, workspace_id) is None:
        raise Http404
    request.session[SESSION_KEY] = workspace_id
    # Always land on home: the page the user was on belongs to the previous workspace.
    return redirect("web:home")
