"""CSAT: a resolved ticket → invitation mail → one-click rating → ticket, timeline, 360° panel."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_scopes import scopes_disabled

from kehu.activities.models import Activity, ActivityLink
from kehu.surveys import services
from kehu.surveys.models import Invitation, SurveyResponse
from kehu.tickets.models import Ticket

from .conftest import links_in, open_ticket, resolve

pytestmark = pytest.mark.django_db


def _resolved_with_mail(tenant, contact, django_capture_on_commit_callbacks, **extra):
    with tenant.scope(), django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(tenant, contact, **extra)
    mail.outbox.clear()
    with tenant.scope(), django_capture_on_commit_callbacks(execute=True):
        resolve(tenant, ticket)
    return ticket


def test_resolution_sends_one_invitation_and_a_click_rates_the_ticket(
    tenant, customer, immediate_tasks, django_capture_on_commit_callbacks
):
    account, contact = customer
    ticket = _resolved_with_mail(tenant, contact, django_capture_on_commit_callbacks)
    invitations = [m for m in mail.outbox if "How did we do?" in m.subject]
    assert len(invitations) == 1
    message = invitations[0]
    assert message.to == ["wang.fang@example.com"]
    assert f"[#{ticket.number}]" in message.subject
    links = links_in(message)
    assert sorted(links) == [1, 2, 3, 4, 5]
    html = message.alternatives[0][0]
    assert links[5].replace("&", "&amp;") in html or links[5] in html

    client = tenant.web_client("sales")
    client.logout()  # the customer has no login
    with django_capture_on_commit_callbacks(execute=True):
        clicked = client.get(links[5])
    assert clicked.status_code == 302
    page = client.get(clicked["Location"])
    assert page.status_code == 200
    assert b'id="survey-comment-form"' in page.content
    with django_capture_on_commit_callbacks(execute=True):
        commented = client.post(clicked["Location"], {"comment": "Very helpful, the agent fixed it quickly!"})
    assert commented.status_code == 200 and b"comment-saved" in commented.content

    with tenant.scope():
        ticket.refresh_from_db()
        assert ticket.satisfaction == 5
        response = SurveyResponse.objects.get(ticket=ticket)
        assert (response.score, response.sentiment, response.contact_id, response.account_id) == (
            5,
            "positive",
            contact.pk,
            account.pk,
        )
        activity = Activity.objects.get(pk=response.activity_id)
        assert "5/5" in activity.subject and activity.body.startswith("Very helpful")
        linked = set(ActivityLink.objects.filter(activity=activity).values_list("object_type", "object_id"))
        assert {("customers.contact", contact.pk), ("customers.account", account.pk)} <= linked

    # The 360° panel of the contact and of the account (web and API).
    web = tenant.web_client("service")
    page = web.get(f"/contacts/{contact.pk}/")
    assert b'id="panel-satisfaction"' in page.content
    assert b'id="latest-csat">5/5' in page.content
    assert b"Very helpful" in page.content
    data = tenant.api_client("service").get(f"/api/v1/accounts/{account.pk}/360").json()
    assert data["panels"]["satisfaction"]["latest_csat"]["score"] == 5


def test_resolving_twice_sends_one_survey(
    tenant, customer, immediate_tasks, django_capture_on_commit_callbacks
):
    from kehu.tickets import services as tickets

    _account, contact = customer
    ticket = _resolved_with_mail(tenant, contact, django_capture_on_commit_callbacks)
    with tenant.scope(), django_capture_on_commit_callbacks(execute=True):
        tickets.change_status(tenant.actors["service"], ticket, "reopened")
        tickets.change_status(tenant.actors["service"], ticket, "resolved")
        assert Invitation.objects.filter(ticket=ticket).count() == 1
    assert len([m for m in mail.outbox if "How did we do?" in m.subject]) == 1


def test_only_the_hash_of_the_token_is_stored(
    tenant, customer, immediate_tasks, django_capture_on_commit_callbacks
):
    _account, contact = customer
    _resolved_with_mail(tenant, contact, django_capture_on_commit_callbacks)
    url = links_in(mail.outbox[-1])[3]
    token = url.split("/")[-2]
    with scopes_disabled():
        invitation = Invitation.objects.get()
    assert len(token) >= 32 and token not in invitation.token_hash
    assert invitation.token_hash == services.token_hash(token)


def _link(tenant, contact, capture, score=4):
    _resolved_with_mail(tenant, contact, capture)
    return links_in(mail.outbox[-1])[score]


def test_expired_link_records_nothing(tenant, customer, immediate_tasks, django_capture_on_commit_callbacks):
    _account, contact = customer
    url = _link(tenant, contact, django_capture_on_commit_callbacks)
    with scopes_disabled():
        Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    from django.test import Client

    answer = Client().get(url)
    assert answer.status_code == 410 and b"survey-expired" in answer.content
    with scopes_disabled():
        assert not SurveyResponse.objects.exists()
        assert Ticket.objects.get().satisfaction is None


def test_token_under_another_workspace_is_404(
    tenant, other_tenant, customer, immediate_tasks, django_capture_on_commit_callbacks
):
    _account, contact = customer
    url = _link(tenant, contact, django_capture_on_commit_callbacks)
    from django.test import Client

    assert Client().get(url.replace("/survey/acme/", "/survey/globex/")).status_code == 404
    assert Client().get(url.replace(url.split("/")[-2], "x" * 32)).status_code == 404
    with scopes_disabled():
        assert not SurveyResponse.objects.exists()


def test_change_within_the_window_then_replay_changes_nothing(
    tenant, customer, immediate_tasks, django_capture_on_commit_callbacks
):
    _account, contact = customer
    ticket = _resolved_with_mail(tenant, contact, django_capture_on_commit_callbacks)
    links = links_in(mail.outbox[-1])
    from django.test import Client

    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        client.get(links[2])
        client.get(links[4])  # changed their mind within the window
        client.post(links[4].split("?")[0], {"comment": "ok now"})
    with scopes_disabled():
        ticket.refresh_from_db()
        assert ticket.satisfaction == 4
        SurveyResponse.objects.update(editable_until=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        replay = client.get(links[1])
        late_comment = client.post(links[1].split("?")[0], {"comment": "changed"})
    assert replay.status_code == 409 and b"survey-closed" in replay.content
    assert late_comment.status_code == 409
    with scopes_disabled():
        response = SurveyResponse.objects.get()
        ticket.refresh_from_db()
        assert (response.score, response.comment, ticket.satisfaction) == (4, "ok now", 4)
        assert SurveyResponse.objects.count() == 1


def test_out_of_range_score_is_refused(tenant, customer, immediate_tasks, django_capture_on_commit_callbacks):
    _account, contact = customer
    url = _link(tenant, contact, django_capture_on_commit_callbacks)
    from django.test import Client

    assert Client().get(url.replace("score=4", "score=9")).status_code == 400
    with scopes_disabled():
        assert not SurveyResponse.objects.exists()


def test_no_invitation_without_an_address(tenant, immediate_tasks, django_capture_on_commit_callbacks):
    from kehu.tickets import services as tickets

    with tenant.scope(), django_capture_on_commit_callbacks(execute=True):
        ticket = tickets.open_ticket(
            tenant.actors["service"], subject="Phone call", description="x", channel="phone"
        )
    with tenant.scope(), django_capture_on_commit_callbacks(execute=True):
        resolve(tenant, ticket)
        assert not Invitation.objects.exists()


def test_sentiment_is_recomputed_for_an_old_version(
    tenant, customer, immediate_tasks, django_capture_on_commit_callbacks
):
    _account, contact = customer
    url = _link(tenant, contact, django_capture_on_commit_callbacks)
    from django.test import Client

    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        client.get(url)
        client.post(url.split("?")[0], {"comment": "客服态度很差，问题没解决"})
    with tenant.scope():
        SurveyResponse.objects.update(sentiment="positive", sentiment_version="old")
        assert services.refresh_sentiment(tenant.workspace) == 1
        response = SurveyResponse.objects.get()
        assert (response.sentiment, response.sentiment_version) == ("negative", services.sentiment.VERSION)
        assert services.refresh_sentiment(tenant.workspace) == 0
