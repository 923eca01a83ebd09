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
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_measured(args: list[str], env: dict) -> float:
    """Run a command; its peak RSS in MB, from /proc/<pid>/status VmHWM (the high-water mark of the
    process after exec: RUSAGE_CHILDREN would count the forked copy of this big process)."""
    proc = subprocess.Popen(args, env=env, cwd=ROOT)  # noqa: S603
    peak = 0
    status = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
        time.sleep(0.2)
    if proc.returncode:
        raise SystemExit(f"{args} failed with {proc.returncode}")
    return peak / 1024


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

    from kehu.portability.graph import nodes
    from kehu.workspaces.models import Workspace

    call_command("migrate", verbosity=0)
    start = time.perf_counter()
    call_command("bench", "generate", contacts=args.contacts,
                 activities_per_contact=args.activities_per_contact,
                 orders_per_account=args.orders_per_account, workspace="bench")
    generated = time.perf_counter() - start
    target = data_dir / "bench-export.zip"
    # Export and import run as the real commands in child processes: their peak memory is their own
    # (this process holds the generator's), measured with RUSAGE_CHILDREN after each.
    env = {**os.environ, "KEHU_DATA_DIR": os.environ["KEHU_DATA_DIR"]}
    command = [sys.executable, "-m", "kehu.cli", "workspace"]
    start = time.perf_counter()
    rss_export = run_measured([*command, "export", "bench", "-o", str(target)], env)
    export_seconds = time.perf_counter() - start
    with zipfile.ZipFile(target) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    rows = {f["table"]: f["rows"] for f in manifest["files"] if f["kind"] == "table" and f["rows"]}
    total = sum(rows.values())
    start = time.perf_counter()
    rss_import = run_measured([*command, "import", str(target), "--slug", "bench-copy"], env)
    import_seconds = time.perf_counter() - start
    copy = Workspace.objects.get(slug="bench-copy")
    with scope(workspace=copy):
        copied = sum(
            node.model._base_manager.filter(**{node.workspace_path: copy.pk}).count()
            for node in nodes().values()
        )
    assert copied == total + 1, (copied, total)  # + the import's audit entry
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
        "export_peak_rss_mb": round(rss_export),
        "import_peak_rss_mb": round(rss_import),
        "generator_peak_rss_mb": round(rss_mb()),
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
