"""Orders per (day, status, currency, owner, team) with their count and amount sums, kept by
triggers (see ``OrderRollup``): the same triggers as the accounts' rollup (``customers`` 0015,
``trigger_sql``: PostgreSQL statement triggers with transition tables, SQLite row triggers), created
before the back-fill in the same transaction.
"""

from importlib import import_module

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

_rollup = import_module("kehu.customers.migrations.0015_account_rollup")
BASE, ROLLUP = "commerce_order", "commerce_orderrollup"
KEYS = ["order_date", "status", "currency", "owner_id", "team_id"]
SUMS = ["total_amount", "total_cost", "discount", "base_total_amount", "base_total_cost"]


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"order rollup triggers for {vendor}")
    for sql in _rollup.trigger_sql(vendor, BASE, ROLLUP, KEYS, {"owner_id", "team_id"}, "order_count", SUMS):
        schema_editor.execute(sql, params=None)


def uninstall(apps, schema_editor):
    for sql in _rollup.drop_sql(schema_editor.connection.vendor, BASE, ROLLUP):
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("commerce", "0005_order_updated_index"),
        ("customers", "0015_account_rollup"),
        ("workspaces", "0002_membership_last_used"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="OrderRollup",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("order_date", models.DateField()),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("draft", "Draft"),
                            ("confirmed", "Confirmed"),
                            ("paid", "Paid"),
                            ("shipped", "Shipped"),
                            ("cancelled", "Cancelled"),
                            ("refunded", "Refunded"),
                        ],
                        max_length=20,
                    ),
                ),
                ("currency", models.CharField(max_length=3)),
                ("order_count", models.BigIntegerField(default=0)),
                (
                    "total_amount",
                    models.DecimalField(
                        decimal_places=2, default=0, help_text="Σ total_amount", max_digits=24
                    ),
                ),
                (
                    "total_cost",
                    models.DecimalField(decimal_places=2, default=0, help_text="Σ total_cost", max_digits=24),
                ),
                (
                    "discount",
                    models.DecimalField(decimal_places=2, default=0, help_text="Σ discount", max_digits=24),
                ),
                (
                    "base_total_amount",
                    models.DecimalField(
                        decimal_places=2, default=0, help_text="Σ base_total_amount", max_digits=24
                    ),
                ),
                (
                    "base_total_cost",
                    models.DecimalField(
                        decimal_places=2, default=0, help_text="Σ base_total_cost", max_digits=24
                    ),
                ),
                (
                    "owner",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "team",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="workspaces.team",
                    ),
                ),
                (
                    "workspace",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="workspaces.workspace",
                    ),
                ),
            ],
        ),
        migrations.RunPython(install, uninstall),
    ]
