"""A small sales history whose every forecast and report figure is computed by hand in the tests.

Workspace time zone Asia/Shanghai (UTC+8); the period under test is Q4 2026 (1 Oct – 31 Dec).
Default pipeline: Qualification 10 % (position 0), Needs analysis 20 % (1), Proposal 50 % (2),
Negotiation 75 % (3), Won (4), Lost (5). Amounts in CNY, the base currency.

People: ``sales`` (rep, "own" scope) and ``manager`` (team scope) form team East; ``admin`` sees all.

Deals (owner, team; created → moves; all at 10:00 Shanghai unless said):
  d1  S East 10,000  10-05 Q → NA 10-10 → P 10-20 → Neg 11-01; close 2026-11-15 (commit)
  d2  S East 20,000  10-05 Q → P 10-15; close 2026-12-31 (best case; last day of Q4)
  d3  S East  5,000  10-10 Q; close 2027-01-01 (pipeline; outside Q4)
  d4  S East  8,000  09-01 Q → Won 10-11
  d5  S East 12,000  10-01 23:30 Q → NA 10-11 23:30 → P 10-21 23:30 → Neg 11-20 23:30 → Won 12-31 23:30
  d6  S East  3,000  11-01 00:30 Q → Won 2027-01-01 00:30 (16:30 UTC on 31 Dec: not Q4)
  d7  S East  6,000  10-02 Q → NA 10-12 → Lost 11-20 "Price"
  d8  M      40,000  08-01 Q → Neg 09-01; close 2026-10-20 (commit)
  d9  M      30,000  07-01 09:00 Q → Won 11-01 09:00
  d10 M       4,000  10-03 Q → Lost 12-01 "Price"
  d11 M       9,000  09-15 Q → Lost 10-05 "Timing"
  d12 A     100,000  11-10 Q; close 2026-12-01 (pipeline)
  d13 A       7,000  11-11 Q → P 11-12, forecast category overridden to "omitted"; close 2026-11-01

Targets: S 10,000 / 10,000 / 20,000 for Oct / Nov / Dec 2026; M 60,000 for Q4 and 5,000 for Oct.

Leads (owner; created, Shanghai): L1 S new 10-01 00:00 (first moment of Q4); L2 S new 09-30 23:59
(outside); L3 S contacted; L4 S qualified; L5 S converted → d5 (won); L6 S converted → d1 (open);
L7 M converted without a deal; L8 M disqualified; L9 M converted → d7 (lost); L10 M new 2027-01-01
00:30 (outside).
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django_scopes import scopes_disabled

SHANGHAI = ZoneInfo("Asia/Shanghai")


def sh(month: int, day: int, hour: int = 10, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def sales_data(tenant):
    from kehu.customers.services import create_account
    from kehu.deals import services as deals
    from kehu.deals.models import Opportunity
    from kehu.forecast import services as targets
    from kehu.leads.models import Lead
    from kehu.leads.services import create_lead
    from kehu.workspaces.models import Team

    users = tenant.users
    admin = tenant.actors["admin"]
    assert tenant.workspace.time_zone == "Asia/Shanghai"
    with tenant.scope():
        east = Team.objects.create(workspace=tenant.workspace, name="East")
        east.members.set([users["sales"], users["manager"]])
        pipeline = deals.default_pipeline(tenant.workspace)
        st = {s.position: s for s in pipeline.stages.all()}
        account = create_account(admin, name="华为技术有限公司")
        made = {}

        def deal(key, owner, amount, created, moves=(), close=None, team=None, **extra):
            opp = deals.create_opportunity(
                admin,
                at=created,
                name=key,
                account_id=account.pk,
                amount=amount,
                currency="CNY",
                owner_id=users[owner].pk,
                team_id=team.pk if team else None,
                expected_close_date=close,
                **extra,
            )
            for position, at, *reason in moves:
                if position == "won":
                    deals.win(admin, opp, at=at)
                elif position == "lost":
                    deals.lose(admin, opp, reason[0], at=at)
                else:
                    deals.move_to_stage(admin, opp, st[position], at=at)
            made[key] = opp
            return opp

        deal(
            "d1",
            "sales",
            10000,
            sh(10, 5),
            [(1, sh(10, 10)), (2, sh(10, 20)), (3, sh(11, 1))],
            close=date(2026, 11, 15),
            team=east,
        )
        deal("d2", "sales", 20000, sh(10, 5), [(2, sh(10, 15))], close=date(2026, 12, 31), team=east)
        deal("d3", "sales", 5000, sh(10, 10), close=date(2027, 1, 1), team=east)
        deal("d4", "sales", 8000, sh(9, 1), [("won", sh(10, 11))], team=east)
        deal(
            "d5",
            "sales",
            12000,
            sh(10, 1, 23, 30),
            [
                (1, sh(10, 11, 23, 30)),
                (2, sh(10, 21, 23, 30)),
                (3, sh(11, 20, 23, 30)),
                ("won", sh(12, 31, 23, 30)),
            ],
            close=date(2026, 12, 31),
            team=east,
        )
        deal(
            "d6",
            "sales",
            3000,
            sh(11, 1, 0, 30),
            [("won", sh(1, 1, 0, 30, year=2027))],
            close=date(2026, 12, 31),
            team=east,
        )
        deal("d7", "sales", 6000, sh(10, 2), [(1, sh(10, 12)), ("lost", sh(11, 20), "Price")], team=east)
        deal("d8", "manager", 40000, sh(8, 1), [(3, sh(9, 1))], close=date(2026, 10, 20))
        deal("d9", "manager", 30000, sh(7, 1, 9), [("won", sh(11, 1, 9))])
        deal("d10", "manager", 4000, sh(10, 3), [("lost", sh(12, 1), "Price")])
        deal("d11", "manager", 9000, sh(9, 15), [("lost", sh(10, 5), "Timing")])
        deal("d12", "admin", 100000, sh(11, 10), close=date(2026, 12, 1))
        d13 = deal("d13", "admin", 7000, sh(11, 11), [(2, sh(11, 12))], close=date(2026, 11, 1))
        deals.update_opportunity(admin, d13, forecast_category=Opportunity.ForecastCategory.OMITTED)

        for month, amount in ((10, 10000), (11, 10000), (12, 20000)):
            targets.set_target(admin, owner_id=users["sales"].pk, period=f"2026-{month}", amount=amount)
        targets.set_target(admin, owner_id=users["manager"].pk, period="2026-Q4", amount=60000)
        targets.set_target(admin, owner_id=users["manager"].pk, period="2026-10", amount=5000)

        leads = {}
        rows = [
            ("L1", "sales", sh(10, 1, 0, 0), "new", None),
            ("L2", "sales", sh(9, 30, 23, 59), "new", None),
            ("L3", "sales", sh(10, 8), "contacted", None),
            ("L4", "sales", sh(10, 9), "qualified", None),
            ("L5", "sales", sh(10, 1, 12), "qualified", "d5"),
            ("L6", "sales", sh(10, 2), "qualified", "d1"),
            ("L7", "manager", sh(11, 3), "qualified", ""),
            ("L8", "manager", sh(11, 4), "disqualified", None),
            ("L9", "manager", sh(12, 31, 23, 59), "qualified", "d7"),
            ("L10", "manager", sh(1, 1, 0, 30, year=2027), "new", None),
        ]
        for key, owner, created, status, converted in rows:
            lead = create_lead(admin, name=key, company=f"{key} Co", owner_id=users[owner].pk)
            values = {"created_at": created, "status": status}
            if converted is not None:
                values["converted_at"] = created
                values["converted_opportunity"] = made[converted] if converted else None
            if status == "disqualified":
                values["disqualified_reason"] = "No budget"
            Lead.objects.filter(pk=lead.pk).update(**values)
            leads[key] = lead
    with scopes_disabled():
        return {"deals": made, "leads": leads, "team": east, "pipeline": pipeline, "stages": st}
