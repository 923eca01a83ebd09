"""The whole sales journey of issue 4 through the public form and the API, across the sales apps.

A lead arrives through the public web form, is assigned by a rule, scored with visible reasons,
qualified and converted with an opportunity, moved through the stages (filling what each stage
demands), quoted (two lines), the quote sent and accepted → the order is in the account's 360° view
and the deal is won; the forecast and the lead funnel of the current quarter change by exactly the
amounts computed by hand below.

Everything happens "now", in the current quarter of the workspace's time zone (Asia/Shanghai), so
the period under test is whatever quarter today is in; the baseline is created in it too.

Baseline (all owned by the rep ``sales``, created now):
  * lead "Earlier lead" (status new)                                  → funnel 1 / 0 / 0 / 0
  * deal "Renewal"   8,000 CNY, won now                               → closed won 8,000 (1 deal)
  * deal "Expansion" 20,000 CNY at Proposal (50 %), closes today      → pipeline 20,000,
                                                                        weighted 10,000, best case 20,000

The journey's deal: amount 14,400.00 (= the quote's net), expected close today.
Quote (CNY, no quote discount):
  line 1: 10 × 1,200.00 − 5 % = 11,400.00 net, tax 13 % = 1,482.00
  line 2:  1 × 3,000.00       =  3,000.00 net, tax  6 % =   180.00
  subtotal 14,400.00, discount 0.00, tax 1,662.00, total 16,062.00 → the order's total.
"""

from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from django_scopes import scopes_disabled

from kehu.activities.models import Task
from kehu.leads.models import Lead
from kehu.scoring import services as scoring

pytestmark = pytest.mark.django_db

AMOUNT = Decimal("14400.00")
QUOTE_TOTAL = Decimal("16062.00")


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Form rate-limit counters and the scoring app's per-process rule cache."""
    cache.clear()
    scoring._CONFIG.clear()
    yield
    cache.clear()
    scoring._CONFIG.clear()


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.content.decode()[:2000]
    return response.json() if response.content else {}


def post(client: Client, url: str, data: dict | None = None, status: int = 200) -> dict:
    return ok(client.post(url, data or {}, content_type="application/json"), status)


def patch(client: Client, url: str, data: dict, status: int = 200) -> dict:
    return ok(client.patch(url, data, content_type="application/json"), status)


def today_in_shanghai() -> date:
    """Today in the workspace's time zone (the forecast's calendar)."""
    return timezone.localtime(timezone.now(), timezone=ZoneInfo("Asia/Shanghai")).date()


def quarter_key(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def figures(client: Client, period: str, owner_id: int) -> dict:
    """The forecast total, the rep's own line and the funnel counts of ``period``."""
    forecast = ok(client.get(f"/api/v1/forecast?period={period}"))
    assert forecast["period"]["key"] == period
    owners = {o["id"]: o for o in forecast["owners"]}
    funnel = ok(client.get(f"/api/v1/reports/funnel?period={period}"))
    total = forecast["total"]
    return {
        "pipeline": Decimal(total["pipeline_amount"]),
        "weighted": Decimal(total["weighted_amount"]),
        "commit": Decimal(total["commit"]),
        "best_case": Decimal(total["best_case"]),
        "won": Decimal(total["won_amount"]),
        "won_count": total["won_count"],
        "rep_won": Decimal(owners[owner_id]["won_amount"]) if owner_id in owners else Decimal(0),
        "funnel": [(s["key"], s["count"]) for s in funnel["steps"]],
    }


@pytest.fixture
def setup(tenant):
    """What an administrator configures (through the API) plus the baseline of the quarter."""
    from kehu.customers.services import create_account
    from kehu.deals import services as deals

    admin = tenant.api_client("admin")
    sales_id, manager_id = tenant.users["sales"].pk, tenant.users["manager"].pk
    # Two rules: Beijing goes to the manager, Shanghai to the rep; a Shanghai lead must skip the first.
    post(
        admin,
        "/api/v1/lead-assignment-rules",
        {
            "name": "Beijing",
            "conditions": [{"field": "city", "op": "eq", "value": "北京"}],
            "user_id": manager_id,
        },
        201,
    )
    rule = post(
        admin,
        "/api/v1/lead-assignment-rules",
        {
            "name": "Shanghai",
            "conditions": [{"field": "city", "op": "eq", "value": "上海"}],
            "user_id": sales_id,
        },
        201,
    )
    post(
        admin,
        "/api/v1/scoring/rules",
        {  # no name: the reason is the rule in words
            "kind": "fit",
            "field": "industry",
            "operator": "eq",
            "value": "Software",
            "points": 20,
        },
        201,
    )
    form = post(
        admin,
        "/api/v1/lead-forms",
        {
            "name": "Contact us",
            "fields": ["name", "company", "email", "phone", "city", "industry"],
            "required_fields": ["name", "email"],
            "thank_you_text": "Thank you!",
        },
        201,
    )
    product = post(
        admin,
        "/api/v1/products",
        {"sku": "CRM-SEAT", "name": "CRM seat", "unit_price": "1200", "unit_cost": "300", "currency": "CNY"},
        201,
    )
    # The baseline: an earlier lead and two of the rep's deals, all in the current quarter.
    post(admin, "/api/v1/leads", {"name": "Earlier lead", "company": "Old Co", "owner_id": sales_id}, 201)
    rep = tenant.actors["sales"]
    with tenant.scope():
        old_account = create_account(rep, name="老客户有限公司")
        pipeline = deals.default_pipeline(tenant.workspace)
        stages = {s.position: s for s in pipeline.stages.all()}
        renewal = deals.create_opportunity(
            rep, name="Renewal", account_id=old_account.pk, amount=8000, currency="CNY"
        )
        deals.win(rep, renewal)
        expansion = deals.create_opportunity(
            rep,
            name="Expansion",
            account_id=old_account.pk,
            amount=20000,
            currency="CNY",
            expected_close_date=today_in_shanghai(),
        )
        deals.move_to_stage(rep, expansion, stages[2])
    with scopes_disabled():
        return {"rule_id": rule["id"], "form": form, "product_id": product["id"], "stages": stages}


def test_the_sales_journey(tenant, setup):
    admin, rep = tenant.api_client("admin"), tenant.api_client("sales")
    sales_id = tenant.users["sales"].pk
    stages = setup["stages"]
    today = today_in_shanghai()
    period = quarter_key(today)

    before = figures(admin, period, sales_id)
    # Baseline, by hand: pipeline = Expansion 20,000; weighted 20,000 × 50 % = 10,000; it is best
    # case (50 % ≤ p < 75 %), nothing committed; won = Renewal 8,000 (one deal); funnel: one new lead.
    assert before == {
        "pipeline": Decimal(20000),
        "weighted": Decimal(10000),
        "commit": Decimal(0),
        "best_case": Decimal(20000),
        "won": Decimal(8000),
        "won_count": 1,
        "rep_won": Decimal(8000),
        "funnel": [("leads", 1), ("qualified", 0), ("opportunities", 0), ("won", 0)],
    }

    # 1. The public form (no login, no CSRF token), as a browser posts it; JSON answer asked for.
    response = Client().post(
        setup["form"]["url"] + "?utm_source=newsletter",
        {
            "name": "王磊",
            "company": "星云软件有限公司",
            "email": "Wang.Lei@Xingyun.example.com",
            "phone": "021 6123 4567",
            "city": "上海",
            "industry": "Software",
            "website_url": "",  # the honeypot, left empty by people
        },
        HTTP_ACCEPT="application/json",
    )
    answer = ok(response, 201)
    assert answer["ok"] is True
    lead_id = answer["lead_id"]

    # 2. Assigned by the Shanghai rule (the Beijing rule comes first and does not match).
    lead = ok(rep.get(f"/api/v1/leads/{lead_id}"))
    assert (lead["owner_id"], lead["assigned_by_rule_id"]) == (sales_id, setup["rule_id"])
    assert (lead["source"], lead["status"], lead["email"], lead["utm_source"]) == (
        "web_form",
        "new",
        "wang.lei@xingyun.example.com",
        "newsletter",
    )
    tasks = ok(rep.get(f"/api/v1/tasks?record_type=leads.lead&record_id={lead_id}"))["items"]
    [task] = [t for t in tasks if t["title"].startswith("首次联系")]  # the workspace's language
    assert task["assignee_id"] == sales_id and task["priority"] == "high"
    with tenant.scope():
        assert Task.objects.filter(record_type="leads.lead", record_id=lead_id).count() == 1

    # 3. Scored by the fit rule, with its reason in words and points.
    score = ok(rep.get(f"/api/v1/leads/{lead_id}/score"))
    assert (score["kind"], score["score"], score["stored_score"]) == ("rules", 20, 20)
    assert [r["label"] for r in score["reasons"]] == ["+20 Industry is Software"]

    # The lead counts in the funnel at once; nothing else moved.
    assert figures(admin, period, sales_id)["funnel"] == [
        ("leads", 2),
        ("qualified", 0),
        ("opportunities", 0),
        ("won", 0),
    ]

    # 4. Qualify, then convert with an opportunity (no amount yet: the rep does not know it).
    assert patch(rep, f"/api/v1/leads/{lead_id}", {"status": "qualified"})["status"] == "qualified"
    converted = post(
        rep, f"/api/v1/leads/{lead_id}/convert", {"opportunity": {"name": "星云 CRM", "currency": "CNY"}}
    )
    assert converted["already_converted"] is False and converted["opportunity_id"]
    account_id, contact_id, opp_id = (
        converted["account_id"],
        converted["contact_id"],
        converted["opportunity_id"],
    )
    assert ok(rep.get(f"/api/v1/accounts/{account_id}"))["name"] == "星云软件有限公司"
    contact = ok(rep.get(f"/api/v1/contacts/{contact_id}"))
    assert (contact["name"], contact["account_id"]) == ("王磊", account_id)
    opp = ok(rep.get(f"/api/v1/opportunities/{opp_id}"))
    assert (opp["account_id"], opp["owner_id"], opp["stage_id"], opp["status"]) == (
        account_id,
        sales_id,
        stages[0].pk,
        "open",
    )
    # Idempotent: converting again names the same records.
    again = post(rep, f"/api/v1/leads/{lead_id}/convert", {})
    assert again["already_converted"] is True and again["opportunity_id"] == opp_id

    # 5. Through the stages. Needs analysis has no requirement.
    move = f"/api/v1/opportunities/{opp_id}/move"
    assert post(rep, move, {"stage_id": stages[1].pk})["stage_id"] == stages[1].pk
    # Proposal needs an amount: refused, naming the field, and nothing changes …
    refused = post(rep, move, {"stage_id": stages[2].pk}, 422)
    assert [(d["field"], d["code"]) for d in refused["error"]["details"]] == [
        ("amount", "required_for_stage")
    ]
    assert ok(rep.get(f"/api/v1/opportunities/{opp_id}"))["stage_id"] == stages[1].pk
    # … filled in the same call as the stage change, it passes.
    opp = patch(rep, f"/api/v1/opportunities/{opp_id}", {"amount": str(AMOUNT), "stage_id": stages[2].pk})
    assert (opp["stage_id"], opp["probability"]) == (stages[2].pk, 50)
    # Negotiation also needs the expected close date.
    refused = post(rep, move, {"stage_id": stages[3].pk}, 422)
    assert [d["field"] for d in refused["error"]["details"]] == ["expected_close_date"]
    patch(rep, f"/api/v1/opportunities/{opp_id}", {"expected_close_date": today.isoformat()})
    opp = post(rep, move, {"stage_id": stages[3].pk})
    assert (opp["stage_id"], opp["probability"], opp["forecast_category"]) == (stages[3].pk, 75, "commit")

    # Mid-way, by hand: the deal is open in Negotiation closing today → pipeline 20,000 + 14,400 =
    # 34,400; weighted 10,000 + 14,400 × 75 % = 10,800 → 20,800; commit 14,400; best case unchanged;
    # funnel: the lead is qualified and has an opportunity, not won yet.
    middle = figures(admin, period, sales_id)
    assert (middle["pipeline"], middle["weighted"], middle["commit"], middle["best_case"]) == (
        Decimal("34400"),
        Decimal("20800"),
        AMOUNT,
        Decimal("20000"),
    )
    assert (middle["won"], middle["won_count"]) == (Decimal(8000), 1)
    assert middle["funnel"] == [("leads", 2), ("qualified", 1), ("opportunities", 1), ("won", 0)]

    # 6. A quote with two lines (one from the catalog, one free text), sent, accepted.
    quote = post(
        rep,
        "/api/v1/quotes",
        {
            "opportunity_id": opp_id,
            "lines": [
                {
                    "product_id": setup["product_id"],
                    "quantity": "10",
                    "discount_percent": "5",
                    "tax_rate": "13",
                },
                {"description": "实施服务", "quantity": "1", "unit_price": "3000", "tax_rate": "6"},
            ],
        },
        201,
    )
    assert (quote["status"], quote["currency"], quote["account_id"], quote["contact_id"]) == (
        "draft",
        "CNY",
        account_id,
        contact_id,
    )
    # By hand (see the module docstring): 11,400.00 + 3,000.00; tax 1,482.00 + 180.00.
    assert [(Decimal(ln["net_amount"]), Decimal(ln["tax_amount"])) for ln in quote["lines"]] == [
        (Decimal("11400.00"), Decimal("1482.00")),
        (Decimal("3000.00"), Decimal("180.00")),
    ]
    assert [Decimal(quote[k]) for k in ("subtotal", "discount_amount", "tax_amount", "total")] == [
        AMOUNT,
        Decimal(0),
        Decimal("1662.00"),
        QUOTE_TOTAL,
    ]
    # Accepting a draft is refused and changes nothing.
    post(rep, f"/api/v1/quotes/{quote['id']}/accept", {}, 422)
    assert post(rep, f"/api/v1/quotes/{quote['id']}/send")["status"] == "sent"
    accepted = post(rep, f"/api/v1/quotes/{quote['id']}/accept")
    assert accepted["status"] == "accepted" and accepted["order_id"]
    # Accepting again is harmless: still one order.
    assert post(rep, f"/api/v1/quotes/{quote['id']}/accept")["order_id"] == accepted["order_id"]

    # 7. The order: the quote's total, confirmed, in the account's 360° view; the deal is won.
    order = ok(rep.get(f"/api/v1/orders/{accepted['order_id']}"))
    assert (order["account_id"], order["status"], Decimal(order["total_amount"])) == (
        account_id,
        "confirmed",
        QUOTE_TOTAL,
    )
    view = ok(rep.get(f"/api/v1/accounts/{account_id}/360"))
    purchases = view["panels"]["purchases"]
    assert [(o["id"], Decimal(o["total_amount"])) for o in purchases["latest_orders"]] == [
        (accepted["order_id"], QUOTE_TOTAL)
    ]
    summary = purchases["summary"]
    assert (summary["orders"], Decimal(summary["revenue"]), Decimal(summary["average_order_value"])) == (
        1,
        QUOTE_TOTAL,
        QUOTE_TOTAL,
    )
    opp = ok(rep.get(f"/api/v1/opportunities/{opp_id}"))
    assert (opp["status"], opp["stage_id"], opp["forecast_category"]) == ("won", stages[4].pk, "closed")
    # The stage history (newest first): created in Qualification, then one entry per move.
    assert [h["to_stage_id"] for h in reversed(opp["stage_history"])] == [stages[k].pk for k in range(5)]

    # 8. The numbers after, by hand: the deal left the open pipeline (back to the baseline's 20,000 /
    # 10,000 / commit 0) and is closed won: 8,000 + 14,400 = 22,400 in 2 deals; the funnel's lead is
    # won: 2 leads → 1 qualified → 1 opportunity → 1 won.
    after = figures(admin, period, sales_id)
    assert after == {
        "pipeline": Decimal(20000),
        "weighted": Decimal(10000),
        "commit": Decimal(0),
        "best_case": Decimal(20000),
        "won": Decimal("22400"),
        "won_count": 2,
        "rep_won": Decimal("22400"),
        "funnel": [("leads", 2), ("qualified", 1), ("opportunities", 1), ("won", 1)],
    }
    # The deltas the issue names: closed won += the amount; every funnel step + 1 (lead … won).
    assert after["won"] - before["won"] == AMOUNT
    assert [a[1] - b[1] for a, b in zip(after["funnel"], before["funnel"], strict=True)] == [1, 1, 1, 1]
    # The rep sees the same figures for their own deals and leads (their "own" scope covers all here).
    assert figures(rep, period, sales_id) == after

    with tenant.scope():
        lead_row = Lead.objects.get(pk=lead_id)
        assert (lead_row.converted_account_id, lead_row.converted_opportunity_id) == (account_id, opp_id)
