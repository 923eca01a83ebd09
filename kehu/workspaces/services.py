"""Writes on workspaces, members, roles, teams and API keys. Every write is audited."""

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from kehu.audit.models import AuditEntry
from kehu.audit.services import create_record, delete_record, diff, record, update_record
from kehu.core.errors import Conflict, FieldError, PermissionDenied, ValidationFailed

from .access import Actor, require_manager
from .models import ApiKey, Membership, Role, Team, Workspace
from .permissions import MANAGING_ROLES, SYSTEM_ROLES, validate_permissions

API_KEY_PREFIX = "kehu_"


@transaction.atomic
def create_workspace(name: str, owner, *, slug: str = "", **settings) -> Workspace:
    """A new workspace with the built-in roles, and ``owner`` as its first member (role owner)."""
    slug = slug or slugify(name) or f"ws-{secrets.token_hex(3)}"
    if Workspace.objects.filter(slug=slug).exists():
        raise ValidationFailed([FieldError("slug", _("This short name is already taken."), "unique")])
    workspace = Workspace.objects.create(name=name, slug=slug, **settings)
    with scope(workspace=workspace):
        roles = {
            key: Role.objects.create(
                workspace=workspace,
                key=key,
                name=str(label),
                is_system=True,
                can_manage_workspace=key in MANAGING_ROLES,
            )
            for key, label in SYSTEM_ROLES.items()
        }
        membership = Membership.objects.create(workspace=workspace, user=owner, role=roles["owner"])
        record(
            AuditEntry.Action.CREATE,
            workspace=workspace,
            user=owner,
            instance=workspace,
            object_type="workspaces.workspace",
        )
        record(
            AuditEntry.Action.CREATE,
            workspace=workspace,
            user=owner,
            instance=membership,
            changes={"role": [None, "owner"]},
        )
    return workspace


def actor_for(user, workspace: Workspace, api_key: ApiKey | None = None) -> Actor | None:
    """The actor of an active member, or None when the user is no (active) member."""
    membership = (
        Membership.objects.select_related("role", "workspace", "user")
        .filter(workspace=workspace, user=user, is_active=True)
        .first()
    )
    return Actor(membership, api_key) if membership else None


def choose_workspace(user, workspace_id: int) -> Membership | None:
    """Make ``workspace_id`` the user's current workspace; None when they are no active member there."""
    with scopes_disabled():
        membership = Membership.objects.filter(user=user, workspace_id=workspace_id, is_active=True).first()
        if membership is not None:
            Membership.objects.filter(pk=membership.pk).update(last_used_at=timezone.now())
    return membership


@transaction.atomic
def add_member(actor: Actor, user, role_key: str) -> Membership:
    require_manager(actor)
    role = _role(role_key)
    if role.key == "owner" and actor.role.key != "owner":
        raise PermissionDenied(_("Only an owner can grant or take away the owner role."))
    if Membership.objects.filter(user=user).exists():
        raise Conflict(_("This user is already a member."))
    membership = create_record(actor, Membership(user=user, role=role))
    return membership


@transaction.atomic
def change_member(
    actor: Actor, membership: Membership, *, role_key: str | None = None, is_active: bool | None = None
) -> Membership:
    require_manager(actor)
    values: dict = {}
    if role_key is not None:
        values["role"] = _role(role_key)
    if is_active is not None:
        values["is_active"] = is_active
    touches_owner = membership.role.key == "owner" or role_key == "owner"
    if touches_owner and actor.role.key != "owner":
        raise PermissionDenied(_("Only an owner can grant or take away the owner role."))
    demoting_owner = membership.role.key == "owner" and (
        ("role" in values and values["role"].key != "owner") or is_active is False
    )
    if (
        demoting_owner
        and not Membership.objects.filter(role__key="owner", is_active=True)
        .exclude(pk=membership.pk)
        .exists()
    ):
        raise Conflict(_("A workspace needs at least one active owner."))
    before = {"role": membership.role.key, "is_active": membership.is_active}
    for name, value in values.items():
        setattr(membership, name, value)
    membership.updated_by = actor.user
    membership.save()
    changes = diff(before, {"role": membership.role.key, "is_active": membership.is_active})
    if changes:
        record(AuditEntry.Action.PERMISSION_CHANGE, actor=actor, instance=membership, changes=changes)
    return membership


def _role(key: str) -> Role:
    role = Role.objects.filter(key=key).first()
    if role is None:
        raise ValidationFailed([FieldError("role", _("Unknown role."), "unknown")])
    return role


@transaction.atomic
def create_role(
    actor: Actor, key: str, name: str, permissions: dict, can_manage_workspace: bool = False
) -> Role:
    require_manager(actor)
    _check_permissions(permissions)
    if Role.objects.filter(key=key).exists():
        raise ValidationFailed([FieldError("key", _("A role with this key exists."), "unique")])
    role = Role(key=key, name=name, permissions=permissions, can_manage_workspace=can_manage_workspace)
    create_record(actor, role)
    return role


@transaction.atomic
def change_role(
    actor: Actor, role: Role, *, name: str | None = None, permissions: dict | None = None
) -> Role:
    require_manager(actor)
    values: dict = {}
    if name is not None:
        values["name"] = name
    if permissions is not None:
        _check_permissions(permissions)
        values["permissions"] = permissions
    before = {"name": role.name, "permissions": role.permissions}
    for field_name, value in values.items():
        setattr(role, field_name, value)
    role.updated_by = actor.user
    role.save()
    changes = diff(before, {"name": role.name, "permissions": role.permissions})
    if changes:
        record(AuditEntry.Action.PERMISSION_CHANGE, actor=actor, instance=role, changes=changes)
    return role


def _check_permissions(permissions: dict) -> None:
    problems = validate_permissions(permissions)
    if problems:
        raise ValidationFailed([FieldError(path, message) for path, message in problems])


@transaction.atomic
def create_team(actor: Actor, name: str, member_ids: list[int] | None = None) -> Team:
    require_manager(actor)
    if Team.objects.filter(name=name).exists():
        raise ValidationFailed([FieldError("name", _("A team with this name exists."), "unique")])
    team = create_record(actor, Team(name=name))
    if member_ids:
        set_team_members(actor, team, member_ids)
    return team


@transaction.atomic
def set_team_members(actor: Actor, team: Team, member_ids: list[int]) -> Team:
    require_manager(actor)
    valid = set(Membership.objects.filter(user_id__in=member_ids).values_list("user_id", flat=True))
    unknown = sorted(set(member_ids) - valid)
    if unknown:
        raise ValidationFailed([FieldError("members", _("Not members of this workspace: %s") % unknown)])
    before = sorted(team.members.values_list("id", flat=True))
    team.members.set(valid)
    changes = diff({"members": before}, {"members": sorted(valid)})
    if changes:
        record(AuditEntry.Action.PERMISSION_CHANGE, actor=actor, instance=team, changes=changes)
    return team


@transaction.atomic
def rename_team(actor: Actor, team: Team, name: str) -> Team:
    require_manager(actor)
    update_record(actor, team, {"name": name})
    return team


@transaction.atomic
def delete_team(actor: Actor, team: Team) -> None:
    require_manager(actor)
    delete_record(actor, team)


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def create_api_key(actor: Actor, name: str, user=None) -> tuple[ApiKey, str]:
    """A new key acting as ``user`` (default: the actor). Returns the key and its secret, shown once."""
    user = user or actor.user
    if user != actor.user:
        require_manager(actor)
    if not Membership.objects.filter(user=user, is_active=True).exists():
        raise ValidationFailed([FieldError("user", _("Not an active member of this workspace."))])
    prefix = secrets.token_hex(4)
    raw = f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(user=user, name=name, prefix=prefix, key_hash=_hash(raw))
    create_record(actor, key)
    return key, raw


@transaction.atomic
def revoke_api_key(actor: Actor, key: ApiKey) -> ApiKey:
    if key.user_id != actor.user.pk:
        require_manager(actor)
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        record(AuditEntry.Action.REVOKE, actor=actor, instance=key)
    return key


def authenticate_api_key(raw: str) -> Actor | None:
    """The actor behind a raw key, or None for an unknown, revoked or orphaned key."""
    if not raw.startswith(API_KEY_PREFIX):
        return None
    prefix = raw[len(API_KEY_PREFIX) :].split("_", 1)[0]
    with scopes_disabled():
        key = ApiKey.objects.select_related("workspace", "user").filter(prefix=prefix).first()
    if key is None or key.revoked_at is not None or not secrets.compare_digest(key.key_hash, _hash(raw)):
        return None
    if not key.user.is_active:
        return None
    with scope(workspace=key.workspace):
        actor = actor_for(key.user, key.workspace, key)
    if actor is None:
        return None
    now = timezone.now()
    # Touch at most once a minute so busy keys do not write on every request.
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        with scopes_disabled():
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return actor


WORKSPACE_SETTINGS = ("name", "default_region", "base_currency", "default_language", "time_zone")


def _workspace_problems(values: dict) -> list[FieldError]:
    import re
    import zoneinfo

    import phonenumbers
    from django.conf import settings as django_settings

    problems = []
    if "name" in values and not (values["name"] or "").strip():
        problems.append(FieldError("name", _("The name cannot be empty."), "required"))
    if "default_region" in values and values["default_region"] not in phonenumbers.SUPPORTED_REGIONS:
        problems.append(FieldError("default_region", _("Unknown country code."), "invalid_choice"))
    if "base_currency" in values and not re.fullmatch(r"[A-Z]{3}", values["base_currency"] or ""):
        problems.append(FieldError("base_currency", _("Use a three-letter ISO 4217 code."), "invalid"))
    if "default_language" in values and values["default_language"] not in dict(django_settings.LANGUAGES):
        problems.append(FieldError("default_language", _("Unsupported language."), "invalid_choice"))
    if "time_zone" in values and values["time_zone"] not in zoneinfo.available_timezones():
        problems.append(FieldError("time_zone", _("Unknown time zone."), "invalid_choice"))
    return problems


@transaction.atomic
def change_team(
    actor: Actor, team: Team, *, name: str | None = None, member_ids: list[int] | None = None
) -> Team:
    """Rename a team and/or replace its members in one audited change."""
    require_manager(actor)
    if name is not None and name != team.name:
        if Team.objects.filter(name=name).exclude(pk=team.pk).exists():
            raise ValidationFailed([FieldError("name", _("A team with this name exists."), "unique")])
        rename_team(actor, team, name)
    if member_ids is not None:
        set_team_members(actor, team, member_ids)
    return team


@transaction.atomic
def invite_member(actor: Actor, email: str, role_key: str, name: str = "") -> tuple[Membership, bool]:
    """Add the user with ``email`` to the workspace, creating the user (no password yet) if needed.

    Returns the membership and whether a user was created; a new user sets a password through
    the emailed link. A deactivated member is reactivated with the given role.
    """
    from django.contrib.auth import get_user_model

    require_manager(actor)
    User = get_user_model()
    email = User.objects.normalize_email(email).strip().lower()
    user = User.objects.filter(email__iexact=email).first()
    created = user is None
    if created:
        user = User.objects.create_user(email=email, password=None, name=name.strip())
        record(
            AuditEntry.Action.CREATE,
            actor=actor,
            instance=user,
            object_type="users.user",
            changes={"email": [None, email], "name": [None, user.name]},
        )
    existing = Membership.objects.filter(user=user).first()
    if existing is not None:
        if existing.is_active:
            raise Conflict(_("This user is already a member."))
        return change_member(actor, existing, role_key=role_key, is_active=True), created
    return add_member(actor, user, role_key), created


@transaction.atomic
def change_workspace(actor: Actor, **values) -> Workspace:
    """Change the workspace's name and defaults (the fields in ``WORKSPACE_SETTINGS``); audited."""
    require_manager(actor)
    unknown = sorted(set(values) - set(WORKSPACE_SETTINGS))
    if unknown:
        raise ValidationFailed([FieldError(name, _("Unknown field.")) for name in unknown])
    if "name" in values and not str(values["name"]).strip():
        raise ValidationFailed([FieldError("name", _("This field is required."), "required")])
    for code_field in ("default_region", "base_currency"):
        if isinstance(values.get(code_field), str):
            values[code_field] = values[code_field].upper()
    if problems := _workspace_problems(values):
        raise ValidationFailed(problems)
    workspace = Workspace.objects.select_for_update().get(pk=actor.workspace.pk)
    before = {name: getattr(workspace, name) for name in WORKSPACE_SETTINGS}
    for name, value in values.items():
        setattr(workspace, name, value)
    changes = diff(before, {name: getattr(workspace, name) for name in WORKSPACE_SETTINGS})
    if changes:
        workspace.save(update_fields=list(changes))
        record(
            AuditEntry.Action.UPDATE,
            actor=actor,
            instance=workspace,
            object_type="workspaces.workspace",
            changes=changes,
        )
        actor.membership.workspace = workspace
    return workspace


def send_invitation(request, user, workspace) -> None:
    """Email a new user a link to set their password (the password-reset link, valid once)."""
    from django.contrib.auth.tokens import default_token_generator
    from django.core.mail import send_mail
    from django.template.loader import render_to_string
    from django.urls import reverse
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    path = reverse(
        "users:password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    context = {
        "user": user,
        "workspace": workspace,
        "link": request.build_absolute_uri(path),
        "inviter": request.user,
    }
    subject = render_to_string("workspaces/invitation_subject.txt", context).strip()
    body = render_to_string("workspaces/invitation_email.txt", context)
    send_mail(subject, body, None, [user.email])
