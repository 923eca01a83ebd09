# ruff: noqa: S608 - the SQL is built from the constant table and column names below
"""Accounts per (owner, team, grade, lifecycle stage, kind, size, status), kept by triggers.

The triggers are the only writers of ``customers_accountrollup`` (see ``AccountRollup``). PostgreSQL:
one statement-level trigger per event with transition tables — each write statement applies one
grouped upsert of its net changes per key, whatever its size (an UPDATE that changes no key column
nets to nothing and writes nothing). SQLite: row triggers. The triggers are created before the
back-fill (one ``INSERT … SELECT … GROUP BY``), in the same transaction: the trigger's lock holds
writers back until the rollup is complete.

``trigger_sql`` is also used by ``commerce`` 0006 for the orders' rollup (same shape).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def trigger_sql(
    vendor: str, base: str, rollup: str, keys: list[str], nullable: set[str], count: str, sums: list[str]
) -> list[str]:
    """DDL keeping ``rollup`` = ``base`` grouped by workspace_id + ``keys``: ``count`` rows and the
    sum of each column in ``sums`` (same column names in both tables). ``nullable`` keys are integer
    ids compared as COALESCE(x, 0). Creates the unique key index, the triggers, then back-fills."""
    cols = ["workspace_id", *keys]

    def key(col: str, row: str = "") -> str:
        name = f"{row}{col}"
        return f"COALESCE({name}, 0)" if col in nullable else name

    match = " AND ".join(f"{key(c, 'r.')} = {key(c, 'd.')}" for c in cols)
    conflict = ", ".join(key(c) for c in cols)
    group = ", ".join(cols)
    values = [count, *sums]
    insert_cols = ", ".join([*cols, *values])
    added = ", ".join(f"{v} = {rollup}.{v} + EXCLUDED.{v}" for v in values)
    stmts = [f"CREATE UNIQUE INDEX {rollup}_key ON {rollup} ({conflict})"]
    fn = f"{rollup}_keep"
    if vendor == "postgresql":
        delta = ", ".join([f"1 AS {count}", *(f"{s} AS {s}" for s in sums)])
        minus = ", ".join(["-1", *(f"-{s}" for s in sums)])
        net = ", ".join([f"SUM({count})", *(f"SUM({s})" for s in sums)])
        changed = " OR ".join([f"SUM({count}) <> 0", *(f"SUM({s}) <> 0" for s in sums)])
        counted = ", ".join([f"COUNT(*) AS {count}", *(f"SUM({s}) AS {s}" for s in sums)])
        removed = ", ".join([f"{v} = r.{v} - d.{v}" for v in values])
        stmts.append(f"""
CREATE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    DELETE FROM {rollup};
  ELSIF TG_OP = 'INSERT' THEN
    INSERT INTO {rollup} ({insert_cols})
    SELECT {group}, {counted} FROM new_rows GROUP BY {group} ORDER BY {group}
    ON CONFLICT ({conflict}) DO UPDATE SET {added};
  ELSIF TG_OP = 'DELETE' THEN
    UPDATE {rollup} AS r SET {removed}
      FROM (SELECT {group}, {counted} FROM old_rows GROUP BY {group}) AS d
     WHERE {match};
  ELSE
    -- Net change per key: +1 and the new values, -1 and the old ones; keys that net to nothing
    -- (an UPDATE of columns the rollup does not keep) write nothing.
    INSERT INTO {rollup} ({insert_cols})
    SELECT {group}, {net} FROM (
      SELECT {group}, {delta} FROM new_rows
      UNION ALL SELECT {group}, {minus} FROM old_rows
    ) AS d GROUP BY {group} HAVING {changed} ORDER BY {group}
    ON CONFLICT ({conflict}) DO UPDATE SET {added};
  END IF;
  RETURN NULL;
END $$""")
        for event, refs in (
            ("INSERT", "NEW TABLE AS new_rows"),
            ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
            ("DELETE", "OLD TABLE AS old_rows"),
        ):
            stmts.append(
                f"CREATE TRIGGER {fn}_{event.lower()} AFTER {event} ON {base} REFERENCING {refs} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {fn}()"
            )
        stmts.append(
            f"CREATE TRIGGER {fn}_truncate AFTER TRUNCATE ON {base} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {fn}()"
        )
    else:
        same = {row: " AND ".join(f"{key(c)} = {key(c, row + '.')}" for c in cols) for row in ("NEW", "OLD")}
        plus = ", ".join([f"{count} = {count} + 1", *(f"{s} = {s} + NEW.{s}" for s in sums)])
        less = ", ".join([f"{count} = {count} - 1", *(f"{s} = {s} - OLD.{s}" for s in sums)])
        new_key = ", ".join([*(f"NEW.{c}" for c in cols), *("0" for _v in values)])
        add = (
            f"INSERT OR IGNORE INTO {rollup} ({insert_cols}) VALUES ({new_key});"
            f" UPDATE {rollup} SET {plus} WHERE {same['NEW']};"
        )
        subtract = f"UPDATE {rollup} SET {less} WHERE {same['OLD']};"
        watched = ["workspace_id", *keys, *sums]
        unchanged = " AND ".join(f"OLD.{c} IS NEW.{c}" for c in watched)
        stmts += [
            f"CREATE TRIGGER {fn}_insert AFTER INSERT ON {base} BEGIN {add} END",
            f"CREATE TRIGGER {fn}_delete AFTER DELETE ON {base} BEGIN {subtract} END",
            f"CREATE TRIGGER {fn}_update AFTER UPDATE OF {', '.join(watched)} ON {base} "
            f"WHEN NOT ({unchanged}) BEGIN {subtract} {add} END",
        ]
    totals = ", ".join(["COUNT(*)", *(f"SUM({s})" for s in sums)])
    stmts.append(
        f"INSERT INTO {rollup} ({insert_cols}) SELECT {group}, {totals} FROM {base} GROUP BY {group}"
    )
    return stmts


def drop_sql(vendor: str, base: str, rollup: str) -> list[str]:
    fn = f"{rollup}_keep"
    if vendor == "postgresql":
        events = ("insert", "update", "delete", "truncate")
        return [
            *(f"DROP TRIGGER IF EXISTS {fn}_{e} ON {base}" for e in events),
            f"DROP FUNCTION IF EXISTS {fn}()",
        ]
    return [f"DROP TRIGGER IF EXISTS {fn}_{e}" for e in ("insert", "update", "delete")]


BASE, ROLLUP = "customers_account", "customers_accountrollup"
KEYS = ["owner_id", "team_id", "grade", "lifecycle_stage", "kind", "size", "status"]


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"account rollup triggers for {vendor}")
    for sql in trigger_sql(vendor, BASE, ROLLUP, KEYS, {"owner_id", "team_id"}, "account_count", []):
        schema_editor.execute(sql, params=None)


def uninstall(apps, schema_editor):
    for sql in drop_sql(schema_editor.connection.vendor, BASE, ROLLUP):
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0014_pinyin_stem_index"),
        ("workspaces", "0002_membership_last_used"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AccountRollup",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("grade", models.CharField(blank=True, max_length=30)),
                (
                    "lifecycle_stage",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("prospect", "Prospect"),
                            ("new", "New customer"),
                            ("active", "Active / repeat"),
                            ("at_risk", "At risk"),
                            ("churned", "Churned"),
                            ("won_back", "Won back"),
                        ],
                        max_length=20,
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[("company", "Company"), ("individual", "Individual")], max_length=20
                    ),
                ),
                (
                    "size",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("1-9", "1–9 employees"),
                            ("10-49", "10–49 employees"),
                            ("50-249", "50–249 employees"),
                            ("250-999", "250–999 employees"),
                            ("1000+", "1,000 or more employees"),
                        ],
                        max_length=10,
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[("prospect", "Prospect"), ("active", "Active"), ("inactive", "Inactive")],
                        max_length=20,
                    ),
                ),
                ("account_count", models.BigIntegerField(default=0)),
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
