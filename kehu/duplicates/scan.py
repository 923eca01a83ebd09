"""The batch scan of a workspace: blocking keys, comparisons inside blocks, candidate pairs, clusters.

1. Read the records in keyset batches (id order), with their phones and emails, and compute each
   one's features and blocking keys (``matcher.blocking_keys``); progress is saved per batch.
2. For every key shared by two or more records, compare the records of that block pairwise with the
   workspace's rules. Records are never compared across blocks. A block larger than ``BLOCK_CAP``
   ("wan" in a workspace of Chinese names) is split by the full name, then by name + city; what is
   still too large is skipped and counted in the statistics.
3. Write the pairs that a rule accepts as open ``Candidate`` rows (pairs marked "not a duplicate"
   stay dismissed), grouped into clusters (connected pairs share the smallest record id).
"""

import time
from collections import defaultdict
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from .matcher import Features, Rule, blocking_keys, judge, sub_keys
from .models import Candidate, ScanJob
from .registry import fetch_features, spec_for
from .rules import active_rules

BATCH = 2000
BLOCK_CAP = 60


def run_scan(workspace, job: ScanJob, *, batch: int = BATCH, cap: int = BLOCK_CAP) -> ScanJob:
    """Scan ``job.object_type`` of ``workspace`` (inside its scope); fills the job's statistics."""
    spec = spec_for(job.object_type)
    rules = active_rules(workspace, job.object_type)
    model = spec.model
    started = time.monotonic()
    job.status, job.started_at = ScanJob.Status.RUNNING, timezone.now()
    job.total = model.objects.count()
    job.save(update_fields=["status", "started_at", "total", "updated_at"])
    features: dict[int, Features] = {}
    blocks: dict[str, list[int]] = defaultdict(list)
    last = 0
    while True:
        page = list(model.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch])
        if not page:
            break
        last = page[-1]
        for f in fetch_features(spec, model.objects.filter(pk__in=page), workspace.default_region):
            _compact(f)
            features[f.id] = f  # type: ignore[index]
            for key in blocking_keys(f):
                blocks[key].append(f.id)  # type: ignore[arg-type]
        job.done += len(page)
        ScanJob.objects.filter(pk=job.pk).update(done=job.done, updated_at=timezone.now())
    read_seconds = time.monotonic() - started
    dismissed = set(
        Candidate.objects.filter(object_type=job.object_type, status=Candidate.Status.DISMISSED).values_list(
            "record_a", "record_b"
        )
    )
    found, stats = compare_blocks(blocks, features, rules, cap=cap, skip=dismissed)
    _write(workspace, job, found)
    stats.update(
        records=len(features),
        read_seconds=round(read_seconds, 2),
        total_seconds=round(time.monotonic() - started, 2),
        block_cap=cap,
    )
    job.status, job.finished_at, job.found, job.stats = ScanJob.Status.DONE, timezone.now(), len(found), stats
    job.save(update_fields=["status", "finished_at", "found", "stats", "updated_at"])
    return job


def _compact(f: Features) -> None:
    f.label = f.label[:80]


def compare_blocks(
    blocks: dict[str, list[int]],
    features: dict[int, Features],
    rules: list[Rule],
    *,
    cap: int = BLOCK_CAP,
    skip: set[tuple[int, int]] | None = None,
    on_compare: Callable[[int, int], None] | None = None,
) -> tuple[dict[tuple[int, int], tuple], dict]:
    """Pairs (a < b) accepted by the rules, compared only inside blocks; and statistics."""
    skip = skip or set()
    stats = {"blocks": 0, "split_blocks": 0, "skipped_blocks": 0, "skipped_records": 0, "comparisons": 0}
    skipped_examples: list[str] = []
    groups: list[list[int]] = []
    for key, ids in blocks.items():
        if len(ids) < 2:
            continue
        stats["blocks"] += 1
        parts = [ids]
        if len(ids) > cap:
            stats["split_blocks"] += 1
            parts = _split(ids, features, cap)
            too_big = [g for g in parts if len(g) > cap]
            if too_big:
                stats["skipped_blocks"] += len(too_big)
                stats["skipped_records"] += sum(len(g) for g in too_big)
                if len(skipped_examples) < 10:
                    skipped_examples.append(key)
                parts = [g for g in parts if len(g) <= cap]
        groups += parts
    found, stats["comparisons"] = _compare(groups, features, rules, skip, on_compare)
    stats["skipped_keys"] = skipped_examples
    return found, stats


def _compare(groups, features, rules, skip, on_compare=None) -> tuple[dict[tuple[int, int], tuple], int]:
    """Every pair inside each group judged once: (accepted pairs, pairs judged)."""
    judged: set[tuple[int, int]] = set()
    found: dict[tuple[int, int], tuple] = {}
    for group in groups:
        group = sorted(set(group))
        for i, a in enumerate(group):
            fa = features[a]
            for b in group[i + 1 :]:
                pair = (a, b)
                if pair in judged or pair in skip:
                    continue
                judged.add(pair)
                if on_compare is not None:
                    on_compare(a, b)
                verdict = judge(rules, fa, features[b])
                if verdict is not None:
                    found[pair] = (verdict.score, list(verdict.matched_fields), verdict.rule)
    return found, len(judged)


def _split(ids: list[int], features: dict[int, Features], cap: int) -> list[list[int]]:
    """A giant block split by the name's keys, then with the city too (see the module docstring)."""
    groups = [ids]
    for level in (1, 2):
        next_groups = []
        for group in groups:
            if len(group) <= cap:
                next_groups.append(group)
                continue
            parts: dict[str, list[int]] = defaultdict(list)
            for pk in group:
                for key in sub_keys(features[pk], level):
                    parts[key].append(pk)
            # A name's keys often gather the same records (张伟 under zhangwei and zhang|w): once.
            unique = {tuple(sorted(p)): p for p in parts.values() if len(p) > 1}
            next_groups += unique.values()
        groups = next_groups
    return groups


def clusters(pairs: list[tuple[int, int]]) -> dict[int, int]:
    """Record id → its cluster id (the smallest id of the connected pairs)."""
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {x: root(x) for x in parent}


@transaction.atomic
def _write(workspace, job: ScanJob, found: dict[tuple[int, int], tuple]) -> None:
    """Replace the type's open pairs with this scan's; dismissed and merged pairs stay as they are."""
    Candidate.objects.filter(object_type=job.object_type, status=Candidate.Status.OPEN).delete()
    kept = set(Candidate.objects.filter(object_type=job.object_type).values_list("record_a", "record_b"))
    cluster_of = clusters(list(found))
    rows = [
        Candidate(
            workspace=workspace,
            object_type=job.object_type,
            record_a=a,
            record_b=b,
            score=score,
            matched_fields=fields,
            rule_name=rule[:100],
            cluster=cluster_of[a],
            scan=job,
            created_by=job.created_by,
        )
        for (a, b), (score, fields, rule) in found.items()
        if (a, b) not in kept
    ]
    Candidate.objects.bulk_create(rows, batch_size=2000)
