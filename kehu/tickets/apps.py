from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    name = "kehu.tickets"
    label = "tickets"
    verbose_name = _("Service tickets")

    def ready(self) -> None:
        from kehu.workspaces.permissions import register_object_type

        register_object_type("tickets.ticket", _("Tickets"), domain="service")

        from kehu.activities.models import register_notification_verb
        from kehu.activities.records import register_record_page

        register_record_page("tickets.ticket", "tickets:detail")

        # The new assignee's notification and the escalation job's (kehu/tickets/escalation.py).
        register_notification_verb("ticket_assigned", _("assigned a ticket to you"))
        register_notification_verb("sla_warning", _("SLA warning"))
        register_notification_verb("sla_breach", _("SLA breached"))

        from .listing import register_lists, register_search
        from .panels import register as register_panels

        register_lists()
        register_search()
        register_panels()
