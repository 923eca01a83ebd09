"""Duplicates of many records being created at once (the bulk API): the single-record finder's
blocking keys, each family answered for the whole batch by one query (or a few, for very long
batches), so a call of 1,000 items costs about as many queries as one of 10.

Families: equal email and equal phone (the columns and ``ContactPoint``), the name's pinyin prefix
(both name orders), the three-letter prefix in the same city, equal custom keys of exact rules.
"""

from bisect import bisect_left
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import Q

from kehu.customers.bulk import column_owners, point_owners
from kehu.customers.duplicate_hooks import remembered
from kehu.customers.normalize import pinyin_stem

from .finder import (
    MAX_CANDIDATES,
    MAX_MATCHES,
    Match,
    judged,
    mark_visible,
    name_floor,
    name_paths,
    name_prefixes,
    person_pinyins,
    plain_city_column,
    prefix_end,
    raw_values,
    similar_names,
    stem_keys,
    stem_lookups,
)
from .matcher import Features, build_features
from .registry import TypeSpec, fetch_features, spec_for
from .rules import active_rules

RANGES_PER_QUERY = 300  # SQLite refuses expressions deeper than 1,000 ORs
STEMS_PER_QUERY = 2000  # names per stem query (three values each, under any database's parameter limit)
# Features kept by ``remembered_records()`` (≈ 3.4 kB each, caches included): at 1M contacts a batch's
# namesakes alone run to tens of thousands, and an import's memory must stay flat.
REMEMBERED_MAX = 50_000


def _by_value(pairs) -> dict[Any, set[int]]:
    index: dict[Any, set[int]] = {}
    for pk, value in pairs:
        index.setdefault(value, set()).add(pk)
    return index


def _ranges(base, ranges: list[tuple[str, str]], extra: tuple[str, ...] = ()) -> list[tuple]:
    """Rows (pinyin, pk, *extra) whose pinyin falls in any of ``ranges`` (a few ORed queries)."""
    rows: list[tuple] = []
    unique = sorted(set(ranges))
    for start in range(0, len(unique), RANGES_PER_QUERY):
        chunk = unique[start : start + RANGES_PER_QUERY]
        condition = reduce(or_, (Q(name_pinyin__gte=lo, name_pinyin__lt=hi) for lo, hi in chunk))
        limit = MAX_CANDIDATES * len(chunk)
        rows += base.filter(condition).values_list("name_pinyin", "pk", *extra)[:limit]
    rows.sort()
    return rows


def _in_range(rows: list[tuple], prefix: str) -> list[tuple]:
    lo, hi = bisect_left(rows, (prefix,)), bisect_left(rows, (prefix_end(prefix),))
    return rows[lo:hi]


def _candidates(
    workspace, spec: TypeSpec, features: list[Features], raws: list[dict], rules
) -> list[set[int]]:
    base = spec.model.objects.all()
    found: list[set[int]] = [set() for _ in features]

    def add(i: int, ids) -> None:
        room = MAX_CANDIDATES * 4 - len(found[i])  # the single finder caps each of its ~4 lookups
        if room > 0:
            found[i].update(sorted(ids)[:room])

    for feature, attr in (("email", "emails"), ("phone", "phones")):
        wanted = sorted({v for f in features for v in getattr(f, attr)})
        if not wanted or feature not in spec.columns:
            continue
        column = spec.columns[feature]
        index = _by_value(column_owners(base, workspace.pk, column, wanted))
        if spec.points:
            pairs = point_owners(workspace.pk, feature, wanted, spec.points + "_id")
            for value, ids in _by_value((pk, value) for value, pk in pairs).items():
                index.setdefault(value, set()).update(ids)
        for i, f in enumerate(features):
            for value in getattr(f, attr):
                add(i, index.get(value, ()))

    floor = name_floor(rules)
    names = name_paths(spec) if floor else []

    def add_named(i: int, rows) -> None:
        """Rows (pinyin, pk, *names) found by item i's name: those whose name can still match."""
        if floor:
            add(i, similar_names(features[i], floor, spec.organisation, (r[1:] for r in rows)))
        else:
            add(i, (r[1] for r in rows))

    pinyins = [person_pinyins(f) for f in features]
    wanted = sorted({p for items in pinyins for p in items})
    if wanted:
        by_pinyin: dict[str, list[tuple]] = {}
        by_stem: dict[str, list[tuple]] = {}
        stemmed = base.alias(pinyin_stem=pinyin_stem())
        for start in range(0, len(wanted), STEMS_PER_QUERY):
            chunk = wanted[start : start + STEMS_PER_QUERY]
            for lookup in stem_lookups(chunk):
                found_rows = stemmed.filter(lookup).values_list("name_pinyin", "pk", *names)
                for row in found_rows[: MAX_CANDIDATES * len(chunk)]:
                    by_pinyin.setdefault(row[0], []).append(row)
                    by_stem.setdefault(row[0][:-1], []).append(row)
        for i, items in enumerate(pinyins):
            for p in items:
                stems, shorter = stem_keys(p)
                near = {r[1]: r for key in stems for r in by_stem.get(key, ())}
                near.update((r[1], r) for r in by_pinyin.get(shorter, ()))
                add_named(i, near.values())
    prefixes = [name_prefixes(f) for f in features]
    long_ranges = [(p, prefix_end(p)) for items in prefixes for p, _short in items if spec.organisation]
    if long_ranges:
        rows = _ranges(base, long_ranges, tuple(names))
        for i, items in enumerate(prefixes):
            for p, _short in items:
                add_named(i, _in_range(rows, p))
    city_column = plain_city_column(spec)
    if city_column:
        short = [
            (s, prefix_end(s)) for i, items in enumerate(prefixes) if raws[i]["__city"] for _p, s in items
        ]
        pairs = zip(raws, prefixes, strict=True)
        cities = sorted({r["__city"] for r, items in pairs if r["__city"] and items})
        if short and cities:
            rows = _ranges(base.filter(**{city_column + "__in": cities}), short, (*names, city_column))
            for i, items in enumerate(prefixes):
                city = raws[i]["__city"]
                for _p, s in items if city else ():
                    add_named(i, [r[:-1] for r in _in_range(rows, s) if r[-1] == city])
    for rule in rules:
        if rule.kind != "exact":
            continue
        for feature, *_rest in rule.fields:
            if not feature.startswith("custom."):
                continue
            key = feature.removeprefix("custom.")
            wanted = sorted({str(r[key]) for r in raws if r.get(key) not in (None, "")})
            if not wanted:
                continue
            pairs = base.filter(**{f"custom__{key}__in": wanted}).values_list("pk", f"custom__{key}")
            index = _by_value((pk, str(value)) for pk, value in pairs)
            for i, raw in enumerate(raws):
                if raw.get(key) not in (None, ""):
                    add(i, index.get(str(raw[key]), ()))
    return found


def _features_of(spec: TypeSpec, ids: set[int], region: str) -> dict[int, Features]:
    """Features of the existing records ``ids``, those read by earlier calls inside
    ``customers.duplicate_hooks.remembered_records()`` taken from there."""
    memo = remembered()
    if memo is None:
        return {o.id: o for o in fetch_features(spec, spec.model.objects.filter(pk__in=ids), region)}
    kind = spec.object_type
    found = {pk: memo[kind, pk] for pk in ids if (kind, pk) in memo}
    missing = [pk for pk in ids if pk not in found]
    fetched = fetch_features(spec, spec.model.objects.filter(pk__in=missing), region) if missing else []
    if len(memo) + len(fetched) > REMEMBERED_MAX:
        memo.clear()
    if len(fetched) <= REMEMBERED_MAX:
        memo.update(((kind, o.id), o) for o in fetched)
    return found | {o.id: o for o in fetched}


def find_duplicates_many(
    workspace, object_type: str, items: list[dict[str, Any]], *, actor=None, limit: int = MAX_MATCHES
) -> list[list[Match]]:
    """For each of ``items`` (the values ``finder.find_duplicates`` takes), the existing records of the
    same type that may be it, strongest first: the same answers as one call per item, in a constant
    number of queries. Runs inside the workspace scope; ``actor`` marks matches it may not see."""
    spec = spec_for(object_type)
    rules = active_rules(workspace, object_type)
    if not rules or not items:
        return [[] for _ in items]
    region = workspace.default_region
    features = [
        build_features(v, region=region, organisation=spec.organisation, object_type=object_type)
        for v in items
    ]
    raws = [raw_values(values) for values in items]
    candidates = _candidates(workspace, spec, features, raws, rules)
    every = set().union(*candidates)
    if not every:
        return [[] for _ in items]
    others = _features_of(spec, every, region)
    results: list[list[Match]] = [
        judged(object_type, rules, f, (others[pk] for pk in ids if pk in others))[:limit]
        for f, ids in zip(features, candidates, strict=True)
    ]
    if actor is not None:
        mark_visible(actor, spec.model, [m for ms in results for m in ms])
    return results
