from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    name = "kehu.surveys"
    label = "surveys"
    verbose_name = _("Satisfaction surveys")

    def ready(self) -> None:
        from kehu.workspaces.permissions import register_object_type

        from . import handlers, panels

        register_object_type("surveys.survey", _("Satisfaction surveys"), domain="service")
        handlers.connect()
        panels.register()
