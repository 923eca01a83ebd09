"""Raw mails as real clients send them (built with the standard library, byte for byte)."""

import base64
from datetime import UTC, datetime
from email.header import Header
from email.utils import format_datetime, formataddr, make_msgid


def _subject(text: str, charset: str) -> str:
    return Header(text, charset).encode() if charset else text


def mime_mail(
    *,
    sender: str = "zhang.wei@customer.test",
    sender_name: str = "张伟",
    to: str = "support@example.test",
    subject: str = "订单 1234 的发票问题",
    body: str = "你好，我的发票抬头写错了，请帮忙更正。",
    charset: str = "gbk",
    message_id: str | None = None,
    in_reply_to: str = "",
    references: str = "",
    attachment: tuple[str, str, bytes] | None = None,
    html: str | None = None,
    extra_headers: dict[str, str] | None = None,
) -> bytes:
    """A mail with every header and text part in ``charset`` (GBK by default, like many Chinese clients)."""
    message_id = message_id or make_msgid(domain="customer.test")
    boundary = "==kehu-test-boundary=="
    headers = [
        f"From: {formataddr((str(Header(sender_name, charset)), sender)) if sender_name else sender}",
        f"To: {to}",
        f"Subject: {_subject(subject, charset)}",
        f"Date: {format_datetime(datetime.now(UTC))}",
        f"Message-ID: {message_id}",
        "MIME-Version: 1.0",
    ]
    if in_reply_to:
        headers.append(f"In-Reply-To: {in_reply_to}")
    if references:
        headers.append(f"References: {references}")
    for name, value in (extra_headers or {}).items():
        headers.append(f"{name}: {value}")

    def text_part(content: str, subtype: str) -> bytes:
        encoded = base64.encodebytes(content.encode(charset)).decode()
        return (
            f'Content-Type: text/{subtype}; charset="{charset}"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n" + encoded
        ).encode()

    parts = []
    if html is not None and body:
        alt = b"--alt-boundary\r\n" + text_part(body, "plain") + b"\r\n--alt-boundary\r\n"
        alt += text_part(html, "html") + b"\r\n--alt-boundary--\r\n"
        parts.append(b'Content-Type: multipart/alternative; boundary="alt-boundary"\r\n\r\n' + alt)
    elif html is not None:
        parts.append(text_part(html, "html"))
    else:
        parts.append(text_part(body, "plain"))
    if attachment:
        name, ctype, data = attachment
        encoded_name = Header(name, "utf-8").encode()
        parts.append(
            (
                f'Content-Type: {ctype}; name="{encoded_name}"\r\n'
                f'Content-Disposition: attachment; filename="{encoded_name}"\r\n'
                "Content-Transfer-Encoding: base64\r\n\r\n"
            ).encode()
            + base64.encodebytes(data)
        )
    head = "\r\n".join(headers).encode()
    if len(parts) == 1:
        return head + b"\r\n" + parts[0]
    body_bytes = (
        b"".join(f"--{boundary}\r\n".encode() + p + b"\r\n" for p in parts) + f"--{boundary}--\r\n".encode()
    )
    return head + f'\r\nContent-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'.encode() + body_bytes
