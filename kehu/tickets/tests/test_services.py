"""Ticket services: opening (numbers, contact matching, timeline), routing, the status machine, SLA
pause/resume on a business calendar, mail threading, auto-close."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kehu.activities.models import ActivityLink
from kehu.audit.models import AuditEntry
from kehu.core.errors import NotFound, PermissionDenied, ValidationFailed
from kehu.customers import services as customers
from kehu.tickets import services
from kehu.tickets.models import RoutingRule, Ticket, TicketCategory, TicketEntry

from .conftest import make_team

SH = ZoneInfo("Asia/Shanghai")


def sh(*args) -> datetime:
    return datetime(*args, tzinfo=SH).astimezone(UTC)


def open_(tenant, role="service", **kw):
    values = {"subject": "打印机无法连接", "description": "从昨天开始就连不上了。", "channel": "email", **kw}
    return services.open_ticket(tenant.actors[role], **values)


# --- opening -----------------------------------------------------------------------------------------


def test_numbers_count_up_per_workspace(tenant, other_tenant):
    with tenant.scope():
        a, b = open_(tenant), open_(tenant)
    with other_tenant.scope():
        c = open_(other_tenant)
    assert (a.number, b.number, c.number) == (1, 2, 1)
    assert a.reference == "[#1]"


def test_sender_email_matches_a_contact_and_its_account(tenant):
    actor = tenant.actors["owner"]
    with tenant.scope():
        account = customers.create_account(actor, name="华东电子", grade="important")
        contact = customers.create_contact(
            actor, name="王芳", email="wang.fang@huadong.cn", account_id=account.pk
        )
        ticket = open_(tenant, sender_email="  Wang.Fang@HUADONG.cn ", sender_name="Wang")
    assert ticket.contact_id == contact.pk and ticket.account_id == account.pk
    assert ticket.requester_email == "wang.fang@huadong.cn"


def test_secondary_email_of_a_contact_matches_too(tenant):
    actor = tenant.actors["owner"]
    with tenant.scope():
        contact = customers.create_contact(
            actor,
            name="Li Lei",
            emails=[{"value": "li@a.cn", "is_primary": True}, {"value": "lilei@home.cn"}],
        )
        ticket = open_(tenant, sender_email="lilei@home.cn")
    assert ticket.contact_id == contact.pk


def test_unknown_sender_keeps_the_address_for_replies(tenant):
    with tenant.scope():
        ticket = open_(tenant, sender_email="new@customer.com", sender_name="New Person")
    assert ticket.contact_id is None and ticket.account_id is None
    assert services.reply_recipient(ticket) == "new@customer.com"
    assert ticket.requester_name == "New Person"


def test_opening_records_the_first_message_on_the_timelines(tenant):
    actor = tenant.actors["owner"]
    with tenant.scope():
        account = customers.create_account(actor, name="Acme Ltd")
        contact = customers.create_contact(actor, name="Ann", email="ann@acme.com", account_id=account.pk)
        ticket = open_(tenant, sender_email="ann@acme.com", message_id="<abc@mail>")
        entry = ticket.entries.get()
        links = set(
            ActivityLink.objects.filter(activity=entry.activity).values_list("object_type", "object_id")
        )
        audited = AuditEntry.objects.filter(object_type="tickets.ticket", object_id=str(ticket.pk)).exists()
    assert entry.kind == "customer" and entry.message_id == "abc@mail"
    assert links == {
        ("tickets.ticket", ticket.pk),
        ("customers.contact", contact.pk),
        ("customers.account", account.pk),
    }
    assert entry.activity.direction == "inbound" and entry.activity.kind == "email"
    assert audited


def test_open_validates_choices_and_category(tenant):
    with tenant.scope(), pytest.raises(ValidationFailed) as failed:
        open_(tenant, priority="asap", type="rant", category="nope", subject=" ")
    fields = {d.field for d in failed.value.details}
    assert {"priority", "type", "category", "subject"} <= fields


def test_open_needs_the_create_right(tenant):
    with tenant.scope(), pytest.raises(PermissionDenied):
        open_(tenant, role="sales")


def test_a_contact_the_actor_cannot_see_is_refused(tenant):
    with tenant.scope():
        contact = customers.create_contact(tenant.actors["owner"], name="Hidden")
        # Marketing may create nothing in service; manager sees only their team's contacts.
        with pytest.raises(ValidationFailed) as failed:
            services.open_ticket(
                tenant.actors["manager"], subject="x", description="", channel="phone", contact=contact
            )
    assert failed.value.details[0].field == "contact_id"


def test_system_actor_opens_tickets_for_public_channels(tenant):
    with tenant.scope():
        ticket = services.open_ticket(
            services.system_actor(tenant.workspace, "support form"),
            subject="Help",
            description="Please",
            channel="web",
            sender_email="a@b.cn",
        )
    assert ticket.created_by is None and ticket.number == 1


# --- routing -----------------------------------------------------------------------------------------


def test_round_robin_within_the_team(tenant):
    team = make_team(tenant, "一线客服", "service", "manager")
    with tenant.scope():
        services.create_rule(
            tenant.actors["owner"],
            name="Email",
            position=1,
            conditions={"channel": ["email"]},
            team_id=team.pk,
            assignment="round_robin",
        )
        owners = [open_(tenant, role="owner").owner_id for _ in range(4)]
    members = sorted([tenant.users["service"].pk, tenant.users["manager"].pk])
    assert owners == [members[0], members[1], members[0], members[1]]


def test_least_loaded_picks_the_member_with_fewest_open_tickets(tenant):
    team = make_team(tenant, "二线", "service", "manager")
    service, manager = tenant.users["service"], tenant.users["manager"]
    with tenant.scope():
        for _ in range(2):
            open_(tenant, role="owner", owner_id=service.pk)
        done = open_(tenant, role="owner", owner_id=manager.pk)
        services.change_status(tenant.actors["owner"], done, "resolved")  # resolved: not open any more
        open_(tenant, role="owner", owner_id=manager.pk)
        services.create_rule(
            tenant.actors["owner"], name="All", conditions={}, team_id=team.pk, assignment="least_loaded"
        )
        ticket = open_(tenant, role="owner")
    assert ticket.owner_id == manager.pk and ticket.team_id == team.pk


def test_rules_match_by_keyword_grade_language_and_category_in_order(tenant):
    owner = tenant.actors["owner"]
    vip = make_team(tenant, "VIP", "manager")
    billing = make_team(tenant, "Billing", "service")
    with tenant.scope():
        TicketCategory.objects.create(workspace=tenant.workspace, name="账单")
        account = customers.create_account(owner, name="Big Co", grade="strategic")
        customers.create_contact(owner, name="Boss", email="boss@big.co", account_id=account.pk)
        services.create_rule(
            owner, name="VIP", position=1, conditions={"grade": ["strategic"]}, team_id=vip.pk
        )
        services.create_rule(
            owner,
            name="Invoices",
            position=2,
            conditions={"keywords": ["发票", "invoice"]},
            team_id=billing.pk,
            assignment="user",
            user_id=tenant.users["service"].pk,
        )
        services.create_rule(
            owner, name="English", position=3, conditions={"language": ["en"]}, team_id=vip.pk
        )
        services.create_rule(
            owner, name="Billing cat", position=4, conditions={"category": ["账单"]}, team_id=billing.pk
        )
        strategic = open_(tenant, role="owner", subject="发票问题", sender_email="boss@big.co")
        invoice = open_(tenant, role="owner", subject="Need an INVOICE copy")
        english = open_(tenant, role="owner", subject="Hello", language="en-gb")
        by_category = open_(tenant, role="owner", subject="x", category="账单")
        nothing = open_(tenant, role="owner", subject="x", language="zh-hans")
        explicit = open_(tenant, role="owner", subject="invoice", owner_id=tenant.users["manager"].pk)
    assert strategic.team_id == vip.pk and strategic.owner_id is None  # grade rule first, queue only
    assert (invoice.team_id, invoice.owner_id) == (billing.pk, tenant.users["service"].pk)
    assert english.team_id == vip.pk
    assert by_category.team_id == billing.pk
    assert nothing.team_id is None and nothing.owner_id is None
    assert explicit.team_id is None and explicit.owner_id == tenant.users["manager"].pk  # no routing


def test_rules_are_for_administrators_and_validated(tenant):
    with tenant.scope():
        with pytest.raises(PermissionDenied):
            services.create_rule(tenant.actors["service"], name="x")
        with pytest.raises(ValidationFailed) as failed:
            services.create_rule(
                tenant.actors["owner"],
                name="x",
                conditions={"channel": ["fax"], "mood": ["x"]},
                assignment="round_robin",
            )
    assert {d.field for d in failed.value.details} == {"conditions.channel", "conditions.mood", "team_id"}


# --- status machine ----------------------------------------------------------------------------------


def test_status_machine(tenant):
    actor = tenant.actors["service"]
    with tenant.scope():
        ticket = open_(tenant)
        services.change_status(actor, ticket, "pending")
        services.change_status(actor, ticket, "resolved", reason="Fixed the driver")
        assert ticket.resolved_at is not None
        with pytest.raises(ValidationFailed):
            services.change_status(actor, ticket, "pending")  # resolved → pending is not a transition
        services.change_status(actor, ticket, "closed")
        assert ticket.closed_at is not None
        note = ticket.entries.filter(kind="note").get()
        stored = Ticket.objects.get(pk=ticket.pk)
    assert "Fixed the driver" in note.body
    assert stored.status == "closed"


def test_customer_message_reopens_a_resolved_ticket_and_reopens_the_clock(tenant):
    actor = tenant.actors["service"]
    system = services.system_actor(tenant.workspace, "mail")
    with tenant.scope():
        ticket = open_(tenant)
        services.change_status(actor, ticket, "resolved")
        services.add_customer_message(system, ticket, body="Still broken", sender_email="x@y.cn")
        assert ticket.status == "reopened" and ticket.resolved_at is None
        services.change_status(actor, ticket, "pending")
        services.add_customer_message(system, ticket, body="Here is the log")
        assert ticket.status == "open"


def test_public_reply_stamps_first_response_and_opens_a_new_ticket(tenant):
    actor = tenant.actors["service"]
    with tenant.scope():
        ticket = open_(tenant)
        services.reply(actor, ticket, body="Looking into it", public=False)
        assert ticket.first_responded_at is None and ticket.status == "new"  # a note is no response
        entry = services.reply(actor, ticket, body="请重启一下试试")
        assert ticket.first_responded_at == entry.created_at and ticket.status == "open"
        first = ticket.first_responded_at
        services.reply(actor, ticket, body="Anything else?", status="pending")
        stored = Ticket.objects.get(pk=ticket.pk)
        activity = entry.activity
    assert stored.first_responded_at == first and stored.status == "pending"
    assert activity.direction == "outbound"


def test_reply_needs_the_change_right_and_visibility(tenant):
    with tenant.scope():
        ticket = open_(tenant)
        with pytest.raises(PermissionDenied):
            services.reply(tenant.actors["sales"], ticket, body="hi")
        with pytest.raises(NotFound):
            services.reply(tenant.actors["manager"], ticket, body="hi")  # not their team's ticket


def test_assign_notifies_the_new_assignee(tenant, django_capture_on_commit_callbacks):
    from kehu.activities.models import Notification

    team = make_team(tenant, "Desk", "manager")
    with tenant.scope():
        ticket = open_(tenant)
        with pytest.raises(ValidationFailed):
            services.assign(tenant.actors["service"], ticket, user=999999)
        with django_capture_on_commit_callbacks(execute=True):
            services.assign(tenant.actors["service"], ticket, user=tenant.users["manager"], team=team)
        notified = list(
            Notification.objects.filter(user=tenant.users["manager"], object_id=ticket.pk).values_list("verb")
        )
    assert (ticket.owner_id, ticket.team_id) == (tenant.users["manager"].pk, team.pk)
    assert notified == [("ticket_assigned",)]
    bell = tenant.web_client("manager").get("/notifications/bell/", HTTP_HX_REQUEST="true").content.decode()
    assert "assigned a ticket to you" in bell and "assigned a task to you" not in bell


def test_update_ticket_changes_fields_and_tags_audited(tenant):
    actor = tenant.actors["service"]
    with tenant.scope():
        ticket = open_(tenant)
        services.update_ticket(
            actor,
            ticket,
            type="complaint",
            severity="major",
            root_cause="delivery",
            compensation_amount="200.5",
            compensation="优惠券",
            outcome="upheld",
            tags=["VIP", "物流"],
            satisfaction=4,
        )
        stored = Ticket.objects.get(pk=ticket.pk)
        tags = services.ticket_tags(stored)
        changes = AuditEntry.objects.filter(object_type="tickets.ticket", action="update").last().changes
        with pytest.raises(ValidationFailed):
            services.update_ticket(actor, ticket, status="closed")
        with pytest.raises(ValidationFailed):
            services.update_ticket(actor, ticket, satisfaction=9)
    assert stored.compensation_amount == pytest.approx(200.5) and stored.root_cause == "delivery"
    assert sorted(tags) == ["VIP", "物流"]
    assert changes["type"] == ["inquiry", "complaint"]


# --- SLA on a business calendar ----------------------------------------------------------------------


def test_due_dates_on_business_hours(tenant, policy, clock):
    clock.set(2026, 11, 23, 10, 0)  # Monday 10:00 in Shanghai; hours Mon–Fri 09–18
    with tenant.scope():
        ticket = open_(tenant)
    assert ticket.sla_policy_id == policy.pk
    assert ticket.first_response_due_at == sh(2026, 11, 23, 14, 0)  # +240 min
    assert ticket.resolution_due_at == sh(2026, 11, 24, 11, 0)  # +600: 480 on Monday, 120 on Tuesday
    assert ticket.sla_state() == "ok"


def test_friday_evening_ticket_is_due_after_the_weekend(tenant, policy, clock):
    clock.set(2026, 11, 27, 17, 0)  # Friday 17:00
    with tenant.scope():
        ticket = open_(tenant)
    assert ticket.first_response_due_at == sh(2026, 11, 30, 12, 0)  # 60 min Friday, 180 Monday


def test_pending_pauses_and_the_customer_message_resumes(tenant, policy, clock):
    actor = tenant.actors["service"]
    clock.set(2026, 11, 23, 10, 0)
    with tenant.scope():
        ticket = open_(tenant)
        clock.set(2026, 11, 23, 12, 30)
        services.change_status(actor, ticket, "pending")
        assert ticket.sla_paused_at == sh(2026, 11, 23, 12, 30) and ticket.sla_state() == "paused"
        clock.set(2026, 11, 24, 10, 0)  # 330 business minutes on Monday + 60 on Tuesday paused
        services.add_customer_message(services.system_actor(tenant.workspace), ticket, body="Answer")
        stored = Ticket.objects.get(pk=ticket.pk)
    assert stored.status == "open" and stored.sla_paused_at is None
    assert stored.sla_paused_minutes == 390
    assert stored.first_response_due_at == sh(2026, 11, 24, 11, 30)  # Mon 14:00 + 390
    assert stored.resolution_due_at == sh(2026, 11, 24, 17, 30)  # Tue 11:00 + 390


def test_badge_breached_met_and_warning(tenant, policy, clock):
    actor = tenant.actors["service"]
    clock.set(2026, 11, 23, 10, 0)
    with tenant.scope():
        late = open_(tenant)
        ok = open_(tenant)
        clock.set(2026, 11, 23, 11, 0)
        services.reply(actor, ok, body="On it")
        services.change_status(actor, ok, "resolved")
        clock.set(2026, 11, 23, 15, 0)  # late's first response was due 14:00
        assert late.sla_state() == "breached"
        assert ok.sla_state() == "met"
        warned = open_(tenant)
        warned.sla_warned_at = clock.now
        assert warned.sla_state() == "warning"
        breached = list(Ticket.objects.filter(services_breached()).values_list("pk", flat=True))
    assert breached == [late.pk]


def services_breached():
    from kehu.tickets.queries import breached_condition

    return breached_condition()


def test_a_ticket_without_a_policy_has_no_badge(tenant):
    with tenant.scope():
        ticket = open_(tenant)
    assert ticket.sla_policy_id is None and ticket.sla_state() == ""


def test_policy_is_chosen_by_conditions_and_rechosen_on_priority_change(tenant, calendar, clock):
    from kehu.sla.models import SlaPolicy

    clock.set(2026, 11, 23, 10, 0)
    with tenant.scope():
        urgent = SlaPolicy.objects.create(
            workspace=tenant.workspace,
            name="Urgent",
            position=1,
            conditions={"priority": ["urgent"]},
            first_response_minutes=30,
            resolution_minutes=120,
            calendar=calendar,
        )
        ticket = open_(tenant)
        assert ticket.sla_policy_id is None
        services.update_ticket(tenant.actors["service"], ticket, priority="urgent")
        stored = Ticket.objects.get(pk=ticket.pk)
    assert stored.sla_policy_id == urgent.pk
    assert stored.first_response_due_at == sh(2026, 11, 23, 10, 30)


# --- mail threading ----------------------------------------------------------------------------------


def test_find_ticket_by_headers_then_subject_reference(tenant, other_tenant):
    with tenant.scope():
        ticket = open_(tenant, message_id="<first@customer.cn>")
        reply = services.reply(tenant.actors["service"], ticket, body="Hi")
        services.set_entry_message_id(reply, "<kehu-1@acme.test>")
        other = open_(tenant)
    with other_tenant.scope():
        foreign = open_(other_tenant, message_id="<first@customer.cn>")
    ws = tenant.workspace
    assert services.find_ticket_for_mail(ws, subject="Re: x", in_reply_to="<kehu-1@acme.test>") == ticket
    assert services.find_ticket_for_mail(ws, subject="", references="<zzz@x> <first@customer.cn>") == ticket
    assert services.find_ticket_for_mail(ws, subject=f"Re: hello [#{other.number}]") == other
    assert services.find_ticket_for_mail(ws, subject="Re: hello [#999]") is None
    assert (
        services.find_ticket_for_mail(other_tenant.workspace, subject="", in_reply_to="first@customer.cn")
        == foreign
    )


def test_a_mail_seen_twice_is_added_once(tenant):
    system = services.system_actor(tenant.workspace, "mail")
    with tenant.scope():
        ticket = open_(tenant)
        a = services.add_customer_message(system, ticket, body="x", message_id="<m1@x>")
        b = services.add_customer_message(system, ticket, body="x", message_id="m1@x")
        count = TicketEntry.objects.filter(ticket=ticket).count()
    assert a.pk == b.pk and count == 2


def test_attachments_are_stored_with_the_entry(tenant):
    system = services.system_actor(tenant.workspace, "mail")
    with tenant.scope():
        ticket = services.open_ticket(
            system,
            subject="Photo",
            description="See attached",
            channel="email",
            sender_email="a@b.cn",
            attachments=[
                {"name": "../../etc/破损.jpg", "content": b"\xff\xd8jpeg", "content_type": "image/jpeg"}
            ],
        )
        attachment = ticket.entries.get().attachments.get()
        data = attachment.file.read()
    assert attachment.name == "破损.jpg" and attachment.size == 6 and data == b"\xff\xd8jpeg"


# --- auto-close --------------------------------------------------------------------------------------


def test_resolved_tickets_close_after_the_configured_days(tenant, settings, clock):
    settings.TICKETS_AUTO_CLOSE_DAYS = 3
    actor = tenant.actors["service"]
    with tenant.scope():
        old, recent = open_(tenant), open_(tenant)
        services.change_status(actor, old, "resolved")
        clock.now += timedelta(days=2)
        services.change_status(actor, recent, "resolved")
        clock.now += timedelta(days=1, hours=1)
        closed = services.close_resolved(tenant.workspace)
        statuses = dict(Ticket.objects.values_list("pk", "status"))
    assert closed == 1
    assert statuses == {old.pk: "closed", recent.pk: "resolved"}


def test_signals_go_out_after_commit(tenant, django_capture_on_commit_callbacks):
    from kehu.tickets.signals import entry_added, status_changed, ticket_opened

    seen = []
    handlers = [
        (ticket_opened, lambda sender, ticket, **kw: seen.append(("opened", ticket.number))),
        (entry_added, lambda sender, entry, **kw: seen.append(("entry", entry.kind))),
        (status_changed, lambda sender, ticket, old, new, **kw: seen.append(("status", old, new))),
    ]
    for signal, handler in handlers:
        signal.connect(handler, weak=False)
    try:
        with tenant.scope(), django_capture_on_commit_callbacks(execute=True):
            ticket = open_(tenant)
            services.change_status(tenant.actors["service"], ticket, "resolved")
    finally:
        for signal, handler in handlers:
            signal.disconnect(handler)
    assert seen == [("entry", "customer"), ("opened", 1), ("status", "new", "resolved")]


def test_rule_defaults_to_queue_only(tenant):
    with tenant.scope():
        rule = services.create_rule(tenant.actors["owner"], name="Catch-all")
    assert rule.assignment == RoutingRule.Assignment.NONE and rule.conditions == {}
