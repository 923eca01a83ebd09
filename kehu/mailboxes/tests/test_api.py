"""/api/v1/mailboxes (administrators only, per workspace) and the raw-MIME webhook /api/v1/mail/inbound."""

import json

import pytest

from kehu.audit.models import AuditEntry
from kehu.mailboxes import credentials
from kehu.mailboxes.models import InboundMail, Mailbox
from kehu.tickets.models import Ticket

from .mails import mime_mail

pytestmark = pytest.mark.django_db

NEW = {
    "name": "售后服务",
    "address": "Service@Acme.test",
    "imap_host": "imap.acme.test",
    "imap_port": 993,
    "imap_user": "service@acme.test",
    "password": "s3cret-imap-pass",
}


def _post(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


def test_admin_creates_lists_changes_and_deletes_a_mailbox_password_never_shown(tenant):
    client = tenant.api_client("admin")
    response = _post(client, "/api/v1/mailboxes", NEW)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["address"] == "service@acme.test" and data["has_password"] is True
    assert "s3cret-imap-pass" not in response.content.decode() and "password" not in data
    with tenant.scope():
        stored = Mailbox.objects.get(pk=data["id"])
        assert stored.imap_password and "s3cret" not in stored.imap_password
        assert credentials.decrypt(stored.imap_password) == "s3cret-imap-pass"
        audit = AuditEntry.objects.get(
            object_type="mailboxes.mailbox", object_id=str(stored.pk), action="create"
        )
        assert "s3cret" not in json.dumps(audit.changes, ensure_ascii=False)

    listed = client.get("/api/v1/mailboxes").json()
    assert [m["id"] for m in listed["items"]] == [data["id"]]
    assert "s3cret" not in json.dumps(listed)

    patched = client.patch(
        f"/api/v1/mailboxes/{data['id']}",
        json.dumps({"folder": "Support", "is_active": False}),
        content_type="application/json",
    )
    assert patched.status_code == 200 and patched.json()["folder"] == "Support"
    with tenant.scope():
        assert credentials.decrypt(Mailbox.objects.get(pk=data["id"]).imap_password) == "s3cret-imap-pass"

    assert client.delete(f"/api/v1/mailboxes/{data['id']}").status_code == 204
    with tenant.scope():
        assert not Mailbox.objects.exists()


def test_validation_errors(tenant):
    client = tenant.api_client("admin")
    _post(client, "/api/v1/mailboxes", NEW)
    response = _post(client, "/api/v1/mailboxes", {**NEW, "imap_port": 0, "mailer": "nope"})
    assert response.status_code == 422
    fields = {d["field"] for d in response.json()["error"]["details"]}
    assert fields == {"address", "imap_port", "mailer"}


@pytest.mark.parametrize("role", ["sales", "service", "manager"])
def test_non_admins_may_not_use_the_mailbox_api(tenant, role):
    with tenant.scope():
        from kehu.mailboxes import services

        mailbox = services.create_mailbox(tenant.actors["owner"], **NEW)
    client = tenant.api_client(role)
    assert client.get("/api/v1/mailboxes").status_code == 403
    assert client.get(f"/api/v1/mailboxes/{mailbox.pk}").status_code == 403
    assert _post(client, "/api/v1/mailboxes", NEW).status_code == 403
    assert client.delete(f"/api/v1/mailboxes/{mailbox.pk}").status_code == 403


def test_another_workspaces_mailbox_is_not_found(tenant, other_tenant):
    with other_tenant.scope():
        from kehu.mailboxes import services

        theirs = services.create_mailbox(other_tenant.actors["owner"], **NEW)
    client = tenant.api_client("admin")
    assert client.get(f"/api/v1/mailboxes/{theirs.pk}").status_code == 404
    assert (
        client.patch(
            f"/api/v1/mailboxes/{theirs.pk}", json.dumps({"name": "x"}), content_type="application/json"
        ).status_code
        == 404
    )
    assert client.post(f"/api/v1/mailboxes/{theirs.pk}/test").status_code == 404
    assert client.post(f"/api/v1/mailboxes/{theirs.pk}/poll").status_code == 404
    assert client.delete(f"/api/v1/mailboxes/{theirs.pk}").status_code == 404
    assert client.get("/api/v1/mailboxes").json()["items"] == []
    # The same address is free in this workspace.
    assert _post(client, "/api/v1/mailboxes", NEW).status_code == 201


def test_test_and_poll_endpoints_against_dovecot(tenant, mailbox, imap_server):
    client = tenant.api_client("admin")
    imap_server.deliver(mailbox.imap_user, mime_mail(to=mailbox.address))
    response = client.post(f"/api/v1/mailboxes/{mailbox.pk}/test")
    assert response.status_code == 200 and "1" in response.json()["message"]
    assert client.post(f"/api/v1/mailboxes/{mailbox.pk}/poll").status_code == 202
    with tenant.scope():
        Mailbox.objects.filter(pk=mailbox.pk).update(imap_password=credentials.encrypt("wrong"))
    failed = client.post(f"/api/v1/mailboxes/{mailbox.pk}/test")
    assert failed.status_code == 422 and "Login failed" in failed.json()["error"]["message"]


def _push(client, raw: bytes, query: str = ""):
    return client.post(f"/api/v1/mail/inbound{query}", raw, content_type="message/rfc822")


def test_webhook_takes_a_raw_mail_in_once(tenant):
    with tenant.scope():
        from kehu.mailboxes import services

        box = services.create_mailbox(tenant.actors["owner"], name="Support", address="support@acme.test")
    client = tenant.api_client("admin")
    raw = mime_mail(to="support@acme.test", message_id="<hook-1@customer.test>")
    first = _push(client, raw)
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["outcome"] == "opened" and body["mailbox_id"] == box.pk and body["ticket_number"]
    with tenant.scope():
        ticket = Ticket.objects.get(pk=body["ticket_id"])
        assert ticket.subject == "订单 1234 的发票问题" and ticket.channel == "email"
    again = _push(client, raw)
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    auto = _push(client, mime_mail(extra_headers={"Auto-Submitted": "auto-replied"}))
    assert auto.status_code == 200 and auto.json()["outcome"] == "auto"
    with tenant.scope():
        assert Ticket.objects.count() == 1 and InboundMail.objects.count() == 3


def test_webhook_needs_the_permission_the_media_type_and_stays_in_the_keys_workspace(tenant, other_tenant):
    raw = mime_mail(message_id="<hook-2@customer.test>")
    assert _push(tenant.api_client("sales"), raw).status_code == 403
    assert _push(tenant.api_client("service"), raw).status_code == 403
    assert (
        tenant.api_client("admin")
        .post("/api/v1/mail/inbound", raw, content_type="application/json")
        .status_code
        == 415
    )
    assert _push(tenant.api_client("admin"), raw, "?mailbox_id=999999").status_code == 404
    assert _push(other_tenant.api_client("owner"), raw).status_code == 201
    with tenant.scope():
        assert not Ticket.objects.exists()
    with other_tenant.scope():
        assert Ticket.objects.count() == 1
