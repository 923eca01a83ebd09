"""Full workspace exports as background jobs: request, run (with progress), download — all audited."""

from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.translation import gettext as _

from kehu.audit.models import AuditEntry
from kehu.audit.services import record
from kehu.core.errors import Conflict, NotFound
from kehu.workspaces.access import Actor, require

from .exporter import export_workspace
from .models import ExportJob

OBJECT_TYPE = "portability.workspace"


def exports_dir() -> Path:
    return Path(settings.DATA_DIR) / "workspace-exports"


def job_path(job: ExportJob) -> Path:
    return exports_dir() / str(job.workspace_id) / job.file_name


def require_export(actor: Actor) -> None:
    """Only members whose role may export the workspace's data (owners and administrators by default)."""
    require(actor, "export", OBJECT_TYPE)


def jobs(actor: Actor):
    require_export(actor)
    return ExportJob.objects.select_related("requested_by").order_by("-created_at", "-pk")


def get_job(actor: Actor, pk) -> ExportJob:
    try:
        return jobs(actor).get(pk=int(pk))
    except (ExportJob.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def request_export(actor: Actor) -> ExportJob:
    """Queue a full export; one at a time per workspace."""
    from .tasks import run_workspace_export

    require_export(actor)
    with transaction.atomic():
        if ExportJob.objects.filter(status__in=[ExportJob.Status.QUEUED, ExportJob.Status.RUNNING]).exists():
            raise Conflict(_("An export of this workspace is already running."))
        job = ExportJob.objects.create(
            workspace=actor.workspace, requested_by=actor.user, created_by=actor.user, updated_by=actor.user
        )
        record(AuditEntry.Action.EXPORT, actor=actor, object_type="portability.export",
               changes={"job": job.pk, "step": "requested"})
        job_id, membership_id = job.pk, actor.membership.pk
        transaction.on_commit(lambda: run_workspace_export.enqueue(membership_id, job_id))
    return job


def run_export(actor: Actor, job_id: int) -> ExportJob:
    """Write the zip of a queued job (called by the task, as the member who asked)."""
    require_export(actor)
    job = ExportJob.objects.get(pk=job_id)
    if job.status != ExportJob.Status.QUEUED:
        return job  # tasks may be delivered twice
    job.status, job.started_at = ExportJob.Status.RUNNING, timezone.now()
    job.file_name = f"{actor.workspace.slug}-{timezone.now():%Y%m%d-%H%M%S}-{get_random_string(8)}.zip"
    job.save(update_fields=["status", "started_at", "file_name", "updated_at"])
    path = job_path(job)
    path.parent.mkdir(parents=True, exist_ok=True)

    def progress(done: int, total: int) -> None:
        ExportJob.objects.filter(pk=job.pk).update(
            rows_done=done, rows_total=total, updated_at=timezone.now()
        )

    try:
        manifest = export_workspace(actor.workspace, path, progress=progress)
    except Exception as exc:  # the job shows the failure; the task result keeps the traceback
        path.unlink(missing_ok=True)
        job.status, job.message = ExportJob.Status.FAILED, str(exc)[:2000]
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "message", "finished_at", "updated_at"])
        raise
    job.refresh_from_db(fields=["rows_done", "rows_total"])
    job.status, job.finished_at = ExportJob.Status.DONE, timezone.now()
    job.file_size = path.stat().st_size
    job.rows_done = job.rows_total = sum(f["rows"] for f in manifest["files"] if f["kind"] == "table")
    job.message = _("%(rows)d rows in %(tables)d tables.") % {
        "rows": job.rows_done, "tables": sum(1 for f in manifest["files"] if f["kind"] == "table")
    }
    job.save()
    return job


def open_download(actor: Actor, pk) -> tuple[ExportJob, Path]:
    """A finished export's file, for someone who may export (audited: who took the data, when)."""
    job = get_job(actor, pk)
    path = job_path(job) if job.file_name else None
    if job.status != ExportJob.Status.DONE or path is None or not path.exists():
        raise NotFound()
    record(AuditEntry.Action.EXPORT, actor=actor, object_type="portability.export",
           changes={"job": job.pk, "step": "downloaded", "bytes": job.file_size})
    return job, path
