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
from dataclasses import replace
from itertools import combinations

from django.db import transaction
from django.utils import timezone

from .matcher import Features, Rule, blocking_keys, could_fire, judge, present, sub_keys
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
    compare_started = time.monotonic()
    found, stats = compare_blocks(blocks, features, rules, cap=cap, skip=dismissed)
    write_started = time.monotonic()
    _write(workspace, job, found)
    stats.update(
        records=len(features),
        read_seconds=round(read_seconds, 2),
        compare_seconds=round(write_started - compare_started, 2),
        write_seconds=round(time.monotonic() - write_started, 2),
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
    grouped: bool = True,
) -> tuple[dict[tuple[int, int], tuple], dict]:
    """Pairs (a < b) accepted by the rules, compared only inside blocks; and statistics.

    ``grouped``: judge each pair of distinct signatures once and give the verdict to every pair of
    their records (``_compare_grouped``); off, every pair of records is judged on its own (the
    reference the tests hold the grouped comparison to: both find the same pairs and scores)."""
    skip = skip or set()
    stats = {"blocks": 0, "split_blocks": 0, "skipped_blocks": 0, "skipped_records": 0, "comparisons": 0}
    skipped_examples: list[str] = []
    groups: list[list[int]] = []
    skipped: set[int] = set()
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
                for g in too_big:
                    skipped.update(g)
                if len(skipped_examples) < 10:
                    skipped_examples.append(key)
                parts = [g for g in parts if len(g) <= cap]
        groups += parts
    if skipped:
        # Records never compared with anyone: every group they were in was over the cap.
        compared: set[int] = set()
        for group in groups:
            compared.update(group)
        stats["skipped_records"] = len(skipped - compared)
    if grouped:
        found, stats["comparisons"], stats["pairs_covered"] = _compare_grouped(groups, features, rules, skip)
    else:
        found, stats["comparisons"] = _compare(groups, features, rules, skip)
        stats["pairs_covered"] = stats["comparisons"]
    stats["skipped_keys"] = skipped_examples
    return found, stats


def _compare(groups, features, rules, skip) -> tuple[dict[tuple[int, int], tuple], int]:
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
                verdict = judge(rules, fa, features[b])
                if verdict is not None:
                    found[pair] = (verdict.score, list(verdict.matched_fields), verdict.rule)
    return found, len(judged)


def _points_only(rule: Rule) -> bool:
    return all(f in ("email", "phone") for f, *_ in rule.fields)


class _Classes:
    """Records with equal signatures, numbered; and each class's stand-ins for judging.

    Without a shared email or phone, the verdict on two records depends only on their signatures
    (plus, when a fuzzy rule weighs emails or phones, on whether each has any: part of the class).
    A class is judged through stand-ins whose emails/phones (when it has some) are placeholders
    that never meet the other side's: the verdict of two records that share none."""

    def __init__(self, features: dict[int, Features], rules: list[Rule]):
        self.features = features
        self.by_presence = any(r.by_contact_points and r.kind != "exact" for r in rules)
        # An exact rule on emails/phones only fires for a shared value: never between stand-ins.
        self.rules = [r for r in rules if not (r.kind == "exact" and _points_only(r))]
        self.stand_ins = any(r.by_contact_points for r in self.rules)
        self.ids: dict[tuple, int] = {}
        self.members: list[Features] = []
        self.verdicts: dict[int, tuple | None] = {}
        self.judged = 0
        # Which features each class has (a bit each): a pair of classes whose common features
        # cannot make any rule fire (a name and nothing else) needs no verdict.
        self.used = sorted({f for r in self.rules for f, *_ in r.fields})
        self.masks: list[int] = []
        self.possible: dict[int, bool] = {}

    def of(self, pk: int) -> int:
        f = self.features[pk]
        key = (*f.signature, bool(f.emails), bool(f.phones)) if self.by_presence else f.signature
        number = self.ids.get(key)
        if number is None:
            number = self.ids[key] = len(self.members)
            self.members.append(f)
            self.masks.append(sum(1 << i for i, feature in enumerate(self.used) if present(feature, f)))
        return number

    def verdict(self, left: int, right: int) -> tuple | None:
        """The verdict (score, fields, rule) when a record of ``left`` is compared with one of
        ``right`` (in that order: a name's similarity is not symmetric) sharing no email or phone."""
        both = self.masks[left] & self.masks[right]
        possible = self.possible.get(both)
        if possible is None:
            common = {feature for i, feature in enumerate(self.used) if both >> i & 1}
            possible = self.possible[both] = any(could_fire(rule, common) for rule in self.rules)
        if not possible:
            return None
        key = left << 32 | right
        try:
            return self.verdicts[key]
        except KeyError:
            pass
        if len(self.verdicts) >= 1 << 20:
            self.verdicts.clear()
        self.judged += 1
        if self.stand_ins:
            v = judge(self.rules, self._stand_in(left, "<"), self._stand_in(right, ">"), cached=False)
        else:
            v = judge(self.rules, self.members[left], self.members[right], cached=False)
        found = None if v is None else (v.score, list(v.matched_fields), v.rule)
        self.verdicts[key] = found
        return found

    def _stand_in(self, number: int, side: str) -> Features:
        f = self.members[number]
        if not (f.emails or f.phones):
            return f
        return replace(f, emails={side} if f.emails else set(), phones={side} if f.phones else set())


def _compare_grouped(groups, features, rules, skip) -> tuple[dict[tuple[int, int], tuple], int, int]:
    """``_compare``'s pairs, judged once per pair of signatures: (accepted pairs, verdicts
    computed, record pairs covered — a pair in two groups counted twice)."""
    classes = _Classes(features, rules)
    class_of: dict[int, int] = {}
    judged: set[tuple[int, int]] = set()  # pairs sharing an email or phone, judged one by one
    found: dict[tuple[int, int], tuple] = {}
    covered = 0
    for group in groups:
        members = sorted(set(group))
        covered += len(members) * (len(members) - 1) // 2
        by_class: dict[int, list[int]] = {}
        points: dict[str, list[int]] = {}
        for pk in members:
            number = class_of.get(pk)
            if number is None:
                number = class_of[pk] = classes.of(pk)
            by_class.setdefault(number, []).append(pk)
            f = features[pk]
            for value in f.emails:
                points.setdefault(value, []).append(pk)
            for value in f.phones:
                points.setdefault("tel:" + value, []).append(pk)
        sharing: set[tuple[int, int]] = set()
        for pks in points.values():
            if len(pks) > 1:
                sharing.update(combinations(pks, 2))  # members are in id order: a < b
        for pair in sharing:
            if pair in judged or pair in skip:
                continue
            judged.add(pair)
            v = judge(rules, features[pair[0]], features[pair[1]])
            if v is not None:
                found[pair] = (v.score, list(v.matched_fields), v.rule)
        numbered = list(by_class.items())
        for x, (one, ones) in enumerate(numbered):
            if len(ones) > 1:
                _fan_out(found, classes.verdict(one, one), ones, ones, sharing, skip)
            for other, others in numbered[x + 1 :]:
                # ``verdict(x, y)``: a record of class x against one of y with a higher id.
                if ones[0] < others[-1]:
                    _fan_out(found, classes.verdict(one, other), ones, others, sharing, skip)
                if others[0] < ones[-1]:
                    _fan_out(found, classes.verdict(other, one), others, ones, sharing, skip)
    return found, classes.judged + len(judged), covered


def _fan_out(found, verdict, lows, highs, sharing, skip) -> None:
    """Give a class pair's verdict to its record pairs (a < b) that share no email or phone."""
    if verdict is None:
        return
    for a in lows:
        for b in highs:
            if a < b and (a, b) not in sharing and (a, b) not in skip:
                found[(a, b)] = verdict


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
    now = timezone.now()
    template = Candidate(
        workspace=workspace,
        object_type=job.object_type,
        scan=job,
        created_by=job.created_by,
        created_at=now,
        updated_at=now,
        score=0,
        record_a=0,
        record_b=0,
    )
    _insert(
        template,
        ("record_a", "record_b", "score", "matched_fields", "rule_name", "cluster"),
        (
            (a, b, score, fields, rule[:100], cluster_of[a])
            for (a, b), (score, fields, rule) in found.items()
            if (a, b) not in kept
        ),
    )


def _insert(template, names: tuple[str, ...], rows, batch: int = 2000) -> None:
    """INSERT rows of ``template``'s model: every column as the template has it but ``names``,
    taken from each row. One ``executemany`` per batch: ``bulk_create`` spent ~0.25 ms a row
    building the statement (50 s for the 200,000 pairs of a 1M-contact scan)."""
    from django.db import connection

    model = type(template)
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    by_name = {f.attname: f for f in fields}
    base = [f.get_db_prep_save(getattr(template, f.attname), connection) for f in fields]
    slots = [next(i for i, f in enumerate(fields) if f.attname == name) for name in names]
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 - the model's own table and columns
        quote(model._meta.db_table),
        ", ".join(quote(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )
    prepared: dict[tuple, object] = {}  # JSON values repeat (["name", "company"] …): serialised once

    def prep(name, value):
        if isinstance(value, list):
            key = tuple(value)
            if key not in prepared:
                prepared[key] = by_name[name].get_db_prep_save(value, connection)
            return prepared[key]
        return value

    chunk: list[list] = []
    with connection.cursor() as cursor:
        for row in rows:
            values = list(base)
            for slot, name, value in zip(slots, names, row, strict=True):
                values[slot] = prep(name, value)
            chunk.append(values)
            if len(chunk) >= batch:
                cursor.executemany(sql, chunk)
                chunk = []
        if chunk:
            cursor.executemany(sql, chunk)
