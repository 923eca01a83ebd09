"""Import benchmark: generate a CSV of contacts (messy, like real exports) and import it.

Measures the whole path of ``kehu import``: streamed reading, cleansing (whitespace, full-width,
phones to E.164, emails, dates), the duplicate check by email/phone against existing records, the
contacts services' validation, bulk inserts with audit entries, lineage and the report — rows/s
end to end and the process's peak memory (RSS).

    python benchmarks/imports.py --rows 1000000 [--existing 20000] [--dry-run]

Uses the database of ``KEHU_DATABASE_URL`` (a new workspace ``importbench-<time>``); results go to
``benchmarks/results/imports-<db>-<date>.json``. See docs/performance.md.
"""

import argparse
import csv
import json
import os
import random
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")

# Given-name characters beyond the most common given names: real Chinese names are far more varied
# than a short list (张伟, the most common full name, is ≈ 0.02 % of people), and a list of a few
# thousand names would make every row a namesake of hundreds of others.
GIVEN_CHARS = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志玉兰海燕晓东丹萍鹏辉玲婷雪浩宇子涵欣怡梓轩"
    "雨桐然思远嘉俊博文一鸣佳琪梦瑶庆红梅春亮斌波凯琳倩颖慧晨昊天睿泽语嫣若曦佑豪诗晴宁安康乐福禄寿"
    "德才兴旺永长荣锦秋冬夏松柏竹兵彬斐飞鸿翔宏伟毅峰岩林森淼鑫磊晶莹璐瑾瑜琦珊娅妮娇媛婉婧倩茜蓉"
)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def database_cpu(connection) -> float | None:
    """CPU seconds used so far by this connection's PostgreSQL backend (a server on this machine)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reset_statements(connection) -> bool:
    """Clear pg_stat_statements (when the server loads it) so the run's statements can be listed."""
    from django.db import DatabaseError

    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'")
        if not cursor.fetchone()[0]:
            print("pg_stat_statements is not installed: no statement list")
            return False
        try:
            cursor.execute("SELECT pg_stat_statements_reset()")
        except DatabaseError as error:  # needs superuser or a grant of the function
            print(f"pg_stat_statements cannot be reset ({error}): no statement list")
            return False
    return True


def print_statements(connection, n: int, rows: int) -> None:
    """The statements that took the most backend time during the run, with their time per row."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT total_exec_time, calls, left(regexp_replace(query, '\\s+', ' ', 'g'), 110)"
            " FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT %s",
            [n],
        )
        print("backend time by statement (ms total · calls · µs per file row):")
        for total, calls, query in cursor.fetchall():
            print(f"  {total:10.0f} {calls:7d} {1000 * total / rows:8.1f}  {query}")
        # The part no import of these records can skip: the rows themselves (COPY, with every index
        # the tables carry) and the foreign-key checks PostgreSQL runs for them.
        cursor.execute(
            "SELECT coalesce(sum(total_exec_time), 0) FROM pg_stat_statements"
            " WHERE query LIKE 'COPY %%' OR query LIKE '%%FOR KEY SHARE OF x'"
        )
        floor = 1000 * cursor.fetchone()[0] / rows
    cores = os.cpu_count() or 1
    if floor:
        print(
            f"writes alone (COPY + foreign-key checks): {floor:.0f} µs of backend per file row: one core"
            f" writes at most {1e6 / floor:,.0f} rows/s, all {cores} cores of this machine doing nothing else"
            f" {cores * 1e6 / floor:,.0f} rows/s"
        )


SEARCH_TABLES = ["customers_contact", "customers_contactpoint", "customers_account"]


def drop_search_indexes(connection) -> list[str]:
    """Drop the GIN indexes (trigram search, bigrams, custom fields) of the tables a contact import
    writes, to measure what they cost it; their definitions, to put them back. Benchmark databases only."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x"
            " JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_am a ON a.oid = i.relam"
            " WHERE x.indrelid = ANY(%s::regclass[]) AND a.amname = 'gin'",
            [SEARCH_TABLES],
        )
        found = cursor.fetchall()
        for name, _definition in found:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    print(f"dropped {len(found)} search indexes: {', '.join(name for name, _d in found)}")
    return [definition for _name, definition in found]


def restore_indexes(connection, definitions: list[str]) -> None:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for definition in definitions:
            cursor.execute(definition)
    print(f"re-created {len(definitions)} search indexes in {time.perf_counter() - started:.1f} s")


def phone(rng: random.Random, n: int) -> str:
    digits = f"13{n % 10}{n:08d}"[-11:]
    style = n % 4
    if style == 0:
        return digits
    if style == 1:
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    if style == 2:
        return f"+86 {digits[:3]}-{digits[3:7]}-{digits[7:]}"
    return "".join(chr(ord(c) + 0xFEE0) for c in digits)  # full-width digits


def person(rng: random.Random, names, n: int) -> str:
    """75 % Chinese names (surnames by their share of the population; given names the most common
    ones half of the time, else one or two characters of a wider set), 25 % Western ones."""
    from kehu.operations.management.commands.bench import FIRST_NAMES, LAST_NAMES

    if n % 4 == 0:
        return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    surname = names.surnames.pick(rng)
    if rng.random() < 0.5:
        return surname + names.given.pick(rng)
    return surname + "".join(rng.choice(GIVEN_CHARS) for _ in range(rng.choice((1, 2, 2))))


def row(rng: random.Random, names, companies: list[str], n: int) -> list[str]:
    email = f"User.{n}@Example.COM" if n % 3 == 0 else f"user{n}@example.com"
    birthday = ("1990-05-01", "1985/12/31", "1979年3月8日", "25.11.1988")[n % 4]
    company = companies[int(len(companies) * rng.random() ** 2)]  # a few big customers, a long tail
    return [f"  {person(rng, names, n)} ", phone(rng, n), email, company, birthday, rng.choice(["是", "否"])]


HEADER = ["姓名", "手机", "邮箱", "公司名称", "生日", "同意邮件营销"]


def generate(path: Path, rows: int, seed: int) -> None:
    """The file: one company per 5 contacts (names as ``kehu bench generate`` makes them)."""
    from kehu.operations.management.commands.bench import Names

    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    names = Names(rng)
    companies = [names.company(i)[0] for i in range(max(1, rows // 5))]
    with open(path, "w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for n in range(rows):
            writer.writerow(row(rng, names, companies, n))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--existing", type=int, default=20_000, help="contacts already there (duplicate check)"
    )
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--profile", metavar="PATH", help="cProfile the run into PATH (slows it ~2x)")
    parser.add_argument(
        "--statements",
        type=int,
        default=0,
        metavar="N",
        help="print the N statements of most backend time (needs pg_stat_statements loaded)",
    )
    parser.add_argument("--undo", action="store_true", help="then undo the import, timed")
    parser.add_argument(
        "--without-search-indexes",
        action="store_true",
        help="drop the contacts' and accounts' GIN search indexes for the run, then re-create them"
        " (PostgreSQL; a benchmark database only)",
    )
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django_scopes import scope, scopes_disabled

    from kehu.customers.services import bulk_create_contacts
    from kehu.imports import services
    from kehu.users.models import User
    from kehu.workspaces.services import actor_for, create_workspace

    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    path = Path(settings.DATA_DIR) / f"bench-import-v2-{args.rows}.csv"
    started = time.perf_counter()
    if not path.exists():
        generate(path, args.rows, args.seed)
    print(
        f"file: {path} ({path.stat().st_size / 1024**2:.1f} MB, {args.rows:,} rows) "
        f"in {time.perf_counter() - started:.1f} s"
    )
    with scopes_disabled():
        owner = User.objects.create_user(
            email=f"owner-{stamp}@importbench.test", password="bench-password-123"
        )
        workspace = create_workspace(f"Import bench {stamp}", owner, slug=f"importbench-{stamp}")
    with scope(workspace=workspace):
        actor = actor_for(owner, workspace)
        # Existing contacts: every 50th row of the file repeats one's email (rejected as a duplicate).
        t0 = time.perf_counter()
        for start in range(0, args.existing, 1000):
            bulk_create_contacts(
                actor,
                [
                    {"name": f"Existing {n}", "email": f"user{n * 50 + 1}@example.com"}
                    for n in range(start, min(start + 1000, args.existing))
                ],
            )
        print(f"existing contacts: {args.existing:,} in {time.perf_counter() - t0:.1f} s")
        job = services.job_for_path(actor, path, target="contacts")
        job = services.configure(actor, job, dry_run=args.dry_run, options={"region": "CN"})
        print("mapping:", json.dumps(job.mapping, ensure_ascii=False))
        services.start(actor, job, enqueue=False)
        last = [time.perf_counter()]

        def progress(current):
            if time.perf_counter() - last[0] >= 10:
                last[0] = time.perf_counter()
                print(
                    f"  {current.cursor:,}/{current.total_rows:,} rows · "
                    f"{current.rows_per_second:,.0f} rows/s · RSS peak {rss_mb():,.0f} MB",
                    flush=True,
                )

        dropped = drop_search_indexes(connection) if args.without_search_indexes else []
        statements = args.statements and reset_statements(connection)
        load_before = os.getloadavg()
        backend = database_cpu(connection)
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        wall, cpu = time.perf_counter(), time.process_time()
        job = services.run(actor, job.pk, progress=progress)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        backend = database_cpu(connection) - backend if backend is not None else None
        if statements:
            print_statements(connection, args.statements, args.rows)
        if dropped:
            restore_indexes(connection, dropped)
        status = job.status
        undo = {}
        if args.undo and not args.dry_run:
            from kehu.imports.models import ImportedRecord

            records = ImportedRecord.objects.filter(job_id=job.pk).count()  # contacts and new accounts
            undone = time.perf_counter()
            services.request_undo(actor, job, enqueue=False)
            after = services.run_undo(actor, job.pk)
            seconds = time.perf_counter() - undone
            undo = {
                "undo_status": after.status,
                "undo_seconds": round(seconds, 1),
                "undo_records_per_second": round(records / seconds) if seconds else None,
            }
            print(f"undo: {records:,} records in {seconds:.1f} s ({after.status})")
    result = {
        "database": connection.vendor,
        "rows": args.rows,
        "existing_contacts": args.existing,
        "dry_run": args.dry_run,
        "status": status,
        "created": job.created_count,
        "rejected": job.error_count,
        "corrected_cells": job.corrected_count,
        "batch_rows_per_second": round(job.rows_per_second),
        "wall_seconds_incl_count_pass": round(wall, 1),
        "end_to_end_rows_per_second": round(args.rows / wall),
        "peak_rss_mb": round(rss_mb()),
        # CPU seconds of the import (this process) and of its PostgreSQL backend: on a shared,
        # busy machine they say more than the wall time (see docs/performance.md).
        "process_cpu_seconds": round(cpu, 1),
        "database_backend_cpu_seconds": round(backend, 1) if backend is not None else None,
        "cpu_rows_per_second": round(args.rows / (cpu + (backend or 0))),
        "load_average_before": load_before,
        "load_average": os.getloadavg(),
        "profiled": bool(args.profile),
        "search_indexes_dropped": bool(args.without_search_indexes),
        "cpus": os.cpu_count(),
        "at": stamp,
        "message": job.message,
        **undo,
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))
    out = ROOT / "benchmarks" / "results" / f"imports-{connection.vendor}-{stamp}.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
