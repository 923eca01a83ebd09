from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DuplicatesConfig(AppConfig):
    name = "kehu.duplicates"
    label = "duplicates"
    verbose_name = _("Duplicates")

    def ready(self) -> None:
        from kehu.customers.duplicate_hooks import register_batch_duplicate_finder, register_duplicate_finder
        from kehu.customers.panels import Panel, register_panel
        from kehu.leads.duplicates import register_duplicate_finder as register_lead_finder

        from . import hooks, wiring

        wiring.register_builtin()
        register_duplicate_finder(hooks.customers_finder)
        register_batch_duplicate_finder(hooks.customers_batch_finder)
        register_lead_finder(hooks.leads_finder)
        register_panel(
            Panel(
                key="duplicates",
                title=_("Possible duplicates"),
                object_types=("customers.account", "customers.contact"),
                template="duplicates/_panel.html",
                context=wiring.panel_context,
                data=wiring.panel_data,
                order=15,
                column="side",
            )
        )
