"""Suggestions for the account and contact pickers (``kehu.core.pickers``): the list search, as the
user may see it, 20 at a time by name."""

from django.urls import path

from kehu.core.pickers import picker_query, picker_response
from kehu.workspaces.access import visible
from kehu.workspaces.views import member_required

from .models import Account
from .queries import accounts_for, contacts_for


def _join(*parts) -> str:
    return " · ".join(str(p) for p in parts if p)


def pick_account(request):
    """``?q=`` name, pinyin, initials, phone or email; ``?exclude=<id>`` leaves one out (the account
    being edited, as its own parent)."""
    records = accounts_for(request.actor, picker_query(request)).select_related(None)
    exclude = request.GET.get("exclude", "")
    if exclude.isdigit():
        records = records.exclude(pk=int(exclude))
    return picker_response(
        request,
        records.only("id", "name", "name_en", "city"),
        detail=lambda a: _join(a.name_en, a.city),
    )


def pick_contact(request):
    """``?q=`` as for accounts; ``?account=<id>`` only the people of that account."""
    account = None
    account_id = request.GET.get("account", "")
    if account_id.isdigit():
        account = visible(request.actor, Account.objects.filter(pk=int(account_id))).first()
    records = contacts_for(request.actor, picker_query(request), account=account)
    if account_id and account is None:
        records = records.none()  # an account the user may not see has no one to offer
    return picker_response(
        request,
        records.select_related(None)
        .select_related("account")
        .only("id", "name", "job_title", "account__name"),
        detail=lambda c: _join(c.job_title, c.account.name if c.account_id else ""),
    )


urlpatterns = [
    path("accounts/pick/", member_required(pick_account), name="account-pick"),
    path("contacts/pick/", member_required(pick_contact), name="contact-pick"),
]
