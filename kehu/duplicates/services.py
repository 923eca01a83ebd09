"""Writes of the review queue: start a scan, mark "not a duplicate", confirm pairs (merge)."""

import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.audit.models import AuditEntry
from kehu.audit.services import record
from kehu.core.errors import Conflict, DomainError, FieldError, NotFound, ValidationFailed
from kehu.workspaces.access import Actor, require

from . import merge as merging
from .models import Candidate, MergeRecord, ScanJob
from .queries import review_queue
from .registry import TYPES
from .scan import run_scan

log = logging.getLogger(__name__)
MAX_CONFIRM = 500


def _type(object_type: str) -> str:
    if object_type not in TYPES:
        raise ValidationFailed(
            [FieldError("object_type", _("Choose one of: %s.") % ", ".join(TYPES), "invalid_choice")]
        )
    return object_type


@transaction.atomic
def start_scan(actor: Actor, object_type: str, *, enqueue: bool = True) -> ScanJob:
    """Queue a scan of every record of the type (needs "change" on the type); one at a time."""
    require(actor, "change", _type(object_type))
    if ScanJob.objects.filter(
        object_type=object_type, status__in=[ScanJob.Status.QUEUED, ScanJob.Status.RUNNING]
    ).exists():
        raise Conflict(_("A scan of this type is already running."))
    job = ScanJob.objects.create(
        workspace=actor.workspace, object_type=object_type, created_by=actor.user, updated_by=actor.user
    )
    record(
        AuditEntry.Action.CREATE,
        actor=actor,
        instance=job,
        object_type="duplicates.scanjob",
        changes={"object_type": [None, object_type]},
    )
    if enqueue:
        from .tasks import scan_duplicates

        membership_id, job_id = actor.membership.pk, job.pk
        transaction.on_commit(lambda: scan_duplicates.enqueue(membership_id, job_id))
    return job


def run_scan_job(actor: Actor, job_id: int) -> ScanJob:
    job = ScanJob.objects.get(pk=job_id)
    try:
        return run_scan(actor.workspace, job)
    except Exception as error:  # the job records why it failed; the worker logs the trace
        log.exception("duplicate scan %s failed", job_id)
        ScanJob.objects.filter(pk=job_id).update(
            status=ScanJob.Status.FAILED, error=str(error)[:2000], finished_at=timezone.now()
        )
        job.refresh_from_db()
        return job


def candidate_for(actor: Actor, candidate_id: int) -> Candidate:
    """A pair whose two records the actor may see; NotFound otherwise."""
    pair = Candidate.objects.filter(pk=candidate_id).first()
    if (
        pair is None
        or not review_queue(actor, pair.object_type, status=pair.status).filter(pk=pair.pk).exists()
    ):
        raise NotFound()
    return pair


@transaction.atomic
def dismiss(actor: Actor, pair: Candidate) -> Candidate:
    """ "Not a duplicate": the pair is kept as dismissed and never proposed again."""
    require(actor, "change", pair.object_type)
    pair.status, pair.updated_by = Candidate.Status.DISMISSED, actor.user
    pair.save(update_fields=["status", "updated_by", "updated_at"])
    record(
        AuditEntry.Action.UPDATE,
        actor=actor,
        instance=pair,
        object_type="duplicates.candidate",
        changes={"status": ["open", "dismissed"], "records": [None, [pair.record_a, pair.record_b]]},
    )
    return pair


@transaction.atomic
def mark_not_duplicate(actor: Actor, object_type: str, a: int, b: int) -> Candidate:
    """Record "not a duplicate" for two records even when no scan proposed them (the record page)."""
    require(actor, "change", _type(object_type))
    merging.load_records(actor, object_type, [a, b], "view")
    low, high = sorted((a, b))
    pair, _created = Candidate.objects.get_or_create(
        object_type=object_type,
        record_a=low,
        record_b=high,
        defaults={"workspace": actor.workspace, "score": 0, "created_by": actor.user},
    )
    return dismiss(actor, pair)


def merge_pair(actor: Actor, pair: Candidate) -> MergeRecord:
    """Merge a pair with the default survivor and survivorship."""
    records = merging.load_records(actor, pair.object_type, [pair.record_a, pair.record_b], "change")
    survivor_id, _choices = merging.default_choices(pair.object_type, records)
    other = pair.record_b if survivor_id == pair.record_a else pair.record_a
    return merging.merge(actor, pair.object_type, survivor_id, [other])


def bulk_confirm(actor: Actor, object_type: str, min_score: int, *, limit: int = MAX_CONFIRM) -> dict:
    """Merge every open pair at or above ``min_score`` (best first, at most ``limit``), each in its own
    transaction; pairs whose records were merged meanwhile or that fail are counted, not fatal."""
    require(actor, "change", _type(object_type))
    require(actor, "delete", object_type)
    if not 1 <= min_score <= 100:
        raise ValidationFailed([FieldError("min_score", _("Give a number from 1 to 100."))])
    ids = list(
        review_queue(actor, object_type, min_score=min_score)
        .order_by("-score", "id")
        .values_list("pk", flat=True)[:limit]
    )
    merged, skipped, merges = 0, 0, []
    for pk in ids:
        pair = Candidate.objects.filter(pk=pk, status=Candidate.Status.OPEN).first()
        if pair is None:
            skipped += 1
            continue
        try:
            merges.append(merge_pair(actor, pair).pk)
            merged += 1
        except DomainError:
            skipped += 1
    return {"merged": merged, "skipped": skipped, "merges": merges}
