"""The mail channel against real servers: Dovecot (IMAP) in, aiosmtpd (SMTP) out — no mocks."""

import pytest

from kehu.mailboxes import schedule, services
from kehu.mailboxes.models import InboundMail, Mailbox, OutboundMail
from kehu.mailboxes.tasks import deliver_reply
from kehu.tickets import services as tickets
from kehu.tickets.models import Ticket, TicketAttachment, TicketEntry

from .mails import mime_mail

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n% invoice scan\n" + bytes(range(256))


def _poll(tenant, mailbox):
    with tenant.scope():
        return services.poll(Mailbox.objects.get(pk=mailbox.pk))


def _first_mail(imap_server, mailbox, **kwargs) -> str:
    message_id = kwargs.pop("message_id", "<first-0001@customer.test>")
    raw = mime_mail(
        to=mailbox.address,
        subject="订单 1234 的发票问题",
        message_id=message_id,
        attachment=("发票.pdf", "application/pdf", PDF),
        **kwargs,
    )
    imap_server.deliver(mailbox.imap_user, raw)
    return message_id


def _reply(tenant, ticket, body, django_capture_on_commit_callbacks, **kwargs):
    with tenant.scope(), django_capture_on_commit_callbacks(execute=True):
        return tickets.reply(tenant.actors["service"], ticket, body=body, **kwargs)


def test_mail_becomes_a_ticket_matched_to_the_contact_with_its_attachment(
    tenant, imap_server, mailbox, customer
):
    _first_mail(imap_server, mailbox)
    result = _poll(tenant, mailbox)
    assert (result.fetched, result.opened, result.error) == (1, 1, "")
    with tenant.scope():
        ticket = Ticket.objects.get()
        assert ticket.subject == "订单 1234 的发票问题"
        assert ticket.channel == "email"
        assert ticket.contact_id == customer.pk and ticket.account_id == customer.account_id
        entry = ticket.entries.get()
        assert entry.kind == "customer"
        assert entry.body == "你好，我的发票抬头写错了，请帮忙更正。"
        assert entry.message_id == "first-0001@customer.test"
        assert entry.sender_email == "zhang.wei@customer.test"
        attachment = TicketAttachment.objects.get(entry=entry)
        assert (attachment.name, attachment.content_type, attachment.size) == (
            "发票.pdf",
            "application/pdf",
            len(PDF),
        )
        with attachment.file.open("rb") as handle:
            assert handle.read() == PDF
        log = InboundMail.objects.get()
        assert (log.outcome, log.ticket_id, log.mailbox_id) == ("opened", ticket.pk, mailbox.pk)
        polled = Mailbox.objects.get(pk=mailbox.pk)
        assert polled.last_uid == 1 and polled.uid_validity and polled.last_polled_at

    # Polling again creates nothing new.
    again = _poll(tenant, mailbox)
    assert (again.fetched, again.opened, again.added) == (0, 0, 0)
    with tenant.scope():
        assert Ticket.objects.count() == 1 and TicketEntry.objects.count() == 1


def test_reply_reaches_the_customer_by_smtp_and_the_answer_threads_back(
    tenant, imap_server, mailbox, customer, smtp, immediate_tasks, django_capture_on_commit_callbacks
):
    first_id = _first_mail(imap_server, mailbox)
    _poll(tenant, mailbox)
    with tenant.scope():
        ticket = Ticket.objects.get()

    reply = _reply(tenant, ticket, "您好，已为您更正发票抬头。", django_capture_on_commit_callbacks)
    [sent] = smtp.wait_for(1)
    msg = sent["message"]
    assert sent["rcpt_tos"] == ["zhang.wei@customer.test"]
    assert msg["To"] == "zhang.wei@customer.test"
    assert msg["From"].addresses[0].addr_spec == "support@acme.test"
    assert msg["Subject"] == f"Re: 订单 1234 的发票问题 [#{ticket.number}]"
    assert msg["In-Reply-To"] == first_id
    assert first_id in msg["References"]
    assert msg.get_body(("plain",)).get_content().strip() == "您好，已为您更正发票抬头。"
    with tenant.scope():
        reply.refresh_from_db()
        assert msg["Message-ID"] == f"<{reply.message_id}>"
        outbound = OutboundMail.objects.get(entry=reply)
        assert (outbound.status, outbound.attempts, outbound.to) == ("sent", 1, "zhang.wei@customer.test")

    # An internal note never leaves.
    _reply(tenant, ticket, "内部备注：客户是重点客户", django_capture_on_commit_callbacks, public=False)
    assert len(smtp.wait_for(2, timeout=0.5)) == 1

    # The customer answers the reply (In-Reply-To, subject without the reference): same ticket.
    answer = mime_mail(
        to=mailbox.address,
        subject="Re: 订单 1234 的发票问题",
        body="收到，谢谢！",
        in_reply_to=msg["Message-ID"],
        references=f"<{first_id.strip('<>')}> {msg['Message-ID']}",
    )
    imap_server.deliver(mailbox.imap_user, answer)
    result = _poll(tenant, mailbox)
    assert (result.fetched, result.opened, result.added) == (1, 0, 1)
    with tenant.scope():
        assert Ticket.objects.count() == 1
        kinds = list(ticket.entries.order_by("created_at", "pk").values_list("kind", "body"))
        assert kinds[-1] == ("customer", "收到，谢谢！")
        assert [k for k, _b in kinds] == ["customer", "reply", "note", "customer"]


def test_auto_replies_and_bounces_open_nothing_and_get_no_answer(
    tenant, imap_server, mailbox, customer, smtp, immediate_tasks, django_capture_on_commit_callbacks
):
    _first_mail(imap_server, mailbox)
    _poll(tenant, mailbox)
    with tenant.scope():
        ticket = Ticket.objects.get()
    _reply(tenant, ticket, "您好，请提供订单号。", django_capture_on_commit_callbacks)
    [sent] = smtp.wait_for(1)
    smtp.messages.clear()

    out_of_office = mime_mail(
        to=mailbox.address,
        subject="自动回复: Re: 订单 1234 的发票问题",
        body="我正在休假，10月8日回来。",
        in_reply_to=sent["message"]["Message-ID"],
        extra_headers={"Auto-Submitted": "auto-replied"},
    )
    bounce = mime_mail(
        sender="MAILER-DAEMON@mx.customer.test",
        sender_name="",
        to=mailbox.address,
        subject="Undelivered Mail Returned to Sender",
        body="550 unknown user",
    )
    bulk = mime_mail(
        sender="news@shop.test",
        to=mailbox.address,
        subject="双十一大促",
        extra_headers={"Precedence": "bulk"},
    )
    for raw in (out_of_office, bounce, bulk):
        imap_server.deliver(mailbox.imap_user, raw)
    result = _poll(tenant, mailbox)
    assert (result.fetched, result.opened, result.added, result.ignored) == (3, 0, 0, 3)
    with tenant.scope():
        assert Ticket.objects.count() == 1
        assert ticket.entries.count() == 2
        assert list(
            InboundMail.objects.filter(outcome="auto").values_list("subject", flat=True).order_by("pk")
        ) == [
            "自动回复: Re: 订单 1234 的发票问题",
            "Undelivered Mail Returned to Sender",
            "双十一大促",
        ]
    assert smtp.wait_for(1, timeout=0.3) == []  # no answer to any of them


def test_the_same_mail_delivered_twice_is_taken_once(tenant, imap_server, mailbox, customer):
    raw = mime_mail(to=mailbox.address, message_id="<dup-1@customer.test>")
    imap_server.deliver(mailbox.imap_user, raw)
    imap_server.deliver(mailbox.imap_user, raw)
    result = _poll(tenant, mailbox)
    assert (result.fetched, result.opened, result.ignored) == (2, 1, 1)
    with tenant.scope():
        assert Ticket.objects.count() == 1
        assert list(InboundMail.objects.order_by("pk").values_list("outcome", flat=True)) == [
            "opened",
            "duplicate",
        ]


def test_a_renumbered_folder_starts_over_without_duplicates(tenant, imap_server, mailbox, customer):
    _first_mail(imap_server, mailbox)
    _poll(tenant, mailbox)
    with tenant.scope():
        real = Mailbox.objects.get(pk=mailbox.pk).uid_validity
        Mailbox.objects.filter(pk=mailbox.pk).update(uid_validity=real + 1, last_uid=99)
    imap_server.deliver(mailbox.imap_user, mime_mail(to=mailbox.address, subject="第二封邮件"))
    result = _poll(tenant, mailbox)
    assert (result.fetched, result.opened, result.ignored) == (2, 1, 1)  # the first mail is a duplicate now
    with tenant.scope():
        assert Ticket.objects.count() == 2
        polled = Mailbox.objects.get(pk=mailbox.pk)
        assert (polled.uid_validity, polled.last_uid) == (real, 2)


def test_a_ticket_number_in_a_strangers_subject_does_not_thread(tenant, imap_server, mailbox, customer):
    _first_mail(imap_server, mailbox)
    _poll(tenant, mailbox)
    with tenant.scope():
        ticket = Ticket.objects.get()
    stranger = mime_mail(
        sender="someone@else.test",
        sender_name="",
        to=mailbox.address,
        subject=f"Re: 发票 [#{ticket.number}]",
        body="我也有问题",
    )
    owner_again = mime_mail(
        to=mailbox.address, subject=f"补充 [#{ticket.number}]", body="补充一下订单号 1234"
    )
    imap_server.deliver(mailbox.imap_user, stranger)
    imap_server.deliver(mailbox.imap_user, owner_again)
    result = _poll(tenant, mailbox)
    assert (result.opened, result.added) == (1, 1)
    with tenant.scope():
        assert ticket.entries.filter(kind="customer").count() == 2
        assert Ticket.objects.exclude(pk=ticket.pk).get().requester_email == "someone@else.test"


def test_replies_are_sent_by_a_background_job_and_retried(
    tenant, imap_server, mailbox, customer, smtp, django_capture_on_commit_callbacks
):
    """With the database task backend nothing is sent in the request; the job sends, retrying on 4xx."""
    _first_mail(imap_server, mailbox)
    _poll(tenant, mailbox)
    with tenant.scope():
        ticket = Ticket.objects.get()
    reply = _reply(tenant, ticket, "我们正在处理。", django_capture_on_commit_callbacks)
    with tenant.scope():
        outbound = OutboundMail.objects.get(entry=reply)
    assert outbound.status == "queued" and smtp.messages == []

    smtp.fail_next = 1
    assert deliver_reply.call(tenant.workspace.pk, outbound.pk) == "retrying"
    with tenant.scope():
        outbound.refresh_from_db()
    assert outbound.attempts == 1 and "451" in outbound.last_error and outbound.next_attempt_at
    assert smtp.messages == []
    # Not due yet: the scheduler leaves it; once due, the tick enqueues it again.
    assert deliver_reply.call(tenant.workspace.pk, outbound.pk) == "retrying"
    with tenant.scope():
        OutboundMail.objects.filter(pk=outbound.pk).update(next_attempt_at=outbound.created_at)
    assert schedule.tick() >= 1
    assert deliver_reply.call(tenant.workspace.pk, outbound.pk) == "sent"
    assert len(smtp.wait_for(1)) == 1
    with tenant.scope():
        outbound.refresh_from_db()
    assert (outbound.status, outbound.attempts, outbound.last_error) == ("sent", 2, "")
    # Sent is final: another run sends nothing.
    assert deliver_reply.call(tenant.workspace.pk, outbound.pk) == "sent"
    assert len(smtp.messages) == 1


def test_a_wrong_password_is_reported_on_the_mailbox(tenant, imap_server, mailbox):
    with tenant.scope():
        services.update_mailbox(tenant.actors["owner"], mailbox, password="wrong-password")
    result = _poll(tenant, mailbox)
    assert "Login failed" in result.error
    with tenant.scope():
        assert "Login failed" in Mailbox.objects.get(pk=mailbox.pk).last_error
        from kehu.core.errors import ValidationFailed

        with pytest.raises(ValidationFailed, match="connection failed"):
            services.test_connection(tenant.actors["owner"], mailbox)


def test_test_connection_counts_the_folder(tenant, imap_server, mailbox):
    imap_server.deliver(mailbox.imap_user, mime_mail(to=mailbox.address))
    with tenant.scope():
        message = services.test_connection(tenant.actors["owner"], mailbox)
    assert "INBOX" in message and "1" in message


def test_a_mail_that_fails_is_logged_and_the_poll_goes_on(
    tenant, imap_server, mailbox, customer, monkeypatch
):
    real_open = tickets.open_ticket

    def failing_open(actor, **kwargs):
        if kwargs["subject"] == "boom":
            raise RuntimeError("a bug in opening")
        return real_open(actor, **kwargs)

    monkeypatch.setattr(tickets, "open_ticket", failing_open)
    imap_server.deliver(mailbox.imap_user, mime_mail(to=mailbox.address, subject="boom"))
    imap_server.deliver(mailbox.imap_user, mime_mail(to=mailbox.address, subject="正常的邮件"))
    result = _poll(tenant, mailbox)
    assert (result.fetched, result.opened, result.ignored) == (2, 1, 1)
    with tenant.scope():
        rejected = InboundMail.objects.get(outcome="rejected")
        assert rejected.subject == "boom" and "a bug in opening" in rejected.note
        assert Ticket.objects.get().subject == "正常的邮件"
        assert Mailbox.objects.get(pk=mailbox.pk).last_uid == 2  # not fetched again


def test_delivery_status_through_the_api(
    tenant, other_tenant, imap_server, mailbox, customer, smtp, django_capture_on_commit_callbacks
):
    _first_mail(imap_server, mailbox)
    _poll(tenant, mailbox)
    with tenant.scope():
        ticket = Ticket.objects.get()
    reply = _reply(tenant, ticket, "处理中", django_capture_on_commit_callbacks)
    response = tenant.api_client("service").get(f"/api/v1/tickets/{ticket.pk}/deliveries")
    assert response.status_code == 200
    [item] = response.json()
    assert (item["entry_id"], item["status"], item["to"]) == (reply.pk, "queued", "zhang.wei@customer.test")
    assert other_tenant.api_client("owner").get(f"/api/v1/tickets/{ticket.pk}/deliveries").status_code == 404
