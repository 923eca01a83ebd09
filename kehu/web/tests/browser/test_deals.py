"""The pipeline board as a seller uses it: drag a deal to the next stage, see the totals follow and the
stage history record it; a move the stage's rules refuse snaps back with the reason shown."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_drag_a_deal_through_the_board(page, live_server, tenant, login, problems):
    from kehu.customers import services as customers
    from kehu.deals import services
    from kehu.deals.models import StageChange

    with tenant.scope():
        sales = tenant.actors["sales"]
        account = customers.create_account(sales, name="上海明远贸易")
        opp = services.create_opportunity(sales, name="CRM 部署", account_id=account.pk, amount=1000)
        services.create_opportunity(sales, name="培训项目", account_id=account.pk, amount=500)
        pipeline = services.default_pipeline(tenant.workspace)
        qualification, analysis, proposal, negotiation = list(pipeline.stages.order_by("position"))[:4]
    login(tenant.users["sales"])
    page.select_option("#language-select", "en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto(f"{live_server.url}/deals/board/{pipeline.pk}/")

    first = page.locator(f"#col-{qualification.pk}")
    second = page.locator(f"#col-{analysis.pk}")
    expect(first.locator("[data-total=count]")).to_have_text("2")
    expect(first.locator("[data-total=amount]")).to_contain_text("1,500.00")
    expect(second.locator("[data-total=count]")).to_have_text("0")

    page.drag_and_drop(f"#deal-{opp.pk}", f"#col-{analysis.pk} .board-cards")
    expect(second.locator(f"#deal-{opp.pk}")).to_be_visible()
    expect(second.locator("[data-total=count]")).to_have_text("1")
    expect(second.locator("[data-total=amount]")).to_contain_text("1,000.00")
    expect(second.locator("[data-total=weighted]")).to_contain_text("200.00")  # 1,000 × 20 %
    expect(first.locator("[data-total=count]")).to_have_text("1")
    expect(first.locator("[data-total=amount]")).to_contain_text("500.00")

    # Negotiation needs an expected close date: refused, the card snaps back, the reason is shown.
    page.drag_and_drop(f"#deal-{opp.pk}", f"#col-{negotiation.pk} .board-cards")
    expect(page.locator(".toast-error")).to_contain_text("expected close date")
    expect(second.locator(f"#deal-{opp.pk}")).to_be_visible()
    expect(page.locator(f"#col-{negotiation.pk} [data-total=count]")).to_have_text("0")

    # After a reload the board and the deal's stage history agree.
    page.reload()
    expect(page.locator(f"#col-{analysis.pk} #deal-{opp.pk}")).to_be_visible()
    page.click(f"#deal-{opp.pk} a")
    expect(page.locator("#stage-history tbody tr")).to_have_count(2)
    # Stage names are the workspace's data, named in its language when the pipeline was made.
    expect(page.locator("#stage-history tbody tr").first).to_contain_text(analysis.name)
    with tenant.scope():
        assert list(
            StageChange.objects.filter(opportunity=opp)
            .order_by("changed_at")
            .values_list("to_stage_id", flat=True)
        ) == [qualification.pk, analysis.pk]
        assert proposal.pk  # untouched
    assert [p for p in problems.items if "422" not in p] == []


def test_board_scrolls_sideways_on_a_phone(page, live_server, tenant, login):
    from kehu.deals import services

    with tenant.scope():
        pipeline = services.default_pipeline(tenant.workspace)
    page.set_viewport_size({"width": 390, "height": 844})
    login(tenant.users["sales"])
    page.goto(f"{live_server.url}/deals/board/{pipeline.pk}/")
    board = page.locator("#board")
    widths = board.evaluate("b => [b.scrollWidth, b.clientWidth]")
    assert widths[0] > widths[1]  # the columns overflow and scroll inside the board
    assert page.evaluate("document.documentElement.scrollWidth") <= 400  # the page itself does not
