"""Lifecycle stages, RFM scores and segments, grades: small fixtures with the expected numbers worked
out by hand in the comments (as of 2026-06-30, default lifecycle settings: new 90 days, at risk
beyond 2 × the median interval clamped to 30–270 days (90 for one-order customers), churned after
365 days)."""

from datetime import date

from kehu.analytics import engine, services
from kehu.analytics.models import CustomerScore, GradeChange, LifecycleChange, SegmentSnapshot
from kehu.customers.models import Account

AS_OF = date(2026, 6, 30)


def scores(book) -> dict[str, CustomerScore]:
    return {s.account.name: s for s in CustomerScore.objects.select_related("account")}


def five_customers(book):
    """P: no order. N: one order 29 days ago. A: 4 orders, gaps 31, 28, 111 (median 31, at risk
    beyond 62 days), last 10 days ago. R: gaps 30, 30 (at risk beyond 60), last 111 days ago.
    C: one order 425 days ago. W: an order in 2024, back 882 days later on 2026-06-15.
    Costs are 40% of the amount."""
    p = book.account("P")
    n, a, r, c, w = (book.account(x) for x in "NARCW")
    book.order(n, "2026-06-01", 500, 200)
    for day in ("2026-01-01", "2026-02-01", "2026-03-01", "2026-06-20"):
        book.order(a, day, 1000, 400)
    for day in ("2026-01-10", "2026-02-09", "2026-03-11"):
        book.order(r, day, 300, 120)
    book.order(c, "2025-05-01", 2000, 800)
    book.order(w, "2024-01-15", 1500, 600)
    book.order(w, "2026-06-15", 1500, 600)
    # Not counted: a draft and a cancelled order.
    book.order(p, "2026-06-01", 9999, status="draft")
    book.order(n, "2026-06-02", 9999, status="cancelled")
    return p, n, a, r, c, w


def test_lifecycle_rfm_and_grade_by_hand(book):
    five_customers(book)
    services.update_settings(
        book.tenant.actors["owner"], {"weights": {"value": 1, "margin": 1}, "grade_method": "thresholds"}
    )
    run = engine.compute(book.ws, "full", as_of=AS_OF)
    got = scores(book)
    stages = {name: Account.objects.get(name=name).lifecycle_stage for name in "PNARCW"}
    assert stages == {
        "P": "prospect",
        "N": "new",
        "A": "active",
        "R": "at_risk",
        "C": "churned",
        "W": "won_back",
    }
    assert got["A"].median_interval_days == 31
    assert got["R"].median_interval_days == 30
    assert got["W"].last_return_date == date(2026, 6, 15)
    # N: new until 2026-06-01 + 90 = 2026-08-30 (at risk would start at 29 + 152 days).
    assert got["N"].next_change_on == date(2026, 8, 30)
    # A: at risk from day 63 after 2026-06-20 = 2026-08-22.
    assert got["A"].next_change_on == date(2026, 8, 22)
    # Recency days: A 10, W 15, N 29, R 111, C 425 → quintile edges [10, 15, 29, 111] → R 5, 4, 3, 2, 1.
    assert run.cuts["r"] == [10, 15, 29, 111]
    assert {k: got[k].recency_days for k in "AWNRC"} == {"A": 10, "W": 15, "N": 29, "R": 111, "C": 425}
    assert {k: got[k].r for k in "AWNRC"} == {"A": 5, "W": 4, "N": 3, "R": 2, "C": 1}
    # Orders: N 1, C 1, W 2, R 3, A 4 → edges [1, 1, 2, 3] → F 1, 1, 3, 4, 5.
    assert run.cuts["f"] == [1, 1, 2, 3]
    assert {k: got[k].f for k in "NCWRA"} == {"N": 1, "C": 1, "W": 3, "R": 4, "A": 5}
    # Revenue: N 500, R 900, C 2000, W 3000, A 4000 → M 1, 2, 3, 4, 5.
    assert run.cuts["m"] == [500, 900, 2000, 3000]
    assert {k: got[k].m for k in "NRCWA"} == {"N": 1, "R": 2, "C": 3, "W": 4, "A": 5}
    # FM = (F + M + 1) // 2: A (5+5) 5, W (3+4) 4, R (4+2) 3, C (1+3) 2, N (1+1) 1.
    assert {k: got[k].fm for k in "AWRCN"} == {"A": 5, "W": 4, "R": 3, "C": 2, "N": 1}
    assert {k: got[k].segment for k in "AWRCN"} == {
        "A": "champions",
        "W": "loyal",
        "R": "at_risk",
        "C": "lost",
        "N": "about_to_sleep",
    }
    assert got["P"].segment == "" and got["P"].r is None
    # Grade: value (revenue since 2025-06-30) N 500, R 900, W 1500, A 4000, C and P 0; the edges are
    # the quintiles of the non-zero values (4 of them: [500, 900, 1500, 4000]); margin = 60% of
    # value, the same bins. Score = (value bin + margin bin) / 2: A 4, W 3, R 2, N 1, C 1, P 1.
    assert run.cuts["dims"]["value"] == [500, 900, 1500, 4000]
    assert {k: got[k].grade_score for k in "AWRNCP"} == {"A": 4, "W": 3, "R": 2, "N": 1, "C": 1, "P": 1}
    grades = {name: Account.objects.get(name=name).grade for name in "PNARCW"}
    assert grades == {
        "A": "strategic",
        "W": "important",
        "R": "ordinary",
        "N": "ordinary",
        "C": "ordinary",
        "P": "ordinary",
    }
    assert GradeChange.objects.filter(to_grade="strategic").count() == 1
    assert LifecycleChange.objects.filter(manual=False).count() == 6
    assert SegmentSnapshot.objects.filter(date=AS_OF).count() == 5
    assert run.stats["accounts"] == 6


def test_quantile_tiers(book):
    five_customers(book)
    services.update_settings(
        book.tenant.actors["owner"], {"weights": {"value": 1, "margin": 1}, "grade_method": "quantiles"}
    )
    run = engine.compute(book.ws, "full", as_of=AS_OF)
    # Scores A 4, W 3, R 2, N/C/P 1; shares 10 / 30 / 60 of 6 accounts: strategic takes score groups
    # from the top until 0.6 accounts are covered (A), important until 2.4 (W, then R: 3 accounts).
    assert run.cuts["grade"] == [4, 2]
    grades = dict(Account.objects.values_list("name", "grade"))
    assert grades == {
        "A": "strategic",
        "W": "important",
        "R": "important",
        "N": "ordinary",
        "C": "ordinary",
        "P": "ordinary",
    }


def test_fixed_bins_and_segment_map():
    # The Python twin of the SQL: fixed edges and the 11-segment map on R and FM.
    assert engine.bin_of(30, [30, 90, 180, 365], reverse=True) == 5
    assert engine.bin_of(31, [30, 90, 180, 365], reverse=True) == 4
    assert engine.bin_of(400, [30, 90, 180, 365], reverse=True) == 1
    assert engine.bin_of(9, [1, 2, 4, 8]) == 5
    assert engine.segment_of(5, 5, 4) == "champions"  # FM (5+4+1)//2 = 5
    assert engine.segment_of(5, 1, 1) == "new_customers"
    assert engine.segment_of(4, 1, 1) == "promising"
    assert engine.segment_of(3, 3, 3) == "need_attention"
    assert engine.segment_of(1, 5, 5) == "cant_lose"
    assert engine.segment_of(2, 1, 2) == "hibernating"  # FM (1+2+1)//2 = 2
    assert engine.segment_of(1, 1, 1) == "lost"
    names = {name for row in engine.SEGMENT_GRID.values() for name in row}
    assert len(names) == 11


def test_fixed_rfm_bins(book):
    _p, _n, _a, _r, _c, _w = five_customers(book)
    services.update_settings(
        book.tenant.actors["owner"],
        {
            "rfm_method": "bins",
            "rfm_bins": {"r": [30, 90, 180, 365], "f": [1, 2, 4, 8], "m": [1000, 2000, 3000, 4000]},
        },
    )
    engine.compute(book.ws, "full", as_of=AS_OF)
    got = scores(book)
    # N: 29 days → R 5; 1 order → F 1; 500 → M 1 → FM 1 → new customers.
    assert (got["N"].r, got["N"].f, got["N"].m, got["N"].segment) == (5, 1, 1, "new_customers")
    # R: 111 days → R 3; 3 orders → F 3; 900 → M 1 → FM (3+1+1)//2 = 2 → about to sleep.
    assert (got["R"].r, got["R"].f, got["R"].m, got["R"].segment) == (3, 3, 1, "about_to_sleep")
    # C: 425 days → R 1; F 1; 2000 → M 2 → FM 2 → lost.
    assert (got["C"].r, got["C"].f, got["C"].m, got["C"].segment) == (1, 1, 2, "lost")


def test_manual_override_sticks_until_cleared(book):
    _p, _n, _a, r, _c, _w = five_customers(book)
    owner = book.tenant.actors["owner"]
    engine.compute(book.ws, "full", as_of=AS_OF)
    services.set_override(owner, r.pk, "active", "Signed a framework contract")
    engine.compute(book.ws, "full", as_of=AS_OF)
    engine.compute(book.ws, "incremental", as_of=AS_OF)
    r.refresh_from_db()
    assert r.lifecycle_stage == "active"
    assert CustomerScore.objects.get(account=r).derived_stage == "at_risk"
    change = LifecycleChange.objects.filter(account=r, manual=True).get()
    assert (change.from_stage, change.to_stage, change.reason, change.user_id) == (
        "at_risk",
        "active",
        "Signed a framework contract",
        owner.user.pk,
    )
    services.clear_override(owner, r.pk)
    r.refresh_from_db()
    assert r.lifecycle_stage == "at_risk"
    engine.compute(book.ws, "incremental", as_of=AS_OF)
    r.refresh_from_db()
    assert r.lifecycle_stage == "at_risk"


def test_stage_moves_with_time_and_orders(book):
    """W is won back on 2026-06-15; 90 days later (2026-09-13) the window ends → active; with no order
    it is at risk after 2 × 882 clamped to 270 days → from 2027-03-13; churned 365 days after the last
    order (2027-06-15). A new order the next day makes it won back? No: the gap is 366 ≥ 365 → won back."""
    _p, _n, _a, _r, _c, w = five_customers(book)
    engine.compute(book.ws, "full", as_of=AS_OF)
    expected = [
        (date(2026, 9, 12), "won_back"),
        (date(2026, 9, 13), "active"),
        (date(2027, 3, 12), "active"),
        (date(2027, 3, 13), "at_risk"),
        (date(2027, 6, 15), "churned"),
    ]
    for day, stage in expected:
        engine.compute(book.ws, "incremental", as_of=day)
        w.refresh_from_db()
        assert (day, w.lifecycle_stage) == (day, stage)
    book.order(w, "2027-06-16", 100, 40)
    engine.compute(book.ws, "incremental", as_of=date(2027, 6, 16))
    w.refresh_from_db()
    assert w.lifecycle_stage == "won_back"
    path = list(
        LifecycleChange.objects.filter(account=w).order_by("at", "pk").values_list("to_stage", flat=True)
    )
    assert path == ["won_back", "active", "at_risk", "churned", "won_back"]
