"""The service bot: answer / clarify / handover, conversations, the API (auth, isolation), the widget,
and the evaluation figures on the held-out half (regression guard)."""

import pytest
from django_scopes import scope

from kehu.bot import engine, services
from kehu.bot.evaluation import harness
from kehu.bot.models import BotConversation, BotTurn
from kehu.knowledge import services as kb
from kehu.knowledge.models import Article

pytestmark = pytest.mark.django_db


@pytest.fixture
def articles(tenant):
    """The evaluation knowledge base (76 articles) and one internal article."""
    admin = tenant.actors["admin"]
    with tenant.scope():
        topic_of = harness.load_kb(admin)
        kb.create_article(
            admin,
            title="Password policy for staff",
            language="en",
            status="published",
            visibility="internal",
            body="Staff passwords rotate every 90 days. Forgot password: ask IT.",
        )
        by_title = {a.title: a for a in Article.objects.filter(pk__in=topic_of)}
    return {
        "refund": by_title["退款多久到账"],
        "password": by_title["Forgotten password"],
        "topics": topic_of,
    }


def test_answer_cites_the_article(tenant, articles):
    reply = services.ask(tenant.workspace, "退款多久能到账", language="zh-hans")
    assert reply.action == "answer" and reply.article.id == articles["refund"].pk
    assert "1 个工作日" in reply.answer and reply.article.url == f"/help/acme/a/{articles['refund'].pk}/"
    assert reply.confidence >= engine.threshold()
    with tenant.scope():
        conversation = BotConversation.objects.get(token=reply.conversation_id)
        assert conversation.outcome == "answered" and conversation.deflected
        turn = BotTurn.objects.get(conversation=conversation)
        assert turn.article_id == articles["refund"].pk and turn.latency_ms > 0
        articles["refund"].refresh_from_db()
        assert articles["refund"].view_count == 1


def test_unsure_twice_clarifies_then_hands_over_with_the_transcript(tenant, articles):
    first = services.ask(tenant.workspace, "my password thing", email="li.lei@example.com")
    assert first.action == "clarify"
    assert articles["password"].pk in [c.id for c in first.choices]
    assert all(c.title != "Password policy for staff" for c in first.choices)  # internal never offered
    second = services.ask(
        tenant.workspace, "what about the weather on mars", conversation_id=first.conversation_id
    )
    assert second.action == "handover" and second.ticket_number
    from kehu.tickets.models import Ticket

    with tenant.scope():
        ticket = Ticket.objects.get(number=second.ticket_number)
        assert ticket.channel == "bot" and "my password thing" in ticket.description
        assert "weather on mars" in ticket.description
        conversation = BotConversation.objects.get(token=first.conversation_id)
        assert conversation.outcome == "handed_over" and not conversation.deflected
        assert conversation.ticket_number == ticket.number


def test_choosing_an_offered_article_answers(tenant, articles):
    first = services.ask(tenant.workspace, "my password thing")
    reply = services.ask(
        tenant.workspace, "", conversation_id=first.conversation_id, choice=articles["password"].pk
    )
    assert reply.action == "answer" and reply.article.id == articles["password"].pk


@pytest.mark.parametrize("question", ["转人工", "我要找人工客服", "Can I talk to a human?", "agent please"])
def test_asking_for_a_person_hands_over_at_once(tenant, articles, question):
    reply = services.ask(tenant.workspace, question)
    assert reply.action == "handover" and reply.ticket_number


def test_handover_matches_the_contact_by_email(tenant, articles):
    from kehu.customers import services as customers

    with tenant.scope():
        contact = customers.create_contact(tenant.actors["admin"], name="韩梅梅", email="han@example.com")
    reply = services.ask(tenant.workspace, "人工", email="HAN@example.com")
    from kehu.tickets.models import Ticket

    with tenant.scope():
        assert Ticket.objects.get(number=reply.ticket_number).contact_id == contact.pk


def test_conversations_belong_to_their_workspace(tenant, other_tenant, articles):
    reply = services.ask(tenant.workspace, "退款多久能到账")
    with pytest.raises(Exception) as raised:
        services.ask(other_tenant.workspace, "退款", conversation_id=reply.conversation_id)
    assert getattr(raised.value, "status", None) == 404


def test_deflection_rate(tenant, articles):
    services.ask(tenant.workspace, "退款多久能到账")
    services.ask(tenant.workspace, "转人工")
    stats = services.deflection(tenant.workspace)
    assert stats == {"conversations": 2, "deflected": 1, "handed_over": 1, "rate": 0.5}


def test_api_ask_auth_and_isolation(client, tenant, other_tenant, articles):
    assert (
        client.post("/api/v1/bot/ask", {"question": "x"}, content_type="application/json").status_code == 401
    )
    api = tenant.api_client("readonly")
    answer = api.post(
        "/api/v1/bot/ask",
        {"question": "I forgot my password, how do I reset it?"},
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["action"] == "answer" and body["article"]["id"] == articles["password"].pk
    assert body["article"]["url"].startswith("/help/acme/a/")
    other = other_tenant.api_client("admin")
    stolen = other.post(
        "/api/v1/bot/ask",
        {"question": "hi", "conversation_id": body["conversation_id"]},
        content_type="application/json",
    )
    assert stolen.status_code == 404
    other_answer = other.post(
        "/api/v1/bot/ask",
        {"question": "I forgot my password, how do I reset it?"},
        content_type="application/json",
    ).json()
    assert other_answer["action"] != "answer"  # globex has no articles
    assert (
        api.post("/api/v1/bot/ask", {"question": "x", "oops": 1}, content_type="application/json").status_code
        == 422
    )
    assert (
        api.post(
            "/api/v1/bot/ask", {"question": "x", "language": "fr"}, content_type="application/json"
        ).status_code
        == 422
    )


def test_widget_endpoint_is_public_and_rate_limited(client, tenant, articles, settings):
    settings.BOT_RATE_LIMIT = 2
    page = client.get("/help/acme/")
    assert b'id="bot-widget"' in page.content
    reply = client.post("/help/acme/bot/ask/", {"question": "退款多久能到账", "language": "zh-hans"})
    text = reply.content.decode()
    assert reply.status_code == 200 and "退款多久到账" in text and 'class="bot-cited"' in text
    client.post("/help/acme/bot/ask/", {"question": "x"})
    assert client.post("/help/acme/bot/ask/", {"question": "y"}).status_code == 429
    assert client.post("/help/nope/bot/ask/", {"question": "y"}).status_code == 404


def test_evaluation_figures_hold_on_the_held_out_half(tenant, articles):
    """The held-out half at the shipped threshold (docs/performance.md): wrong < 5 %, in-scope
    correct ≥ 36 % − 6 points (the figure measured, minus a margin), out-of-scope answered ≤ 5 %."""
    topic_of = articles["topics"]
    _tune, test = harness.halves()
    with scope(workspace=tenant.workspace):
        outcomes = harness.run_questions(tenant.workspace, topic_of, test)
    result = harness.score(outcomes, engine.threshold())
    assert result["wrong_overall"] < 0.05, result
    assert result["in_correct"] >= 0.30, result
    assert result["out_answered"] <= 0.05, result
    # Clarifying offers the right article for most of the rest.
    assert result["in_correct"] + result["in_clarified_right"] >= 0.75, result
