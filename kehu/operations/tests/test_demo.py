"""The demo seed, and ``kehu demo`` end to end in a subprocess on a temporary data directory."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import phonenumbers
import pytest
from django.urls import NoReverseMatch, reverse
from django_scopes import scope, scopes_disabled

from kehu.audit.models import AuditEntry
from kehu.customers.models import Account, Contact
from kehu.operations import demo
from kehu.users.models import User
from kehu.workspaces.access import visible
from kehu.workspaces.models import Membership, Team, Workspace
from kehu.workspaces.services import actor_for

HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def seeded(db):
    assert demo.seed() is True
    return Workspace.objects.get(slug=demo.DEMO_SLUG)


def test_seed_builds_a_realistic_workspace(seeded):
    with scope(workspace=seeded):
        accounts, contacts = list(Account.objects.all()), list(Contact.objects.select_related("account"))
        roles = set(Membership.objects.values_list("role__key", flat=True))
        teams = set(Team.objects.values_list("name", flat=True))
    assert roles == {"owner", "admin", "manager", "sales", "marketing", "service", "readonly"}
    assert teams == {"华东销售", "Key accounts", "客服一线"}  # the last: the tickets demo's service queue
    assert len(accounts) == 40 and len(contacts) == 120
    assert {a.kind for a in accounts} == {"company", "individual"}
    # Chinese and English companies and people.
    assert sum(bool(HAN.search(a.name)) for a in accounts) >= 20
    assert sum(a.name.isascii() for a in accounts) >= 8
    assert sum(bool(HAN.search(c.name)) for c in contacts) >= 50
    assert sum(c.name.isascii() for c in contacts) >= 20
    # Every phone is valid E.164; Chinese and North American numbers both appear.
    phones = [r.phone for r in accounts + contacts if r.phone]
    assert len(phones) == 160
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(p)) for p in phones)
    assert any(p.startswith("+86") for p in phones) and any(p.startswith("+1") for p in phones)
    emails = [c.email for c in contacts]
    assert all("@" in e for e in emails) and len(set(emails)) == len(emails)
    assert all(c.account_id and c.job_title for c in contacts)
    # Owners are spread over the sellers, and every record has a team.
    owners = {User.objects.get(pk=a.owner_id).email for a in accounts}
    assert owners == {"sales@demo.kehu", "sales2@demo.kehu", "manager@demo.kehu"}
    assert all(a.team_id for a in accounts)


def test_seed_goes_through_services_so_it_is_audited(seeded):
    with scopes_disabled():
        created = AuditEntry.objects.filter(workspace=seeded, action=AuditEntry.Action.CREATE)
        assert created.filter(object_type="customers.account").count() == 40
        assert created.filter(object_type="customers.contact").count() == 120
        sample = created.filter(object_type="customers.account").first()
    assert sample.actor is not None and sample.changes["name"][1]


def test_demo_logins_work_and_record_rules_apply(seeded):
    for email, password, role, _workspaces in demo.demo_logins():
        user = User.objects.get(email=email)
        assert user.check_password(password), email
        with scope(workspace=seeded):
            assert actor_for(user, seeded).role.key == role
    with scope(workspace=seeded):
        sales = actor_for(User.objects.get(email="sales@demo.kehu"), seeded)
        mine = visible(sales, Account.objects.all())
        assert 0 < mine.count() < Account.objects.count()
        assert set(mine.values_list("owner_id", flat=True)) == {sales.user.pk}


def test_owner_belongs_to_two_workspaces_that_stay_apart(seeded):
    owner = User.objects.get(email="owner@demo.kehu")
    with scopes_disabled():
        slugs = set(Membership.objects.filter(user=owner).values_list("workspace__slug", flat=True))
    assert slugs == {demo.DEMO_SLUG, demo.GLOBEX_SLUG}
    globex = Workspace.objects.get(slug=demo.GLOBEX_SLUG)
    with scope(workspace=globex):
        names = set(Account.objects.values_list("name", flat=True))
        assert names == {c[0] for c in demo.GLOBEX_COMPANIES}
        assert Contact.objects.count() == 10
    assert globex.base_currency == "USD"


def test_seed_is_idempotent(seeded):
    with scopes_disabled():
        before = (User.objects.count(), Account.objects.count(), Contact.objects.count(),
                  AuditEntry.objects.count(), Workspace.objects.count())
        assert demo.seed() is False
        after = (User.objects.count(), Account.objects.count(), Contact.objects.count(),
                 AuditEntry.objects.count(), Workspace.objects.count())
    assert before == after


# --- `kehu demo` in a subprocess ---------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _kehu_command() -> list[str]:
    script = Path(sys.executable).with_name("kehu")
    return [str(script)] if script.exists() else [sys.executable, "-m", "kehu.cli"]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _start_demo(data_dir: Path, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("KEHU_") and k != "DJANGO_SETTINGS_MODULE"}
    env.update(KEHU_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [*_kehu_command(), "demo", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,  # our own process group, so the test can stop everything it started
    )


def _wait_healthy(process: subprocess.Popen, base: str, timeout: float = 180) -> None:
    # A first start migrates ~20 apps and seeds every domain's demo records (≈ 30 s on an idle
    # 2-core machine, 85 s measured under other suites' load): the limit catches a hang, not slowness.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError("kehu demo exited early:\n" + process.stdout.read())
        try:
            if _get(base + "/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"kehu demo did not answer /healthz within {timeout}s")


def _stop(process: subprocess.Popen) -> str:
    """Ctrl-C as a terminal sends it (to the whole group), then collect the output."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
    try:
        output, _ = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        raise AssertionError("kehu demo did not stop on Ctrl-C:\n" + output) from None
    return output


@pytest.mark.django_db
def test_kehu_demo_serves_and_stops_cleanly(tmp_path):
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    try:
        login_path = reverse("users:login")
    except NoReverseMatch:
        login_path = None

    process = _start_demo(tmp_path, port)
    try:
        _wait_healthy(process, base)
        status, body = _get(base + "/healthz")
        assert status == 200 and '"ok"' in body
        if login_path:
            status, body = _get(base + login_path)
            assert status == 200 and "<form" in body
    finally:
        output = _stop(process)
    assert process.returncode == 0, output
    assert f"http://127.0.0.1:{port}/" in output
    assert "owner@demo.kehu" in output and demo.DEMO_PASSWORD in output
    assert (tmp_path / "kehu.sqlite3").exists()
    # The worker child went down with it: nothing is left in the process group.
    with pytest.raises(ProcessLookupError):
        os.killpg(process.pid, 0)

    # A second run reuses the data instead of seeding again.
    process = _start_demo(tmp_path, port)
    try:
        _wait_healthy(process, base)
    finally:
        output = _stop(process)
    assert "Seeding" not in output and "--reset" in output
