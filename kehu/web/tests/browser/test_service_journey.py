"""Issue 6's acceptance journey in a real browser, on real mail servers (Dovecot in, aiosmtpd out):

a customer's mail is polled into a ticket matched to the contact and routed to the invoice queue's agent,
who finds it in "My open tickets", answers on the ticket page (the customer receives the reply by SMTP)
and sets it pending (the SLA clock pauses); the customer's answer by mail resumes the clock with the due
date moved; the escalation job warns, then escalates the breach (reassigned to the manager, priority
raised, both notified); the manager resolves it in the browser; the CSAT invitation arrives by SMTP, the
customer clicks a rating in it and comments; the rating shows on the ticket and on the contact's and the
account's 360° pages.

Times are Shanghai wall-clock on a Mon–Fri 09:00–18:00 calendar (540 business minutes a day); the
policy gives 240 business minutes to the first response and 600 to the resolution, warning at 80 %:

- Mon 23 Nov 10:00 the mail arrives: first response due 10:00 + 240 = 14:00; resolution due 480 on
  Monday (10:00–18:00) + 120 on Tuesday = Tue 11:00.
- Mon 11:00 the agent answers (first response in time) and sets "pending": the clock stops.
- Tue 10:00 the customer answers: paused Mon 11:00–18:00 = 420 + Tue 09:00–10:00 = 60 → 480 minutes;
  the resolution due moves from Tue 11:00 by 480: Tue 11:00–18:00 = 420, 60 more from Wed 09:00 →
  Wed 25 Nov 10:00.
- Tue 17:00: 120 business minutes before that (Tue 17–18, Wed 09–10), i.e. 480 of 600 used → warning.
- Wed 10:00: breach → escalation. Wed 11:00 resolved; 11:30 the customer rates 4 of 5.

The clock is ``timezone.now`` patched for the whole process, so the live server's requests and the
jobs the test runs (the scheduler's mailbox poll and SLA escalation) read the same time.
"""

import re
from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from playwright.sync_api import expect

from kehu.mailboxes.tests.mails import mime_mail
from kehu.tickets.tests import conftest as tickets_fixtures

from .conftest import PageProblems

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
# The tickets tests' settable clock (``timezone.now``) and their Mon–Fri 09:00–18:00 Shanghai calendar
# with the policy "Standard": first response in 240 business minutes, resolution in 600.
clock, calendar, policy = tickets_fixtures.clock, tickets_fixtures.calendar, tickets_fixtures.policy
SH = ZoneInfo("Asia/Shanghai")
CUSTOMER = "zhang.wei@customer.test"
SUPPORT = "support@acme.test"
SUBJECT = "订单 1234 的发票问题"
ASKED = "你好，我的发票抬头写错了，请帮忙更正。"
FIRST_REPLY = "您好，请提供正确的发票抬头和税号，我们收到后马上重开。"
ANSWERED = "抬头是：华东贸易有限公司，税号 91310000123456789X。"
LAST_REPLY = "已按新抬头重开发票，电子发票已发送到您的邮箱。"
COMMENT = "回复很及时，发票问题解决了，谢谢！"
AGENT, MANAGER = "王芳", "刘强"


def sh(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SH)


def zh(text) -> str:
    """A label as the pages show it: the browser asks for Chinese."""
    with translation.override("zh-hans"):
        return str(text)


def workspace_text(tenant, message: str, **values) -> str:
    """A text the jobs write in the workspace's language (notifications, timeline entries)."""
    with translation.override(tenant.workspace.default_language):
        return _(message) % {k: str(v) for k, v in values.items()}


@pytest.fixture
def desk(tenant, mail_servers, settings, live_server, clock, policy):
    """The service desk of Acme: the support mailbox on the local Dovecot, the SLA policy escalating on
    breach (notify the assignee and the team's managers, reassign to the manager, raise the priority),
    three routing rules of which the invoice-keyword rule is the one that matches, and the customer
    张伟 of 华东贸易 whose address the mail comes from."""
    from kehu.customers import services as customers
    from kehu.mailboxes import services as mailboxes
    from kehu.sla import services as sla
    from kehu.tickets import services as tickets
    from kehu.tickets.models import RoutingRule
    from kehu.users.models import User
    from kehu.workspaces.models import Team

    imap, smtp = mail_servers
    [(login, password)] = imap.users.items()
    settings.SITE_URL = live_server.url  # the CSAT mail links to this server
    owner, agent, manager = tenant.actors["owner"], tenant.users["service"], tenant.users["manager"]
    User.objects.filter(pk=agent.pk).update(name=AGENT)
    User.objects.filter(pk=manager.pk).update(name=MANAGER)
    workspace = tenant.workspace
    with tenant.scope():
        account = customers.create_account(owner, name="华东贸易有限公司")
        contact = customers.create_contact(owner, name="张伟", email=CUSTOMER, account_id=account.pk)
        mailbox = mailboxes.create_mailbox(
            owner,
            name="Acme 客服",
            address=SUPPORT,
            imap_host=imap.host,
            imap_port=imap.port,
            imap_ssl=False,
            imap_user=login,
            password=password,
        )
        sla.update_policy(
            owner,
            policy,
            escalation={
                "notify": ["assignee", "team_manager"],
                "reassign_to_user": manager.pk,
                "raise_priority": True,
            },
        )
        phone = Team.objects.create(workspace=workspace, name="电话客服")
        invoices = Team.objects.create(workspace=workspace, name="账务客服")
        invoices.members.set([agent, manager])
        first_line = Team.objects.create(workspace=workspace, name="一线客服")
        tickets.create_rule(owner, name="Phone", conditions={"channel": ["phone"]}, team_id=phone.pk)
        tickets.create_rule(
            owner,
            name="Invoices",
            conditions={"keywords": ["发票", "invoice"]},
            team_id=invoices.pk,
            assignment=RoutingRule.Assignment.USER,
            user_id=agent.pk,
        )
        tickets.create_rule(
            owner, name="Other mail", conditions={"channel": ["email"]}, team_id=first_line.pk
        )
    return SimpleNamespace(
        imap=imap,
        smtp=smtp,
        login=login,
        clock=clock,
        mailbox=mailbox,
        account=account,
        contact=contact,
        invoices=invoices,
        agent=agent,
        manager=manager,
    )


def poll(tenant, desk) -> dict:
    """The scheduler's mailbox job for the workspace (run at once here): this mailbox's counts."""
    from kehu.mailboxes.tasks import poll_mailboxes

    counts = poll_mailboxes.enqueue(tenant.workspace.pk).return_value[desk.mailbox.pk]
    return {k: counts[k] for k in ("fetched", "opened", "added", "ignored", "error")}


def escalate(tenant) -> dict:
    """The scheduler's SLA escalation job for the workspace (run at once here)."""
    from kehu.tickets.escalation import escalate_tickets

    return escalate_tickets.enqueue(tenant.workspace.pk).return_value


def fetch(tenant, pk: int):
    from kehu.tickets.models import Ticket

    with tenant.scope():
        return Ticket.objects.get(pk=pk)


def bell(page, count: int) -> list[tuple[str, str]]:
    """Open the notification menu (loaded by htmx) showing ``count`` unread: (label, text) of each."""
    menu = page.locator("#notifications")
    expect(menu.locator("#bell-count")).to_have_text(str(count))
    menu.locator("summary").click()
    items = menu.locator(".notification")
    expect(items).to_have_count(count)
    return sorted((i.locator(".badge").inner_text(), i.locator("a").inner_text()) for i in items.all())


def test_mail_to_csat_on_the_360_page(
    page, browser, browser_context_args, live_server, tenant, login, problems, desk
):
    from kehu.surveys.models import Invitation, SurveyResponse
    from kehu.tickets.models import Ticket

    url, smtp, imap = live_server.url, desk.smtp, desk.imap
    status = {value: zh(label) for value, label in Ticket.Status.choices}
    priority = {value: zh(label) for value, label in Ticket.Priority.choices}

    # --- Mon 10:00: the customer's mail arrives; the scheduler's poll turns it into a routed ticket.
    desk.clock.set(2026, 11, 23, 10, 0)
    imap.deliver(
        desk.login, mime_mail(to=SUPPORT, subject=SUBJECT, body=ASKED, message_id="<inv-1@customer.test>")
    )
    assert poll(tenant, desk) == {"fetched": 1, "opened": 1, "added": 0, "ignored": 0, "error": ""}
    with tenant.scope():
        ticket = Ticket.objects.get()
    n = ticket.number
    assert (ticket.channel, ticket.status, ticket.priority) == ("email", "new", "normal")
    assert (ticket.contact_id, ticket.account_id) == (desk.contact.pk, desk.account.pk)  # matched by address
    assert (ticket.team_id, ticket.owner_id) == (desk.invoices.pk, desk.agent.pk)  # the invoice rule
    assert (ticket.first_response_due_at, ticket.resolution_due_at) == (sh(23, 14), sh(24, 11))

    # The agent finds it in "My open tickets" and opens it.
    login(desk.agent)
    page.goto(f"{url}/tickets/?tab=mine")
    row = page.locator("#ticket-table tbody tr", has_text=SUBJECT)
    expect(row).to_have_count(1)
    expect(row.locator("[data-sla]")).to_have_attribute("data-sla", "ok")
    for text in (f"#{n}", status["new"], priority["normal"], AGENT, "账务客服", "张伟 · 华东贸易有限公司"):
        expect(row).to_contain_text(text)
    row.get_by_role("link", name=SUBJECT).click()
    expect(page.locator("#record-title")).to_have_text(f"#{n} {SUBJECT}")
    expect(page.locator("#ticket-customer")).to_contain_text("张伟 · 华东贸易有限公司")
    expect(page.locator("#ticket-owner")).to_have_text(AGENT)
    expect(page.locator("#ticket-team")).to_have_text("账务客服")
    expect(page.locator("#ticket-status")).to_have_text(status["new"])
    expect(page.locator("#ticket-sla")).to_have_attribute("data-sla", "ok")
    expect(page.locator("#ticket-first-due")).to_have_text("2026年11月23日 14:00")
    expect(page.locator("#ticket-resolution-due")).to_have_text("2026年11月24日 11:00")
    expect(page.locator("#ticket-thread .entry-customer .entry-body")).to_have_text(ASKED)

    # --- Mon 11:00: the agent answers on the ticket page and waits for the customer.
    desk.clock.set(2026, 11, 23, 11, 0)
    page.fill("#id_body", FIRST_REPLY)
    page.select_option("#id_status", "pending")
    page.click("#reply-send")
    expect(page.locator("#ticket-status")).to_have_text(status["pending"])
    expect(page.locator("#ticket-sla")).to_have_attribute("data-sla", "paused")
    expect(page.locator("#ticket-first-due")).to_contain_text("2026年11月23日 11:00")  # answered at
    expect(page.locator("#ticket-thread .entry-reply .entry-body")).to_have_text(FIRST_REPLY)
    [sent] = smtp.wait_for(1, timeout=10)
    reply_mail = sent["message"]
    assert sent["rcpt_tos"] == [CUSTOMER]
    assert reply_mail["Subject"] == f"Re: {SUBJECT} [#{n}]"
    assert reply_mail["From"].addresses[0].addr_spec == SUPPORT
    assert reply_mail["In-Reply-To"] == "<inv-1@customer.test>"
    assert reply_mail.get_body(("plain",)).get_content().strip() == FIRST_REPLY
    ticket = fetch(tenant, ticket.pk)
    assert (ticket.first_responded_at, ticket.sla_paused_at) == (sh(23, 11), sh(23, 11))

    # --- Tue 10:00: the customer answers the reply; the clock resumes with the due date moved by 480.
    desk.clock.set(2026, 11, 24, 10, 0)
    imap.deliver(
        desk.login,
        mime_mail(
            to=SUPPORT,
            subject=f"Re: {SUBJECT} [#{n}]",
            body=ANSWERED,
            message_id="<inv-2@customer.test>",
            in_reply_to=reply_mail["Message-ID"],
            references=f"<inv-1@customer.test> {reply_mail['Message-ID']}",
        ),
    )
    assert poll(tenant, desk) == {"fetched": 1, "opened": 0, "added": 1, "ignored": 0, "error": ""}
    ticket = fetch(tenant, ticket.pk)
    assert (ticket.status, ticket.sla_paused_at, ticket.sla_paused_minutes) == ("open", None, 480)
    assert ticket.resolution_due_at == sh(25, 10)
    page.reload()
    expect(page.locator("#ticket-status")).to_have_text(status["open"])
    expect(page.locator("#ticket-sla")).to_have_attribute("data-sla", "ok")
    expect(page.locator("#ticket-resolution-due")).to_have_text("2026年11月25日 10:00")
    kinds = page.locator("#ticket-thread .entry")
    expect(kinds).to_have_count(3)
    assert [e.get_attribute("data-kind") for e in kinds.all()] == ["customer", "reply", "customer"]
    expect(kinds.nth(2).locator(".entry-body")).to_have_text(ANSWERED)

    # --- Tue 17:00: 480 of 600 minutes used — the escalation job warns (once), not a minute earlier.
    desk.clock.set(2026, 11, 24, 16, 59)
    assert escalate(tenant) == {"warned": 0, "breached": 0}
    desk.clock.set(2026, 11, 24, 17, 0)
    assert escalate(tenant) == {"warned": 1, "breached": 0}
    page.reload()
    expect(page.locator("#ticket-sla")).to_have_attribute("data-sla", "warning")
    warning = workspace_text(
        tenant,
        "Ticket #%(n)s: the %(target)s is due at %(due)s — %(subject)s",
        n=n,
        target=workspace_text(tenant, "resolution"),
        due="2026-11-25 10:00",
        subject=SUBJECT,
    )
    assigned = workspace_text(tenant, "Ticket #%(n)s is yours: %(subject)s", n=n, subject=SUBJECT)
    labels = {
        verb: zh(gettext_lazy(verb)) for verb in ("assigned a ticket to you", "SLA warning", "SLA breached")
    }
    assert bell(page, 2) == sorted(
        [(labels["assigned a ticket to you"], assigned), (labels["SLA warning"], warning)]
    )

    # --- Wed 10:00: the resolution target is breached — escalated: reassigned, priority raised, notified.
    desk.clock.set(2026, 11, 25, 9, 59)
    assert escalate(tenant) == {"warned": 0, "breached": 0}
    desk.clock.set(2026, 11, 25, 10, 0)
    assert escalate(tenant) == {"warned": 0, "breached": 1}
    assert escalate(tenant) == {"warned": 0, "breached": 0}  # once
    ticket = fetch(tenant, ticket.pk)
    assert (ticket.sla_breached_at, ticket.escalated_at) == (sh(25, 10), sh(25, 10))
    assert (ticket.owner_id, ticket.team_id, ticket.priority) == (desk.manager.pk, desk.invoices.pk, "high")
    breach = workspace_text(
        tenant,
        "Ticket #%(n)s breached its %(target)s target — %(subject)s",
        n=n,
        target=workspace_text(tenant, "resolution"),
        subject=SUBJECT,
    )
    page.reload()
    expect(page.locator("#ticket-sla")).to_have_attribute("data-sla", "breached")
    expect(page.locator("#ticket-priority")).to_have_text(priority["high"])
    expect(page.locator("#ticket-owner")).to_have_text(MANAGER)
    # The answered first-response target stays on the page although the new priority re-chose the policy.
    expect(page.locator("#ticket-first-due")).to_contain_text("2026年11月23日 14:00")
    expect(page.locator("#ticket-first-due")).to_contain_text("2026年11月23日 11:00")
    # The agent who lost the ticket hears of it too.
    assert bell(page, 3) == sorted(
        [
            (labels["assigned a ticket to you"], assigned),
            (labels["SLA warning"], warning),
            (labels["SLA breached"], breach),
        ]
    )

    # --- Wed 11:00: the manager, now the assignee, sees it breached in the queue and resolves it.
    desk.clock.set(2026, 11, 25, 11, 0)
    boss = browser.new_context(**browser_context_args).new_page()
    boss_problems = PageProblems(boss)
    login(desk.manager, on=boss)
    # The team's manager was warned, then given the ticket and told of the breach.
    assert bell(boss, 3) == sorted(
        [
            (labels["SLA warning"], warning),
            (labels["assigned a ticket to you"], assigned),
            (labels["SLA breached"], breach),
        ]
    )
    boss.goto(f"{url}/tickets/?tab=mine")
    row = boss.locator("#ticket-table tbody tr", has_text=SUBJECT)
    expect(row.locator("[data-sla]")).to_have_attribute("data-sla", "breached")
    for text in (priority["high"], status["open"], MANAGER):
        expect(row).to_contain_text(text)
    row.get_by_role("link", name=SUBJECT).click()
    boss.fill("#id_body", LAST_REPLY)
    boss.select_option("#id_status", "resolved")
    boss.click("#reply-send")
    expect(boss.locator("#ticket-status")).to_have_text(status["resolved"])
    expect(boss.locator("#ticket-thread .entry-reply .entry-body").last).to_have_text(LAST_REPLY)
    ticket = fetch(tenant, ticket.pk)
    assert (ticket.status, ticket.resolved_at, ticket.sla_state()) == ("resolved", sh(25, 11), "breached")

    # The customer receives the answer and the CSAT invitation through the local SMTP server (two jobs
    # after the commit; told apart by the reply's ticket header, not by arrival order).
    mails = smtp.wait_for(3, timeout=10)
    assert len(mails) == 3 and all(m["rcpt_tos"] == [CUSTOMER] for m in mails)
    [answer] = [m["message"] for m in mails[1:] if m["message"]["X-Kehu-Ticket"] == str(n)]
    [invitation_mail] = [m["message"] for m in mails[1:] if m["message"]["X-Kehu-Ticket"] is None]
    assert answer["Subject"] == f"Re: {SUBJECT} [#{n}]"
    assert answer["In-Reply-To"] == "<inv-2@customer.test>"
    assert answer.get_body(("plain",)).get_content().strip() == LAST_REPLY
    with tenant.scope():
        invitation = Invitation.objects.get(ticket=ticket.pk)
    with translation.override(invitation.language or tenant.workspace.default_language):
        assert invitation_mail["Subject"] == _("How did we do? %(ref)s") % {"ref": f"[#{n}]"}
    assert (invitation.contact_id, invitation.email) == (desk.contact.pk, CUSTOMER)
    links = re.findall(
        r"(http://\S+/survey/acme/\S+/\?score=(\d))", invitation_mail.get_body(("plain",)).get_content()
    )
    assert [score for _link, score in links] == ["1", "2", "3", "4", "5"]
    assert all(link.startswith(f"{url}/survey/acme/") for link, _score in links)

    # --- Wed 11:30: the customer opens the mail and clicks the fourth star, then adds a comment.
    desk.clock.set(2026, 11, 25, 11, 30)
    customer = browser.new_context(**browser_context_args).new_page()
    customer_problems = PageProblems(customer)
    customer.set_content(invitation_mail.get_body(("html",)).get_content())
    customer.locator("a[href$='?score=4']").click()
    expect(customer.locator("#survey-thanks")).to_be_visible()
    expect(customer.locator(".survey-choice.on")).to_have_count(4)
    expect(customer.locator("#score-4")).to_have_attribute("aria-current", "true")
    customer.fill("#id_comment", COMMENT)
    customer.click("#comment-submit")
    expect(customer.locator("#comment-saved")).to_be_visible()
    with tenant.scope():
        response = SurveyResponse.objects.get()
    assert (response.score, response.comment) == (4, COMMENT)
    assert (response.ticket_id, response.contact_id, response.account_id) == (
        ticket.pk,
        desk.contact.pk,
        desk.account.pk,
    )
    assert (fetch(tenant, ticket.pk).satisfaction, response.answered_at) == (4, sh(25, 11, 30))

    # --- The agent sees the rating on the ticket and on the contact's and the account's 360° pages.
    page.goto(f"{url}/tickets/{ticket.pk}/")
    expect(page.locator("#ticket-satisfaction")).to_have_text("4/5")
    expect(page.locator("#ticket-status")).to_have_text(status["resolved"])
    for path in (f"/contacts/{desk.contact.pk}/", f"/accounts/{desk.account.pk}/"):
        page.goto(f"{url}{path}")
        panel = page.locator("#panel-satisfaction")
        expect(panel.locator("#latest-csat")).to_have_text(f"4/5 2026-11-25 · [#{n}]")
        expect(panel.locator("#satisfaction-comments")).to_contain_text(COMMENT)
        expect(panel.locator(".sentiment-positive")).to_have_count(1)
        # The whole service story on the timeline: the breach the job logged and the rating.
        timeline = page.locator("#timeline-panel")
        expect(timeline).to_contain_text(
            workspace_text(
                tenant,
                "SLA breached on ticket #%(n)s: %(target)s",
                n=n,
                target=workspace_text(tenant, "resolution"),
            )
        )
        expect(timeline).to_contain_text(
            workspace_text(tenant, "Satisfaction rating %(score)s/5 for %(ticket)s", score=4, ticket=ticket)
        )
    expect(page.locator("#panel-tickets")).to_contain_text(f"#{n} {SUBJECT}")
    state = page.locator("#panel-tickets td.nowrap")
    expect(state).to_have_text(status["resolved"])
    # In the narrow side column the status stays on one line (it wrapped one character a line).
    assert state.evaluate("e => getComputedStyle(e).whiteSpace") == "nowrap"
    data = tenant.api_client("service").get(f"/api/v1/accounts/{desk.account.pk}/360").json()
    assert data["panels"]["satisfaction"]["latest_csat"]["score"] == 4
    assert problems.items == [] and boss_problems.items == [] and customer_problems.items == []
    boss.context.close()
    customer.context.close()
