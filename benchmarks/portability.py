"""Full workspace export and re-import benchmark (docs/performance.md, "Workspace export and import").

Generates a workspace with ``kehu bench generate`` (N contacts, N/5 accounts, activities with their
timeline links, orders), exports it to a zip, imports the zip into a new workspace and reports
time, rows/s, file size and the process's peak memory (RSS).

    python benchmarks/portability.py --contacts 100000 [--activities-per-contact 2]

Runs in a fresh data dir (SQLite) unless ``KEHU_DATABASE_URL`` is set (then the database must not
hold a ``bench`` workspace yet). Results go to ``benchmarks/results/portability-<db>-<date>.json``.
"""

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--activities-per-contact", type=int, default=2)
    parser.add_argument("--orders-per-account", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="Keep the data dir (printed) afterwards.")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="kehu-portability-bench-"))
    os.environ.setdefault("KEHU_DATA_DIR", str(data_dir))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django_scopes import scope

    from kehu.portability.exporter import export_workspace
    from kehu.portability.importer import import_workspace
    from kehu.workspaces.models import Workspace

    call_command("migrate", verbosity=0)
    start = time.perf_counter()
    call_command("bench", "generate", contacts=args.contacts,
                 activities_per_contact=args.activities_per_contact,
                 orders_per_account=args.orders_per_account, workspace="bench")
    generated = time.perf_counter() - start
    workspace = Workspace.objects.get(slug="bench")
    target = data_dir / "bench-export.zip"
    rss_before = rss_mb()
    start = time.perf_counter()
    with scope(workspace=workspace):
        manifest = export_workspace(workspace, target)
    export_seconds = time.perf_counter() - start
    rss_export = rss_mb()
    rows = {f["table"]: f["rows"] for f in manifest["files"] if f["kind"] == "table" and f["rows"]}
    total = sum(rows.values())
    start = time.perf_counter()
    with target.open("rb") as source:
        _copy, counts = import_workspace(source, slug="bench-copy")
    import_seconds = time.perf_counter() - start
    assert sum(counts.values()) == total, (sum(counts.values()), total)
    result = {
        "benchmark": "portability",
        "database": connection.vendor,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "contacts": args.contacts,
        "rows": total,
        "tables": rows,
        "generate_seconds": round(generated, 1),
        "export_seconds": round(export_seconds, 1),
        "export_rows_per_second": round(total / export_seconds),
        "zip_bytes": target.stat().st_size,
        "import_seconds": round(import_seconds, 1),
        "import_rows_per_second": round(total / import_seconds),
        "peak_rss_mb_before_export": round(rss_before),
        "peak_rss_mb_after_export": round(rss_export),
        "peak_rss_mb_after_import": round(rss_mb()),
        "cpus": os.cpu_count(),
    }
    out = ROOT / "benchmarks" / "results" / (
        f"portability-{connection.vendor}-{datetime.now(UTC):%Y%m%d-%H%M}.json"
    )
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    if not args.keep:
        target.unlink()
    else:
        print(f"data dir: {data_dir}")


if __name__ == "__main__":
    main()
