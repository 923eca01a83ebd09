"""Account and contact pages through the Django test client: forms, errors, access, isolation."""

import pytest
from django_scopes import scope

from kehu.customers import services
from kehu.customers.models import Account, Contact

pytestmark = pytest.mark.django_db


def test_create_account_then_contact_from_its_page(tenant):
    client = tenant.web_client("sales")
    response = client.post(
        "/accounts/new/",
        {
            "name": "北京华信咨询",
            "kind": "company",
            "status": "active",
            "phone": "010 6552 8888",
            "owner_id": tenant.users["sales"].pk,
        },
    )
    with tenant.scope():
        account = Account.objects.get(name="北京华信咨询")
    assert response.status_code == 302 and response.url == f"/accounts/{account.pk}/"
    assert account.phone == "+861065528888"
    page = client.get(response.url)
    assert "北京华信咨询" in page.content.decode() and "010 6552 8888" in page.content.decode()

    form = client.get(f"/contacts/new/?account_id={account.pk}")
    # The account picker comes filled in: the id to post and the name in the search box.
    assert f'name="account_id" value="{account.pk}"' in form.content.decode()
    assert 'name="account_id__text" value="北京华信咨询"' in form.content.decode()
    client.post("/contacts/new/", {"name": "张伟", "account_id": account.pk, "email": "ZHANG@hx.cn"})
    with tenant.scope():
        contact = Contact.objects.get(name="张伟")
    assert contact.account == account and contact.email == "zhang@hx.cn"
    assert "张伟" in client.get(f"/accounts/{account.pk}/").content.decode()


def test_invalid_phone_is_shown_next_to_the_field_and_nothing_saved(tenant):
    client = tenant.web_client("sales")
    response = client.post("/contacts/new/", {"name": "Bad phone", "phone": "12345"})
    assert response.status_code == 200
    assert response.context["form"].errors["phone"]
    with tenant.scope():
        assert not Contact.objects.filter(name="Bad phone").exists()


def test_list_search_and_load_more(tenant):
    with tenant.scope():
        for i in range(55):
            services.create_account(tenant.actors["owner"], name=f"Company {i:02d}")
        services.create_account(tenant.actors["owner"], name="深圳云帆科技")
    client = tenant.web_client("owner")
    first = client.get("/accounts/")
    assert len(first.context["rows"]) == 50 and first.context["next_cursor"]
    more = client.get("/accounts/", {"cursor": first.context["next_cursor"]}, HTTP_HX_REQUEST="true")
    assert len(more.context["rows"]) == 6
    assert "<html" not in more.content.decode()  # a partial for htmx
    found = client.get("/accounts/", {"q": "云帆"})
    assert [a.name for a in found.context["rows"]] == ["深圳云帆科技"]


def test_other_peoples_and_other_workspaces_records_are_404(tenant, other_tenant):
    with tenant.scope():
        owners = services.create_account(tenant.actors["owner"], name="Owner's")
    with scope(workspace=other_tenant.workspace):
        foreign = services.create_account(other_tenant.actors["owner"], name="Globex only")
    sales = tenant.web_client("sales")
    for url in (
        f"/accounts/{owners.pk}/",
        f"/accounts/{owners.pk}/edit/",
        f"/accounts/{foreign.pk}/",
        f"/accounts/{foreign.pk}/delete/",
    ):
        assert sales.get(url).status_code == 404, url
    assert "Globex only" not in tenant.web_client("owner").get("/accounts/?q=Globex").content.decode()


def test_readonly_sees_no_create_button_and_cannot_post(tenant):
    client = tenant.web_client("readonly")
    assert 'id="account-new"' not in client.get("/accounts/").content.decode()
    assert client.post("/accounts/new/", {"name": "x", "kind": "company"}).status_code == 403


def test_delete_needs_confirmation(tenant):
    with tenant.scope():
        account = services.create_account(tenant.actors["owner"], name="To delete")
    client = tenant.web_client("owner")
    assert client.get(f"/accounts/{account.pk}/delete/").status_code == 200
    with tenant.scope():
        assert Account.objects.filter(pk=account.pk).exists()
    assert client.post(f"/accounts/{account.pk}/delete/").status_code == 302
    with tenant.scope():
        assert not Account.objects.filter(pk=account.pk).exists()


def test_export_respects_record_access_and_is_audited(tenant):
    from kehu.audit.models import AuditEntry

    with tenant.scope():
        services.create_account(tenant.actors["owner"], name="Visible to all", city="上海")
        services.create_account(tenant.actors["manager"], name="Manager's")
    response = tenant.web_client("marketing").get("/accounts/export.csv", {"q": "Visible"})
    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].startswith("id,name,name_en,kind")
    assert len(lines) == 2 and "Visible to all" in lines[1] and "上海" in lines[1]
    with tenant.scope():
        entry = AuditEntry.objects.get(action="export")
    assert entry.actor == tenant.users["marketing"] and entry.changes["filter"] == "Visible"
    assert tenant.web_client("sales").get("/accounts/export.csv").status_code == 403


def test_detail_shows_every_phone_tags_and_relations_and_list_filters_by_tag(tenant):
    actor = tenant.actors["owner"]
    with tenant.scope():
        account = services.create_account(
            actor,
            name="Tagged Co",
            tags=["VIP"],
            phones=[{"value": "010 6552 8888"}, {"value": "139 1234 5678", "label": "mobile"}],
        )
        services.create_account(actor, name="Plain Co")
        services.create_contact(
            actor, name="Rel Person", accounts=[{"account_id": account.pk, "role": "decision_maker"}]
        )
    client = tenant.web_client("owner")
    html = client.get(f"/accounts/{account.pk}/").content.decode()
    assert "010 6552 8888" in html and "139 1234 5678" in html and ">VIP</a>" in html
    assert "Rel Person" in html
    listed = client.get("/accounts/", {"tag": "VIP"})
    assert [a.name for a in listed.context["rows"]] == ["Tagged Co"]
    edit = client.get(f"/accounts/{account.pk}/edit/")
    assert 'value="VIP"' in edit.content.decode()
