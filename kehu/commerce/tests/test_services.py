"""Order totals, rounding, exchange rates, status transitions, purchase summaries, bulk, feedback."""

from datetime import date
from decimal import Decimal

import pytest
from django_scopes import scope

from kehu.audit.models import AuditEntry
from kehu.commerce import services
from kehu.commerce.models import Order, OrderLine
from kehu.commerce.queries import feedback_summary, purchase_summary
from kehu.core.errors import NotFound, PermissionDenied, ValidationFailed

from .conftest import D

pytestmark = pytest.mark.django_db


def fields_of(exc: pytest.ExceptionInfo) -> set[str]:
    return {d.field for d in exc.value.details}


# --- totals and rounding ---------------------------------------------------------------------------


def test_totals_are_computed_from_lines_and_rounded_half_up(shop):
    order = shop.order(
        discount="1.00",
        lines=[
            # 3 × 19.99 = 59.97, cost 3 × 7.50 = 22.50 (price and cost from the product)
            {"product_id": shop.widget.pk, "quantity": 3},
            # 0.333 × 10.005 = 3.331665 → 3.33; minus 0.10 → 3.231665 → 3.23
            {"description": "Service hours", "quantity": "0.333", "unit_price": "10.005", "discount": "0.10"},
            # 1 × 0.125 = 0.125 → 0.13 (half up, not banker's 0.12)
            {"description": "Sticker", "quantity": 1, "unit_price": "0.125", "unit_cost": "0.0449"},
        ],
    )
    with shop.tenant.scope():
        lines = list(order.lines.order_by("position"))
    assert [line.line_total for line in lines] == [D("59.97"), D("3.23"), D("0.13")]
    assert [line.line_cost for line in lines] == [D("22.50"), D("0.00"), D("0.04")]
    assert lines[0].description == "Widget" and lines[0].unit_price == D("19.99")
    assert order.total_amount == D("62.33")  # 59.97 + 3.23 + 0.13 − 1.00
    assert order.total_cost == D("22.54")
    assert order.exchange_rate == 1 and order.base_total_amount == D("62.33")
    assert order.number == "SO-000001" and order.owner_id == shop.tenant.users["sales"].pk


def test_usd_order_in_a_cny_workspace_snapshots_the_rate_of_its_date(shop):
    june = shop.order(currency="USD", order_date=date(2025, 6, 30), lines=[{"sku": "G-1", "quantity": 2}])
    july = shop.order(currency="USD", order_date=date(2025, 7, 1), lines=[{"sku": "G-1", "quantity": 2}])
    assert june.total_amount == D("200.00") and june.total_cost == D("120.00")
    assert june.exchange_rate == D("7.1") and june.base_total_amount == D("1420.00")
    assert july.exchange_rate == D("7.25") and july.base_total_amount == D("1450.00")
    assert july.base_total_cost == D("870.00")
    # A later rate does not change a booked order.
    with shop.tenant.scope():
        services.create_rate(
            shop.tenant.actors["owner"], currency="USD", rate_to_base="9", valid_from=date(2025, 7, 2)
        )
        july = services.update_order(shop.tenant.actors["sales"], july, notes="later")
    assert july.exchange_rate == D("7.25")


def test_rate_on(shop):
    with shop.tenant.scope():
        assert services.rate_on("USD", date(2025, 3, 1)) == D("7.1")
        assert services.rate_on("USD", date(2026, 1, 1)) == D("7.25")
        assert services.rate_on("CNY", date(2000, 1, 1)) == 1
        with pytest.raises(ValidationFailed) as exc:
            services.rate_on("USD", date(2024, 12, 31))
    assert exc.value.details[0].code == "no_exchange_rate" and "USD" in exc.value.details[0].message


def test_order_in_a_currency_without_a_rate_is_refused(shop):
    with pytest.raises(ValidationFailed) as exc:
        shop.order(currency="JPY", lines=[{"description": "x", "quantity": 1, "unit_price": 100}])
    assert fields_of(exc) == {"currency"}
    with pytest.raises(ValidationFailed) as exc:
        shop.order(currency="XYZ", lines=[{"description": "x", "quantity": 1, "unit_price": 100}])
    assert fields_of(exc) == {"currency"}


def test_line_errors_name_the_line_and_nothing_is_saved(shop):
    with pytest.raises(ValidationFailed) as exc:
        shop.order(
            lines=[
                {"product_id": shop.widget.pk, "quantity": 1},
                {"product_id": shop.widget.pk, "quantity": 0},
                {"product_id": shop.old.pk, "quantity": 1},
                {"product_id": shop.gadget.pk, "quantity": 1},  # USD product, CNY order, no price
                {"description": "", "quantity": 1, "unit_price": "1.23456"},
                {"description": "x", "quantity": 1, "unit_price": 1, "discount": 2},
            ]
        )
    assert fields_of(exc) == {
        "lines.1.quantity",
        "lines.2.product_id",
        "lines.3.unit_price",
        "lines.4.description",
        "lines.4.unit_price",
        "lines.5.discount",
    }
    with shop.tenant.scope():
        assert not Order.objects.exists() and not OrderLine.objects.exists()


def test_header_only_import_keeps_given_totals_but_lines_win(shop):
    order = shop.order(total_amount="500.00", total_cost="320.00", currency="EUR")
    assert order.total_amount == D("500.00") and order.base_total_amount == D("3900.00")
    with pytest.raises(ValidationFailed) as exc:
        shop.order(total_amount="5", lines=[{"sku": "W-1", "quantity": 1}])
    assert fields_of(exc) == {"total_amount"}


def test_contact_and_account_must_be_visible_and_match(shop):
    with shop.tenant.scope():
        foreign_contact = services.Contact.objects.create(
            workspace=shop.tenant.workspace, name="Other", account=shop.other_account
        )
    with pytest.raises(ValidationFailed) as exc:
        shop.order(account_id=shop.other_account.pk)  # sales does not see the owner's account
    assert fields_of(exc) == {"account_id"}
    with pytest.raises(ValidationFailed) as exc:
        shop.order("owner", contact_id=foreign_contact.pk)
    assert exc.value.details[0].message == "The contact does not belong to this account."


def test_numbers_are_generated_and_unique(shop):
    first = shop.order(number="SO-000002")
    generated = [shop.order().number, shop.order().number]
    assert first.number == "SO-000002" and generated == ["SO-000001", "SO-000003"]
    with pytest.raises(ValidationFailed) as exc:
        shop.order(number="SO-000001")
    assert exc.value.details[0].code == "unique"


# --- status transitions ----------------------------------------------------------------------------


def test_status_transitions(shop):
    sales = shop.tenant.actors["sales"]
    order = shop.order(lines=[{"sku": "W-1", "quantity": 1}])
    with shop.tenant.scope():
        for status in ("confirmed", "paid", "shipped", "refunded"):
            order = services.change_status(sales, order, status)
        assert order.status == "refunded"
        cancelled = services.change_status(sales, shop.order(), "cancelled")
        with pytest.raises(ValidationFailed) as exc:
            services.change_status(sales, cancelled, "paid")
        assert exc.value.details[0].code == "invalid_transition"
        with pytest.raises(ValidationFailed) as exc:
            services.update_order(sales, cancelled, lines=[{"sku": "W-1", "quantity": 5}])
        assert exc.value.details[0].code == "frozen"
        services.update_order(sales, cancelled, notes="Customer changed their mind")  # still allowed
        changes = (
            AuditEntry.objects.filter(object_id=str(order.pk), action="update")
            .order_by("id")
            .values_list("changes", flat=True)
        )
        assert [c["status"] for c in changes] == [
            ["draft", "confirmed"],
            ["confirmed", "paid"],
            ["paid", "shipped"],
            ["shipped", "refunded"],
        ]


def test_updating_lines_recomputes_totals_and_audits_the_lines(shop):
    sales = shop.tenant.actors["sales"]
    order = shop.order(lines=[{"sku": "W-1", "quantity": 1}])
    with shop.tenant.scope():
        order = services.update_order(sales, order, lines=[{"sku": "W-1", "quantity": 2}], discount="0.98")
        assert order.total_amount == D("39.00") and order.lines.count() == 1
        entry = AuditEntry.objects.get(object_id=str(order.pk), action="update")
    assert entry.changes["lines"] == [
        ["1 × Widget @ 19.99 − 0.00 = 19.99"],
        ["2 × Widget @ 19.99 − 0.00 = 39.98"],
    ]
    assert entry.changes["total_amount"] == ["19.99", "39.00"]


# --- purchase summary ------------------------------------------------------------------------------


def test_purchase_summary_hand_computed(shop, django_assert_num_queries):
    shop.order(
        status="paid", order_date=date(2025, 2, 1), lines=[{"sku": "W-1", "quantity": 10}]
    )  # 199.90 / 75.00
    shop.order(  # USD at 7.25: 100 → 725.00, cost 60 → 435.00
        status="shipped", currency="USD", order_date=date(2025, 9, 1), lines=[{"sku": "G-1", "quantity": 1}]
    )
    shop.order(status="confirmed", order_date=date(2025, 5, 5), total_amount="100.10", total_cost="0")
    shop.order(status="draft", order_date=date(2024, 1, 1), total_amount="9999")  # not revenue
    shop.order(status="cancelled", order_date=date(2026, 1, 1), total_amount="9999")  # not revenue
    shop.order("owner", status="paid", order_date=date(2025, 3, 3), total_amount="1000")  # owner's order
    sales, owner = shop.tenant.actors["sales"], shop.tenant.actors["owner"]
    with shop.tenant.scope():
        with django_assert_num_queries(1):
            mine = purchase_summary(sales, shop.account)
        everything = purchase_summary(owner, shop.account)
    # revenue 199.90 + 725.00 + 100.10 = 1025.00; cost 75.00 + 435.00 = 510.00
    assert (mine.orders, mine.revenue, mine.cost, mine.margin) == (3, D("1025.00"), D("510.00"), D("515.00"))
    assert (mine.first_order, mine.last_order) == (date(2025, 2, 1), date(2025, 9, 1))
    assert mine.average_order_value == D("341.67")  # 1025 / 3 = 341.666… → 341.67
    assert mine.margin_rate == D("0.5024") and mine.currency == "CNY"
    assert everything.orders == 4 and everything.revenue == D("2025.00")  # the sales rep does not see 1000
    assert everything.first_order == date(2025, 2, 1)


def test_contact_summary_counts_orders_of_that_contact(shop):
    shop.order(status="paid", contact_id=shop.contact.pk, total_amount="50")
    shop.order(status="paid", total_amount="70")
    with shop.tenant.scope():
        summary = purchase_summary(shop.tenant.actors["sales"], shop.contact)
    assert summary.orders == 1 and summary.revenue == D("50.00")


# --- bulk ------------------------------------------------------------------------------------------


def test_bulk_is_all_or_nothing_with_item_paths(shop):
    sales = shop.tenant.actors["sales"]
    good = {"account_id": shop.account.pk, "lines": [{"sku": "W-1", "quantity": 1}]}
    items = [dict(good, external_id=f"ERP-{i}") for i in range(6)]
    items[5] = dict(good, external_id="ERP-5", lines=[{"sku": "W-1", "quantity": -1}])
    items[3] = dict(good, external_id="ERP-1")
    with shop.tenant.scope():
        with pytest.raises(ValidationFailed) as exc:
            services.bulk_create_orders(sales, items)
        assert fields_of(exc) == {"items.5.lines.0.quantity", "items.3.external_id"}
        assert not Order.objects.exists()
        items[5]["lines"][0]["quantity"] = 2
        items[3]["external_id"] = "ERP-3"
        orders = services.bulk_create_orders(sales, items)
        assert [o.number for o in orders] == [f"SO-{n:06d}" for n in range(1, 7)]
        assert OrderLine.objects.count() == 6 and Order.objects.get(external_id="ERP-5").total_amount == D(
            "39.98"
        )
        assert AuditEntry.objects.filter(object_type="commerce.order", action="create").count() == 6


def test_bulk_of_1000_uses_a_bounded_number_of_queries(shop, django_assert_max_num_queries):
    sales = shop.tenant.actors["sales"]
    items = [
        {"account_id": shop.account.pk, "currency": "USD", "lines": [{"sku": "G-1", "quantity": 1}]}
        for _ in range(1000)
    ]
    with shop.tenant.scope(), django_assert_max_num_queries(1015):  # 1 audit insert per order + a dozen
        services.bulk_create_orders(sales, items)
    with pytest.raises(ValidationFailed), shop.tenant.scope():
        services.bulk_create_orders(sales, [*items, items[0]])


def test_upsert_by_external_id(shop):
    sales = shop.tenant.actors["sales"]
    with shop.tenant.scope():
        order, created = services.upsert_order_by_external_id(
            sales, "SHOP-9", {"account_id": shop.account.pk, "lines": [{"sku": "W-1", "quantity": 1}]}
        )
        again, created_again = services.upsert_order_by_external_id(sales, "SHOP-9", {"status": "paid"})
    assert created and not created_again and again.pk == order.pk and again.status == "paid"
    hidden = shop.order("owner", account_id=shop.other_account.pk, external_id="SHOP-X")
    with shop.tenant.scope(), pytest.raises(NotFound):
        services.upsert_order_by_external_id(sales, hidden.external_id, {"notes": "x"})


def test_readonly_cannot_create_orders_and_isolation(shop, other_tenant):
    with shop.tenant.scope(), pytest.raises(PermissionDenied):
        services.create_order(shop.tenant.actors["readonly"], account_id=shop.account.pk)
    with scope(workspace=other_tenant.workspace), pytest.raises(ValidationFailed) as exc:
        services.create_order(other_tenant.actors["owner"], account_id=shop.account.pk)
    assert fields_of(exc) == {"account_id"}


# --- products, rates, feedback ---------------------------------------------------------------------


def test_product_validation(shop):
    owner = shop.tenant.actors["owner"]
    with shop.tenant.scope():
        with pytest.raises(ValidationFailed) as exc:
            services.create_product(owner, sku="W-1", name="", unit_price="-1", currency="usd1")
        assert fields_of(exc) == {"sku", "name", "unit_price", "currency"}
        product = services.create_product(owner, sku=" P 2 ", name="P2", currency="usd")
    assert product.sku == "P 2" and product.currency == "USD" and product.unit_price == 0


def test_rate_validation(shop):
    owner = shop.tenant.actors["owner"]
    with shop.tenant.scope():
        with pytest.raises(ValidationFailed) as exc:
            services.create_rate(owner, currency="USD", rate_to_base="0", valid_from=date(2025, 1, 1))
        assert fields_of(exc) == {"rate_to_base", "valid_from"}
        with pytest.raises(ValidationFailed) as exc:
            services.create_rate(owner, currency="CNY", rate_to_base="1", valid_from=date(2025, 1, 1))
        assert fields_of(exc) == {"currency"}
        with pytest.raises(PermissionDenied):
            services.create_rate(
                shop.tenant.actors["sales"], currency="GBP", rate_to_base="9", valid_from=date(2025, 1, 1)
            )


def test_feedback_summary_and_access(shop):
    owner, sales, service = (shop.tenant.actors[r] for r in ("owner", "sales", "service"))
    order = shop.order()
    with shop.tenant.scope():
        for rating, kind in ((5, "praise"), (2, "complaint"), (None, "suggestion")):
            services.create_feedback(
                owner,
                account_id=shop.account.pk,
                contact_id=shop.contact.pk,
                order_id=order.pk,
                rating=rating,
                kind=kind,
                comment="…",
                owner_id=shop.tenant.users["sales"].pk,
            )
        services.create_feedback(service, account_id=shop.account.pk, rating=1, kind="complaint")
        with pytest.raises(ValidationFailed) as exc:
            services.create_feedback(service, account_id=shop.account.pk, rating=6, order_id=order.pk)
        assert fields_of(exc) == {"rating", "order_id"}  # service does not see the sales rep's order
        with pytest.raises(PermissionDenied):
            services.create_feedback(sales, account_id=shop.account.pk, rating=5)
        mine = feedback_summary(sales, shop.account)  # sales sees only feedback it owns
        everything = feedback_summary(owner, shop.contact)
    assert mine == {"count": 3, "rated": 2, "average_rating": "3.5", "complaints": 1}
    assert everything["count"] == 3  # the fourth item has no contact


def test_money_places_are_checked(shop):
    with pytest.raises(ValidationFailed) as exc:
        shop.order(discount="0.001", lines=[{"sku": "W-1", "quantity": "1.0001"}])
    assert fields_of(exc) == {"discount", "lines.0.quantity"}
    assert Decimal("1.0001")  # keeps the import used


def test_an_account_with_orders_cannot_be_deleted(tenant):
    from kehu.core.errors import Conflict
    from kehu.customers import services as customers
    from kehu.customers.models import Account

    with tenant.scope():
        account = customers.create_account(tenant.actors["owner"], name="Has orders")
        services.create_order(
            tenant.actors["owner"],
            account_id=account.pk,
            currency="CNY",
            lines=[{"description": "Consulting", "quantity": 1, "unit_price": "100"}],
        )
        with pytest.raises(Conflict) as caught:
            customers.delete_account(tenant.actors["owner"], account)
        assert "orders" in str(caught.value)
        assert Account.objects.filter(pk=account.pk).exists()


def test_deleting_an_account_with_orders_in_the_ui_explains_why(tenant):
    from kehu.customers import services as customers

    with tenant.scope():
        account = customers.create_account(tenant.actors["owner"], name="Kept")
        services.create_order(
            tenant.actors["owner"],
            account_id=account.pk,
            currency="CNY",
            lines=[{"description": "Consulting", "quantity": 1, "unit_price": "100"}],
        )
    response = tenant.web_client("owner").post(f"/accounts/{account.pk}/delete/", follow=True)
    assert response.status_code == 200
    assert "cannot be deleted" in response.content.decode()


def test_follow_up_plan_after_first_order_reads_real_orders(tenant):
    from datetime import timedelta

    from django.utils import timezone

    from kehu.activities import plans
    from kehu.activities.models import Task
    from kehu.customers import services as customers

    owner = tenant.actors["owner"]
    today = timezone.localdate()
    line = [{"description": "Box", "quantity": 1, "unit_price": "10"}]
    with tenant.scope():
        new_buyer = customers.create_account(owner, name="First-time buyer")
        old_buyer = customers.create_account(owner, name="Long-time buyer")
        drafting = customers.create_account(owner, name="Only a draft")
        week_ago = today - timedelta(days=7)
        services.create_order(
            owner,
            account_id=new_buyer.pk,
            currency="CNY",
            status="confirmed",
            order_date=week_ago,
            lines=line,
        )
        services.create_order(
            owner,
            account_id=old_buyer.pk,
            currency="CNY",
            status="paid",
            order_date=today - timedelta(days=400),
            lines=line,
        )
        services.create_order(
            owner, account_id=old_buyer.pk, currency="CNY", status="paid", order_date=week_ago, lines=line
        )
        services.create_order(owner, account_id=drafting.pk, currency="CNY", order_date=week_ago, lines=line)
        plan = plans.create_plan(
            tenant.actors["admin"],
            name="Thank-you call",
            trigger="after_first_order",
            interval=7,
            task_title="Call {name}",
        )
        assert plans.run_plan(plan) == 1
        assert list(Task.objects.filter(created_by_plan=plan).values_list("title", flat=True)) == [
            "Call First-time buyer"
        ]


def test_orders_and_products_validate_custom_fields_like_every_object(tenant):
    from kehu.customers import services as customers
    from kehu.customfields import services as customfields

    owner = tenant.actors["owner"]
    with tenant.scope():
        customfields.create_definition(
            owner,
            object_type="commerce.order",
            key="channel",
            label="Channel",
            field_type="single_select",
            required=True,
            options={"choices": [{"value": "tmall", "label": "Tmall"}, {"value": "jd", "label": "JD"}]},
        )
        customfields.create_definition(
            owner, object_type="commerce.product", key="weight_kg", label="Weight", field_type="number"
        )
        account = customers.create_account(owner, name="Shop buyer")
        line = [{"description": "Tea", "quantity": 1, "unit_price": "10"}]
        with pytest.raises(ValidationFailed) as missing:
            services.create_order(owner, account_id=account.pk, currency="CNY", lines=line)
        assert [d.field for d in missing.value.details] == ["custom.channel"]
        with pytest.raises(ValidationFailed) as in_bulk:
            services.bulk_create_orders(
                owner,
                [
                    {"account_id": account.pk, "currency": "CNY", "lines": line, "custom": {"channel": "jd"}},
                    {
                        "account_id": account.pk,
                        "currency": "CNY",
                        "lines": line,
                        "custom": {"channel": "ebay"},
                    },
                ],
            )
        assert [d.field for d in in_bulk.value.details] == ["items.1.custom.channel"]
        order = services.create_order(
            owner, account_id=account.pk, currency="CNY", lines=line, custom={"channel": "tmall"}
        )
        assert order.custom == {"channel": "tmall"}
        with pytest.raises(ValidationFailed):
            services.create_product(
                owner, sku="T-1", name="Tea", unit_price="10", custom={"weight_kg": "heavy"}
            )
