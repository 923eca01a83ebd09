from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeadsConfig(AppConfig):
    name = "kehu.leads"
    label = "leads"
    verbose_name = _("Leads")

    def ready(self) -> None:
        from kehu.workspaces.permissions import register_object_type

        register_object_type("leads.lead", _("Leads"), domain="sales")
