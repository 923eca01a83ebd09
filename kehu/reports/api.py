"""REST endpoints for reports (``/api/v1/reports``) and dashboards (``/api/v1/dashboards``).

A report or dashboard another member keeps private does not exist for the caller (404). Running a
report returns its rows as the caller sees them (record permissions apply).
"""

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from kehu.core.api import InputSchema, actor_of, patch_schema

from . import services
from .fields import report_fields, reportable_types

router = Router(tags=["reports"])


class ReportOut(Schema):
    id: int
    name: str
    description: str
    object_type: str
    chart: str
    definition: dict
    owner_id: int
    sharing: str = Field(..., description="private | team | workspace")
    team_id: int | None
    created_at: datetime
    updated_at: datetime


class ReportIn(InputSchema):
    name: str = Field(..., max_length=120)
    object_type: str = Field(..., description="A listed record type, e.g. customers.account, commerce.order")
    definition: dict = Field(
        default_factory=dict,
        description='{"filters": <list filter spec>, "group_by": [{"field": "grade"}, '
        '{"field": "created_at", '
        '"bucket": "month"}], "aggregates": [{"fn": "count"}, {"fn": "sum", "field": "total_amount"}], '
        '"date_field": "created_at", "sort": "value_desc|value_asc|group", "limit": 50}',
    )
    chart: str = Field("bar", description="bar | line | pie | funnel | treemap | table")
    description: str = Field("", max_length=300)
    sharing: str = Field("private", description="private | team | workspace")
    team_id: int | None = None


class ReportPatch(patch_schema(ReportIn, "ReportPatchBase")):  # type: ignore[misc]
    pass


class RunFilters(Schema):
    start: date | None = Field(None, description="First day of the date range (on the report's date field)")
    end: date | None = Field(None, description="Last day of the date range")


class RowOut(Schema):
    keys: list[Any]
    labels: list[str]
    values: list[Any]


class RunOut(Schema):
    dimensions: list[str]
    measures: list[str]
    rows: list[RowOut]
    truncated: bool


class FieldOut(Schema):
    name: str
    label: str
    kind: str
    numeric: bool
    dated: bool


class ObjectTypeOut(Schema):
    object_type: str
    label: str
    fields: list[FieldOut]


def _key(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


@router.get("/reports/fields", response=list[ObjectTypeOut], summary="What reports can group and aggregate")
def report_field_list(request: HttpRequest):
    actor = actor_of(request)
    return [
        {
            "object_type": c.object_type,
            "label": str(c.label),
            "fields": [
                {
                    "name": f.name,
                    "label": str(f.label),
                    "kind": f.kind,
                    "numeric": f.numeric,
                    "dated": f.dated,
                }
                for f in report_fields(actor, c.object_type).values()
            ],
        }
        for c in reportable_types()
    ]


@router.get("/reports", response=list[ReportOut], summary="Reports the caller may open")
def list_reports(request: HttpRequest):
    return list(services.reports_of(actor_of(request))[:500])


@router.post("/reports", response={201: ReportOut}, summary="Save a report")
def create_report(request: HttpRequest, payload: ReportIn):
    return Status(201, services.create_report(actor_of(request), **payload.dict()))


@router.get("/reports/{report_id}", response=ReportOut, summary="One report")
def get_report(request: HttpRequest, report_id: int):
    return services.get_report(actor_of(request), report_id)


@router.patch("/reports/{report_id}", response=ReportOut, summary="Change a report (owner)")
def update_report(request: HttpRequest, report_id: int, payload: ReportPatch):
    actor = actor_of(request)
    return services.update_report(
        actor, services.get_report(actor, report_id), **payload.dict(exclude_unset=True)
    )


@router.delete("/reports/{report_id}", response={204: None}, summary="Delete a report (owner)")
def delete_report(request: HttpRequest, report_id: int):
    actor = actor_of(request)
    services.delete_report(actor, services.get_report(actor, report_id))
    return Status(204, None)


@router.get("/reports/{report_id}/run", response=RunOut, summary="Run a report: its grouped rows")
def run_report(request: HttpRequest, report_id: int, filters: Query[RunFilters]):
    actor = actor_of(request)
    result = services.run_report(
        actor, services.get_report(actor, report_id), start=filters.start, end=filters.end
    )
    return {
        "dimensions": result.dimensions,
        "measures": result.measures,
        "rows": [
            {"keys": [_key(k) for k in r.keys], "labels": list(r.labels), "values": r.values}
            for r in result.rows
        ],
        "truncated": result.truncated,
    }


# --- dashboards ------------------------------------------------------------------------------------


class TileOut(Schema):
    id: int
    report_id: int | None
    kind: str
    title: str
    position: int
    width: int


class DashboardOut(Schema):
    id: int
    name: str
    key: str
    owner_id: int
    sharing: str
    team_id: int | None
    schedule: str
    recipient_ids: list[int]
    tiles: list[TileOut]
    created_at: datetime
    updated_at: datetime


class DashboardIn(InputSchema):
    name: str = Field(..., max_length=120)
    sharing: str = Field("private", description="private | team | workspace")
    team_id: int | None = None
    schedule: str = Field("", description="'' | daily | weekly")
    recipient_ids: list[int] = Field(default_factory=list, description="Members who get the scheduled email")


class DashboardPatch(patch_schema(DashboardIn, "DashboardPatchBase")):  # type: ignore[misc]
    pass


class TileIn(InputSchema):
    report_id: int | None = None
    kind: str = Field(
        "", description="A special tile: kpis_by_month | rfm_grid | clv_distribution | churn_risks"
    )
    width: int = Field(1, ge=1, le=2)
    title: str = Field("", max_length=120)


class TilePatch(InputSchema):
    width: int | None = Field(None, ge=1, le=2)
    move: str = Field("", description="up | down")


class TileOrder(InputSchema):
    tile_ids: list[int]


def _dashboard_out(dashboard) -> dict:
    return {
        "id": dashboard.pk,
        "name": dashboard.name,
        "key": dashboard.key,
        "owner_id": dashboard.owner_id,
        "sharing": dashboard.sharing,
        "team_id": dashboard.team_id,
        "schedule": dashboard.schedule,
        "recipient_ids": sorted(dashboard.recipients.values_list("pk", flat=True)),
        "tiles": services.tiles_of(dashboard),
        "created_at": dashboard.created_at,
        "updated_at": dashboard.updated_at,
    }


@router.get("/dashboards", response=list[DashboardOut], summary="Dashboards the caller may open")
def list_dashboards(request: HttpRequest):
    dashboards = services.dashboards_of(actor_of(request)).prefetch_related("tiles", "recipients")[:200]
    return [
        {
            **{k: getattr(d, k) for k in ("id", "name", "key", "owner_id", "sharing", "team_id", "schedule")},
            "recipient_ids": sorted(u.pk for u in d.recipients.all()),
            "tiles": sorted(d.tiles.all(), key=lambda t: (t.position, t.pk)),
            "created_at": d.created_at,
            "updated_at": d.updated_at,
        }
        for d in dashboards
    ]


@router.post("/dashboards", response={201: DashboardOut}, summary="Create a dashboard")
def create_dashboard(request: HttpRequest, payload: DashboardIn):
    return Status(201, _dashboard_out(services.create_dashboard(actor_of(request), **payload.dict())))


@router.get("/dashboards/{dashboard_id}", response=DashboardOut, summary="One dashboard with its tiles")
def get_dashboard(request: HttpRequest, dashboard_id: int):
    return _dashboard_out(services.get_dashboard(actor_of(request), dashboard_id))


@router.patch("/dashboards/{dashboard_id}", response=DashboardOut, summary="Change a dashboard (owner)")
def update_dashboard(request: HttpRequest, dashboard_id: int, payload: DashboardPatch):
    actor = actor_of(request)
    dashboard = services.get_dashboard(actor, dashboard_id)
    return _dashboard_out(services.update_dashboard(actor, dashboard, **payload.dict(exclude_unset=True)))


@router.delete("/dashboards/{dashboard_id}", response={204: None}, summary="Delete a dashboard (owner)")
def delete_dashboard(request: HttpRequest, dashboard_id: int):
    actor = actor_of(request)
    services.delete_dashboard(actor, services.get_dashboard(actor, dashboard_id))
    return Status(204, None)


@router.post("/dashboards/{dashboard_id}/tiles", response={201: TileOut}, summary="Add a tile")
def add_tile(request: HttpRequest, dashboard_id: int, payload: TileIn):
    actor = actor_of(request)
    dashboard = services.get_dashboard(actor, dashboard_id)
    return Status(201, services.add_tile(actor, dashboard, **payload.dict()))


@router.patch("/dashboards/{dashboard_id}/tiles/{tile_id}", response=TileOut, summary="Resize or move a tile")
def update_tile(request: HttpRequest, dashboard_id: int, tile_id: int, payload: TilePatch):
    actor = actor_of(request)
    dashboard = services.get_dashboard(actor, dashboard_id)
    return services.update_tile(actor, dashboard, tile_id, width=payload.width, move=payload.move)


@router.put("/dashboards/{dashboard_id}/tiles", response=DashboardOut, summary="Reorder the tiles")
def reorder_tiles(request: HttpRequest, dashboard_id: int, payload: TileOrder):
    actor = actor_of(request)
    dashboard = services.get_dashboard(actor, dashboard_id)
    services.reorder_tiles(actor, dashboard, payload.tile_ids)
    return _dashboard_out(dashboard)


@router.delete("/dashboards/{dashboard_id}/tiles/{tile_id}", response={204: None}, summary="Remove a tile")
def remove_tile(request: HttpRequest, dashboard_id: int, tile_id: int):
    actor = actor_of(request)
    services.remove_tile(actor, services.get_dashboard(actor, dashboard_id), tile_id)
    return Status(204, None)
