from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeadsConfig(AppConfig):
    name = "kehu.leads"
    label = "leads"
    verbose_name = _("Leads")

    def ready(self) -> None:
        from kehu.workspaces.permissions import register_object_type

        register_object_type("leads.lead", _("Leads"), domain="sales")

        from kehu.activities.records import register_record_page

        register_record_page("leads.lead", "leads:detail")  # notifications and tasks link to the lead

        from kehu.activities.panels import tasks_context, tasks_data, timeline_context, timeline_data
        from kehu.customers.panels import Panel, register_panel

        from .listing import register_lists, register_search
        from .panels import register as register_lead_panels

        register_lists()
        register_search()
        register_lead_panels()  # "Leads" on account and contact pages
        # The lead page shows the one timeline and the open tasks, as accounts and contacts do.
        register_panel(
            Panel(
                key="lead_timeline",
                title=_("Timeline"),
                object_types=("leads.lead",),
                template="activities/_timeline_panel.html",
                context=timeline_context,
                data=timeline_data,
                order=10,
            )
        )
        register_panel(
            Panel(
                key="lead_tasks",
                title=_("Open tasks"),
                object_types=("leads.lead",),
                template="activities/_tasks_panel.html",
                context=tasks_context,
                data=tasks_data,
                order=10,
                column="side",
            )
        )
