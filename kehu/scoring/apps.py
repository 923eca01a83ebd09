from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScoringConfig(AppConfig):
    name = "kehu.scoring"
    label = "scoring"
    verbose_name = _("Lead scoring")

    def ready(self) -> None:
        from kehu.leads.signals import lead_saved
        from kehu.workspaces.permissions import register_object_type

        from .handlers import on_lead_saved
        from .panels import register

        register_object_type("scoring.rule", _("Lead scoring rules"), domain="admin")
        lead_saved.connect(on_lead_saved, dispatch_uid="scoring.on_lead_saved")
        register()
