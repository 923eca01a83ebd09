"""Reading a raw mail (RFC 5322 / MIME) into what a ticket needs, with the standard library only.

Headers are decoded from RFC 2047 encoded words, bodies from their declared charset; GB2312 and GBK
are read as GB18030 (their superset: mails labelled GB2312 routinely hold GBK-only characters).
The text part is preferred; an HTML-only mail is turned into plain text here, so nothing renders a
sender's HTML. Attachments over the size cap are listed in the body instead of kept.
"""

import hashlib
import re
from dataclasses import dataclass, field
from email import policy
from email.header import decode_header
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

from django.conf import settings
from django.utils.translation import gettext as _

# Labels that mean "a subset of GB18030": decoding with the superset never loses a character.
_CHARSET_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "x-euc-cn": "gb18030",
    "unknown-8bit": "utf-8",
}
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_TICKET_REFERENCE = re.compile(r"\[#(\d+)\]")
# Subjects of auto-replies from services that send no Auto-Submitted header (QQ, 163, Outlook …).
_AUTO_SUBJECTS = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response)|autoreply|out of (the )?office|auto:|"
    r"自动回复|自動回覆|自动答复|delivery status notification|undeliver(ed|able)|"
    r"mail delivery (failed|failure)|returned mail|退信|系统退信)",
    re.IGNORECASE,
)
_DAEMON_SENDERS = ("mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon")


def max_attachment_bytes() -> int:
    return int(getattr(settings, "MAILBOX_MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024))


@dataclass
class Attachment:
    name: str
    content_type: str
    content: bytes

    def as_dict(self) -> dict:
        """The shape ``kehu.tickets.services`` takes attachments in."""
        return {"name": self.name, "content_type": self.content_type, "content": self.content}


@dataclass
class ParsedMail:
    message_id: str  # without angle brackets, like TicketEntry.message_id
    subject: str
    sender_email: str
    sender_name: str
    to: list[str]
    in_reply_to: str
    references: list[str]
    body: str
    body_html: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    auto_reason: str = ""  # why this is an auto-reply / bounce / bulk mail; "" for a person's mail

    @property
    def is_auto(self) -> bool:
        return bool(self.auto_reason)

    @property
    def ticket_number(self) -> int | None:
        """The ``[#1234]`` reference in the subject, if any."""
        found = _TICKET_REFERENCE.search(self.subject)
        return int(found.group(1)) if found else None


def codec(charset: str | None) -> str:
    name = (charset or "utf-8").strip().strip('"').lower()
    return _CHARSET_ALIASES.get(name, name)


def decode_bytes(data: bytes, charset: str | None) -> str:
    try:
        return data.decode(codec(charset), errors="replace")
    except LookupError:  # a charset Python does not know: UTF-8 is the likeliest truth
        return data.decode("utf-8", errors="replace")


def decode_words(raw: str) -> str:
    """An RFC 2047 header value as text (each encoded word in its own charset, GBK-safe)."""
    if not raw:
        return ""
    parts = []
    try:
        chunks = decode_header(raw)
    except Exception:  # a malformed encoded word: keep the raw text rather than lose the header
        return " ".join(raw.split())
    for chunk, charset in chunks:
        if isinstance(chunk, bytes):
            # Non-ASCII bytes with no charset are raw 8-bit headers (common with Chinese clients).
            parts.append(decode_bytes(chunk, charset) if charset else _guess(chunk))
        else:
            parts.append(chunk)
    return " ".join("".join(parts).split())


def _guess(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


def _raw_header(msg: Message, name: str) -> str:
    """The header's raw value (before the policy's own decoding, which mishandles GBK in GB2312)."""
    for key, value in msg.raw_items():
        if key.lower() == name.lower():
            value = str(value)
            if any("\udc80" <= ch <= "\udcff" for ch in value):
                # Raw 8-bit bytes (common with Chinese clients) arrive as surrogate escapes.
                return _guess(value.encode("ascii", "surrogateescape"))
            return value
    return ""


def _header_text(msg: Message, name: str) -> str:
    return decode_words(_raw_header(msg, name))


def message_ids(value: str) -> list[str]:
    """Every ``<id@host>`` in a Message-ID / In-Reply-To / References value, in order, stored as the
    tickets app keeps them: without the angle brackets."""
    return [found[1:-1][:255] for found in _MESSAGE_ID.findall(value or "")]


class _TextFromHtml(HTMLParser):
    """Collects an HTML document's visible text; block elements become line breaks."""

    BLOCKS = {
        "p",
        "div",
        "br",
        "li",
        "tr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "table",
        "hr",
        "pre",
        "section",
        "article",
        "header",
        "footer",
    }
    HIDDEN = {"script", "style", "head", "title", "template", "noscript"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in self.BLOCKS:
            self.out.append("\n")

    def handle_endtag(self, tag):
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BLOCKS:
            self.out.append("\n")

    def handle_data(self, data):
        if not self.hidden:
            self.out.append(data)


def html_to_text(html: str) -> str:
    parser = _TextFromHtml()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.out).splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if payload is None:
        return ""
    return decode_bytes(payload, part.get_content_charset())


def _filename(part: Message) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:
        name = ""
    if any("\udc80" <= ch <= "\udcff" for ch in name):
        name = _guess(name.encode("ascii", "surrogateescape"))
    name = decode_words(name) if "=?" in name else name
    # Never a path: only the last component, no control characters.
    name = re.split(r"[\\/]", name)[-1]
    return "".join(ch for ch in name if ch.isprintable())[:255]


def _walk(part: Message, found: list[Message]) -> None:
    """Leaf parts in order; an attached mail (message/rfc822) stays one part (kept as a .eml file)."""
    if part.get_content_type() == "message/rfc822" or not part.is_multipart():
        found.append(part)
        return
    for sub in part.get_payload():
        _walk(sub, found)


def _auto_reason(msg: Message, sender_email: str, subject: str) -> str:
    auto_submitted = _raw_header(msg, "Auto-Submitted").strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    precedence = _raw_header(msg, "Precedence").strip().lower()
    if precedence in {"bulk", "junk", "list", "auto_reply", "auto-reply"}:
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Failed-Recipients"):
        if _raw_header(msg, name):
            return name
    if msg.get_content_type() == "multipart/report":
        return "multipart/report"
    local = sender_email.split("@")[0].lower()
    if not sender_email or local in _DAEMON_SENDERS:
        return f"sender {sender_email or '(none)'}"
    if _raw_header(msg, "Return-Path").strip() == "<>":
        return "Return-Path: <>"
    if _AUTO_SUBJECTS.search(subject):
        return "subject"
    return ""


def parse(raw: bytes) -> ParsedMail:
    """The parts of a raw mail a ticket needs (headers decoded, text body, attachments)."""
    msg: EmailMessage = BytesParser(policy=policy.default).parsebytes(raw)  # type: ignore[assignment]
    subject = _header_text(msg, "Subject")
    sender_name, sender_email = parseaddr(_raw_header(msg, "From"))
    sender_name = decode_words(sender_name) if sender_name else ""
    to = [
        addr.lower() for _name, addr in getaddresses([_raw_header(msg, "To"), _raw_header(msg, "Cc")]) if addr
    ]
    ids = message_ids(_raw_header(msg, "Message-ID"))
    # A mail without a Message-ID gets one from its content, so a second delivery is still recognised.
    message_id = ids[0] if ids else f"{hashlib.sha256(raw).hexdigest()[:40]}@no-message-id.kehu"

    parts: list[Message] = []
    _walk(msg, parts)
    plain = html = None
    attachments: list[Attachment] = []
    skipped: list[str] = []
    cap = max_attachment_bytes()
    for part in parts:
        ctype = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        name = _filename(part)
        if ctype == "message/rfc822":
            inner = part.get_payload()
            data = inner[0].as_bytes(policy=policy.SMTP) if isinstance(inner, list) and inner else b""
            name = name or "message.eml"
        elif disposition != "attachment" and not name and ctype in {"text/plain", "text/html"}:
            if ctype == "text/plain" and plain is None:
                plain = part
            elif ctype == "text/html" and html is None:
                html = part
            continue
        else:
            data = part.get_payload(decode=True) or b""
        if not name:
            ext = {"text/plain": "txt", "text/html": "html"}.get(ctype, ctype.split("/")[-1][:10] or "bin")
            name = f"attachment-{len(attachments) + len(skipped) + 1}.{ext}"
        if len(data) > cap:
            skipped.append(f"{name} ({len(data) // 1024} KB)")
            continue
        attachments.append(Attachment(name, ctype, data))

    body_html = _part_text(html) if html is not None else ""
    if plain is not None:
        body = _part_text(plain).replace("\r\n", "\n").strip()
    else:
        body = html_to_text(body_html) if body_html else ""
    if skipped:
        limit = {"mb": f"{cap / (1024 * 1024):g}"}
        body += "\n\n" + "\n".join(
            _("[Attachment not kept, larger than %(mb)s MB: %(name)s]") % {**limit, "name": name}
            for name in skipped
        )
    return ParsedMail(
        message_id=message_id[:255],
        subject=subject[:300],
        sender_email=sender_email.strip().lower(),
        sender_name=sender_name[:200],
        to=to,
        in_reply_to=(message_ids(_raw_header(msg, "In-Reply-To")) or [""])[0][:255],
        references=message_ids(_raw_header(msg, "References"))[-20:],
        body=body.strip(),
        body_html=body_html,
        attachments=attachments,
        auto_reason=_auto_reason(msg, sender_email.strip().lower(), subject),
    )
