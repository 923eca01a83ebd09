from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KnowledgeConfig(AppConfig):
    name = "kehu.knowledge"
    label = "knowledge"
    verbose_name = _("Knowledge base")

    def ready(self) -> None:
        from kehu.workspaces.permissions import register_object_type

        register_object_type("knowledge.article", _("Knowledge articles"), domain="service")

        from kehu.activities.records import register_record_page

        register_record_page("knowledge.article", "knowledge:detail")  # tasks and notifications link to it

        from .listing import register_lists

        register_lists()
