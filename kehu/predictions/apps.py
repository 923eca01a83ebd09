from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PredictionsConfig(AppConfig):
    name = "kehu.predictions"
    label = "predictions"
    verbose_name = _("Predictions")

    def ready(self) -> None:
        from kehu.workspaces.permissions import register_object_type

        from .listing import register_list_extensions
        from .panels import register

        register_object_type("predictions.model", _("Prediction models (CLV, churn)"), domain="admin")
        register_object_type("predictions.action", _("Recommended actions"), domain="customer")
        register()
        register_list_extensions()
