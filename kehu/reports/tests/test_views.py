"""Pages: builder (save, live preview), report page, exports, dashboards and edit mode, tiles,
the default customer-value dashboard."""

import csv
import io
import re

from openpyxl import load_workbook

from kehu.reports import services
from kehu.reports.models import Dashboard, Report, Sharing, Tile

BUILD = {
    "name": "Accounts by grade and month",
    "object_type": "customers.account",
    "group_1": "grade",
    "group_2": "created_at",
    "bucket_2": "month",
    "agg_fn_1": "count",
    "chart": "table",
    "date_field": "created_at",
    "sharing": "private",
    "limit": "50",
}


def test_builder_saves_a_report_and_shows_it(data):
    client = data.tenant.web_client("sales")
    assert client.get("/reports/new/").status_code == 200
    response = client.post("/reports/new/", {**BUILD, "save": "1"})
    assert response.status_code == 302
    with data.tenant.scope():
        report = Report.objects.get(name=BUILD["name"])
    assert report.owner == data.tenant.users["sales"]
    assert report.definition["group_by"] == [{"field": "grade"}, {"field": "created_at", "bucket": "month"}]
    page = client.get(response["Location"]).content.decode()
    assert 'id="report-chart-table"' in page
    assert "Strategic" in page and "2026-01" in page
    assert "Churned" not in page  # the sales rep's own accounts only (a6 is the manager's)


def test_builder_errors_stay_on_the_form(data):
    client = data.tenant.web_client("owner")
    response = client.post("/reports/new/", {**BUILD, "name": "", "save": "1"})
    assert response.status_code == 200
    assert 'id="builder-errors"' in response.content.decode()


def test_live_preview_renders_a_chart(data):
    client = data.tenant.web_client("owner")
    for chart, marker in (
        ("bar", "chart-bar"),
        ("pie", "chart-slice"),
        ("line", "chart-line"),
        ("funnel", "report-funnel"),
        ("treemap", "treemap-cell"),
    ):
        html = client.post(
            "/reports/preview/",
            {
                "object_type": "commerce.order",
                "group_1": "status",
                "agg_fn_1": "sum",
                "agg_field_1": "total_amount",
                "chart": chart,
            },
        ).content.decode()
        assert marker in html, chart
        assert 'data-png="preview-chart"' in html
    html = client.post(
        "/reports/preview/", {"object_type": "commerce.order", "group_1": "nope"}
    ).content.decode()
    assert "Unknown field" in html


def test_object_type_switch_reloads_the_form_with_its_fields(data):
    client = data.tenant.web_client("owner")
    html = client.get(
        "/reports/new/?object_type=commerce.order&object_type_changed=1", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'value="total_amount"' in html and "<html" not in html


def test_exports_csv_and_xlsx(data):
    t = data.tenant
    with t.scope():
        report = services.create_report(
            t.actors["owner"],
            name="=Orders",
            object_type="commerce.order",
            definition={
                "group_by": [{"field": "account"}],
                "aggregates": [{"fn": "count"}, {"fn": "sum", "field": "total_amount"}],
                "sort": "value_desc",
            },
        )
        from kehu.customers.models import Account

        Account.objects.filter(name="a1").update(name="=HYPERLINK(1)")
    client = t.web_client("owner")
    response = client.get(f"/reports/{report.pk}/export.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["Account", "Count", "Sum · Total amount"]
    # Largest count first; the formula-like account name is neutralised.
    assert rows[1] == ["'=HYPERLINK(1)", "2", "400"]
    assert ["a4", "1", "1000"] in rows
    xlsx = client.get(f"/reports/{report.pk}/export.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0] == ["Account", "Count", "Sum · Total amount"]
    assert values[1][0] == "=HYPERLINK(1)" and float(values[1][2]) == 400  # a text cell, never a formula
    assert sheet.cell(row=2, column=1).data_type == "s"
    assert client.get(f"/reports/{report.pk}/export.pdf").status_code == 404


def test_report_pages_of_others_are_404(data):
    t = data.tenant
    with t.scope():
        report = services.create_report(
            t.actors["manager"], name="Private", object_type="customers.account", definition={}
        )
    client = t.web_client("sales")
    for url in (f"/reports/{report.pk}/", f"/reports/{report.pk}/export.csv", f"/reports/{report.pk}/edit/"):
        assert client.get(url).status_code == 404, url


def test_customer_value_dashboard_is_created_once_with_six_tiles(data):
    client = data.tenant.web_client("sales")
    response = client.get("/reports/customer-value/", follow=True)
    assert response.status_code == 200
    client.get("/reports/customer-value/")
    with data.tenant.scope():
        dashboard = Dashboard.objects.get(key="customer_value")
        assert dashboard.owner == data.tenant.users["owner"] and dashboard.sharing == Sharing.WORKSPACE
        kinds = [t.kind or t.report.name for t in services.tiles_of(dashboard)]
    assert kinds == [
        "Lifecycle funnel",
        "kpis_by_month",
        "Grade distribution",
        "rfm_grid",
        "clv_distribution",
        "churn_risks",
    ]
    html = response.content.decode()
    tiles = re.findall(r'hx-get="(/reports/dashboards/\d+/tiles/\d+/\?[^"]*)"', html)
    assert len(tiles) == 6
    bodies = [client.get(u.replace("&amp;", "&")).content.decode() for u in tiles]
    assert "report-funnel" in bodies[0] and "Prospect" in bodies[0]
    # Grades as a treemap: a cell per grade, its share in the tooltip, labelled for screen readers.
    assert "report-treemap" in bodies[2] and 'role="img"' in bodies[2]
    assert "Strategic: 1 (33%)" in bodies[2]  # the sales rep's a1 of a1–a3
    for body in bodies[1:2] + bodies[3:]:
        assert "report-tile" in body


def test_tile_query_count_is_fixed(data, django_assert_max_num_queries):
    t = data.tenant
    with t.scope():
        dashboard = services.ensure_customer_value(t.actors["owner"])
        tile = services.tiles_of(dashboard)[0]
    client = t.web_client("owner")
    client.get(f"/reports/dashboards/{dashboard.pk}/tiles/{tile.pk}/")  # warm the session
    with django_assert_max_num_queries(12):
        assert client.get(f"/reports/dashboards/{dashboard.pk}/tiles/{tile.pk}/").status_code == 200


def test_edit_mode_add_move_resize_remove(data):
    t = data.tenant
    with t.scope():
        report = services.create_report(
            t.actors["owner"],
            name="G",
            object_type="customers.account",
            definition={"group_by": [{"field": "grade"}]},
        )
    client = t.web_client("owner")
    response = client.post("/reports/dashboards/new/", {"name": "Mine", "sharing": "private"})
    did = int(re.search(r"/dashboards/(\d+)/", response["Location"]).group(1))
    edit = f"/reports/dashboards/{did}/edit/"
    client.post(edit, {"action": "add", "item": f"report:{report.pk}", "width": "1"})
    client.post(edit, {"action": "add", "item": "special:churn_risks", "width": "2"})
    with t.scope():
        first, second = Tile.objects.filter(dashboard_id=did).order_by("position")
    client.post(edit, {"action": "down", "tile": first.pk})
    client.post(edit, {"action": "width", "tile": first.pk, "width": "2"})
    with t.scope():
        assert list(
            Tile.objects.filter(dashboard_id=did).order_by("position").values_list("pk", "width")
        ) == [(second.pk, 2), (first.pk, 2)]
    page = client.get(f"/reports/dashboards/{did}/?edit=1").content.decode()
    assert 'id="add-tile"' in page and 'id="dashboard-settings"' in page
    client.post(edit, {"action": "remove", "tile": second.pk})
    client.post(
        edit,
        {
            "action": "settings",
            "name": "Renamed",
            "sharing": "workspace",
            "schedule": "daily",
            "recipients": [t.users["sales"].pk],
        },
    )
    with t.scope():
        dashboard = Dashboard.objects.get(pk=did)
        assert dashboard.name == "Renamed" and dashboard.schedule == "daily"
        assert list(dashboard.recipients.values_list("pk", flat=True)) == [t.users["sales"].pk]
        assert list(Tile.objects.filter(dashboard_id=did).values_list("pk", flat=True)) == [first.pk]
    # Someone else may look at the shared dashboard but not edit it.
    other = t.web_client("sales")
    assert other.get(f"/reports/dashboards/{did}/").status_code == 200
    assert 'id="add-tile"' not in other.get(f"/reports/dashboards/{did}/?edit=1").content.decode()
    assert other.post(edit, {"action": "remove", "tile": first.pk}).status_code == 403


def test_add_to_dashboard_from_the_report_page(data):
    t = data.tenant
    with t.scope():
        report = services.create_report(
            t.actors["sales"], name="Mine", object_type="customers.account", definition={}
        )
    client = t.web_client("sales")
    response = client.post(f"/reports/{report.pk}/add-to-dashboard/", {"dashboard": "new", "width": "2"})
    assert response.status_code == 302
    with t.scope():
        tile = Tile.objects.get(report=report)
        assert tile.width == 2 and tile.dashboard.owner == t.users["sales"]


def test_index_lists_reports_and_dashboards(data):
    t = data.tenant
    with t.scope():
        services.create_report(
            t.actors["owner"],
            name="Visible",
            object_type="customers.account",
            definition={},
            sharing=Sharing.WORKSPACE,
        )
        services.create_report(
            t.actors["owner"], name="Secret", object_type="customers.account", definition={}
        )
    html = t.web_client("sales").get("/reports/").content.decode()
    assert "Visible" in html and "Secret" not in html
    assert 'id="nav-reports"' in html


def test_tile_cache_is_per_viewer_and_exact(data):
    from kehu.customers.models import Account

    t = data.tenant
    with t.scope():
        report = services.create_report(
            t.actors["owner"],
            name="All",
            object_type="customers.account",
            sharing=Sharing.WORKSPACE,
            definition={"date_field": ""},
            chart="table",
        )
        dashboard = services.create_dashboard(t.actors["owner"], name="D", sharing=Sharing.WORKSPACE)
        tile = services.add_tile(t.actors["owner"], dashboard, report_id=report.pk)
    url = f"/reports/dashboards/{dashboard.pk}/tiles/{tile.pk}/"

    def total(client, suffix=""):
        html = client.get(url + suffix).content.decode()
        return re.search(r'<td class="num">(\d+)</td>', html).group(1), html

    owner, sales = t.web_client("owner"), t.web_client("sales")
    assert total(owner)[0] == "6"
    assert total(sales)[0] == "3"  # not the owner's cached six
    with t.scope():
        Account.objects.filter(name="a6").delete()
    count, html = total(owner)
    assert count == "5" and "tile-stamp" in html  # a write ends the kept result at once (exact cache)
    assert total(owner, "?fresh=1")[0] == "5"


def test_treemap_report_page_nested_by_two_groupings(data):
    """Grade × lifecycle stage: the grades' boxes hold the stages' cells, every cell titled with both."""
    t = data.tenant
    with t.scope():
        report = services.create_report(
            t.actors["owner"],
            name="Grades and stages",
            object_type="customers.account",
            chart="treemap",
            definition={"group_by": [{"field": "grade"}, {"field": "lifecycle_stage"}], "date_field": ""},
        )
    html = t.web_client("owner").get(f"/reports/{report.pk}/").content.decode()
    assert html.count('class="treemap-group"') == 4  # strategic, important, ordinary, (empty)
    assert "Strategic · Active / repeat: 2 (33%)" in html
    assert "Ordinary · At risk: 1 (17%)" in html
    assert 'id="report-chart-title"' in html


def test_rfm_tile_draws_the_segments_as_a_treemap(data):
    from datetime import date

    from django.utils import timezone

    from kehu.analytics.models import CustomerScore

    t = data.tenant
    rows = [
        ("a1", 5, 5, "champions"),
        ("a2", 5, 4, "champions"),
        ("a3", 1, 1, "lost"),
        ("a4", 2, 4, "at_risk"),
    ]
    with t.scope():
        for name, r, fm, segment in rows:
            CustomerScore.objects.create(
                workspace=t.workspace,
                account=data.accounts[name],
                as_of=date(2026, 3, 31),
                computed_at=timezone.now(),
                r=r,
                fm=fm,
                segment=segment,
            )
        dashboard = services.ensure_customer_value(t.actors["owner"])
        tile = next(x for x in services.tiles_of(dashboard) if x.kind == "rfm_grid")
    sales = t.web_client("sales").get(f"/reports/dashboards/{dashboard.pk}/tiles/{tile.pk}/").content.decode()
    assert f'id="rfm-segments-{tile.pk}"' in sales
    assert "Champions: 2 (67%)" in sales and "Lost: 1 (33%)" in sales
    assert "At risk" not in sales  # a4 is the manager's: not counted for the sales rep
    owner = t.web_client("owner").get(f"/reports/dashboards/{dashboard.pk}/tiles/{tile.pk}/").content.decode()
    assert "Champions: 2 (50%)" in owner and "At risk: 1 (25%)" in owner


# --- the filter editor (listviews' builder rows inside the report builder) ---------------------------

REGION_NORTH = {
    "g.r.op": "and",
    "c.r-0.field": "custom.region",
    "c.r-0.lookup": "eq",
    "c.r-0.value": "n",
}


def test_builder_offers_the_filter_editor_with_custom_fields(data):
    html = data.tenant.web_client("owner").get("/reports/new/?object_type=customers.account").content.decode()
    assert 'id="filter-editor"' in html and 'name="g.r.op"' in html
    assert 'value="custom.region"' in html and 'value="lifecycle_stage"' in html
    assert "/lists/customers.account/builder/condition/?parent=r" in html  # "+ Condition" adds a row
    assert "reports/builder.js" in html


def test_preview_follows_the_editors_conditions(data):
    client = data.tenant.web_client("owner")
    base = {"object_type": "customers.account", "group_1": "grade", "agg_fn_1": "count", "chart": "table"}
    everything = client.post("/reports/preview/", base).content.decode()
    assert "Important" in everything
    north = client.post("/reports/preview/", {**base, **REGION_NORTH}).content.decode()
    # North: a1 (strategic), a3 (ordinary), a4 (strategic).
    assert re.search(r"<td>Strategic</td><td class=\"num\">2</td>", north)
    assert re.search(r"<td>Ordinary</td><td class=\"num\">1</td>", north)
    assert "Important" not in north
    assert 'id="builder-filters"' in north and "Region" in north  # the filters in words
    # An OR group: North, or at risk.
    either = {
        **base,
        "g.r.op": "or",
        "c.r-0.field": "custom.region",
        "c.r-0.lookup": "eq",
        "c.r-0.value": "n",
        "c.r-1.field": "lifecycle_stage",
        "c.r-1.lookup": "eq",
        "c.r-1.value": "at_risk",
    }
    html = client.post("/reports/preview/", either).content.decode()
    assert re.search(r"<td>Ordinary</td><td class=\"num\">2</td>", html)  # a3 and a5
    # A row without a field is ignored; a bad value is reported with its path.
    blank = client.post("/reports/preview/", {**base, "g.r.op": "and", "c.r-0.field": ""}).content.decode()
    assert "Important" in blank
    bad = {**base, "g.r.op": "and", "c.r-0.field": "created_at", "c.r-0.lookup": "gt", "c.r-0.value": "soon"}
    assert "report-problem" in client.post("/reports/preview/", bad).content.decode()


def test_saved_report_keeps_the_editors_filters_and_shows_them_again(data):
    client = data.tenant.web_client("owner")
    response = client.post(
        "/reports/new/",
        {**BUILD, **REGION_NORTH, "group_2": "", "chart": "treemap", "name": "North by grade", "save": "1"},
    )
    assert response.status_code == 302
    with data.tenant.scope():
        report = Report.objects.get(name="North by grade")
    assert report.definition["filters"] == {
        "op": "and",
        "conditions": [{"field": "custom.region", "lookup": "eq", "value": "n"}],
    }
    page = client.get(response["Location"]).content.decode()
    assert "Strategic: 2 (67%)" in page and "Important" not in page.split('id="report-chart"')[1]
    edit = client.get(f"/reports/{report.pk}/edit/").content.decode()
    row = edit.split('data-path="r-0"')[1].split("</div>")[0]
    assert '<option value="custom.region" selected>' in row and '<option value="n" selected>' in row


def _builder_from_view(t, owner: str, stage: str) -> str:
    """The builder (htmx) as the workspace owner after picking ``owner``'s saved view of ``stage``."""
    from kehu.listviews import services as views

    with t.scope():
        view = views.create_view(
            t.actors[owner],
            "customers.account",
            name=stage,
            filters={
                "op": "and",
                "conditions": [{"field": "lifecycle_stage", "lookup": "eq", "value": stage}],
            },
        )
    query = {
        "object_type": "customers.account",
        "group_1": "grade",
        "agg_fn_1": "count",
        "filter_view": view.pk,
    }
    return t.web_client("owner").get("/reports/new/", query, HTTP_HX_REQUEST="true").content.decode()


def test_a_saved_list_view_loads_its_conditions_into_the_editor(data):
    html = _builder_from_view(data.tenant, "owner", "at_risk")
    assert "<html" not in html
    row = html.split('data-path="r-0"')[1].split("</div>")[0]
    assert '<option value="lifecycle_stage" selected>' in row and '<option value="at_risk" selected>' in row
    assert re.search(r"<td>Ordinary</td><td class=\"num\">1</td>", html)  # a5, in the preview


def test_another_members_private_view_is_not_loaded(data):
    html = _builder_from_view(data.tenant, "manager", "churned")
    assert '<option value="lifecycle_stage" selected>' not in html
    assert "Important" in html  # no filter: every grade in the preview
