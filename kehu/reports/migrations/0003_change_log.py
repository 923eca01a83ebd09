# ruff: noqa: S608 - the SQL is built from the constant table and column names above
"""The change log behind the exact tile cache (``engine.data_version``).

A row per write statement (PostgreSQL: statement triggers with transition tables, one row per
workspace the statement touched; SQLite: row triggers) on the tables a cached dashboard tile may
read. A tile's cached result is keyed by its SQL and, for each table that SQL reads, the count and
the highest id of that table's log rows for the workspace: any committed write changes the key, so
a cached tile is never older than the data (docs/performance.md, "Dashboard"). Written only by the
triggers; no model (derived, never exported); old rows are folded by ``engine.fold_all``.
"""

from django.db import migrations

# Tables with a workspace_id column: one log row per workspace a statement touched.
SCOPED = ("customers_account", "commerce_order")
# users_user has none: a change of a user's name (the owner label of a report) counts for all.
GLOBAL = {"users_user": ("name", "email")}

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION reports_log_change() RETURNS trigger AS $$
BEGIN
    IF TG_ARGV[0] = 'global' OR TG_OP = 'TRUNCATE' THEN
        INSERT INTO reports_datachange (workspace_id, table_name) VALUES (NULL, TG_TABLE_NAME);
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO reports_datachange (workspace_id, table_name)
        SELECT DISTINCT workspace_id, TG_TABLE_NAME FROM new_rows;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO reports_datachange (workspace_id, table_name)
        SELECT workspace_id, TG_TABLE_NAME FROM new_rows
        UNION SELECT workspace_id, TG_TABLE_NAME FROM old_rows;
    ELSE
        INSERT INTO reports_datachange (workspace_id, table_name)
        SELECT DISTINCT workspace_id, TG_TABLE_NAME FROM old_rows;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""


def _pg(schema_editor) -> list[str]:
    out = [
        "CREATE TABLE reports_datachange (id bigserial PRIMARY KEY, workspace_id bigint, "
        "table_name varchar(63) NOT NULL, changed_at timestamptz NOT NULL DEFAULT now())",
        "CREATE INDEX reports_datachange_key ON reports_datachange (table_name, workspace_id, id)",
        PG_FUNCTION,
    ]
    for table in SCOPED:
        out += [
            f"CREATE TRIGGER reports_change_ins AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows "
            "FOR EACH STATEMENT EXECUTE FUNCTION reports_log_change()",
            f"CREATE TRIGGER reports_change_upd AFTER UPDATE ON {table} "
            "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
            "FOR EACH STATEMENT EXECUTE FUNCTION reports_log_change()",
            f"CREATE TRIGGER reports_change_del AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows "
            "FOR EACH STATEMENT EXECUTE FUNCTION reports_log_change()",
            f"CREATE TRIGGER reports_change_trunc AFTER TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION reports_log_change()",
        ]
    for table, columns in GLOBAL.items():
        out.append(
            "CREATE TRIGGER reports_change AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF "
            f"{', '.join(columns)} ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION reports_log_change('global')"
        )
    return out


def _sqlite() -> list[str]:
    out = [
        "CREATE TABLE reports_datachange (id integer PRIMARY KEY AUTOINCREMENT, workspace_id bigint NULL, "
        "table_name varchar(63) NOT NULL, changed_at datetime NOT NULL DEFAULT CURRENT_TIMESTAMP)",
        "CREATE INDEX reports_datachange_key ON reports_datachange (table_name, workspace_id, id)",
    ]
    for table in SCOPED:
        for event, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
            out.append(
                f"CREATE TRIGGER reports_change_{table}_{event.lower()} AFTER {event} ON {table} BEGIN "
                f"INSERT INTO reports_datachange (workspace_id, table_name) VALUES ({row}.workspace_id, "
                f"'{table}'); END"
            )
    for table, columns in GLOBAL.items():
        for event in ("INSERT", "DELETE", f"UPDATE OF {', '.join(columns)}"):
            name = event.split()[0].lower()
            out.append(
                f"CREATE TRIGGER reports_change_{table}_{name} AFTER {event} ON {table} BEGIN "
                f"INSERT INTO reports_datachange (workspace_id, table_name) VALUES (NULL, '{table}'); END"
            )
    return out


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor not in ("postgresql", "sqlite"):
        return  # no log: every tile is computed afresh (engine.data_version finds no table)
    for statement in _pg(schema_editor) if vendor == "postgresql" else _sqlite():
        schema_editor.execute(statement)


def uninstall(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for table in SCOPED:
            for name in ("ins", "upd", "del", "trunc"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS reports_change_{name} ON {table}")
        for table in GLOBAL:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS reports_change ON {table}")
        schema_editor.execute("DROP FUNCTION IF EXISTS reports_log_change()")
    elif vendor == "sqlite":
        for table in SCOPED:
            for event in ("insert", "update", "delete"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS reports_change_{table}_{event}")
        for table in GLOBAL:
            for event in ("insert", "update", "delete"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS reports_change_{table}_{event}")
    schema_editor.execute("DROP TABLE IF EXISTS reports_datachange")


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0002_treemap_chart"),
        ("customers", "0001_initial"),
        ("commerce", "0001_initial"),
        ("users", "0001_initial"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
