from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OperationsConfig(AppConfig):
    """Running Kehu: the `kehu` commands (demo, serve, worker, workspace, user, apikey) and the demo seed.

    The top layer: it drives every other app's services and nothing imports it.
    """

    name = "kehu.operations"
    label = "operations"
    verbose_name = _("Operations")
