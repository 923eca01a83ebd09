"""The sales dashboard and the quota grid: numbers shown, languages, query counts, permissions."""

import re

import pytest
from django.utils import translation

from kehu.forecast.models import SalesTarget


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def text_of(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</div>', html, re.S)
    assert match, element_id
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def test_dashboard_shows_the_quarter(tenant, sales_data, django_assert_max_num_queries):
    client = tenant.web_client("admin")
    with django_assert_max_num_queries(30):
        response = client.get("/sales/?period=2026-Q4")
    assert response.status_code == 200
    html = response.content.decode()
    assert text_of(html, "kpi-won") == "Closed won 50,000.00 CNY 3 deals"
    assert text_of(html, "kpi-attainment") == "Quota attainment 50.0% of 100,000.00 CNY"
    assert text_of(html, "kpi-pipeline") == "Pipeline 170,000.00 CNY 4 open deals"
    assert text_of(html, "kpi-weighted").startswith("Weighted 57,500.00 CNY")
    assert text_of(html, "kpi-win-rate") == "Win rate 50.0% 3 won of 6 closed"
    assert text_of(html, "kpi-cycle") == "Sales cycle (median) 91.0 days mean 84.7 days"
    # Charts are inline SVG with a title and a text description for screen readers.
    assert '<svg class="chart" viewBox="0 0 320' in html
    assert 'id="owner-table"' in html and 'id="team-table"' in html
    # The other charts are panels the page loads itself, one report each, with the page's choices.
    for name in ("funnel", "stages", "lost"):
        assert f'id="panel-{name}"' in html
        assert f'hx-get="/sales/panels/{name}/?period=2026-Q4&amp;pipeline=' in html
    panels = {
        name: client.get(f"/sales/panels/{name}/?period=2026-Q4").content.decode()
        for name in ("funnel", "stages", "lost")
    }
    assert (
        '<desc id="funnel-chart-desc">Leads: 8; Qualified: 5 · 62.5%; '
        "Opportunities: 3 · 60.0%; Won: 1 · 33.3%</desc>" in panels["funnel"]
    )
    assert 'id="stage-chart"' in panels["stages"] and 'id="time-chart"' in panels["stages"]
    assert 'id="lost-chart"' in panels["lost"] and "Price: 2 · 66.7%" in panels["lost"]
    assert "<html" not in panels["lost"]  # a fragment for htmx
    assert "<script" not in html.split("<main", 1)[-1]  # no chart library, no inline scripts
    assert 'id="targets-link"' in html


def test_dashboard_query_count_is_fixed(tenant, sales_data, django_assert_num_queries):
    """The page costs the same number of queries whatever the data (pinned)."""
    client = tenant.web_client("admin")
    client.get("/sales/?period=2026-Q4")  # warm the session/permission caches like a real visit
    with django_assert_num_queries(15):
        assert client.get("/sales/?period=2026-Q4").status_code == 200


@pytest.mark.parametrize(("name", "queries"), [("funnel", 5), ("stages", 7), ("lost", 5)])
def test_dashboard_panel_query_counts_are_fixed(tenant, sales_data, django_assert_num_queries, name, queries):
    """Each panel is one report: the session/permission reads, the pipelines and its own aggregates."""
    client = tenant.web_client("admin")
    client.get(f"/sales/panels/{name}/?period=2026-Q4")
    with django_assert_num_queries(queries):
        assert client.get(f"/sales/panels/{name}/?period=2026-Q4").status_code == 200


def test_dashboard_panels_follow_filters_scope_and_workspace(tenant, other_tenant, sales_data):
    rep = tenant.web_client("sales")
    lost = rep.get("/sales/panels/lost/?period=2026-Q4").content.decode()
    admin_lost = tenant.web_client("admin").get("/sales/panels/lost/?period=2026-Q4").content.decode()
    assert lost != admin_lost  # the rep sees their own lost deals only
    assert tenant.web_client("admin").get("/sales/panels/nothing/").status_code == 404
    assert other_tenant.web_client("admin").get("/sales/panels/lost/?period=2026-Q4").status_code == 200
    foreign = other_tenant.web_client("admin").get("/sales/panels/lost/?period=2026-Q4").content.decode()
    assert "Price: 2" not in foreign  # another workspace's numbers never show


def test_dashboard_in_chinese(tenant, sales_data):
    client = tenant.web_client("admin")
    response = client.get("/sales/?period=2026-Q4", HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="zh' in html
    assert "50,000.00 CNY" in html


def test_dashboard_for_a_rep_shows_own_numbers(tenant, sales_data):
    html = tenant.web_client("sales").get("/sales/?period=2026-Q4").content.decode()
    assert text_of(html, "kpi-won") == "Closed won 20,000.00 CNY 2 deals"
    assert text_of(html, "kpi-attainment") == "Quota attainment 50.0% of 40,000.00 CNY"
    assert 'id="f-owner"' not in html  # nobody else to choose
    assert 'id="targets-link"' not in html


def test_dashboard_filters_and_bad_period(tenant, sales_data):
    client = tenant.web_client("admin")
    s = tenant.users["sales"].pk
    html = client.get(f"/sales/?period=2026-Q4&owner={s}").content.decode()
    assert text_of(html, "kpi-pipeline") == "Pipeline 30,000.00 CNY 2 open deals"
    html = client.get("/sales/?period=2026-10").content.decode()
    assert text_of(html, "kpi-won") == "Closed won 8,000.00 CNY 1 deals"
    response = client.get("/sales/?period=garbage")
    assert response.status_code == 200  # falls back to the current quarter with a message


def test_dashboard_needs_a_member(tenant, other_tenant, client):
    assert client.get("/sales/").status_code == 302  # to the login page
    assert other_tenant.web_client("admin").get("/sales/").status_code == 200  # their own (empty) numbers


def test_dashboard_on_an_empty_workspace(tenant):
    response = tenant.web_client("admin").get("/sales/")
    assert response.status_code == 200
    assert "No deals in this period." in response.content.decode()


def test_target_grid_saves_a_quarter(tenant, sales_data):
    client = tenant.web_client("admin")
    s, m = tenant.users["sales"].pk, tenant.users["manager"].pk
    response = client.get("/sales/targets/?quarter=2026-Q4")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'name="u{s}_2026-10" value="10000.00"' in html
    assert f'name="u{m}_2026-Q4" value="60000.00"' in html
    east = sales_data["team"].pk
    data = {
        "quarter": "2026-Q4",
        f"u{s}_2026-10": "",  # removed
        f"u{s}_2026-11": "10000.00",  # unchanged
        f"u{s}_2026-12": "25,000",  # changed
        f"u{m}_2026-10": "5000.00",
        f"u{m}_2026-Q4": "60000.00",
        f"t{east}_2026-Q4": "120000",  # new team target
    }
    response = client.post("/sales/targets/", data)
    assert response.status_code == 302
    with tenant.scope():
        amounts = {
            (t.owner_id, t.team_id, t.start_date.month, t.period): t.amount for t in SalesTarget.objects.all()
        }
    assert amounts == {
        (s, None, 11, "month"): 10000,
        (s, None, 12, "month"): 25000,
        (m, None, 10, "month"): 5000,
        (m, None, 10, "quarter"): 60000,
        (None, east, 10, "quarter"): 120000,
    }


def test_target_grid_shows_errors_and_changes_nothing(tenant, sales_data):
    client = tenant.web_client("admin")
    s = tenant.users["sales"].pk
    response = client.post(
        "/sales/targets/", {"quarter": "2026-Q4", f"u{s}_2026-11": "-5", f"u{s}_2026-12": "1"}
    )
    assert response.status_code == 200
    assert "cannot be negative" in response.content.decode()
    with tenant.scope():
        assert SalesTarget.objects.get(owner_id=s, start_date__month=12).amount == 20000


def test_target_grid_is_for_setters_only(tenant):
    assert tenant.web_client("sales").get("/sales/targets/").status_code == 404
    assert tenant.web_client("manager").get("/sales/targets/").status_code == 200
