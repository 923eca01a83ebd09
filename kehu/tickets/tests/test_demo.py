from django_scopes import scopes_disabled

from kehu.tickets.demo import seed
from kehu.tickets.models import RoutingRule, Ticket, TicketAttachment, TicketCategory, TicketEntry


def test_demo_seed(tenant, calendar, policy):
    from kehu.customers import services as customers

    with tenant.scope():
        account = customers.create_account(tenant.actors["admin"], name="Existing Co")
        for i in range(3):
            customers.create_contact(
                tenant.actors["admin"], name=f"P{i}", email=f"p{i}@existing.co", account_id=account.pk
            )
    seed(tenant.workspace.slug, 7)
    with scopes_disabled():
        tickets = Ticket.objects.filter(workspace=tenant.workspace)
        assert tickets.count() == 40
        assert tickets.filter(type="complaint", root_cause__gt="").exists()
        assert tickets.filter(account=account).exists()
        assert len(set(tickets.values_list("status", flat=True))) >= 4
        assert tickets.filter(sla_policy=policy).count() == 40
        assert TicketEntry.objects.filter(ticket__workspace=tenant.workspace, kind="note").exists()
        assert TicketAttachment.objects.filter(workspace=tenant.workspace).count() == 1
        assert TicketCategory.objects.filter(workspace=tenant.workspace).count() == 6
        assert RoutingRule.objects.filter(workspace=tenant.workspace).count() >= 1
        assert tickets.filter(first_responded_at__isnull=False).exists()
