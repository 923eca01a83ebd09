"""The sales cycle is computed by the database itself on both backends (no per-row Python function)."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kehu.deals.models import Opportunity
from kehu.forecast import queries
from kehu.forecast.periods import quarter

pytestmark = pytest.mark.django_db
Q4 = quarter(2026, 4)


def test_sales_cycle_is_a_native_expression(tenant, sales_data):
    with tenant.scope(), CaptureQueriesContext(connection) as ctx:
        result = queries.win_stats(tenant.actors["admin"], Q4)
    sql = " ".join(q["sql"] for q in ctx.captured_queries)
    # Django's SQLite fallback for datetime − datetime is a Python function called per row.
    assert "django_timestamp_diff" not in sql
    if connection.vendor == "sqlite":
        assert "julianday" in sql
    assert (result["cycle_mean_days"], result["cycle_median_days"]) == (D("84.7"), D("91.0"))


def test_elapsed_keeps_sub_day_precision(tenant, sales_data):
    """Seconds (and milliseconds) survive: the julianday difference is rounded to milliseconds."""
    with tenant.scope():
        deal = Opportunity.objects.filter(closed_at__isnull=False).first()
        # SQLite's julianday keeps milliseconds: both ends on whole milliseconds compare exactly.
        created = deal.created_at.replace(microsecond=125000)
        Opportunity.objects.filter(pk=deal.pk).update(
            created_at=created, closed_at=created + timedelta(days=3, hours=5, seconds=7, milliseconds=250)
        )
        value = (
            Opportunity.objects.filter(pk=deal.pk)
            .annotate(cycle=queries.Elapsed("closed_at", "created_at"))
            .values_list("cycle", flat=True)
            .get()
        )
    assert value == timedelta(days=3, hours=5, seconds=7, milliseconds=250)
