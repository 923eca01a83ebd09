from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    name = "kehu.tickets"
    label = "tickets"
    verbose_name = _("Service tickets")

    def ready(self) -> None:
        from kehu.workspaces.permissions import register_object_type

        register_object_type("tickets.ticket", _("Tickets"), domain="service")

        from .listing import register_lists, register_search
        from .panels import register as register_panels

        register_lists()
        register_search()
        register_panels()
