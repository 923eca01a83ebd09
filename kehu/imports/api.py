"""REST endpoints of imports: upload, configure, preview, start, status, cancel, resume, undo, report."""

import tempfile
from datetime import datetime

from django.http import FileResponse, HttpRequest, StreamingHttpResponse
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from kehu.core.api import InputSchema, actor_of, keyset

from . import services
from .models import ImportJob
from .targets import get_target

router = Router(tags=["imports"])


class JobOut(Schema):
    id: int
    target: str
    file_name: str
    file_size: int
    file_kind: str
    encoding: str
    delimiter: str
    sheet: str
    headers: list[str]
    mapping: dict[str, str] = Field(..., description="{column header: field key}")
    mode: str = Field(..., description="create | update | upsert")
    match_key: str
    dry_run: bool
    options: dict
    status: str = Field(
        ..., description="draft | queued | running | done | failed | cancelled | undoing | undone"
    )
    total_rows: int | None
    cursor: int = Field(..., description="The last committed source row (data rows, header excluded)")
    rows_done: int
    created_count: int
    updated_count: int
    skipped_count: int
    error_count: int
    corrected_count: int
    rows_per_second: float
    progress: int = Field(..., description="Percent of rows committed")
    eta_seconds: int | None
    message: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class JobIn(InputSchema):
    target: str | None = Field(None, description="accounts | contacts | orders | activities | products")
    mapping: dict[str, str] | None = Field(
        None, description="{column header: field key}; replaces the mapping"
    )
    mode: str | None = Field(None, description="create | update | upsert")
    match_key: str | None = Field(
        None, description="update/upsert: id, email, phone, external_id, sku, number"
    )
    dry_run: bool | None = None
    options: dict | None = Field(
        None, description="region (e.g. CN), date_order (ymd|dmy|mdy), create_accounts"
    )
    encoding: str | None = None
    delimiter: str | None = Field(None, description=", ; | or tab")
    sheet: str | None = None


class FieldOut(Schema):
    key: str
    label: str
    kind: str
    required: bool
    choices: list[str]


class TargetOut(Schema):
    key: str
    label: str
    object_type: str
    match_keys: list[str]
    fields: list[FieldOut]


class CellOut(Schema):
    column: str
    field: str
    value: str
    cleaned: str
    status: str = Field(..., description="'' | corrected | warning | error")
    reason: str


class PreviewRowOut(Schema):
    row: int
    rejected: bool
    cells: list[CellOut]


class PreviewOut(Schema):
    columns: list[str]
    rows: list[PreviewRowOut]


@router.get("/imports/targets", response=list[TargetOut], summary="What can be imported, with its fields")
def list_targets(request: HttpRequest):
    actor = actor_of(request)
    return [
        {
            "key": t.key,
            "label": str(t.label),
            "object_type": t.object_type,
            "match_keys": list(t.match_keys),
            "fields": [
                {
                    "key": f.key,
                    "label": str(f.label),
                    "kind": f.kind,
                    "required": f.required,
                    "choices": [str(c[0]) for c in f.choices],
                }
                for f in services.spec_fields(actor, t)
            ],
        }
        for t in services.importable_targets(actor)
    ]


@router.post("/imports", response={201: JobOut}, summary="Upload a CSV or XLSX file: a draft import")
def upload(request: HttpRequest, file: File[UploadedFile], target: Form[str] = "contacts"):
    get_target(target)
    job = services.upload(
        actor_of(request), name=file.name or "import.csv", chunks=file.chunks(), target=target
    )
    return Status(201, job)


@router.get("/imports", response=list[JobOut], summary="Imports (yours; administrators see all)")
@keyset(orderings=("created_at",), default="-created_at")
def list_jobs(request: HttpRequest):
    return services.jobs_for(actor_of(request))


@router.get("/imports/{job_id}", response=JobOut, summary="An import's status and counts")
def get_job(request: HttpRequest, job_id: int):
    return services.job_for(actor_of(request), job_id)


@router.patch("/imports/{job_id}", response=JobOut, summary="Configure a draft import")
def configure(request: HttpRequest, job_id: int, payload: JobIn):
    actor = actor_of(request)
    return services.configure(actor, services.job_for(actor, job_id), **payload.dict(exclude_none=True))


@router.get(
    "/imports/{job_id}/preview", response=PreviewOut, summary="The first rows, cleaned (writes nothing)"
)
def preview(request: HttpRequest, job_id: int, rows: int = Query(services.PREVIEW_ROWS, ge=1, le=100)):
    actor = actor_of(request)
    return services.preview(actor, services.job_for(actor, job_id), rows)


def _action(name: str, summary: str):
    def view(request: HttpRequest, job_id: int):
        actor = actor_of(request)
        return getattr(services, name)(actor, services.job_for(actor, job_id))

    view.__name__ = f"{name}_job"
    return router.post(
        f"/imports/{{job_id}}/{name.removeprefix('request_')}", response=JobOut, summary=summary
    )(view)


_action("start", "Run the import in the background")
_action("cancel", "Stop the import after its current batch")
_action("resume", "Continue a stopped import after its last committed row")
_action("request_undo", "Undo the import: delete what it created, restore what it updated")


@router.get("/imports/{job_id}/report", summary="The validation report (CSV or XLSX)")
def report(request: HttpRequest, job_id: int, format: str = Query("csv", pattern="^(csv|xlsx)$")):
    actor = actor_of(request)
    job = services.job_for(actor, job_id)
    stem = f"import-{job.pk}-report"
    if format == "xlsx":
        spool = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
        services.report_xlsx(actor, job, spool)
        spool.seek(0)
        return FileResponse(spool, as_attachment=True, filename=f"{stem}.xlsx")
    response = StreamingHttpResponse(services.report_csv(actor, job), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{stem}.csv"'
    return response


__all__ = ["ImportJob", "router"]
