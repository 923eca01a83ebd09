"""Real local mail servers for the mail tests (no mocks), started once per test session.

- ``smtp_server``: aiosmtpd on a free loopback port, keeping every delivered message.
- ``imap_server``: Dovecot (Debian ``dovecot-imapd``; CI installs it) as its own instance from a config
  in a temporary folder: IMAP without TLS on a free loopback port, plain login, users in a passwd file,
  Maildir folders in the temporary folder. Tests deliver mail into it with IMAP APPEND.
"""

import email
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from email import policy
from pathlib import Path

import pytest
from django.test import override_settings

DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot") else None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- SMTP ------------------------------------------------------------------------------------------


class SmtpServer:
    """aiosmtpd's controller with a handler that keeps what it received."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[dict] = []
        self.port = free_port()
        self.fail_next = 0  # answer the next N deliveries with a temporary error (retry tests)
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        if self.fail_next > 0:
            self.fail_next -= 1
            return "451 4.3.0 Try again later"
        raw = envelope.original_content or envelope.content
        self.messages.append(
            {
                "mail_from": envelope.mail_from,
                "rcpt_tos": list(envelope.rcpt_tos),
                "raw": raw,
                "message": email.message_from_bytes(raw, policy=policy.default),
            }
        )
        return "250 Message accepted for delivery"

    def mailers(self) -> dict:
        """A MAILERS setting that delivers to this server."""
        return {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": "127.0.0.1", "port": self.port, "use_tls": False, "timeout": 10},
            }
        }

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages


@pytest.fixture(scope="session")
def smtp_server():
    server = SmtpServer()
    server.controller.start()
    try:
        yield server
    finally:
        server.controller.stop()


@pytest.fixture
def smtp(smtp_server, settings):
    """The session's SMTP server, emptied, as Django's default mailer for this test."""
    smtp_server.messages.clear()
    smtp_server.fail_next = 0
    settings.MAILERS = smtp_server.mailers()
    return smtp_server


# --- IMAP (Dovecot) --------------------------------------------------------------------------------

DOVECOT_CONF = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
{users_line}
mail_location = maildir:~/Maildir
first_valid_uid = {uid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/users
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


class ImapServer:
    """A Dovecot instance of its own: ``add_user`` makes a login, ``deliver`` appends a mail."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.host = "127.0.0.1"
        self.users: dict[str, str] = {}
        if os.geteuid() == 0:
            # As root, Dovecot drops to its own users; mail belongs to an unprivileged account.
            mail_user = pwd.getpwnam("nobody")
            users_line = "default_login_user = dovenull\ndefault_internal_user = dovecot"
        else:
            mail_user = pwd.getpwuid(os.geteuid())
            users_line = (
                f"default_login_user = {mail_user.pw_name}\ndefault_internal_user = {mail_user.pw_name}"
            )
        self.uid, self.gid = mail_user.pw_uid, mail_user.pw_gid
        (root / "mail").mkdir()
        os.chown(root / "mail", self.uid, self.gid)
        (root / "users").write_text("")
        (root / "dovecot.conf").write_text(
            DOVECOT_CONF.format(root=root, port=self.port, users_line=users_line, uid=min(self.uid, 500))
        )

    def start(self) -> None:
        # In the foreground (-F): the process is ours to stop, and it cannot outlive a lost pid file.
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.root / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=(self.root / "stderr.log").open("wb"),
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with socket.create_connection((self.host, self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        stderr = (self.root / "stderr.log").read_text(errors="replace")
        raise RuntimeError(f"Dovecot did not start: {stderr} {self.log()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text() if path.exists() else ""

    def add_users(self, count: int) -> None:
        """Mailbox accounts ``support1@example.test`` … written before the start: Dovecot notices a
        changed passwd file by its modification time, which a fast test run can outpace."""
        lines = []
        for n in range(1, count + 1):
            login, password = f"support{n}@example.test", f"pw-{n}-secret"
            self.users[login] = password
            home = self.root / "mail" / f"support{n}"
            lines.append(f"{login}:{{PLAIN}}{password}:{self.uid}:{self.gid}::{home}\n")
        (self.root / "users").write_text("".join(lines))
        self.unused = list(self.users)

    def connect(self, login: str) -> imaplib.IMAP4:
        conn = imaplib.IMAP4(self.host, self.port, timeout=10)
        conn.login(login, self.users[login])
        return conn

    def deliver(self, login: str, raw: bytes, folder: str = "INBOX") -> None:
        conn = self.connect(login)
        try:
            typ, data = conn.append(folder, None, None, raw)
            assert typ == "OK", data
        finally:
            conn.logout()

    def count(self, login: str, folder: str = "INBOX") -> int:
        conn = self.connect(login)
        try:
            _typ, data = conn.select(folder, readonly=True)
            return int(data[0])
        finally:
            conn.logout()


@pytest.fixture(scope="session")
def imap_server():
    if DOVECOT is None:
        pytest.skip("Dovecot is not installed (apt-get install dovecot-imapd; .ci/run installs it)")
    root = Path(tempfile.mkdtemp(prefix="kehu-dovecot-"))
    root.chmod(0o755)  # Dovecot's own users must reach the config, sockets and mail below it
    server = ImapServer(root)
    server.add_users(500)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def imap_account(imap_server):
    """An IMAP login not used by any test before (its INBOX is empty): ``(login, password)``."""
    login = imap_server.unused.pop(0)
    return login, imap_server.users[login]


# --- Kehu side ------------------------------------------------------------------------------------

IMMEDIATE = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def immediate_tasks():
    from kehu.workspaces.tests.test_tasks import _reset_task_backends

    with override_settings(TASKS=IMMEDIATE):
        _reset_task_backends()
        yield
    _reset_task_backends()


@pytest.fixture
def mailbox(tenant, imap_server, imap_account):
    """An active mailbox of the tenant on the local Dovecot, its login fresh for this test."""
    from kehu.mailboxes import services

    login, password = imap_account
    with tenant.scope():
        return services.create_mailbox(
            tenant.actors["owner"],
            name="Acme 客服",
            address="support@acme.test",
            imap_host=imap_server.host,
            imap_port=imap_server.port,
            imap_ssl=False,
            imap_user=login,
            password=password,
        )


@pytest.fixture
def customer(tenant):
    """Zhang Wei (张伟) of 华东贸易, whose address the mails come from."""
    from kehu.customers import services as customers

    actor = tenant.actors["owner"]
    with tenant.scope():
        account = customers.create_account(actor, name="华东贸易有限公司")
        return customers.create_contact(
            actor, name="张伟", email="zhang.wei@customer.test", account_id=account.pk
        )
