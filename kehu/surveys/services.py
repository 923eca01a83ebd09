"""Surveys' write path: invitations, answers, comments, NPS campaigns and their sending.

Public answers come from people without a login: the public pages call ``answer``/``comment`` with
the invitation found by its token; the writes they cause elsewhere (the ticket's satisfaction, the
timeline entry) are made as the workspace's system actor (``kehu.tickets.services.system_actor``).
"""

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from kehu.activities.models import Activity
from kehu.activities.services import record_system_activity, update_activity
from kehu.audit.services import create_record, update_record
from kehu.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from kehu.customers.models import Account, Contact
from kehu.tickets.models import Ticket
from kehu.tickets.services import reply_recipient, system_actor, update_ticket
from kehu.workspaces.access import Actor, require, visible

from . import sentiment
from .models import Invitation, Kind, Survey, SurveyResponse, csat_valid_days

logger = logging.getLogger(__name__)

SCORE_RANGE = {Kind.CSAT: (1, 5), Kind.NPS: (0, 10)}
COMMENT_MAX = 2000
BATCH_SIZE = 200


def edit_window() -> timedelta:
    """How long after the first click the respondent may still change the score and the comment."""
    return timedelta(hours=int(getattr(settings, "SURVEYS_EDIT_HOURS", 24)))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(24)  # 192 random bits


def link(invitation: Invitation, token: str, score: int | None = None) -> str:
    path = reverse("surveys:public", args=[invitation.workspace.slug, token])
    return f"{settings.SITE_URL.rstrip('/')}{path}" + (f"?score={score}" if score is not None else "")


def find_invitation(workspace_slug: str, token: str) -> Invitation | None:
    """The invitation behind a public link, only under its own workspace's address."""
    if not token or len(token) > 64:
        return None
    with scopes_disabled():
        return (
            Invitation.objects.select_related("workspace", "survey", "ticket")
            .filter(workspace__slug=workspace_slug, token_hash=token_hash(token))
            .first()
        )


# --- CSAT --------------------------------------------------------------------------------------------


def invite_for_ticket(ticket: Ticket) -> tuple[Invitation, str] | None:
    """Create the ticket's one CSAT invitation; None when it has one already or nobody to ask."""
    email = reply_recipient(ticket)
    if not email:
        return None
    token = new_token()
    contact = ticket.contact
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(
                workspace=ticket.workspace,
                kind=Kind.CSAT,
                ticket=ticket,
                contact=contact,
                account_id=ticket.account_id or (contact.account_id if contact else None),
                email=email,
                language=(contact.preferred_language if contact else "") or ticket.language,
                token_hash=token_hash(token),
                expires_at=timezone.now() + timedelta(days=csat_valid_days()),
            )
    except IntegrityError:  # resolved a second time: one survey per ticket
        return None
    return invitation, token


def send_csat(ticket: Ticket) -> Invitation | None:
    """Invite the ticket's requester to rate it, by email (the background job after "resolved")."""
    created = invite_for_ticket(ticket)
    if created is None:
        return None
    invitation, token = created
    _send([(invitation, token)])
    return invitation


# --- mail --------------------------------------------------------------------------------------------


def _language(invitation: Invitation) -> str:
    return invitation.language or invitation.workspace.default_language or settings.LANGUAGE_CODE


def _message(invitation: Invitation, token: str) -> EmailMultiAlternatives:
    with translation.override(_language(invitation)):
        if invitation.kind == Kind.CSAT:
            subject = _("How did we do? %(ref)s") % {"ref": invitation.ticket.reference}
            question = _("How satisfied are you with the handling of your request “%(subject)s”?") % {
                "subject": invitation.ticket.subject
            }
        else:
            subject = invitation.survey.name
            question = invitation.survey.question(_language(invitation)) or _(
                "How likely is it that you would recommend us to a friend or colleague?"
            )
        low, high = SCORE_RANGE[Kind(invitation.kind)]
        context = {
            "invitation": invitation,
            "question": question,
            "workspace": invitation.workspace,
            "choices": [(n, link(invitation, token, n)) for n in range(low, high + 1)],
            "page": link(invitation, token),
            "nps": invitation.kind == Kind.NPS,
        }
        text = render_to_string("surveys/email.txt", context)
        html = render_to_string("surveys/email.html", context)
    message = EmailMultiAlternatives(subject[:200], text, None, [invitation.email])
    message.attach_alternative(html, "text/html")
    return message


def _send(batch: list[tuple[Invitation, str]]) -> int:
    """Send the invitations over one connection; stamp ``sent_at`` on those that went out."""
    sent_ids = []
    mailer = mailers.default
    mailer.open()
    try:
        for invitation, token in batch:
            try:
                mailer.send_messages([_message(invitation, token)])
                sent_ids.append(invitation.pk)
            except Exception:  # one bad address must not stop the batch
                logger.exception("could not send survey invitation %s", invitation.pk)
    finally:
        mailer.close()
    Invitation.objects.filter(pk__in=sent_ids).update(sent_at=timezone.now())
    return len(sent_ids)


# --- answering ---------------------------------------------------------------------------------------


class Closed(Exception):
    """The invitation cannot take this answer (expired, or the edit window has passed)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "expired" | "closed"


def _clean_score(kind: str, value: Any) -> int:
    low, high = SCORE_RANGE[Kind(kind)]
    try:
        score = int(value)
    except (TypeError, ValueError):
        score = -1
    if not low <= score <= high:
        raise ValidationFailed(
            [
                FieldError(
                    "score", _("A score from %(low)s to %(high)s.") % {"low": low, "high": high}, "invalid"
                )
            ]
        )
    return score


def _links(response: SurveyResponse) -> list[tuple[str, int]]:
    links = []
    if response.contact_id:
        links.append(("customers.contact", response.contact_id))
    if response.account_id:
        links.append(("customers.account", response.account_id))
    if response.ticket_id:
        links.append(("tickets.ticket", response.ticket_id))
    return links


def _timeline_text(response: SurveyResponse) -> tuple[str, str]:
    with translation.override(response.workspace.default_language):
        if response.kind == Kind.CSAT:
            subject = _("Satisfaction rating %(score)s/5 for %(ticket)s") % {
                "score": response.score,
                "ticket": response.ticket,
            }
        else:
            subject = _("NPS answer %(score)s/10: %(survey)s") % {
                "score": response.score,
                "survey": response.survey,
            }
        outcome = _("Rated %(score)s") % {"score": response.score}
    return subject[:200], outcome


@transaction.atomic
def answer(invitation: Invitation, score: Any) -> SurveyResponse:
    """Record (or, within the edit window, change) the score; raises ``Closed`` otherwise.

    A repeated click after the window changes nothing: the stored answer is returned as it is.
    """
    score = _clean_score(invitation.kind, score)
    Invitation.objects.select_for_update().filter(pk=invitation.pk).first()  # one click at a time
    existing = SurveyResponse.objects.select_for_update().filter(invitation=invitation).first()
    actor = system_actor(invitation.workspace, "survey")
    now = timezone.now()
    if existing is None:
        if invitation.expired:
            raise Closed("expired")
        response = create_record(
            actor,
            SurveyResponse(
                workspace=invitation.workspace,
                invitation=invitation,
                kind=invitation.kind,
                survey=invitation.survey,
                ticket=invitation.ticket,
                contact=invitation.contact,
                account=invitation.account,
                score=score,
                answered_at=now,
                editable_until=now + edit_window(),
            ),
        )
        Invitation.objects.filter(pk=invitation.pk).update(responded_at=now)
        subject, outcome = _timeline_text(response)
        activity = record_system_activity(
            invitation.workspace,
            links=_links(response),
            kind=Activity.Kind.NOTE,
            subject=subject,
            outcome=outcome,
            direction=Activity.Direction.INBOUND,
            source_ref=f"surveys.response:{response.pk}",
            owner=invitation.ticket.owner if invitation.ticket_id else None,
        )
        SurveyResponse.objects.filter(pk=response.pk).update(activity=activity)
        response.activity = activity
    else:
        response = existing
        if not response.is_open:
            raise Closed("closed")
        if response.score != score:
            update_record(actor, response, {"score": score})
            _sync_activity(response)
    if response.ticket_id and response.kind == Kind.CSAT and response.ticket.satisfaction != score:
        update_ticket(actor, response.ticket, satisfaction=score)
    return response


@transaction.atomic
def comment(invitation: Invitation, text: str) -> SurveyResponse:
    """Save the respondent's comment (and its sentiment) on their answer, within the edit window."""
    response = SurveyResponse.objects.select_for_update().filter(invitation=invitation).first()
    if response is None:
        raise Closed("closed")
    if not response.is_open:
        raise Closed("closed")
    text = (text or "").strip()
    if len(text) > COMMENT_MAX:
        raise ValidationFailed(
            [FieldError("comment", _("At most %(n)s characters.") % {"n": COMMENT_MAX}, "too_long")]
        )
    # The sentiment is computed by a background job (the classifier's first load takes seconds): the
    # respondent's page does not wait for it.
    update_record(
        system_actor(invitation.workspace, "survey"),
        response,
        {"comment": text, "sentiment": "", "sentiment_score": None, "sentiment_version": ""},
    )
    if text:
        from .tasks import refresh_sentiment as refresh_job

        workspace_id = invitation.workspace_id
        transaction.on_commit(lambda: refresh_job.enqueue(workspace_id))
    _sync_activity(response)
    return response


def _sync_activity(response: SurveyResponse) -> None:
    """Keep the timeline entry in step with a changed score or comment."""
    if response.activity_id is None:
        return
    activity = Activity.objects.filter(pk=response.activity_id).first()
    if activity is None:
        return
    subject, outcome = _timeline_text(response)
    update_activity(
        system_actor(response.workspace, "survey"),
        activity,
        subject=subject,
        outcome=outcome,
        body=response.comment,
    )


def refresh_sentiment(workspace, limit: int = 5000) -> int:
    """Compute the sentiment of new comments and of comments scored by an older method version (run
    by the job each new comment enqueues, so an upgraded method reaches old answers too); how many."""
    rows = list(
        SurveyResponse.objects.filter(workspace=workspace)
        .exclude(comment="")
        .exclude(sentiment_version=sentiment.VERSION)
        .order_by("pk")
        .values_list("pk", "comment")[:limit]
    )
    for pk, text in rows:
        result = sentiment.analyse(text)
        # Only if the comment is still the one scored (the respondent may have changed it meanwhile).
        SurveyResponse.objects.filter(pk=pk, comment=text).update(
            sentiment=result.label, sentiment_score=result.score, sentiment_version=sentiment.VERSION
        )
    return len(rows)


# --- NPS arithmetic ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Nps:
    responses: int
    promoters: int
    passives: int
    detractors: int

    @property
    def score(self) -> float | None:
        """%promoters − %detractors, −100 … 100, one decimal; None without answers."""
        if not self.responses:
            return None
        return round(100 * (self.promoters - self.detractors) / self.responses, 1)

    def as_dict(self) -> dict:
        return {
            "responses": self.responses,
            "promoters": self.promoters,
            "passives": self.passives,
            "detractors": self.detractors,
            "nps": self.score,
        }

    @classmethod
    def of(cls, row: dict) -> "Nps":
        """From a row of the ``nps_counts()`` aggregates."""
        n, promoters, detractors = row["n"], row["promoters"], row["detractors"]
        return cls(n, promoters, n - promoters - detractors, detractors)


PROMOTER_MIN, DETRACTOR_MAX = 9, 6  # promoters 9–10, passives 7–8, detractors 0–6


def nps_of(scores: list[int]) -> Nps:
    """NPS of 0–10 answers: promoters 9–10, passives 7–8, detractors 0–6."""
    promoters = sum(1 for s in scores if s >= PROMOTER_MIN)
    detractors = sum(1 for s in scores if s <= DETRACTOR_MAX)
    return Nps(len(scores), promoters, len(scores) - promoters - detractors, detractors)


def nps_counts() -> dict:
    """The counts ``Nps.of`` reads, as aggregates for ``aggregate()`` or a GROUP BY's ``annotate()``."""
    return {
        "n": Count("id"),
        "promoters": Count("id", filter=Q(score__gte=PROMOTER_MIN)),
        "detractors": Count("id", filter=Q(score__lte=DETRACTOR_MAX)),
    }


def survey_results(survey: Survey) -> tuple[Nps, float | None]:
    """A campaign's answers in one aggregate query: their NPS counts and average score (2 decimals)."""
    row = SurveyResponse.objects.filter(survey=survey).order_by().aggregate(avg=Avg("score"), **nps_counts())
    return Nps.of(row), (round(row["avg"], 2) if row["avg"] is not None else None)


# --- campaigns ---------------------------------------------------------------------------------------

SURVEY_FIELDS = (
    "name",
    "kind",
    "question_zh",
    "question_en",
    "audience_view_id",
    "audience_grades",
    "audience_stages",
    "valid_days",
    "owner_id",
    "team_id",
)


def _clean_survey(actor: Actor, values: dict[str, Any], survey: Survey | None) -> dict[str, Any]:
    errors: list[FieldError] = []
    unknown = set(values) - set(SURVEY_FIELDS)
    if unknown:
        errors += [FieldError(name, _("Unknown field."), "unknown") for name in sorted(unknown)]
    cleaned = {k: v for k, v in values.items() if k in SURVEY_FIELDS}
    if "name" in cleaned or survey is None:
        cleaned["name"] = str(cleaned.get("name") or "").strip()[:200]
        if not cleaned["name"]:
            errors.append(FieldError("name", _("Enter a name."), "required"))
    if "kind" in cleaned and cleaned["kind"] not in Kind.values:
        errors.append(FieldError("kind", _("Choose NPS or CSAT."), "invalid_choice"))
    for name in ("question_zh", "question_en"):
        if name in cleaned:
            cleaned[name] = str(cleaned[name] or "").strip()[:300]
    view_id = cleaned.get("audience_view_id")
    if view_id:
        from kehu.listviews.services import get_view

        try:
            view = get_view(actor, view_id)
        except NotFound:
            view = None
        if view is None or view.object_type != "customers.contact":
            errors.append(
                FieldError("audience_view_id", _("Choose one of your saved contact views."), "invalid")
            )
    for name in ("audience_grades", "audience_stages"):
        if name in cleaned:
            value = cleaned[name] or []
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                errors.append(FieldError(name, _("A list of keys."), "invalid"))
    if "audience_stages" in cleaned and not errors:
        bad = [v for v in cleaned["audience_stages"] if v not in Account.Lifecycle.values]
        if bad:
            errors.append(FieldError("audience_stages", _("Unknown lifecycle stage."), "invalid_choice"))
    if "valid_days" in cleaned:
        try:
            cleaned["valid_days"] = int(cleaned["valid_days"])
            if not 1 <= cleaned["valid_days"] <= 365:
                raise ValueError
        except (TypeError, ValueError):
            errors.append(FieldError("valid_days", _("From 1 to 365 days."), "invalid"))
    if errors:
        raise ValidationFailed(errors)
    return cleaned


@transaction.atomic
def create_survey(actor: Actor, **values: Any) -> Survey:
    require(actor, "create", Survey.object_type)
    cleaned = _clean_survey(actor, values, None)
    cleaned.setdefault("owner_id", actor.user.pk if actor.user else None)
    return create_record(actor, Survey(workspace=actor.workspace, **cleaned))


@transaction.atomic
def update_survey(actor: Actor, survey: Survey, **values: Any) -> Survey:
    require(actor, "change", Survey.object_type)
    if survey.status != Survey.Status.DRAFT:
        raise Conflict(_("A survey that was sent cannot be changed."))
    update_record(actor, survey, _clean_survey(actor, values, survey))
    return survey


def audience(actor: Actor, survey: Survey) -> QuerySet[Contact]:
    """The contacts a campaign goes to, as the actor sees them: the saved view's rows or the grade /
    lifecycle filter, with an email address and (where required) email consent."""
    contacts = visible(actor, Contact.objects.all())
    if survey.audience_view_id:
        from kehu.listviews.registry import config_for
        from kehu.listviews.services import bulk_targets

        view = survey.audience_view
        contacts, _requested = bulk_targets(
            actor, config_for("customers.contact"), ids=None, params={"filters": view.filters}
        )
    if survey.audience_grades:
        contacts = contacts.filter(account__grade__in=survey.audience_grades)
    if survey.audience_stages:
        contacts = contacts.filter(account__lifecycle_stage__in=survey.audience_stages)
    # A campaign is unsolicited mail to many people, so it needs the contact's email consent
    # (``consent_email``); the CSAT after a ticket answers a conversation the customer started (a
    # service message) and does not. docs/satisfaction.md explains the choice.
    return contacts.exclude(email="").filter(consent_email=True)


@transaction.atomic
def launch(actor: Actor, survey: Survey) -> Survey:
    """Start sending a draft campaign in the background, in batches."""
    require(actor, "change", Survey.object_type)
    if survey.status != Survey.Status.DRAFT:
        raise Conflict(_("This survey was sent already."))
    update_record(actor, survey, {"status": Survey.Status.SENDING, "sent_at": timezone.now()})
    from .tasks import send_survey_batch

    membership_id = actor.membership.pk
    transaction.on_commit(lambda: send_survey_batch.enqueue(membership_id, survey.pk, 0))
    return survey


def send_batch(actor: Actor, survey: Survey, after_id: int) -> int | None:
    """Invite the next ``BATCH_SIZE`` contacts (by id, after ``after_id``); the last id handled, or
    None when the campaign is complete."""
    contacts = list(
        audience(actor, survey)
        .filter(pk__gt=after_id)
        .order_by("pk")
        .only("pk", "email", "account_id", "preferred_language")[:BATCH_SIZE]
    )
    expires = timezone.now() + timedelta(days=survey.valid_days)
    batch, skipped = [], 0
    already = set(
        Invitation.objects.filter(survey=survey, contact_id__in=[c.pk for c in contacts]).values_list(
            "contact_id", flat=True
        )
    )
    for contact in contacts:
        if contact.pk in already:  # a retried batch: nobody is asked twice
            skipped += 1
            continue
        token = new_token()
        batch.append(
            (
                Invitation(
                    workspace=survey.workspace,
                    kind=survey.kind,
                    survey=survey,
                    contact=contact,
                    account_id=contact.account_id,
                    email=contact.email,
                    language=contact.preferred_language,
                    token_hash=token_hash(token),
                    expires_at=expires,
                ),
                token,
            )
        )
    Invitation.objects.bulk_create([inv for inv, _t in batch])
    sent = _send(batch) if batch else 0
    done = len(contacts) < BATCH_SIZE
    values: dict[str, Any] = {
        "sent_count": survey.sent_count + sent,
        "skipped_count": survey.skipped_count + skipped,
    }
    if done:
        values["status"] = Survey.Status.SENT
    Survey.objects.filter(pk=survey.pk).update(**values)
    for name, value in values.items():
        setattr(survey, name, value)
    return None if done else contacts[-1].pk
