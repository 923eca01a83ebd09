"""Survey API: permissions and cross-workspace isolation."""

import json

import pytest

from kehu.surveys import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey(tenant):
    with tenant.scope():
        return services.create_survey(tenant.actors["admin"], name="NPS 2026", kind="nps")


def test_roles(tenant, survey):
    assert tenant.api_client("service").get("/api/v1/surveys").status_code == 200
    assert tenant.api_client("marketing").get("/api/v1/surveys").status_code == 403
    created = tenant.api_client("sales").post(
        "/api/v1/surveys", json.dumps({"name": "x"}), content_type="application/json"
    )
    assert created.status_code == 403  # sales only views service records
    assert tenant.api_client("readonly").post(f"/api/v1/surveys/{survey.pk}/send").status_code == 403


def test_other_workspace_gets_404(tenant, other_tenant, survey):
    client = other_tenant.api_client("admin")
    assert client.get(f"/api/v1/surveys/{survey.pk}").status_code == 404
    assert client.post(f"/api/v1/surveys/{survey.pk}/send").status_code == 404
    patch = client.patch(
        f"/api/v1/surveys/{survey.pk}", json.dumps({"name": "y"}), content_type="application/json"
    )
    assert patch.status_code == 404
    assert client.get("/api/v1/surveys").json()["items"] == []


def test_create_patch_validate(tenant, survey):
    client = tenant.api_client("admin")
    bad = client.post(
        "/api/v1/surveys", json.dumps({"name": "", "kind": "x"}), content_type="application/json"
    )
    assert bad.status_code == 422
    assert {d["field"] for d in bad.json()["error"]["details"]} >= {"name", "kind"}
    unknown = client.post(
        "/api/v1/surveys", json.dumps({"name": "a", "bogus": 1}), content_type="application/json"
    )
    assert unknown.status_code == 422
    changed = client.patch(
        f"/api/v1/surveys/{survey.pk}",
        json.dumps({"audience_stages": ["active"]}),
        content_type="application/json",
    )
    assert changed.status_code == 200 and changed.json()["audience_stages"] == ["active"]
    assert changed.json()["name"] == "NPS 2026"


def test_responses_list_is_isolated(
    tenant, other_tenant, customer, immediate_tasks, django_capture_on_commit_callbacks
):
    from django.core import mail
    from django.test import Client

    from .conftest import links_in, open_ticket, resolve

    _account, contact = customer
    with tenant.scope(), django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(tenant, contact)
    with tenant.scope(), django_capture_on_commit_callbacks(execute=True):
        resolve(tenant, ticket)
    with django_capture_on_commit_callbacks(execute=True):
        Client().get(links_in(mail.outbox[-1])[4])
    mine = (
        tenant.api_client("service").get(f"/api/v1/surveys/responses?ticket_id={ticket.pk}").json()["items"]
    )
    assert [(r["score"], r["kind"], r["contact_id"]) for r in mine] == [(4, "csat", contact.pk)]
    assert other_tenant.api_client("admin").get("/api/v1/surveys/responses").json()["items"] == []
    assert tenant.api_client("marketing").get("/api/v1/surveys/responses").status_code == 403
    # The sales rep owns the contact: they see the answer about it; a rep who doesn't, would not.
    assert len(tenant.api_client("sales").get("/api/v1/surveys/responses").json()["items"]) == 1
