from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "kehu.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from kehu.workspaces.permissions import register_object_type

        register_object_type("customers.account", _("Accounts"), domain="customer")
        register_object_type("customers.contact", _("Contacts"), domain="customer")

        from .listing import register_lists, register_search

        register_lists()
        register_search()

        from .panels import register_placeholder

        register_placeholder(
            "tickets",
            _("Service tickets"),
            _("Tickets, complaints and their SLAs will show here once the service desk is part of Kehu."),
            order=60,
        )
        register_placeholder(
            "scores",
            _("Customer scores"),
            _(
                "Lifecycle stage, grade, RFM segment, lifetime value and churn risk will show here once "
                "customer analytics is part of Kehu."
            ),
            order=70,
        )
