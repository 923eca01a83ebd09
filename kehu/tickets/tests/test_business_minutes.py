"""First-response and resolution times in business minutes, stamped on the ticket with the first public
reply and with resolution: on the SLA policy's calendar (Mon–Fri 09:00–18:00, Shanghai, in these
tests), paused time left out; expectations computed by hand. And the migration's backfill."""

import importlib
from datetime import date
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection

from kehu.tickets import services
from kehu.tickets.models import Ticket


def open_(tenant):
    return services.open_ticket(
        tenant.actors["service"], subject="发票开错了", description="请重开", channel="email"
    )


def stored(ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def test_friday_17_to_monday_10_is_two_business_hours(tenant, policy, clock):
    clock.set(2026, 11, 27, 17, 0)  # Friday 17:00
    with tenant.scope():
        ticket = open_(tenant)
        assert ticket.first_response_business_minutes is None
        clock.set(2026, 11, 30, 10, 0)  # Monday 10:00: Friday 17–18 + Monday 09–10
        services.reply(tenant.actors["service"], ticket, body="我们来处理")
        assert stored(ticket).first_response_business_minutes == 120
        # Only the first public reply counts.
        clock.set(2026, 11, 30, 16, 0)
        services.reply(tenant.actors["service"], ticket, body="再补充一句")
        assert stored(ticket).first_response_business_minutes == 120


def test_a_holiday_in_between_does_not_count(tenant, policy, calendar, clock):
    from kehu.sla.models import CalendarException

    clock.set(2026, 11, 27, 17, 0)  # Friday 17:00
    with tenant.scope():
        CalendarException.objects.create(
            workspace=tenant.workspace, calendar=calendar, date=date(2026, 11, 30), name="假日"
        )
        calendar.save()  # a new updated_at: the cached calendar is read again
        ticket = open_(tenant)
        clock.set(2026, 12, 1, 10, 0)  # Tuesday 10:00; Monday is a holiday
        services.reply(tenant.actors["service"], ticket, body="节后回复")
        assert stored(ticket).first_response_business_minutes == 120


def test_internal_notes_are_not_a_response(tenant, policy, clock):
    clock.set(2026, 11, 30, 9, 0)
    with tenant.scope():
        ticket = open_(tenant)
        clock.set(2026, 11, 30, 9, 30)
        services.reply(tenant.actors["service"], ticket, body="内部", public=False)
        assert stored(ticket).first_response_business_minutes is None


def test_a_pause_is_left_out_of_the_resolution(tenant, policy, clock):
    agent = tenant.actors["service"]
    customer = services.system_actor(tenant.workspace, "mail")
    clock.set(2026, 11, 30, 9, 0)  # Monday 09:00
    with tenant.scope():
        ticket = open_(tenant)
        clock.set(2026, 11, 30, 10, 0)
        services.reply(agent, ticket, body="请提供订单号", status="pending")  # clock paused from 10:00
        clock.set(2026, 12, 1, 10, 0)  # Tuesday 10:00: paused Mon 10–18 + Tue 09–10 = 540
        services.add_customer_message(customer, ticket, body="订单号 123")
        clock.set(2026, 12, 1, 12, 0)
        services.change_status(agent, ticket, "resolved")
        row = stored(ticket)
    assert row.first_response_business_minutes == 60
    assert row.sla_paused_minutes == 540
    # Mon 09:00 → Tue 12:00 is 9 h + 3 h = 720 business minutes, less 540 paused.
    assert row.resolution_business_minutes == 180


def test_a_reply_while_paused_leaves_the_running_pause_out(tenant, policy, clock):
    agent = tenant.actors["service"]
    clock.set(2026, 11, 30, 9, 0)
    with tenant.scope():
        ticket = open_(tenant)
        clock.set(2026, 11, 30, 11, 0)
        services.change_status(agent, ticket, "on_hold")  # waiting for the supplier
        clock.set(2026, 11, 30, 15, 0)
        services.reply(agent, ticket, body="供应商还在查")
        # 09:00 → 15:00 is 360, of which 11:00 → 15:00 (240) paused.
        row = stored(ticket)
        assert row.first_responded_at is not None, row.status
        assert row.first_response_business_minutes == 120


def test_resolved_directly_from_pending(tenant, policy, clock):
    agent = tenant.actors["service"]
    clock.set(2026, 11, 30, 9, 0)
    with tenant.scope():
        ticket = open_(tenant)
        clock.set(2026, 11, 30, 10, 0)
        services.reply(agent, ticket, body="请确认", status="pending")
        clock.set(2026, 11, 30, 17, 0)
        services.change_status(agent, ticket, "resolved")
        assert stored(ticket).resolution_business_minutes == 60  # 09–10; 10–17 paused


def test_reopening_clears_and_the_next_resolution_leaves_the_resolved_time_out(tenant, policy, clock):
    agent = tenant.actors["service"]
    customer = services.system_actor(tenant.workspace, "mail")
    clock.set(2026, 11, 30, 9, 0)  # Monday
    with tenant.scope():
        ticket = open_(tenant)
        clock.set(2026, 11, 30, 11, 0)
        services.reply(agent, ticket, body="已处理", status="resolved")
        assert stored(ticket).resolution_business_minutes == 120
        clock.set(2026, 12, 1, 10, 0)  # Tuesday 10:00: the customer writes again
        services.add_customer_message(customer, ticket, body="还是不行")
        reopened = stored(ticket)
        assert (reopened.status, reopened.resolution_business_minutes) == ("reopened", None)
        clock.set(2026, 12, 1, 11, 30)
        services.change_status(agent, ticket, "resolved")
        # Worked: Mon 09–11 (120) + Tue 10:00–11:30 (90); resolved Mon 11:00 → Tue 10:00 (8 h) left out.
        assert stored(ticket).resolution_business_minutes == 210


def test_closing_an_unresolved_ticket_stamps_its_resolution(tenant, policy, clock):
    clock.set(2026, 11, 30, 9, 0)
    with tenant.scope():
        ticket = open_(tenant)
        clock.set(2026, 11, 30, 13, 30)
        services.change_status(tenant.actors["service"], ticket, "closed")
        assert stored(ticket).resolution_business_minutes == 270
        clock.set(2026, 12, 7, 9, 0)
        ticket = stored(ticket)
        services.change_status(tenant.actors["service"], ticket, "reopened")
        clock.set(2026, 12, 7, 10, 0)
        services.change_status(tenant.actors["service"], ticket, "closed")
        # 270 + Dec 7 09–10; the week it was closed is left out.
        assert stored(ticket).resolution_business_minutes == 330


def test_without_an_sla_policy_nothing_is_stamped(tenant, clock):
    clock.set(2026, 11, 30, 9, 0)
    with tenant.scope():
        ticket = open_(tenant)
        clock.set(2026, 11, 30, 10, 0)
        services.reply(tenant.actors["service"], ticket, body="好的", status="resolved")
        row = stored(ticket)
    assert row.first_responded_at is not None and row.resolved_at is not None
    assert (row.first_response_business_minutes, row.resolution_business_minutes) == (None, None)


def test_the_api_and_the_ticket_page_show_them(tenant, policy, clock):
    clock.set(2026, 11, 27, 17, 0)
    with tenant.scope():
        ticket = open_(tenant)
        clock.set(2026, 11, 30, 10, 0)
        services.reply(tenant.actors["service"], ticket, body="收到", status="resolved")
    data = tenant.api_client("service").get(f"/api/v1/tickets/{ticket.pk}").json()
    assert (data["first_response_business_minutes"], data["resolution_business_minutes"]) == (120, 120)
    page = tenant.web_client("service").get(f"/tickets/{ticket.pk}/").content.decode()
    assert '<span id="ticket-first-business">2.0 business hours</span>' in page
    assert '<span id="ticket-resolution-business">2.0 business hours</span>' in page


def test_a_first_reply_without_a_status_change_is_stamped(tenant, policy, clock):
    """Regression: the first public reply to an open ticket (no status change in the same step) lost
    its first_responded_at, so the ticket kept counting as unanswered (and could escalate)."""
    clock.set(2026, 11, 30, 9, 0)
    with tenant.scope():
        ticket = open_(tenant)
        services.change_status(tenant.actors["service"], ticket, "open")
        clock.set(2026, 11, 30, 9, 30)
        services.reply(tenant.actors["service"], ticket, body="在看了")
        row = stored(ticket)
    assert row.first_responded_at == clock.now and row.first_response_business_minutes == 30
    assert row.sla_state(clock.now) == "ok"


# --- the migration's backfill ------------------------------------------------------------------------


def test_backfill_recomputes_the_stamps_of_earlier_tickets(tenant, policy, clock):
    migration = importlib.import_module("kehu.tickets.migrations.0003_business_minutes")
    agent = tenant.actors["service"]
    customer = services.system_actor(tenant.workspace, "mail")
    with tenant.scope():
        # Paused before its first reply: the pause moved the first-response due date.
        clock.set(2026, 11, 30, 9, 0)
        paused_first = open_(tenant)
        clock.set(2026, 11, 30, 10, 0)
        services.reply(agent, paused_first, body="note", public=False, status="pending")
        clock.set(2026, 11, 30, 14, 0)
        services.add_customer_message(customer, paused_first, body="补充")  # 240 paused
        clock.set(2026, 11, 30, 15, 0)
        services.reply(agent, paused_first, body="回复")  # 360 − 240 = 120
        clock.set(2026, 12, 1, 9, 0)
        services.change_status(agent, paused_first, "pending")
        clock.set(2026, 12, 1, 12, 0)
        services.change_status(agent, paused_first, "resolved")  # 540 + 180 − (240 + 180) = 300
        clock.set(2026, 11, 27, 17, 0)
        weekend = open_(tenant)
        clock.set(2026, 11, 30, 10, 0)
        services.reply(agent, weekend, body="周一回复")
        untouched = open_(tenant)
        expected = {
            t.pk: (t.first_response_business_minutes, t.resolution_business_minutes)
            for t in Ticket.objects.all()
        }
    assert expected == {paused_first.pk: (120, 300), weekend.pk: (120, None), untouched.pk: (None, None)}
    with tenant.scope():
        Ticket.objects.update(first_response_business_minutes=None, resolution_business_minutes=None)
    migration.backfill(apps, SimpleNamespace(connection=connection))
    with tenant.scope():
        again = {
            t.pk: (t.first_response_business_minutes, t.resolution_business_minutes)
            for t in Ticket.objects.all()
        }
    assert again == expected


@pytest.mark.parametrize("batch", [1, 2])
def test_backfill_works_in_batches(tenant, policy, clock, monkeypatch, batch):
    migration = importlib.import_module("kehu.tickets.migrations.0003_business_minutes")
    monkeypatch.setattr(migration, "BATCH", batch)
    with tenant.scope():
        for day in (23, 24, 25):
            clock.set(2026, 11, day, 9, 0)
            ticket = open_(tenant)
            clock.set(2026, 11, day, 9, 45)
            services.reply(tenant.actors["service"], ticket, body="ok")
        Ticket.objects.update(first_response_business_minutes=None)
    migration.backfill(apps, SimpleNamespace(connection=connection))
    with tenant.scope():
        assert list(Ticket.objects.values_list("first_response_business_minutes", flat=True)) == [45] * 3
