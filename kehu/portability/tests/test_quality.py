"""The data quality dashboard on a small hand-built workspace: every number, its link, who sees it."""

from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.utils import timezone

from kehu.activities.services import log_activity
from kehu.customers import services as customers
from kehu.customers.models import Contact
from kehu.customfields.services import create_definition
from kehu.portability import quality

pytestmark = pytest.mark.django_db


@pytest.fixture
def messy(tenant):
    owner = tenant.actors["owner"]
    with tenant.scope():
        create_definition(owner, object_type="customers.contact", key="tier", label="Tier",
                          field_type="single_select", options={"choices": [{"value": "A"}, {"value": "B"}]})
        acct = customers.create_account(owner, name="云帆科技", city="深圳")
        good = customers.create_contact(owner, name="张伟", email="zw@yunfan.cn", phone="13800138000",
                                        account_id=acct.pk, custom={"tier": "A"})
        customers.create_contact(owner, name="李娜", email="ln@yunfan.cn")
        bad_phone = customers.create_contact(owner, name="王芳")
        bad_email = customers.create_contact(owner, name="Old Import")
        # Rows written around the services (an old import, direct SQL): not in the normalised form.
        Contact.objects.filter(pk=bad_phone.pk).update(phone="138 0013 8000")
        Contact.objects.filter(pk=bad_email.pk).update(email="Old.Import@@example", custom={"tier": "Z"})
        log_activity(owner, kind="call", subject="回访", occurred_at=timezone.now() - timedelta(days=3),
                     links=[("customers.contact", good.pk)])
        log_activity(owner, kind="call", subject="老通话", occurred_at=timezone.now() - timedelta(days=400),
                     links=[("customers.contact", bad_phone.pk)])
    return tenant, {"good": good, "bad_phone": bad_phone, "bad_email": bad_email}


def _contacts(data):
    return next(t for t in data["types"] if t["object_type"] == "customers.contact")


def test_figures_of_a_hand_built_workspace(messy, django_assert_max_num_queries):
    tenant, _rows = messy
    with tenant.scope(), django_assert_max_num_queries(12):
        data = quality.compute(tenant.actors["admin"], 6)
    contacts = _contacts(data)
    assert contacts["total"] == 4
    completeness = {f["field"]: f for f in contacts["completeness"]}
    assert (completeness["email"]["filled"], completeness["email"]["percent"]) == (3, 75.0)
    assert (completeness["phone"]["filled"], completeness["phone"]["empty"]) == (2, 2)
    assert completeness["custom.tier"]["filled"] == 2
    invalid = {i["field"]: i["count"] for i in contacts["invalid"]}
    assert invalid == {"phone": 1, "email": 1, "custom.tier": 1}
    # Stale: only the contact with the call three days ago had activity in six months.
    assert contacts["stale"]["count"] == 3 and contacts["stale"]["months"] == 6
    accounts = next(t for t in data["types"] if t["object_type"] == "customers.account")
    assert accounts["total"] == 1
    assert {i["field"]: i["count"] for i in accounts["invalid"]} == {"phone": 0, "email": 0}
    assert contacts["duplicates"] is None or "clusters" in contacts["duplicates"]


def _names_at(client, link):
    url = urlparse(link)
    page = client.get(url.path, {k: v[0] for k, v in parse_qs(url.query).items()})
    assert page.status_code == 200
    return page.content.decode()


def test_each_number_links_to_exactly_those_records(messy):
    tenant, _rows = messy
    with tenant.scope():
        contacts = _contacts(quality.compute(tenant.actors["admin"], 6))
    invalid = {i["field"]: i["link"] for i in contacts["invalid"]}
    web = tenant.web_client("admin")
    page = _names_at(web, invalid["phone"])
    assert "王芳" in page and "张伟" not in page and "Old Import" not in page
    page = _names_at(web, invalid["custom.tier"])
    assert "Old Import" in page and "张伟" not in page
    page = _names_at(web, contacts["stale"]["link"])
    assert "王芳" in page and "李娜" in page and "张伟" not in page
    empty_email = next(f for f in contacts["completeness"] if f["field"] == "email")["link"]
    page = _names_at(web, empty_email)
    assert "王芳" in page and "李娜" not in page


def test_who_sees_the_dashboard(messy, other_tenant):
    tenant, _rows = messy
    for role, status in (("admin", 200), ("owner", 200), ("manager", 200), ("sales", 403), ("readonly", 403)):
        assert tenant.api_client(role).get("/api/v1/data-quality").status_code == status, role
    for role, status in (("admin", 200), ("manager", 200), ("sales", 404), ("readonly", 404)):
        assert tenant.web_client(role).get("/data-quality/").status_code == status, role
    data = tenant.api_client("admin").get("/api/v1/data-quality?months=12").json()
    assert data["months"] == 12 and _contacts(data)["total"] == 4
    # Another workspace's figures never include these records.
    other = other_tenant.api_client("owner").get("/api/v1/data-quality").json()
    assert _contacts(other)["total"] == 0
    page = tenant.web_client("admin").get("/data-quality/").content.decode()
    assert "Invalid values" in page and 'data-invalid="phone"' in page


def test_admin_figures_come_from_a_snapshot_refreshed_on_demand(messy):
    tenant, _rows = messy
    from kehu.portability.models import QualitySnapshot

    with tenant.scope():
        first = quality.dashboard(tenant.actors["admin"], 6)
        assert QualitySnapshot.objects.filter(months=6).count() == 1
        customers.create_contact(tenant.actors["owner"], name="新客户")
        assert _contacts(quality.dashboard(tenant.actors["admin"], 6))["total"] == 4  # cached
        assert _contacts(quality.dashboard(tenant.actors["admin"], 6, refresh_now=True))["total"] == 5
    assert first["snapshot"] is True
