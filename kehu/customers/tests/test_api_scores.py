"""Grade and lifecycle stage on the accounts API: shown, filterable, read-only, isolated."""

import pytest
from django_scopes import scope

from kehu.customers import services
from kehu.customers.models import Account

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored(tenant):
    """Three accounts of the sales rep, one of the owner; the scores as analytics would write them."""
    rows = [
        ("Alpha", "sales", "strategic", "active"),
        ("Beta", "sales", "ordinary", "at_risk"),
        ("Gamma", "sales", "", ""),
        ("Owner's", "owner", "strategic", "active"),
    ]
    made = {}
    with tenant.scope():
        for name, role, grade, stage in rows:
            account = services.create_account(tenant.actors[role], name=name)
            # Analytics writes these columns in bulk (no service); the API only reads them.
            Account.objects.filter(pk=account.pk).update(grade=grade, lifecycle_stage=stage)
            made[name] = account.pk
    return made


def test_list_detail_and_360_show_grade_and_stage(tenant, scored):
    client = tenant.api_client("sales")
    items = {a["name"]: a for a in client.get("/api/v1/accounts").json()["items"]}
    assert set(items) == {"Alpha", "Beta", "Gamma"}
    assert (items["Alpha"]["grade"], items["Alpha"]["lifecycle_stage"]) == ("strategic", "active")
    assert (items["Gamma"]["grade"], items["Gamma"]["lifecycle_stage"]) == ("", "")
    detail = client.get(f"/api/v1/accounts/{scored['Beta']}").json()
    assert (detail["grade"], detail["lifecycle_stage"]) == ("ordinary", "at_risk")
    whole = client.get(f"/api/v1/accounts/{scored['Beta']}/360").json()["account"]
    assert (whole["grade"], whole["lifecycle_stage"]) == ("ordinary", "at_risk")


def test_filter_by_grade_and_stage_only_within_what_the_caller_sees(tenant, scored):
    client = tenant.api_client("sales")

    def names(**params):
        response = client.get("/api/v1/accounts", params)
        assert response.status_code == 200, response.content
        return sorted(a["name"] for a in response.json()["items"])

    assert names(grade="strategic") == ["Alpha"]  # the owner's strategic account stays invisible
    assert names(lifecycle_stage="at_risk") == ["Beta"]
    assert names(grade="") == ["Gamma"]  # empty: not graded yet
    assert names(grade="strategic", lifecycle_stage="at_risk") == []
    assert sorted(
        a["name"]
        for a in tenant.api_client("owner").get("/api/v1/accounts", {"grade": "strategic"}).json()["items"]
    ) == ["Alpha", "Owner's"]
    # The filter-spec language of the lists knows them too.
    spec = '{"op": "and", "conditions": [{"field": "lifecycle_stage", "lookup": "eq", "value": "active"}]}'
    assert names(filters=spec) == ["Alpha"]


def test_unknown_stage_is_422(tenant, scored):
    response = tenant.api_client("sales").get("/api/v1/accounts", {"lifecycle_stage": "sleeping"})
    assert response.status_code == 422


def test_grade_and_stage_are_read_only(tenant, scored):
    client = tenant.api_client("sales")
    for body in ({"grade": "important"}, {"lifecycle_stage": "churned"}):
        response = client.patch(f"/api/v1/accounts/{scored['Alpha']}", body, content_type="application/json")
        assert response.status_code == 422, body
        assert response.json()["error"]["details"][0]["field"] in body
    created = client.post(
        "/api/v1/accounts", {"name": "New", "grade": "strategic"}, content_type="application/json"
    )
    assert created.status_code == 422
    with tenant.scope():
        alpha = Account.objects.get(pk=scored["Alpha"])
    assert (alpha.grade, alpha.lifecycle_stage) == ("strategic", "active")


def test_other_workspace_neither_sees_nor_filters_them(tenant, other_tenant, scored):
    client = other_tenant.api_client("owner")
    assert client.get("/api/v1/accounts", {"grade": "strategic"}).json()["items"] == []
    assert client.get(f"/api/v1/accounts/{scored['Alpha']}").status_code == 404
    with scope(workspace=tenant.workspace):
        assert Account.objects.get(pk=scored["Alpha"]).grade == "strategic"
