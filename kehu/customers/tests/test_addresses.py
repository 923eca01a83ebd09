"""Addresses of accounts and contacts: services (validation, primary mirrored on the account,
audit), the nested API lists, and the htmx card on the record pages."""

import pytest

from kehu.audit.models import AuditEntry
from kehu.core.errors import PermissionDenied, ValidationFailed
from kehu.customers import services
from kehu.customers.models import Account, Address

pytestmark = pytest.mark.django_db

SHANGHAI = {
    "kind": "office",
    "country": "cn",
    "province": "上海",
    "city": "上海",
    "district": "浦东新区",
    "street": "世纪大道 100 号",
    "postcode": "200120",
}
BEIJING = {"kind": "billing", "country": "CN", "city": "北京", "street": "长安街 1 号", "postcode": "100000"}


def fields(errors: ValidationFailed) -> dict[str, str]:
    return {d.field: d.code for d in errors.details}


def rows(record) -> list[tuple]:
    return list(
        Address.objects.filter(account=record)
        .order_by("-is_primary", "id")
        .values_list("kind", "city", "is_primary")
    )


# --- services ------------------------------------------------------------------------------------


def test_main_address_fields_make_the_primary_address(tenant):
    owner = tenant.actors["owner"]
    with tenant.scope():
        account = services.create_account(owner, name="云帆", city="杭州", postcode="310000", country="cn")
        assert rows(account) == [("office", "杭州", True)]
        assert account.country == "CN"
        services.update_account(owner, account, city="宁波")
        assert rows(account) == [("office", "宁波", True)]
        # Clearing the main address removes the primary; with no other address there is none.
        services.update_account(owner, account, country="", city="", postcode="")
        assert rows(account) == []


def test_primary_is_mirrored_on_the_account_and_moves(tenant):
    owner = tenant.actors["owner"]
    with tenant.scope():
        account = services.create_account(owner, name="云帆", addresses=[SHANGHAI, BEIJING])
        account.refresh_from_db()
        assert (account.city, account.district, account.country) == ("上海", "浦东新区", "CN")
        assert rows(account) == [("office", "上海", True), ("billing", "北京", False)]

        billing = Address.objects.get(account=account, kind="billing")
        services.change_address(owner, billing, **{**BEIJING, "is_primary": True})
        account.refresh_from_db()
        assert (account.city, account.district, account.postcode) == ("北京", "", "100000")
        assert rows(account) == [("billing", "北京", True), ("office", "上海", False)]

        services.remove_address(owner, billing)
        account.refresh_from_db()
        assert rows(account) == [("office", "上海", True)]
        assert account.city == "上海"

        added = services.add_address(owner, account, kind="shipping", city="苏州", country="CN")
        assert added.kind == "shipping" and not added.is_primary
        assert Account.objects.filter(city="上海", pk=account.pk).exists()


def test_api_style_list_keeps_ids_and_replaces_the_rest(tenant):
    owner = tenant.actors["owner"]
    with tenant.scope():
        account = services.create_account(owner, name="云帆", addresses=[SHANGHAI, BEIJING])
        first, second = services.addresses_of(account)
        services.update_account(
            owner,
            account,
            addresses=[{**first, "street": "世纪大道 200 号"}, {"city": "深圳", "kind": "shipping"}],
        )
        after = services.addresses_of(account)
        assert after[0]["id"] == first["id"] and after[0]["street"] == "世纪大道 200 号"
        assert second["id"] not in {a["id"] for a in after}
        assert [a["city"] for a in after] == ["上海", "深圳"]
        entry = AuditEntry.objects.filter(object_type="customers.account", object_id=str(account.pk)).latest(
            "id"
        )
        assert "addresses" in entry.changes


def test_each_bad_field_is_reported(tenant):
    owner = tenant.actors["owner"]
    with tenant.scope():
        with pytest.raises(ValidationFailed) as failed:
            services.create_account(
                owner,
                name="Bad",
                addresses=[
                    {"country": "ZZ", "city": "x"},
                    {"country": "CN", "city": "上海", "postcode": "12345"},
                    {"kind": "palace", "city": "x"},
                    {"kind": "office"},
                    {"city": "x" * 101},
                ],
            )
        assert fields(failed.value) == {
            "addresses.0.country": "invalid",
            "addresses.1.postcode": "invalid",
            "addresses.2.kind": "invalid_choice",
            "addresses.3.city": "required",
            "addresses.4.city": "max_length",
        }
        # The main fields have the same rules, and the country of a PATCH comes from the record.
        account = services.create_account(owner, name="Good", country="US", postcode="94105")
        with pytest.raises(ValidationFailed) as failed:
            services.update_account(owner, account, postcode="SW1A 1AA")
        assert fields(failed.value) == {"postcode": "invalid"}
        assert Account.objects.filter(name="Bad").count() == 0


def test_ids_of_other_records_are_unknown(tenant):
    owner = tenant.actors["owner"]
    with tenant.scope():
        one = services.create_account(owner, name="One", city="上海")
        two = services.create_account(owner, name="Two", city="北京")
        foreign = services.addresses_of(one)[0]
        with pytest.raises(ValidationFailed) as failed:
            services.update_account(owner, two, addresses=[foreign])
        assert fields(failed.value) == {"addresses.0.id": "invalid"}


def test_changing_addresses_needs_change_permission(tenant):
    with tenant.scope():
        account = services.create_account(tenant.actors["owner"], name="云帆", city="上海")
        with pytest.raises(PermissionDenied):
            services.add_address(tenant.actors["readonly"], account, city="北京")
        assert len(services.addresses_of(account)) == 1


def test_contacts_have_addresses_without_mirroring(tenant):
    owner = tenant.actors["owner"]
    with tenant.scope():
        contact = services.create_contact(owner, name="陈静", addresses=[{**BEIJING, "kind": "home"}])
        assert [(a["kind"], a["is_primary"]) for a in services.addresses_of(contact)] == [("home", True)]


def test_bulk_create_writes_primary_addresses(tenant):
    owner = tenant.actors["owner"]
    with tenant.scope():
        made = services.bulk_create_accounts(
            owner,
            [{"name": "A", "city": "上海"}, {"name": "B", "addresses": [SHANGHAI, BEIJING]}, {"name": "C"}],
        )
        assert [len(services.addresses_of(a)) for a in made] == [1, 2, 0]
        assert Account.objects.get(pk=made[1].pk).city == "上海"


# --- API -----------------------------------------------------------------------------------------


def test_api_reads_and_writes_nested_addresses(tenant):
    client = tenant.api_client("owner")
    created = client.post(
        "/api/v1/accounts",
        {"name": "云帆", "addresses": [SHANGHAI, BEIJING]},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["city"] == "上海" and body["country"] == "CN"
    assert [(a["kind"], a["is_primary"]) for a in body["addresses"]] == [("office", True), ("billing", False)]

    billing = body["addresses"][1]
    changed = client.patch(
        f"/api/v1/accounts/{body['id']}",
        {"addresses": [{**billing, "is_primary": True}]},
        content_type="application/json",
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["city"] == "北京"
    assert [a["id"] for a in changed.json()["addresses"]] == [billing["id"]]

    bad = client.patch(
        f"/api/v1/accounts/{body['id']}",
        {"addresses": [{"country": "CN", "city": "上海", "postcode": "2001"}, {"zip": "1"}]},
        content_type="application/json",
    )
    assert bad.status_code == 422  # an unknown key ("zip") is refused by the schema
    bad = client.patch(
        f"/api/v1/accounts/{body['id']}",
        {"addresses": [{"country": "CN", "city": "上海", "postcode": "2001"}]},
        content_type="application/json",
    )
    assert bad.status_code == 422
    assert [d["field"] for d in bad.json()["error"]["details"]] == ["addresses.0.postcode"]

    contact = client.post(
        "/api/v1/contacts",
        {"name": "陈静", "addresses": [{"kind": "home", "city": "杭州"}]},
        content_type="application/json",
    )
    assert contact.status_code == 201 and contact.json()["addresses"][0]["city"] == "杭州"


def test_api_address_permissions_and_isolation(tenant, other_tenant):
    with tenant.scope():
        mine = services.create_account(tenant.actors["sales"], name="Own", city="上海")
        theirs = services.create_account(tenant.actors["owner"], name="Not mine", city="北京")
    payload = {"addresses": [{"city": "深圳"}]}
    sales = tenant.api_client("sales")
    assert (
        sales.patch(f"/api/v1/accounts/{theirs.pk}", payload, content_type="application/json").status_code
        == 404
    )
    assert (
        sales.patch(f"/api/v1/accounts/{mine.pk}", payload, content_type="application/json").status_code
        == 200
    )
    readonly = tenant.api_client("readonly")
    assert (
        readonly.patch(f"/api/v1/accounts/{mine.pk}", payload, content_type="application/json").status_code
        == 403
    )
    other = other_tenant.api_client("owner")
    assert (
        other.patch(f"/api/v1/accounts/{mine.pk}", payload, content_type="application/json").status_code
        == 404
    )
    with tenant.scope():
        assert [a["city"] for a in services.addresses_of(mine)] == ["深圳"]
        assert [a["city"] for a in services.addresses_of(theirs)] == ["北京"]


# --- pages ---------------------------------------------------------------------------------------


def test_card_add_edit_and_remove_with_htmx(tenant):
    with tenant.scope():
        account = services.create_account(tenant.actors["owner"], name="云帆", city="上海")
    client = tenant.web_client("owner")
    page = client.get(f"/accounts/{account.pk}/")
    assert 'id="addresses"' in page.content.decode() and "上海" in page.content.decode()

    form = client.get(f"/accounts/{account.pk}/addresses/new/", headers={"HX-Request": "true"})
    assert 'id="address-form"' in form.content.decode()
    bad = client.post(
        f"/accounts/{account.pk}/addresses/new/",
        {
            "address-kind": "billing",
            "address-country": "CN",
            "address-city": "北京",
            "address-postcode": "1000",
        },
        headers={"HX-Request": "true"},
    )
    assert bad.status_code == 200
    assert "has-error" in bad.content.decode() and "100000" not in bad.content.decode()
    added = client.post(
        f"/accounts/{account.pk}/addresses/new/",
        {
            "address-kind": "billing",
            "address-country": "CN",
            "address-city": "北京",
            "address-postcode": "100000",
            "address-is_primary": "on",
        },
        headers={"HX-Request": "true"},
    )
    assert added.status_code == 200 and "北京" in added.content.decode()
    with tenant.scope():
        account.refresh_from_db()
        assert account.city == "北京"
        billing = Address.objects.get(account=account, kind="billing")
        office = Address.objects.get(account=account, kind="office")

    edited = client.post(
        f"/accounts/{account.pk}/addresses/{office.pk}/edit/",
        {"address-kind": "office", "address-city": "苏州"},
        headers={"HX-Request": "true"},
    )
    assert "苏州" in edited.content.decode()
    removed = client.post(f"/accounts/{account.pk}/addresses/{billing.pk}/delete/")
    assert removed.status_code == 302  # without htmx: back to the record page
    with tenant.scope():
        account.refresh_from_db()
        assert account.city == "苏州" and rows(account) == [("office", "苏州", True)]


def test_card_respects_access(tenant, other_tenant):
    with tenant.scope():
        account = services.create_account(tenant.actors["owner"], name="云帆", city="上海")
        address = Address.objects.get(account=account)
        contact = services.create_contact(tenant.actors["owner"], name="陈静")
    data = {"address-city": "北京"}
    assert (
        tenant.web_client("readonly").post(f"/accounts/{account.pk}/addresses/new/", data).status_code == 403
    )
    assert tenant.web_client("sales").post(f"/accounts/{account.pk}/addresses/new/", data).status_code == 404
    other = other_tenant.web_client("owner")
    assert other.post(f"/accounts/{account.pk}/addresses/new/", data).status_code == 404
    assert other.post(f"/accounts/{account.pk}/addresses/{address.pk}/delete/").status_code == 404
    # An address belongs to its record: another record's URL does not reach it.
    owner = tenant.web_client("owner")
    assert owner.post(f"/contacts/{contact.pk}/addresses/{address.pk}/delete/").status_code == 404
    with tenant.scope():
        assert rows(account) == [("office", "上海", True)]
