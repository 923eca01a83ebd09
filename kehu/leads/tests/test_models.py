from kehu.leads.models import Lead


def test_lead_saves_with_a_nullable_score(tenant):
    with tenant.scope():
        lead = Lead.objects.create(workspace=tenant.workspace, name="张伟", company="Acme")
        assert lead.score is None and lead.status == Lead.Status.NEW
        assert str(lead) == "张伟 (Acme)"
