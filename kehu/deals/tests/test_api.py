"""Opportunities, pipelines and the board over the REST API: CRUD, moves, permissions, isolation."""

import pytest
from django_scopes import scope

from kehu.customers import services as customers
from kehu.deals import services
from kehu.deals.models import Opportunity, StageChange

pytestmark = pytest.mark.django_db
JSON = "application/json"


def _create(client, setup, **extra):
    body = {"name": "ERP rollout", "account_id": setup["account"].pk, **extra}
    return client.post("/api/v1/opportunities", body, content_type=JSON)


def test_crud_and_move_with_history(tenant, deal_setup):
    client = tenant.api_client("sales")
    created = _create(
        client,
        deal_setup,
        contacts=[{"contact_id": deal_setup["contact"].pk, "role": "decision_maker"}],
        expected_close_date="2026-12-31",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["stage_id"] == deal_setup["stages"][10].pk and body["probability"] == 10
    assert body["status"] == "open" and body["forecast_category"] == "pipeline"
    assert body["contacts"] == [
        {"contact_id": deal_setup["contact"].pk, "role": "decision_maker", "is_primary": False}
    ]
    pk = body["id"]

    patched = client.patch(
        f"/api/v1/opportunities/{pk}",
        {
            "lines": [
                {"description": "Licences", "quantity": 10, "unit_price": "99.5", "discount_percent": 10}
            ]
        },
        content_type=JSON,
    )
    assert patched.status_code == 200, patched.content
    assert patched.json()["amount"] == "895.50"  # 10 × 99.50 × 0.9

    moved = client.post(
        f"/api/v1/opportunities/{pk}/move", {"stage_id": deal_setup["stages"][75].pk}, content_type=JSON
    )
    assert moved.status_code == 200, moved.content
    moved = moved.json()
    assert moved["probability"] == 75 and moved["forecast_category"] == "commit"
    assert [h["to_stage_id"] for h in moved["stage_history"]] == [
        deal_setup["stages"][75].pk,
        deal_setup["stages"][10].pk,
    ]
    listed = client.get("/api/v1/opportunities?status=open&ordering=-updated_at").json()
    assert [o["id"] for o in listed["items"]] == [pk]
    assert client.delete(f"/api/v1/opportunities/{pk}").status_code == 403  # sales cannot delete
    assert tenant.api_client("admin").delete(f"/api/v1/opportunities/{pk}").status_code == 204


def test_invalid_move_is_422_naming_fields_and_changes_nothing(tenant, deal_setup):
    client = tenant.api_client("sales")
    pk = _create(client, deal_setup).json()["id"]
    answer = client.post(
        f"/api/v1/opportunities/{pk}/move", {"stage_id": deal_setup["stages"][75].pk}, content_type=JSON
    )
    assert answer.status_code == 422
    fields = {d["field"]: d["code"] for d in answer.json()["error"]["details"]}
    assert fields == {"amount": "required_for_stage", "expected_close_date": "required_for_stage"}
    lost = client.post(
        f"/api/v1/opportunities/{pk}/move", {"stage_id": deal_setup["stages"][0].pk}, content_type=JSON
    )
    assert lost.status_code == 422 and lost.json()["error"]["details"][0]["field"] == "lost_reason"
    with tenant.scope():
        opp = Opportunity.objects.get(pk=pk)
        assert opp.stage_id == deal_setup["stages"][10].pk and opp.status == "open"
        assert StageChange.objects.filter(opportunity=opp).count() == 1


def test_lose_with_reason_and_reopen(tenant, deal_setup):
    client = tenant.api_client("sales")
    pk = _create(client, deal_setup).json()["id"]
    lost = client.post(
        f"/api/v1/opportunities/{pk}/move",
        {"stage_id": deal_setup["stages"][0].pk, "lost_reason": "Price"},
        content_type=JSON,
    ).json()
    assert lost["status"] == "lost" and lost["closed_at"] and lost["forecast_category"] == "omitted"
    assert lost["lost_reason"] == "Price" and lost["probability"] == 0
    reopened = client.post(
        f"/api/v1/opportunities/{pk}/move", {"stage_id": deal_setup["stages"][20].pk}, content_type=JSON
    ).json()
    assert reopened["status"] == "open" and reopened["closed_at"] is None and reopened["lost_reason"] == ""


def test_other_workspace_records_are_404(tenant, other_tenant, deal_setup):
    with scope(workspace=other_tenant.workspace):
        owner = other_tenant.actors["owner"]
        account = customers.create_account(owner, name="Globex customer")
        foreign = services.create_opportunity(owner, name="Theirs", account_id=account.pk)
        pipeline = services.default_pipeline(other_tenant.workspace)
        foreign_stage = pipeline.stages.first()
    client = tenant.api_client("admin")
    assert client.get(f"/api/v1/opportunities/{foreign.pk}").status_code == 404
    assert (
        client.patch(f"/api/v1/opportunities/{foreign.pk}", {"name": "x"}, content_type=JSON).status_code
        == 404
    )
    assert client.delete(f"/api/v1/opportunities/{foreign.pk}").status_code == 404
    assert client.get(f"/api/v1/pipelines/{pipeline.pk}").status_code == 404
    assert client.get(f"/api/v1/pipelines/{pipeline.pk}/board").status_code == 404
    # A stage of another workspace is unknown here; an account of another workspace too.
    pk = _create(client, deal_setup).json()["id"]
    moved = client.post(f"/api/v1/opportunities/{pk}/move", {"stage_id": foreign_stage.pk}, content_type=JSON)
    assert moved.status_code == 422
    refused = client.post("/api/v1/opportunities", {"name": "x", "account_id": account.pk}, content_type=JSON)
    assert refused.status_code == 422 and refused.json()["error"]["details"][0]["field"] == "account_id"
    assert foreign.pk not in [o["id"] for o in client.get("/api/v1/opportunities").json()["items"]]


def test_record_scope_per_role(tenant, deal_setup):
    sales_pk = _create(tenant.api_client("sales"), deal_setup).json()["id"]
    with tenant.scope():
        admin_opp = services.create_opportunity(
            tenant.actors["admin"], name="Admin deal", account_id=deal_setup["account"].pk
        )
    sales = tenant.api_client("sales")
    assert [o["id"] for o in sales.get("/api/v1/opportunities").json()["items"]] == [sales_pk]
    assert sales.get(f"/api/v1/opportunities/{admin_opp.pk}").status_code == 404
    readonly = tenant.api_client("readonly")
    assert len(readonly.get("/api/v1/opportunities").json()["items"]) == 2
    assert _create(readonly, deal_setup).status_code == 403
    assert (
        readonly.post(
            f"/api/v1/opportunities/{sales_pk}/move",
            {"stage_id": deal_setup["stages"][20].pk},
            content_type=JSON,
        ).status_code
        == 403
    )
    marketing = tenant.api_client("marketing")
    assert (
        marketing.patch(f"/api/v1/opportunities/{sales_pk}", {"name": "x"}, content_type=JSON).status_code
        == 403
    )


def test_pipeline_admin_by_api(tenant, deal_setup):
    admin = tenant.api_client("admin")
    created = admin.post(
        "/api/v1/pipelines",
        {
            "name": "Renewals",
            "stages": [
                {"name": "Due", "probability": 60},
                {"name": "Renewed", "is_won": True},
                {"name": "Churned", "is_lost": True},
            ],
        },
        content_type=JSON,
    )
    assert created.status_code == 201, created.content
    pipeline = created.json()
    assert [(s["name"], s["probability"]) for s in pipeline["stages"]] == [
        ("Due", 60),
        ("Renewed", 100),
        ("Churned", 0),
    ]
    added = admin.post(
        f"/api/v1/pipelines/{pipeline['id']}/stages",
        {"name": "Quote sent", "probability": 80, "required_fields": ["amount"]},
        content_type=JSON,
    )
    assert added.status_code == 201 and added.json()["position"] == 1  # after the open stages
    bad = admin.post(
        f"/api/v1/pipelines/{pipeline['id']}/stages",
        {"name": "X", "required_fields": ["nonsense"]},
        content_type=JSON,
    )
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "required_fields.0"
    ids = [s["id"] for s in admin.get(f"/api/v1/pipelines/{pipeline['id']}").json()["stages"]]
    reordered = admin.patch(
        f"/api/v1/pipelines/{pipeline['id']}", {"stage_order": list(reversed(ids))}, content_type=JSON
    )
    assert [s["id"] for s in reordered.json()["stages"]] == list(reversed(ids))
    # Sales may read pipelines but not change them.
    sales = tenant.api_client("sales")
    assert len(sales.get("/api/v1/pipelines").json()) == 2
    assert (
        sales.patch(f"/api/v1/pipelines/{pipeline['id']}", {"name": "x"}, content_type=JSON).status_code
        == 403
    )
    # A stage with deals is deleted only with a target stage.
    # Its first open stage is now "Quote sent", which needs an amount.
    assert _create(sales, deal_setup, pipeline_id=pipeline["id"]).status_code == 422
    deal = _create(sales, deal_setup, pipeline_id=pipeline["id"], amount="10").json()
    stage_url = f"/api/v1/pipelines/{pipeline['id']}/stages/{deal['stage_id']}"
    assert admin.delete(stage_url).status_code == 409
    target = next(i for i in ids if i != deal["stage_id"])
    assert admin.delete(f"{stage_url}?move_to_stage_id={target}").status_code == 204
    assert sales.get(f"/api/v1/opportunities/{deal['id']}").json()["stage_id"] == target


def test_board_columns_totals_and_pages(tenant, deal_setup, django_assert_max_num_queries):
    client = tenant.api_client("sales")
    for i in range(3):
        _create(client, deal_setup, name=f"Deal {i}", amount=f"{(i + 1) * 100}")
    pipeline_id = deal_setup["pipeline"].pk
    board = client.get(f"/api/v1/pipelines/{pipeline_id}/board").json()
    first = board["columns"][0]
    assert first["count"] == 3 and first["amount"] == "600.00" and first["weighted_amount"] == "60.00"
    assert [c["name"] for c in first["cards"]] == ["Deal 2", "Deal 1", "Deal 0"]
    assert [c["count"] for c in board["columns"][1:]] == [0, 0, 0, 0, 0]
    narrowed = client.get(f"/api/v1/pipelines/{pipeline_id}/board?owner_id={tenant.users['admin'].pk}").json()
    assert narrowed["columns"][0]["count"] == 0
    stage_id = first["stage"]["id"]
    page = client.get(f"/api/v1/pipelines/{pipeline_id}/board/stages/{stage_id}").json()
    assert len(page["items"]) == 3 and page["next_cursor"] is None
