from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommerceConfig(AppConfig):
    name = "kehu.commerce"
    label = "commerce"
    verbose_name = _("Products and orders")

    def ready(self) -> None:
        from kehu.workspaces.permissions import register_object_type

        from . import panels

        register_object_type("commerce.product", _("Products"), domain="sales")
        register_object_type("commerce.order", _("Orders"), domain="sales")
        register_object_type("commerce.exchangerate", _("Exchange rates"), domain="admin")
        register_object_type("commerce.feedback", _("Customer feedback"), domain="service")
        panels.register()
