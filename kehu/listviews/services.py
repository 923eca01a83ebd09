"""Writes of the list machinery: saved views, bulk actions, exports (CSV / XLSX), background jobs.

Saved views are audited like records. Bulk actions run record by record through the owning app's
services (``BulkAction.apply``), so their permission checks, validation and audit entries hold;
records the actor may not see are skipped and counted. Large bulk changes and exports become a
``ListJob`` run by a background task as the requesting member.
"""

import csv
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.translation import gettext as _

from kehu.audit.models import AuditEntry
from kehu.audit.services import create_record, delete_record, record, update_record
from kehu.core.errors import DomainError, FieldError, NotFound, PermissionDenied, ValidationFailed
from kehu.workspaces.access import Actor, require

from .filters import compile_filters, describe, empty_spec
from .models import ListJob, SavedView
from .registry import ListConfig, config_for
from .signals import job_finished
from .state import ListState, all_columns, clean_columns, clean_ordering, visible_views

BULK_SYNC_LIMIT = 1000  # more records than this: a background job
EXPORT_SYNC_LIMIT = 10_000
MAX_BULK_IDS = 1000  # explicit selections (checked rows) per request
CHUNK = 500
SHARING_ROLES = {"owner", "admin", "manager"}


# Both models have an ``object_type`` column (the list's record type); the audit would take it for
# the entry's own type, so the entries name the model explicitly.
VIEW_TYPE, JOB_TYPE = "listviews.savedview", "listviews.listjob"


def list_config(object_type: str) -> ListConfig:
    config = config_for(object_type)
    if config is None:
        raise ValidationFailed([FieldError("object_type", _("This record type has no list."), "invalid")])
    return config


# --- saved views ------------------------------------------------------------------------------------


def can_share(actor: Actor) -> bool:
    """Managers and administrators may share views with the whole workspace."""
    return actor.can_manage_workspace or actor.role.key in SHARING_ROLES


def can_edit_view(actor: Actor, view: SavedView) -> bool:
    """The view's owner; for shared views also the workspace's administrators."""
    return view.owner_id == actor.user.pk or (
        view.shared == SavedView.Sharing.WORKSPACE and actor.can_manage_workspace
    )


def visible_view_ids(actor: Actor):
    """Own views and views shared with the workspace (the scope adds the workspace)."""
    from django.db.models import Q

    return SavedView.objects.filter(Q(owner_id=actor.user.pk) | Q(shared=SavedView.Sharing.WORKSPACE)).values(
        "pk"
    )


def get_view(actor: Actor, pk: Any) -> SavedView:
    """A view the actor may see (own or shared); NotFound otherwise, also for other workspaces."""
    try:
        return SavedView.objects.filter(pk__in=visible_view_ids(actor)).get(pk=int(pk))
    except (SavedView.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def views_of(actor: Actor, object_type: str) -> list[SavedView]:
    """The views an actor picks from: their own, then shared ones, by name."""
    return sorted(
        visible_views(actor, object_type),
        key=lambda v: (v.shared != SavedView.Sharing.PERSONAL, v.name.lower(), v.pk),
    )


def _clean_view(actor: Actor, config: ListConfig, values: dict) -> dict:
    cleaned = {}
    errors: list[FieldError] = []
    if "name" in values:
        name = " ".join(str(values["name"] or "").split())[:100]
        if not name:
            errors.append(FieldError("name", _("This field is required."), "required"))
        cleaned["name"] = name
    if "shared" in values:
        shared = values["shared"] or SavedView.Sharing.PERSONAL
        if shared not in SavedView.Sharing.values:
            errors.append(FieldError("shared", _("Choose personal or workspace."), "invalid_choice"))
        elif shared == SavedView.Sharing.WORKSPACE and not can_share(actor):
            errors.append(
                FieldError("shared", _("Only managers and administrators can share views."), "forbidden")
            )
        cleaned["shared"] = shared
    for name, clean in (
        ("filters", lambda v: compile_filters(actor, config, v) and v),
        ("ordering", lambda v: clean_ordering(config, v or "")),
        ("columns", lambda v: clean_columns(actor, config, list(v or []))),
    ):
        if name in values:
            try:
                result = clean(values[name])
                cleaned[name] = result if name != "filters" else (values[name] or empty_spec())
            except ValidationFailed as failed:
                errors += failed.details
    if "filters" in cleaned and not isinstance(cleaned["filters"], dict):
        errors.append(FieldError("filters", _("Expected a group."), "invalid"))
    if "is_default" in values:
        cleaned["is_default"] = bool(values["is_default"])
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def _single_default(actor: Actor, view: SavedView) -> None:
    """At most one default per owner (personal) or per workspace (shared) and object type."""
    if not view.is_default:
        return
    others = SavedView.objects.filter(object_type=view.object_type, is_default=True, shared=view.shared)
    if view.shared == SavedView.Sharing.PERSONAL:
        others = others.filter(owner_id=view.owner_id)
    for other in others.exclude(pk=view.pk):
        update_record(actor, other, {"is_default": False}, object_type=VIEW_TYPE)


@transaction.atomic
def create_view(actor: Actor, object_type: str, **values: Any) -> SavedView:
    """Save a list state under a name (``filters``, ``ordering``, ``columns``, ``shared``, ``is_default``)."""
    config = list_config(object_type)
    require(actor, "view", object_type)
    values.setdefault("name", "")
    cleaned = _clean_view(actor, config, values)
    view = create_record(
        actor, SavedView(object_type=object_type, owner=actor.user, **cleaned), object_type=VIEW_TYPE
    )
    _single_default(actor, view)
    return view


@transaction.atomic
def update_view(actor: Actor, view: SavedView, **values: Any) -> SavedView:
    if not can_edit_view(actor, view):
        raise PermissionDenied(_("Only the owner of this view can change it."))
    cleaned = _clean_view(actor, list_config(view.object_type), values)
    if cleaned.get("shared") == SavedView.Sharing.PERSONAL and view.owner_id != actor.user.pk:
        raise ValidationFailed(
            [FieldError("shared", _("Only the owner can make a view personal."), "forbidden")]
        )
    update_record(actor, view, cleaned, object_type=VIEW_TYPE)
    _single_default(actor, view)
    return view


@transaction.atomic
def delete_view(actor: Actor, view: SavedView) -> None:
    if not can_edit_view(actor, view):
        raise PermissionDenied(_("Only the owner of this view can delete it."))
    delete_record(actor, view, object_type=VIEW_TYPE)


# --- bulk actions -----------------------------------------------------------------------------------


@dataclass
class BulkResult:
    done: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)
    job: ListJob | None = None

    def message(self) -> str:
        text = _("%(done)d changed, %(skipped)d skipped.") % {"done": self.done, "skipped": self.skipped}
        if self.problems:
            text += " " + " ".join(self.problems[:3])
        return text


def _state(actor: Actor, config: ListConfig, params: dict) -> ListState:
    state = ListState(config, actor, q=str(params.get("q") or "")[:200])
    state.filters = params.get("filters") or empty_spec()
    state.ordering = clean_ordering(config, params.get("ordering") or "")
    state.columns = clean_columns(actor, config, list(params.get("columns") or [])) or list(
        config.default_columns
    )
    return state


def bulk_targets(actor: Actor, config: ListConfig, *, ids: list | None, params: dict | None):
    """(records, requested): checked rows (``ids``) or every record matching ``params``."""
    if ids is not None:
        try:
            clean = sorted({int(i) for i in ids})
        except (TypeError, ValueError):
            raise ValidationFailed([FieldError("ids", _("Ids must be numbers."), "invalid")]) from None
        if not clean:
            raise ValidationFailed([FieldError("ids", _("Select at least one record."), "required")])
        if len(clean) > MAX_BULK_IDS:
            raise ValidationFailed(
                [FieldError("ids", _("Select at most %d records.") % MAX_BULK_IDS, "too_many")]
            )
        return config.queryset(actor, "").filter(pk__in=clean), len(clean)
    records = _state(actor, config, params or {}).apply()
    return records, None


def _clean_bulk_value(action, value: Any) -> Any:
    if action.value_kind == "user":
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ValidationFailed([FieldError("value", _("Choose a member."), "required")]) from None
    if action.value_kind == "tag":
        name = " ".join(str(value or "").split())[:50]
        if not name:
            raise ValidationFailed([FieldError("value", _("Enter a tag."), "required")])
        return name
    return None


def run_bulk(
    actor: Actor,
    object_type: str,
    action_key: str,
    *,
    ids: list | None = None,
    params: dict | None = None,
    value: Any = None,
    background: bool = True,
) -> BulkResult:
    """Apply a bulk action to checked rows or all matching records; more than ``BULK_SYNC_LIMIT``
    records (when ``background``) become a background job and the result names it."""
    config = list_config(object_type)
    action = config.bulk_action(action_key)
    if action is None:
        raise ValidationFailed([FieldError("action", _("Unknown action."), "invalid_choice")])
    require(actor, action.permission, object_type)
    value = _clean_bulk_value(action, value)
    records, requested = bulk_targets(actor, config, ids=ids, params=params)
    if background and requested is None:
        count = records.count()
        if count > BULK_SYNC_LIMIT:
            job = _enqueue(
                actor,
                config,
                ListJob.Kind.BULK,
                {"action": action_key, "value": value, "state": params or {}},
                description=f"{action.label}: {describe(actor, config, (params or {}).get('filters'))}"[:500],
                rows=count,
            )
            return BulkResult(job=job)
    result = BulkResult()
    pks = list(records.order_by("pk").values_list("pk", flat=True))
    if requested is not None:
        result.skipped = requested - len(pks)  # not visible to the actor (or gone)
    for start in range(0, len(pks), CHUNK):
        for item in records.filter(pk__in=pks[start : start + CHUNK]).order_by("pk"):
            try:
                with transaction.atomic():
                    action.apply(actor, item, value)
            except DomainError as error:
                result.skipped += 1
                detail = getattr(error, "details", None)
                text = " ".join(str(d.message) for d in detail) if detail else str(error.message)
                if text not in result.problems:
                    result.problems.append(text)
            else:
                result.done += 1
    return result


# --- exports ----------------------------------------------------------------------------------------


def _cell(value: Any) -> Any:
    """A value as a spreadsheet cell: aware datetimes in the local time (XLSX has no zones)."""
    if isinstance(value, datetime) and timezone.is_aware(value):
        return timezone.localtime(value).replace(tzinfo=None)
    if isinstance(value, Decimal | int | float | bool) or value is None:
        return value
    if hasattr(value, "isoformat"):
        return value
    return str(value)


def _page_order(state: ListState) -> tuple:
    """The list page's order (``keyset_page``): empty values last in both directions, then pk."""
    from django.core.exceptions import FieldDoesNotExist
    from django.db.models import F

    desc, name = state.sort_field.startswith("-"), state.sort_field.lstrip("-")
    try:
        nullable = state.config.model._meta.get_field(name).null
    except FieldDoesNotExist:
        nullable = True
    nulls = {"nulls_last": True} if nullable else {}
    return (F(name).desc(**nulls) if desc else F(name).asc(**nulls), "-pk" if desc else "pk")


def export_table(actor: Actor, state: ListState, *, fmt: str) -> Iterator[list]:
    """Header, then one row per record of the state, in its sort order; needs the export
    permission and is audited (format, filter description, columns)."""
    config = state.config
    require(actor, "export", config.object_type)
    columns = state.visible_columns()
    records = state.apply().order_by(*_page_order(state))
    record(
        AuditEntry.Action.EXPORT,
        actor=actor,
        object_type=config.object_type,
        changes={
            "format": fmt,
            "filter": describe(actor, config, state.filters),
            "search": state.q,
            "columns": [c.key for c in columns],
        },
    )
    yield [str(c.label) for c in columns]
    for item in records.iterator(chunk_size=2000):
        yield [_cell(c.value(item)) for c in columns]


# A spreadsheet runs a cell starting with one of these as a formula (``=HYPERLINK(…)``, ``+cmd|…``,
# ``@SUM(…)``; tab and carriage return are stripped first by some programs). Plain numbers and E.164
# phones ("+8613800000000", "-12.5") cannot run anything and stay as they are.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9(][0-9 .,()-]*")


def spreadsheet_safe(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula, prefixed with ``'`` (OWASP advice)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def write_xlsx(rows: Iterator[list], target: IO[bytes]) -> int:
    """Stream rows into an XLSX file (openpyxl write-only mode: rows go to disk, not memory)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    count = -1
    for row in rows:
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # text, never a formula
            cells.append(cell)
        sheet.append(cells)
        count += 1
    book.save(target)
    return max(count, 0)


def write_csv(rows: Iterator[list], target: IO[bytes]) -> int:
    import io

    text = io.TextIOWrapper(target, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text)
    count = -1
    for row in rows:
        writer.writerow([
            "" if v is None else v.isoformat() if hasattr(v, "isoformat") else spreadsheet_safe(v)
            for v in row
        ])
        count += 1
    text.detach()
    return max(count, 0)


WRITERS = {"xlsx": write_xlsx, "csv": write_csv}
CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


@dataclass
class Export:
    file: IO[bytes] | None = None
    rows: int = 0
    job: ListJob | None = None


def export(actor: Actor, state: ListState, *, fmt: str, background: bool = True) -> Export:
    """Write the current view to a temporary file, or queue a job when it has more than
    ``EXPORT_SYNC_LIMIT`` rows (the count is taken once, at export time)."""
    if fmt not in WRITERS:
        raise ValidationFailed([FieldError("format", _("Choose csv or xlsx."), "invalid_choice")])
    require(actor, "export", state.config.object_type)
    if background:
        count = state.apply().count()
        if count > EXPORT_SYNC_LIMIT:
            job = _enqueue(
                actor,
                state.config,
                ListJob.Kind.EXPORT,
                {"format": fmt, "state": state.as_params()},
                description=describe(actor, state.config, state.filters) or _("All records"),
                rows=count,
            )
            return Export(job=job)
    target = tempfile.TemporaryFile()  # noqa: SIM115  # the response closes (and so deletes) it
    rows = WRITERS[fmt](export_table(actor, state, fmt=fmt), target)
    target.seek(0)
    return Export(file=target, rows=rows)


# --- background jobs --------------------------------------------------------------------------------


def exports_dir() -> Path:
    return Path(settings.DATA_DIR) / "exports"


def job_path(job: ListJob) -> Path:
    return exports_dir() / str(job.workspace_id) / job.file_name


def _enqueue(actor: Actor, config: ListConfig, kind: str, params: dict, *, description: str, rows: int):
    from .tasks import run_list_job

    job = create_record(
        actor,
        ListJob(
            kind=kind,
            object_type=config.object_type,
            requested_by=actor.user,
            params=params,
            description=description[:500],
            row_count=rows,
        ),
        object_type=JOB_TYPE,
    )
    job_id, membership_id = job.pk, actor.membership.pk
    transaction.on_commit(lambda: run_list_job.enqueue(membership_id, job_id))
    return job


def run_job(actor: Actor, job_id: int) -> ListJob:
    """Run a queued job as its requester (called by the task); the outcome is stored on the job."""
    job = ListJob.objects.get(pk=job_id, requested_by_id=actor.user.pk)
    if job.status != ListJob.Status.QUEUED:
        return job  # already run (tasks may be delivered twice)
    job.status = ListJob.Status.RUNNING
    job.save(update_fields=["status", "updated_at"])
    config = list_config(job.object_type)
    try:
        if job.kind == ListJob.Kind.EXPORT:
            fmt = job.params.get("format", "xlsx")
            state = _state(actor, config, job.params.get("state") or {})
            job.file_name = f"{job.pk}-{get_random_string(16)}.{fmt}"
            path = job_path(job)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as target:
                job.row_count = WRITERS[fmt](export_table(actor, state, fmt=fmt), target)
            job.message = _("%(count)d rows exported.") % {"count": job.row_count}
        else:
            result = run_bulk(
                actor,
                job.object_type,
                job.params["action"],
                params=job.params.get("state") or {},
                value=job.params.get("value"),
                background=False,
            )
            job.row_count = result.done
            job.message = result.message()
        job.status = ListJob.Status.DONE
    except DomainError as error:
        job.status, job.message = ListJob.Status.FAILED, str(error.message)
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "message", "file_name", "row_count", "finished_at", "updated_at"])
    job_finished.send(sender=ListJob, job=job)
    return job


def jobs_of(actor: Actor):
    return ListJob.objects.filter(requested_by_id=actor.user.pk).order_by("-created_at", "-pk")


def job_for_download(actor: Actor, pk: Any) -> ListJob:
    """A finished export of the requester (NotFound for anyone else and for other workspaces)."""
    try:
        job = jobs_of(actor).get(pk=int(pk), kind=ListJob.Kind.EXPORT, status=ListJob.Status.DONE)
    except (ListJob.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    require(actor, "export", job.object_type)  # the right may have been withdrawn since
    if not job.file_name or not job_path(job).exists():
        raise NotFound()
    return job


__all__ = ["all_columns"]
