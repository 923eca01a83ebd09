"""The duplicate matcher: canonical features, similarities, rules and blocking keys.

Every record (a row from the database or the values of a form) becomes ``Features``: names as
token lists (Chinese names as their pinyin syllables, so 王伟, "Wang Wei" and "wangwei" meet),
normalised company, city and street, and the sets of normalised emails and phones. Rules score a
pair of features; blocking keys say which records are compared at all (never all pairs).
"""

import contextlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

from rapidfuzz import fuzz

from kehu.core.normalize import half_width, normalize_email, normalize_phone

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
WORD = re.compile(r"[a-z0-9]+")
# Legal forms and filler words that say nothing about which company it is.
COMPANY_NOISE = re.compile(
    r"(股份有限公司|有限责任公司|有限公司|集团|公司|\b(co|company|corp|corporation|inc|incorporated|ltd|"
    r"limited|llc|gmbh|ag|sa|plc|pte|group|the)\b)"
)
CITY_SUFFIX = re.compile(r"(市|省|区|县|\bcity\b)$")
MISSING = 0.5  # a field empty on either side neither helps nor hurts
FEATURES = ("name", "company", "city", "address", "email", "phone")


@lru_cache(maxsize=131072)
def name_tokens(name: str) -> tuple[str, ...]:
    """Lower-case ASCII tokens of a person's name: 王伟 → (wang, wei); "Wáng  Wei" → (wang, wei)."""
    text = half_width(name or "").casefold().strip()
    if not text:
        return ()
    if CJK.search(text):
        # the conversion the customers' search keys use (cached there): an import converts a name once
        from kehu.customers.normalize import syllables

        chunks = syllables(text)
    else:
        chunks = [text]
    tokens: list[str] = []
    for chunk in chunks:
        plain = unicodedata.normalize("NFKD", chunk)
        plain = "".join(c for c in plain if not unicodedata.combining(c))
        tokens += WORD.findall(plain.lower())
    return tuple(tokens)


@lru_cache(maxsize=131072)
def company_key(name: str) -> str:
    """A company name without legal forms, punctuation and spaces; Chinese stays as characters."""
    text = half_width(name or "").casefold()
    text = COMPANY_NOISE.sub(" ", text)
    return "".join(ch for ch in text if ch.isalnum())


@lru_cache(maxsize=16384)
def city_key(city: str) -> str:
    """上海市, 上海 and "Shanghai" all become "shanghai"."""
    text = half_width(city or "").casefold().strip()
    text = CITY_SUFFIX.sub("", text).strip()
    if CJK.search(text):
        return "".join(name_tokens(text))
    return "".join(WORD.findall(text))


def street_key(street: str) -> str:
    return "".join(ch for ch in half_width(street or "").casefold() if ch.isalnum())


@dataclass
class Features:
    """What the matcher knows of one record."""

    id: int | None = None
    object_type: str = ""
    label: str = ""
    names: list[tuple[str, ...]] = field(default_factory=list)
    organisation: bool = False  # names are company names (accounts)
    company: str = ""
    city: str = ""
    address: str = ""
    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    custom: dict[str, str] = field(default_factory=dict)

    @cached_property
    def signature(self) -> tuple:
        """Everything but the emails and phones: two records with equal signatures get the same
        verdict from any rule that does not compare emails or phones. (Taken once the features are
        complete: the matcher never changes them afterwards.)"""
        return (
            tuple(self.names),
            self.organisation,
            self.company,
            self.city,
            self.address,
            tuple(sorted(self.custom.items())),
        )


HAN_ONLY = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")


@lru_cache(maxsize=8192)
def _readings(char: str) -> frozenset[str]:
    from pypinyin import Style, pinyin

    return frozenset(r.lower() for r in pinyin(char, style=Style.NORMAL, heteronym=True, errors="default")[0])


def stored_name_tokens(name: str, stored_pinyin: str) -> tuple[str, ...] | None:
    """``name_tokens`` of a name of Chinese characters only, read from its stored pinyin (the
    customers services keep ``name_pinyin`` = the joined pinyin): the one way to cut it into a
    reading of each character. None when there is no such cut or more than one (then the name
    is converted again) — so the tokens are always those ``name_tokens`` gives."""
    if not stored_pinyin or not HAN_ONLY.fullmatch(name):
        return None
    cuts: list[tuple[str, ...]] = []

    def walk(i: int, at: int, tokens: tuple[str, ...]) -> None:
        if len(cuts) > 1:
            return
        if i == len(name):
            if at == len(stored_pinyin):
                cuts.append(tokens)
            return
        for reading in _readings(name[i]):
            if stored_pinyin.startswith(reading, at):
                walk(i + 1, at + len(reading), (*tokens, reading))

    walk(0, 0, ())
    return cuts[0] if len(cuts) == 1 else None


def names_of(name: Any, name_en: Any, organisation: bool, name_pinyin: str = "") -> list[tuple[str, ...]]:
    """The name keys of a record: token tuples of a person's names, the company key of an
    organisation's (one element). ``name_pinyin``: the stored joined pinyin of ``name``."""
    names: list[tuple[str, ...]] = []
    for value in (name, name_en):
        raw = str(value or "")
        if organisation:
            key = company_key(raw)
            tokens = (key,) if key else ()
        elif value is name and name_pinyin:
            tokens = stored_name_tokens(raw, name_pinyin) or name_tokens(raw)
        else:
            tokens = name_tokens(raw)
        if tokens and tokens not in names:
            names.append(tokens)
    return names


def build_features(
    values: dict[str, Any],
    *,
    region: str = "CN",
    organisation: bool = False,
    object_type: str = "",
    record_id: int | None = None,
    stored: bool = False,
) -> Features:
    """Features of plain values: ``name``, ``name_en``, ``company``, ``city``, ``street``, ``email``,
    ``phone``, ``emails``/``phones`` (strings or ``{"value": …}`` items), ``custom`` (a dict).

    ``stored``: the values come from saved records, whose emails and phones the services already
    normalised — taken as they are (parsing a phone costs more than the rest of a record)."""
    f = Features(id=record_id, object_type=object_type, organisation=organisation)
    f.label = str(values.get("name") or "")
    f.names = names_of(
        values.get("name"), values.get("name_en"), organisation, str(values.get("name_pinyin") or "")
    )
    f.company = company_key(str(values.get("company") or ""))
    f.city = city_key(str(values.get("city") or ""))
    f.address = street_key(str(values.get("street") or values.get("address") or ""))
    for kind, target, normalise in (
        ("email", f.emails, str if stored else normalize_email),
        ("phone", f.phones, str if stored else (lambda v: normalize_phone(v, region))),
    ):
        items = [values.get(kind), *(values.get(kind + "s") or [])]
        for item in items:
            raw = item.get("value") if isinstance(item, dict) else item
            if not raw:
                continue
            with contextlib.suppress(ValueError):
                value = normalise(str(raw))
                if value:
                    target.add(value)
    custom = values.get("custom") or {}
    if isinstance(custom, dict):
        f.custom = {k: exact_key(v) for k, v in custom.items() if exact_key(v)}
    return f


def exact_key(value: Any) -> str:
    if value in (None, "", [], {}):
        return ""
    return " ".join(half_width(str(value)).casefold().split())


# --- similarities ---------------------------------------------------------------------------------


def _abbreviates(short: str, tokens: tuple[str, ...]) -> bool:
    """ "jx" abbreviates (jian, xuan); "w" abbreviates (wei,)."""
    return len(short) == len(tokens) and all(t.startswith(c) for c, t in zip(short, tokens, strict=True))


def _initials_compatible(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """ "Wang W." fits "Wang Wei", "Chen JX." fits 陈建轩 (chen jian xuan): equal tokens, or a short
    token (1–3 letters) that is the first letters of as many tokens of the other name."""
    if not a or not b:
        return not a and not b
    if a[0] == b[0]:
        return _initials_compatible(a[1:], b[1:])
    for short, rest, other, flipped in ((a[0], a[1:], b, False), (b[0], b[1:], a, True)):
        k = len(short)
        if 1 <= k <= 3 and _abbreviates(short, other[:k]):
            remaining = (other[k:], rest) if flipped else (rest, other[k:])
            if _initials_compatible(*remaining):
                return True
    return False


def _orders(tokens: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The name as written and with the family name moved to the other end (张伟 = Wei Zhang)."""
    if len(tokens) < 2:
        return [tokens]
    return [tokens, tokens[1:] + tokens[:1], tokens[-1:] + tokens[:-1]]


@lru_cache(maxsize=1 << 17)  # names repeat (王伟, 李娜 …): a scan or an import compares the same pairs often
def token_similarity(a: tuple[str, ...], b: tuple[str, ...]) -> float:
    """0..1: the best of the names as written and with first and last name swapped."""
    if not a or not b:
        return 0.0
    joined_b = "".join(b)
    best = 0.0
    for order in _orders(a):
        best = max(best, fuzz.ratio("".join(order), joined_b) / 100)
        if best < 0.9 and any(len(t) <= 3 for t in order + b) and _initials_compatible(order, b):
            best = 0.9
        if best == 1.0:
            break
    return best


def name_similarity(a: Features, b: Features) -> float | None:
    if not a.names or not b.names:
        return None
    if a.organisation or b.organisation:
        return max(text_similarity(x[0], y[0]) for x in a.names for y in b.names)
    return max(token_similarity(x, y) for x in a.names for y in b.names)


@lru_cache(maxsize=1 << 16)
def text_similarity(a: str, b: str) -> float:
    """Ratio of two normalised strings; one inside the other (4+ characters) counts as 0.9."""
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    score = fuzz.ratio(a, b) / 100
    shorter, longer = sorted((a, b), key=len)
    if len(shorter) >= 4 and shorter in longer:
        score = max(score, 0.9)
    return score


def similarity(feature: str, a: Features, b: Features) -> float | None:
    """0..1 for one feature, None when either record lacks it."""
    if feature == "name":
        return name_similarity(a, b)
    if feature in ("email", "phone"):
        left, right = (a.emails, b.emails) if feature == "email" else (a.phones, b.phones)
        if not left or not right:
            return None
        return 1.0 if left & right else 0.0
    if feature.startswith("custom."):
        key = feature.removeprefix("custom.")
        left, right = a.custom.get(key, ""), b.custom.get(key, "")
        return None if not left or not right else float(left == right)
    left, right = getattr(a, feature, ""), getattr(b, feature, "")
    if not left or not right:
        return None
    if feature == "company" and bool(CJK.search(left)) != bool(CJK.search(right)):
        left, right = "".join(name_tokens(left)), "".join(name_tokens(right))  # 星辰 ≈ Xingchen
    return text_similarity(left, right)


# --- rules ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """A rule as the matcher uses it (``models.MatchRule`` is its stored form)."""

    name: str
    kind: str  # exact | fuzzy
    fields: tuple[tuple[str, float, float, bool], ...]  # (feature, weight, min similarity, required)
    threshold: int = 85
    action: str = "warn"

    @cached_property  # asked for every pair judged
    def by_contact_points(self) -> bool:
        """Whether the rule compares emails or phones (its verdicts depend on more than signatures)."""
        return any(f in ("email", "phone") for f, *_ in self.fields)

    @classmethod
    def from_dict(cls, d: dict) -> "Rule":
        return cls(
            name=d["name"],
            kind=d["kind"],
            fields=tuple(
                (f["field"], float(f.get("weight", 1)), float(f.get("min", 0)), bool(f.get("required")))
                for f in d["fields"]
            ),
            threshold=int(d.get("threshold", 85)),
            action=d.get("action", "warn"),
        )


@dataclass(frozen=True)
class Verdict:
    score: int
    matched_fields: tuple[str, ...]
    rule: str
    action: str


# Fuzzy verdicts by (rule, signature, signature): in the blocks of common names (王伟 at one company)
# the same comparison comes back for many pairs of records. Bounded.
_VERDICTS: dict[tuple, "Verdict | None"] = {}
_VERDICTS_MAX = 1 << 17


def apply_rule(rule: Rule, a: Features, b: Features, cached: bool = True) -> Verdict | None:
    """The rule's verdict on a pair, or None when it does not fire. ``cached``: look fuzzy
    verdicts up by signatures (the scan keeps its own cache of them)."""
    if rule.kind == "exact":
        matched = tuple(f for f, *_ in rule.fields if similarity(f, a, b) == 1.0)
        return Verdict(100, matched, rule.name, rule.action) if matched else None
    if rule.by_contact_points or not cached:
        return _fuzzy_verdict(rule, a, b)
    key = (rule, a.signature, b.signature)
    try:
        return _VERDICTS[key]
    except KeyError:
        pass
    if len(_VERDICTS) >= _VERDICTS_MAX:
        _VERDICTS.clear()
    verdict = _VERDICTS[key] = _fuzzy_verdict(rule, a, b)
    return verdict


def present(feature: str, f: Features) -> bool:
    """Whether ``similarity`` has something to compare on this side (it is None when either lacks it)."""
    if feature == "name":
        return bool(f.names)
    if feature == "email":
        return bool(f.emails)
    if feature == "phone":
        return bool(f.phones)
    if feature.startswith("custom."):
        return bool(f.custom.get(feature.removeprefix("custom.")))
    return bool(getattr(f, feature, ""))


def could_fire(rule: Rule, both: set[str]) -> bool:
    """Whether the rule can accept a pair that has (only) the features ``both`` on both sides."""
    if rule.kind == "exact":
        return any(f in both for f, *_ in rule.fields)
    ceiling = weights = 0.0
    for feature, weight, _minimum, required in rule.fields:
        if feature in both:
            ceiling += weight
        elif required:
            return False
        else:
            ceiling += weight * MISSING
        weights += weight
    return bool(weights) and round(100 * ceiling / weights) >= rule.threshold


def _fuzzy_verdict(rule: Rule, a: Features, b: Features) -> Verdict | None:
    # The best score the pair could reach (every field it has on both sides equal) first: a rule
    # that cannot reach its threshold with what the records have (a name and nothing else) is
    # refused without computing a similarity.
    ceiling = weights = 0.0
    for feature, weight, _minimum, required in rule.fields:
        if present(feature, a) and present(feature, b):
            ceiling += weight
        elif required:
            return None
        else:
            ceiling += weight * MISSING
        weights += weight
    if not weights or round(100 * ceiling / weights) < rule.threshold:
        return None
    total = weights = 0.0
    matched: list[str] = []
    for feature, weight, minimum, required in rule.fields:
        s = similarity(feature, a, b)
        if s is None:
            if required:
                return None
            s = MISSING
        elif s < minimum:
            return None
        elif s >= 0.85:
            matched.append(feature)
        total += weight * s
        weights += weight
    if not weights:
        return None
    score = round(100 * total / weights)
    return Verdict(score, tuple(matched), rule.name, rule.action) if score >= rule.threshold else None


def judge(rules: Iterable[Rule], a: Features, b: Features, cached: bool = True) -> Verdict | None:
    """The strongest verdict of the rules (a blocking one wins a tie); None when no rule fires."""
    best: Verdict | None = None
    for rule in rules:
        verdict = apply_rule(rule, a, b, cached)
        if verdict is None:
            continue
        if best is None or (verdict.score, verdict.action == "block") > (best.score, best.action == "block"):
            fields = tuple(dict.fromkeys(best.matched_fields + verdict.matched_fields)) if best else None
            best = verdict if fields is None else Verdict(verdict.score, fields, verdict.rule, verdict.action)
        else:
            best = Verdict(
                best.score,
                tuple(dict.fromkeys(best.matched_fields + verdict.matched_fields)),
                best.rule,
                "block" if "block" in (best.action, verdict.action) else best.action,
            )
    return best


# --- blocking -------------------------------------------------------------------------------------


def blocking_keys(f: Features) -> set[str]:
    """The candidate groups a record belongs to; two records are compared only if they share one.

    e: each email · p: each phone · l: email local part · n: first 3 letters of the joined name (in
    both orders, so swapped names meet) · i: name initials + city.
    """
    keys = {"e:" + e for e in f.emails} | {"p:" + p for p in f.phones}
    keys |= {"l:" + e.split("@", 1)[0] for e in f.emails if len(e.split("@", 1)[0]) >= 3}
    for tokens in f.names:
        for order in [tokens] if f.organisation else _orders(tokens):
            joined = "".join(order)
            if len(joined) >= 2:
                keys.add("n:" + joined[:3])
            if f.city and not f.organisation:
                keys.add("i:" + "".join(t[0] for t in order) + "|" + f.city)
    for key, value in f.custom.items():
        keys.add(f"c:{key}:{value}")
    return keys


def sub_keys(f: Features, level: int) -> frozenset[str]:
    """Finer keys for a block too big to compare pairwise; a record is in one group per key, so the
    forms of one name still meet: per name order, the joined name (张伟 = "Wei Zhang" = zhangwei)
    and the first token with the initials of the rest ("Zhang YY." = 张宇雨 = zhang|yy);
    level 2 adds the city."""
    keys = _name_sub_keys(tuple(f.names), f.organisation)
    return keys if level == 1 else frozenset(f"{key}|{f.city}" for key in keys)


@lru_cache(maxsize=1 << 16)  # a scan asks for the keys of every record of a giant block (common names)
def _name_sub_keys(names: tuple[tuple[str, ...], ...], organisation: bool) -> frozenset[str]:
    keys = set()
    for tokens in names:
        for order in [tokens] if organisation else _orders(tokens):
            keys.add("".join(order))
            if len(order) > 1:
                keys.add(order[0] + "|" + "".join(_initials(t) for t in order[1:]))
    if not keys:
        keys.add("")
    return frozenset(keys)


def _initials(token: str) -> str:
    """A token's initial; an abbreviation (a short token without vowels: "yy" of "Zhang YY.") is
    already initials. Every pinyin syllable has a vowel."""
    if len(token) <= 3 and not any(c in "aeiouv" for c in token):
        return token
    return token[0]
