"""The predictions API: permissions, workspace isolation, the action → task round trip."""

import pytest

from kehu.activities.models import Task
from kehu.predictions.models import RecommendedAction

BASE = "/api/v1/predictions"


def test_account_prediction_with_versions_and_reasons(tenant, scored):
    risky, _safe = scored
    response = tenant.api_client("sales").get(f"{BASE}/accounts/{risky.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["available"] is True and body["at_risk"] is True
    assert body["churn_probability"] == 0.83 and body["clv_12m"] == "25.50"
    assert body["reasons"][0]["text"] == "Last order 150 days ago"
    assert body["next_action"]["kind"] == "call" and body["next_action"]["label"] == "Call by the owner"
    assert body["clv_model_version"] == 1 and body["churn_model_version"] == 1 and body["computed_at"]


def test_the_360_view_carries_the_predictions_panel(tenant, scored):
    risky, _safe = scored
    body = tenant.api_client("sales").get(f"/api/v1/accounts/{risky.pk}/360").json()
    panel = body.get("panels", body).get("predictions")
    assert panel["churn_probability"] == 0.83


def test_models_endpoint(tenant, scored):
    body = tenant.api_client("readonly").get(f"{BASE}/models").json()
    assert body["clv"]["params"]["bgnbd"]["r"] == 0.24
    assert body["churn"]["auc"] == 0.91 and body["churn"]["threshold"] == 0.4


def test_refit_needs_admin(tenant, scored):
    assert tenant.api_client("sales").post(f"{BASE}/refit").status_code == 403
    assert tenant.api_client("admin").post(f"{BASE}/refit").status_code == 202


def test_action_to_task_round_trip(tenant, scored):
    risky, _safe = scored
    client = tenant.api_client("sales")
    response = client.post(f"{BASE}/accounts/{risky.pk}/action/task")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "taken" and body["task_id"]
    with tenant.scope():
        task = Task.objects.get(pk=body["task_id"])
    assert task.assignee_id == tenant.users["sales"].pk and task.record_id == risky.pk
    assert task.title == "Call Risky Ltd"
    # Taken: nothing left to take.
    assert client.post(f"{BASE}/accounts/{risky.pk}/action/task").status_code == 409
    summary = client.get(f"{BASE}/actions/summary").json()
    assert summary["taken"]["count"] == 1 and summary["taken"]["pending"] == 1


def test_dismiss(tenant, scored):
    risky, _safe = scored
    response = tenant.api_client("sales").post(f"{BASE}/accounts/{risky.pk}/action/dismiss")
    assert response.status_code == 200 and response.json()["status"] == "dismissed"


def test_readonly_cannot_take_actions(tenant, scored):
    risky, _safe = scored
    assert tenant.api_client("readonly").post(f"{BASE}/accounts/{risky.pk}/action/task").status_code == 403
    with tenant.scope():
        assert RecommendedAction.objects.get(account=risky).status == "suggested"


def test_at_risk_list_only_above_the_threshold(tenant, scored):
    risky, _safe = scored
    rows = tenant.api_client("sales").get(f"{BASE}/at-risk").json()
    assert [r["account_id"] for r in rows] == [risky.pk]


@pytest.mark.parametrize(
    "method,path",
    [
        ("get", "/accounts/{id}"),
        ("post", "/accounts/{id}/action/task"),
        ("post", "/accounts/{id}/action/dismiss"),
    ],
)
def test_other_workspace_gets_404(tenant, other_tenant, scored, method, path):
    risky, _safe = scored
    client = other_tenant.api_client("admin")
    response = getattr(client, method)(BASE + path.format(id=risky.pk))
    assert response.status_code == 404
    with tenant.scope():
        assert RecommendedAction.objects.get(account=risky).status == "suggested"


def test_other_workspace_sees_no_models_or_risks(tenant, other_tenant, scored):
    client = other_tenant.api_client("admin")
    assert client.get(f"{BASE}/models").json() == {"clv": None, "churn": None}
    assert client.get(f"{BASE}/at-risk").json() == []
    assert client.get(f"{BASE}/actions/summary").json()["suggested"] == 0


def test_sales_sees_only_own_accounts_at_risk(tenant, scored):
    from kehu.customers.models import Account
    from kehu.predictions.models import CustomerPrediction

    with tenant.scope():
        other = Account.objects.create(
            workspace=tenant.workspace, name="Not mine", owner=tenant.users["manager"]
        )
        CustomerPrediction.objects.create(workspace=tenant.workspace, account=other, churn_probability=0.9)
    rows = tenant.api_client("sales").get(f"{BASE}/at-risk").json()
    assert other.pk not in [r["account_id"] for r in rows]
    assert tenant.api_client("sales").get(f"{BASE}/accounts/{other.pk}").status_code == 404
