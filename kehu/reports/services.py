"""Saved reports and dashboards: who sees and edits them, audited writes, the default dashboard.

Sharing works like saved list views: a report or dashboard is private to its owner, shared with a
team, or with the whole workspace; only its owner (or a workspace administrator) changes it. What a
shared report *shows* still depends on who looks: it runs over the records each viewer may see.
"""

from typing import Any

from django.db import transaction
from django.db.models import Max, Q
from django.utils.translation import gettext as _

from kehu.audit.services import create_record, delete_record, update_record
from kehu.core.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from kehu.workspaces.access import Actor
from kehu.workspaces.models import Membership, Team

from . import engine
from .models import Chart, Dashboard, Report, Sharing, Tile

# A report's ``object_type`` column is the record type it reports on; its audit entries name the model.
REPORT_TYPE = "reports.report"
MAX_TILES = 24
MAX_NAME = 120


# --- who sees what ----------------------------------------------------------------------------------


def shared_with(actor: Actor) -> Q:
    """Reports/dashboards the actor may open: their own, their teams', the workspace's."""
    return (
        Q(owner_id=actor.user.pk)
        | Q(sharing=Sharing.WORKSPACE)
        | Q(sharing=Sharing.TEAM, team_id__in=actor.team_ids)
    )


def can_edit(actor: Actor, item: Report | Dashboard) -> bool:
    return item.owner_id == actor.user.pk or actor.can_manage_workspace


def reports_of(actor: Actor):
    return Report.objects.filter(shared_with(actor)).select_related("owner").order_by("name", "id")


def dashboards_of(actor: Actor):
    return Dashboard.objects.filter(shared_with(actor)).select_related("owner").order_by("name", "id")


def get_report(actor: Actor, pk: Any, *, edit: bool = False) -> Report:
    """A report the actor may open (``NotFound`` otherwise — a private report of another user does
    not exist for them); with ``edit`` also one they may change (``PermissionDenied``)."""
    try:
        report = reports_of(actor).get(pk=pk)
    except (Report.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    if edit and not can_edit(actor, report):
        raise PermissionDenied(_("Only the report's owner can change it."))
    return report


def get_dashboard(actor: Actor, pk: Any, *, edit: bool = False) -> Dashboard:
    try:
        dashboard = dashboards_of(actor).get(pk=pk)
    except (Dashboard.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    if edit and not can_edit(actor, dashboard):
        raise PermissionDenied(_("Only the dashboard's owner can change it."))
    return dashboard


# --- validation -------------------------------------------------------------------------------------


def _clean_common(actor: Actor, values: dict, errors: list, *, instance=None) -> dict:
    out = {}
    if "name" in values or instance is None:
        name = str(values.get("name") or "").strip()
        if not name:
            errors.append(FieldError("name", _("Enter a name."), "required"))
        elif len(name) > MAX_NAME:
            errors.append(FieldError("name", _("At most %d characters.") % MAX_NAME, "max_length"))
        out["name"] = name
    if "sharing" in values:
        sharing = values.get("sharing") or Sharing.PRIVATE
        if sharing not in Sharing.values:
            errors.append(
                FieldError("sharing", _("Choose one of: %s.") % ", ".join(Sharing.values), "invalid_choice")
            )
        out["sharing"] = sharing
    if "team_id" in values or out.get("sharing") == Sharing.TEAM:
        team_id = values.get("team_id")
        if team_id in (None, "") and out.get("sharing") == Sharing.TEAM:
            team_id = actor.team_ids[0] if actor.team_ids else None
            if team_id is None:
                errors.append(FieldError("team_id", _("Choose a team."), "required"))
        if team_id not in (None, ""):
            team = Team.objects.filter(pk=team_id).first() if str(team_id).isdigit() else None
            if team is None or (team.pk not in actor.team_ids and not actor.can_manage_workspace):
                errors.append(FieldError("team_id", _("Choose one of your teams."), "invalid_choice"))
            out["team_id"] = team.pk if team else None
        else:
            out["team_id"] = None
    return out


def _clean_report(actor: Actor, values: dict, *, instance: Report | None = None) -> dict:
    errors: list[FieldError] = []
    out = _clean_common(actor, values, errors, instance=instance)
    object_type = values.get("object_type", instance.object_type if instance else "")
    if "object_type" in values or "definition" in values or instance is None:
        definition = values.get("definition", instance.definition if instance else {})
        try:
            out["definition"] = engine.clean_definition(actor, object_type, definition or {})
        except ValidationFailed as failed:
            errors.extend(failed.details)
        out["object_type"] = object_type
    if "chart" in values:
        if values["chart"] not in Chart.values:
            errors.append(
                FieldError("chart", _("Choose one of: %s.") % ", ".join(Chart.values), "invalid_choice")
            )
        out["chart"] = values["chart"]
    if "description" in values:
        out["description"] = str(values.get("description") or "")[:300]
    if errors:
        raise ValidationFailed(errors)
    return out


# --- reports ---------------------------------------------------------------------------------------


def create_report(actor: Actor, **values: Any) -> Report:
    """A new saved report owned by the actor (private unless ``sharing`` says otherwise)."""
    cleaned = _clean_report(actor, values)
    with transaction.atomic():
        return create_record(actor, Report(owner=actor.user, **cleaned), object_type=REPORT_TYPE)


def update_report(actor: Actor, report: Report, **values: Any) -> Report:
    if not can_edit(actor, report):
        raise PermissionDenied(_("Only the report's owner can change it."))
    cleaned = _clean_report(actor, values, instance=report)
    with transaction.atomic():
        update_record(actor, report, cleaned, object_type=REPORT_TYPE)
    return report


def delete_report(actor: Actor, report: Report) -> None:
    if not can_edit(actor, report):
        raise PermissionDenied(_("Only the report's owner can change it."))
    with transaction.atomic():
        delete_record(actor, report, object_type=REPORT_TYPE)


def run_report(actor: Actor, report: Report, *, start=None, end=None, cached: bool = False) -> engine.Result:
    """The report's rows as the actor sees them; a definition that no longer fits (a custom field
    archived, a field hidden from this viewer) raises ``ValidationFailed``.

    ``cached`` (dashboard tiles): the rows of the same query are reused while no table it reads has
    changed (``engine.run``: exact, invalidated by every write). Report pages, exports, the API and
    emails always compute afresh.
    """
    definition = engine.clean_definition(actor, report.object_type, report.definition)
    return engine.run(actor, report.object_type, definition, start=start, end=end, cached=cached)


# --- dashboards ------------------------------------------------------------------------------------


def _clean_dashboard(actor: Actor, values: dict, *, instance: Dashboard | None = None) -> dict:
    errors: list[FieldError] = []
    out = _clean_common(actor, values, errors, instance=instance)
    if "schedule" in values:
        schedule = values.get("schedule") or ""
        if schedule not in Dashboard.Schedule.values:
            errors.append(FieldError("schedule", _("Choose daily, weekly or none."), "invalid_choice"))
        out["schedule"] = schedule
    if "recipient_ids" in values:
        ids = [int(i) for i in values.get("recipient_ids") or [] if str(i).isdigit()]
        members = set(
            Membership.objects.filter(user_id__in=ids, is_active=True).values_list("user_id", flat=True)
        )
        if set(ids) - members:
            errors.append(
                FieldError("recipient_ids", _("Choose members of this workspace."), "invalid_choice")
            )
        out["recipient_ids"] = sorted(members)
    if errors:
        raise ValidationFailed(errors)
    return out


def _save_dashboard(actor: Actor, dashboard: Dashboard | None, cleaned: dict) -> Dashboard:
    recipients = cleaned.pop("recipient_ids", None)
    if dashboard is None:
        dashboard = create_record(actor, Dashboard(owner=actor.user, **cleaned))
    else:
        update_record(actor, dashboard, cleaned)
    if recipients is not None:
        dashboard.recipients.set(recipients)
    return dashboard


def create_dashboard(actor: Actor, **values: Any) -> Dashboard:
    cleaned = _clean_dashboard(actor, values)
    with transaction.atomic():
        return _save_dashboard(actor, None, cleaned)


def update_dashboard(actor: Actor, dashboard: Dashboard, **values: Any) -> Dashboard:
    if not can_edit(actor, dashboard):
        raise PermissionDenied(_("Only the dashboard's owner can change it."))
    cleaned = _clean_dashboard(actor, values, instance=dashboard)
    with transaction.atomic():
        return _save_dashboard(actor, dashboard, cleaned)


def delete_dashboard(actor: Actor, dashboard: Dashboard) -> None:
    if not can_edit(actor, dashboard):
        raise PermissionDenied(_("Only the dashboard's owner can change it."))
    with transaction.atomic():
        delete_record(actor, dashboard)


def tiles_of(dashboard: Dashboard) -> list[Tile]:
    return list(dashboard.tiles.select_related("report").order_by("position", "id"))


def add_tile(
    actor: Actor,
    dashboard: Dashboard,
    *,
    report_id: Any = None,
    kind: str = "",
    width: int = 1,
    title: str = "",
) -> Tile:
    """A report (one the actor may open) or a special tile at the end of the dashboard."""
    from .tiles import SPECIAL_TILES

    if not can_edit(actor, dashboard):
        raise PermissionDenied(_("Only the dashboard's owner can change it."))
    report = None
    if report_id not in (None, ""):
        try:
            report = get_report(actor, report_id)
        except NotFound:
            raise ValidationFailed(
                [FieldError("report_id", _("Choose one of your reports."), "invalid")]
            ) from None
    elif kind not in SPECIAL_TILES:
        raise ValidationFailed([FieldError("report_id", _("Choose a report."), "required")])
    if dashboard.tiles.count() >= MAX_TILES:
        raise ValidationFailed(
            [FieldError("report_id", _("A dashboard holds at most %d tiles.") % MAX_TILES)]
        )
    width = 2 if str(width) == "2" else 1
    with transaction.atomic():
        position = (dashboard.tiles.aggregate(top=Max("position"))["top"] or 0) + 1
        return create_record(
            actor,
            Tile(
                dashboard=dashboard,
                report=report,
                kind="" if report else kind,
                width=width,
                title=title[:120],
                position=position,
            ),
        )


def _tile(dashboard: Dashboard, tile_id: Any) -> Tile:
    try:
        return dashboard.tiles.get(pk=tile_id)
    except (Tile.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def remove_tile(actor: Actor, dashboard: Dashboard, tile_id: Any) -> None:
    if not can_edit(actor, dashboard):
        raise PermissionDenied(_("Only the dashboard's owner can change it."))
    with transaction.atomic():
        delete_record(actor, _tile(dashboard, tile_id))


def update_tile(
    actor: Actor, dashboard: Dashboard, tile_id: Any, *, width: Any = None, move: str = ""
) -> Tile:
    """Change a tile's width (1 or 2 columns) or move it one place ``up``/``down``."""
    if not can_edit(actor, dashboard):
        raise PermissionDenied(_("Only the dashboard's owner can change it."))
    tile = _tile(dashboard, tile_id)
    with transaction.atomic():
        if width is not None:
            update_record(actor, tile, {"width": 2 if str(width) == "2" else 1})
        if move in {"up", "down"}:
            tiles = tiles_of(dashboard)
            index = next(i for i, t in enumerate(tiles) if t.pk == tile.pk)
            other = index - 1 if move == "up" else index + 1
            if 0 <= other < len(tiles):
                tiles[index], tiles[other] = tiles[other], tiles[index]
                for position, item in enumerate(tiles, start=1):
                    if item.position != position:
                        update_record(actor, item, {"position": position})
    return tile


def reorder_tiles(actor: Actor, dashboard: Dashboard, tile_ids: list) -> None:
    """Put the dashboard's tiles in the given order (ids not on it are an error)."""
    if not can_edit(actor, dashboard):
        raise PermissionDenied(_("Only the dashboard's owner can change it."))
    tiles = {t.pk: t for t in tiles_of(dashboard)}
    ids = [int(i) for i in tile_ids if str(i).isdigit()]
    if sorted(ids) != sorted(tiles):
        raise ValidationFailed(
            [FieldError("tile_ids", _("List every tile of the dashboard once."), "invalid")]
        )
    with transaction.atomic():
        for position, pk in enumerate(ids, start=1):
            if tiles[pk].position != position:
                update_record(actor, tiles[pk], {"position": position})


# --- the default "customer value" dashboard ---------------------------------------------------------

CUSTOMER_VALUE = "customer_value"


def _default_owner(actor: Actor):
    owner = Membership.objects.filter(role__key="owner", is_active=True).select_related("user").first()
    return owner.user if owner else actor.user


def ensure_customer_value(actor: Actor) -> Dashboard:
    """The workspace's "customer value" dashboard, created (shared with everyone, owned by the
    workspace owner) on first visit: lifecycle funnel and grade distribution as reports, KPIs by
    month, the RFM grid, the CLV distribution and the churn-risk list as special tiles."""
    found = Dashboard.objects.filter(key=CUSTOMER_VALUE).order_by("id").first()
    if found is not None:
        return found
    owner = _default_owner(actor)
    with transaction.atomic():
        # Built here (not through create_report) because the workspace owner owns them, whoever
        # happened to open the page first; the entries are audited as that visitor's action.
        def report(name: str, field: str, chart: str) -> Report:
            return create_record(
                actor,
                Report(
                    owner=owner,
                    sharing=Sharing.WORKSPACE,
                    name=name,
                    object_type="customers.account",
                    chart=chart,
                    definition={
                        **engine.default_definition(),
                        "group_by": [{"field": field}],
                        "date_field": "",
                        "sort": "group",
                    },
                ),
                object_type=REPORT_TYPE,
            )

        funnel = report(_("Lifecycle funnel"), "lifecycle_stage", Chart.FUNNEL)
        grades = report(_("Grade distribution"), "grade", Chart.TREEMAP)
        dashboard = create_record(
            actor,
            Dashboard(owner=owner, sharing=Sharing.WORKSPACE, key=CUSTOMER_VALUE, name=_("Customer value")),
        )
        layout = [
            (funnel, "", 1),
            ("", "kpis_by_month", 1),
            (grades, "", 1),
            ("", "rfm_grid", 1),
            ("", "clv_distribution", 1),
            ("", "churn_risks", 1),
        ]
        for position, (item, kind, width) in enumerate(layout, start=1):
            create_record(
                actor,
                Tile(dashboard=dashboard, report=item or None, kind=kind, width=width, position=position),
            )
    return dashboard
