"""Parsing raw mails: encoded headers, GBK/GB2312/UTF-8 bodies, HTML fallback, attachments, auto-replies."""

import base64

from kehu.mailboxes.parsing import html_to_text, parse

from .mails import mime_mail


def test_gbk_subject_body_sender_and_attachment():
    raw = mime_mail(
        subject="订单 1234 的发票问题",
        body="你好，我的发票抬头写错了，请帮忙更正。",
        attachment=("发票扫描.pdf", "application/pdf", b"%PDF-1.4 fake"),
        message_id="<abc-1@customer.test>",
    )
    mail = parse(raw)
    assert mail.subject == "订单 1234 的发票问题"
    assert mail.body == "你好，我的发票抬头写错了，请帮忙更正。"
    assert mail.sender_email == "zhang.wei@customer.test"
    assert mail.sender_name == "张伟"
    assert mail.message_id == "abc-1@customer.test"
    assert [(a.name, a.content_type, a.content) for a in mail.attachments] == [
        ("发票扫描.pdf", "application/pdf", b"%PDF-1.4 fake")
    ]
    assert not mail.is_auto


def test_gb2312_label_with_gbk_only_characters():
    # "镕" is in GBK but not in GB2312; mailers label such text gb2312 all the same.
    text = "朱镕基同志的来信"
    raw = (
        b"From: a@customer.test\r\nTo: s@example.test\r\nMessage-ID: <x@y>\r\n"
        b"Subject: =?gb2312?B?" + base64.b64encode(text.encode("gbk")) + b"?=\r\n"
        b"Content-Type: text/plain; charset=gb2312\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + text.encode("gbk")
        + b"\r\n"
    )
    mail = parse(raw)
    assert mail.subject == text
    assert mail.body == text


def test_raw_8bit_utf8_header_and_utf8_body():
    raw = (
        "From: 李娜 <li.na@customer.test>\r\nTo: s@example.test\r\nSubject: 退货申请\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n请问怎么退货？\r\n"
    ).encode()
    mail = parse(raw)
    assert mail.subject == "退货申请"
    assert mail.sender_name == "李娜"
    assert mail.body == "请问怎么退货？"
    assert mail.message_id.endswith("@no-message-id.kehu")  # made from the content: stable
    assert parse(raw).message_id == mail.message_id


def test_plain_text_preferred_over_html():
    raw = mime_mail(body="Plain words", html="<p>HTML <b>words</b></p>", charset="utf-8")
    mail = parse(raw)
    assert mail.body == "Plain words"
    assert "<b>words</b>" in mail.body_html


def test_html_only_mail_becomes_text_without_markup_or_scripts():
    html = (
        "<html><head><style>p{color:red}</style><script>alert('x')</script></head>"
        "<body><p>您好&nbsp;客服</p><div>第二行 &lt;b&gt;</div><img src=x onerror=alert(1)></body></html>"
    )
    mail = parse(mime_mail(html=html, body="", charset="utf-8"))
    assert mail.body == "您好 客服\n\n第二行 <b>"
    assert "alert" not in mail.body and "color" not in mail.body
    assert html_to_text("<ul><li>one</li><li>two</li></ul>") == "one\n\ntwo"


def test_threading_headers():
    mail = parse(
        mime_mail(
            subject="Re: 发票问题 [#1042]",
            in_reply_to="<reply-1@kehu.test>",
            references="<first@customer.test> <reply-1@kehu.test>",
        )
    )
    assert mail.in_reply_to == "reply-1@kehu.test"
    assert mail.references == ["first@customer.test", "reply-1@kehu.test"]
    assert mail.ticket_number == 1042


def test_oversized_attachment_is_listed_not_kept(settings):
    settings.MAILBOX_MAX_ATTACHMENT_BYTES = 100
    mail = parse(mime_mail(attachment=("big.bin", "application/octet-stream", b"x" * 5000)))
    assert mail.attachments == []
    assert "big.bin" in mail.body and "not kept" in mail.body


def test_auto_replies_and_bounces_are_recognised():
    assert parse(mime_mail(extra_headers={"Auto-Submitted": "auto-replied"})).is_auto
    assert not parse(mime_mail(extra_headers={"Auto-Submitted": "no"})).is_auto
    assert parse(mime_mail(extra_headers={"Precedence": "bulk"})).is_auto
    assert parse(mime_mail(sender="MAILER-DAEMON@mx.customer.test", sender_name="")).is_auto
    assert parse(mime_mail(subject="自动回复: 订单问题")).is_auto
    assert parse(mime_mail(subject="Automatic reply: your ticket")).is_auto
    bounce = (
        b"From: postmaster@customer.test\r\nTo: s@example.test\r\nSubject: x\r\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n--b--\r\n"
    )
    assert parse(bounce).is_auto
