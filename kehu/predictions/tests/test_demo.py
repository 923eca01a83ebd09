"""The demo seeding gives a small workspace fitted models, predictions and decided actions."""

from kehu.customers.models import Account
from kehu.predictions import demo
from kehu.predictions.models import ChurnModel, ClvModel, CustomerPrediction, RecommendedAction


def test_demo_seed_on_forty_accounts(tenant):
    with tenant.scope():
        for i in range(40):
            Account.objects.create(workspace=tenant.workspace, name=f"Demo {i}", owner=tenant.users["sales"])
    demo.seed(tenant.workspace.slug)
    with tenant.scope():
        assert ClvModel.objects.get().status == "fitted"
        assert ChurnModel.objects.get().status == "fitted"
        assert CustomerPrediction.objects.count() == 40
        assert RecommendedAction.objects.filter(status="taken", task__isnull=False).count() == 1
        assert RecommendedAction.objects.filter(status="dismissed").count() == 1
        assert RecommendedAction.objects.filter(status="suggested").exists()
