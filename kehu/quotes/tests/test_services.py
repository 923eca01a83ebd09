"""Quote services: create/prefill, versions, send/accept/reject/expire, and every refusal."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from kehu.audit.models import AuditEntry
from kehu.commerce.models import Order
from kehu.commerce.queries import purchase_summary
from kehu.core.errors import PermissionDenied, ValidationFailed
from kehu.deals.models import Opportunity
from kehu.quotes import services
from kehu.quotes.models import Quote, QuoteCounter

from .conftest import D

pytestmark = pytest.mark.django_db


def _fields(error: ValidationFailed) -> dict[str, str]:
    return {d.field: d.code for d in error.details}


def _sent_quote(sale, **values):
    with sale.tenant.scope():
        quote = services.create_quote(sale.actor(), opportunity_id=sale.opp.pk, **values)
        return services.send(sale.actor(), quote)


def test_create_prefills_from_the_opportunity_and_computes_totals(sale):
    with sale.tenant.scope():
        quote = services.create_quote(sale.actor(), opportunity_id=sale.opp.pk)
        lines = list(quote.lines.all())
    year = timezone.localdate().year
    assert quote.number == f"Q-{year}-0001" and quote.version == 1 and quote.is_current
    assert quote.status == "draft" and quote.currency == "CNY" and quote.account_id == sale.account.pk
    assert quote.contact_id == sale.contact.pk  # the deal's primary contact
    assert quote.valid_until == quote.issue_date + timedelta(days=30)
    assert [(x.description, x.quantity, x.unit_price, x.discount_percent) for x in lines] == [
        ("Widget", D("10"), D("19.99"), D("0")),
        ("实施服务", D("2"), D("1000"), D("5")),
    ]
    # 199.90 + 1900.00, no tax yet
    assert (quote.subtotal, quote.tax_amount, quote.total) == (D("2099.90"), D("0"), D("2099.90"))
    with sale.tenant.scope():
        entry = AuditEntry.objects.get(object_type="quotes.quote", object_id=str(quote.pk))
    assert entry.action == "create" and "lines" in entry.changes


def test_numbers_count_up_per_workspace(sale, other_tenant):
    with sale.tenant.scope():
        first = services.create_quote(sale.actor(), opportunity_id=sale.opp.pk, lines=[])
        second = services.create_quote(sale.actor(), opportunity_id=sale.opp.pk, lines=[])
        assert QuoteCounter.objects.get().next_value == 3
    assert first.number.endswith("-0001") and second.number.endswith("-0002")


def test_update_draft_replaces_lines_with_tax_and_discount(sale):
    with sale.tenant.scope():
        quote = services.create_quote(sale.actor(), opportunity_id=sale.opp.pk, lines=[])
        services.update_quote(
            sale.actor(),
            quote,
            discount_percent="2",
            lines=[
                {"product_id": sale.widget.pk, "quantity": "3", "discount_percent": "10", "tax_rate": "13"},
                {
                    "description": "实施服务",
                    "quantity": 2,
                    "unit_price": "1000",
                    "discount_percent": 5,
                    "tax_rate": 6,
                },
            ],
        )
        quote.refresh_from_db()
        lines = list(quote.lines.all())
    # Hand-computed in test_totals: 1953.97 − 39.08 + 118.60
    assert (quote.subtotal, quote.discount_amount, quote.tax_amount, quote.total) == (
        D("1953.97"),
        D("39.08"),
        D("118.60"),
        D("2033.49"),
    )
    assert [(x.net_amount, x.tax_amount, x.gross_amount) for x in lines] == [
        (D("53.97"), D("6.88"), D("59.77")),
        (D("1900.00"), D("111.72"), D("1973.72")),
    ]


@pytest.mark.parametrize(
    ("line", "field", "code"),
    [
        ({"description": "x", "quantity": "-1", "unit_price": "1"}, "lines.0.quantity", "min_value"),
        ({"description": "x", "quantity": "0", "unit_price": "1"}, "lines.0.quantity", "min_value"),
        ({"description": "x", "quantity": "1", "unit_price": "-5"}, "lines.0.unit_price", "min_value"),
        (
            {"description": "x", "quantity": "1", "unit_price": "1", "discount_percent": "101"},
            "lines.0.discount_percent",
            "max_value",
        ),
        (
            {"description": "x", "quantity": "1", "unit_price": "1", "tax_rate": "-1"},
            "lines.0.tax_rate",
            "min_value",
        ),
        (
            {"description": "x", "quantity": "1.0001", "unit_price": "1"},
            "lines.0.quantity",
            "max_decimal_places",
        ),
        ({"quantity": "1", "unit_price": "1"}, "lines.0.description", "required"),
        ({"description": "x", "unit_price": "1"}, "lines.0.quantity", "required"),
        ({"description": "x", "quantity": "abc", "unit_price": "1"}, "lines.0.quantity", "invalid_number"),
        (
            {"description": "x", "quantity": 1, "unit_price": 1, "colour": "red"},
            "lines.0.colour",
            "extra_forbidden",
        ),
    ],
)
def test_bad_lines_are_refused_and_nothing_changes(sale, line, field, code):
    with sale.tenant.scope():
        quote = services.create_quote(sale.actor(), opportunity_id=sale.opp.pk)
        with pytest.raises(ValidationFailed) as failed:
            services.update_quote(sale.actor(), quote, notes="changed", lines=[line])
        assert _fields(failed.value)[field] == code
        quote.refresh_from_db()
        assert quote.notes == "" and quote.lines.count() == 2 and quote.total == D("2099.90")


def test_bad_header_values(sale):
    with sale.tenant.scope():
        quote = services.create_quote(sale.actor(), opportunity_id=sale.opp.pk)
        with pytest.raises(ValidationFailed) as failed:
            services.update_quote(
                sale.actor(), quote, discount_percent="150", valid_until=quote.issue_date - timedelta(days=1)
            )
    assert _fields(failed.value) == {"discount_percent": "max_value", "valid_until": "invalid_range"}
    with sale.tenant.scope(), pytest.raises(ValidationFailed) as failed:
        services.create_quote(sale.actor(), opportunity_id=999999)
    assert _fields(failed.value) == {"opportunity_id": "invalid"}


def test_product_of_another_workspace_and_inactive_products_are_refused(sale, other_tenant):
    from kehu.commerce import services as commerce

    with other_tenant.scope():
        foreign = commerce.create_product(other_tenant.actors["owner"], sku="F", name="Foreign", unit_price=1)
    with sale.tenant.scope():
        quote = services.create_quote(sale.actor(), opportunity_id=sale.opp.pk, lines=[])
        with pytest.raises(ValidationFailed) as failed:
            services.update_quote(
                sale.actor(),
                quote,
                lines=[
                    {"product_id": foreign.pk, "quantity": 1},
                    {"product_id": sale.retired.pk, "quantity": 1},
                ],
            )
    assert _fields(failed.value) == {"lines.0.product_id": "invalid", "lines.1.product_id": "inactive"}


def test_product_priced_in_another_currency_needs_a_price(sale):
    from kehu.commerce import services as commerce

    with sale.tenant.scope():
        gadget = commerce.create_product(
            sale.actor("owner"), sku="G", name="Gadget", unit_price=5, currency="USD"
        )
        quote = services.create_quote(sale.actor(), opportunity_id=sale.opp.pk, lines=[])
        with pytest.raises(ValidationFailed) as failed:
            services.update_quote(sale.actor(), quote, lines=[{"product_id": gadget.pk, "quantity": 1}])
    assert _fields(failed.value) == {"lines.0.unit_price": "required"}


def test_revise_makes_a_new_version_and_keeps_the_old_read_only(sale):
    quote = _sent_quote(sale)
    with sale.tenant.scope():
        v2 = services.revise(sale.actor(), quote)
        quote.refresh_from_db()
        assert (v2.number, v2.version, v2.status, v2.is_current) == (quote.number, 2, "draft", True)
        assert (quote.status, quote.is_current) == ("superseded", False)
        assert v2.lines.count() == 2 and v2.total == quote.total
        with pytest.raises(ValidationFailed) as failed:
            services.update_quote(sale.actor(), quote, notes="x")
        assert _fields(failed.value) == {"status": "not_editable"}
        with pytest.raises(ValidationFailed):
            services.revise(sale.actor(), quote)  # not the current version
        with pytest.raises(ValidationFailed):
            services.revise(sale.actor(), v2)  # a draft is edited, not revised
        services.update_quote(sale.actor(), v2, discount_percent=10)
        assert Quote.objects.filter(number=quote.number).count() == 2


def test_accept_creates_the_order_wins_the_deal_and_feeds_purchase_history(sale):
    with sale.tenant.scope():
        quote = services.create_quote(sale.actor(), opportunity_id=sale.opp.pk, lines=[])
        services.update_quote(
            sale.actor(),
            quote,
            discount_percent="2",
            lines=[
                {"product_id": sale.widget.pk, "quantity": "3", "discount_percent": "10", "tax_rate": "13"},
                {"product_id": sale.service.pk, "quantity": 2, "discount_percent": 5, "tax_rate": 6},
            ],
        )
        services.send(sale.actor(), quote)
        before = purchase_summary(sale.actor(), sale.account)
        accepted = services.accept(sale.actor(), quote)
        after = purchase_summary(sale.actor(), sale.account)
        order = Order.objects.get(pk=accepted.order_id)
        lines = list(order.lines.order_by("position"))
        opp = Opportunity.objects.get(pk=sale.opp.pk)
    assert accepted.status == "accepted" and accepted.decided_at is not None
    assert (order.status, order.account_id, order.contact_id) == (
        "confirmed",
        sale.account.pk,
        sale.contact.pk,
    )
    assert order.total_amount == D("2033.49") == accepted.total
    assert [x.line_total for x in lines] == [D("53.97"), D("1900.00"), D("6.88"), D("111.72")]
    assert order.discount == D("39.08")
    assert lines[0].line_cost == D("22.50")  # the product's cost follows: 3 × 7.50
    assert quote.number in order.notes
    assert (after.orders - before.orders, after.revenue - before.revenue) == (1, D("2033.49"))
    assert opp.status == "won"


def test_accept_is_idempotent(sale):
    quote = _sent_quote(sale)
    with sale.tenant.scope():
        first = services.accept(sale.actor(), quote)
        again = services.accept(sale.actor(), Quote.objects.get(pk=quote.pk))
        assert Order.objects.count() == 1
    assert again.order_id == first.order_id


def test_accept_without_winning_and_other_versions_superseded(sale):
    quote = _sent_quote(sale, win_opportunity=False)
    with sale.tenant.scope():
        v2 = services.revise(sale.actor(), quote)
        v2 = services.send(sale.actor(), v2)
        services.accept(sale.actor(), v2)
        assert Opportunity.objects.get(pk=sale.opp.pk).status == "open"
        assert list(Quote.objects.order_by("version").values_list("status", flat=True)) == [
            "superseded",
            "accepted",
        ]


@pytest.mark.parametrize("state", ["draft", "expired", "rejected", "superseded"])
def test_accept_refused_unless_sent_and_nothing_changes(sale, state):
    with sale.tenant.scope():
        quote = services.create_quote(sale.actor(), opportunity_id=sale.opp.pk)
        if state != "draft":
            services.send(sale.actor(), quote)
        if state == "expired":
            services.expire_due(sale.tenant.workspace, today=quote.valid_until + timedelta(days=1))
        elif state == "rejected":
            services.reject(sale.actor(), quote, "太贵")
        elif state == "superseded":
            services.revise(sale.actor(), quote)
        with pytest.raises(ValidationFailed) as failed:
            services.accept(sale.actor(), Quote.objects.get(pk=quote.pk))
        assert _fields(failed.value) == {"status": "invalid_transition"}
        assert Order.objects.count() == 0 and Quote.objects.get(pk=quote.pk).status == state
        assert Opportunity.objects.get(pk=sale.opp.pk).status == "open"


def test_accept_fails_whole_when_the_order_cannot_be_made(sale):
    """A currency without an exchange rate: the quote is valid, its order is not; nothing changes."""
    with sale.tenant.scope():
        Opportunity.objects.filter(pk=sale.opp.pk).update(currency="CHF")
        quote = services.create_quote(sale.actor(), opportunity_id=sale.opp.pk)
        services.send(sale.actor(), quote)
        with pytest.raises(ValidationFailed) as failed:
            services.accept(sale.actor(), quote)
        assert _fields(failed.value) == {"order.currency": "no_exchange_rate"}
        assert Quote.objects.get(pk=quote.pk).status == "sent" and Order.objects.count() == 0
        assert Opportunity.objects.get(pk=sale.opp.pk).status == "open"


def test_edit_of_an_accepted_quote_is_refused(sale):
    quote = _sent_quote(sale)
    with sale.tenant.scope():
        services.accept(sale.actor(), quote)
        with pytest.raises(ValidationFailed) as failed:
            services.update_quote(sale.actor(), quote, lines=[])
        assert _fields(failed.value) == {"status": "not_editable"}
        with pytest.raises(ValidationFailed):
            services.revise(sale.actor(), quote)
        with pytest.raises(ValidationFailed):
            services.delete_quote(sale.actor("owner"), quote)
        assert Quote.objects.get(pk=quote.pk).lines.count() == 2


def test_send_needs_lines_and_reject_needs_a_reason(sale):
    with sale.tenant.scope():
        empty = services.create_quote(sale.actor(), opportunity_id=sale.opp.pk, lines=[])
        with pytest.raises(ValidationFailed) as failed:
            services.send(sale.actor(), empty)
        assert _fields(failed.value) == {"lines": "required"}
    quote = _sent_quote(sale)
    with sale.tenant.scope():
        with pytest.raises(ValidationFailed) as failed:
            services.reject(sale.actor(), quote, "  ")
        assert _fields(failed.value) == {"reason": "required"}
        services.reject(sale.actor(), quote, "预算 不足")
        quote.refresh_from_db()
    assert (quote.status, quote.rejection_reason) == ("rejected", "预算 不足")


def test_expire_job_marks_only_sent_quotes_past_validity(sale):
    quote = _sent_quote(sale)
    with sale.tenant.scope():
        draft = services.create_quote(sale.actor(), opportunity_id=sale.opp.pk)
    with sale.tenant.scope():
        assert services.expire_due(sale.tenant.workspace, today=quote.valid_until) == 0
        assert services.expire_due(sale.tenant.workspace, today=quote.valid_until + timedelta(days=1)) == 1
        assert services.expire_due(sale.tenant.workspace, today=quote.valid_until + timedelta(days=1)) == 0
        assert Quote.objects.get(pk=quote.pk).status == "expired"
        assert Quote.objects.get(pk=draft.pk).status == "draft"
        entry = AuditEntry.objects.filter(object_id=str(quote.pk)).latest("id")
    assert entry.actor_label == "scheduler" and entry.changes["status"] == ["sent", "expired"]


def test_scheduler_tick_enqueues_only_workspaces_with_due_quotes(sale, settings):
    from kehu.quotes import schedule

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    assert schedule.tick() == 0
    quote = _sent_quote(sale)
    with sale.tenant.scope():
        Quote.objects.filter(pk=quote.pk).update(valid_until=timezone.localdate() - timedelta(days=1))
    assert schedule.tick() == 1
    with sale.tenant.scope():
        assert Quote.objects.get(pk=quote.pk).status == "expired"


def test_permissions(sale):
    with sale.tenant.scope():
        with pytest.raises(PermissionDenied):
            services.create_quote(sale.actor("readonly"), opportunity_id=sale.opp.pk)
        quote = services.create_quote(sale.actor(), opportunity_id=sale.opp.pk)
        with pytest.raises(PermissionDenied):
            services.update_quote(sale.actor("marketing"), quote, notes="x")
        # Another sales person does not see the deal.
        from kehu.users.models import User
        from kehu.workspaces.models import Membership, Role
        from kehu.workspaces.services import actor_for

        other = User.objects.create_user(email="s2@acme.test", password="x" * 12, name="S2")
        Membership.objects.create(
            workspace=sale.tenant.workspace, user=other, role=Role.objects.get(key="sales")
        )
        with pytest.raises(ValidationFailed) as failed:
            services.create_quote(actor_for(other, sale.tenant.workspace), opportunity_id=sale.opp.pk)
    assert _fields(failed.value) == {"opportunity_id": "invalid"}


def test_delete_draft_revision_restores_the_previous_version(sale):
    quote = _sent_quote(sale)
    with sale.tenant.scope():
        v2 = services.revise(sale.actor(), quote)
        services.delete_quote(sale.actor("owner"), v2)
        quote.refresh_from_db()
    assert (quote.status, quote.is_current) == ("sent", True)


def test_decimal_inputs_as_strings_and_numbers(sale):
    with sale.tenant.scope():
        quote = services.create_quote(
            sale.actor(),
            opportunity_id=sale.opp.pk,
            lines=[{"description": "x", "quantity": 1.5, "unit_price": "2.345"}],
        )
    assert quote.total == Decimal("3.52")  # 3.5175 → 3.52
