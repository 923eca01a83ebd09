import json

import pytest
from django.core.cache import cache
from django.test import Client

from kehu.leads import services
from kehu.leads.models import Lead


@pytest.fixture(autouse=True)
def _fresh_cache(db):
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def webform(tenant):
    with tenant.scope():
        services.create_rule(tenant.actors["admin"], name="All", user_id=tenant.users["sales"].pk)
        return services.create_form(
            tenant.actors["admin"],
            name="Contact us",
            fields=["name", "company", "email", "phone", "description"],
            required_fields=["name", "email"],
            thank_you_text="Thanks!",
        )


def _leads(tenant):
    with tenant.scope():
        return list(Lead.objects.order_by("id"))


def test_get_renders_the_hosted_page(webform):
    response = Client().get(f"/f/{webform.token}?utm_source=newsletter")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="website_url"' in body and 'value="newsletter"' in body
    assert Client().get("/f/unknown-token").status_code == 404


def test_submission_creates_an_assigned_lead_with_utm(tenant, webform):
    response = Client().post(
        f"/f/{webform.token}?utm_campaign=spring",
        {
            "name": "周杰",
            "email": "ZJ@Example.com",
            "company": "Jay Co",
            "utm_source": "google",
            "utm_medium": "cpc",
        },
    )
    assert response.status_code == 200 and "Thanks!" in response.content.decode()
    [lead] = _leads(tenant)
    assert (lead.email, lead.owner_id, lead.web_form_id) == (
        "zj@example.com",
        tenant.users["sales"].pk,
        webform.pk,
    )
    assert (lead.utm_source, lead.utm_medium, lead.utm_campaign) == ("google", "cpc", "spring")
    assert lead.source == Lead.Source.AD_CAMPAIGN
    with tenant.scope():
        webform.refresh_from_db()
        assert webform.submission_count == 1


def test_json_errors_are_field_level_and_change_nothing(tenant, webform):
    response = Client().post(
        f"/f/{webform.token}",
        json.dumps({"name": "<script>alert(1)</script>", "email": "bad", "owner_id": 1}),
        content_type="application/json",
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 422
    details = {d["field"]: d["code"] for d in response.json()["error"]["details"]}
    assert set(details) == {"name", "email", "owner_id"} and details["owner_id"] == "extra_forbidden"
    missing = Client().post(f"/f/{webform.token}", {"name": "x"})
    assert missing.status_code == 422 and "This field is required." in missing.content.decode()
    assert _leads(tenant) == []


def test_honeypot_answers_ok_and_saves_nothing(tenant, webform):
    response = Client().post(
        f"/f/{webform.token}", {"name": "Bot", "email": "b@b.cn", "website_url": "http://spam"}
    )
    assert response.status_code == 200
    assert _leads(tenant) == []


def test_rate_limit_per_ip(tenant, webform, settings):
    settings.LEADS_FORM_RATE_LIMIT = 2
    client = Client()
    codes = [
        client.post(f"/f/{webform.token}", {"name": f"N{i}", "email": f"n{i}@x.cn"}).status_code
        for i in range(3)
    ]
    assert codes == [200, 200, 429]
    assert len(_leads(tenant)) == 2
    other_ip = Client(REMOTE_ADDR="10.0.0.9").post(f"/f/{webform.token}", {"name": "Z", "email": "z@x.cn"})
    assert other_ip.status_code == 200


def test_size_limit_and_origin_check(tenant, webform, settings):
    settings.LEADS_FORM_MAX_BYTES = 500
    big = Client().post(f"/f/{webform.token}", {"name": "x", "email": "a@b.cn", "description": "y" * 2000})
    assert big.status_code == 413
    with tenant.scope():
        services.update_form(tenant.actors["admin"], webform, allowed_origins="https://www.example.com")
    refused = Client().post(
        f"/f/{webform.token}", {"name": "x", "email": "a@b.cn"}, HTTP_ORIGIN="https://evil.example.net"
    )
    assert refused.status_code == 403
    allowed = Client().post(
        f"/f/{webform.token}", {"name": "x", "email": "a@b.cn"}, HTTP_ORIGIN="https://www.example.com"
    )
    assert allowed.status_code == 200
    assert len(_leads(tenant)) == 1


def test_inactive_form_is_gone(tenant, webform):
    with tenant.scope():
        services.update_form(tenant.actors["admin"], webform, is_active=False)
    assert Client().post(f"/f/{webform.token}", {"name": "x", "email": "a@b.cn"}).status_code == 404
