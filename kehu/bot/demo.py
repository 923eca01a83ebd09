"""Demo help centre and bot: 22 public articles (11 topics in Chinese and English, from the bot's
evaluation knowledge base) with feedback, and a few conversations: answered, clarified, handed over
(a ticket), so the help centre, the widget and the deflection rate have something to show."""

from django_scopes import scope

from kehu.knowledge import services as kb
from kehu.knowledge.models import Article
from kehu.workspaces.models import Membership, Workspace
from kehu.workspaces.services import actor_for

from . import services
from .evaluation.harness import load_kb

TOPICS = [
    "order_status",
    "cancel_order",
    "delivery_time",
    "shipping_fee",
    "return_policy",
    "refund_time",
    "invoice_request",
    "vat_invoice",
    "reset_password",
    "payment_methods",
    "warranty",
]
QUESTIONS = [
    ("退款多久能到账？", ""),
    ("How long does delivery take to Beijing?", ""),
    ("发票怎么开", ""),
    ("I forgot my password, how do I reset it?", ""),
    ("可以用花呗吗", "转人工"),
]


def seed(slug: str) -> None:
    workspace = Workspace.objects.get(slug=slug)
    with scope(workspace=workspace):
        owner = Membership.objects.select_related("user").filter(role__key="owner").first()
        actor = actor_for(owner.user, workspace)
        ids = load_kb(actor, TOPICS)
        for n, article in enumerate(Article.objects.filter(pk__in=ids).order_by("pk")):
            for i in range(n % 4):
                kb.submit_feedback(article, helpful=i != 2)
    for question, follow_up in QUESTIONS:
        reply = services.ask(workspace, question, channel="widget", email="wang.fang@example.cn")
        if follow_up:
            services.ask(workspace, follow_up, conversation_id=reply.conversation_id)
