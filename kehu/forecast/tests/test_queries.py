"""Every figure of the forecast and the reports against the hand-computed fixture (see conftest.py)."""

from decimal import Decimal as D

import pytest

from kehu.forecast import queries
from kehu.forecast.periods import month, quarter

Q4 = quarter(2026, 4)


def run(tenant, role, fn, *args, **kwargs):
    with tenant.scope():
        return fn(tenant.actors[role], *args, **kwargs)


def test_forecast_total_for_the_quarter(tenant, sales_data):
    result = run(tenant, "admin", queries.forecast, Q4)
    total = result.total
    # Open deals closing in Q4, omitted d13 and next-year d3 left out: d1, d2, d8, d12.
    assert total.open_count == 4
    assert total.pipeline_amount == D("170000.00")  # 10,000 + 20,000 + 40,000 + 100,000
    # 10,000×75 % + 20,000×50 % + 40,000×75 % + 100,000×10 % = 7,500 + 10,000 + 30,000 + 10,000
    assert total.weighted_amount == D("57500.00")
    assert total.commit == D("50000.00")  # d1 10,000 + d8 40,000
    assert total.best_case == D("20000.00")  # d2
    assert total.pipeline == D("100000.00")  # d12
    # Won in Q4 (Shanghai): d4 8,000 + d5 12,000 (23:30 on 31 Dec) + d9 30,000; d6 (1 Jan 00:30) is not.
    assert total.won_count == 3
    assert total.won_amount == D("50000.00")
    # Quota: S 10,000 + 10,000 + 20,000 = 40,000 (months); M 60,000 (the quarter target wins over
    # its October month) → 100,000.
    assert total.quota == D("100000.00")
    assert total.attainment == D("50.0")  # 50,000 / 100,000
    assert total.gap == D("50000.00")
    assert total.projected == D("100000.00")  # won 50,000 + commit 50,000
    assert result.currency == "CNY"


def test_forecast_per_owner_and_team(tenant, sales_data):
    result = run(tenant, "admin", queries.forecast, Q4)
    owners = {line.id: line for line in result.owners}
    s, m, a = (tenant.users[k].pk for k in ("sales", "manager", "admin"))
    assert set(owners) == {s, m, a}
    # S: open d1 10,000 (commit, 7,500 weighted) + d2 20,000 (best case, 10,000); won d4 + d5.
    assert owners[s].pipeline_amount == D("30000.00")
    assert owners[s].weighted_amount == D("17500.00")
    assert (owners[s].commit, owners[s].best_case) == (D("10000.00"), D("20000.00"))
    assert owners[s].won_amount == D("20000.00")
    assert owners[s].quota == D("40000.00")
    assert owners[s].attainment == D("50.0")  # 20,000 / 40,000
    assert owners[s].gap == D("20000.00")
    # M: open d8 40,000 (commit, 30,000 weighted); won d9 30,000 of 60,000.
    assert owners[m].weighted_amount == D("30000.00")
    assert (owners[m].won_amount, owners[m].quota, owners[m].attainment) == (
        D("30000.00"),
        D("60000.00"),
        D("50.0"),
    )
    # A: d12 only, no quota.
    assert owners[a].pipeline_amount == D("100000.00")
    assert owners[a].quota is None and owners[a].attainment is None and owners[a].gap is None
    # Ordered by won amount: M 30,000, S 20,000, A 0.
    assert [line.id for line in result.owners] == [m, s, a]
    teams = {line.id: line for line in result.teams}
    east = sales_data["team"].pk
    assert set(teams) == {east, None}
    # East holds S's deals (d1, d2 open; d4, d5 won); its quota is its members' 40,000 + 60,000.
    assert teams[east].name == "East"
    assert (teams[east].pipeline_amount, teams[east].won_amount) == (D("30000.00"), D("20000.00"))
    assert teams[east].quota == D("100000.00")
    assert teams[east].attainment == D("20.0")  # 20,000 / 100,000
    # No team: d8 + d12 open (140,000), d9 won.
    assert (teams[None].pipeline_amount, teams[None].won_amount) == (D("140000.00"), D("30000.00"))


def test_forecast_for_a_month_uses_the_month_targets(tenant, sales_data):
    result = run(tenant, "admin", queries.forecast, month(2026, 10))
    owners = {line.id: line for line in result.owners}
    s, m = tenant.users["sales"].pk, tenant.users["manager"].pk
    # October: S won d4 (11 Oct) 8,000 of the October target 10,000; M won nothing of 5,000.
    assert (owners[s].won_amount, owners[s].quota, owners[s].attainment) == (
        D("8000.00"),
        D("10000.00"),
        D("80.0"),
    )
    assert (owners[m].won_amount, owners[m].quota, owners[m].attainment) == (D("0"), D("5000.00"), D("0.0"))
    # Open deals closing in October: d8 only (20 Oct).
    assert result.total.pipeline_amount == D("40000.00")
    assert result.total.quota == D("15000.00")


def test_forecast_filters_by_owner_and_team(tenant, sales_data):
    s = tenant.users["sales"].pk
    by_owner = run(tenant, "admin", queries.forecast, Q4, owner_id=s)
    assert by_owner.total.pipeline_amount == D("30000.00")
    assert by_owner.total.quota == D("40000.00")
    by_team = run(tenant, "admin", queries.forecast, Q4, team_id=sales_data["team"].pk)
    assert by_team.total.won_amount == D("20000.00")
    assert by_team.total.quota == D("100000.00")


def test_forecast_respects_record_scope(tenant, sales_data):
    # The rep sees only their own deals and quota.
    rep = run(tenant, "sales", queries.forecast, Q4).total
    assert (rep.pipeline_amount, rep.weighted_amount, rep.won_amount) == (
        D("30000.00"),
        D("17500.00"),
        D("20000.00"),
    )
    assert rep.quota == D("40000.00")
    owners = run(tenant, "sales", queries.forecast, Q4).owners
    assert [line.id for line in owners] == [tenant.users["sales"].pk]
    # The manager (team scope) sees East's people: S's and M's deals, not the admin's d12.
    manager = run(tenant, "manager", queries.forecast, Q4).total
    assert manager.pipeline_amount == D("70000.00")  # 30,000 + 40,000
    assert manager.won_amount == D("50000.00")
    assert manager.quota == D("100000.00")


def test_funnel(tenant, sales_data):
    result = run(tenant, "admin", queries.funnel, Q4)
    steps = {s["key"]: s for s in result["steps"]}
    # Cohort: leads created in Q4 Shanghai: L1 (00:00 on 1 Oct) L3 L4 L5 L6 L7 L8 L9 = 8
    # (L2 the minute before, L10 in January are out).
    assert steps["leads"]["count"] == 8
    assert steps["qualified"]["count"] == 5  # L4 L5 L6 L7 L9
    assert steps["opportunities"]["count"] == 3  # L5 L6 L9
    assert steps["won"]["count"] == 1  # L5 → d5 won
    assert steps["leads"]["rate"] is None
    assert steps["qualified"]["rate"] == D("62.5")  # 5 / 8
    assert steps["opportunities"]["rate"] == D("60.0")  # 3 / 5
    assert steps["won"]["rate"] == D("33.3")  # 1 / 3
    assert steps["opportunities"]["rate_of_leads"] == D("37.5")  # 3 / 8
    assert result["conversion"] == D("12.5")  # 1 / 8
    # The rep's own leads: L1 L3 L4 L5 L6 → 5, qualified L4 L5 L6, opportunities L5 L6, won L5.
    own = run(tenant, "sales", queries.funnel, Q4)
    assert [s["count"] for s in own["steps"]] == [5, 3, 2, 1]


def test_win_rate_deal_size_and_cycle(tenant, sales_data):
    result = run(tenant, "admin", queries.win_stats, Q4)
    # Closed in Q4: won d4 d5 d9, lost d7 d10 d11 (d6 closed in January).
    assert (result["won"], result["lost"], result["closed"]) == (3, 3, 6)
    assert result["win_rate"] == D("50.0")
    assert result["won_amount"] == D("50000.00")
    assert result["average_deal_size"] == D("16666.67")  # 50,000 / 3
    # Cycles: d4 1 Sep → 11 Oct = 40 days; d5 1 Oct → 31 Dec = 91; d9 1 Jul → 1 Nov = 123.
    assert result["cycle_mean_days"] == D("84.7")  # 254 / 3 = 84.67
    assert result["cycle_median_days"] == D("91.0")
    # The rep: won d4 d5, lost d7 → 2 / 3; cycles 40 and 91 → median (40 + 91) / 2 = 65.5.
    own = run(tenant, "sales", queries.win_stats, Q4)
    assert own["win_rate"] == D("66.7")
    assert own["cycle_median_days"] == D("65.5")
    assert own["cycle_mean_days"] == D("65.5")
    assert own["average_deal_size"] == D("10000.00")


def test_win_stats_with_nothing_closed(tenant, sales_data):
    result = run(tenant, "admin", queries.win_stats, quarter(2025, 1))
    assert result == {
        "won": 0,
        "lost": 0,
        "closed": 0,
        "win_rate": None,
        "won_amount": D("0.00"),
        "average_deal_size": None,
        "cycle_mean_days": None,
        "cycle_median_days": None,
    }


STAGE_NAMES = ("Qualification", "Needs analysis", "Proposal", "Negotiation", "Won", "Lost")


def by_stage(result: dict) -> dict:
    """The report's rows by the English stage name (the pipeline is named in the workspace's language)."""
    return {STAGE_NAMES[r["position"]]: r for r in result["stages"]}


def test_stage_conversion_and_time_in_stage(tenant, sales_data):
    pipeline = sales_data["pipeline"]
    result = run(tenant, "admin", queries.stage_report, pipeline, Q4)
    rows = by_stage(result)
    # Cohort: deals created in Q4: d1 d2 d3 d5 d6 d7 d10 d12 d13 = 9. Furthest stage reached (lost
    # stages apart): d1 Neg, d2 P, d3 Q, d5 Won, d6 Won, d7 NA, d10 Q, d12 Q, d13 P.
    assert result["cohort"] == 9
    assert rows["Qualification"]["reached"] == 9
    assert rows["Needs analysis"]["reached"] == 6  # d1 d2 d5 d6 d7 d13 (d2, d6, d13 skipped it)
    assert rows["Proposal"]["reached"] == 5  # d1 d2 d5 d6 d13
    assert rows["Negotiation"]["reached"] == 3  # d1 d5 d6
    assert rows["Won"]["reached"] == 2  # d5 d6
    assert rows["Lost"]["reached"] is None
    assert rows["Qualification"]["to_next"] == D("66.7")  # 6 / 9
    assert rows["Needs analysis"]["to_next"] == D("83.3")  # 5 / 6
    assert rows["Proposal"]["to_next"] == D("60.0")  # 3 / 5
    assert rows["Negotiation"]["to_next"] == D("66.7")  # 2 / 3
    assert rows["Won"]["to_next"] is None
    # Time in stage: stays that ended in Q4 (d6's 1 January move is out).
    # Qualification: d1 5, d2 10, d4 40, d5 10, d7 10, d9 123, d10 59, d11 20, d13 1 → 278 / 9 = 30.9
    assert (rows["Qualification"]["stays"], rows["Qualification"]["avg_days_in_stage"]) == (9, D("30.9"))
    # Needs analysis: d1 10, d5 10, d7 39 → 59 / 3 = 19.7
    assert (rows["Needs analysis"]["stays"], rows["Needs analysis"]["avg_days_in_stage"]) == (3, D("19.7"))
    # Proposal: d1 12, d5 30 → 21.0; Negotiation: d5 41 (d8 left Qualification in September).
    assert rows["Proposal"]["avg_days_in_stage"] == D("21.0")
    assert rows["Negotiation"]["avg_days_in_stage"] == D("41.0")
    assert rows["Won"]["stays"] == 0 and rows["Won"]["avg_days_in_stage"] is None


def test_stage_report_respects_record_scope(tenant, sales_data):
    pipeline = sales_data["pipeline"]
    result = run(tenant, "sales", queries.stage_report, pipeline, Q4)
    rows = by_stage(result)
    # The rep's Q4 deals: d1 (Neg) d2 (P) d3 (Q) d5 (Won) d6 (Won) d7 (NA) → 6.
    assert [
        rows[n]["reached"] for n in ("Qualification", "Needs analysis", "Proposal", "Negotiation", "Won")
    ] == [
        6,
        5,
        4,
        3,
        2,
    ]
    # Their Qualification stays ending in Q4: d1 5, d2 10, d4 40, d5 10, d7 10 → 75 / 5 = 15.0
    assert rows["Qualification"]["avg_days_in_stage"] == D("15.0")


def test_lost_reasons(tenant, sales_data):
    result = run(tenant, "admin", queries.lost_reasons, Q4)
    assert result["lost"] == 3
    assert result["reasons"] == [
        {"reason": "Price", "count": 2, "share": D("66.7"), "amount": D("10000.00")},  # d7 6,000 + d10 4,000
        {"reason": "Timing", "count": 1, "share": D("33.3"), "amount": D("9000.00")},  # d11
    ]
    own = run(tenant, "sales", queries.lost_reasons, Q4)
    assert own["reasons"] == [{"reason": "Price", "count": 1, "share": D("100.0"), "amount": D("6000.00")}]


def test_reports_need_view_permission(tenant, sales_data):
    from kehu.core.errors import PermissionDenied

    with tenant.scope():
        role = tenant.actors["sales"].membership.role
        role.permissions = {"deals.opportunity": {"actions": [], "scope": "own"}}
        role.save()
        from kehu.workspaces.services import actor_for

        actor = actor_for(tenant.users["sales"], tenant.workspace)
        with pytest.raises(PermissionDenied):
            queries.forecast(actor, Q4)
        with pytest.raises(PermissionDenied):
            queries.win_stats(actor, Q4)


def test_team_quota_without_deals_comes_from_its_members(tenant, sales_data):
    from kehu.workspaces.models import Team

    with tenant.scope():
        west = Team.objects.create(workspace=tenant.workspace, name="West")
        west.members.set([tenant.users["manager"]])
    # West owns no deals; its quota is its member M's 60,000.
    result = run(tenant, "admin", queries.forecast, Q4, team_id=west.pk)
    assert result.total.pipeline_amount == D("0") and result.total.quota == D("60000.00")
