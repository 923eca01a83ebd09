"""REST endpoints for the current workspace, its members, roles, teams and API keys.

Handlers are thin: validate (schemas) → ``kehu.workspaces.services`` → output schema. Every query
runs inside the request's workspace scope, so another workspace's ids simply are not found (404).
"""

from datetime import datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from pydantic import field_validator

from kehu.core.api import InputSchema, actor_of, keyset

from . import services
from .access import require_manager
from .models import ApiKey, Membership, Role, Team
from .permissions import ACTIONS, DEFAULT_MATRIX, OBJECT_TYPES, SCOPES, default_grant

router = Router(tags=["workspace"])


# --- schemas ---------------------------------------------------------------------------------------


class WorkspaceOut(Schema):
    id: int
    name: str
    slug: str
    default_region: str
    base_currency: str
    default_language: str
    time_zone: str
    created_at: datetime


class WorkspaceIn(InputSchema):
    name: str | None = Field(None, min_length=1, max_length=200)
    default_region: str | None = Field(None, min_length=2, max_length=2, description="ISO 3166 country code")
    base_currency: str | None = Field(None, min_length=3, max_length=3, description="ISO 4217 currency code")
    default_language: str | None = Field(None, max_length=10)
    time_zone: str | None = Field(None, max_length=60, description="IANA time zone, e.g. Asia/Shanghai")


class UserOut(Schema):
    id: int
    email: str
    name: str


class MemberOut(Schema):
    id: int
    user: UserOut
    role: str = Field(..., description="The role's key")
    role_name: str
    is_active: bool
    created_at: datetime

    @staticmethod
    def resolve_role(obj: Membership) -> str:
        return obj.role.key

    @staticmethod
    def resolve_role_name(obj: Membership) -> str:
        return obj.role.label


class MemberIn(InputSchema):
    email: str = Field(..., max_length=254)
    name: str = Field("", max_length=150, description="Used only when the user is new")
    role: str = Field(..., max_length=40, description="A role key, e.g. sales")

    @field_validator("email")
    @classmethod
    def _valid_email(cls, value: str) -> str:
        try:
            validate_email(value.strip())
        except DjangoValidationError:
            raise ValueError(_("Enter a valid email address.")) from None
        return value.strip()


class MemberPatch(InputSchema):
    role: str | None = Field(None, max_length=40)
    is_active: bool | None = None


class GrantIO(InputSchema):
    actions: list[str]
    scope: str


class RoleOut(Schema):
    id: int
    key: str
    name: str
    is_system: bool
    can_manage_workspace: bool
    permissions: dict[str, dict] = Field(..., description="Stored overrides per object type")
    effective: dict[str, dict] = Field(..., description="What applies per object type, defaults included")
    created_at: datetime

    @staticmethod
    def resolve_name(obj: Role) -> str:
        return obj.label

    @staticmethod
    def resolve_effective(obj: Role) -> dict[str, dict]:
        from .permissions import grant_from_stored

        return {
            key: (grant_from_stored(obj.permissions.get(key)) or default_grant(obj.key, key)).as_dict()
            for key in sorted(OBJECT_TYPES)
        }


class RoleIn(InputSchema):
    key: str = Field(..., min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str = Field(..., min_length=1, max_length=100)
    permissions: dict[str, dict] = Field(default_factory=dict)
    can_manage_workspace: bool = False


class RolePatch(InputSchema):
    name: str | None = Field(None, min_length=1, max_length=100)
    permissions: dict[str, dict] | None = None


class TeamOut(Schema):
    id: int
    name: str
    members: list[int] = Field(..., description="User ids")
    created_at: datetime

    @staticmethod
    def resolve_members(obj: Team) -> list[int]:
        return sorted(user.pk for user in obj.members.all())


class TeamIn(InputSchema):
    name: str = Field(..., min_length=1, max_length=100)
    members: list[int] = Field(default_factory=list, description="User ids of workspace members")


class TeamPatch(InputSchema):
    name: str | None = Field(None, min_length=1, max_length=100)
    members: list[int] | None = None


class ApiKeyOut(Schema):
    id: int
    name: str
    prefix: str
    user_id: int
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(..., description="The secret. Shown only in this response; store it now.")


class ApiKeyIn(InputSchema):
    name: str = Field(..., min_length=1, max_length=100)
    user_id: int | None = Field(None, description="Another member to act as (administrators only)")


class MembershipBrief(Schema):
    workspace_id: int
    workspace_name: str
    role: str


class MeOut(Schema):
    user: UserOut
    workspace: WorkspaceOut
    role: str
    role_name: str
    can_manage_workspace: bool
    api_key_prefix: str | None
    memberships: list[MembershipBrief]


class ObjectTypeOut(Schema):
    key: str
    label: str
    domain: str
    actions: list[str]
    scopes: list[str]
    defaults: dict[str, GrantIO] = Field(..., description="Built-in grant per system role")


# --- workspace and me ------------------------------------------------------------------------------


@router.get("/workspace", response=WorkspaceOut, summary="The current workspace")
def get_workspace(request):
    return actor_of(request).workspace


@router.patch("/workspace", response=WorkspaceOut, summary="Change the workspace (administrators)")
def patch_workspace(request, payload: WorkspaceIn):
    values = payload.model_dump(exclude_unset=True)
    return services.change_workspace(actor_of(request), **values)


@router.get("/me", response=MeOut, summary="Who is calling")
def me(request):
    actor = actor_of(request)
    from django_scopes import scopes_disabled

    with scopes_disabled():
        memberships = list(
            Membership.objects.select_related("workspace", "role")
            .filter(user=actor.user, is_active=True)
            .order_by("workspace__name", "workspace_id")
        )
    return {
        "user": actor.user,
        "workspace": actor.workspace,
        "role": actor.role.key,
        "role_name": actor.role.label,
        "can_manage_workspace": actor.can_manage_workspace,
        "api_key_prefix": actor.api_key.prefix if actor.api_key else None,
        "memberships": [
            {"workspace_id": m.workspace_id, "workspace_name": m.workspace.name, "role": m.role.key}
            for m in memberships
        ],
    }


@router.get("/object-types", response=list[ObjectTypeOut], summary="Object types with actions and scopes")
def object_types(request):
    actor_of(request)
    return [
        {
            "key": ot.key,
            "label": str(ot.label),
            "domain": ot.domain,
            "actions": list(ACTIONS),
            "scopes": list(SCOPES),
            "defaults": {role: default_grant(role, ot.key).as_dict() for role in DEFAULT_MATRIX},
        }
        for ot in sorted(OBJECT_TYPES.values(), key=lambda o: o.key)
    ]


# --- members ---------------------------------------------------------------------------------------


@router.get("/members", response=list[MemberOut], summary="Members of the workspace")
@keyset(orderings=("created_at", "id"), default="created_at")
def list_members(request, role: str | None = None, is_active: bool | None = None):
    actor_of(request)
    queryset = Membership.objects.select_related("user", "role")
    if role is not None:
        queryset = queryset.filter(role__key=role)
    if is_active is not None:
        queryset = queryset.filter(is_active=is_active)
    return queryset


@router.post("/members", response={201: MemberOut}, summary="Add a member (administrators)")
def add_member(request, payload: MemberIn):
    membership, _created = services.invite_member(
        actor_of(request), payload.email, payload.role, payload.name
    )
    return Status(201, membership)


@router.patch("/members/{member_id}", response=MemberOut, summary="Change a member's role or status")
def patch_member(request, member_id: int, payload: MemberPatch):
    membership = get_object_or_404(Membership.objects.select_related("user", "role"), pk=member_id)
    values = payload.model_dump(exclude_unset=True)
    return services.change_member(
        actor_of(request), membership, role_key=values.get("role"), is_active=values.get("is_active")
    )


# --- roles -----------------------------------------------------------------------------------------


@router.get("/roles", response=list[RoleOut], summary="Roles and their permissions")
@keyset(orderings=("created_at", "key", "id"), default="created_at")
def list_roles(request):
    actor_of(request)
    return Role.objects.all()


@router.post("/roles", response={201: RoleOut}, summary="Create a role (administrators)")
def create_role(request, payload: RoleIn):
    role = services.create_role(
        actor_of(request), payload.key, payload.name, payload.permissions, payload.can_manage_workspace
    )
    return Status(201, role)


@router.patch("/roles/{role_id}", response=RoleOut, summary="Rename a role or change its permissions")
def patch_role(request, role_id: int, payload: RolePatch):
    role = get_object_or_404(Role, pk=role_id)
    values = payload.model_dump(exclude_unset=True)
    return services.change_role(
        actor_of(request), role, name=values.get("name"), permissions=values.get("permissions")
    )


# --- teams -----------------------------------------------------------------------------------------


@router.get("/teams", response=list[TeamOut], summary="Teams")
@keyset(orderings=("name", "created_at", "id"), default="name")
def list_teams(request, name: str | None = None):
    actor_of(request)
    queryset = Team.objects.prefetch_related("members")
    if name:
        queryset = queryset.filter(name__icontains=name)
    return queryset


@router.post("/teams", response={201: TeamOut}, summary="Create a team (administrators)")
def create_team(request, payload: TeamIn):
    team = services.create_team(actor_of(request), payload.name, payload.members)
    return Status(201, team)


@router.patch("/teams/{team_id}", response=TeamOut, summary="Rename a team or replace its members")
def patch_team(request, team_id: int, payload: TeamPatch):
    team = get_object_or_404(Team, pk=team_id)
    values = payload.model_dump(exclude_unset=True)
    return services.change_team(
        actor_of(request), team, name=values.get("name"), member_ids=values.get("members")
    )


@router.delete("/teams/{team_id}", response={204: None}, summary="Delete a team (administrators)")
def delete_team(request, team_id: int):
    team = get_object_or_404(Team, pk=team_id)
    services.delete_team(actor_of(request), team)
    return Status(204, None)


# --- API keys --------------------------------------------------------------------------------------


def _keys_of(actor):
    # Members see their own keys; administrators see everyone's. Others' keys are "not found".
    queryset = ApiKey.objects.all()
    return queryset if actor.can_manage_workspace else queryset.filter(user=actor.user)


@router.get("/api-keys", response=list[ApiKeyOut], summary="API keys (own; administrators: all)")
@keyset(orderings=("created_at", "last_used_at", "id"), default="-created_at")
def list_api_keys(request, active: bool | None = None, user_id: int | None = None):
    queryset = _keys_of(actor_of(request))
    if active is not None:
        queryset = queryset.filter(revoked_at__isnull=active)
    if user_id is not None:
        queryset = queryset.filter(user_id=user_id)
    return queryset


@router.post(
    "/api-keys", response={201: ApiKeyCreated}, summary="Create an API key (the secret is shown once)"
)
def create_api_key(request, payload: ApiKeyIn):
    actor = actor_of(request)
    user = None
    if payload.user_id is not None and payload.user_id != actor.user.pk:
        require_manager(actor)
        membership = Membership.objects.select_related("user").filter(user_id=payload.user_id).first()
        if membership is None:
            from kehu.core.errors import FieldError, ValidationFailed

            raise ValidationFailed([FieldError("user_id", _("Not a member of this workspace."), "unknown")])
        user = membership.user
    key, raw = services.create_api_key(actor, payload.name, user=user)
    return Status(201, {**ApiKeyOut.model_validate(key).model_dump(), "key": raw})


@router.delete("/api-keys/{key_id}", response=ApiKeyOut, summary="Revoke an API key")
def revoke_api_key(request, key_id: int):
    actor = actor_of(request)
    key = get_object_or_404(_keys_of(actor), pk=key_id)
    return services.revoke_api_key(actor, key)
