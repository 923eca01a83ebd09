from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommerceConfig(AppConfig):
    name = "kehu.commerce"
    label = "commerce"
    verbose_name = _("Products and orders")

    def ready(self) -> None:
        from kehu.activities.plans import register_first_order_source
        from kehu.workspaces.permissions import register_object_type

        from . import panels
        from .queries import first_orders

        register_object_type("commerce.product", _("Products"), domain="sales")
        register_object_type("commerce.order", _("Orders"), domain="sales")
        register_object_type("commerce.exchangerate", _("Exchange rates"), domain="admin")
        register_object_type("commerce.feedback", _("Customer feedback"), domain="service")
        panels.register()
        from .listing import register_lists

        register_lists()
        # Follow-up plans "N days after the first order" read first orders from here.
        register_first_order_source(first_orders)
