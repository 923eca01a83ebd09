"""Orders with lines, products and activities import through their services."""

from decimal import Decimal

from kehu.activities.models import Activity, ActivityLink
from kehu.commerce.models import Order, Product
from kehu.imports.models import ImportIssue


def seed(tenant):
    from kehu.commerce.services import create_product
    from kehu.customers.services import create_account, create_contact

    actor = tenant.actors["admin"]
    with tenant.scope():
        acme = create_account(actor, name="Acme 上海")
        create_contact(actor, name="Ann", email="ann@acme.cn", account_id=acme.pk)
        create_product(actor, sku="P-1", name="Widget", unit_price="10.00", currency="CNY")
    return acme


def test_products_with_prices_and_booleans(tenant, make_job, run_job):
    job = run_job(
        make_job(
            'SKU,名称,单价,启用\nA-1,Alpha,"¥1,234.50",是\nA-2,Beta,12,否\nA-3,,5,是\n', target="products"
        )
    )
    assert (job.created_count, job.error_count) == (2, 1)
    with tenant.scope():
        alpha = Product.objects.get(sku="A-1")
        assert alpha.unit_price == Decimal("1234.50") and alpha.active
        assert Product.objects.get(sku="A-2").active is False
    job = run_job(make_job("SKU,单价\nA-2,99\n", target="products", mode="update", match_key="sku"))
    assert job.updated_count == 1
    with tenant.scope():
        assert Product.objects.get(sku="A-2").unit_price == Decimal("99")


def test_orders_group_lines_by_order_number(tenant, make_job, run_job, monkeypatch):
    from kehu.imports import services

    seed(tenant)
    monkeypatch.setattr(services, "BATCH_SIZE", 2)  # an order's rows never split across batches
    text = (
        "订单号,公司名称,联系人邮箱,下单日期,币种,SKU,数量,单价\n"
        "SO-1,Acme 上海,ann@acme.cn,2026/11/01,CNY,P-1,2,\n"
        "SO-1,Acme 上海,ann@acme.cn,2026/11/01,CNY,P-1,1,8\n"
        "SO-1,Acme 上海,ann@acme.cn,2026/11/01,CNY,P-1,3,\n"
        "SO-2,Nobody Ltd,,2026/11/02,CNY,P-1,1,\n"
        "SO-3,Acme 上海,,25.11.2026,CNY,NOPE,1,\n"
    )
    job = make_job(text, target="orders")
    assert job.mapping["订单号"] == "number" and job.mapping["数量"] == "line.quantity"
    job = run_job(job)
    assert (job.created_count, job.error_count) == (1, 2)
    with tenant.scope():
        order = Order.objects.get(number="SO-1")
        assert [str(line.quantity) for line in order.lines.all()] == ["2.000", "1.000", "3.000"]
        assert order.total_amount == Decimal("58.00") and str(order.order_date) == "2026-11-01"
        issues = {(i.row, i.column) for i in ImportIssue.objects.filter(job=job, kind="error")}
    assert (5, "公司名称") in issues and (6, "SKU") in issues


def test_activities_link_to_contact_and_account(tenant, make_job, run_job):
    seed(tenant)
    text = (
        "类型,主题,时间,联系人邮箱,公司名称\n"
        "电话,Intro call,2026-11-20 10:30,ann@acme.cn,Acme 上海\n"
        "meeting,Demo,2026/11/21,,\n"
    )
    job = run_job(make_job(text, target="activities"))
    assert (job.created_count, job.error_count) == (2, 0), list(ImportIssue.objects.values_list("reason"))
    with tenant.scope():
        call = Activity.objects.get(subject="Intro call")
        assert (
            call.kind == "call" and call.source == "import" and call.occurred_at.hour == 2
        )  # 10:30 Shanghai
        assert {link.object_type for link in ActivityLink.objects.filter(activity=call)} == {
            "customers.account",
            "customers.contact",
        }
