"""The shell's own pages: the home dashboard, the search page and the workspace switch."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from kehu.customers.models import Account, Contact
from kehu.customers.queries import accounts_for, contacts_for
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
    """Accounts and contacts matching the query (name, email, phone), as the user may see them."""
    query = request.GET.get("q", "").strip()[:200]
    results = {}
    if query and request.actor is not None:
        results = {
            "accounts": list(accounts_for(request.actor, query).order_by("name")[: SEARCH_LIMIT + 1]),
            "contacts": list(contacts_for(request.actor, query).order_by("name")[: SEARCH_LIMIT + 1]),
        }
    return render(request, "web/search.html", {"query": query, "results": results, "limit": SEARCH_LIMIT})


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
