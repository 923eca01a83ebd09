"""Ticket pages: queue (tabs, SLA badges, pinned query count), create from an account, detail with the
conversation and history, reply + status in one go, attachments, complaint report, settings, the 360°
panel, global search, the public support form."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kehu.customers import services as customers
from kehu.tickets import services
from kehu.tickets.models import RoutingRule, Ticket, TicketAttachment, TicketCategory

from .conftest import make_team


def open_many(tenant, count, **kw):
    actor = tenant.actors["owner"]
    with tenant.scope():
        account = customers.create_account(actor, name="客户甲")
        contact = customers.create_contact(actor, name="联系人", email="c@a.cn", account_id=account.pk)
        team = make_team(tenant, f"Queue {count}", "service")
        return [
            services.open_ticket(
                actor,
                subject=f"问题 {i}",
                description="详情",
                channel="email",
                contact=contact,
                owner_id=tenant.users["service"].pk,
                team_id=team.pk,
                **kw,
            )
            for i in range(count)
        ]


def queries_of(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_queue_query_count_is_pinned_and_independent_of_rows(tenant, policy):
    client = tenant.web_client("service")
    open_many(tenant, 2)
    client.get("/tickets/?all=1")  # warm per-process caches (content types, permissions)
    few = queries_of(client, "/tickets/?all=1")
    open_many(tenant, 10)
    many = queries_of(client, "/tickets/?all=1")
    assert few == many


def test_queue_page_pinned(tenant, policy, django_assert_num_queries):
    open_many(tenant, 6)
    client = tenant.web_client("service")
    client.get("/tickets/?all=1")
    with django_assert_num_queries(QUEUE_QUERIES):
        response = client.get("/tickets/?all=1")
    html = response.content.decode()
    assert html.count('data-sla="ok"') == 6 and "问题 5" in html and "客户甲" in html


QUEUE_QUERIES = 8


def test_tabs_filter_the_queue(tenant):
    tickets = open_many(tenant, 2)
    with tenant.scope():
        services.assign(tenant.actors["owner"], tickets[0], user=None, team=None)
    client = tenant.web_client("service")
    unassigned = client.get("/tickets/?tab=unassigned").content.decode()
    assert "问题 0" in unassigned and "问题 1" not in unassigned
    mine = client.get("/tickets/?tab=mine").content.decode()
    assert "问题 1" in mine and "问题 0" not in mine
    breached = client.get("/tickets/?tab=breached").content.decode()
    assert "问题 0" not in breached and "问题 1" not in breached  # no SLA policy, so nothing is late
    found = client.get(f"/tickets/?q=%23{tickets[1].number}").content.decode()
    assert "问题 1" in found and "问题 0" not in found


def test_create_from_an_account_page_with_an_attachment(tenant):
    with tenant.scope():
        account = customers.create_account(tenant.actors["owner"], name="华南物流")
    client = tenant.web_client("service")
    form = client.get(f"/tickets/new/?account={account.pk}")
    assert form.status_code == 200 and f'value="{account.pk}"' in form.content.decode()
    response = client.post(
        "/tickets/new/",
        {
            "subject": "货物丢失",
            "description": "两箱货没到",
            "account_id": account.pk,
            "channel": "phone",
            "type": "complaint",
            "priority": "high",
            "severity": "major",
            "root_cause": "delivery",
            "attachments": SimpleUploadedFile("单据.pdf", b"%PDF-1.4 test", content_type="application/pdf"),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    with tenant.scope():
        ticket = Ticket.objects.get(subject="货物丢失")
        attachment = TicketAttachment.objects.get(entry__ticket=ticket)
    assert ticket.account_id == account.pk and ticket.root_cause == "delivery"
    download = client.get(f"/tickets/attachments/{attachment.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"%PDF-1.4 test"
    assert "attachment" in download["Content-Disposition"]
    assert tenant.web_client("sales").get(f"/tickets/attachments/{attachment.pk}/").status_code == 404


def test_detail_reply_with_status_and_internal_note(tenant):
    ticket = open_many(tenant, 1)[0]
    client = tenant.web_client("service")
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert 'id="ticket-thread"' in page and "详情" in page and 'id="ticket-history"' in page
    client.post(
        f"/tickets/{ticket.pk}/reply/", {"body": "已处理，请确认", "kind": "reply", "status": "pending"}
    )
    client.post(f"/tickets/{ticket.pk}/reply/", {"body": "内部：已联系仓库", "kind": "note"})
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert 'class="entry entry-reply"' in page and 'class="entry entry-note"' in page
    assert "Internal note — staff only" in page
    with tenant.scope():
        ticket.refresh_from_db()
    assert ticket.status == "pending" and ticket.first_responded_at is not None
    response = client.post(f"/tickets/{ticket.pk}/status/", {"status": "resolved"})
    assert response.status_code == 302
    with tenant.scope():
        ticket.refresh_from_db()
    assert ticket.status == "resolved"


def test_detail_shows_the_customers_other_tickets_and_orders(tenant):
    first, second = open_many(tenant, 2)
    with tenant.scope():
        from kehu.commerce import services as commerce

        commerce.create_order(
            tenant.actors["owner"],
            account_id=first.account_id,
            currency="CNY",
            lines=[{"description": "服务费", "quantity": 1, "unit_price": "100"}],
        )
    page = tenant.web_client("owner").get(f"/tickets/{first.pk}/").content.decode()
    history = page[page.index('id="ticket-history"') :]
    assert f"#{second.number}" in history and "SO-" in history


def test_detail_query_count_is_pinned(tenant, django_assert_num_queries):
    ticket = open_many(tenant, 1)[0]
    client = tenant.web_client("service")
    with tenant.scope():
        for i in range(6):
            services.reply(tenant.actors["service"], ticket, body=f"reply {i}", public=i % 2 == 0)
    client.get(f"/tickets/{ticket.pk}/")
    with django_assert_num_queries(DETAIL_QUERIES):
        client.get(f"/tickets/{ticket.pk}/")


DETAIL_QUERIES = 15  # + the reply mails' delivery (one prefetch, registered by the mail app)


def test_pages_are_workspace_and_role_scoped(tenant, other_tenant):
    ticket = open_many(tenant, 1)[0]
    assert other_tenant.web_client("owner").get(f"/tickets/{ticket.pk}/").status_code == 404
    assert tenant.web_client("sales").get(f"/tickets/{ticket.pk}/").status_code == 404
    assert tenant.web_client("readonly").get(f"/tickets/{ticket.pk}/").status_code == 200
    assert (
        tenant.web_client("readonly")
        .post(f"/tickets/{ticket.pk}/reply/", {"body": "x", "kind": "reply"})
        .status_code
        == 403
    )
    assert tenant.web_client("readonly").get("/tickets/new/").status_code == 403
    assert tenant.web_client("service").get("/settings/tickets/").status_code == 404


def test_complaint_report_page(tenant):
    open_many(tenant, 2, type="complaint", root_cause="billing", compensation_amount="20")
    html = tenant.web_client("service").get("/tickets/complaints/").content.decode()
    assert "Billing / pricing" in html and "40.00" in html


def test_settings_manage_rules_and_categories(tenant):
    team = make_team(tenant, "一线", "service")
    client = tenant.web_client("admin")
    assert client.get("/settings/tickets/").status_code == 200
    client.post("/settings/tickets/categories/new/", {"name": "物流", "position": "1"})
    response = client.post(
        "/settings/tickets/rules/new/",
        {
            "name": "Email first line",
            "position": "1",
            "is_active": "on",
            "channel": ["email"],
            "category": ["物流"],
            "keywords": "快递, 物流",
            "language": "",
            "team_id": team.pk,
            "assignment": "round_robin",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    with tenant.scope():
        rule = RoutingRule.objects.get()
        assert TicketCategory.objects.filter(name="物流").exists()
    assert rule.conditions == {"channel": ["email"], "category": ["物流"], "keywords": ["快递", "物流"]}
    assert client.get(f"/settings/tickets/rules/{rule.pk}/").status_code == 200
    client.post(f"/settings/tickets/rules/{rule.pk}/delete/")
    with tenant.scope():
        assert not RoutingRule.objects.exists()


def test_360_panel_on_account_and_contact_pages(tenant):
    ticket = open_many(tenant, 1)[0]
    client = tenant.web_client("service")
    account_page = client.get(f"/accounts/{ticket.account_id}/").content.decode()
    assert 'id="panel-tickets"' in account_page and f"#{ticket.number}" in account_page
    assert "once the service desk is part of Kehu" not in account_page
    contact_page = client.get(f"/contacts/{ticket.contact_id}/").content.decode()
    assert f"/tickets/new/?contact={ticket.contact_id}" in contact_page
    data = (
        tenant.api_client("service")
        .get(f"/api/v1/accounts/{ticket.account_id}/360")
        .json()["panels"]["tickets"]
    )
    assert data["available"] is True and data["latest"][0]["number"] == ticket.number


def test_global_search_finds_tickets(tenant):
    ticket = open_many(tenant, 1)[0]
    html = tenant.web_client("service").get("/search/", {"q": "问题"}).content.decode()
    assert f"/tickets/{ticket.pk}/" in html


# --- the public support form -------------------------------------------------------------------------


def test_support_form_opens_a_ticket_as_the_workspace(tenant):
    client = tenant.web_client("service").__class__()
    page = client.get(f"/support/{tenant.workspace.slug}/")
    assert page.status_code == 200 and 'name="website_url"' in page.content.decode()
    response = client.post(
        f"/support/{tenant.workspace.slug}/",
        {"name": "张三", "email": "zhang@example.cn", "subject": "网站打不开", "description": "一直转圈"},
    )
    assert response.status_code == 200 and 'id="support-thanks"' in response.content.decode()
    with tenant.scope():
        ticket = Ticket.objects.get()
    assert (
        ticket.channel == "web" and ticket.requester_email == "zhang@example.cn" and ticket.created_by is None
    )


def test_support_form_offers_the_service_bot(tenant):
    """The help centre's chat widget is on the support form too, asking this workspace's bot."""
    client = tenant.web_client("service").__class__()
    html = client.get(f"/support/{tenant.workspace.slug}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="bot-widget"' in html
    assert f'hx-post="/help/{tenant.workspace.slug}/bot/ask/"' in html
    assert 'name="language" id="bot-language" value="en"' in html and "X-CSRFToken" in html
    answer = client.post(
        f"/help/{tenant.workspace.slug}/bot/ask/", {"question": "转人工", "language": "zh-hans"}
    )
    assert answer.status_code == 200


def test_support_form_honeypot_and_rate_limit(tenant, settings):
    settings.LEADS_FORM_RATE_LIMIT = 2
    client = tenant.web_client("service").__class__()
    url = f"/support/{tenant.workspace.slug}/"
    data = {"name": "Bot", "email": "bot@spam.cn", "subject": "cheap", "description": "spam"}
    trapped = client.post(url, {**data, "website_url": "http://spam"})
    assert trapped.status_code == 200 and 'id="support-thanks"' in trapped.content.decode()
    with tenant.scope():
        assert not Ticket.objects.exists()
    assert client.post(url, {**data, "email": "bad"}).status_code == 422
    assert client.post(url, data).status_code == 429
    assert client.get("/support/no-such-workspace/").status_code == 404


@pytest.mark.parametrize("role", ["owner", "service"])
def test_list_renders_for_roles(tenant, role):
    open_many(tenant, 1)
    assert tenant.web_client(role).get("/tickets/").status_code == 200


def test_detail_suggests_knowledge_base_articles(tenant):
    from kehu.knowledge import services as knowledge

    with tenant.scope():
        article = knowledge.create_article(
            tenant.actors["owner"],
            title="打印机驱动安装指南",
            body="如何安装打印机驱动：下载驱动，重启电脑。",
            status="published",
            language="zh-hans",
        )
        ticket = services.open_ticket(
            tenant.actors["service"],
            subject="打印机驱动安装失败",
            description="安装驱动时报错",
            channel="email",
        )
    html = tenant.web_client("service").get(f"/tickets/{ticket.pk}/").content.decode()
    box = html[html.index('id="ticket-suggestions"') :]
    assert f"/knowledge/{article.pk}/" in box and "打印机驱动安装指南" in box
