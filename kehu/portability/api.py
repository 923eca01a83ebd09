"""REST endpoints: the data quality figures and full workspace exports (request, status, download)."""

from datetime import datetime

from django.http import FileResponse, HttpRequest
from ninja import Router, Schema, Status

from kehu.core.api import actor_of

from . import quality, services

router = Router(tags=["data"])


@router.get("/data-quality", summary="Data quality figures per object type and field")
def data_quality(request: HttpRequest, months: int = quality.DEFAULT_MONTHS, refresh: bool = False):
    """Completeness, invalid values, stale records (no activity in ``months`` months) and duplicate
    clusters, with links to the filtered lists. Administrators and managers only."""
    return quality.dashboard(actor_of(request), months, refresh_now=refresh)


class ExportOut(Schema):
    id: int
    status: str
    rows_done: int
    rows_total: int
    percent: int
    file_size: int
    sha256: str
    message: str
    created_at: datetime
    finished_at: datetime | None
    download_url: str | None

    @staticmethod
    def resolve_download_url(job) -> str | None:
        return f"/api/v1/workspace-exports/{job.pk}/download" if job.status == "done" else None


@router.get("/workspace-exports", response=list[ExportOut], summary="Full workspace exports, newest first")
def list_exports(request: HttpRequest):
    return list(services.jobs(actor_of(request))[:50])


@router.post("/workspace-exports", response={202: ExportOut}, summary="Start a full workspace export")
def start_export(request: HttpRequest):
    return Status(202, services.request_export(actor_of(request)))


@router.get("/workspace-exports/{job_id}", response=ExportOut, summary="Progress of an export")
def get_export(request: HttpRequest, job_id: int):
    return services.get_job(actor_of(request), job_id)


@router.get("/workspace-exports/{job_id}/download", summary="The export's zip file")
def download_export(request: HttpRequest, job_id: int):
    job, path = services.open_download(actor_of(request), job_id)
    return FileResponse(path.open("rb"), as_attachment=True, filename=job.file_name,
                        content_type="application/zip")
