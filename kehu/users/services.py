"""Login with throttling, and the audit of security events (login, logout, lockout, password reset).

Where security events are recorded: an event about a **known user** is recorded once in *each*
workspace where that user is an active member, so every workspace's administrators see attempts
on their own people in their audit log (and no workspace sees another's). An event about an
unknown email, or about a user who belongs to no workspace, is recorded once with no workspace:
only operators see those.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from kehu.audit.models import AuditEntry
from kehu.audit.services import MASK, record
from kehu.core.ratelimit import client_ip, count_hit, hits_of

# Failed logins for unknown emails, per client address, before that address is refused.
IP_MAX_FAILURES_DEFAULT = 20


class LoginRefused(Exception):
    """A login that must not go through; ``message`` is safe to show; ``code`` is stable."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message, self.code = message, code


def _ip_key(request) -> str:
    return f"kehu:login-ip-failures:{client_ip(request) or 'unknown'}"


def _ip_max_failures() -> int:
    return getattr(settings, "LOGIN_IP_MAX_FAILURES", IP_MAX_FAILURES_DEFAULT)


def record_security_event(
    action: str, *, user=None, request=None, label: str = "", changes: dict | None = None
) -> int:
    """Record ``action`` in each workspace of ``user`` (or once with no workspace). Returns the count."""
    from kehu.workspaces.models import Membership

    workspaces = []
    if user is not None:
        with scopes_disabled():
            workspaces = list(
                Membership.objects.filter(user=user, is_active=True).select_related("workspace")
            )
    targets = [m.workspace for m in workspaces] or [None]
    for workspace in targets:
        with scopes_disabled():
            record(
                action,
                workspace=workspace,
                user=user,
                label=label,
                request=request,
                object_type="users.user" if user is not None else "",
                instance=user,
                changes=changes,
            )
    return len(targets)


def login_attempt(request, email: str, password: str):
    """Authenticate ``email``/``password`` with throttling; return the user or raise ``LoginRefused``.

    A known user is locked for ``LOGIN_LOCKOUT_SECONDS`` after ``LOGIN_MAX_FAILURES`` consecutive
    failures; while locked even the right password is refused, with a message that says so. A
    success resets the counter. Unknown emails count against the client address
    (``kehu.core.ratelimit``); once an address reaches its cap it is refused for every email, so
    answers do not reveal which emails exist.
    """
    User = get_user_model()
    email = (email or "").strip().lower()
    ip_key = _ip_key(request)
    invalid = LoginRefused(_("Please enter a correct email and password."), "invalid")
    if hits_of(ip_key) >= _ip_max_failures():
        record_security_event(
            AuditEntry.Action.LOGIN_FAILED,
            request=request,
            label=email,
            changes={"reason": [None, "address_throttled"]},
        )
        raise LoginRefused(_("Too many failed logins from your address. Try again later."), "throttled")

    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        # Hash anyway so an unknown email takes as long as a known one.
        User().set_password(password)
        _bump_ip(ip_key)
        record_security_event(
            AuditEntry.Action.LOGIN_FAILED,
            request=request,
            label=email,
            changes={"reason": [None, "unknown_email"]},
        )
        raise invalid

    if user.locked_until is not None and not user.is_locked():
        # The lock has run out: the user starts again with a clean count.
        User.objects.filter(pk=user.pk).update(failed_login_count=0, locked_until=None)
        user.failed_login_count, user.locked_until = 0, None

    if user.is_locked():
        record_security_event(
            AuditEntry.Action.LOGIN_FAILED, user=user, request=request, changes={"reason": [None, "locked"]}
        )
        raise LoginRefused(locked_message(user), "locked")

    authenticated = authenticate(request, username=user.email, password=password)
    if authenticated is None:
        _register_failure(user, request)
        user.refresh_from_db(fields=["failed_login_count", "locked_until"])
        if user.is_locked():
            raise LoginRefused(locked_message(user), "locked")
        raise invalid

    if authenticated.failed_login_count or authenticated.locked_until:
        User.objects.filter(pk=authenticated.pk).update(failed_login_count=0, locked_until=None)
        authenticated.failed_login_count, authenticated.locked_until = 0, None
    return authenticated


def locked_message(user) -> str:
    minutes = max(1, int((user.locked_until - timezone.now()).total_seconds() + 59) // 60)
    return _(
        "This account is locked after too many failed logins. Try again in %(minutes)d minutes "
        "or reset your password."
    ) % {"minutes": minutes}


def _bump_ip(key: str) -> None:
    count_hit(key, settings.LOGIN_LOCKOUT_SECONDS)


@transaction.atomic
def _register_failure(user, request) -> None:
    User = get_user_model()
    User.objects.filter(pk=user.pk).update(failed_login_count=F("failed_login_count") + 1)
    count = User.objects.select_for_update().values_list("failed_login_count", flat=True).get(pk=user.pk)
    record_security_event(
        AuditEntry.Action.LOGIN_FAILED,
        user=user,
        request=request,
        changes={"reason": [None, "wrong_password"], "failures": [count - 1, count]},
    )
    if count >= settings.LOGIN_MAX_FAILURES:
        until = timezone.now() + timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
        User.objects.filter(pk=user.pk).update(locked_until=until)
        record_security_event(
            AuditEntry.Action.LOCKED,
            user=user,
            request=request,
            changes={"locked_until": [None, until.isoformat()]},
        )


def record_login(request, user) -> None:
    record_security_event(AuditEntry.Action.LOGIN, user=user, request=request)


def record_logout(request, user) -> None:
    record_security_event(AuditEntry.Action.LOGOUT, user=user, request=request)


def record_password_reset(request, user) -> None:
    """A password set through an emailed link; also clears a lock, since the user proved the mailbox."""
    get_user_model().objects.filter(pk=user.pk).update(failed_login_count=0, locked_until=None)
    record_security_event(
        AuditEntry.Action.PASSWORD_RESET, user=user, request=request, changes={"password": [MASK, MASK]}
    )


def record_password_change(request, user) -> None:
    record_security_event(
        AuditEntry.Action.UPDATE, user=user, request=request, changes={"password": [MASK, MASK]}
    )


def set_language(user, language: str) -> None:
    """Remember the user's interface language (one of settings.LANGUAGES, or "" for the default)."""
    if language and language not in dict(settings.LANGUAGES):
        raise ValueError(language)
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])


def update_profile(user, *, name: str, request=None) -> None:
    """Change the user's display name (audited in their workspaces)."""
    if user.name != name:
        before = user.name
        user.name = name
        user.save(update_fields=["name"])
        record_security_event(
            AuditEntry.Action.UPDATE, user=user, request=request, changes={"name": [before, name]}
        )
