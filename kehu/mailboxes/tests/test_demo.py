"""The demo seed takes its mails in through the real path and leaves a row in every mailbox table."""

import pytest

from kehu.mailboxes import demo
from kehu.mailboxes.models import InboundMail, Mailbox, OutboundMail
from kehu.tickets.models import Ticket

pytestmark = pytest.mark.django_db


def test_seed(tenant):
    demo.seed(tenant.workspace.slug)
    with tenant.scope():
        mailbox = Mailbox.objects.get()
        assert mailbox.imap_host == ""  # the demo polls no real server
        assert sorted(InboundMail.objects.values_list("outcome", flat=True)) == ["auto", "opened"]
        ticket = Ticket.objects.get()
        assert ticket.subject == "发票抬头需要更正" and ticket.channel == "email"
        outbound = OutboundMail.objects.get()
        assert outbound.to == "wang.fang@demo-customer.example" and outbound.status == "queued"
