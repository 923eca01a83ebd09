from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QuotesConfig(AppConfig):
    name = "kehu.quotes"
    label = "quotes"
    verbose_name = _("Quotes")

    def ready(self) -> None:
        from kehu.workspaces.permissions import register_object_type

        register_object_type("quotes.quote", _("Quotes"), domain="sales")

        from . import panels
        from .listing import register_lists

        panels.register()
        register_lists()
