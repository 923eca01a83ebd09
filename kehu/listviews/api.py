"""REST endpoints for saved views (``/api/v1/views``) and the ``?filters=`` helper of list endpoints."""

from datetime import datetime

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from kehu.core.api import InputSchema, actor_of, patch_schema
from kehu.workspaces.access import Actor

from . import services
from .filters import compile_filters, parse_json_spec
from .models import SavedView
from .registry import config_for

router = Router(tags=["views"])


def apply_api_filters(actor: Actor, queryset: QuerySet, request: HttpRequest) -> QuerySet:
    """Narrow a list endpoint's records by ``?filters=<JSON spec>`` (see docs/lists.md)."""
    text = request.GET.get("filters", "")
    config = config_for(queryset.model.object_type)
    if not text or config is None:
        return queryset
    condition = compile_filters(actor, config, parse_json_spec(text))
    return queryset.filter(condition) if condition else queryset


class ViewOut(Schema):
    id: int
    object_type: str
    name: str
    owner_id: int
    shared: str = Field(..., description="personal | workspace")
    filters: dict
    ordering: str
    columns: list[str]
    is_default: bool
    created_at: datetime
    updated_at: datetime


class ViewIn(InputSchema):
    object_type: str = Field(..., description="e.g. customers.account, customers.contact")
    name: str = Field(..., max_length=100)
    shared: str = Field("personal", description="personal | workspace (managers and administrators)")
    filters: dict = Field(default_factory=dict, description='{"op": "and", "conditions": [...]}')
    ordering: str = Field("", description="A sort key of the list, '-' for descending")
    columns: list[str] = Field(default_factory=list, description="Visible columns in order")
    is_default: bool = False


class ViewPatch(patch_schema(ViewIn, "ViewPatchBase")):  # type: ignore[misc]
    pass


class ViewFilters(Schema):
    object_type: str | None = None


@router.get("/views", response=list[ViewOut], summary="Saved views the caller may use")
def list_views(request: HttpRequest, filters: Query[ViewFilters]):
    actor = actor_of(request)
    qs = SavedView.objects.filter(pk__in=services.visible_view_ids(actor))
    if filters.object_type:
        qs = qs.filter(object_type=filters.object_type)
    return list(qs.order_by("object_type", "name", "pk")[:500])


@router.post("/views", response={201: ViewOut}, summary="Save a view")
def create_view(request: HttpRequest, payload: ViewIn):
    values = payload.dict()
    object_type = values.pop("object_type")
    return Status(201, services.create_view(actor_of(request), object_type, **values))


@router.get("/views/{view_id}", response=ViewOut, summary="One saved view")
def get_view(request: HttpRequest, view_id: int):
    return services.get_view(actor_of(request), view_id)


@router.patch("/views/{view_id}", response=ViewOut, summary="Rename, share or change a view")
def update_view(request: HttpRequest, view_id: int, payload: ViewPatch):
    actor = actor_of(request)
    values = payload.dict(exclude_unset=True)
    values.pop("object_type", None)
    return services.update_view(actor, services.get_view(actor, view_id), **values)


@router.delete("/views/{view_id}", response={204: None}, summary="Delete a view")
def delete_view(request: HttpRequest, view_id: int):
    actor = actor_of(request)
    services.delete_view(actor, services.get_view(actor, view_id))
    return Status(204, None)
