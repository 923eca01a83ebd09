"""The scoring pages: rules list and form, try on a lead, model status and retrain; the lead's score panel."""

import pytest
from django.urls import reverse

from kehu.leads.services import create_lead
from kehu.scoring import services
from kehu.scoring.models import ScoringRule
from kehu.scoring.panels import score_panel_context

pytestmark = pytest.mark.django_db


def test_admin_adds_edits_and_deletes_a_fit_rule(tenant):
    client = tenant.web_client("admin")
    page = client.get(reverse("scoring:rule-create") + "?kind=fit")
    assert page.status_code == 200 and b'name="field"' in page.content and b'name="event"' not in page.content
    response = client.post(
        reverse("scoring:rule-create") + "?kind=fit",
        {
            "kind": "fit",
            "points": "20",
            "field": "industry",
            "operator": "in",
            "value": "Software, SaaS",
            "active": "on",
        },
    )
    assert response.status_code == 302, response.content
    with tenant.scope():
        rule = ScoringRule.objects.get()
    assert rule.value == ["Software", "SaaS"] and rule.points == 20
    listing = client.get(reverse("scoring:rules"))
    assert "Industry is one of Software, SaaS" in listing.content.decode()
    response = client.post(
        reverse("scoring:rule-edit", args=[rule.pk]),
        {
            "kind": "fit",
            "points": "25",
            "field": "industry",
            "operator": "eq",
            "value": "Software",
            "active": "on",
        },
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.operator, rule.value, rule.points) == ("eq", "Software", 25)
    assert client.post(reverse("scoring:rule-delete", args=[rule.pk])).status_code == 302
    with tenant.scope():
        assert not ScoringRule.objects.exists()


def test_engagement_rule_form_and_errors(tenant):
    client = tenant.web_client("admin")
    page = client.get(reverse("scoring:rule-create") + "?kind=engagement")
    assert b'name="half_life_days"' in page.content and b'name="field"' not in page.content
    response = client.post(
        reverse("scoring:rule-create") + "?kind=engagement",
        {
            "kind": "engagement",
            "points": "8",
            "event": "call_connected",
            "half_life_days": "7",
            "cap": "20",
            "active": "on",
        },
    )
    assert response.status_code == 302
    with tenant.scope():
        rule = ScoringRule.objects.get()
    assert (rule.activity_kind, rule.min_duration, rule.half_life_days, rule.cap) == ("call", 30, 7, 20)
    bad = client.post(
        reverse("scoring:rule-create") + "?kind=engagement",
        {"kind": "engagement", "points": "8", "event": "custom", "activity_kind": "telegram"},
    )
    assert bad.status_code == 200 and b"has-error" in bad.content


def test_try_rules_on_a_lead(tenant):
    owner = tenant.actors["owner"]
    with tenant.scope():
        services.create_rule(
            owner, kind="fit", field="title", operator="contains", value="director", points=15
        )
        create_lead(owner, name="张伟", title="IT Director")
    client = tenant.web_client("admin")
    response = client.get(reverse("scoring:try") + "?q=张伟")
    assert response.status_code == 200
    assert "+15 Job title contains director" in response.content.decode()


def test_members_read_rules_but_only_admins_change_them(tenant):
    sales = tenant.web_client("sales")
    assert sales.get(reverse("scoring:rules")).status_code == 200
    assert b"rule-new-fit" not in sales.get(reverse("scoring:rules")).content
    assert sales.get(reverse("scoring:rule-create")).status_code == 404
    assert sales.post(reverse("scoring:retrain")).status_code == 404
    assert sales.get(reverse("scoring:model")).status_code == 200


def test_model_page_says_why_it_falls_back_and_retrain_queues(tenant):
    client = tenant.web_client("admin")
    page = client.get(reverse("scoring:model")).content.decode()
    assert "the predictive score needs 50 won and 50 lost leads; have 0/0" in page
    response = client.post(reverse("scoring:retrain"))
    assert response.status_code == 302
    with tenant.scope():
        from kehu.scoring.models import ScoringState

        assert ScoringState.objects.get().retrain_requested_at is not None


def test_score_panel_context(tenant):
    owner = tenant.actors["owner"]
    with tenant.scope():
        services.create_rule(owner, kind="fit", field="source", operator="eq", value="referral", points=30)
        lead = create_lead(owner, name="Ref", source="referral")
        context = score_panel_context(tenant.actors["sales"], lead)
    assert context["score"]["score"] == 30
    assert context["score"]["reasons"][0]["label"] == "+30 Source is Referral"


def test_lead_page_shows_the_score_panel(tenant):
    owner = tenant.actors["owner"]
    with tenant.scope():
        services.create_rule(owner, kind="fit", field="industry", operator="eq", value="Software", points=20)
        lead = create_lead(owner, name="Panel", industry="Software")
    page = tenant.web_client("owner").get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert 'id="lead-score-panel"' in page
    assert "+20 Industry is Software" in page
    assert "needs 50 won and 50 lost leads" in page
