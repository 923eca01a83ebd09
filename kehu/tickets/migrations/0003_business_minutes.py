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
    policies = {
        p.pk: (p.calendar_id, p.first_response_minutes) for p in SlaPolicy._base_manager.all()
    }
    calendars = {c.pk: c for c in BusinessCalendar._base_manager.all()}
    rows = (
        Ticket._base_manager.filter(sla_policy__isnull=False)
        .filter(
            Q(first_responded_at__isnull=False, first_response_business_minutes__isnull=True)
            | Q(resolved_at__isnull=False, resolution_business_minutes__isnull=True)
        )
        .only(
            "created_at",
            "sla_policy_id",
            "first_response_due_at",
            "first_responded_at",
            "resolved_at",
            "sla_paused_minutes",
            "first_response_business_minutes",
            "resolution_business_minutes",
        )
        .order_by("pk")
    )
    last = 0
    with scopes_disabled():
        while batch := list(rows.filter(pk__gt=last)[:BATCH]):
            last = batch[-1].pk
            for ticket in batch:
                calendar_id, first_target = policies.get(ticket.sla_policy_id, (None, None))
                if calendar_id not in calendars:
                    continue
                spec = calendar_spec(calendars[calendar_id])
                paused = ticket.sla_paused_minutes or 0
                if ticket.first_responded_at and ticket.first_response_business_minutes is None:
                    before = 0
                    if paused and first_target and ticket.first_response_due_at:
                        moved = clock.business_minutes_between(
                            spec, ticket.created_at, ticket.first_response_due_at
                        )
                        before = min(paused, max(0, moved - first_target))
                    ticket.first_response_business_minutes = worked_minutes(
                        spec, ticket.created_at, ticket.first_responded_at, before
                    )
                if ticket.resolved_at and ticket.resolution_business_minutes is None:
                    ticket.resolution_business_minutes = worked_minutes(
                        spec, ticket.created_at, ticket.resolved_at, paused
                    )
            Ticket._base_manager.bulk_update(
                batch, ["first_response_business_minutes", "resolution_business_minutes"]
            )


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
