from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ForecastConfig(AppConfig):
    name = "kehu.forecast"
    label = "forecast"
    verbose_name = _("Forecast and reports")

    def ready(self) -> None:
        from kehu.workspaces.permissions import register_object_type

        # A sales domain object: reps see their own quota, managers their teams', admins all. Setting
        # quotas needs "change" with team or all scope (see services.can_set_targets).
        register_object_type("forecast.salestarget", _("Sales targets"), domain="sales")
