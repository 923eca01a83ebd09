"""Import jobs: upload, configure (mapping, mode, options), preview, run in batches, cancel,
resume, undo, report.

The run is a loop of batches (``BATCH_SIZE`` source rows). Each batch is one transaction that
writes the records through the object's services (the same validation and audit as the UI and
API), the lineage rows, the report's issues and the job's counters and ``cursor``. A worker that
dies mid-batch therefore leaves nothing of that batch, and ``resume`` continues after the cursor.
"""

import csv
import io
import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scope

from kehu.audit.models import AuditEntry
from kehu.audit.services import record
from kehu.core.errors import DomainError, FieldError, NotFound, PermissionDenied, ValidationFailed
from kehu.customers.bulk import Table, refresh_statistics
from kehu.customers.duplicate_hooks import remembered_records
from kehu.listviews.services import spreadsheet_safe, write_xlsx
from kehu.workspaces.access import Actor, require

from . import files
from .cleanse import CellError, Cleaner
from .mapping import detect_preset, suggest
from .models import ImportedRecord, ImportIssue, ImportJob, MappingTemplate
from .targets import TARGETS, Batch, Row, Target, TargetField, get_target

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000
REMEMBER_BATCHES = 20  # the duplicate check's memo of existing records lasts this many batches
PREVIEW_ROWS = 20
MAX_STORED_CORRECTIONS = 10_000  # per job; every correction is still counted
MAX_STORED_ERRORS = 200_000
STALE_SECONDS = 120  # a "running" job not heard of for this long was killed: it may be resumed
ID_FIELD = "id"
STAMP_COLUMNS = ("workspace_id", "job_id", "created_at", "updated_at")
ISSUE_COLUMNS = (*STAMP_COLUMNS, "row", "column", "value", "corrected", "kind", "reason")
LINEAGE_COLUMNS = (*STAMP_COLUMNS, "object_type", "object_id", "row", "action", "before")


class Rollback(Exception):
    """Raised inside a dry run's savepoint so its writes vanish."""


# --- files -------------------------------------------------------------------------------------------


def uploads_dir(workspace_id: int) -> Path:
    path = Path(settings.DATA_DIR) / "imports" / str(workspace_id)
    path.mkdir(parents=True, exist_ok=True)
    return path


def job_file(job: ImportJob) -> Path:
    path = Path(job.file_path)
    return path if path.is_absolute() else Path(settings.DATA_DIR) / "imports" / path


def _store_upload(workspace_id: int, name: str, chunks: Iterator[bytes]) -> tuple[str, int]:
    """Write the upload to the data dir chunk by chunk (never whole in memory); (relative path, size)."""
    suffix = ".xlsx" if name.lower().endswith(".xlsx") else ".csv"
    relative = f"{workspace_id}/{uuid.uuid4().hex}{suffix}"
    target = uploads_dir(workspace_id) / Path(relative).name
    size = 0
    with open(target, "wb") as out:
        for chunk in chunks:
            size += len(chunk)
            if size > settings.IMPORT_MAX_FILE_BYTES:
                out.close()
                target.unlink(missing_ok=True)
                raise files.BadFile(
                    _("The file is larger than %(n)s MB.") % {"n": settings.IMPORT_MAX_FILE_BYTES // 1024**2}
                )
            out.write(chunk)
    return relative, size


def _can_import(actor: Actor, target: Target) -> bool:
    return actor.can("create", target.object_type) or actor.can("change", target.object_type)


def importable_targets(actor: Actor) -> list[Target]:
    return [t for t in TARGETS.values() if _can_import(actor, t)]


@transaction.atomic
def upload(actor: Actor, *, name: str, chunks: Iterator[bytes], target: str = "contacts") -> ImportJob:
    """A new draft job for an uploaded file: stored, recognised (kind, encoding, delimiter, sheets),
    header read and a mapping suggested. BadFile when the file is junk."""
    spec = get_target(target)
    if not _can_import(actor, spec):
        raise PermissionDenied()
    relative, size = _store_upload(actor.workspace.pk, name, chunks)
    return _new_job(actor, spec, name=name, path=relative, size=size)


def job_for_path(actor: Actor, path: Path, *, target: str) -> ImportJob:
    """A draft job reading a file already on this machine (the CLI): no copy of a large file."""
    spec = get_target(target)
    if not _can_import(actor, spec):
        raise PermissionDenied()
    path = path.resolve()
    if not path.is_file():
        raise NotFound(_("No such file: %(path)s") % {"path": path})
    return _new_job(actor, spec, name=path.name, path=str(path), size=path.stat().st_size)


def _new_job(actor: Actor, spec: Target, *, name: str, path: str, size: int) -> ImportJob:
    job = ImportJob(
        workspace=actor.workspace,
        created_by=actor.user,
        updated_by=actor.user,
        target=spec.key,
        file_name=Path(name).name[:255] or "import.csv",
        file_path=path,
        file_size=size,
        options={"region": actor.workspace.default_region, "date_order": "ymd", "create_accounts": True},
    )
    try:
        info = files.detect(job_file(job))
        job.file_kind, job.encoding, job.delimiter = info.kind, info.encoding, info.delimiter
        job.options["sheets"] = info.sheets
        for sheet in info.sheets or [""]:  # the first sheet that has a header row
            job.sheet = sheet
            try:
                _read_headers(job)
                break
            except files.BadFile:
                if sheet == (info.sheets or [""])[-1]:
                    raise
    except files.BadFile:
        if not Path(path).is_absolute():
            job_file(job).unlink(missing_ok=True)
        raise
    job.mapping = suggest(job.headers, sample_rows(job, 50), spec_fields(actor, spec), spec.key)
    job.options["preset"] = detect_preset(job.headers, spec.key)
    job.save()
    return job


def _read_headers(job: ImportJob) -> None:
    job.headers = files.read_header(_rows(job))


def _rows(job: ImportJob):
    return files.iter_rows(
        job_file(job), kind=job.file_kind, encoding=job.encoding, delimiter=job.delimiter, sheet=job.sheet
    )


def sample_rows(job: ImportJob, n: int) -> list[list[str]]:
    rows = _rows(job)
    files.read_header(rows)
    sample = []
    for row in rows:
        if len(sample) >= n:
            break
        sample.append(row)
    return sample


def spec_fields(actor: Actor, spec: Target) -> list[TargetField]:
    return [TargetField(ID_FIELD, _("ID (Kehu record id)")), *spec.fields(actor)]


# --- configuration ------------------------------------------------------------------------------------

OPTION_KEYS = {"region", "date_order", "create_accounts"}


@transaction.atomic
def configure(actor: Actor, job: ImportJob, **values: Any) -> ImportJob:
    """Change what a draft job will do: target, file reading (encoding, delimiter, sheet), mapping,
    mode and match key, options, dry run. Checks everything it can before rows are read."""
    _own_job(actor, job)
    if job.status != ImportJob.Status.DRAFT:
        raise ValidationFailed([FieldError("status", _("This import has already run."), "invalid")])
    errors: list[FieldError] = []
    reread = False
    if "target" in values and values["target"] != job.target:
        spec = get_target(values["target"])
        if not _can_import(actor, spec):
            raise PermissionDenied()
        job.target = spec.key
        if "mapping" not in values:
            job.mapping = suggest(job.headers, sample_rows(job, 50), spec_fields(actor, spec), spec.key)
    spec = get_target(job.target)
    if values.get("encoding") and values["encoding"] != job.encoding:
        if values["encoding"] not in files.ENCODINGS:
            errors.append(FieldError("encoding", _("Choose one of: %s.") % ", ".join(files.ENCODINGS)))
        else:
            job.encoding, reread = values["encoding"], True
    if values.get("delimiter") and values["delimiter"] != job.delimiter:
        delimiter = "\t" if values["delimiter"] in ("tab", "\\t") else values["delimiter"]
        if delimiter not in files.DELIMITERS:
            errors.append(FieldError("delimiter", _("Choose comma, semicolon, tab or |."), "invalid"))
        else:
            job.delimiter, reread = delimiter, True
    if values.get("sheet") and values["sheet"] != job.sheet:
        if values["sheet"] not in job.options.get("sheets", []):
            errors.append(FieldError("sheet", _("The workbook has no such sheet."), "invalid"))
        else:
            job.sheet, reread = values["sheet"], True
    if reread and not errors:
        _read_headers(job)
        if "mapping" not in values:
            job.mapping = suggest(job.headers, sample_rows(job, 50), spec_fields(actor, spec), spec.key)
    if "mode" in values:
        if values["mode"] not in ImportJob.Mode.values:
            errors.append(FieldError("mode", _("Choose one of: %s.") % ", ".join(ImportJob.Mode.values)))
        else:
            job.mode = values["mode"]
    if "match_key" in values:
        job.match_key = values["match_key"] or ""
    if "dry_run" in values:
        job.dry_run = bool(values["dry_run"])
    if "options" in values:
        options = values["options"] or {}
        unknown = set(options) - OPTION_KEYS
        if unknown:
            errors.append(FieldError("options", _("Unknown options: %s.") % ", ".join(sorted(unknown))))
        if options.get("date_order", "ymd") not in ("ymd", "dmy", "mdy"):
            errors.append(FieldError("options.date_order", _("Choose ymd, dmy or mdy.")))
        import phonenumbers

        if options.get("region") and str(options["region"]).upper() not in phonenumbers.SUPPORTED_REGIONS:
            errors.append(FieldError("options.region", _("Use a two-letter ISO 3166 country code, e.g. CN.")))
        job.options = {**job.options, **{k: v for k, v in options.items() if k in OPTION_KEYS}}
        if job.options.get("region"):
            job.options["region"] = str(job.options["region"]).upper()
    if "mapping" in values:
        job.mapping = {str(k): str(v) for k, v in (values["mapping"] or {}).items() if v}
    errors += mapping_errors(actor, job)
    if errors:
        raise ValidationFailed(errors)
    job.updated_by = actor.user
    job.save()
    return job


def mapping_errors(actor: Actor, job: ImportJob) -> list[FieldError]:
    spec = get_target(job.target)
    fields = {f.key: f for f in spec_fields(actor, spec)}
    errors = []
    seen: dict[str, str] = {}
    for header, key in job.mapping.items():
        if header not in job.headers:
            errors.append(
                FieldError(f"mapping.{header}", _("The file has no column “%(h)s”.") % {"h": header})
            )
        elif key not in fields:
            errors.append(FieldError(f"mapping.{header}", _("Unknown field “%(k)s”.") % {"k": key}))
        elif key in seen:
            errors.append(
                FieldError(
                    f"mapping.{header}",
                    _("“%(k)s” is already mapped from “%(h)s”.") % {"k": key, "h": seen[key]},
                )
            )
        else:
            seen[key] = header
    mapped = set(job.mapping.values())
    if job.mode == ImportJob.Mode.CREATE:
        for f in fields.values():
            if f.required and not f.key.startswith("custom.") and f.key not in mapped:
                if f.key == "name" and {"first_name", "last_name"} & mapped:
                    continue
                errors.append(
                    FieldError(
                        "mapping",
                        _("Map a column to the required field “%(f)s”.") % {"f": f.label},
                        "required",
                    )
                )
    else:
        if job.match_key not in spec.match_keys:
            errors.append(
                FieldError(
                    "match_key", _("Choose what finds existing records: %s.") % ", ".join(spec.match_keys)
                )
            )
        elif job.match_key not in mapped:
            errors.append(FieldError("match_key", _("Map a column to the match key first."), "required"))
    return errors


def _own_job(actor: Actor, job: ImportJob) -> None:
    if job.created_by_id != actor.user.pk and not actor.can_manage_workspace:
        raise NotFound()


def jobs_for(actor: Actor):
    """The member's imports (administrators see every import of the workspace), newest first."""
    qs = ImportJob.objects.all()
    if not actor.can_manage_workspace:
        qs = qs.filter(created_by=actor.user)
    return qs.order_by("-created_at", "-id")


def job_for(actor: Actor, pk: Any) -> ImportJob:
    try:
        return jobs_for(actor).get(pk=pk)
    except (ImportJob.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


# --- mapping templates ---------------------------------------------------------------------------------


@transaction.atomic
def save_template(actor: Actor, job: ImportJob, name: str) -> MappingTemplate:
    name = " ".join(name.split())[:100]
    if not name:
        raise ValidationFailed([FieldError("name", _("This field is required."), "required")])
    template, _created = MappingTemplate.objects.update_or_create(
        target=job.target,
        name=name,
        defaults={"mapping": job.mapping, "workspace": actor.workspace, "updated_by": actor.user},
        create_defaults={
            "mapping": job.mapping,
            "workspace": actor.workspace,
            "created_by": actor.user,
            "updated_by": actor.user,
        },
    )
    return template


def apply_template(actor: Actor, job: ImportJob, template_id: int) -> ImportJob:
    try:
        template = MappingTemplate.objects.get(pk=template_id, target=job.target)
    except (MappingTemplate.DoesNotExist, ValueError):
        raise NotFound() from None
    mapping = {h: k for h, k in template.mapping.items() if h in job.headers}
    return configure(actor, job, mapping=mapping)


# --- cleansing: shared by the preview and the run --------------------------------------------------------


@dataclass
class Issue:
    row: int
    column: str
    value: str
    kind: str
    reason: str
    corrected: str = ""


@dataclass
class Plan:
    """How a job turns cells into values: the mapped columns and their fields."""

    spec: Target
    columns: list[tuple[int, str, TargetField]]
    cleaner: Cleaner
    header_of: dict[str, str]
    group_columns: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, actor: Actor, job: ImportJob) -> "Plan":
        spec = get_target(job.target)
        fields = {f.key: f for f in spec_fields(actor, spec)}
        position = {h: i for i, h in enumerate(job.headers)}
        # In the file's column order: a jsonb mapping comes back with its keys sorted (PostgreSQL).
        columns = sorted(
            (position[h], h, fields[k]) for h, k in job.mapping.items() if h in position and k in fields
        )
        cleaner = Cleaner(
            region=job.options.get("region") or actor.workspace.default_region,
            date_order=job.options.get("date_order") or "ymd",
            time_zone=actor.workspace.time_zone or "UTC",
        )
        header_of = {f.key: h for _i, h, f in columns}
        group = [i for i, _h, f in columns if f.key in spec.group_by]
        return cls(spec, columns, cleaner, header_of, group)

    def clean_row(self, number: int, cells: list[str]) -> tuple[dict[str, Any], list[Issue], bool]:
        """(values, issues, rejected) for one source row."""
        values: dict[str, Any] = {}
        issues: list[Issue] = []
        rejected = False
        for index, header, f in self.columns:
            raw = cells[index] if index < len(cells) else ""
            if len(raw) > files.MAX_CELL_CHARS:
                issues.append(
                    Issue(
                        number,
                        header,
                        raw[:200] + "…",
                        "error",
                        _("The cell is longer than %(n)s characters.") % {"n": files.MAX_CELL_CHARS},
                    )
                )
                rejected = True
                continue
            try:
                value, correction = self.cleaner.clean(f, raw)
            except CellError as exc:
                issues.append(Issue(number, header, raw, "error", str(exc)))
                rejected = True
                continue
            if value is None:
                continue
            if correction:
                kind = (
                    "warning"
                    if f.kind in ("text", "long_text", "ref") and raw.strip().startswith("=")
                    else "corrected"
                )
                issues.append(Issue(number, header, raw, kind, correction, _shown(value)))
            values[f.key] = value
        return values, issues, rejected

    def column_for(self, field_name: str) -> str:
        """The source column of a service's error field (``email``, ``custom.size``, ``phones.0.value``)."""
        name = field_name
        for prefix, key in (("phones.", "phone"), ("emails.", "email"), ("lines.", "line.")):
            if name.startswith(prefix):
                if key == "line.":
                    rest = name.split(".", 2)
                    return self.header_of.get(f"line.{rest[2]}" if len(rest) > 2 else "", "") or name
                return self.header_of.get(key) or self.header_of.get("mobile") or name
        name = name.removesuffix("_id")
        return self.header_of.get(name) or self.header_of.get(field_name) or ""


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def preview(actor: Actor, job: ImportJob, n: int = PREVIEW_ROWS) -> dict:
    """The first ``n`` rows as they would be written: per mapped cell the raw value, the cleaned value,
    and whether it was corrected or rejected. Writes nothing."""
    _own_job(actor, job)
    plan = Plan.of(actor, job)
    rows = []
    for offset, cells in enumerate(sample_rows(job, n)):
        number = offset + 2  # the header is row 1
        values, issues, rejected = plan.clean_row(number, cells)
        by_column = {i.column: i for i in issues}
        rows.append(
            {
                "row": number,
                "rejected": rejected,
                "cells": [
                    {
                        "column": header,
                        "field": f.key,
                        "value": cells[index] if index < len(cells) else "",
                        "cleaned": _shown(values[f.key]) if f.key in values else "",
                        "status": by_column[header].kind if header in by_column else "",
                        "reason": by_column[header].reason if header in by_column else "",
                    }
                    for index, header, f in plan.columns
                ],
            }
        )
    return {"columns": [h for _i, h, _f in plan.columns], "rows": rows}


# --- running ---------------------------------------------------------------------------------------------


@transaction.atomic
def start(actor: Actor, job: ImportJob, *, enqueue: bool = True) -> ImportJob:
    """Queue a configured job (its background task runs it)."""
    _own_job(actor, job)
    spec = get_target(job.target)
    _require_mode(actor, job, spec)
    if job.status != ImportJob.Status.DRAFT:
        raise ValidationFailed([FieldError("status", _("This import has already run."), "invalid")])
    errors = mapping_errors(actor, job)
    if errors:
        raise ValidationFailed(errors)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED, updated_at=timezone.now())
    job.status = ImportJob.Status.QUEUED
    record(
        AuditEntry.Action.CREATE,
        actor=actor,
        object_type="imports.importjob",
        changes={
            "file": [None, job.file_name],
            "object": [None, job.target],
            "mode": [None, job.mode],
            "dry_run": [None, job.dry_run],
        },
    )
    if enqueue:
        _enqueue_run(actor, job)
    return job


def _enqueue_run(actor: Actor, job: ImportJob) -> None:
    from .tasks import run_import

    membership_id, job_id = actor.membership.pk, job.pk
    transaction.on_commit(lambda: run_import.enqueue(membership_id, job_id))


def _require_mode(actor: Actor, job: ImportJob, spec: Target) -> None:
    if job.mode in (ImportJob.Mode.CREATE, ImportJob.Mode.UPSERT):
        require(actor, "create", spec.object_type)
    if job.mode in (ImportJob.Mode.UPDATE, ImportJob.Mode.UPSERT):
        require(actor, "change", spec.object_type)


@transaction.atomic
def cancel(actor: Actor, job: ImportJob) -> ImportJob:
    """Stop a queued or running job after its current batch (what was committed stays; undo removes it)."""
    _own_job(actor, job)
    if job.status == ImportJob.Status.QUEUED or job.status == ImportJob.Status.DRAFT:
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.CANCELLED, finished_at=timezone.now()
        )
    elif job.status == ImportJob.Status.RUNNING:
        ImportJob.objects.filter(pk=job.pk).update(cancel_requested=True)
    else:
        raise ValidationFailed([FieldError("status", _("This import is not running."), "invalid")])
    job.refresh_from_db()
    return job


@transaction.atomic
def resume(actor: Actor, job: ImportJob, *, enqueue: bool = True) -> ImportJob:
    """Continue a failed, cancelled or killed job after its last committed row."""
    _own_job(actor, job)
    stale = (
        job.status == ImportJob.Status.RUNNING
        and (timezone.now() - job.updated_at).total_seconds() > STALE_SECONDS
    )
    if job.status not in (ImportJob.Status.FAILED, ImportJob.Status.CANCELLED) and not stale:
        raise ValidationFailed([FieldError("status", _("Only a stopped import can be resumed."), "invalid")])
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.QUEUED, cancel_requested=False, message="", updated_at=timezone.now()
    )
    job.refresh_from_db()
    if enqueue:
        _enqueue_run(actor, job)
    return job


def _after_batch(job: ImportJob, batch_number: int) -> None:
    """Called after each committed batch (tests simulate a worker killed here)."""


def run(actor: Actor, job_id: int, progress=None) -> ImportJob:
    """Run (or continue) a queued job to its end; the background task's body.

    ``progress(job)`` is called after every committed batch (the CLI prints it)."""
    job = jobs_for(actor).get(pk=job_id)
    if job.status not in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING):
        return job
    spec = get_target(job.target)
    try:
        _require_mode(actor, job, spec)
        plan = Plan.of(actor, job)
        if job.total_rows is None:
            job.total_rows = files.count_rows(
                job_file(job),
                kind=job.file_kind,
                encoding=job.encoding,
                delimiter=job.delimiter,
                sheet=job.sheet,
            )
        now = timezone.now()
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.RUNNING,
            total_rows=job.total_rows,
            started_at=job.started_at or now,
            updated_at=now,
        )
        rows = _rows(job)
        files.read_header(rows)
        grown = [apps.get_model(label) for label in spec.statistics]
        refresh_statistics(*grown)
        # Creating, the duplicate check keeps the existing records it read for the next batches
        # (namesakes recur), forgotten every few batches so that edits made meanwhile are seen; an
        # upsert changes records the check has read, so it reads them each time.
        remembering = remembered_records() if job.mode == ImportJob.Mode.CREATE else nullcontext({})
        with remembering as memo:
            for number, batch in enumerate(_batches(rows, job.cursor, plan), start=1):
                if not _run_batch(actor, job, plan, batch):
                    break
                if number & (number - 1) == 0:  # after batches 1, 2, 4, 8 …: a few times per import
                    refresh_statistics(*grown)
                if number % REMEMBER_BATCHES == 0:
                    memo.clear()
                _after_batch(job, number)
                if progress is not None:
                    progress(ImportJob.objects.get(pk=job.pk))
            else:
                ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.RUNNING).update(
                    status=ImportJob.Status.DONE, finished_at=timezone.now(), updated_at=timezone.now()
                )
    except DomainError as error:
        _fail(job, str(error.message) + "".join(f" {d.message}" for d in error.details))
    except Exception as error:  # the job must say why it stopped; the traceback goes to the log
        logger.exception("import %s failed", job.pk)
        _fail(job, _("The import stopped: %(error)s") % {"error": error})
    job.refresh_from_db()
    return job


def _fail(job: ImportJob, message: str) -> None:
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.FAILED,
        message=message[:2000],
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )


def _batches(rows, cursor: int, plan: Plan) -> Iterator[list[tuple[int, list[str]]]]:
    """Lists of (data index, cells) after ``cursor``; rows of one group (an order) never split."""
    batch: list[tuple[int, list[str]]] = []
    last_key = None
    for index, cells in enumerate(rows, start=1):
        if index <= cursor:
            continue
        key = tuple(cells[i].strip() if i < len(cells) else "" for i in plan.group_columns)
        if len(batch) >= BATCH_SIZE and (not plan.group_columns or key != last_key or not any(key)):
            yield batch
            batch = []
        batch.append((index, cells))
        last_key = key
    if batch:
        yield batch


@dataclass
class Outcome:
    issues: list[Issue] = field(default_factory=list)
    # (object_type, object_id, row, action, before) of each written record
    lineage: list[tuple[str, int, int, str, dict]] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    rejected: set[int] = field(default_factory=set)
    skipped: int = 0
    corrections: int = 0


def _run_batch(actor: Actor, job: ImportJob, plan: Plan, batch: list[tuple[int, list[str]]]) -> bool:
    """One transaction: records, lineage, issues, counters and cursor. False when cancelled."""
    started = time.monotonic()
    with transaction.atomic():
        current = ImportJob.objects.select_for_update().get(pk=job.pk)
        if current.cancel_requested:
            ImportJob.objects.filter(pk=job.pk).update(
                status=ImportJob.Status.CANCELLED, finished_at=timezone.now(), updated_at=timezone.now()
            )
            return False
        outcome = Outcome()
        try:
            with transaction.atomic():
                _write_batch(actor, current, plan, batch, outcome)
                if current.dry_run:
                    raise Rollback
        except Rollback:
            outcome.lineage = []
        stored_errors = current.error_count
        stored_corrections = min(current.corrected_count, MAX_STORED_CORRECTIONS)
        keep = []
        for issue in outcome.issues:
            if issue.kind == "corrected":
                stored_corrections += 1
                if stored_corrections > MAX_STORED_CORRECTIONS:
                    continue
            elif stored_errors > MAX_STORED_ERRORS:
                continue
            keep.append(
                (
                    issue.row,
                    issue.column[:200],
                    str(issue.value)[:1000],
                    issue.corrected[:1000],
                    issue.kind,
                    str(issue.reason)[:500],
                )
            )
        # Plain rows in one multi-row write each (COPY on PostgreSQL): a batch has up to 1,000 of each.
        now = timezone.now()
        stamps = (current.workspace_id, current.pk, now, now)
        Table(ImportIssue, ISSUE_COLUMNS).insert([(*stamps, *issue) for issue in keep])
        Table(ImportedRecord, LINEAGE_COLUMNS).insert([(*stamps, *entry) for entry in outcome.lineage])
        elapsed = time.monotonic() - started
        done = current.rows_done + len(batch)
        seconds = current.run_seconds + elapsed
        ImportJob.objects.filter(pk=job.pk).update(
            cursor=batch[-1][0],
            rows_done=F("rows_done") + len(batch),
            created_count=F("created_count") + outcome.created,
            updated_count=F("updated_count") + outcome.updated,
            error_count=F("error_count") + len(outcome.rejected),
            skipped_count=F("skipped_count") + outcome.skipped,
            corrected_count=F("corrected_count") + outcome.corrections,
            run_seconds=seconds,
            rows_per_second=done / seconds if seconds else 0,
            updated_at=timezone.now(),
        )
    return True


def _write_batch(actor: Actor, job: ImportJob, plan: Plan, batch, outcome: Outcome) -> None:
    spec = plan.spec
    candidates: list[Row] = []
    by_group: dict[tuple, Row] = {}
    for index, cells in batch:
        number = index + 1
        if not any(c.strip() for c in cells):
            outcome.skipped += 1
            continue
        values, issues, rejected = plan.clean_row(number, cells)
        outcome.issues += issues
        outcome.corrections += sum(1 for i in issues if i.kind == "corrected")
        if rejected:
            outcome.rejected.add(number)
            continue
        if plan.group_columns:
            key = tuple(values.get(k) for k in spec.group_by)
            line = {k: v for k, v in values.items() if k.startswith("line.")}
            if any(key) and key in by_group:
                by_group[key].lines.append((number, line))
                continue
            row = Row(
                number, {k: v for k, v in values.items() if not k.startswith("line.")}, [(number, line)]
            )
            if any(key):
                by_group[key] = row
        else:
            row = Row(number, values)
        candidates.append(row)

    mode = job.mode
    to_create: list[Row] = []
    to_update: list[tuple[Row, Any]] = []
    deferred: list[Row] = []  # upsert: a key repeated in this batch updates the record made by its first row
    if mode == ImportJob.Mode.CREATE:
        to_create = _without_duplicates(actor, spec, plan, candidates, outcome)
    else:
        key = job.match_key
        wanted = [r.values.get(key) for r in candidates if r.values.get(key) not in (None, "")]
        found = spec.find(actor, key, [str(v) for v in wanted]) if wanted else {}
        first_new: dict[str, int] = {}
        for row in candidates:
            value = row.values.get(key)
            if value in (None, ""):
                _reject(outcome, row, plan.header_of.get(key, key), "", _("The match key is empty."))
            elif str(value) in found:
                to_update.append((row, found[str(value)]))
            elif mode == ImportJob.Mode.UPDATE or key == ID_FIELD:
                _reject(
                    outcome,
                    row,
                    plan.header_of.get(key, key),
                    str(value),
                    _("No record matches (or you may not see it)."),
                )
            elif str(value) in first_new:
                deferred.append(row)
            else:
                first_new[str(value)] = row.number
                to_create.append(row)
    # Empty cells never reach ``values``: an update leaves those fields as they are.
    work = Batch(actor, to_create + [r for r, _rec in to_update] + deferred, job.options)
    spec.prepare(work)
    for row in work.rows:
        row.item.pop(ID_FIELD, None)
    outcome.lineage += [
        (rec.object_type, rec.pk, number, ImportedRecord.Action.CREATED, {}) for number, rec in work.created
    ]
    ready = [r for r in to_create if not _rejected_in_prepare(outcome, plan, r)]
    if ready:
        records, errors = spec.create(actor, [r.item for r in ready])
        for i, row in enumerate(ready):
            if i in errors:
                _service_errors(outcome, plan, row, errors[i])
            elif records[i] is not None:
                outcome.created += 1
                outcome.lineage.append(
                    (spec.object_type, records[i].pk, row.number, ImportedRecord.Action.CREATED, {})
                )
    if deferred:
        key = job.match_key
        found = spec.find(actor, key, [str(r.values[key]) for r in deferred])
        for row in deferred:
            if str(row.values[key]) in found:
                to_update.append((row, found[str(row.values[key])]))
            else:
                _reject(
                    outcome,
                    row,
                    plan.header_of.get(key, key),
                    str(row.values[key]),
                    _("Its first row in this file was rejected."),
                )
    for row, rec in to_update:
        if _rejected_in_prepare(outcome, plan, row):
            continue
        item = {k: v for k, v in row.item.items() if k not in ("source",)}
        before = spec.before(rec, item)
        try:
            with transaction.atomic():
                spec.update(actor, rec, item)
        except ValidationFailed as failed:
            _service_errors(outcome, plan, row, failed.details)
            continue
        except DomainError as error:
            _reject(outcome, row, "", "", str(error.message))
            continue
        outcome.updated += 1
        outcome.lineage.append((spec.object_type, rec.pk, row.number, ImportedRecord.Action.UPDATED, before))


def _without_duplicates(
    actor: Actor, spec: Target, plan: Plan, rows: list[Row], outcome: Outcome
) -> list[Row]:
    """Create mode: rows whose email/phone/SKU … already exists (or repeats an earlier row) are refused."""
    keep = []
    existing: dict[str, dict] = {}
    for key in spec.duplicate_keys:
        values = [str(r.values[key]) for r in rows if r.values.get(key) not in (None, "")]
        existing[key] = spec.find(actor, key, values) if values and key in plan.header_of else {}
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        problem = None
        for key in spec.duplicate_keys:
            value = row.values.get(key)
            if value in (None, ""):
                continue
            if str(value) in existing[key]:
                problem = (
                    key,
                    str(value),
                    _("A record with this value already exists (id %(id)s): use update or upsert.")
                    % {"id": existing[key][str(value)].pk},
                )
                break
            if (key, str(value)) in seen:
                problem = (
                    key,
                    str(value),
                    _("Repeats row %(row)s of this file.") % {"row": seen[(key, str(value))]},
                )
                break
        if problem:
            _reject(outcome, row, plan.header_of.get(problem[0], problem[0]), problem[1], problem[2])
            continue
        for key in spec.duplicate_keys:
            if row.values.get(key) not in (None, ""):
                seen[(key, str(row.values[key]))] = row.number
        keep.append(row)
    return keep


def _reject(outcome: Outcome, row: Row, column: str, value: str, reason: str) -> None:
    outcome.rejected.add(row.number)
    outcome.issues.append(Issue(row.number, column, value, "error", reason))


def _rejected_in_prepare(outcome: Outcome, plan: Plan, row: Row) -> bool:
    if not row.errors:
        return False
    _service_errors(outcome, plan, row, row.errors)
    return True


def _service_errors(outcome: Outcome, plan: Plan, row: Row, details: list[FieldError]) -> None:
    outcome.rejected.add(row.number)
    for d in details:
        number = row.number
        if d.field.startswith("lines.") and row.lines:
            index = d.field.split(".")[1]
            if index.isdigit() and int(index) < len(row.lines):
                number = row.lines[int(index)][0]
        column = plan.column_for(d.field)
        key = next((k for k, h in plan.header_of.items() if h == column), d.field)
        value = row.values.get(key, "")
        outcome.issues.append(
            Issue(number, column or d.field, _shown(value) if value != "" else "", "error", str(d.message))
        )


# --- undo ------------------------------------------------------------------------------------------------

UNDO_CHUNK = 2000


@transaction.atomic
def request_undo(actor: Actor, job: ImportJob, *, enqueue: bool = True) -> ImportJob:
    """Queue the undo of a finished import: records it created are deleted, those it updated restored."""
    _own_job(actor, job)
    spec = get_target(job.target)
    if job.dry_run or job.status not in (
        ImportJob.Status.DONE,
        ImportJob.Status.CANCELLED,
        ImportJob.Status.FAILED,
    ):
        raise ValidationFailed([FieldError("status", _("Only a finished import can be undone."), "invalid")])
    if job.created_count:
        require(actor, "delete", spec.object_type)
    if job.updated_count:
        require(actor, "change", spec.object_type)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.UNDOING, updated_at=timezone.now())
    job.status = ImportJob.Status.UNDOING
    record(
        AuditEntry.Action.UPDATE,
        actor=actor,
        object_type="imports.importjob",
        changes={"undo": [None, job.file_name]},
    )
    if enqueue:
        from .tasks import undo_import

        membership_id, job_id = actor.membership.pk, job.pk
        transaction.on_commit(lambda: undo_import.enqueue(membership_id, job_id))
    return job


def run_undo(actor: Actor, job_id: int) -> ImportJob:
    """Undo in chunks, newest lineage first (a record created then updated is restored, then deleted).

    Each chunk is one transaction that also drops its lineage rows: an interrupted undo continues
    where it stopped when run again."""
    job = jobs_for(actor).get(pk=job_id)
    problems: list[str] = []
    try:
        while True:
            with transaction.atomic():
                chunk = list(ImportedRecord.objects.filter(job=job).order_by("-row", "-id")[:UNDO_CHUNK])
                if not chunk:
                    break
                one_by_one, in_bulk = _undo_plan(chunk)
                _undo_each(actor, one_by_one, problems)
                for spec, lineages in in_bulk:
                    try:
                        with transaction.atomic():
                            spec.delete_many(actor, [r.object_id for r in lineages])
                    except DomainError:  # one refused record (an order points to it): report each
                        _undo_each(actor, lineages, problems)
                ImportedRecord.objects.filter(pk__in=[r.pk for r in chunk]).delete()
    except Exception as error:  # the job must say why it stopped; the traceback goes to the log
        logger.exception("undo of import %s failed", job.pk)
        _fail(job, _("The undo stopped: %(error)s") % {"error": error})
        job.refresh_from_db()
        return job
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.UNDONE, message="\n".join(problems), updated_at=timezone.now()
    )
    job.refresh_from_db()
    return job


def _undo_plan(chunk: list[ImportedRecord]) -> tuple[list[ImportedRecord], list[tuple[Target, list]]]:
    """(lineage to undo one by one, in the chunk's order; (type, lineage) to delete in bulk after it).

    Records the import created are deleted a type at a time when the type has a bulk delete
    (``Target.delete_many``); everything else — the records it updated (restored), types without one —
    is undone one by one first, newest first as before, so a record created then updated is restored
    before it is deleted, and orders go before the accounts they point to."""
    one_by_one: list[ImportedRecord] = []
    in_bulk: dict[str, tuple[Target, list]] = {}
    for lineage in chunk:
        spec = _target_of(lineage.object_type)
        if lineage.action == ImportedRecord.Action.CREATED and spec is not None and spec.delete_many:
            in_bulk.setdefault(lineage.object_type, (spec, []))[1].append(lineage)
        else:
            one_by_one.append(lineage)
    return one_by_one, list(in_bulk.values())


def _undo_each(actor: Actor, lineages: list[ImportedRecord], problems: list[str]) -> None:
    for lineage in lineages:
        try:
            with transaction.atomic():
                _undo_one(actor, lineage)
        except DomainError as error:
            if len(problems) < 20:
                problems.append(_("Row %(row)s: %(error)s") % {"row": lineage.row, "error": error.message})


def _target_of(object_type: str) -> Target | None:
    return next((t for t in TARGETS.values() if t.object_type == object_type), None)


def _undo_one(actor: Actor, lineage: ImportedRecord) -> None:
    spec = _target_of(lineage.object_type)
    if spec is None:  # every type an import writes has a target (accounts made for contacts too)
        return
    rec = spec.model.objects.filter(pk=lineage.object_id).first()
    if rec is None:
        return  # deleted meanwhile: nothing to undo
    if lineage.action == ImportedRecord.Action.CREATED:
        spec.delete(actor, rec)
    else:
        spec.restore(actor, rec, lineage.before)


# --- report ---------------------------------------------------------------------------------------------

REPORT_HEADER = ("row", "column", "value", "corrected", "result", "reason")


def report_rows(actor: Actor, job: ImportJob) -> Iterator[list]:
    """The validation report (header first): every rejected and corrected cell, streamed."""
    _own_job(actor, job)
    labels = dict(ImportIssue.Kind.choices)
    yield [_("Row"), _("Column"), _("Value"), _("Corrected value"), _("Result"), _("Reason")]
    # A streamed response is read after the view (and its workspace scope) returned: scope here.
    with scope(workspace=actor.workspace):
        issues = ImportIssue.objects.filter(job_id=job.pk).order_by("row", "id").iterator(chunk_size=2000)
    for issue in issues:
        yield [
            issue.row,
            issue.column,
            issue.value,
            issue.corrected,
            str(labels.get(issue.kind, issue.kind)),
            issue.reason,
        ]


def report_csv(actor: Actor, job: ImportJob) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff"
    for row in report_rows(actor, job):
        writer.writerow([spreadsheet_safe(v) for v in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def report_xlsx(actor: Actor, job: ImportJob, target) -> None:
    write_xlsx(report_rows(actor, job), target)


def delete_job_file(job: ImportJob) -> None:
    path = job_file(job)
    if not Path(job.file_path).is_absolute():
        path.unlink(missing_ok=True)
