"""The demo seed's commerce data: catalog, rate table, ~2 orders per account over 18 months, feedback."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_scopes import scope

from kehu.commerce.models import ExchangeRate, Feedback, Order, Product
from kehu.commerce.queries import purchase_summary
from kehu.customers.models import Account
from kehu.operations import demo
from kehu.workspaces.access import visible
from kehu.workspaces.models import Workspace
from kehu.workspaces.services import actor_for

pytestmark = pytest.mark.django_db


def test_demo_seed_has_orders_in_two_currencies():
    assert demo.seed()
    workspace = Workspace.objects.get(slug=demo.DEMO_SLUG)
    with scope(workspace=workspace):
        accounts = Account.objects.count()
        # The commerce seed's orders; the predictions demo adds a generated history ("HIST-…").
        orders = list(Order.objects.exclude(number__startswith="HIST"))
        assert Product.objects.count() == 15 and Product.objects.filter(active=False).count() == 1
        assert accounts <= len(orders) <= 3 * accounts
        assert {o.currency for o in orders} == {"CNY", "USD"}
        assert all(
            Decimal("6.95") <= o.exchange_rate <= Decimal("7.35") for o in orders if o.currency == "USD"
        )
        oldest = timezone.localdate() - timedelta(days=541)
        assert all(o.order_date >= oldest for o in orders)
        assert ExchangeRate.objects.filter(currency="USD").count() >= 19
        assert Feedback.objects.count() == len(demo.DEMO_FEEDBACK)
        sales = actor_for(_user("sales@demo.kehu"), workspace)
        mine = visible(sales, Order.objects.exclude(number__startswith="HIST"))
        assert 0 < mine.count() < len(orders)
        account = Account.objects.filter(owner=sales.user).first()
        assert purchase_summary(sales, account).orders >= 0


def _user(email: str):
    from kehu.users.models import User

    return User.objects.get(email=email)
