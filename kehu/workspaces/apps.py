from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkspacesConfig(AppConfig):
    name = "kehu.workspaces"
    label = "workspaces"
    verbose_name = _("Workspaces")

    def ready(self) -> None:
        from django.utils.translation import gettext_lazy as _

        from .permissions import register_object_type

        register_object_type("workspaces.team", _("Teams"), domain="admin")
