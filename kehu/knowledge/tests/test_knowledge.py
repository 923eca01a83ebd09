"""Knowledge base: services (versions, translations, index), search (zh, en, mixed), rendering, API
permissions and isolation, the public help centre."""

import pytest

from kehu.audit.models import AuditEntry
from kehu.core.errors import PermissionDenied, ValidationFailed
from kehu.knowledge import services
from kehu.knowledge.models import Article, ArticleTerm, ArticleVersion
from kehu.knowledge.rendering import render_body, sanitise_html
from kehu.knowledge.search import search_articles, suggest_for_ticket
from kehu.knowledge.text import stem, terms

pytestmark = pytest.mark.django_db


def make(actor, **values):
    values.setdefault("status", "published")
    values.setdefault("visibility", "public")
    return services.create_article(actor, **values)


@pytest.fixture
def kb(tenant):
    admin = tenant.actors["admin"]
    with tenant.scope():
        invoice_zh = make(
            admin,
            title="如何开具发票",
            language="zh-hans",
            body="下单时在“发票”中填写抬头和税号，电子发票发送到您的邮箱。",
        )
        invoice_en = make(
            admin,
            title="Getting an invoice",
            language="en",
            translation_of=invoice_zh.pk,
            body="Enter the invoice title and tax number when you order; we email the e-invoice.",
        )
        refund = make(
            admin,
            title="退款多久到账",
            language="zh-hans",
            body="仓库收到退货后 1 个工作日内发起退款，支付宝当天到账，银行卡 3–7 个工作日。",
        )
        password = make(
            admin,
            title="Forgotten password",
            language="en",
            body="Click Forgot password on the login page and enter the code we text you.",
        )
        internal = make(
            admin,
            title="内部：退款审批流程",
            language="zh-hans",
            visibility="internal",
            body="超过 500 元的退款需要主管审批。",
        )
        draft = make(admin, title="草稿：发票新规", language="zh-hans", status="draft", body="发票 新规 草稿")
    return {
        "invoice_zh": invoice_zh,
        "invoice_en": invoice_en,
        "refund": refund,
        "password": password,
        "internal": internal,
        "draft": draft,
    }


# --- text and rendering ----------------------------------------------------------------------------


def test_terms_cut_chinese_into_words_and_bigrams_and_stem_english():
    found = terms("我想开发票")
    assert "开发票" in found and "~发票" in found  # jieba keeps 开发票 whole: the bigram still matches 发票
    assert "我" not in found and "~我想" not in found  # function words dropped
    assert terms("Refunds refunded shipping") == ["refund", "refund", "ship"]
    assert stem("invoices") == stem("invoicing") == "invoic"


def test_rendering_escapes_text_and_sanitises_html():
    html = render_body(
        "## Steps\n\n- one **two**\n- <script>x</script>\n\n[site](https://example.com)", "text"
    )
    assert "<h2>Steps</h2>" in html and "<strong>two</strong>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<a href="https://example.com" rel="nofollow noopener noreferrer">site</a>' in html
    assert render_body("[x](javascript:alert(1))", "text").count("<a") == 0
    clean = sanitise_html(
        '<p onclick="x()">Hi<script>alert(1)</script><a href="javascript:x">l</a>'
        "<img src=x onerror=y><iframe>z</iframe></p>"
    )
    assert clean == "<p>Hi<a>l</a></p>"


# --- services --------------------------------------------------------------------------------------


def test_every_save_keeps_a_version_and_restore_makes_a_new_one(tenant, kb):
    admin = tenant.actors["admin"]
    with tenant.scope():
        article = kb["password"]
        services.update_article(admin, article, body="Use the Reset link in the email.")
        services.update_article(admin, article, visibility="public")  # no content change: no version
        assert article.version == 2
        assert list(ArticleVersion.objects.filter(article=article).values_list("number", flat=True)) == [2, 1]
        services.restore_version(admin, article, 1)
        article.refresh_from_db()
        assert article.version == 3 and "Forgot password" in article.body
        assert (
            AuditEntry.objects.filter(object_type="knowledge.article", object_id=str(article.pk)).count() >= 3
        )


def test_translations_share_a_group_and_survive_deleting_the_first(tenant, kb):
    admin = tenant.actors["admin"]
    with tenant.scope():
        assert kb["invoice_en"].group_id == kb["invoice_zh"].pk
        assert services.translations(kb["invoice_zh"]) == [kb["invoice_en"]]
        services.delete_article(admin, kb["invoice_zh"])
        kb["invoice_en"].refresh_from_db()
        assert kb["invoice_en"].group_id == kb["invoice_en"].pk


def test_index_follows_status_and_content(tenant, kb):
    admin = tenant.actors["admin"]
    with tenant.scope():
        assert not ArticleTerm.objects.filter(article=kb["draft"]).exists()  # drafts are not searchable
        services.publish(admin, kb["draft"])
        assert ArticleTerm.objects.filter(article=kb["draft"], term="发票").exists()
        services.update_article(admin, kb["draft"], status="draft")
        assert not ArticleTerm.objects.filter(article=kb["draft"]).exists()


def test_permissions_and_validation(tenant, kb):
    with tenant.scope():
        with pytest.raises(PermissionDenied):
            services.create_article(tenant.actors["marketing"], title="x")
        with pytest.raises(ValidationFailed) as failed:
            services.create_article(tenant.actors["service"], title="", language="fr", nope=1)
        fields = {d.field for d in failed.value.details}
        assert {"title", "language", "nope"} <= fields


def test_feedback_and_views_count(tenant, kb):
    with tenant.scope():
        services.submit_feedback(kb["refund"], helpful=True)
        services.submit_feedback(kb["refund"], helpful=False, comment="  too   short ")
        services.record_view(kb["refund"])
        kb["refund"].refresh_from_db()
        assert (kb["refund"].helpful_yes, kb["refund"].helpful_no, kb["refund"].view_count) == (1, 1, 1)
        assert kb["refund"].feedback.get(helpful=False).comment == "too short"


# --- search ----------------------------------------------------------------------------------------


def test_search_chinese_english_and_mixed(tenant, kb):
    ws = tenant.workspace
    assert search_articles(ws, "发票怎么开")[0].article == kb["invoice_zh"]
    assert search_articles(ws, "钱什么时候退回来，退款到账")[0].article == kb["refund"]
    assert search_articles(ws, "I forgot my password")[0].article == kb["password"]
    assert search_articles(ws, "how do I get an invoice")[0].article == kb["invoice_en"]
    mixed = search_articles(ws, "invoice 发票")
    assert {h.article for h in mixed[:2]} == {kb["invoice_zh"], kb["invoice_en"]}
    assert (
        search_articles(ws, "发票", language="en")[0].article == kb["invoice_en"]
        if search_articles(ws, "发票", language="en")
        else True
    )
    assert search_articles(ws, "") == [] and search_articles(ws, "的了吗") == []


def test_search_filters_visibility_drafts_and_other_workspaces(tenant, other_tenant, kb):
    ws = tenant.workspace
    titles = [h.article.title for h in search_articles(ws, "退款", limit=10)]
    assert "内部：退款审批流程" in titles
    public = [h.article.title for h in search_articles(ws, "退款", public_only=True, limit=10)]
    assert "内部：退款审批流程" not in public and "退款多久到账" in public
    assert all("草稿" not in h.article.title for h in search_articles(ws, "发票 新规", limit=10))
    assert search_articles(other_tenant.workspace, "发票") == []


def test_confidence_is_high_for_a_close_question_and_low_for_an_unrelated_one(tenant, kb):
    good = search_articles(tenant.workspace, "退款多久能到账？")[0]
    assert 0 < good.confidence <= 1
    unrelated = search_articles(tenant.workspace, "退货的快递员态度")
    assert not unrelated or unrelated[0].confidence < good.confidence


def test_suggest_for_ticket_includes_internal_articles(tenant, kb):
    hits = suggest_for_ticket(tenant.workspace, "退款审批", "客户要求退款 800 元")
    assert kb["internal"] in [h.article for h in hits]


def test_search_reads_few_queries(tenant, kb, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):  # stats, postings, the articles
        search_articles(tenant.workspace, "发票 invoice 退款 password")


# --- API -------------------------------------------------------------------------------------------


def test_api_crud_search_and_versions(tenant):
    client = tenant.api_client("service")
    created = client.post(
        "/api/v1/kb/articles",
        {"title": "Change your email", "language": "en", "body": "Open Settings.", "status": "published"},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    changed = client.patch(
        f"/api/v1/kb/articles/{pk}", {"body": "Open Account settings."}, content_type="application/json"
    )
    assert changed.json()["version"] == 2
    assert [v["number"] for v in client.get(f"/api/v1/kb/articles/{pk}/versions").json()] == [2, 1]
    assert client.post(f"/api/v1/kb/articles/{pk}/versions/1/restore").json()["body"] == "Open Settings."
    hits = client.get("/api/v1/kb/articles/search", {"q": "change email"}).json()
    assert hits[0]["id"] == pk and hits[0]["confidence"] > 0
    listed = client.get("/api/v1/kb/articles", {"language": "en"}).json()
    assert [a["id"] for a in listed["items"]] == [pk]
    assert (
        client.post(
            "/api/v1/kb/articles", {"title": "x", "bogus": 1}, content_type="application/json"
        ).status_code
        == 422
    )


def test_api_permissions_and_isolation(tenant, other_tenant, kb):
    marketing = tenant.api_client("marketing")  # no service rights
    assert marketing.get(f"/api/v1/kb/articles/{kb['refund'].pk}").status_code == 404
    assert (
        marketing.post("/api/v1/kb/articles", {"title": "x"}, content_type="application/json").status_code
        == 403
    )
    readonly = tenant.api_client("readonly")
    assert readonly.get(f"/api/v1/kb/articles/{kb['refund'].pk}").status_code == 200
    assert readonly.delete(f"/api/v1/kb/articles/{kb['refund'].pk}").status_code == 403
    other = other_tenant.api_client("admin")
    assert other.get(f"/api/v1/kb/articles/{kb['refund'].pk}").status_code == 404
    assert (
        other.patch(
            f"/api/v1/kb/articles/{kb['refund'].pk}", {"title": "x"}, content_type="application/json"
        ).status_code
        == 404
    )
    assert other.get("/api/v1/kb/articles/search", {"q": "退款"}).json() == []
    assert other.get("/api/v1/kb/articles").json()["items"] == []


# --- web pages and the public help centre ----------------------------------------------------------


def test_member_pages(tenant, kb):
    client = tenant.web_client("service")
    assert "退款多久到账" in client.get("/knowledge/").content.decode()
    page = client.get(f"/knowledge/{kb['invoice_zh'].pk}/").content.decode()
    assert "Getting an invoice" in page  # the translation is linked
    response = client.post(
        "/knowledge/new/",
        {
            "title": "新文章",
            "language": "zh-hans",
            "body_format": "text",
            "body": "正文",
            "visibility": "public",
            "status": "draft",
        },
    )
    assert response.status_code == 302
    with tenant.scope():
        article = Article.objects.get(title="新文章")
    response = client.post(
        f"/knowledge/{article.pk}/edit/",
        {
            "title": "新文章",
            "language": "zh-hans",
            "body_format": "text",
            "body": "第二版",
            "visibility": "public",
            "status": "published",
        },
    )
    assert response.status_code == 302
    assert "正文" in client.get(f"/knowledge/{article.pk}/versions/1/").content.decode()
    client.post(f"/knowledge/{article.pk}/versions/1/restore/")
    with tenant.scope():
        article.refresh_from_db()
        assert article.body == "正文" and article.version == 3


def test_help_centre_is_public_and_shows_only_public_articles(client, tenant, other_tenant, kb):
    with other_tenant.scope():
        make(other_tenant.actors["admin"], title="Globex 的退款说明", language="zh-hans", body="退款")
    home = client.get("/help/acme/?lang=zh-hans")
    assert home.status_code == 200
    text = home.content.decode()
    assert "退款多久到账" in text and "内部" not in text and "草稿" not in text and "Globex" not in text
    assert client.get(f"/help/acme/a/{kb['internal'].pk}/").status_code == 404
    assert client.get(f"/help/acme/a/{kb['draft'].pk}/").status_code == 404
    assert client.get(f"/help/globex/a/{kb['refund'].pk}/").status_code == 404  # other workspace's slug
    assert client.get("/help/nope/").status_code == 404
    page = client.get(f"/help/acme/a/{kb['refund'].pk}/")
    assert page.status_code == 200 and "退款多久到账" in page.content.decode()
    search = client.get("/help/acme/search/", {"q": "退款"}).content.decode()
    assert "退款多久到账" in search and "审批" not in search
    globex = client.get("/help/globex/search/", {"q": "退款"}).content.decode()
    assert "Globex 的退款说明" in globex and "退款多久到账" not in globex
    with tenant.scope():
        kb["refund"].refresh_from_db()
        assert kb["refund"].view_count == 1


def test_help_feedback_is_rate_limited(client, tenant, kb, settings):
    settings.KB_FEEDBACK_RATE_LIMIT = 2
    url = f"/help/acme/a/{kb['refund'].pk}/feedback/"
    assert client.post(url, {"helpful": "yes"}).status_code == 302
    assert client.post(url, {"helpful": "no"}).status_code == 302
    assert client.post(url, {"helpful": "yes"}).status_code == 429
    assert client.post(f"/help/acme/a/{kb['internal'].pk}/feedback/", {"helpful": "yes"}).status_code == 404
    with tenant.scope():
        kb["refund"].refresh_from_db()
        assert (kb["refund"].helpful_yes, kb["refund"].helpful_no) == (1, 1)


def test_page_query_counts_do_not_grow_with_articles(client, tenant, kb, django_assert_max_num_queries):
    admin = tenant.actors["admin"]
    with tenant.scope():
        category = services.create_category(admin, name="订单")
        for i in range(15):
            make(admin, title=f"订单问题 {i}", language="zh-hans", category_id=category.pk, body="订单 说明")
    with django_assert_max_num_queries(3):  # the workspace, categories with counts, the articles
        assert client.get("/help/acme/?lang=zh-hans").status_code == 200
    member = tenant.web_client("service")
    member.get("/knowledge/")  # warm the session and list-view state
    with django_assert_max_num_queries(25):
        assert member.get("/knowledge/").status_code == 200
