"""Search indexes that only PostgreSQL has (SQLite answers the same searches by scanning).

- pg_trgm GIN indexes for substring search (``icontains`` on names, pinyin, phones): 3 characters
  or more, and prefixes ("shmy%") of any length.
- ``kehu_bigrams(name, name_en)``: a GIN index over the names' 2-character pieces, for the
  2-character searches pg_trgm cannot narrow (王伟, 李娜 — the most common Chinese name searches).
- GIN ``jsonb_path_ops`` on ``custom``: custom field equality filters (``custom @> {...}``).

Written as SQL run only on PostgreSQL (Django's GinIndex would fail on SQLite).
"""

from django.db import migrations

BIGRAMS = r"""
CREATE OR REPLACE FUNCTION kehu_bigrams(a text, b text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT COALESCE(array_agg(DISTINCT g), '{}')::text[] FROM (
        SELECT substr(s, i, 2) AS g
        FROM (SELECT upper(a || ' ' || b) AS s) AS t, generate_series(1, length(s) - 1) AS i
    ) AS pieces WHERE g !~ '\s'
$$
"""

INDEXES = [
    (table, f"{short}_{suffix}", definition)
    for table, short in (("customers_contact", "contact"), ("customers_account", "account"))
    for suffix, definition in (
        ("name_trgm", "USING gin (upper(name::text) gin_trgm_ops)"),
        ("name_en_trgm", "USING gin (upper(name_en::text) gin_trgm_ops)"),
        ("pinyin_trgm", "USING gin ((name_pinyin::text) gin_trgm_ops)"),
        ("initials_trgm", "USING gin ((name_initials::text) gin_trgm_ops)"),
        ("phone_trgm", "USING gin ((phone::text) gin_trgm_ops)"),
        ("name_bigrams", "USING gin (kehu_bigrams(name::text, name_en::text))"),
        ("custom_gin", "USING gin (custom jsonb_path_ops)"),
    )
] + [("customers_contactpoint", "contact_point_value_trgm", "USING gin ((value::text) gin_trgm_ops)")]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(BIGRAMS)
    for table, name, definition in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} {definition}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for _table, name, _definition in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
    schema_editor.execute("DROP FUNCTION IF EXISTS kehu_bigrams(text, text)")


class Migration(migrations.Migration):
    dependencies = [("customers", "0005_backfill_contact_points")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
