"""Rule-based lead scoring: pure functions over plain values, no database (fast and easy to test).

A fit rule adds its points once when its condition on a lead field holds. An engagement rule adds
its points for every matching timeline event, each event's points halving every ``half_life_days``
(exponential decay: ``points × 0.5^(age / half_life)``), and the rule's total is capped at ``cap``.
The score is the sum of all rules, rounded and clamped to 0–100; every rule that contributed is
one reason in the breakdown ("+20 Industry is Software").
"""

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

MAX_AGE_DAYS = 365  # events older than this never count (bounds the timeline read)
MAX_EVENTS = 500  # per lead and scoring; a lead with more is scored on its newest ones

OPERATORS_WITH_LIST = {"in", "not_in"}
OPERATORS_WITHOUT_VALUE = {"is_set", "is_empty"}
NUMERIC_OPERATORS = {"gt", "gte", "lt", "lte"}

# Timeline events an engagement rule can count: (label, activity kind, direction, outcome words,
# minimum duration in seconds). Outcome words are alternatives ("|"); with both words and a minimum
# duration an event matches on either (a connected call has a duration, or says so in its outcome).
EVENT_PRESETS: dict[str, tuple[Any, str, str, str, int | None]] = {
    "email_opened": (gettext_lazy("Email opened"), "email", "", "opened|open|已打开|打开", None),
    "email_clicked": (gettext_lazy("Email link clicked"), "email", "", "clicked|click|已点击|点击", None),
    "email_replied": (gettext_lazy("Email replied"), "email", "inbound", "", None),
    "form_submitted": (
        gettext_lazy("Form submitted"),
        "",
        "inbound",
        "form submitted|web form|submitted|表单|提交",
        None,
    ),
    "meeting_held": (gettext_lazy("Meeting held"), "meeting", "", "", None),
    "visit_held": (gettext_lazy("Visit"), "visit", "", "", None),
    "call_connected": (gettext_lazy("Call connected"), "call", "", "connected|answered|接通|已接通", 30),
    "inbound_message": (gettext_lazy("Message received"), "message", "inbound", "", None),
    "custom": (gettext_lazy("Custom event"), "", "", "", None),
}


@dataclass(frozen=True)
class Event:
    """One timeline entry of a lead, as much as rules look at."""

    kind: str
    occurred_at: datetime
    direction: str = ""
    outcome: str = ""
    duration: int | None = None


@dataclass(frozen=True)
class Rule:
    """A scoring rule compiled for evaluation (from ``ScoringRule`` or an unsaved form)."""

    id: int | None
    kind: str
    points: int
    name: str = ""
    field: str = ""
    operator: str = ""
    value: Any = None
    event: str = ""
    activity_kind: str = ""
    direction: str = ""
    keywords: tuple[str, ...] = ()
    min_duration: int | None = None
    cap: int | None = None
    half_life_days: int | None = None

    @classmethod
    def of(cls, rule) -> "Rule":
        words = tuple(w.strip().casefold() for w in (rule.outcome_keywords or "").split("|") if w.strip())
        return cls(
            id=rule.pk,
            kind=rule.kind,
            points=int(rule.points),
            name=rule.name,
            field=rule.field,
            operator=rule.operator,
            value=rule.value,
            event=rule.event,
            activity_kind=rule.activity_kind,
            direction=rule.direction,
            keywords=words,
            min_duration=rule.min_duration,
            cap=rule.cap,
            half_life_days=rule.half_life_days,
        )

    @property
    def max_age_days(self) -> float:
        """Older events are ignored: after 10 half-lives an event keeps < 0.1% of its points."""
        return min(MAX_AGE_DAYS, 10 * self.half_life_days) if self.half_life_days else MAX_AGE_DAYS


@dataclass
class Reason:
    rule_id: int | None
    kind: str
    points: float
    text: str
    field: str = ""

    def as_dict(self) -> dict:
        return {"rule_id": self.rule_id, "kind": self.kind, "points": self.points, "text": self.text}


@dataclass
class Result:
    score: int
    total: float  # before clamping: shows how far above 100 / below 0 the rules went
    reasons: list[Reason] = field(default_factory=list)


# --- conditions ------------------------------------------------------------------------------------


def number(value: Any) -> float | None:
    if isinstance(value, bool) or value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip().casefold()


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _equal(actual: Any, expected: Any) -> bool:
    if isinstance(actual, list):  # multi-select custom field: "is X" means it holds X
        return any(_equal(item, expected) for item in actual)
    a, b = number(actual), number(expected)
    if a is not None and b is not None:
        return a == b
    return _text(actual) == _text(expected)


def matches(operator: str, actual: Any, expected: Any) -> bool:
    """Whether a lead's field value ``actual`` satisfies ``operator expected`` (case-insensitive)."""
    if operator == "is_set":
        return not _empty(actual)
    if operator == "is_empty":
        return _empty(actual)
    if operator in ("eq", "ne"):
        return _equal(actual, expected) == (operator == "eq")
    if operator in OPERATORS_WITH_LIST:
        options = expected if isinstance(expected, list) else [expected]
        found = any(_equal(actual, option) for option in options)
        return found if operator == "in" else not found
    if operator in ("contains", "not_contains"):
        if isinstance(actual, list):
            found = any(_equal(item, expected) for item in actual)
        else:
            found = not _empty(actual) and _text(expected) in _text(actual)
        return found if operator == "contains" else not found
    if operator == "startswith":
        return not _empty(actual) and _text(actual).startswith(_text(expected))
    if operator in NUMERIC_OPERATORS:
        a: Any = number(actual)
        b: Any = number(expected)
        if a is None or b is None:
            if a is not None or b is not None or _empty(actual) or _empty(expected):
                return False  # a number against text, or nothing to compare
            a, b = _text(actual), _text(expected)  # both text: ISO dates compare correctly as text
        return {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[operator]
    return False


def event_matches(rule: Rule, event: Event) -> bool:
    if rule.activity_kind and event.kind != rule.activity_kind:
        return False
    if rule.direction and event.direction != rule.direction:
        return False
    by_words = bool(rule.keywords) and any(w in (event.outcome or "").casefold() for w in rule.keywords)
    by_duration = rule.min_duration is not None and (event.duration or 0) >= rule.min_duration
    if rule.keywords or rule.min_duration is not None:
        return by_words or by_duration
    return True


def decay(points: float, age_days: float, half_life_days: int | None) -> float:
    """``points`` after ``age_days`` with the given half-life (no decay without one)."""
    if not half_life_days:
        return float(points)
    return points * math.pow(0.5, max(0.0, age_days) / half_life_days)


# --- descriptions ----------------------------------------------------------------------------------


def _value_text(value: Any, labels: Mapping[str, str]) -> str:
    if isinstance(value, list):
        return ", ".join(_value_text(v, labels) for v in value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(labels.get(str(value), value))


def describe_condition(
    rule: Rule, field_labels: Mapping[str, str], value_labels: Mapping[str, Mapping]
) -> str:
    """ "Industry is one of Software, SaaS" — the condition in words."""
    from .models import ScoringRule

    label = str(field_labels.get(rule.field, rule.field))
    op = str(dict(ScoringRule.Operator.choices).get(rule.operator, rule.operator))
    if rule.operator in OPERATORS_WITHOUT_VALUE:
        return f"{label} {op}"
    return f"{label} {op} {_value_text(rule.value, value_labels.get(rule.field, {}))}"


def event_label(rule: Rule) -> str:
    if rule.name:
        return rule.name
    preset = EVENT_PRESETS.get(rule.event)
    if preset and rule.event != "custom":
        return str(preset[0])
    return str(rule.activity_kind or _("Any activity")).capitalize()


def _ago(days: float) -> str:
    if days < 1:
        return _("today")
    n = int(days)
    return ngettext("%(n)s day ago", "%(n)s days ago", n) % {"n": n}


# --- scoring ---------------------------------------------------------------------------------------


def fit_reason(rule: Rule, values: Mapping[str, Any], field_labels, value_labels) -> Reason | None:
    if not matches(rule.operator, values.get(rule.field), rule.value):
        return None
    text = rule.name or describe_condition(rule, field_labels, value_labels)
    return Reason(rule.id, "fit", float(rule.points), text, rule.field)


def engagement_reason(rule: Rule, events: Iterable[Event], now: datetime) -> Reason | None:
    total, count, newest = 0.0, 0, None
    for event in events:
        age = (now - event.occurred_at).total_seconds() / 86400
        if age > rule.max_age_days or not event_matches(rule, event):
            continue
        total += decay(rule.points, age, rule.half_life_days)
        count += 1
        newest = age if newest is None else min(newest, age)
    if not count:
        return None
    capped = rule.cap is not None and abs(total) > rule.cap
    if capped:
        total = math.copysign(rule.cap, total)  # type: ignore[arg-type]
    parts = [event_label(rule)]
    if count > 1:
        parts.append(f"×{count}")
    parts.append(_ago(newest or 0.0) if count == 1 else _("latest %(when)s") % {"when": _ago(newest or 0.0)})
    notes = []
    if rule.half_life_days and (newest or 0) >= 1:
        notes.append(_("decayed"))
    if capped:
        notes.append(_("capped at %(cap)s") % {"cap": rule.cap})
    text = " ".join(parts) + (f" ({', '.join(notes)})" if notes else "")
    return Reason(rule.id, "engagement", round(total, 1), text)


def evaluate(
    rules: Iterable[Rule],
    values: Mapping[str, Any],
    events: list[Event],
    now: datetime,
    *,
    field_labels: Mapping[str, str] | None = None,
    value_labels: Mapping[str, Mapping] | None = None,
) -> Result:
    """The rule-based score of one lead: ``values`` by field name (``custom.<key>`` for custom fields)."""
    field_labels, value_labels = field_labels or {}, value_labels or {}
    reasons = []
    for rule in rules:
        if rule.kind == "fit":
            reason = fit_reason(rule, values, field_labels, value_labels)
        else:
            reason = engagement_reason(rule, events, now)
        if reason is not None and reason.points:
            reasons.append(reason)
    reasons.sort(key=lambda r: -abs(r.points))
    total = sum(r.points for r in reasons)
    return Result(score=clamp(total), total=round(total, 1), reasons=reasons)


def clamp(total: float) -> int:
    return max(0, min(100, round(total)))


def format_points(points: float) -> str:
    """ "+20", "−3", "+8.4": the sign always shown, no trailing ".0"."""
    text = f"{abs(points):.1f}".removesuffix(".0")
    return ("+" if points >= 0 else "−") + text
