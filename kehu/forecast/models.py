"""Sales targets (quotas): an amount in the workspace's base currency for one user or one team and
one month or quarter.

A target is an ``OwnedRecord`` whose ``owner`` is the salesperson (or whose ``team`` is the team),
so who may see it follows the same record scopes as the deals it is measured against: a rep sees
their own quota, a manager their teams', an administrator all.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kehu.core.models import OwnedRecord

MONEY = {"max_digits": 16, "decimal_places": 2}


class SalesTarget(OwnedRecord):
    """The quota of one user (``owner``) or one team (``team``) for a month or a quarter."""

    class Period(models.TextChoices):
        MONTH = "month", _("Month")
        QUARTER = "quarter", _("Quarter")

    object_type = "forecast.salestarget"

    period = models.CharField(_("period"), max_length=10, choices=Period.choices)
    # The period's first and last day (inclusive), in the workspace's calendar.
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("until"))
    amount = models.DecimalField(_("target amount"), **MONEY)

    class Meta:
        verbose_name = _("sales target")
        verbose_name_plural = _("sales targets")
        ordering = ["start_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(owner__isnull=False, team__isnull=True)
                | Q(owner__isnull=True, team__isnull=False),
                name="salestarget_user_or_team",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="salestarget_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(end_date__gte=models.F("start_date")), name="salestarget_dates"
            ),
            models.UniqueConstraint(
                fields=["workspace", "owner", "period", "start_date"],
                condition=Q(owner__isnull=False),
                name="salestarget_unique_user_period",
            ),
            models.UniqueConstraint(
                fields=["workspace", "team", "period", "start_date"],
                condition=Q(team__isnull=False),
                name="salestarget_unique_team_period",
            ),
        ]
        indexes = [models.Index(fields=["workspace", "start_date", "end_date"], name="salestarget_ws_dates")]

    def __str__(self) -> str:
        return f"{self.owner or self.team} {self.start_date:%Y-%m}: {self.amount}"
