from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortabilityConfig(AppConfig):
    name = "kehu.portability"
    label = "portability"
    verbose_name = _("Data portability and quality")

    def ready(self) -> None:
        from kehu.workspaces.permissions import register_object_type

        # "export" on this type is the right to take the whole workspace's data (owners and
        # administrators by default: the admin domain grants everything to them only).
        register_object_type("portability.workspace", _("Workspace data (full export)"), domain="admin")
        from .quality import extend_lists

        extend_lists()
