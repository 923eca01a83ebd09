"""Deal pages: board (query count pinned, filters, load more), moves from the board, detail, list,
settings, and the 360° panel."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kehu.deals import services
from kehu.deals.models import Opportunity

pytestmark = pytest.mark.django_db


def _deals(tenant, setup, count, **extra):
    with tenant.scope():
        sales = tenant.actors["sales"]
        return [
            services.create_opportunity(
                sales, name=f"Deal {i}", account_id=setup["account"].pk, amount=100, **extra
            )
            for i in range(count)
        ]


def _board_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_board_query_count_does_not_grow_with_cards(tenant, deal_setup):
    client = tenant.web_client("sales")
    url = f"/deals/board/{deal_setup['pipeline'].pk}/"
    _deals(tenant, deal_setup, 3)
    few = _board_queries(client, url)
    _deals(tenant, deal_setup, 30)
    with tenant.scope():
        opp = Opportunity.objects.first()
        services.move_to_stage(tenant.actors["sales"], opp, deal_setup["stages"][20])
    many = _board_queries(client, url)
    # Every column's first page comes in one query: a second non-empty column costs nothing more.
    assert many == few, (few, many)
    assert many <= 21


def test_board_shows_totals_and_pages_cards(tenant, deal_setup):
    _deals(tenant, deal_setup, 25)
    client = tenant.web_client("sales")
    page = client.get(f"/deals/board/{deal_setup['pipeline'].pk}/").content.decode()
    assert page.count('class="deal-card"') == 20  # the first page of the column
    assert '<dd data-total="count">25</dd>' in page and "2,500.00 CNY" in page and "250.00 CNY" in page
    stage = deal_setup["stages"][10].pk
    assert f"/deals/board/{deal_setup['pipeline'].pk}/stages/{stage}/?cursor=" in page
    cursor = page.split("?cursor=")[1].split('"')[0].split("&")[0]
    more = client.get(
        f"/deals/board/{deal_setup['pipeline'].pk}/stages/{stage}/?cursor={cursor}", HTTP_HX_REQUEST="true"
    )
    assert more.content.decode().count('class="deal-card"') == 5
    narrowed = client.get(f"/deals/board/{deal_setup['pipeline'].pk}/?owner={tenant.users['admin'].pk}")
    assert narrowed.content.decode().count('class="deal-card"') == 0


def test_board_move_answers_totals_or_the_refusal(tenant, deal_setup):
    opp = _deals(tenant, deal_setup, 1)[0]
    client = tenant.web_client("sales")
    refused = client.post(
        f"/opportunities/{opp.pk}/move/",
        {"stage_id": deal_setup["stages"][75].pk},
        HTTP_ACCEPT="application/json",
    )
    assert refused.status_code == 422
    assert (
        refused.json()["fields"] == ["expected_close_date"]
        and "expected close date" in refused.json()["message"]
    )
    moved = client.post(
        f"/opportunities/{opp.pk}/move/",
        {"stage_id": deal_setup["stages"][50].pk},
        HTTP_ACCEPT="application/json",
    ).json()
    assert moved["ok"] and moved["columns"][str(deal_setup["stages"][50].pk)]["count"] == 1
    assert moved["columns"][str(deal_setup["stages"][10].pk)]["count"] == 0
    # Readonly users see the board but get no draggable cards and cannot move.
    readonly = tenant.web_client("readonly")
    assert (
        'draggable="true"' not in readonly.get(f"/deals/board/{deal_setup['pipeline'].pk}/").content.decode()
    )
    denied = readonly.post(f"/opportunities/{opp.pk}/move/", {"stage_id": deal_setup["stages"][20].pk})
    assert denied.status_code == 403


def test_detail_list_and_panel(tenant, deal_setup, django_assert_max_num_queries):
    opp = _deals(tenant, deal_setup, 1)[0]
    client = tenant.web_client("sales")
    with django_assert_max_num_queries(30):
        detail = client.get(f"/opportunities/{opp.pk}/")
    assert detail.status_code == 200 and "Stage history" in detail.content.decode()
    listing = client.get("/opportunities/").content.decode()
    assert "Deal 0" in listing
    account_page = client.get(f"/accounts/{deal_setup['account'].pk}/").content.decode()
    assert 'id="panel-opportunities"' in account_page and "Deal 0" in account_page
    # Another workspace's deal is a 404.
    assert tenant.web_client("admin").get("/opportunities/999999/").status_code == 404


def test_contact_roles_from_the_detail_page(tenant, deal_setup):
    opp = _deals(tenant, deal_setup, 1)[0]
    client = tenant.web_client("sales")
    client.post(
        f"/opportunities/{opp.pk}/contacts/", {"contact_id": deal_setup["contact"].pk, "role": "champion"}
    )
    with tenant.scope():
        assert list(opp.contact_roles.values_list("role", flat=True)) == ["champion"]
    client.post(f"/opportunities/{opp.pk}/contacts/", {"remove": deal_setup["contact"].pk})
    with tenant.scope():
        assert not opp.contact_roles.exists()


def test_pipeline_settings_for_admins_only(tenant, deal_setup):
    assert tenant.web_client("sales").get("/settings/pipelines/").status_code in (302, 403, 404)
    admin = tenant.web_client("admin")
    assert admin.get("/settings/pipelines/").status_code == 200
    admin.post("/settings/pipelines/change/", {"action": "create_pipeline", "name": "Renewals"})
    with tenant.scope():
        renewals = services.Pipeline.objects.get(name="Renewals")
    admin.post(
        "/settings/pipelines/change/",
        {
            "action": "add_stage",
            "pipeline": renewals.pk,
            f"new{renewals.pk}-name": "Due",
            f"new{renewals.pk}-probability": 40,
            f"new{renewals.pk}-outcome": "open",
            f"new{renewals.pk}-required_fields": ["amount"],
        },
    )
    with tenant.scope():
        due = renewals.stages.get(name="Due")
        assert due.probability == 40 and due.required_fields == ["amount"] and due.position == 0
    admin.post("/settings/pipelines/change/", {"action": "stage_down", "stage": due.pk})
    with tenant.scope():
        assert [s.name for s in renewals.stages.order_by("position")] == ["Won", "Due", "Lost"]
