"""NPS: the arithmetic by hand, a campaign to a grade's consenting contacts sent in batches."""

import json

import pytest
from django.core import mail
from django.test import Client
from django_scopes import scopes_disabled

from kehu.surveys import services
from kehu.surveys.models import Invitation, Survey, SurveyResponse

from .conftest import links_in

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([], (0, 0, 0, 0, None)),
        ([10, 9, 8, 6], (4, 2, 1, 1, 25.0)),  # 50 % promoters − 25 % detractors
        ([0, 1, 2, 7, 8], (5, 0, 2, 3, -60.0)),  # 0 % − 60 %
        ([9, 10, 10], (3, 3, 0, 0, 100.0)),
        ([7, 8, 9, 6, 10, 3], (6, 2, 2, 2, 0.0)),  # 33.3 % − 33.3 %
        ([9, 6, 6], (3, 1, 0, 2, -33.3)),  # 33.3 % − 66.7 % = −33.33… → −33.3
    ],
)
def test_nps_by_hand(scores, expected):
    nps = services.nps_of(scores)
    assert (nps.responses, nps.promoters, nps.passives, nps.detractors, nps.score) == expected


@pytest.fixture
def audience(tenant):
    """Three strategic contacts with consent, one strategic without, one ordinary with consent."""
    from kehu.customers import services as customers

    actor = tenant.actors["owner"]
    with tenant.scope():
        strategic = customers.create_account(actor, name="Strategic Co")
        ordinary = customers.create_account(actor, name="Ordinary Co")
        from kehu.customers.models import Account

        Account.objects.filter(pk=strategic.pk).update(grade="strategic")
        Account.objects.filter(pk=ordinary.pk).update(grade="ordinary")
        made = {}
        for name, account, consent in [
            ("a", strategic, True),
            ("b", strategic, True),
            ("c", strategic, True),
            ("no-consent", strategic, False),
            ("ordinary", ordinary, True),
        ]:
            made[name] = customers.create_contact(
                actor, name=name, email=f"{name}@example.com", account_id=account.pk, consent_email=consent
            )
    return made


def test_campaign_to_a_grade_goes_to_consenting_contacts_in_batches(
    tenant, audience, immediate_tasks, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(services, "BATCH_SIZE", 2)
    client = tenant.api_client("admin")
    created = client.post(
        "/api/v1/surveys",
        json.dumps(
            {
                "name": "Q4 NPS",
                "kind": "nps",
                "question_zh": "您向朋友推荐我们的可能性有多大？",
                "question_en": "How likely are you to recommend us?",
                "audience_grades": ["strategic"],
            }
        ),
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    survey_id = created.json()["id"]
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(f"/api/v1/surveys/{survey_id}/send")
    assert sent.status_code == 202
    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == ["a@example.com", "b@example.com", "c@example.com"]
    with scopes_disabled():
        survey = Survey.objects.get(pk=survey_id)
        assert (survey.status, survey.sent_count) == ("sent", 3)
        assert Invitation.objects.filter(survey=survey).count() == 3
    again = client.post(f"/api/v1/surveys/{survey_id}/send")
    assert again.status_code == 409

    # Three answers: 10 (promoter), 8 (passive), 3 (detractor) → NPS = 33.3 − 33.3 = 0.
    web = Client()
    for message, score in zip(sorted(mail.outbox, key=lambda m: m.to[0]), (10, 8, 3), strict=True):
        links = links_in(message)
        assert sorted(links) == list(range(0, 11))
        assert "您向朋友推荐我们的可能性有多大？" in message.body  # the workspace language (no preference)
        with django_capture_on_commit_callbacks(execute=True):
            assert web.get(links[score]).status_code == 302
    result = client.get(f"/api/v1/surveys/{survey_id}").json()
    assert (
        result["responses"],
        result["promoters"],
        result["passives"],
        result["detractors"],
        result["nps"],
    ) == (3, 1, 1, 1, 0.0)
    assert result["average"] == 7.0
    page = tenant.web_client("admin").get(f"/surveys/{survey_id}/").content.decode()
    assert '<dd id="answer-count">3</dd>' in page
    assert '<dd id="survey-nps">0.0</dd>' in page
    assert "<dd>1 / 1 / 1</dd>" in page
    with scopes_disabled():
        assert SurveyResponse.objects.filter(survey_id=survey_id, kind="nps").count() == 3


def test_campaign_from_a_saved_contact_view(
    tenant, audience, immediate_tasks, django_capture_on_commit_callbacks
):
    from kehu.listviews import services as listviews

    actor = tenant.actors["admin"]
    with tenant.scope():
        view = listviews.create_view(
            actor,
            "customers.contact",
            name="Ordinary",
            filters={"op": "and", "conditions": [{"field": "name", "lookup": "eq", "value": "ordinary"}]},
        )
        survey = services.create_survey(actor, name="From a view", kind="nps", audience_view_id=view.pk)
        assert [c.name for c in services.audience(actor, survey)] == ["ordinary"]


def test_a_view_of_another_member_cannot_be_the_audience(tenant, audience):
    from kehu.core.errors import ValidationFailed
    from kehu.listviews import services as listviews

    with tenant.scope():
        view = listviews.create_view(tenant.actors["sales"], "customers.contact", name="Mine", filters={})
        with pytest.raises(ValidationFailed):
            services.create_survey(tenant.actors["manager"], name="x", audience_view_id=view.pk)
