"""Hand-computed fixtures: six accounts, five orders, one custom field per kind that reports use."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django_scopes import scopes_disabled

from kehu.commerce.models import Order
from kehu.customers.models import Account
from kehu.customfields.models import FieldDefinition

SH = ZoneInfo("Asia/Shanghai")


class Data:
    pass


@pytest.fixture
def data(tenant):
    """Accounts: sales owns a1–a3, manager owns a4–a6. Created in the Shanghai zone: a3 at 00:30 on
    1 March local (still February in UTC) — the month bucket must put it in March."""
    ws = tenant.workspace
    sales, manager = tenant.users["sales"], tenant.users["manager"]
    with scopes_disabled():
        ws.time_zone = "Asia/Shanghai"
        ws.save(update_fields=["time_zone"])
        for actor in tenant.actors.values():
            actor.workspace.time_zone = "Asia/Shanghai"
        FieldDefinition.objects.create(
            workspace=ws,
            object_type="customers.account",
            key="region",
            label="Region",
            field_type="single_select",
            options={"choices": [{"value": "n", "label": "North"}, {"value": "s", "label": "South"}]},
        )
        FieldDefinition.objects.create(
            workspace=ws, object_type="customers.account", key="seats", label="Seats", field_type="number"
        )
        rows = [
            # name, owner, grade, stage, created (local), region, seats
            ("a1", sales, "strategic", "active", datetime(2026, 1, 10, 9, 0, tzinfo=SH), "n", 10),
            ("a2", sales, "important", "new", datetime(2026, 1, 20, 9, 0, tzinfo=SH), "s", 5),
            ("a3", sales, "ordinary", "prospect", datetime(2026, 3, 1, 0, 30, tzinfo=SH), "n", None),
            ("a4", manager, "strategic", "active", datetime(2026, 2, 5, 9, 0, tzinfo=SH), "n", 20),
            ("a5", manager, "ordinary", "at_risk", datetime(2026, 2, 6, 9, 0, tzinfo=SH), None, 1),
            ("a6", manager, "", "churned", datetime(2026, 3, 15, 9, 0, tzinfo=SH), "s", 4),
        ]
        d = Data()
        d.accounts = {}
        for name, owner, grade, stage, created, region, seats in rows:
            custom = {}
            if region:
                custom["region"] = region
            if seats is not None:
                custom["seats"] = seats
            d.accounts[name] = Account.objects.create(
                workspace=ws,
                name=name,
                owner=owner,
                grade=grade,
                lifecycle_stage=stage,
                created_at=created,
                custom=custom,
            )
        orders = [
            ("o1", "a1", sales, date(2026, 1, 15), "100.00", "paid"),
            ("o2", "a1", sales, date(2026, 2, 1), "300.00", "paid"),
            ("o3", "a2", sales, date(2026, 2, 20), "50.50", "confirmed"),
            ("o4", "a4", manager, date(2026, 2, 28), "1000.00", "paid"),
            ("o5", "a5", manager, date(2026, 3, 2), "9.50", "cancelled"),
        ]
        for number, account, owner, day, amount, status in orders:
            Order.objects.create(
                workspace=ws,
                number=number,
                account=d.accounts[account],
                owner=owner,
                order_date=day,
                currency="CNY",
                total_amount=Decimal(amount),
                base_total_amount=Decimal(amount),
                status=status,
            )
    d.tenant = tenant
    return d
