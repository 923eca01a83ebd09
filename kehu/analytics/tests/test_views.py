"""Pages: the analytics overview, settings with "Recompute now", the scores panel and its manual
stage form, the account list's lifecycle / grade / RFM segment filters and columns."""

from datetime import date

import pytest
from django.utils.html import escape

from kehu.analytics import engine
from kehu.analytics.models import AnalyticsRun
from kehu.customers.models import Account
from kehu.listviews.filters import encode_spec

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored(tenant, book):
    accounts = [book.account(f"客户{i}") for i in range(6)]
    for i, account in enumerate(accounts[:5]):
        for k in range(i + 1):
            book.order(account, f"2026-0{k + 1}-1{i}", 100 * (i + 1), 40)
    engine.compute(tenant.workspace, "full", as_of=date(2026, 6, 30))
    return accounts


def test_overview_page(tenant, scored):
    page = tenant.web_client("owner").get("/analytics/")
    assert page.status_code == 200
    html = page.content.decode()
    for part in (
        'id="rfm-grid"',
        'id="segment-chart"',
        'id="lifecycle-kpis"',
        'id="cohorts"',
        'id="transitions"',
    ):
        assert part in html
    assert "/accounts/?f=" in html
    # The segments as a treemap: one cell per segment that has customers, its count in the tooltip.
    segments = page.context["segments"]
    assert 'class="chart report-treemap"' in html
    assert html.count('class="treemap-cell ') == sum(1 for s in segments if s["count"])
    for s in segments:
        if s["count"]:
            assert f"<title>{escape(s['label'])}: {s['count']} (" in html
    assert tenant.web_client("service").get("/analytics/").status_code == 404


def test_settings_page_and_recompute(tenant, scored, settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    owner = tenant.web_client("owner")
    assert owner.get("/settings/analytics/").status_code == 200
    assert tenant.web_client("sales").get("/settings/analytics/").status_code == 404
    form = owner.get("/settings/analytics/").context
    data = {f"life-{k}": v for k, v in form["life_form"].initial.items() if k in form["life_form"].fields}
    data |= {f"value-{k}": form["value_form"][k].value() for k in form["value_form"].fields}
    data["life-churn_days"] = 300
    saved = owner.post("/settings/analytics/", data)
    assert saved.status_code == 302, saved.context and (
        saved.context["life_form"].errors,
        saved.context["value_form"].errors,
    )
    with tenant.scope():
        from kehu.analytics.services import lifecycle_settings

        assert lifecycle_settings(tenant.workspace).churn_days == 300
    before = AnalyticsRun.objects.count()
    assert owner.post("/settings/analytics/recompute/", {"kind": "incremental"}).status_code == 302
    assert AnalyticsRun.objects.count() == before + 1
    assert (
        tenant.web_client("sales").post("/settings/analytics/recompute/", {"kind": "full"}).status_code == 404
    )


def test_panel_and_manual_stage(tenant, scored):
    account = scored[4]
    owner = tenant.web_client("owner")
    html = owner.get(f"/accounts/{account.pk}/").content.decode()
    assert 'id="panel-scores"' in html and 'id="score-rfm"' in html and 'id="stage-override"' in html
    response = owner.post(
        f"/analytics/accounts/{account.pk}/lifecycle/", {"stage": "at_risk", "reason": "逾期付款"}
    )
    assert response.status_code == 302
    with tenant.scope():
        assert Account.objects.get(pk=account.pk).lifecycle_stage == "at_risk"
    assert "逾期付款" in owner.get(f"/accounts/{account.pk}/").content.decode()


def test_account_list_filters_and_columns(tenant, scored):
    owner = tenant.web_client("owner")
    with tenant.scope():
        from kehu.analytics.models import CustomerScore

        segment = CustomerScore.objects.get(account=scored[4]).segment
        expected = set(CustomerScore.objects.filter(segment=segment).values_list("account__name", flat=True))
    spec = {"op": "and", "conditions": [{"field": "rfm_segment", "lookup": "eq", "value": segment}]}
    page = owner.get("/accounts/", {"f": encode_spec(spec), "cols": "name,lifecycle_stage,grade,rfm_segment"})
    assert page.status_code == 200
    html = page.content.decode()
    shown = {name for name in (a.name for a in scored) if name in html}
    assert shown == expected
    spec = {"op": "and", "conditions": [{"field": "lifecycle_stage", "lookup": "eq", "value": "prospect"}]}
    html = owner.get("/accounts/", {"f": encode_spec(spec)}).content.decode()
    assert "客户5" in html and "客户4" not in html
