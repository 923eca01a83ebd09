from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImportsConfig(AppConfig):
    name = "kehu.imports"
    label = "imports"
    verbose_name = _("Imports")

    def ready(self) -> None:
        from .leads import register_lead_target
        from .targets import register_builtin_targets

        register_builtin_targets()
        register_lead_target()
