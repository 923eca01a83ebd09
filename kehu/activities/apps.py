from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivitiesConfig(AppConfig):
    name = "kehu.activities"
    label = "activities"
    verbose_name = _("Activities")

    def ready(self) -> None:
        from kehu.workspaces.permissions import register_object_type

        from . import panels

        register_object_type("activities.activity", _("Activities"), domain="customer")
        register_object_type("activities.task", _("Tasks"), domain="customer")
        panels.register()
        from .listing import register_lists

        register_lists()
