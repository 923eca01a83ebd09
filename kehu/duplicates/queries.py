"""Scoped reads: the review queue, a record's open pairs, the merge history."""

from django.db.models import Q, QuerySet

from kehu.workspaces.access import Actor, visible

from .models import Candidate, MergeRecord
from .registry import TYPES, spec_for


def review_queue(
    actor: Actor, object_type: str, *, min_score: int = 0, status: str = Candidate.Status.OPEN
) -> QuerySet[Candidate]:
    """Pairs of ``object_type`` whose two records the actor may both see, best first."""
    ids = visible(actor, spec_for(object_type).model.objects.all()).values("pk")
    qs = Candidate.objects.filter(object_type=object_type, status=status, score__gte=min_score)
    return qs.filter(record_a__in=ids, record_b__in=ids)


def with_labels(object_type: str, pairs: list[Candidate]) -> list[Candidate]:
    """Attach ``label_a``/``label_b`` (record names) with one query for the whole page."""
    ids = {p.record_a for p in pairs} | {p.record_b for p in pairs}
    names = dict(spec_for(object_type).model.objects.filter(pk__in=ids).values_list("pk", "name"))
    for p in pairs:
        p.label_a, p.label_b = names.get(p.record_a, "?"), names.get(p.record_b, "?")
    return pairs


def open_pairs_of(actor: Actor, record_) -> list[Candidate]:
    pairs = review_queue(actor, record_.object_type).filter(Q(record_a=record_.pk) | Q(record_b=record_.pk))
    return with_labels(record_.object_type, list(pairs.order_by("-score")[:10]))


def merges_for(actor: Actor, object_type: str | None = None) -> QuerySet[MergeRecord]:
    """Merges whose survivor the actor may see."""
    qs = MergeRecord.objects.all()
    conditions = Q(pk__in=[])
    for key in [object_type] if object_type else list(TYPES):
        survivors = visible(actor, spec_for(key).model.objects.all()).values("pk")
        conditions |= Q(object_type=key, survivor_id__in=survivors)
    return qs.filter(conditions)
