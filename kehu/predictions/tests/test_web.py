"""The account page's predictions panel, its htmx task button, the churn page and the list columns."""

from django.urls import reverse

from kehu.activities.models import Task
from kehu.predictions.models import RecommendedAction


def test_account_page_shows_the_panel_with_the_task_button(tenant, scored):
    risky, _safe = scored
    html = (
        tenant.web_client("sales").get(reverse("customers:account-detail", args=[risky.pk])).content.decode()
    )
    assert 'id="predictions-panel"' in html and "83%" in html and "Last order 150 days ago" in html
    assert 'id="nba-panel"' in html and "nba-task" in html and "Call by the owner" in html


def test_create_task_button_via_htmx(tenant, scored):
    risky, _safe = scored
    client = tenant.web_client("sales")
    response = client.post(reverse("predictions:take", args=[risky.pk]), headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="nba-taken"' in html and "nba-task" not in html
    with tenant.scope():
        action = RecommendedAction.objects.get(account=risky)
        assert action.status == "taken" and Task.objects.filter(pk=action.task_id).exists()
    assert reverse("activities:task-edit", args=[action.task_id]) in html


def test_readonly_sees_no_button(tenant, scored):
    risky, _safe = scored
    html = (
        tenant.web_client("readonly")
        .get(reverse("customers:account-detail", args=[risky.pk]))
        .content.decode()
    )
    assert 'id="predictions-panel"' in html and "nba-task" not in html


def test_other_workspace_cannot_take(tenant, other_tenant, scored):
    risky, _safe = scored
    response = other_tenant.web_client("admin").post(reverse("predictions:take", args=[risky.pk]))
    assert response.status_code == 404


def test_churn_page_lists_the_at_risk_accounts_and_figures(tenant, scored):
    assert scored
    html = tenant.web_client("sales").get(reverse("predictions:churn")).content.decode()
    assert "Risky Ltd" in html and "Safe Ltd" not in html
    assert 'id="churn-auc"' in html and "0.910" in html
    assert "refit-now" not in html
    assert "refit-now" in tenant.web_client("admin").get(reverse("predictions:churn")).content.decode()


def test_account_list_has_churn_and_clv_columns_sortable_without_n_plus_1(
    tenant, scored, django_assert_max_num_queries
):
    client = tenant.web_client("admin")
    url = reverse("customers:account-list") + "?all=1&cols=name,churn_risk,clv,next_action&sort=-churn_risk"
    response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.index("Risky Ltd") < html.index("Safe Ltd")
    assert "83%" in html and "1400.00" in html
    with django_assert_max_num_queries(40) as first:
        client.get(url)
    # Twenty more predicted accounts cost no extra query.
    from kehu.customers.models import Account
    from kehu.predictions.models import CustomerPrediction

    with tenant.scope():
        for i in range(20):
            a = Account.objects.create(workspace=tenant.workspace, name=f"More {i}")
            CustomerPrediction.objects.create(workspace=tenant.workspace, account=a, churn_probability=i / 40)
    with django_assert_max_num_queries(len(first.captured_queries)):
        client.get(url)


def test_account_list_filter_by_churn_risk(tenant, scored):
    import base64
    import json

    spec = {"op": "and", "conditions": [{"field": "churn_risk", "lookup": "gte", "value": 0.5}]}
    f = base64.urlsafe_b64encode(json.dumps(spec).encode()).decode().rstrip("=")
    html = (
        tenant.web_client("admin").get(reverse("customers:account-list") + f"?all=1&f={f}").content.decode()
    )
    assert "Risky Ltd" in html and "Safe Ltd" not in html
