"""Rows written before phones/emails, relations and pinyin existed get them: from the row's own
primary phone and email, its primary account, and its name. Batched, so it runs on big tables."""

from django.db import migrations

BATCH = 2000


def backfill(apps, schema_editor):
    from kehu.customers.normalize import pinyin_keys

    ContactPoint = apps.get_model("customers", "ContactPoint")
    AccountContact = apps.get_model("customers", "AccountContact")
    for model_name, owner in (("Account", "account"), ("Contact", "contact")):
        model = apps.get_model("customers", model_name)
        rows = model._base_manager.order_by("pk")
        last = 0
        while batch := list(rows.filter(pk__gt=last)[:BATCH]):
            last = batch[-1].pk
            points, relations = [], []
            for row in batch:
                row.name_pinyin, row.name_initials = pinyin_keys(row.name)
                for kind, value in (("phone", row.phone), ("email", row.email)):
                    if value:
                        points.append(ContactPoint(workspace_id=row.workspace_id, kind=kind, value=value,
                                                   label="work", is_primary=True, **{owner: row}))
                if owner == "contact" and row.account_id:
                    relations.append(AccountContact(workspace_id=row.workspace_id, account_id=row.account_id,
                                                    contact=row, is_primary=True, role="user"))
            model._base_manager.bulk_update(batch, ["name_pinyin", "name_initials"])
            ContactPoint._base_manager.bulk_create(points)
            AccountContact._base_manager.bulk_create(relations, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [("customers", "0004_richer_accounts_contacts")]
    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
