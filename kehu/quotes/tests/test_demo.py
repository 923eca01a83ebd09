"""The demo seed's quotes: every status shown, one accepted with its order and a won deal."""

import pytest
from django_scopes import scope

from kehu.commerce.models import Order
from kehu.deals.models import Opportunity
from kehu.operations import demo
from kehu.quotes.models import Quote
from kehu.workspaces.models import Workspace

pytestmark = pytest.mark.django_db


def test_demo_seed_has_quotes_and_an_accepted_one_with_its_order():
    assert demo.seed()
    workspace = Workspace.objects.get(slug=demo.DEMO_SLUG)
    with scope(workspace=workspace):
        statuses = set(Quote.objects.values_list("status", flat=True))
        assert {"accepted", "sent", "draft", "rejected", "superseded"} <= statuses
        accepted = Quote.objects.get(status="accepted")
        order = Order.objects.get(pk=accepted.order_id)
        assert order.total_amount == accepted.total and order.status == "confirmed"
        assert Opportunity.objects.get(pk=accepted.opportunity_id).status == "won"
        assert all(q.lines.exists() for q in Quote.objects.all())
