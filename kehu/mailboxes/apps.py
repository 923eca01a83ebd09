from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailboxesConfig(AppConfig):
    name = "kehu.mailboxes"
    label = "mailboxes"
    verbose_name = _("Mailboxes")

    def ready(self) -> None:
        from kehu.workspaces.permissions import register_object_type

        # Who may push raw mail into the workspace (POST /api/v1/mail/inbound): an admin-domain
        # grant, so by default only administrators' API keys; a role editor can grant it to an
        # "integration" role.
        register_object_type(INBOUND_OBJECT_TYPE, _("Inbound mail (webhook)"), domain="admin")

        from kehu.tickets.hooks import EntryExtra, register_entry_extra

        # A public reply's mail delivery (queued / sent / retrying / failed) under it on the ticket page.
        register_entry_extra(EntryExtra(template="mailboxes/_delivery.html", prefetch="outbound_mails"))

        from . import handlers

        handlers.connect()


INBOUND_OBJECT_TYPE = "mailboxes.inbound"
