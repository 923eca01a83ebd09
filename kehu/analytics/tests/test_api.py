"""The analytics API: settings, recompute, KPIs, cohorts, RFM grid and transitions, account scores
and the manual stage; permissions and cross-workspace isolation (404)."""

import json
from datetime import date

import pytest

from kehu.analytics import engine
from kehu.customers.models import Account

pytestmark = pytest.mark.django_db
BASE = "/api/v1/analytics"


def send(client, method, url, body):
    return getattr(client, method)(url, json.dumps(body), content_type="application/json")


@pytest.fixture
def scored(tenant, book):
    sales = tenant.actors["sales"]
    mine = book.account("Mine", owner=sales.user)
    theirs = book.account("Theirs", owner=tenant.actors["manager"].user)
    book.order(mine, "2026-06-01", 1000, 400)
    book.order(theirs, "2025-01-01", 500, 100)
    engine.compute(tenant.workspace, "full", as_of=date(2026, 6, 30))
    return mine, theirs


def test_settings_read_and_change(tenant):
    owner, sales = tenant.api_client("owner"), tenant.api_client("sales")
    got = owner.get(f"{BASE}/settings").json()
    assert (got["churn_days"], got["rfm_method"], [t["key"] for t in got["tiers"]]) == (
        365,
        "quintiles",
        ["strategic", "important", "ordinary"],
    )
    changed = send(owner, "patch", f"{BASE}/settings", {"churn_days": 200, "weights": {"value": 1}})
    assert changed.status_code == 200, changed.content
    assert (changed.json()["churn_days"], changed.json()["weights"]) == (200, {"value": 1.0})
    assert send(owner, "patch", f"{BASE}/settings", {"churn_days": 0}).status_code in (400, 422)
    assert send(owner, "patch", f"{BASE}/settings", {"tiers": [{"key": "A B"}]}).status_code in (400, 422)
    assert send(owner, "patch", f"{BASE}/settings", {"nonsense": 1}).status_code in (400, 422)
    assert send(sales, "patch", f"{BASE}/settings", {"churn_days": 100}).status_code == 403
    assert tenant.api_client("service").get(f"{BASE}/settings").status_code == 200  # admin domain: view


def test_recompute_queues_a_run(tenant, book, settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    book.account("A")
    response = send(tenant.api_client("owner"), "post", f"{BASE}/recompute", {"kind": "full"})
    assert response.status_code == 202
    assert response.json()["queued"] is True
    runs = tenant.api_client("owner").get(f"{BASE}/runs").json()
    assert runs[0]["kind"] == "full" and runs[0]["status"] == "done" and runs[0]["accounts"] == 1
    assert send(tenant.api_client("sales"), "post", f"{BASE}/recompute", {}).status_code == 403
    assert send(tenant.api_client("owner"), "post", f"{BASE}/recompute", {"kind": "x"}).status_code in (
        400,
        422,
    )


def test_reports(tenant, scored):
    sales = tenant.api_client("sales")
    kpis = sales.get(f"{BASE}/kpis", {"period": "month", "start": "2026-06-01", "end": "2026-06-30"}).json()
    assert [(k["period"], k["new_customers"], k["buyers"]) for k in kpis] == [("2026-06", 1, 1)]
    assert sales.get(f"{BASE}/kpis", {"period": "week"}).status_code in (400, 422)
    cohorts = sales.get(f"{BASE}/cohorts", {"start": "2025-01-01", "end": "2026-06-30"}).json()
    assert [(c["cohort"], c["size"]) for c in cohorts] == [("2025-01", 1), ("2026-06", 1)]
    grid = sales.get(f"{BASE}/rfm").json()
    assert grid["customers"] == 2
    assert sum(c["count"] for row in grid["grid"] for c in row["cells"]) == 2
    moves = sales.get(f"{BASE}/rfm/transitions", {"from": "2026-06-01", "to": "2026-06-30"}).json()
    assert moves["total"] == 2 and moves["moved"] == 2  # no segment before the first computation
    assert {c["from"] for c in moves["cells"]} == {""}
    # Service agents have no access to marketing-domain reports.
    assert tenant.api_client("service").get(f"{BASE}/rfm").status_code == 403


def test_account_scores_follow_record_visibility(tenant, other_tenant, scored):
    mine, theirs = scored
    sales = tenant.api_client("sales")
    got = sales.get(f"{BASE}/accounts/{mine.pk}").json()
    assert got["lifecycle"]["stage"] == "new"
    assert got["rfm"]["frequency"] == 1 and got["value"]["historical_value"] == 1000
    assert got["from"]["statuses"] == ["confirmed", "paid", "shipped"]
    assert got["computed_at"]
    assert sales.get(f"{BASE}/accounts/{theirs.pk}").status_code == 404
    assert other_tenant.api_client("owner").get(f"{BASE}/accounts/{mine.pk}").status_code == 404
    # The 360° API carries the same panel.
    panel = sales.get(f"/api/v1/accounts/{mine.pk}/360").json()
    assert "scores" in json.dumps(panel)


def test_manual_stage(tenant, other_tenant, scored):
    mine, theirs = scored
    sales = tenant.api_client("sales")
    url = f"{BASE}/accounts/{mine.pk}/lifecycle"
    assert send(sales, "put", url, {"stage": "active", "reason": ""}).status_code in (400, 422)
    assert send(sales, "put", url, {"stage": "nope", "reason": "x"}).status_code in (400, 422)
    done = send(sales, "put", url, {"stage": "active", "reason": "Key account"})
    assert done.status_code == 200
    assert done.json()["lifecycle"]["manual"] is True
    with tenant.scope():
        assert Account.objects.get(pk=mine.pk).lifecycle_stage == "active"
    assert (
        send(
            sales, "put", f"{BASE}/accounts/{theirs.pk}/lifecycle", {"stage": "active", "reason": "x"}
        ).status_code
        == 404
    )
    foreign = other_tenant.api_client("owner")
    assert send(foreign, "put", url, {"stage": "churned", "reason": "x"}).status_code == 404
    assert foreign.delete(url).status_code == 404
    cleared = sales.delete(url)
    assert cleared.status_code == 200 and cleared.json()["lifecycle"]["stage"] == "new"
