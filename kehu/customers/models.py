"""Accounts (companies or individuals) and the people at them (contacts)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from kehu.core.models import OwnedRecord


class Account(OwnedRecord):
    """The customer unit: a company (B2B) or an individual (B2C)."""

    class Kind(models.TextChoices):
        COMPANY = "company", _("Company")
        INDIVIDUAL = "individual", _("Individual")

    object_type = "customers.account"

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.COMPANY)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    website = models.URLField(_("website"), blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True, help_text=_("E.164"))
    email = models.EmailField(_("email"), blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    description = models.TextField(_("description"), blank=True)
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        indexes = [
            models.Index(fields=["workspace", "-created_at", "-id"], name="account_ws_created"),
            models.Index(fields=["workspace", "owner"], name="account_ws_owner"),
            models.Index(fields=["workspace", "name"], name="account_ws_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(OwnedRecord):
    """A person, usually at an account."""

    object_type = "customers.contact"

    name = models.CharField(_("name"), max_length=200)
    account = models.ForeignKey(
        Account,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contacts",
        verbose_name=_("account"),
    )
    job_title = models.CharField(_("job title"), max_length=100, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True, help_text=_("E.164"))
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        indexes = [
            models.Index(fields=["workspace", "-created_at", "-id"], name="contact_ws_created"),
            models.Index(fields=["workspace", "owner"], name="contact_ws_owner"),
            models.Index(fields=["workspace", "email"], name="contact_ws_email"),
            models.Index(fields=["workspace", "phone"], name="contact_ws_phone"),
        ]

    def __str__(self) -> str:
        return self.name
