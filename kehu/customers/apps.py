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
