"""Demo answers: CSAT ratings (with comments) on some of the demo's resolved tickets and one NPS survey
answered by a dozen contacts, spread over the last weeks, so the 360° panel, the survey page and the
service dashboard show data. Answers go through the services (ticket satisfaction, timeline); no mail
is sent."""

import random
from datetime import timedelta

from django.utils import timezone
from django_scopes import scope

from kehu.customers.models import Contact
from kehu.tickets.demo import _at
from kehu.tickets.models import Ticket
from kehu.workspaces.models import Membership, Workspace
from kehu.workspaces.services import actor_for

from . import services
from .models import Invitation, Kind, Survey

CSAT_COMMENTS = {
    5: [
        "客服很耐心，问题当天就解决了，谢谢！",
        "Quick and friendly support, thank you!",
        "工程师很专业，非常满意。",
    ],
    4: ["整体不错，就是等得有点久。", "Good answer, took a day longer than I hoped.", ""],
    3: ["还行吧。", "It's okay.", ""],
    2: ["回复太慢了，问了好几次。", "Had to explain the problem twice."],
    1: ["问题还没解决就把工单关了，很失望。", "Ticket closed but nothing was fixed."],
}
NPS_COMMENTS = {
    "promoter": ["产品稳定，服务也好，会推荐给同行。", "Great product and a helpful team.", ""],
    "passive": ["还可以，价格再低一点就更好了。", "Fine overall.", ""],
    "detractor": ["交货经常延迟，很影响我们生产。", "Support is slow to respond."],
}


def _invite(
    survey: Survey | None, *, ticket: Ticket | None = None, contact: Contact | None = None
) -> Invitation:
    if ticket is not None:
        created = services.invite_for_ticket(ticket)
        return created[0] if created else Invitation.objects.get(ticket=ticket)
    return Invitation.objects.create(
        workspace=survey.workspace,
        kind=survey.kind,
        survey=survey,
        contact=contact,
        account_id=contact.account_id,
        email=contact.email,
        language=contact.preferred_language,
        token_hash=services.token_hash(services.new_token()),
        sent_at=timezone.now(),
        expires_at=timezone.now() + timedelta(days=survey.valid_days),
    )


def seed(slug: str, seed_value: int) -> None:
    rng = random.Random(seed_value)  # noqa: S311 -- reproducible demo data
    workspace = Workspace.objects.get(slug=slug)
    now = timezone.now()
    with scope(workspace=workspace):
        owner = next(
            m.user for m in Membership.objects.select_related("user", "role") if m.role.key == "owner"
        )
        boss = actor_for(owner, workspace)
        resolved = list(
            Ticket.objects.filter(status__in=("resolved", "closed"), resolved_at__isnull=False)
            .exclude(contact__isnull=True)
            .select_related("contact", "workspace")
            .order_by("resolved_at")[:24]
        )
        for ticket in resolved:
            if rng.random() < 0.25:  # not everybody answers
                continue
            score = rng.choices((5, 4, 3, 2, 1), weights=(45, 25, 12, 10, 8))[0]
            moment = min(ticket.resolved_at + timedelta(hours=rng.randint(1, 30)), now)
            with _at(moment):
                invitation = _invite(None, ticket=ticket)
                services.answer(invitation, score)
                text = rng.choice(CSAT_COMMENTS[score])
                if text:
                    services.comment(invitation, text)

        survey = services.create_survey(
            boss,
            name="2026 年客户推荐度调查 (NPS)",
            kind=Kind.NPS,
            question_zh="您有多大可能向朋友或同事推荐我们？",
            question_en="How likely are you to recommend us to a friend or colleague?",
        )
        contacts = list(Contact.objects.exclude(email="").filter(account__isnull=False).order_by("pk")[:14])
        Survey.objects.filter(pk=survey.pk).update(
            status=Survey.Status.SENT, sent_at=now - timedelta(days=20), sent_count=len(contacts)
        )
        survey.refresh_from_db()
        for index, contact in enumerate(contacts):
            moment = now - timedelta(days=20 - index, hours=rng.randint(0, 8))
            with _at(moment):
                invitation = _invite(survey, contact=contact)
                if index % 5 == 4:
                    continue  # invited, never answered
                score = rng.choices(range(11), weights=(1, 1, 1, 1, 2, 2, 3, 6, 8, 10, 9))[0]
                services.answer(invitation, score)
                group = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
                text = rng.choice(NPS_COMMENTS[group])
                if text:
                    services.comment(invitation, text)
