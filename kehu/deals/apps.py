from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DealsConfig(AppConfig):
    name = "kehu.deals"
    label = "deals"
    verbose_name = _("Opportunities")

    def ready(self) -> None:
        from kehu.workspaces.permissions import register_object_type

        register_object_type("deals.opportunity", _("Opportunities"), domain="sales")
        # Pipelines, stages and lost reasons are the workspace's sales set-up: administrators change them.
        register_object_type("deals.pipeline", _("Pipelines and stages"), domain="admin")

        from . import panels
        from .listing import register_lists

        panels.register()
        register_lists()
