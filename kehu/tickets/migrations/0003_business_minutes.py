"""Business minutes to the first response and to resolution on the ticket row (the service dashboard's
percentiles), and a batched backfill of the tickets answered or resolved before.

The backfill counts on each ticket's SLA policy calendar, by interval arithmetic. The resolution
leaves out ``sla_paused_minutes`` (every pause had ended when the ticket was resolved). For the first
response only the pauses before it count; they are what moved its due date, so they are the business
minutes from opening to that due date beyond the policy's target (capped by all the time paused).
"""

from django.db import migrations, models
from django.db.models import Q

BATCH = 2000


def backfill(apps, schema_editor):
    from django_scopes import scopes_disabled

    from kehu.sla import clock
    from kehu.sla.services import calendar_spec
    from kehu.tickets.sla import worked_minutes

    Ticket = apps.get_model("tickets", "Ticket")
    SlaPolicy = apps.get_model("sla", "SlaPolicy")
    BusinessCalendar = apps.get_model("sla", "BusinessCalendar")
    policies = {p.pk: (p.calendar_id, p.first_response_minutes) for p in SlaPolicy._base_manager.all()}
    calendars = {c.pk: c for c in BusinessCalendar._base_manager.all()}
    rows = (
        Ticket._base_manager.filter(sla_policy__isnull=False)
        .filter(
            Q(first_responded_at__isnull=False, first_response_business_minutes__isnull=True)
            | Q(resolved_at__isnull=False, resolution_business_minutes__isnull=True)
        )
        .order_by("pk")
        .values_list(
            "pk",
            "created_at",
            "sla_policy_id",
            "first_response_due_at",
            "first_responded_at",
            "resolved_at",
            "sla_paused_minutes",
            "first_response_business_minutes",
            "resolution_business_minutes",
        )
    )
    # One UPDATE per row by executemany (bulk_update's CASE per batch is far slower on big tables).
    update = (
        f"UPDATE {Ticket._meta.db_table} SET first_response_business_minutes = %s, "
        "resolution_business_minutes = %s WHERE id = %s"
    )
    last = 0
    with scopes_disabled(), schema_editor.connection.cursor() as cursor:
        while batch := list(rows.filter(pk__gt=last)[:BATCH]):
            last = batch[-1][0]
            params = []
            for pk, created, policy_id, first_due, responded, resolved, paused, first, resolution in batch:
                calendar_id, first_target = policies.get(policy_id, (None, None))
                if calendar_id not in calendars:
                    continue
                spec = calendar_spec(calendars[calendar_id])
                paused = paused or 0
                if responded and first is None:
                    before = 0
                    if paused and first_target and first_due:
                        moved = clock.business_minutes_between(spec, created, first_due)
                        before = min(paused, max(0, moved - first_target))
                    first = worked_minutes(spec, created, responded, before)
                if resolved and resolution is None:
                    resolution = worked_minutes(spec, created, resolved, paused)
                params.append((first, resolution, pk))
            cursor.executemany(update, params)


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0002_custom_gin"),
        ("sla", "0002_exception_unique_per_workspace"),
    ]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="first_response_business_minutes",
            field=models.PositiveIntegerField(
                blank=True, editable=False, null=True, verbose_name="first response (business minutes)"
            ),
        ),
        migrations.AddField(
            model_name="ticket",
            name="resolution_business_minutes",
            field=models.PositiveIntegerField(
                blank=True, editable=False, null=True, verbose_name="resolution (business minutes)"
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
