"""The audit log page (filters, keyset "Load more") and the per-record history partial."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled

from kehu.audit.models import AuditEntry
from kehu.audit.services import record
from kehu.customers.models import Account
from kehu.workspaces.services import create_team, rename_team


def entry_rows(html: str) -> int:
    return len(re.findall(r"<time datetime=", html))


@pytest.fixture
def many_entries(tenant):
    """120 entries in acme with distinct times, and one in another workspace."""
    base = timezone.now() - timedelta(days=1)
    with scopes_disabled():
        AuditEntry.objects.bulk_create(
            AuditEntry(
                workspace=tenant.workspace,
                created_at=base + timedelta(seconds=i),
                action="update",
                object_type="customers.account",
                object_id=str(i),
                actor=tenant.users["sales"],
                actor_label="sales@acme.test",
                changes={"name": [f"old {i}", f"new {i}"]},
            )
            for i in range(120)
        )
    return tenant


def test_log_lists_entries_with_the_field_diff(client, tenant):
    with tenant.scope():
        team = create_team(tenant.actors["admin"], "North")
        rename_team(tenant.actors["admin"], team, "北方")
    client.force_login(tenant.users["admin"])
    html = client.get("/settings/audit/").content.decode()
    assert 'id="audit-table"' in html
    assert re.search(r'<td class="before">North</td><td class="after">北方</td>', html)


def test_log_pages_by_keyset_with_htmx_load_more(client, many_entries):
    client.force_login(many_entries.users["admin"])
    page = client.get("/settings/audit/", {"object_type": "customers.account"}).content.decode()
    assert entry_rows(page) == 50
    more = re.search(r'hx-get="\?([^"]+)"', page).group(1).replace("&amp;", "&")
    assert "object_type=customers.account" in more  # filters survive paging

    seen = set(re.findall(r"new (\d+)<", page))
    pages = 1
    while more:
        response = client.get(f"/settings/audit/?{more}", HTTP_HX_REQUEST="true")
        partial = response.content.decode()
        assert "<html" not in partial  # only rows and the next button
        ids = set(re.findall(r"new (\d+)<", partial))
        assert not ids & seen
        seen |= ids
        pages += 1
        found = re.search(r'hx-get="\?([^"]+)"', partial)
        more = found.group(1).replace("&amp;", "&") if found else None
    assert pages == 3 and seen == {str(i) for i in range(120)}


def test_log_filters_by_action_type_and_actor(client, many_entries):
    tenant = many_entries
    with tenant.scope():
        create_team(tenant.actors["admin"], "Filters")
    client.force_login(tenant.users["admin"])
    query = {"action": "create", "object_type": "workspaces.team"}
    html = client.get("/settings/audit/", query).content.decode()
    assert entry_rows(html) == 1 and "Filters" in html
    html = client.get("/settings/audit/", {"actor": tenant.users["admin"].pk}).content.decode()
    assert "sales@acme.test" not in html.split('id="audit-table"')[1]
    html = client.get("/settings/audit/", {"actor": "not-a-number"}).content.decode()
    assert entry_rows(html) == 50


def test_log_shows_only_this_workspace(client, tenant, other_tenant):
    with other_tenant.scope():
        create_team(other_tenant.actors["admin"], "Globex secret team")
    with scopes_disabled():
        record("login_failed", workspace=None, label="stranger@example.com")
    client.force_login(tenant.users["admin"])
    html = client.get("/settings/audit/").content.decode()
    assert "Globex secret team" not in html and "stranger@example.com" not in html


def test_login_events_appear_in_the_workspace_log(client, tenant):
    client.post("/login/", {"username": "sales@acme.test", "password": "wrong-one"})
    client.force_login(tenant.users["admin"])
    html = client.get("/settings/audit/", {"action": "login_failed"}).content.decode()
    assert entry_rows(html) == 1 and "sales@acme.test" in html


def test_record_history_partial(client, tenant):
    from kehu.audit.services import create_record, update_record

    with tenant.scope():
        account = create_record(tenant.actors["admin"], Account(name="华为", owner=tenant.users["sales"]))
        update_record(tenant.actors["admin"], account, {"city": "深圳", "kind": "individual"})
    client.force_login(tenant.users["admin"])
    response = client.get(f"/settings/audit/record/customers.account/{account.pk}/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert html.count('class="history-item"') == 2
    # Field names and choice values read as the UI shows them, not as stored.
    city_row = r'<th scope="row">City</th><td class="before">.*?</td><td class="after">深圳</td>'
    assert re.search(city_row, html, re.S)
    kind_row = r'<th scope="row">Kind</th><td class="before">Company</td><td class="after">Individual</td>'
    assert re.search(kind_row, html, re.S)
    owner = tenant.users["sales"]
    owner_cell = re.escape(str(owner))
    owner_row = rf'<th scope="row">Owner</th><td class="before">.*?</td><td class="after">{owner_cell}</td>'
    assert re.search(owner_row, html, re.S)  # the person, not their id


def test_record_history_is_admin_only_and_workspace_bound(client, tenant, other_tenant):
    with other_tenant.scope():
        team = create_team(other_tenant.actors["admin"], "Hidden")
    client.force_login(tenant.users["sales"])
    assert client.get(f"/settings/audit/record/workspaces.team/{team.pk}/").status_code == 404
    client.force_login(tenant.users["admin"])
    html = client.get(f"/settings/audit/record/workspaces.team/{team.pk}/").content.decode()
    assert "Hidden" not in html and 'class="history-item"' not in html


def test_audit_log_has_no_write_path(client, tenant):
    client.force_login(tenant.users["admin"])
    with scopes_disabled():
        before = AuditEntry.objects.count()
    assert client.post("/settings/audit/", {"action": "delete"}).status_code == 405
    with scopes_disabled():
        assert AuditEntry.objects.count() == before
