"""The mailbox password at rest: encrypted with a key derived from the server's SECRET_KEY.

The password must be usable (IMAP login), so it cannot be hashed; Fernet (AES-128-CBC + HMAC-SHA256)
keeps it unreadable in the database, in backups and in workspace exports, which never hold the key.
Rotating SECRET_KEY makes stored passwords unreadable: the mailbox then reports it and an
administrator enters the password again.
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


class PasswordUnreadable(Exception):
    """The stored password was encrypted with another SECRET_KEY."""


def _fernet() -> Fernet:
    digest = hashlib.sha256(b"kehu.mailboxes.imap-password:" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt(password: str) -> str:
    return _fernet().encrypt(password.encode()).decode() if password else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise PasswordUnreadable() from None
