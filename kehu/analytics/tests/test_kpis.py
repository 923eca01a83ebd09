"""KPIs and the cohort matrix on a small history worked out by hand (churned after 60 days).

    X created 2025-10-01: orders 2025-11-10, 2026-01-05, 2026-01-20, 2026-04-10
    Y created 2025-12-01: order 2026-01-15
    Z created 2025-12-01: orders 2026-02-10, 2026-02-25
    Q created 2025-12-01: no order (a prospect throughout)
    V created 2026-02-15: order 2026-03-01
    U created 2025-06-01: orders 2025-10-01, 2026-03-20 (170 days apart: won back)

Churn dates (last order + 60 days with no order in between): X 2026-03-21 (after 01-20; it comes
back 2026-04-10, 80 days after: won back), Y 2026-03-16, Z 2026-04-26, V 2026-04-30, U 2025-11-30.
"""

from datetime import UTC, date, datetime

from kehu.analytics import kpis, services


def history(book):
    def account(name, created):
        return book.account(name, created_at=datetime.fromisoformat(created).replace(tzinfo=UTC))

    x, y, z = account("X", "2025-10-01"), account("Y", "2025-12-01"), account("Z", "2025-12-01")
    account("Q", "2025-12-01")
    v, u = account("V", "2026-02-15"), account("U", "2025-06-01")
    for who, days in (
        (x, ["2025-11-10", "2026-01-05", "2026-01-20", "2026-04-10"]),
        (y, ["2026-01-15"]),
        (z, ["2026-02-10", "2026-02-25"]),
        (v, ["2026-03-01"]),
        (u, ["2025-10-01", "2026-03-20"]),
    ):
        for day in days:
            book.order(who, day, 100)
    book.order(y, "2026-02-01", 100, status="cancelled")  # not counted
    services.update_settings(book.tenant.actors["owner"], {"churn_days": 60})


def test_monthly_kpis(book):
    history(book)
    rows = {r["period"]: r for r in kpis.compute_kpis(book.ws, "month", date(2026, 1, 1), date(2026, 4, 30))}
    assert list(rows) == ["2026-01", "2026-02", "2026-03", "2026-04"]
    pick = (
        "new_customers",
        "prospects_at_start",
        "first_purchases",
        "buyers",
        "repeat_buyers",
        "active_at_start",
        "churned",
        "won_back",
    )
    got = {key: tuple(rows[key][k] for k in pick) for key in rows}
    assert got == {
        # Jan: new Y. Prospects at 01-01: Y, Z, Q (X and U had ordered; V did not exist) → Y bought: 1/3.
        # Buyers X, Y; X ordered before → repeat 1/2. Active at 01-01 (an order after 2025-11-02): X;
        # it churns on 03-21, not in January → 0/1.
        "2026-01": (1, 3, 1, 2, 1, 1, 0, 0),
        # Feb: new Z (two orders: a repeat buyer too). Prospects Z, Q → 1/2. Active at 02-01 (an order
        # after 2025-12-03): X, Y; nobody churns in February.
        "2026-02": (1, 2, 1, 1, 1, 2, 0, 0),
        # Mar: new V; U comes back after 170 days (won back, a repeat buyer). Prospects Q, V → 1/2.
        # Active at 03-01 (an order after 2025-12-31): X, Y, Z; X (03-21) and Y (03-16) churn: 2/3.
        "2026-03": (1, 2, 1, 2, 1, 3, 2, 1),
        # Apr: X comes back after 80 days. Prospects: Q → 0/1. Active at 04-01 (an order after 01-31):
        # Z, V, U; Z (04-26) and V (04-30) churn: 2/3.
        "2026-04": (0, 1, 0, 1, 1, 3, 2, 1),
    }
    assert rows["2026-01"]["first_purchase_rate"] == 0.3333
    assert rows["2026-01"]["repeat_purchase_rate"] == 0.5
    assert rows["2026-03"]["churn_rate"] == 0.6667
    assert rows["2026-04"]["first_purchase_rate"] == 0.0


def test_quarterly_kpis(book):
    history(book)
    (q1,) = kpis.compute_kpis(book.ws, "quarter", date(2026, 1, 1), date(2026, 3, 31))
    # New Y, Z, V; buyers X, Y, Z, V, U of which X, Z, U repeat; prospects at 01-01 Y, Z, Q of which Y
    # and Z bought; active at 01-01: X, who churns on 03-21; U won back.
    assert q1["period"] == "2026-Q1"
    assert (q1["new_customers"], q1["buyers"], q1["repeat_buyers"], q1["won_back"]) == (3, 5, 3, 1)
    assert (q1["prospects_at_start"], q1["first_purchases"], q1["first_purchase_rate"]) == (3, 2, 0.6667)
    assert (q1["active_at_start"], q1["churned"], q1["churn_rate"]) == (1, 1, 1.0)
    assert q1["repeat_purchase_rate"] == 0.6


def test_cohort_matrix(book):
    history(book)
    cohorts = {c["cohort"]: c for c in kpis.cohort_matrix(book.ws, date(2025, 10, 1), date(2026, 4, 30))}
    # Cohort = month of the first order; k = months after it with an order.
    assert cohorts["2025-10"]["retained"] == [1, 0, 0, 0, 0, 1, 0]  # U: October, then March (k=5)
    assert cohorts["2025-11"]["retained"] == [1, 0, 1, 0, 0, 1]  # X: Nov, Jan (k=2), Apr (k=5)
    assert cohorts["2026-01"]["retained"] == [1, 0, 0, 0]
    assert cohorts["2026-02"]["retained"] == [1, 0, 0]  # Z's two February orders count once
    assert cohorts["2026-03"]["rates"] == [1.0, 0.0]
    assert "2025-12" not in cohorts  # nobody's first order
