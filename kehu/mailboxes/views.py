"""Settings pages for mailboxes (administrators): list, add, edit, test the connection, poll now."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kehu.core.errors import DomainError
from kehu.workspaces.views import admin_required, show_domain_error

from . import services
from .forms import MailboxForm
from .models import InboundMail, Mailbox
from .tasks import poll_mailboxes

RECENT = 20


@admin_required
def mailbox_list(request):
    rows = Mailbox.objects.select_related("default_team").order_by("name", "pk")
    return render(request, "mailboxes/list.html", {"rows": rows})


def _form_page(request, mailbox: Mailbox | None = None):
    initial = {}
    if mailbox is not None:
        initial = {name: getattr(mailbox, name) for name in services.EDITABLE}
    has_password = bool(mailbox and mailbox.has_password)
    form = MailboxForm(request.POST or None, initial=initial, has_password=has_password)
    if request.method == "POST" and form.is_valid():
        try:
            if mailbox is None:
                mailbox = services.create_mailbox(request.actor, **form.service_values())
                messages.success(request, _("Mailbox %(name)s added.") % {"name": mailbox.name})
            else:
                services.update_mailbox(request.actor, mailbox, **form.service_values())
                messages.success(request, _("Mailbox %(name)s saved.") % {"name": mailbox.name})
        except DomainError as error:
            show_domain_error(request, error, form)
        else:
            return redirect("mailboxes:edit", pk=mailbox.pk)
    recent = []
    if mailbox is not None and mailbox.pk:
        recent = list(
            InboundMail.objects.filter(mailbox=mailbox)
            .select_related("ticket")
            .order_by("-created_at", "-pk")[:RECENT]
        )
    return render(request, "mailboxes/form.html", {"form": form, "mailbox": mailbox, "recent": recent})


@admin_required
def mailbox_create(request):
    return _form_page(request)


@admin_required
def mailbox_edit(request, pk: int):
    return _form_page(request, get_object_or_404(Mailbox, pk=pk))


@admin_required
@require_POST
def mailbox_test(request, pk: int):
    mailbox = get_object_or_404(Mailbox, pk=pk)
    try:
        messages.success(request, services.test_connection(request.actor, mailbox))
    except DomainError as error:
        show_domain_error(request, error)
    return redirect("mailboxes:edit", pk=pk)


@admin_required
@require_POST
def mailbox_poll(request, pk: int):
    mailbox = get_object_or_404(Mailbox, pk=pk)
    poll_mailboxes.enqueue(mailbox.workspace_id, mailbox.pk)
    messages.success(request, _("The mailbox will be checked for new mail in a moment."))
    return redirect("mailboxes:edit", pk=pk)


@admin_required
def mailbox_delete(request, pk: int):
    mailbox = get_object_or_404(Mailbox, pk=pk)
    if request.method == "POST":
        name = mailbox.name
        try:
            services.delete_mailbox(request.actor, mailbox)
        except DomainError as error:
            show_domain_error(request, error)
        else:
            messages.success(request, _("Mailbox %(name)s deleted.") % {"name": name})
        return redirect("mailboxes:list")
    return render(request, "mailboxes/delete.html", {"mailbox": mailbox})
