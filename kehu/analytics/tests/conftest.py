from datetime import date
from decimal import Decimal

import pytest

from kehu.analytics import services
from kehu.commerce.models import Order
from kehu.customers.models import Account


@pytest.fixture(autouse=True)
def _fresh_tier_cache():
    services._TIER_CACHE.clear()
    yield
    services._TIER_CACHE.clear()


class Book:
    """Small fixtures written by hand: accounts and counted orders with exact dates and amounts."""

    def __init__(self, tenant):
        self.tenant = tenant
        self.ws = tenant.workspace
        self.numbers = 0

    def account(self, name: str, **extra) -> Account:
        return Account.objects.create(workspace=self.ws, name=name, **extra)

    def order(self, account, day: str, amount, cost=0, status="confirmed", discount=0) -> Order:
        self.numbers += 1
        amount, cost = Decimal(str(amount)), Decimal(str(cost))
        return Order.objects.create(
            workspace=self.ws,
            number=f"T-{self.numbers:05d}",
            account=account,
            order_date=date.fromisoformat(day),
            status=status,
            currency="CNY",
            total_amount=amount,
            total_cost=cost,
            discount=Decimal(str(discount)),
            base_total_amount=amount,
            base_total_cost=cost,
        )


@pytest.fixture
def book(tenant):
    with tenant.scope():
        yield Book(tenant)
