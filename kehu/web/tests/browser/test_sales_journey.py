"""The sales journey of issue 4 in a real browser, across the sales apps: the public web form → the
rep's lead with its rule-based score reason → convert with an opportunity → drag the card on the
board → a quote with a line, sent and accepted → the order on the account page → closed won on the
sales dashboard. The same journey with exact figures through the API: kehu/forecast/tests/
test_sales_journey.py.

By hand: the deal is 12,000.00 CNY; the quote is one line 10 × 1,200.00 with 13 % tax → net
12,000.00, tax 1,560.00, total 13,560.00 (the order's total); closed won on the dashboard = the
deal's amount, 12,000.00 in 1 deal; the funnel: 1 lead → 1 qualified → 1 opportunity → 1 won.
"""

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Form rate-limit counters and the scoring app's per-process rule cache (ids are reused)."""
    from kehu.scoring import services as scoring

    cache.clear()
    scoring._CONFIG.clear()
    yield
    cache.clear()
    scoring._CONFIG.clear()


def test_lead_to_won_order_in_the_browser(page, live_server, tenant, login, problems):
    from kehu.deals import services as deals
    from kehu.deals.models import Opportunity
    from kehu.leads import services as leads
    from kehu.leads.models import Lead
    from kehu.scoring import services as scoring

    admin, rep = tenant.actors["admin"], tenant.users["sales"]
    with tenant.scope():
        leads.create_rule(
            admin,
            name="上海",
            conditions=[{"field": "city", "op": "eq", "value": "上海"}],
            user_id=rep.pk,
        )
        scoring.create_rule(admin, kind="fit", field="industry", operator="eq", value="Software", points=20)
        form = leads.create_form(
            admin,
            name="联系我们",
            fields=["name", "company", "email", "city", "industry"],
            required_fields=["name", "email"],
            thank_you_text="谢谢，我们会尽快联系您。",
        )
        pipeline = deals.default_pipeline(tenant.workspace)
        qualification, analysis = list(pipeline.stages.order_by("position"))[:2]

    # 1. A visitor fills the hosted form (no account, Chinese browser).
    page.goto(f"{live_server.url}/f/{form.token}")
    page.fill("#id_name", "王磊")
    page.fill("#id_company", "星云软件有限公司")
    page.fill("#id_email", "wanglei@xingyun.example.com")
    page.fill("#id_city", "上海")
    page.fill("#id_industry", "Software")
    page.click("#public-submit")
    expect(page.locator("#form-thanks")).to_contain_text("谢谢")
    with tenant.scope():
        lead = Lead.objects.get(email="wanglei@xingyun.example.com")
        assert lead.owner_id == rep.pk  # the Shanghai rule

    # 2. The rep (in English) opens the lead: assigned to them, scored 20 with the rule as the reason.
    login(rep)
    page.select_option("#language-select", "en")
    expect(page.locator("html")).to_have_attribute("lang", "en")  # the switch reloads the page
    page.goto(f"{live_server.url}/leads/")
    page.click("#lead-rows a:has-text('王磊')")
    expect(page.locator("#lead-owner")).to_contain_text(str(rep))
    expect(page.locator("#lead-score-value")).to_have_text("20")
    expect(page.locator("#lead-score-reasons")).to_contain_text("+20 Industry is Software")
    # The first-contact task was written during the visitor's (Chinese) request: its title is data,
    # in Chinese, whatever language the rep reads the page in.
    expect(page.locator(".panels")).to_contain_text("首次联系：王磊")

    # 3. Qualify, then convert with an opportunity of 12,000.
    page.click("#record-edit")
    page.select_option("#id_status", "qualified")
    page.click("#lead-form button[type=submit]")
    page.click("#lead-convert")
    page.check("#id_create_opportunity")
    page.fill("#id_opportunity_name", "星云 CRM")
    page.fill("#id_amount", "12000")
    page.click("#convert-submit")
    page.wait_for_url(f"{live_server.url}/contacts/**")
    expect(page.locator("#record-title")).to_contain_text("王磊")
    with tenant.scope():
        lead.refresh_from_db()
        opp = Opportunity.objects.get(pk=lead.converted_opportunity_id)
        account_id = opp.account_id
        assert (opp.stage_id, opp.amount, opp.owner_id) == (qualification.pk, 12000, rep.pk)

    # 4. The board: drag the card from Qualification to Needs analysis; the column totals follow.
    page.goto(f"{live_server.url}/deals/board/{pipeline.pk}/")
    expect(page.locator(f"#col-{qualification.pk} #deal-{opp.pk}")).to_be_visible()
    page.drag_and_drop(f"#deal-{opp.pk}", f"#col-{analysis.pk} .board-cards")
    second = page.locator(f"#col-{analysis.pk}")
    expect(second.locator(f"#deal-{opp.pk}")).to_be_visible()
    expect(second.locator("[data-total=count]")).to_have_text("1")
    expect(second.locator("[data-total=weighted]")).to_contain_text("2,400.00")  # 12,000 × 20 %
    with tenant.scope():
        opp.refresh_from_db()
        assert opp.stage_id == analysis.pk

    # 5. A quote from the deal's page: one line added with htmx, saved, sent, accepted.
    page.click(f"#deal-{opp.pk} a")
    expect(page.locator("#deal-status")).to_have_text("Open")
    page.click("#quote-new")
    expect(page.locator("#quote-form")).to_be_visible()
    page.click("#add-line")
    expect(page.locator("#quote-lines tr.quote-line")).to_have_count(1)
    page.fill("#id_lines-0-description", "CRM 订阅 Subscription")
    page.fill("#id_lines-0-quantity", "10")
    page.fill("#id_lines-0-unit_price", "1200")
    page.fill("#id_lines-0-tax_rate", "13")
    expect(page.locator("#total-total")).to_have_text("13,560.00 CNY")  # 12,000.00 + 13 % tax
    page.click("#quote-save")
    expect(page.locator("#quote-status")).to_have_text("Draft")
    page.click("#quote-send")
    expect(page.locator("#quote-status")).to_have_text("Sent")
    page.click("#quote-accept")
    expect(page.locator("#quote-status")).to_have_text("Accepted")
    order_number = page.locator("#quote-order").inner_text()
    assert order_number.startswith("SO-")

    # 6. The order on the account page (purchase history of the 360° view); the deal is won.
    page.goto(f"{live_server.url}/accounts/{account_id}/")
    expect(page.locator("#panel-purchases")).to_contain_text(order_number)
    expect(page.locator("#panel-purchases")).to_contain_text("13,560.00")
    page.goto(f"{live_server.url}/opportunities/{opp.pk}/")
    expect(page.locator("#deal-status")).to_have_text("Won")

    # 7. The sales dashboard of the current quarter: closed won is the deal's amount, in one deal,
    # and the funnel (loaded with htmx) shows the lead won.
    page.goto(f"{live_server.url}/sales/")
    expect(page.locator("#kpi-won")).to_contain_text("12,000.00")
    expect(page.locator("#kpi-won")).to_contain_text("1 deals")
    expect(page.locator("#funnel-chart-desc")).to_contain_text("Won: 1")
    assert problems.items == []
