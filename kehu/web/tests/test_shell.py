"""The page shell: layout, workspace switcher, search page, home counts, security headers."""

import re

import pytest
from django_scopes import scope, scopes_disabled

from kehu.customers.models import Account
from kehu.workspaces.middleware import SESSION_KEY
from kehu.workspaces.models import Membership, Role


@pytest.fixture
def two_workspaces(tenant, other_tenant):
    """The acme sales user is also a read-only member of globex."""
    with scopes_disabled(), scope(workspace=other_tenant.workspace):
        Membership.objects.create(
            workspace=other_tenant.workspace,
            user=tenant.users["sales"],
            role=Role.objects.get(key="readonly"),
        )
    return tenant, other_tenant


def test_home_shows_the_shell_and_the_workspace(client, tenant):
    client.force_login(tenant.users["admin"])
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert tenant.workspace.name in html
    for element_id in ("sidebar", "drawer-toggle", "workspace-switcher", "workspace-select", "global-search",
                       "language-switch", "language-select", "notifications", "user-menu", "logout-form"):
        assert f'id="{element_id}"' in html, element_id
    assert 'href="/accounts/"' in html and 'href="/contacts/"' in html
    assert "/static/kehu/kehu.css" in html and "htmx" in html
    # Settings navigation for administrators.
    assert 'href="/settings/members/"' in html and 'href="/settings/audit/"' in html


def test_sales_user_sees_no_settings_navigation(client, tenant):
    client.force_login(tenant.users["sales"])
    html = client.get("/").content.decode()
    assert 'href="/settings/members/"' not in html
    assert 'href="/settings/audit/"' not in html


def test_home_counts_only_visible_records(client, tenant):
    with tenant.scope():
        Account.objects.create(workspace=tenant.workspace, name="Mine", owner=tenant.users["sales"])
        Account.objects.create(workspace=tenant.workspace, name="Theirs", owner=tenant.users["admin"])
    client.force_login(tenant.users["sales"])
    html = client.get("/").content.decode()
    assert re.search(r'id="count-accounts">1<', html)
    assert re.search(r'id="count-members">7<', html)
    client.force_login(tenant.users["admin"])
    assert re.search(r'id="count-accounts">2<', client.get("/").content.decode())


def test_user_without_workspace_gets_a_friendly_page(client, make_user):
    client.force_login(make_user("lonely@example.com"))
    response = client.get("/")
    assert response.status_code == 200
    assert 'id="workspace-switcher"' not in response.content.decode()


def test_switcher_lists_memberships_and_switches(client, two_workspaces):
    acme, globex = two_workspaces
    client.force_login(acme.users["sales"])
    html = client.get("/").content.decode()
    assert f'value="{acme.workspace.pk}" selected' in html
    assert f'value="{globex.workspace.pk}"' in html

    response = client.post("/workspace/switch/", {"workspace": globex.workspace.pk})
    assert response.status_code == 302 and response.url == "/"
    assert client.session[SESSION_KEY] == globex.workspace.pk
    html = client.get("/").content.decode()
    assert f'value="{globex.workspace.pk}" selected' in html
    assert "Globex" in html


def test_cannot_switch_to_a_workspace_one_is_not_in(client, tenant, other_tenant):
    client.force_login(tenant.users["sales"])
    response = client.post("/workspace/switch/", {"workspace": other_tenant.workspace.pk})
    assert response.status_code == 404
    assert SESSION_KEY not in client.session
    assert client.post("/workspace/switch/", {"workspace": "999999"}).status_code == 404
    assert client.post("/workspace/switch/", {"workspace": "nope"}).status_code == 404
    assert client.get("/workspace/switch/").status_code == 405


def test_deactivated_membership_cannot_be_switched_to(client, two_workspaces):
    acme, globex = two_workspaces
    with scopes_disabled():
        membership = Membership.objects.filter(workspace=globex.workspace, user=acme.users["sales"])
        membership.update(is_active=False)
    client.force_login(acme.users["sales"])
    assert client.post("/workspace/switch/", {"workspace": globex.workspace.pk}).status_code == 404


def test_switch_requires_csrf(tenant, two_workspaces):
    from django.test import Client

    acme, globex = two_workspaces
    client = Client(enforce_csrf_checks=True)
    client.force_login(acme.users["sales"])
    assert client.post("/workspace/switch/", {"workspace": globex.workspace.pk}).status_code == 403


def test_search_page_keeps_the_query(client, tenant):
    client.force_login(tenant.users["sales"])
    response = client.get("/search/", {"q": "王伟 <b>"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "王伟 &lt;b&gt;" in html and "<b>" not in html.split('id="main"')[1]


def test_messages_render_as_toasts(client, tenant):
    client.force_login(tenant.users["admin"])
    response = client.post("/settings/teams/", {"name": "North"}, follow=True)
    assert 'class="toast toast-success"' in response.content.decode()


def test_content_security_policy_with_a_nonce_on_htmx(client, tenant):
    client.force_login(tenant.users["sales"])
    response = client.get("/")
    policy = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert f'nonce="{nonce}"' in response.content.decode()


def test_every_form_on_the_shell_carries_a_csrf_token(client, tenant):
    client.force_login(tenant.users["admin"])
    html = client.get("/").content.decode()
    post_forms = re.findall(r'<form[^>]*method="post".*?</form>', html, re.S)
    assert len(post_forms) >= 3
    assert all("csrfmiddlewaretoken" in form for form in post_forms)


def test_api_key_cannot_open_the_web_pages(client, tenant):
    from kehu.workspaces.services import create_api_key

    with tenant.scope():
        _key, raw = create_api_key(tenant.actors["admin"], "robot")
    response = client.get("/settings/members/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 404


def test_missing_and_forbidden_pages_look_the_same(client, tenant):
    client.force_login(tenant.users["sales"])
    forbidden = client.get("/settings/members/")
    missing = client.get("/settings/no-such-page/")
    assert forbidden.status_code == missing.status_code == 404
    # The page body is identical (only the CSRF token and the language form's "next" differ).
    main = lambda response: response.content.decode().split('id="main">')[1].split("</main>")[0]  # noqa: E731
    assert main(forbidden) == main(missing)
    assert 'name="viewport"' in forbidden.content.decode()


def test_global_search_finds_visible_accounts_and_contacts(client, tenant, other_tenant):
    from django_scopes import scope

    from kehu.customers import services

    with tenant.scope():
        mine = services.create_account(tenant.actors["sales"], name="王伟贸易")
        services.create_account(tenant.actors["owner"], name="王伟科技")  # not the sales user's
        contact = services.create_contact(tenant.actors["sales"], name="王伟", phone="13800138000")
    with scope(workspace=other_tenant.workspace):
        services.create_account(other_tenant.actors["owner"], name="王伟 Globex")
    client.force_login(tenant.users["sales"])
    by_name = client.get("/search/", {"q": "王伟"})
    assert by_name.context["results"]["accounts"] == [mine]
    assert by_name.context["results"]["contacts"] == [contact]
    by_phone = client.get("/search/", {"q": "138-0013-8000"})
    assert by_phone.context["results"]["contacts"] == [contact]
