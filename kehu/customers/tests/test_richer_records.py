"""Several typed phones and emails, pinyin search, tags, account relations, hierarchy, consent."""

import pytest

from kehu.audit.models import AuditEntry
from kehu.core.errors import ValidationFailed
from kehu.customers import services
from kehu.customers.models import AccountContact, ContactPoint
from kehu.customers.queries import accounts_for, contacts_for, with_tag

pytestmark = pytest.mark.django_db


def test_several_phones_one_primary_mirrored_on_the_row(tenant):
    actor = tenant.actors["owner"]
    with tenant.scope():
        contact = services.create_contact(
            actor,
            name="王芳",
            phones=[
                {"value": "010 6552 8888", "label": "work"},
                {"value": "139 1234 5678", "label": "mobile", "is_primary": True},
            ],
            emails=[{"value": "Wang.Fang@Example.cn"}],
        )
        assert contact.phone == "+8613912345678" and contact.email == "wang.fang@example.cn"
        assert services.contact_points(contact)["phones"] == [
            {"value": "+8613912345678", "label": "mobile", "is_primary": True},
            {"value": "+861065528888", "label": "work", "is_primary": False},
        ]
        # A form that knows only the primary number changes it and keeps the other one.
        services.update_contact(actor, contact, phone="+86 138 0013 8000")
        values = [p["value"] for p in services.contact_points(contact)["phones"]]
        assert values == ["+8613800138000", "+861065528888"]
        # Search finds the person by the secondary (work) number too.
        assert list(contacts_for(actor, "6552 8888")) == [contact]


def test_bad_entries_in_lists_are_reported_by_position(tenant):
    with tenant.scope(), pytest.raises(ValidationFailed) as caught:
        services.create_account(
            tenant.actors["owner"],
            name="X",
            phones=[{"value": "+8613800138000"}, {"value": "12"}],
            emails=[{"value": "ok@example.com", "label": "pager"}],
        )
    assert {d.field for d in caught.value.details} == {"phones.1.value", "emails.0.label"}


def test_pinyin_and_initials_find_chinese_names(tenant):
    actor = tenant.actors["owner"]
    with tenant.scope():
        account = services.create_account(actor, name="上海明远贸易有限公司")
        services.create_account(actor, name="Northwind Traders")
        assert list(accounts_for(actor, "mingyuan")) == [account]
        assert list(accounts_for(actor, "shmy")) == [account]
        assert list(accounts_for(actor, "Ming Yuan")) == [account]
        assert account.name_pinyin == "shanghaimingyuanmaoyiyouxiangongsi"


def test_tags_are_set_replaced_filtered_and_audited(tenant):
    actor = tenant.actors["owner"]
    with tenant.scope():
        a = services.create_account(actor, name="A", tags=["VIP", "华东"])
        b = services.create_account(actor, name="B", tags=["华东"])
        assert services.tags_of(a) == ["VIP", "华东"]
        assert set(with_tag(accounts_for(actor), "华东")) == {a, b}
        services.update_account(actor, a, tags=["VIP"])
        assert list(with_tag(accounts_for(actor), "华东")) == [b]
        last = AuditEntry.objects.filter(object_type="customers.account", object_id=str(a.pk)).latest("id")
        assert last.changes["tags"] == [["VIP", "华东"], ["VIP"]]


def test_contact_relates_to_several_accounts_with_roles(tenant):
    actor = tenant.actors["owner"]
    with tenant.scope():
        acme = services.create_account(actor, name="Acme")
        beta = services.create_account(actor, name="Beta")
        person = services.create_contact(
            actor,
            name="Li Lei",
            accounts=[
                {"account_id": acme.pk, "role": "decision_maker"},
                {"account_id": beta.pk, "role": "influencer", "is_primary": True},
            ],
        )
        assert person.account == beta
        assert [(r["account_name"], r["role"], r["is_primary"]) for r in services.relations_of(person)] == [
            ("Beta", "influencer", True),
            ("Acme", "decision_maker", False),
        ]
        assert list(contacts_for(actor, account=acme)) == [person]
        services.update_contact(actor, person, account_id=acme.pk)  # the form's "Account" field
        assert AccountContact.objects.get(contact=person, is_primary=True).account == acme


def test_parent_account_cannot_make_a_cycle(tenant):
    actor = tenant.actors["owner"]
    with tenant.scope():
        group = services.create_account(actor, name="Group")
        branch = services.create_account(actor, name="Branch", parent_id=group.pk)
        with pytest.raises(ValidationFailed) as caught:
            services.update_account(actor, group, parent_id=branch.pk)
        assert caught.value.details[0].field == "parent_id"


def test_consent_change_is_time_stamped(tenant):
    actor = tenant.actors["owner"]
    with tenant.scope():
        contact = services.create_contact(actor, name="No consent")
        assert contact.consent_updated_at is None
        services.update_contact(actor, contact, consent_email=True)
        assert contact.consent_email and contact.consent_updated_at is not None


def test_contact_points_of_deleted_records_go_with_them(tenant):
    actor = tenant.actors["owner"]
    with tenant.scope():
        account = services.create_account(actor, name="Gone", phone="+8613800138000", tags=["x"])
        services.delete_account(actor, account)
        assert not ContactPoint.objects.filter(value="+8613800138000").exists()


def test_api_detail_has_lists_and_patch_changes_only_what_is_sent(tenant):
    client = tenant.api_client("owner")
    created = client.post(
        "/api/v1/contacts",
        {
            "name": "Zhang San",
            "phones": [{"value": "13800138000", "label": "mobile"}],
            "emails": [{"value": "z@example.com"}],
            "tags": ["Key"],
            "social": {"wechat": "zhangsan"},
        },
        content_type="application/json",
    ).json()
    assert created["phone"] == "+8613800138000" and created["tags"] == ["Key"]
    assert created["phones"][0] == {"value": "+8613800138000", "label": "mobile", "is_primary": True}
    patched = client.patch(
        f"/api/v1/contacts/{created['id']}", {"job_title": "CTO"}, content_type="application/json"
    ).json()
    assert (
        patched["job_title"] == "CTO"
        and patched["tags"] == ["Key"]
        and patched["social"] == {"wechat": "zhangsan"}
    )
    bad = client.patch(
        f"/api/v1/contacts/{created['id']}", {"social": {"myspace": "x"}}, content_type="application/json"
    )
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "social"
