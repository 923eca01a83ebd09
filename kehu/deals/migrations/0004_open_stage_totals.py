"""The open deals' running totals per (stage, owner, team), kept by triggers, and filled from the deals.

The triggers are the only writers (see ``OpenStageTotal``). An UPDATE that changes none of the
summed or grouping columns (most saves: name, next step, dates) leaves the totals alone.
"""

import django.db.models.deletion
from django.db import migrations, models

TOTALS = "deals_openstagetotal"
KEY_INDEX = f"CREATE UNIQUE INDEX open_total_key ON {TOTALS} (stage_id, COALESCE(owner_id, 0), COALESCE(team_id, 0))"
BACKFILL = f"""
INSERT INTO {TOTALS} (workspace_id, pipeline_id, stage_id, owner_id, team_id, deal_count, amount_sum, weighted_sum)
SELECT workspace_id, pipeline_id, stage_id, owner_id, team_id, COUNT(*), SUM(base_amount), SUM(base_amount * probability)
FROM deals_opportunity WHERE status = 'open'
GROUP BY workspace_id, pipeline_id, stage_id, owner_id, team_id
"""
COLUMNS = "status, stage_id, pipeline_id, owner_id, team_id, base_amount, probability"

POSTGRESQL = [
    f"""
CREATE FUNCTION deals_open_stage_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.status = NEW.status AND OLD.stage_id = NEW.stage_id
     AND OLD.pipeline_id = NEW.pipeline_id AND OLD.owner_id IS NOT DISTINCT FROM NEW.owner_id
     AND OLD.team_id IS NOT DISTINCT FROM NEW.team_id AND OLD.base_amount = NEW.base_amount
     AND OLD.probability = NEW.probability THEN
    RETURN NULL;
  END IF;
  IF TG_OP <> 'INSERT' AND OLD.status = 'open' THEN
    UPDATE {TOTALS} SET deal_count = deal_count - 1, amount_sum = amount_sum - OLD.base_amount,
           weighted_sum = weighted_sum - OLD.base_amount * OLD.probability
     WHERE stage_id = OLD.stage_id AND COALESCE(owner_id, 0) = COALESCE(OLD.owner_id, 0)
       AND COALESCE(team_id, 0) = COALESCE(OLD.team_id, 0);
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.status = 'open' THEN
    INSERT INTO {TOTALS} (workspace_id, pipeline_id, stage_id, owner_id, team_id, deal_count, amount_sum,
                          weighted_sum)
    VALUES (NEW.workspace_id, NEW.pipeline_id, NEW.stage_id, NEW.owner_id, NEW.team_id, 1, NEW.base_amount,
            NEW.base_amount * NEW.probability)
    ON CONFLICT (stage_id, COALESCE(owner_id, 0), COALESCE(team_id, 0)) DO UPDATE
       SET deal_count = {TOTALS}.deal_count + 1, amount_sum = {TOTALS}.amount_sum + EXCLUDED.amount_sum,
           weighted_sum = {TOTALS}.weighted_sum + EXCLUDED.weighted_sum;
  END IF;
  RETURN NULL;
END $$""",
    f"""CREATE TRIGGER deals_open_stage_totals AFTER INSERT OR DELETE OR UPDATE OF {COLUMNS}
ON deals_opportunity FOR EACH ROW EXECUTE FUNCTION deals_open_stage_totals()""",
]
POSTGRESQL_DROP = [
    "DROP TRIGGER IF EXISTS deals_open_stage_totals ON deals_opportunity",
    "DROP FUNCTION IF EXISTS deals_open_stage_totals()",
]

_SQLITE_ADD = f"""
  INSERT OR IGNORE INTO {TOTALS} (workspace_id, pipeline_id, stage_id, owner_id, team_id, deal_count,
                                  amount_sum, weighted_sum)
  SELECT NEW.workspace_id, NEW.pipeline_id, NEW.stage_id, NEW.owner_id, NEW.team_id, 0, 0, 0
  WHERE NEW.status = 'open';
  UPDATE {TOTALS} SET deal_count = deal_count + 1, amount_sum = amount_sum + NEW.base_amount,
         weighted_sum = weighted_sum + NEW.base_amount * NEW.probability
   WHERE NEW.status = 'open' AND stage_id = NEW.stage_id AND owner_id IS NEW.owner_id AND team_id IS NEW.team_id;
"""
_SQLITE_SUBTRACT = f"""
  UPDATE {TOTALS} SET deal_count = deal_count - 1, amount_sum = amount_sum - OLD.base_amount,
         weighted_sum = weighted_sum - OLD.base_amount * OLD.probability
   WHERE OLD.status = 'open' AND stage_id = OLD.stage_id AND owner_id IS OLD.owner_id AND team_id IS OLD.team_id;
"""
SQLITE = [
    f"CREATE TRIGGER deals_open_totals_insert AFTER INSERT ON deals_opportunity BEGIN {_SQLITE_ADD} END",
    f"CREATE TRIGGER deals_open_totals_delete AFTER DELETE ON deals_opportunity BEGIN {_SQLITE_SUBTRACT} END",
    f"""CREATE TRIGGER deals_open_totals_update AFTER UPDATE OF {COLUMNS} ON deals_opportunity
WHEN NOT (OLD.status IS NEW.status AND OLD.stage_id IS NEW.stage_id AND OLD.pipeline_id IS NEW.pipeline_id
          AND OLD.owner_id IS NEW.owner_id AND OLD.team_id IS NEW.team_id
          AND OLD.base_amount IS NEW.base_amount AND OLD.probability IS NEW.probability)
BEGIN {_SQLITE_SUBTRACT} {_SQLITE_ADD} END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS deals_open_totals_insert",
    "DROP TRIGGER IF EXISTS deals_open_totals_delete",
    "DROP TRIGGER IF EXISTS deals_open_totals_update",
]


def _run(schema_editor, statements) -> None:
    for sql in statements:
        schema_editor.execute(sql, params=None)


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"open-deal totals triggers for {vendor}")
    _run(schema_editor, [KEY_INDEX, BACKFILL, *(POSTGRESQL if vendor == "postgresql" else SQLITE)])


def uninstall(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    _run(schema_editor, POSTGRESQL_DROP if vendor == "postgresql" else SQLITE_DROP)


class Migration(migrations.Migration):

    dependencies = [
        ('deals', '0003_board_totals_furthest'),
        ('workspaces', '0002_membership_last_used'),
    ]

    operations = [
        migrations.CreateModel(
            name='OpenStageTotal',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('owner_id', models.BigIntegerField(null=True)),
                ('team_id', models.BigIntegerField(null=True)),
                ('deal_count', models.BigIntegerField(default=0)),
                ('amount_sum', models.DecimalField(decimal_places=2, default=0, help_text='Σ base_amount', max_digits=24)),
                ('weighted_sum', models.DecimalField(decimal_places=2, default=0, help_text='Σ base_amount × probability (percent)', max_digits=28)),
                ('pipeline', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='deals.pipeline')),
                ('stage', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='deals.stage')),
                ('workspace', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='workspaces.workspace')),
            ],
            options={
                'indexes': [models.Index(fields=['workspace', 'pipeline', 'stage'], name='open_total_ws_pipeline')],
            },
        ),
        migrations.RunPython(install, uninstall),
    ]
