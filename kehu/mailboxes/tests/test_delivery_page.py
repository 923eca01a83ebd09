"""The ticket page shows, under each public reply, its mail's delivery: sent, retrying (error, attempts,
next try) or failed (error) — read with one prefetch for the whole conversation."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scopes_disabled

from kehu.mailboxes import services as mail
from kehu.mailboxes.models import OutboundMail
from kehu.tickets import services as tickets

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(tenant, customer, smtp):
    """A ticket of Zhang Wei's (who has an address), with a mailbox to answer from."""
    with tenant.scope():
        mail.create_mailbox(tenant.actors["owner"], name="Acme 客服", address="support@acme.test")
        return tickets.open_ticket(
            tenant.actors["service"],
            subject="发票抬头错误",
            description="请重开发票",
            channel="email",
            contact=customer,
        )


def answer(tenant, ticket, body: str, *, public: bool = True):
    """A reply and its mail queued (what the entry_added handler does after commit)."""
    with tenant.scope():
        entry = tickets.reply(tenant.actors["service"], ticket, body=body, public=public)
        outbound = mail.queue_reply(entry)
    return entry, outbound


def attempt(outbound) -> str:
    """One delivery attempt now (as the job would, once its retry time has come)."""
    with scopes_disabled():
        OutboundMail.objects.filter(pk=outbound.pk).update(
            next_attempt_at=timezone.now() - timedelta(seconds=1)
        )
        return mail.deliver(outbound.pk)


def block(page: str, entry) -> str:
    found = re.search(rf'<li class="entry[^"]*" id="entry-{entry.pk}".*?</li>', page, re.S)
    assert found, f"entry {entry.pk} not on the page"
    return found.group(0)


def test_each_reply_shows_its_delivery(tenant, ticket, smtp):
    sent, sent_mail = answer(tenant, ticket, "已经重开")
    retrying, retrying_mail = answer(tenant, ticket, "补充说明")
    failed, failed_mail = answer(tenant, ticket, "最后一次")
    queued, _queued_mail = answer(tenant, ticket, "还在排队")
    note, no_mail = answer(tenant, ticket, "内部备注", public=False)
    assert no_mail is None

    assert attempt(sent_mail) == "sent"
    assert smtp.wait_for(1)[0]["rcpt_tos"] == ["zhang.wei@customer.test"]
    smtp.fail_next = 2
    assert attempt(retrying_mail) == "retrying"
    assert attempt(retrying_mail) == "retrying"
    smtp.fail_next = len(mail.RETRY_DELAYS) + 1
    for _ in mail.RETRY_DELAYS:
        assert attempt(failed_mail) == "retrying"
    assert attempt(failed_mail) == "failed"

    page = tenant.web_client("service").get(f"/tickets/{ticket.pk}/").content.decode()

    done = block(page, sent)
    assert 'data-delivery="sent"' in done
    assert "Email to zhang.wei@customer.test: Sent" in done
    assert "delivery-error" not in done and "attempt" not in done

    waiting = block(page, retrying)
    assert 'data-delivery="retrying"' in waiting and "Email to zhang.wei@customer.test: Retrying" in waiting
    assert "2 attempts" in waiting
    assert "451" in waiting and "Try again later" in waiting  # the server's answer
    assert "next try" in waiting

    lost = block(page, failed)
    assert 'data-delivery="failed"' in lost and "Email to zhang.wei@customer.test: Failed" in lost
    assert f"{len(mail.RETRY_DELAYS) + 1} attempts" in lost and "451" in lost
    assert "next try" not in lost

    assert 'data-delivery="queued"' in block(page, queued)
    assert "data-delivery" not in block(page, note)  # internal notes are never mailed


def test_customer_messages_and_tickets_without_mail_show_no_delivery(tenant, ticket):
    page = tenant.web_client("service").get(f"/tickets/{ticket.pk}/").content.decode()
    assert "data-delivery" not in page


def queries_of(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_the_delivery_costs_one_query_for_the_whole_conversation(tenant, ticket, smtp):
    client = tenant.web_client("service")
    url = f"/tickets/{ticket.pk}/"
    _entry, first = answer(tenant, ticket, "第一次回复")
    attempt(first)
    client.get(url)  # per-process caches
    one = queries_of(client, url)
    smtp.fail_next = 3
    for i in range(6):
        _entry, outbound = answer(tenant, ticket, f"回复 {i}")
        if i % 2:
            attempt(outbound)
    page = client.get(url).content.decode()
    assert page.count("data-delivery=") == 7
    assert queries_of(client, url) == one


def test_the_delivery_prefetch_is_a_single_query(tenant, ticket, django_assert_num_queries):
    """The ticket app's thread reads the registered extras with one prefetch each: entries,
    attachments, outbound mails."""
    from kehu.tickets.queries import thread

    for i in range(4):
        answer(tenant, ticket, f"回复 {i}")
    with tenant.scope(), django_assert_num_queries(3):
        entries = thread(ticket)
        statuses = [m.status for e in entries for m in e.outbound_mails.all()]
    assert statuses == ["queued"] * 4
