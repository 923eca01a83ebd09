from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "kehu.analytics"
    label = "analytics"
    verbose_name = _("Customer analytics")

    def ready(self) -> None:
        from kehu.customers.grading import set_grade_provider
        from kehu.workspaces.permissions import register_object_type

        from .listing import extend_account_list
        from .panels import register
        from .services import tiers_of

        register_object_type("analytics.settings", _("Customer analytics settings"), domain="admin")
        register_object_type("analytics.report", _("Customer analytics reports"), domain="marketing")
        set_grade_provider(tiers_of)
        extend_account_list()
        register()
