"""``kehu workspace export|import`` (wired into the operations app's ``workspace`` command)."""

import sys
import time
from pathlib import Path

from django.utils.translation import gettext as _
from django_scopes import scope


class Progress:
    """One line rewritten in place: rows done / total, percent, rows per second."""

    def __init__(self, out, label: str):
        self.out, self.label, self.start, self.last = out, label, time.perf_counter(), 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if now - self.last < 0.5 and done < total:
            return
        self.last = now
        rate = done / max(now - self.start, 1e-6)
        percent = 100 * done // total if total else 100
        self.out.write(f"\r{self.label}: {done:,}/{total:,} ({percent}%) {rate:,.0f} rows/s")
        self.out.flush()

    def end(self) -> float:
        self.out.write("\n")
        return time.perf_counter() - self.start


def export_to_file(workspace, output: Path, actor, stdout=None) -> dict:
    """Export ``workspace`` to ``output`` as ``actor`` (the audit trail names who took the data)."""
    from kehu.audit.models import AuditEntry
    from kehu.audit.services import record

    from .exporter import export_workspace
    from .services import require_export

    out = stdout or sys.stderr
    progress = Progress(out, _("Exporting"))
    with scope(workspace=workspace):
        require_export(actor)
        manifest = export_workspace(workspace, output, progress=progress)
        record(AuditEntry.Action.EXPORT, actor=actor, object_type="portability.export",
               changes={"step": "command line", "file": output.name})
    seconds = progress.end()
    rows = sum(f["rows"] for f in manifest["files"] if f["kind"] == "table")
    out.write(_("%(rows)d rows in %(seconds).1f s, %(bytes)d bytes: %(path)s\n")
              % {"rows": rows, "seconds": seconds, "bytes": output.stat().st_size, "path": output})
    return manifest


def import_from_file(path: Path, slug: str = "", stdout=None):
    from .importer import import_workspace

    out = stdout or sys.stderr
    progress = Progress(out, _("Importing"))
    with path.open("rb") as source:
        workspace, counts = import_workspace(source, slug=slug, progress=progress)
    seconds = progress.end()
    out.write(_("Imported %(rows)d rows into workspace %(slug)s in %(seconds).1f s.\n")
              % {"rows": sum(counts.values()), "slug": workspace.slug, "seconds": seconds})
    return workspace, counts
