"""Rule-based scoring without a database: conditions, decay, caps, clamping and the breakdown text."""

from datetime import UTC, datetime, timedelta

import pytest

from kehu.scoring import engine
from kehu.scoring.engine import Event, Rule

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def fit(field, operator, value, points=10, **kw):
    return Rule(id=1, kind="fit", points=points, field=field, operator=operator, value=value, **kw)


def engagement(points=10, **kw):
    kw.setdefault("activity_kind", "meeting")
    return Rule(id=2, kind="engagement", points=points, event=kw.pop("event", "meeting_held"), **kw)


def ago(days, kind="meeting", **kw):
    return Event(kind, NOW - timedelta(days=days), **kw)


@pytest.mark.parametrize(
    ("operator", "actual", "expected", "result"),
    [
        ("eq", "Software", "software", True),
        ("eq", "Retail", "Software", False),
        ("ne", "Retail", "Software", True),
        ("in", "SaaS", ["Software", "saas"], True),
        ("in", "", ["Software"], False),
        ("not_in", "Retail", ["Software", "SaaS"], True),
        ("contains", "Chief Technology Officer", "technology", True),
        ("contains", "", "cto", False),
        ("not_contains", "Engineer", "director", True),
        ("startswith", "IT director", "it ", True),
        ("gte", 500, "500", True),
        ("gt", "120.5", 120, True),
        ("lt", None, 10, False),  # empty never compares
        ("lt", "abc", 10, False),  # text against a number: no match, no error
        ("gte", "2026-05-01", "2026-01-01", True),  # ISO dates compare as text
        ("is_set", "x", None, True),
        ("is_set", "", None, False),
        ("is_empty", None, None, True),
        ("eq", ["a", "b"], "B", True),  # multi-select holds the value
        ("contains", ["a", "b"], "c", False),
        ("eq", True, "true", True),
    ],
)
def test_conditions(operator, actual, expected, result):
    assert engine.matches(operator, actual, expected) is result


def test_fit_rule_on_a_custom_field_and_clamping():
    rules = [
        fit("industry", "eq", "Software", 20, name=""),
        fit("custom.budget", "gte", 100000, 50),
        fit("custom.budget", "lt", 1000, -30),
        fit("source", "eq", "referral", 40),
    ]
    values = {"industry": "Software", "source": "referral", "custom.budget": 250000}
    result = engine.evaluate(
        rules, values, [], NOW, field_labels={"industry": "Industry", "custom.budget": "Budget"}
    )
    assert result.total == 110
    assert result.score == 100  # clamped
    assert [r.points for r in result.reasons] == [50, 40, 20]  # largest first
    assert "Budget at least 100000" in [r.text for r in result.reasons]
    assert "Industry is Software" in [r.text for r in result.reasons]

    low = engine.evaluate(rules, {"custom.budget": 10}, [], NOW)
    assert (low.total, low.score) == (-30, 0)  # clamped at 0


def test_value_labels_in_the_description():
    rule = fit("source", "in", ["referral", "event"], 5)
    result = engine.evaluate(
        [rule],
        {"source": "event"},
        [],
        NOW,
        field_labels={"source": "Source"},
        value_labels={"source": {"referral": "Referral", "event": "Event"}},
    )
    assert result.reasons[0].text == "Source is one of Referral, Event"


def test_decay_halves_per_half_life():
    assert engine.decay(8, 0, 7) == 8
    assert engine.decay(8, 7, 7) == pytest.approx(4)
    assert engine.decay(8, 14, 7) == pytest.approx(2)
    assert engine.decay(8, 365, None) == 8  # no half-life: no decay
    assert engine.decay(8, -1, 7) == 8  # a future-dated event counts fully, never more


def test_engagement_decays_and_describes_it():
    rule = engagement(points=8, half_life_days=3)
    result = engine.evaluate([rule], {}, [ago(3)], NOW)
    assert result.reasons[0].points == 4.0
    assert result.reasons[0].text == "Meeting held 3 days ago (decayed)"
    fresh = engine.evaluate([rule], {}, [ago(0.2)], NOW)
    assert fresh.reasons[0].text == "Meeting held today"
    assert fresh.score == 8


def test_engagement_cap_and_count():
    rule = engagement(points=10, cap=25)
    result = engine.evaluate([rule], {}, [ago(1), ago(2), ago(5), ago(9)], NOW)
    assert result.reasons[0].points == 25
    assert result.reasons[0].text == "Meeting held ×4 latest 1 day ago (capped at 25)"


def test_negative_engagement_is_capped_symmetrically():
    rule = Rule(id=3, kind="engagement", points=-10, event="custom", activity_kind="email", cap=15)
    result = engine.evaluate([rule], {}, [ago(1, "email"), ago(2, "email")], NOW)
    assert result.reasons[0].points == -15


def test_events_older_than_the_window_are_ignored():
    rule = engagement(points=10, half_life_days=5)  # window = 50 days
    assert engine.evaluate([rule], {}, [ago(60)], NOW).reasons == []
    no_decay = engagement(points=10)
    assert engine.evaluate([no_decay], {}, [ago(400)], NOW).reasons == []  # > 365 days


def test_event_matching_kind_direction_words_duration():
    preset = engine.EVENT_PRESETS["call_connected"]
    call = Rule(
        id=4,
        kind="engagement",
        points=5,
        event="call_connected",
        activity_kind=preset[1],
        keywords=("connected", "接通"),
        min_duration=preset[4],
    )
    assert engine.event_matches(call, Event("call", NOW, outcome="已接通"))
    assert engine.event_matches(call, Event("call", NOW, duration=120))
    assert not engine.event_matches(call, Event("call", NOW, outcome="no answer", duration=0))
    assert not engine.event_matches(call, Event("email", NOW, outcome="connected"))
    replied = Rule(id=5, kind="engagement", points=5, activity_kind="email", direction="inbound")
    assert engine.event_matches(replied, Event("email", NOW, direction="inbound"))
    assert not engine.event_matches(replied, Event("email", NOW, direction="outbound"))


def test_fit_and_engagement_together():
    rules = [fit("industry", "eq", "Software", 20), engagement(points=8, half_life_days=3)]
    result = engine.evaluate(
        rules, {"industry": "software"}, [ago(3)], NOW, field_labels={"industry": "Industry"}
    )
    assert result.score == 24
    labels = [f"{engine.format_points(r.points)} {r.text}" for r in result.reasons]
    assert labels == ["+20 Industry is Software", "+4 Meeting held 3 days ago (decayed)"]


def test_format_points():
    assert engine.format_points(20) == "+20"
    assert engine.format_points(8.44) == "+8.4"
    assert engine.format_points(-3) == "−3"
