"""Fixtures: a deal with two product lines on an account owned by the sales persona."""

from datetime import date
from decimal import Decimal

import pytest

from kehu.commerce import services as commerce
from kehu.customers import services as customers
from kehu.deals import services as deals


class Sale:
    """An account, a contact, two CNY products, a USD rate and an open opportunity with lines."""

    def __init__(self, tenant):
        self.tenant = tenant
        owner, sales = tenant.actors["owner"], tenant.actors["sales"]
        with tenant.scope():
            self.account = customers.create_account(sales, name="云帆科技")
            self.contact = customers.create_contact(sales, name="张伟", account_id=self.account.pk)
            self.widget = commerce.create_product(
                owner, sku="W-1", name="Widget", unit_price="19.99", unit_cost="7.50", currency="CNY"
            )
            self.service = commerce.create_product(
                owner, sku="S-1", name="实施服务", unit_price="1000", unit_cost="400", currency="CNY"
            )
            self.retired = commerce.create_product(
                owner, sku="OLD", name="Retired", unit_price="1", currency="CNY", active=False
            )
            commerce.create_rate(owner, currency="USD", rate_to_base="7.10", valid_from=date(2020, 1, 1))
            self.opp = deals.create_opportunity(
                sales,
                name="云帆 ERP",
                account_id=self.account.pk,
                currency="CNY",
                contacts=[{"contact_id": self.contact.pk, "role": "decision_maker", "is_primary": True}],
                lines=[
                    {"product_id": self.widget.pk, "quantity": 10},
                    {"product_id": self.service.pk, "quantity": 2, "discount_percent": 5},
                ],
            )

    def actor(self, role: str = "sales"):
        return self.tenant.actors[role]


@pytest.fixture
def sale(tenant) -> Sale:
    return Sale(tenant)


def D(value: str) -> Decimal:
    return Decimal(value)
