import pytest
from django_scopes import scopes_disabled

from kehu.bot.demo import seed as seed_bot
from kehu.bot.models import BotConversation
from kehu.knowledge.demo import seed
from kehu.knowledge.models import Article, ArticleFeedback, ArticleVersion

pytestmark = pytest.mark.django_db


def test_demo_seed(tenant):
    seed(tenant.workspace.slug)
    seed_bot(tenant.workspace.slug)
    with scopes_disabled():
        articles = Article.objects.filter(workspace=tenant.workspace)
        public = articles.filter(status="published", visibility="public")
        assert public.filter(language="zh-hans").count() == public.filter(language="en").count() == 11
        assert articles.filter(visibility="internal").count() == 2
        assert (
            ArticleVersion.objects.filter(
                article__status="draft", article__workspace=tenant.workspace
            ).count()
            == 3
        )
        assert ArticleFeedback.objects.filter(workspace=tenant.workspace).exists()
        conversations = BotConversation.objects.filter(workspace=tenant.workspace)
        assert conversations.count() == 5
        assert conversations.filter(outcome="answered").count() >= 2
        assert conversations.filter(ticket_number__isnull=False).count() == 1
