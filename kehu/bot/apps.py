from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BotConfig(AppConfig):
    name = "kehu.bot"
    label = "bot"
    verbose_name = _("Service bot")

    def ready(self) -> None:
        from kehu.knowledge.hooks import register_help_widget

        register_help_widget("bot/_widget.html")  # the chat widget on every help-centre page
