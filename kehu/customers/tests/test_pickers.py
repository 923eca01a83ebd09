"""The record picker: suggestion endpoints (search, access, isolation, limit) and forms taking ids."""

import pytest

from kehu.commerce import services as commerce
from kehu.core.pickers import PICKER_LIMIT, RecordPicker, picker_url
from kehu.customers import services

pytestmark = pytest.mark.django_db


def labels(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [r["label"] for r in response.json()["results"]]


def test_account_suggestions_by_chinese_pinyin_and_initials(tenant):
    owner = tenant.actors["owner"]
    with tenant.scope():
        services.create_account(owner, name="杭州云帆科技有限公司", city="杭州")
        services.create_account(owner, name="上海明远贸易", name_en="Mingyuan Trading")
        services.create_account(owner, name="北京长城", city="北京")
    client = tenant.web_client("owner")
    assert labels(client.get("/accounts/pick/", {"q": "云帆"})) == ["杭州云帆科技有限公司"]
    assert labels(client.get("/accounts/pick/", {"q": "yunfan"})) == ["杭州云帆科技有限公司"]
    assert labels(client.get("/accounts/pick/", {"q": "shmy"})) == ["上海明远贸易"]
    assert labels(client.get("/accounts/pick/", {"q": "Mingyuan"})) == ["上海明远贸易"]
    found = client.get("/accounts/pick/", {"q": "云帆"}).json()["results"][0]
    assert found["detail"] == "杭州" and isinstance(found["id"], int)
    assert len(labels(client.get("/accounts/pick/"))) == 3  # empty query: the first by name


def test_suggestions_are_limited_and_page_by_keyset(tenant, django_assert_max_num_queries):
    owner = tenant.actors["owner"]
    with tenant.scope():
        services.bulk_create_accounts(owner, [{"name": f"客户 {i:02d}"} for i in range(PICKER_LIMIT + 5)])
    client = tenant.web_client("owner")
    first = client.get("/accounts/pick/", {"q": "客户"})
    assert len(labels(first)) == PICKER_LIMIT and first.json()["next"]
    assert labels(first)[:2] == ["客户 00", "客户 01"]
    rest = client.get("/accounts/pick/", {"q": "客户", "cursor": first.json()["next"]})
    assert labels(rest) == [f"客户 {i}" for i in range(20, 25)] and rest.json()["next"] is None
    assert client.get("/accounts/pick/", {"cursor": "garbage"}).status_code == 400
    with django_assert_max_num_queries(8):  # session, user, membership …, then one page query
        client.get("/accounts/pick/", {"q": "客户"})


def test_suggestions_respect_record_access_and_workspaces(tenant, other_tenant, client):
    with tenant.scope():
        own = services.create_account(tenant.actors["sales"], name="云帆 自己的")
        services.create_account(tenant.actors["owner"], name="云帆 别人的")
        services.create_contact(tenant.actors["owner"], name="陈静 别人的", account_id=own.pk)
        services.create_contact(tenant.actors["sales"], name="陈静 自己的", account_id=own.pk)
    with other_tenant.scope():
        services.create_account(other_tenant.actors["owner"], name="云帆 另一个空间")
    assert labels(tenant.web_client("sales").get("/accounts/pick/", {"q": "云帆"})) == ["云帆 自己的"]
    assert labels(tenant.web_client("sales").get("/contacts/pick/", {"q": "陈静"})) == ["陈静 自己的"]
    assert labels(other_tenant.web_client("owner").get("/accounts/pick/", {"q": "云帆"})) == [
        "云帆 另一个空间"
    ]
    assert labels(other_tenant.web_client("owner").get("/contacts/pick/", {"account": own.pk})) == []
    assert client.get("/accounts/pick/").status_code == 302  # not logged in: to the login page


def test_contact_suggestions_narrow_to_an_account(tenant):
    owner = tenant.actors["owner"]
    with tenant.scope():
        yunfan = services.create_account(owner, name="云帆")
        other = services.create_account(owner, name="长城")
        services.create_contact(owner, name="陈静", account_id=yunfan.pk, job_title="采购")
        services.create_contact(owner, name="陈明", account_id=other.pk)
    client = tenant.web_client("owner")
    assert labels(client.get("/contacts/pick/", {"q": "陈"})) == ["陈明", "陈静"]  # by name
    narrowed = client.get("/contacts/pick/", {"q": "chen", "account": yunfan.pk}).json()["results"]
    assert [(r["label"], r["detail"]) for r in narrowed] == [("陈静", "采购 · 云帆")]


def test_product_suggestions(tenant, other_tenant):
    with tenant.scope():
        commerce.create_product(tenant.actors["owner"], sku="TEA-01", name="龙井茶", unit_price="88")
        commerce.create_product(tenant.actors["owner"], sku="TEA-02", name="旧茶", active=False)
    assert labels(tenant.web_client("sales").get("/products/pick/", {"q": "茶"})) == ["龙井茶 · TEA-01"]
    assert labels(tenant.web_client("sales").get("/products/pick/", {"q": "tea-01"})) == ["龙井茶 · TEA-01"]
    assert labels(other_tenant.web_client("owner").get("/products/pick/", {"q": "茶"})) == []


def test_picker_urls_follow_the_naming_convention():
    assert picker_url("customers.account") == "/accounts/pick/"
    assert picker_url("commerce.product") == "/products/pick/"
    assert picker_url("customers.nothing") is None


def test_widget_takes_the_id_and_flags_a_name_typed_without_picking():
    widget = RecordPicker()
    assert widget.value_from_datadict({"a": "12", "a__text": "云帆", "a__shown": "云帆"}, {}, "a") == "12"
    assert widget.value_from_datadict({"a": "", "a__text": "云帆", "a__shown": ""}, {}, "a") == "云帆"
    # Without JavaScript the search box is hidden: its unchanged label does not count.
    assert widget.value_from_datadict({"a": "", "a__text": "云帆", "a__shown": "云帆"}, {}, "a") == ""


def test_contact_form_with_a_bad_account_id_gets_a_field_error(tenant, other_tenant):
    with other_tenant.scope():
        foreign = services.create_account(other_tenant.actors["owner"], name="别人的客户")
    with tenant.scope():
        hidden = services.create_account(tenant.actors["owner"], name="不给销售看")
        mine = services.create_account(tenant.actors["sales"], name="云帆")
    client = tenant.web_client("sales")
    for bad in (foreign.pk, hidden.pk, 999999):
        response = client.post("/contacts/new/", {"name": "陈静", "account_id": str(bad)})
        assert response.status_code == 200
        assert f"There is no record number {bad} that you may choose." in response.content.decode()
    typed = client.post("/contacts/new/", {"name": "陈静", "account_id": "", "account_id__text": "云帆"})
    assert "is not a choice" in typed.content.decode()
    saved = client.post("/contacts/new/", {"name": "陈静", "account_id": str(mine.pk)})
    assert saved.status_code == 302
    with tenant.scope():
        assert services.relations_of(mine.contacts.get())[0]["account_id"] == mine.pk


def test_forms_render_the_current_choice_by_name(tenant):
    with tenant.scope():
        parent = services.create_account(tenant.actors["owner"], name="集团总部")
        child = services.create_account(tenant.actors["owner"], name="分公司", parent_id=parent.pk)
    page = tenant.web_client("owner").get(f"/accounts/{child.pk}/edit/").content.decode()
    assert 'value="集团总部"' in page and f'value="{parent.pk}"' in page
    assert f"/accounts/pick/?exclude={child.pk}" in page


def test_a_picked_accounts_name_is_looked_up_per_form_never_cached_across_requests(tenant, other_tenant):
    """The label cache belongs to one form: a rename shows at once, and a member of another workspace
    who posts the id of a record they cannot see never gets its name back."""
    owner = tenant.actors["owner"]
    with tenant.scope():
        account = services.create_account(owner, name="杭州云帆科技有限公司")
    client = tenant.web_client("owner")
    assert "杭州云帆科技有限公司" in client.get(f"/contacts/new/?account_id={account.pk}").content.decode()
    with tenant.scope():
        services.update_account(owner, account, name="杭州云帆智能")
    page = client.get(f"/contacts/new/?account_id={account.pk}").content.decode()
    assert 'value="杭州云帆智能"' in page and "杭州云帆科技有限公司" not in page
    stranger = other_tenant.web_client("owner").get(f"/contacts/new/?account_id={account.pk}")
    assert "杭州云帆智能" not in stranger.content.decode()
