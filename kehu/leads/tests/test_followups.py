"""The lead page's score panel, "form submitted" on the timeline, the lead picker and global search,
the convert page's pickers, and the "Leads" panel of account and contact pages."""

import pytest
from django.core.cache import cache
from django.test import Client

from kehu.activities.models import Activity, ActivityLink
from kehu.customers import services as customers
from kehu.leads import services
from kehu.leads.models import Lead
from kehu.leads.signals import lead_saved
from kehu.scoring import engine
from kehu.scoring import services as scoring

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Rate-limit counters and the scoring app's per-process cache (test databases reuse ids)."""
    cache.clear()
    scoring._CONFIG.clear()
    yield
    cache.clear()
    scoring._CONFIG.clear()


@pytest.fixture
def webform(tenant):
    with tenant.scope():
        services.create_rule(tenant.actors["admin"], name="All", user_id=tenant.users["sales"].pk)
        return services.create_form(
            tenant.actors["admin"], name="Contact us", fields=["name", "company", "email", "industry"]
        )


def _submit(webform, **data):
    response = Client().post(f"/f/{webform.token}", data)
    assert response.status_code == 200, response.content
    return Lead.objects.order_by("-id").first()


# --- web form submission on the timeline, counted by scoring --------------------------------------


def test_submission_logs_form_submitted_on_the_timeline(tenant, webform):
    seen = []

    def receiver(sender, lead, created, timeline=False, **kwargs):
        seen.append((created, timeline, ActivityLink.objects.filter(object_id=lead.pk).count()))

    lead_saved.connect(receiver)
    try:
        with tenant.scope():
            lead = _submit(webform, name="周杰", email="zj@example.com")
    finally:
        lead_saved.disconnect(receiver)
    with tenant.scope():
        [link] = ActivityLink.objects.filter(object_type="leads.lead", object_id=lead.pk)
        activity = link.activity
        assert (activity.kind, activity.direction, activity.source) == ("note", "inbound", "system")
        assert activity.subject == "Web form: Contact us" and activity.outcome == "Form submitted"
        assert activity.source_ref == f"leads.webform:{lead.pk}"
        # Logged after the assignment: the entry belongs to the lead's new owner.
        assert activity.owner_id == lead.owner_id == tenant.users["sales"].pk
        # Once per lead: logging it again answers with the same entry.
        assert services.log_submission(webform, lead).pk == activity.pk
        assert Activity.objects.count() == 1
    # The signal comes after the entry and says the new lead has a timeline already.
    assert seen == [(True, True, 1)]
    # What the scoring app's "Form submitted" engagement event matches (its preset, not a copy).
    _label, kind, direction, words, min_duration = engine.EVENT_PRESETS["form_submitted"]
    rule = engine.Rule(
        id=1,
        kind="engagement",
        points=10,
        event="form_submitted",
        activity_kind=kind,
        direction=direction,
        keywords=tuple(w for w in words.split("|") if w),
        min_duration=min_duration,
    )
    event = engine.Event(link.kind, link.occurred_at, activity.direction, activity.outcome)
    assert engine.event_matches(rule, event)


def test_form_submitted_earns_engagement_points(tenant, webform):
    owner = tenant.actors["owner"]
    with tenant.scope():
        scoring.create_rule(owner, kind="engagement", event="form_submitted", points=15)
        lead = _submit(webform, name="李雷", email="ll@example.com")
        scoring.rescore_engaged(tenant.workspace)  # the scheduler's minute tick
        lead.refresh_from_db()
    assert lead.score == 15
    page = tenant.web_client("sales").get(f"/leads/{lead.pk}/").content.decode()
    assert 'id="lead-score-panel"' in page and "Form submitted" in page



def test_form_submitted_points_count_as_soon_as_the_lead_is_saved(tenant, webform):
    with tenant.scope():
        scoring.create_rule(tenant.actors["owner"], kind="engagement", event="form_submitted", points=15)
        lead = _submit(webform, name="韩梅梅", email="hmm@example.com")
        lead.refresh_from_db()
    assert lead.score == 15  # no scheduler tick needed

def test_lead_page_shows_the_score_panel_with_reasons(tenant):
    with tenant.scope():
        scoring.create_rule(
            tenant.actors["owner"], kind="fit", field="industry", operator="eq", value="Software", points=20
        )
        lead = services.create_lead(tenant.actors["sales"], name="Han", industry="Software")
    page = tenant.web_client("sales").get(f"/leads/{lead.pk}/").content.decode()
    assert 'id="lead-score-panel"' in page
    assert 'id="lead-score-value">20<' in page and "+20 Industry is Software" in page


# --- the lead picker and the global search ---------------------------------------------------------


def _labels(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [r["label"] for r in response.json()["results"]]


def test_lead_picker_searches_what_the_user_may_see(tenant, other_tenant, client):
    with tenant.scope():
        services.create_lead(tenant.actors["sales"], name="张伟", company="云帆", email="zw@yunfan.cn")
        services.create_lead(
            tenant.actors["owner"], name="张伟 别人的", owner_id=tenant.users["owner"].pk, assign=False
        )
    with other_tenant.scope():
        services.create_lead(other_tenant.actors["owner"], name="张伟 另一个空间")
    sales = tenant.web_client("sales")
    assert _labels(sales.get("/leads/pick/", {"q": "张伟"})) == ["张伟"]
    found = sales.get("/leads/pick/", {"q": "zhangw"}).json()["results"]
    assert [(r["label"], r["detail"]) for r in found] == [("张伟", "云帆 · zw@yunfan.cn")]
    assert _labels(tenant.web_client("owner").get("/leads/pick/", {"q": "张伟"})) == ["张伟", "张伟 别人的"]
    assert _labels(other_tenant.web_client("owner").get("/leads/pick/", {"q": "张伟"})) == ["张伟 另一个空间"]
    assert sales.get("/leads/pick/", {"cursor": "garbage"}).status_code == 400
    assert client.get("/leads/pick/").status_code == 302  # not logged in


def test_custom_relation_fields_to_leads_use_the_lead_picker(tenant):
    from kehu.core.pickers import picker_url
    from kehu.customfields.services import create_definition

    assert picker_url("leads.lead") == "/leads/pick/"
    with tenant.scope():
        create_definition(
            tenant.actors["admin"],
            object_type="customers.account",
            key="origin_lead",
            label="Origin lead",
            field_type="relation",
            options={"target": "leads.lead"},
        )
    page = tenant.web_client("admin").get("/accounts/new/").content.decode()
    assert 'data-url="/leads/pick/"' in page


def test_global_search_finds_leads(tenant, other_tenant, django_assert_max_num_queries):
    with tenant.scope():
        lead = services.create_lead(tenant.actors["sales"], name="王芳", company="明远贸易")
        services.create_lead(
            tenant.actors["owner"], name="王芳 别人的", owner_id=tenant.users["owner"].pk, assign=False
        )
    client = tenant.web_client("sales")
    assert other_tenant.web_client("owner").get("/search/", {"q": "王芳"}).context["results"]["leads"] == []
    response = client.get("/search/", {"q": "王芳"})
    assert response.context["results"]["leads"] == [lead]
    html = response.content.decode()
    assert 'id="search-leads"' in html and f'href="/leads/{lead.pk}/"' in html and "明远贸易" in html
    assert "王芳 别人的" not in html
    with django_assert_max_num_queries(20):
        client.get("/search/", {"q": "王芳"})


# --- conversion with the search pickers -----------------------------------------------------------


@pytest.fixture
def qualified(tenant):
    with tenant.scope():
        account = customers.create_account(tenant.actors["sales"], name="云帆科技")
        contact = customers.create_contact(
            tenant.actors["sales"], name="陈静", email="cj@yunfan.cn", account_id=account.pk
        )
        hidden = customers.create_account(tenant.actors["owner"], name="云帆 别人的")
        lead = services.create_lead(
            tenant.actors["sales"], name="陈静", company="云帆", email="cj@yunfan.cn", status="qualified"
        )
    return lead, account, contact, hidden


def test_convert_page_uses_pickers_with_hints(tenant, qualified):
    lead, _account, _contact, _hidden = qualified
    page = tenant.web_client("sales").get(f"/leads/{lead.pk}/convert/").content.decode()
    assert 'data-url="/accounts/pick/"' in page and 'data-url="/contacts/pick/"' in page
    assert 'data-depends="account=account_id"' in page
    # Existing records like the lead are named as what to search for; hidden ones are not.
    assert "Maybe: 云帆科技" in page and "Maybe: 陈静" in page and "云帆 别人的" not in page


def test_convert_into_picked_records(tenant, qualified):
    lead, account, contact, _hidden = qualified
    response = tenant.web_client("sales").post(
        f"/leads/{lead.pk}/convert/", {"account_id": account.pk, "contact_id": contact.pk}
    )
    assert response.status_code == 302 and response["Location"] == f"/contacts/{contact.pk}/"
    with tenant.scope():
        lead.refresh_from_db()
    assert (lead.converted_account_id, lead.converted_contact_id) == (account.pk, contact.pk)


def test_convert_refuses_hidden_or_typed_records(tenant, qualified):
    lead, _account, _contact, hidden = qualified
    client = tenant.web_client("sales")
    refused = client.post(f"/leads/{lead.pk}/convert/", {"account_id": hidden.pk})
    assert refused.status_code == 200
    assert f"There is no record number {hidden.pk} that you may choose." in refused.content.decode()
    typed = client.post(f"/leads/{lead.pk}/convert/", {"account_id__text": "云帆"})
    assert typed.status_code == 200 and "is not a choice" in typed.content.decode()
    with tenant.scope():
        lead.refresh_from_db()
    assert not lead.is_converted


# --- "Leads" on account and contact pages ---------------------------------------------------------


def test_converted_leads_panel_on_account_and_contact_pages(tenant, qualified, django_assert_max_num_queries):
    lead, account, contact, _hidden = qualified
    with tenant.scope():
        other = services.create_lead(tenant.actors["sales"], name="另一位", status="qualified")
        services.convert_lead(tenant.actors["sales"], lead, account_id=account.pk, contact_id=contact.pk)
        services.convert_lead(tenant.actors["sales"], other, account_id=account.pk)
        other.refresh_from_db()
    client = tenant.web_client("sales")
    account_page = client.get(f"/accounts/{account.pk}/").content.decode()
    assert 'id="panel-converted-leads"' in account_page
    assert f'href="/leads/{lead.pk}/"' in account_page and f'href="/leads/{other.pk}/"' in account_page
    contact_page = client.get(f"/contacts/{contact.pk}/").content.decode()
    assert f'href="/leads/{lead.pk}/"' in contact_page and f'href="/leads/{other.pk}/"' not in contact_page
    # The 360° API returns the panel's data; a record no lead became shows no panel.
    data = tenant.api_client("sales").get(f"/api/v1/accounts/{account.pk}/360").json()
    assert [r["id"] for r in data["panels"]["converted_leads"]["latest"]] == [other.pk, lead.pk]
    with tenant.scope():
        plain = customers.create_account(tenant.actors["sales"], name="无线索")
    assert 'id="panel-converted-leads"' not in client.get(f"/accounts/{plain.pk}/").content.decode()


def test_converted_leads_panel_respects_access(tenant, qualified):
    lead, account, contact, _hidden = qualified
    with tenant.scope():
        services.convert_lead(tenant.actors["sales"], lead, account_id=account.pk, contact_id=contact.pk)
        services.update_lead(tenant.actors["owner"], lead, owner_id=tenant.users["owner"].pk)
    # The sales member still sees the account (theirs) but no longer the lead (now the owner's).
    page = tenant.web_client("sales").get(f"/accounts/{account.pk}/").content.decode()
    assert 'id="panel-converted-leads"' not in page
    assert (
        f'href="/leads/{lead.pk}/"'
        in tenant.web_client("owner").get(f"/accounts/{account.pk}/").content.decode()
    )
