"""Custom field definitions (per workspace and object type) and exports kept when one is deleted.

Values live in each record's ``custom`` JSON column under the definition's ``key``; the key never
changes after creation, so renaming a field (its label) keeps the data.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kehu.core.models import WorkspaceModel


class FieldType(models.TextChoices):
    TEXT = "text", _("Text")
    LONG_TEXT = "long_text", _("Long text")
    NUMBER = "number", pgettext_lazy("field type", "Number")  # not an order's number
    MONEY = "money", _("Money")
    PERCENT = "percent", _("Percent")
    DATE = "date", _("Date")
    DATETIME = "datetime", _("Date and time")
    BOOLEAN = "boolean", _("Yes / no")
    SINGLE_SELECT = "single_select", _("Single select")
    MULTI_SELECT = "multi_select", _("Multi select")
    URL = "url", _("URL")
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    USER = "user", _("User")
    RELATION = "relation", _("Relation to a record")


class FieldDefinition(WorkspaceModel):
    """One custom field of one object type (``customers.account`` …) in one workspace.

    ``options``: for selects ``{"choices": [{"value", "label"}]}``; for relations ``{"target":
    "customers.contact"}``. ``validation``: ``min``, ``max``, ``min_length``, ``max_length``,
    ``pattern``. ``visible_to_roles`` / ``editable_by_roles``: role keys; empty means everyone.
    """

    object_type = models.CharField(_("object type"), max_length=60)
    key = models.CharField(_("key"), max_length=50)
    label = models.CharField(_("label"), max_length=100)
    field_type = models.CharField(_("type"), max_length=20, choices=FieldType.choices)
    options = models.JSONField(_("options"), default=dict, blank=True)
    required = models.BooleanField(_("required"), default=False)
    unique = models.BooleanField(_("unique"), default=False)
    default = models.JSONField(_("default"), null=True, blank=True)
    help_text = models.CharField(_("help text"), max_length=300, blank=True)
    validation = models.JSONField(_("validation"), default=dict, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    visible_to_roles = models.JSONField(_("visible to roles"), default=list, blank=True)
    editable_by_roles = models.JSONField(_("editable by roles"), default=list, blank=True)
    archived_at = models.DateTimeField(_("archived"), null=True, blank=True)

    class Meta:
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        constraints = [
            models.UniqueConstraint(fields=["workspace", "object_type", "key"], name="customfield_unique_key")
        ]
        indexes = [
            models.Index(fields=["workspace", "object_type", "position"], name="customfield_ws_type_pos"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def choices(self) -> list[dict]:
        return list((self.options or {}).get("choices") or [])

    @property
    def target(self) -> str:
        return str((self.options or {}).get("target") or "")

    def choice_label(self, value) -> str:
        for choice in self.choices:
            if choice.get("value") == value:
                return str(choice.get("label") or value)
        return str(value)


class FieldValueExport(WorkspaceModel):
    """The values a deleted custom field held, kept so an administrator can download them later."""

    object_type = models.CharField(_("object type"), max_length=60)
    key = models.CharField(_("key"), max_length=50)
    label = models.CharField(_("label"), max_length=100)
    field_type = models.CharField(_("type"), max_length=20)
    values = models.JSONField(_("values"), default=dict, help_text=_("{record id: value}"))
    count = models.PositiveIntegerField(_("number of values"), default=0)

    class Meta:
        verbose_name = _("custom field value export")
        verbose_name_plural = _("custom field value exports")
        indexes = [models.Index(fields=["workspace", "-created_at"], name="customfield_export_ws")]

    def __str__(self) -> str:
        return f"{self.label} ({self.object_type})"
