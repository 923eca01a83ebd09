from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ListViewsConfig(AppConfig):
    name = "kehu.listviews"
    label = "listviews"
    verbose_name = _("Lists and saved views")
