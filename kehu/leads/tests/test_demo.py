from django_scopes import scopes_disabled

from kehu.leads.demo import seed
from kehu.leads.models import AssignmentRule, Lead, WebForm


def test_demo_seed(tenant):
    from kehu.customers import services as customers

    with tenant.scope():
        account = customers.create_account(tenant.actors["admin"], name="Existing Co")
        for i in range(3):
            customers.create_contact(tenant.actors["admin"], name=f"P{i}", account_id=account.pk)
    seed(tenant.workspace.slug, 7)
    with scopes_disabled():
        leads = Lead.objects.filter(workspace=tenant.workspace)
        assert leads.count() == 50
        assert leads.filter(converted_at__isnull=False, converted_account=account).exists()
        assert len(set(leads.values_list("source", flat=True))) >= 5
        assert WebForm.objects.filter(workspace=tenant.workspace).count() == 1
        assert AssignmentRule.objects.filter(workspace=tenant.workspace).count() == 2
