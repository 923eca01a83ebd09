"""Fixtures: a small catalog, a rate table and accounts owned by different roles."""

from datetime import date
from decimal import Decimal

import pytest

from kehu.commerce import services
from kehu.customers import services as customers


class Shop:
    """Accounts, products and rates in ``tenant`` (a CNY workspace) for order tests."""

    def __init__(self, tenant):
        self.tenant = tenant
        owner, sales = tenant.actors["owner"], tenant.actors["sales"]
        with tenant.scope():
            self.account = customers.create_account(sales, name="云帆科技")  # owned by sales
            self.other_account = customers.create_account(owner, name="Owner's account")
            self.contact = customers.create_contact(sales, name="张伟", account_id=self.account.pk)
            self.widget = services.create_product(
                owner, sku="W-1", name="Widget", unit_price="19.99", unit_cost="7.50", currency="CNY"
            )
            self.gadget = services.create_product(
                owner, sku="G-1", name="Gadget", unit_price="100", unit_cost="60", currency="USD"
            )
            self.old = services.create_product(
                owner, sku="OLD", name="Retired", unit_price="1", currency="CNY", active=False
            )
            services.create_rate(
                owner, currency="USD", rate_to_base="7.10000000", valid_from=date(2025, 1, 1)
            )
            services.create_rate(owner, currency="USD", rate_to_base="7.25", valid_from=date(2025, 7, 1))
            services.create_rate(owner, currency="EUR", rate_to_base="7.8", valid_from=date(2025, 1, 1))

    def order(self, actor_role: str = "sales", **values):
        values.setdefault("account_id", self.account.pk)
        values.setdefault("order_date", date(2025, 8, 1))
        with self.tenant.scope():
            return services.create_order(self.tenant.actors[actor_role], **values)


@pytest.fixture
def shop(tenant) -> Shop:
    return Shop(tenant)


def D(value: str) -> Decimal:
    return Decimal(value)
