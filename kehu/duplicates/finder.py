"""Duplicates of one record being created or changed: candidates by indexed lookups, then the rules.

Candidates come from the same blocking keys as the batch scan, answered by indexes: equal email or
phone (the record's columns and ``ContactPoint``), a name whose pinyin starts like this one's (both
name orders), the same name prefix in the same city, equal custom keys named by exact rules.
"""

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from kehu.core.errors import FieldError, ValidationFailed
from kehu.customers.normalize import pinyin_stem

from .matcher import Features, Rule, _orders, build_features, judge, name_similarity, name_tokens, names_of
from .models import Candidate
from .registry import TypeSpec, fetch_features, spec_for
from .rules import active_rules

MAX_CANDIDATES = 200
MAX_MATCHES = 10


@dataclass
class Match:
    """A likely duplicate: the other record, the score (0–100) and the fields that matched."""

    object_type: str
    record_id: int
    label: str
    score: int
    matched_fields: list[str]
    rule: str
    action: str
    visible: bool = True
    extra: dict = field(default_factory=dict)

    @cached_property
    def record(self):
        return spec_for(self.object_type).model.objects.filter(pk=self.record_id).first()

    def as_dict(self) -> dict[str, Any]:
        return {
            "object_type": self.object_type,
            "id": self.record_id,
            "name": self.label if self.visible else "",
            "score": self.score,
            "matched_fields": self.matched_fields,
            "rule": self.rule,
            "action": self.action,
        }


def raw_values(fields: dict[str, Any]) -> dict[str, Any]:
    """The custom values as given plus ``__city``: what the custom-key and city lookups read."""
    raw = dict(fields.get("custom") or {}) if isinstance(fields.get("custom"), dict) else {}
    raw["__city"] = fields.get("city") or ""
    return raw


def name_prefixes(f: Features) -> list[tuple[str, str]]:
    """Per name order, (the pinyin up to its last letter, its first three letters): the blocking
    prefixes of the name lookups."""
    found = []
    for tokens in f.names:
        for order in [tokens] if f.organisation else _orders(tokens):
            joined = "".join(order)
            if f.organisation:
                joined = "".join(name_tokens(joined)) or joined
            if len(joined) >= 2:
                found.append((joined[: max(2, len(joined) - 1)], joined[:3]))
    return found


def person_pinyins(f: Features) -> list[str]:
    """A person's name in every order (张伟, 伟张), as joined pinyin: what the stem lookups compare."""
    if f.organisation:
        return []
    found = ["".join(order) for tokens in f.names for order in _orders(tokens)]
    return [p for p in dict.fromkeys(found) if len(p) >= 2]


def stem_lookups(pinyins: list[str]) -> list[Q]:
    """People whose name differs from one of ``pinyins`` at most at its end — the same name (and
    every same-sounding one), the last letter changed, dropped or one added — as two indexed
    equality lookups, the name's stem (``customers.normalize.pinyin_stem``; filter a queryset
    aliased with ``pinyin_stem``) and its pinyin. Run them as separate queries: neither database
    serves ``workspace AND (a OR b)`` from two indexes. (A prefix range did this before; for a
    common name, wangwe…, it held every longer name too and grew with the table.)"""
    if not pinyins:
        return []
    keys = [stem_keys(p) for p in pinyins]
    return [
        Q(pinyin_stem__in=sorted({s for stems, _name in keys for s in stems})),
        Q(name_pinyin__in=sorted({name for _stems, name in keys})),
    ]


def stem_keys(pinyin: str) -> tuple[tuple[str, str], str]:
    """What ``stem_lookups`` compares for one name: (the stems a near name may have, the pinyin a
    name one letter shorter has)."""
    return (pinyin, pinyin[:-1]), pinyin[:-1]


def name_floor(rules: list[Rule]) -> float:
    """The least name similarity with which a record found only by its name can still match one of
    ``rules``: 0 when some rule may fire without the name (then nothing is filtered by it).

    Exact rules on email, phone or custom keys are left out: their own lookups find those records."""
    floor = 1.0
    for rule in rules:
        fields = {feature: (minimum, required) for feature, _w, minimum, required in rule.fields}
        if rule.kind == "exact":
            # An exact rule fires when any one of its fields is equal.
            if any(f not in ("name", "email", "phone") and not f.startswith("custom.") for f in fields):
                return 0.0
            if "name" in fields:
                floor = min(floor, 1.0)
            continue
        minimum, required = fields.get("name", (0.0, False))
        if not required or minimum <= 0:
            return 0.0
        floor = min(floor, minimum)
    return floor


def name_paths(spec: TypeSpec) -> list[str]:
    """The columns the name features come from (``name``, ``name_en``)."""
    return [spec.columns[k] for k in ("name", "name_en") if k in spec.columns]


def similar_names(f: Features, floor: float, organisation: bool, rows) -> list[int]:
    """Ids of ``rows`` ((id, name[, name_en])) whose name is at least ``floor`` similar to ``f``'s —
    the same similarity the rules compute, so no pair that could match is dropped; it spares the
    blocks of common names (王伟 …) fetching and judging every namesake's whole record."""
    keep = []
    for pk, *names in rows:
        second = names[1] if len(names) > 1 else ""
        other = Features(names=names_of(names[0], second, organisation), organisation=organisation)
        score = name_similarity(f, other)
        if score is not None and score >= floor:
            keep.append(pk)
    return keep


def judged(object_type: str, rules: list[Rule], f: Features, others) -> list[Match]:
    """The ``others`` (features of existing records) the rules call duplicates of ``f``, strongest
    first."""
    matches = []
    for other in others:
        verdict = judge(rules, f, other)
        if verdict is not None:
            matches.append(
                Match(
                    object_type,
                    other.id,
                    other.label,
                    verdict.score,
                    list(verdict.matched_fields),
                    verdict.rule,
                    verdict.action,
                )
            )
    matches.sort(key=lambda m: (-m.score, m.action != "block", m.record_id))
    return matches


def mark_visible(actor, model, matches: list[Match]) -> None:
    """Flag the matches ``actor`` may not see (one query): they keep blocking but carry no name."""
    if not matches:
        return
    from kehu.workspaces.access import visible

    seen = set(
        visible(actor, model.objects.filter(pk__in={m.record_id for m in matches})).values_list(
            "pk", flat=True
        )
    )
    for m in matches:
        m.visible = m.record_id in seen


def plain_city_column(spec: TypeSpec) -> str | None:
    """The city column the same-city lookup filters on; none when the city is an annotation."""
    column = spec.columns.get("city")
    return column if column not in spec.annotations else None


def _candidate_ids(spec: TypeSpec, f: Features, rules: list[Rule], raw_custom: dict, exclude) -> set[int]:
    model = spec.model
    base = model.objects.all()
    if exclude:
        base = base.exclude(pk__in=exclude)
    ids: set[int] = set()

    def take(qs) -> None:
        ids.update(qs.values_list("pk", flat=True)[:MAX_CANDIDATES])

    floor, names = name_floor(rules), name_paths(spec)

    def take_named(qs) -> None:
        if not floor:
            return take(qs)
        rows = qs.values_list("pk", *names)[:MAX_CANDIDATES]
        ids.update(similar_names(f, floor, spec.organisation, rows))

    for feature, values in (("email", f.emails), ("phone", f.phones)):
        if not values or feature not in spec.columns:
            continue
        take(base.filter(**{spec.columns[feature] + "__in": sorted(values)}))
        if spec.points:
            from kehu.customers.models import ContactPoint

            owner = spec.points + "_id"
            points = ContactPoint.objects.filter(
                kind=feature, value__in=sorted(values), **{owner + "__isnull": False}
            )
            take(base.filter(pk__in=points.values(owner)))
    city_column = plain_city_column(spec)
    for lookup in stem_lookups(person_pinyins(f)):
        take_named(base.alias(pinyin_stem=pinyin_stem()).filter(lookup))
    for long, short in name_prefixes(f):
        # An organisation: the same pinyin up to the last letter, legal forms after it allowed …
        if f.organisation:
            take_named(base.filter(**_pinyin_prefix(long)))
        # … and, in the same city, every name starting with the same three letters.
        if city_column and raw_custom.get("__city"):
            take_named(base.filter(**_pinyin_prefix(short), **{city_column: raw_custom["__city"]}))
    for rule in rules:
        if rule.kind != "exact":
            continue
        for feature, *_rest in rule.fields:
            key = feature.removeprefix("custom.")
            if feature.startswith("custom.") and raw_custom.get(key) not in (None, ""):
                take(base.filter(Q(**{f"custom__{key}": raw_custom[key]})))
    return ids


def _pinyin_prefix(prefix: str) -> dict[str, str]:
    """A prefix match as a range, so the (workspace, name_pinyin) btree serves it on both databases:
    SQLite's LIKE is case-insensitive and PostgreSQL's needs a pattern-ops index, so ``__startswith``
    scanned every record of the workspace on each create."""
    return {"name_pinyin__gte": prefix, "name_pinyin__lt": prefix_end(prefix)}


def prefix_end(prefix: str) -> str:
    """The least string above every string starting with ``prefix``: the prefix with its last letter
    incremented, which sorts right in any collation (a sentinel character may not)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def find_duplicates(
    workspace,
    object_type: str,
    fields: dict[str, Any],
    exclude: int | list[int] | None = None,
    *,
    against: str | None = None,
    actor=None,
    limit: int = MAX_MATCHES,
) -> list[Match]:
    """Records of ``against`` (default: the same type) that may be the record described by
    ``fields``, by the workspace's rules of ``object_type``, strongest first.

    Runs inside the workspace scope. With ``actor``, matches the actor may not see are kept (a
    blocking rule still blocks) but marked ``visible=False`` and carry no name.
    """
    spec = spec_for(against or object_type)
    source = spec_for(object_type)
    rules = active_rules(workspace, object_type)
    if not rules:
        return []
    f = build_features(
        fields, region=workspace.default_region, organisation=source.organisation, object_type=object_type
    )
    excluded = [exclude] if isinstance(exclude, int) else list(exclude or [])
    raw = raw_values(fields)
    ids = _candidate_ids(spec, f, rules, raw, excluded if against in (None, object_type) else [])
    if not ids:
        return []
    dismissed = set()
    if len(excluded) == 1 and (against or object_type) == object_type:
        me = excluded[0]
        for a, b in (
            Candidate.objects.filter(object_type=object_type, status=Candidate.Status.DISMISSED)
            .filter(Q(record_a=me) | Q(record_b=me))
            .values_list("record_a", "record_b")
        ):
            dismissed.add(b if a == me else a)
    others = fetch_features(spec, spec.model.objects.filter(pk__in=ids), workspace.default_region)
    matches = judged(spec.object_type, rules, f, (o for o in others if o.id not in dismissed))
    if actor is not None:
        mark_visible(actor, spec.model, matches)
    return matches[:limit]


def check(actor, object_type: str, fields: dict[str, Any], exclude: int | None = None) -> list[dict]:
    """The create/edit check the services call: raises ``ValidationFailed`` when a blocking rule
    fires, else returns the warnings (``possible_duplicates``) as plain dicts."""
    matches = find_duplicates(actor.workspace, object_type, fields, exclude, actor=actor)
    blocking = [m for m in matches if m.action == "block"]
    if blocking:
        raise ValidationFailed([block_error(blocking[0])], _("This looks like a duplicate."))
    return [m.as_dict() for m in matches]


def block_error(match: Match) -> FieldError:
    field_name = (match.matched_fields or ["name"])[0]
    if match.visible:
        message = _("Duplicate of “%(name)s” (#%(id)s, score %(score)s): %(rule)s.") % {
            "name": match.label,
            "id": match.record_id,
            "score": match.score,
            "rule": match.rule,
        }
    else:
        message = _("A record you may not see already has this (%(rule)s).") % {"rule": match.rule}
    return FieldError(field_name, message, "duplicate")
