"""Mailbox settings pages: administrators only, the password never rendered back."""

import pytest

from kehu.mailboxes import credentials
from kehu.mailboxes.models import Mailbox

pytestmark = pytest.mark.django_db

FORM = {
    "name": "Acme 客服",
    "address": "support@acme.test",
    "imap_host": "imap.acme.test",
    "imap_port": "993",
    "imap_ssl": "on",
    "imap_user": "",
    "password": "page-secret-pw",
    "folder": "INBOX",
    "is_active": "on",
    "default_team": "",
    "default_category": "",
    "mailer": "default",
}


def test_admin_adds_and_edits_a_mailbox_and_the_password_stays_hidden(tenant):
    client = tenant.web_client("admin")
    assert client.get("/settings/mailboxes/").status_code == 200
    assert client.get("/settings/mailboxes/new/").status_code == 200
    response = client.post("/settings/mailboxes/new/", FORM)
    assert response.status_code == 302
    with tenant.scope():
        mailbox = Mailbox.objects.get()
    assert credentials.decrypt(mailbox.imap_password) == "page-secret-pw"

    page = client.get(f"/settings/mailboxes/{mailbox.pk}/").content.decode()
    assert "page-secret-pw" not in page and mailbox.imap_password not in page
    assert "Leave empty to keep it" in page
    listing = client.get("/settings/mailboxes/").content.decode()
    assert "support@acme.test" in listing and "page-secret-pw" not in listing

    # Saving with an empty password keeps the stored one.
    client.post(f"/settings/mailboxes/{mailbox.pk}/", {**FORM, "password": "", "folder": "Support"})
    with tenant.scope():
        mailbox.refresh_from_db()
    assert mailbox.folder == "Support" and credentials.decrypt(mailbox.imap_password) == "page-secret-pw"


def test_a_duplicate_address_shows_on_the_field(tenant):
    client = tenant.web_client("admin")
    client.post("/settings/mailboxes/new/", FORM)
    response = client.post("/settings/mailboxes/new/", FORM)
    assert response.status_code == 200
    assert "Another mailbox already has this address." in response.content.decode()


def test_test_connection_and_poll_buttons(tenant, mailbox, imap_server):
    client = tenant.web_client("admin")
    response = client.post(f"/settings/mailboxes/{mailbox.pk}/test/", follow=True)
    assert "Connected" in response.content.decode()
    response = client.post(f"/settings/mailboxes/{mailbox.pk}/poll/", follow=True)
    assert "checked for new mail" in response.content.decode()


def test_delete(tenant, mailbox):
    client = tenant.web_client("admin")
    assert client.get(f"/settings/mailboxes/{mailbox.pk}/delete/").status_code == 200
    assert client.post(f"/settings/mailboxes/{mailbox.pk}/delete/").status_code == 302
    with tenant.scope():
        assert not Mailbox.objects.exists()


@pytest.mark.parametrize("role", ["sales", "service", "manager"])
def test_pages_are_not_found_for_non_admins(tenant, mailbox, role):
    client = tenant.web_client(role)
    for path in ("", "new/", f"{mailbox.pk}/", f"{mailbox.pk}/delete/"):
        assert client.get(f"/settings/mailboxes/{path}").status_code == 404
    assert client.post(f"/settings/mailboxes/{mailbox.pk}/poll/").status_code == 404


def test_another_workspaces_mailbox_is_not_found(tenant, other_tenant):
    with other_tenant.scope():
        from kehu.mailboxes import services

        theirs = services.create_mailbox(other_tenant.actors["owner"], name="G", address="g@globex.test")
    client = tenant.web_client("admin")
    assert client.get(f"/settings/mailboxes/{theirs.pk}/").status_code == 404
    assert client.post(f"/settings/mailboxes/{theirs.pk}/test/").status_code == 404


def test_list_page_query_count_does_not_grow(tenant):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from kehu.mailboxes import services
    from kehu.workspaces.models import Team

    def add(numbers):
        with tenant.scope():
            team = Team.objects.create(workspace=tenant.workspace, name=f"Queue {numbers[0]}")
            for n in numbers:
                services.create_mailbox(
                    tenant.actors["owner"], name=f"Box {n}", address=f"box{n}@acme.test", default_team=team.pk
                )

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            page = client.get("/settings/mailboxes/")
        assert page.status_code == 200
        return len(ctx.captured_queries)

    client = tenant.web_client("admin")
    add([0])
    client.get("/settings/mailboxes/")  # warm per-process caches
    one = queries()
    add([1, 2, 3, 4])  # each with its default queue shown
    assert queries() == one
