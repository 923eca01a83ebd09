"""Accounts written before addresses were kept as rows get their main address (the row's own
country … postcode) as their primary office address. Batched, so it runs on big tables."""

from django.db import migrations

BATCH = 2000
FIELDS = ("country", "province", "city", "district", "street", "postcode")


def backfill(apps, schema_editor):
    Account = apps.get_model("customers", "Account")
    Address = apps.get_model("customers", "Address")
    has_primary = Address._base_manager.filter(account__isnull=False, is_primary=True)
    rows = Account._base_manager.exclude(pk__in=has_primary.values("account_id")).order_by("pk")
    last = 0
    while batch := list(rows.filter(pk__gt=last).only("pk", "workspace_id", *FIELDS)[:BATCH]):
        last = batch[-1].pk
        Address._base_manager.bulk_create(
            [
                Address(
                    workspace_id=row.workspace_id,
                    account_id=row.pk,
                    kind="office",
                    is_primary=True,
                    **{f: getattr(row, f) for f in FIELDS},
                )
                for row in batch
                if any(getattr(row, f) for f in FIELDS)
            ]
        )


class Migration(migrations.Migration):
    dependencies = [("customers", "0010_address_primary")]
    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
