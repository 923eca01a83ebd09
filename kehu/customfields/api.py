"""REST endpoints for custom field definitions, and the helpers record APIs use for ``custom`` values.

``GET /custom-fields?object_type=customers.account`` describes the fields a caller may see (the
typed description of the ``custom`` object of that record type); administrators create, change,
archive and delete fields. Record schemas (accounts, contacts, orders …) declare
``custom: dict = custom_field()`` and ``resolve_custom = custom_resolver("app.model")``.
"""

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from kehu.core.api import InputSchema, actor_of
from kehu.core.errors import DomainError, NotFound
from kehu.workspaces.access import require_manager

from . import services
from .models import FieldDefinition, FieldType, FieldValueExport
from .queries import can_read, can_write, definitions, readable_values, supported_object_types

router = Router(tags=["custom fields"])

CUSTOM_DESCRIPTION = (
    "Custom field values by field key. The fields, their types, options and rules are described by "
    "GET /api/v1/custom-fields?object_type=<type>; fields hidden from the caller's role are left out."
)
CUSTOM_IN_DESCRIPTION = (
    "Custom field values by field key (see GET /api/v1/custom-fields?object_type=<type>). Only the keys "
    'sent are changed; null or "" clears a value. Errors name the field as custom.<key>.'
)


def custom_field(input: bool = False) -> Any:
    """The ``custom`` field of a record schema (output: always an object; input: optional)."""
    if input:
        return Field(None, description=CUSTOM_IN_DESCRIPTION, json_schema_extra={"type": "object"})
    return Field(default_factory=dict, description=CUSTOM_DESCRIPTION)


def custom_resolver(object_type: str):
    """A ninja resolver that returns only the custom values the calling actor may read.

    Responses are validated with the request in the context, so every API answer is filtered; an
    intermediate ``from_orm`` without a request keeps the raw values for that final pass.
    """

    def resolve(obj, context=None):
        values = obj.get("custom") if isinstance(obj, dict) else getattr(obj, "custom", None)
        request = (context or {}).get("request")
        actor = getattr(request, "auth", None) or getattr(request, "actor", None)
        if actor is None:
            return values or {}
        return readable_values(actor, object_type, values)

    return staticmethod(resolve)


# --- schemas ---------------------------------------------------------------------------------------


class ChoiceIO(Schema):
    value: str
    label: str


class FieldOut(Schema):
    id: int
    object_type: str
    key: str = Field(..., description="The key of the value in the record's `custom` object")
    label: str
    field_type: str = Field(..., description=" | ".join(FieldType.values))
    options: dict = Field(
        ..., description='Selects: {"choices": [{"value", "label"}]}; relations: {"target": "app.model"}'
    )
    required: bool
    unique: bool
    default: Any = None
    help_text: str
    validation: dict = Field(..., description="min, max, min_length, max_length, pattern")
    position: int
    visible_to_roles: list[str] = Field(..., description="Role keys; empty = every role")
    editable_by_roles: list[str] = Field(..., description="Role keys; empty = every role that sees it")
    archived_at: datetime | None
    writable: bool = Field(False, description="Whether the caller may change values of this field")


class FieldIn(InputSchema):
    object_type: str = Field(..., description="e.g. customers.account")
    key: str = Field(..., max_length=50, description="lower_case_key; cannot change later")
    label: str = Field(..., max_length=100)
    field_type: str = Field(..., description=" | ".join(FieldType.values))
    options: dict = Field(default_factory=dict)
    required: bool = False
    unique: bool = False
    default: Any = None
    help_text: str = Field("", max_length=300)
    validation: dict = Field(default_factory=dict)
    position: int | None = None
    visible_to_roles: list[str] = Field(default_factory=list)
    editable_by_roles: list[str] = Field(default_factory=list)


class FieldPatch(InputSchema):
    label: str | None = Field(None, max_length=100)
    options: dict | None = None
    required: bool | None = None
    unique: bool | None = None
    default: Any = None
    help_text: str | None = Field(None, max_length=300)
    validation: dict | None = None
    position: int | None = None
    visible_to_roles: list[str] | None = None
    editable_by_roles: list[str] | None = None
    archived: bool | None = Field(None, description="true hides the field; its values stay")


class FieldFilters(Schema):
    object_type: str | None = Field(None, description="Only the fields of this record type")
    include_archived: bool = Field(False, description="Administrators only")


class ObjectTypeOut(Schema):
    key: str
    label: str


class ExportOut(Schema):
    id: int
    object_type: str
    key: str
    label: str
    field_type: str
    count: int
    created_at: datetime


class ExportDetailOut(ExportOut):
    values: dict[str, Any] = Field(..., description="{record id: value}")


def _out(actor, definition: FieldDefinition) -> dict:
    data = FieldOut.from_orm(definition).dict()
    data["writable"] = can_write(actor, definition)
    return data


def _definition(actor, field_id: int) -> FieldDefinition:
    found = FieldDefinition.objects.filter(pk=field_id).first()
    if found is None or not can_read(actor, found):
        raise NotFound()
    return found


# --- endpoints -------------------------------------------------------------------------------------


@router.get("/custom-fields/object-types", response=list[ObjectTypeOut], summary="Types with custom fields")
def object_types(request: HttpRequest):
    actor_of(request)
    return [{"key": ot.key, "label": str(ot.label)} for ot in supported_object_types()]


@router.get("/custom-fields", response=list[FieldOut], summary="Custom fields the caller may see")
def list_fields(request: HttpRequest, filters: Query[FieldFilters]):
    actor = actor_of(request)
    include_archived = filters.include_archived and actor.can_manage_workspace
    qs = FieldDefinition.objects.all()
    if filters.object_type:
        qs = qs.filter(object_type=filters.object_type)
    if not include_archived:
        qs = qs.filter(archived_at__isnull=True)
    fields = qs.order_by("object_type", "position", "id")
    return [_out(actor, d) for d in fields if can_read(actor, d)]


@router.get("/custom-fields/{field_id}", response=FieldOut, summary="One custom field")
def get_field(request: HttpRequest, field_id: int):
    actor = actor_of(request)
    return _out(actor, _definition(actor, field_id))


@router.post("/custom-fields", response={201: FieldOut}, summary="Add a custom field (administrators)")
def create_field(request: HttpRequest, payload: FieldIn):
    actor = actor_of(request)
    return Status(201, _out(actor, services.create_definition(actor, **payload.dict())))


@router.patch("/custom-fields/{field_id}", response=FieldOut, summary="Change a custom field (admins)")
def update_field(request: HttpRequest, field_id: int, payload: FieldPatch):
    actor = actor_of(request)
    require_manager(actor)
    definition = _definition(actor, field_id)
    values = payload.dict(exclude_unset=True)
    archived = values.pop("archived", None)
    if values:
        services.update_definition(actor, definition, **values)
    if archived is not None:
        services.archive_definition(actor, definition, archived)
    return _out(actor, definition)


class ConfirmationRequired(DomainError):
    def __init__(self) -> None:
        from django.utils.translation import gettext

        super().__init__(
            gettext("Deleting a field removes its values from every record: repeat with ?confirm=true."),
            "confirmation_required",
            400,
        )


class DeletedOut(Schema):
    export: ExportOut = Field(..., description="The kept values; GET /custom-field-exports/{id}")


@router.delete(
    "/custom-fields/{field_id}",
    response=DeletedOut,
    summary="Delete a custom field and its values, keeping an export (administrators; ?confirm=true)",
)
def delete_field(request: HttpRequest, field_id: int, confirm: bool = False):
    actor = actor_of(request)
    require_manager(actor)
    definition = _definition(actor, field_id)
    if not confirm:
        raise ConfirmationRequired()
    return {"export": services.delete_definition(actor, definition)}


@router.get("/custom-field-exports", response=list[ExportOut], summary="Values kept from deleted fields")
def list_exports(request: HttpRequest):
    actor = actor_of(request)
    require_manager(actor)
    return list(FieldValueExport.objects.defer("values").order_by("-created_at")[:200])


@router.get("/custom-field-exports/{export_id}", response=ExportDetailOut, summary="One kept export")
def get_export(request: HttpRequest, export_id: int):
    actor = actor_of(request)
    require_manager(actor)
    found = FieldValueExport.objects.filter(pk=export_id).first()
    if found is None:
        raise NotFound()
    return found


__all__ = ["CUSTOM_DESCRIPTION", "custom_field", "custom_resolver", "definitions", "router"]
