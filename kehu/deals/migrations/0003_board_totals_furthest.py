"""The board's covering indexes and the furthest stage each deal reached (backfilled from its history)."""

from django.conf import settings
from django.db import migrations, models


BACKFILL = """
UPDATE deals_opportunity SET furthest_position = (
    SELECT MAX(s.position) FROM deals_stagechange c JOIN deals_stage s ON s.id = c.to_stage_id
    WHERE c.opportunity_id = deals_opportunity.id AND c.pipeline_id = deals_opportunity.pipeline_id
      AND s.pipeline_id = deals_opportunity.pipeline_id AND NOT s.is_lost
)
"""


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0011_backfill_primary_addresses'),
        ('deals', '0002_unique_per_workspace'),
        ('workspaces', '0002_membership_last_used'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='opportunity',
            name='furthest_position',
            field=models.PositiveIntegerField(blank=True, null=True, verbose_name='furthest stage reached'),
        ),
        # The highest position of a non-lost stage of the deal's pipeline it entered (one statement,
        # the same SQL on both databases; before the indexes so they are built once, filled).
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name='opportunity',
            index=models.Index(fields=['workspace', 'pipeline', 'status', 'closed_at', 'stage', 'base_amount', 'probability', 'owner', 'team'], name='opp_ws_board_totals'),
        ),
        migrations.AddIndex(
            model_name='opportunity',
            index=models.Index(fields=['workspace', 'pipeline', 'expected_close_date', 'stage', 'status', 'base_amount', 'probability', 'owner', 'team'], name='opp_ws_board_close'),
        ),
        migrations.AddIndex(
            model_name='opportunity',
            index=models.Index(fields=['workspace', 'pipeline', 'created_at', 'furthest_position', 'owner', 'team'], name='opp_ws_created_furthest'),
        ),
    ]
