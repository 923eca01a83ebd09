"""The IMAP side of a mailbox: log in, find the mails after the last UID seen, fetch them in batches.

The folder is opened read-only and bodies are fetched with ``BODY.PEEK[]``, so polling changes
nothing on the server (flags stay as the people who also read the mailbox left them). Progress is
the folder's UIDVALIDITY + the last UID taken; when the server renumbers the folder (UIDVALIDITY
changes) the poll starts over from the day of the last poll, and Message-ID checks skip what was
already taken.
"""

import contextlib
import imaplib
import re
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from . import credentials

TIMEOUT = 30
BATCH = 20  # messages per UID FETCH
_UID = re.compile(rb"UID (\d+)")


class ImapError(Exception):
    """A connection, login or protocol failure, with a message for the administrator."""


@dataclass
class FolderState:
    uid_validity: int
    uids: list[int]  # new UIDs, ascending
    exists: int


def connect(mailbox) -> imaplib.IMAP4:
    """A logged-in connection to the mailbox's server (``ImapError`` with the reason otherwise)."""
    try:
        password = credentials.decrypt(mailbox.imap_password)
    except credentials.PasswordUnreadable:
        raise ImapError(
            "The stored password cannot be read (the server's secret key changed): enter the password again."
        ) from None
    try:
        if mailbox.imap_ssl:
            conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                mailbox.imap_host,
                mailbox.imap_port,
                ssl_context=ssl.create_default_context(),
                timeout=TIMEOUT,
            )
        else:
            conn = imaplib.IMAP4(mailbox.imap_host, mailbox.imap_port, timeout=TIMEOUT)
            if "STARTTLS" in conn.capabilities:
                conn.starttls(ssl_context=ssl.create_default_context())
    except (OSError, imaplib.IMAP4.error) as exc:
        raise ImapError(f"Cannot connect to {mailbox.imap_host}:{mailbox.imap_port}: {exc}") from exc
    try:
        conn.login(mailbox.imap_user or mailbox.address, password)
    except (OSError, imaplib.IMAP4.error) as exc:
        _close(conn)
        raise ImapError(f"Login failed: {_text(exc)}") from exc
    return conn


def _text(exc: Exception) -> str:
    value = exc.args[0] if exc.args else exc
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _close(conn: imaplib.IMAP4) -> None:
    with contextlib.suppress(OSError, imaplib.IMAP4.error):
        conn.logout()


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def open_folder(conn: imaplib.IMAP4, folder: str) -> tuple[int, int]:
    """Select the folder read-only: (UIDVALIDITY, number of messages)."""
    try:
        typ, data = conn.select(_quote(folder), readonly=True)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise ImapError(f"Cannot open the folder {folder}: {_text(exc)}") from exc
    if typ != "OK":
        raise ImapError(f"Cannot open the folder {folder}: {_text(Exception(data[0]))}")
    _typ, validity = conn.response("UIDVALIDITY")
    if not validity or validity[0] is None:
        raise ImapError("The server sent no UIDVALIDITY for the folder.")
    return int(validity[0]), int(data[0] or 0)


def new_uids(conn: imaplib.IMAP4, *, last_uid: int, since: datetime | None) -> list[int]:
    """UIDs after ``last_uid``; with ``since`` (a fresh or renumbered folder) those received since then."""
    if since is not None:
        day = (since - timedelta(days=1)).strftime("%d-%b-%Y")
        typ, data = conn.uid("SEARCH", None, "SINCE", day)
    else:
        # "n:*" always matches the last message, even below n: filtered below.
        typ, data = conn.uid("SEARCH", None, "UID", f"{last_uid + 1}:*")
    if typ != "OK":
        raise ImapError(f"Search failed: {data!r}")
    found = sorted({int(uid) for uid in (data[0] or b"").split()})
    return [uid for uid in found if uid > last_uid]


def fetch(conn: imaplib.IMAP4, uids: list[int]) -> Iterator[tuple[int, bytes]]:
    """(uid, raw message) for each UID, ``BATCH`` per round trip, in UID order."""
    for start in range(0, len(uids), BATCH):
        batch = uids[start : start + BATCH]
        typ, data = conn.uid("FETCH", ",".join(map(str, batch)), "(UID BODY.PEEK[])")
        if typ != "OK":
            raise ImapError(f"Fetch failed: {data!r}")
        got: dict[int, bytes] = {}
        for item in data:
            if isinstance(item, tuple) and len(item) == 2:
                found = _UID.search(item[0])
                if found:
                    got[int(found.group(1))] = item[1]
        for uid in batch:
            if uid in got:  # a message expunged meanwhile is simply gone
                yield uid, got[uid]


def check(mailbox) -> tuple[int, int]:
    """Log in and open the folder: (UIDVALIDITY, messages) — the "test connection" button."""
    conn = connect(mailbox)
    try:
        return open_folder(conn, mailbox.folder or "INBOX")
    finally:
        _close(conn)


class Session:
    """``with Session(mailbox) as s:`` — a connection with the folder open, closed on exit."""

    def __init__(self, mailbox) -> None:
        self.mailbox = mailbox

    def __enter__(self) -> "Session":
        self.conn = connect(self.mailbox)
        try:
            self.uid_validity, self.exists = open_folder(self.conn, self.mailbox.folder or "INBOX")
        except ImapError:
            _close(self.conn)
            raise
        return self

    def __exit__(self, *exc) -> None:
        _close(self.conn)
