"""The data quality dashboard: completeness, invalid values, stale records and duplicates per object type.

All figures of one object type come from ONE aggregate query (``COUNT(*) FILTER (WHERE …)`` per
field, per check), never from reading rows in Python. An invalid phone or email is a stored value
that is not in the normaliser's output form (E.164 ``+<digits>``; a lower-case address): rows
written by the services always are, so these are rows imported before validation or written by
direct SQL. Every number links to the record list filtered to exactly those records (``?f=``):
the lists of accounts, contacts and leads get a "Data quality" filter field for the checks that
the standard filters cannot express.

Admins see the whole workspace, from a snapshot a background job refreshes (``QualitySnapshot``);
a manager's figures cover the records they may see and are computed on the spot.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, Exists, OuterRef, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.core.errors import PermissionDenied
from kehu.listviews.filters import encode_spec
from kehu.listviews.registry import ListField, config_for
from kehu.workspaces.access import Actor, visible

# Object types on the dashboard, when their app is installed and their list registered.
OBJECT_TYPES = ("customers.account", "customers.contact", "leads.lead")
MONTH_CHOICES = (3, 6, 12, 24)
DEFAULT_MONTHS = 6
# Stored forms (see kehu.core.normalize): anything else did not pass the normaliser.
E164 = r"^\+[1-9][0-9]{6,14}$"
EMAIL = r"^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9-]+(\.[a-z0-9-]+)+$"
NUMBER = r"^-?[0-9]+(\.[0-9]+)?$"
DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
FIELD_TYPES = {"text", "choice", "date", "datetime", "user", "number"}
SNAPSHOT_MAX_AGE = timedelta(hours=1)
LIVE_LIMIT = 50_000  # an admin's dashboard computes on the spot below this many records


def may_view(actor: Actor) -> bool:
    return actor.can_manage_workspace or actor.role.key == "manager"


def require_view(actor: Actor) -> None:
    if not may_view(actor):
        raise PermissionDenied(_("Only administrators and managers see the data quality dashboard."))


# --- checks --------------------------------------------------------------------------------------


def _empty(path: str, kind: str, nullable: bool) -> Q:
    if kind in {"text", "choice"}:
        return Q(**{path: ""}) | Q(**{f"{path}__isnull": True}) if nullable else Q(**{path: ""})
    return Q(**{f"{path}__isnull": True})


def invalid_phone(field: str = "phone") -> Q:
    return ~Q(**{field: ""}) & ~Q(**{f"{field}__regex": E164})


def invalid_email(field: str = "email") -> Q:
    return ~Q(**{field: ""}) & ~Q(**{f"{field}__regex": EMAIL})


def stale(object_type: str, months: int) -> Q:
    """No timeline entry in the last ``months`` months (the activity links' timeline index answers it)."""
    from kehu.activities.models import ActivityLink

    cutoff = timezone.now() - timedelta(days=round(months * 30.44))
    recent = ActivityLink.objects.filter(
        object_type=object_type, object_id=OuterRef("pk"), occurred_at__gte=cutoff
    )
    return ~Q(Exists(recent))


def invalid_custom(definition) -> Q | None:
    """Stored values of a custom field that its definition would not accept (None: not checkable)."""
    key, kind = definition.key, definition.field_type
    present = Q(custom__has_key=key) & ~Q(**{f"custom__{key}__isnull": True})
    if kind == "single_select":
        return present & ~Q(**{f"custom__{key}__in": [c.get("value") for c in definition.choices]})
    regex = {"number": NUMBER, "money": NUMBER, "percent": NUMBER, "date": DATE, "email": EMAIL,
             "phone": E164}.get(kind)
    return None if regex is None else present & ~Q(**{f"custom__{key}__regex": regex})


def _token_q(object_type: str, token: str, actor: Actor) -> Q:
    """The records behind one dashboard number: ``invalid:phone``, ``invalid:custom.tier``, ``stale:6``."""
    kind, _sep, arg = token.partition(":")
    if kind == "stale" and arg.isdigit():
        return stale(object_type, int(arg))
    if kind == "invalid":
        if arg == "phone":
            return invalid_phone()
        if arg == "email":
            return invalid_email()
        if arg.startswith("custom."):
            from kehu.customfields.models import FieldDefinition

            definition = FieldDefinition.objects.filter(
                object_type=object_type, key=arg.removeprefix("custom."), archived_at__isnull=True
            ).first()
            condition = invalid_custom(definition) if definition else None
            if condition is not None:
                return condition
    return Q(pk__in=[])


def extend_lists() -> None:
    """Give the dashboard's lists a "Data quality" filter field (its values are the dashboard's checks)."""
    for object_type in OBJECT_TYPES:
        config = config_for(object_type)
        if config is None or any(f.name == "quality" for f in config.fields):
            continue

        def condition(actor, lookup, value, object_type=object_type) -> Q:
            return _token_q(object_type, str(value), actor)

        config.fields.append(
            ListField("quality", gettext_lazy("Data quality"), "text", condition=condition, only=("eq",))
        )


# --- figures -------------------------------------------------------------------------------------


@dataclass
class Link:
    config: object

    def __call__(self, *conditions: dict) -> str:
        try:
            base = reverse(self.config.list_url_name)  # type: ignore[attr-defined]
        except NoReverseMatch:
            return ""
        return base + "?f=" + encode_spec({"op": "and", "conditions": list(conditions)})


def _quality(check: str) -> dict:
    return {"field": "quality", "lookup": "eq", "value": check}


def figures_of(actor: Actor, object_type: str, months: int) -> dict | None:
    """The figures of one object type in ONE aggregate query (None when the type is not installed)."""
    from kehu.customfields.queries import readable

    config = config_for(object_type)
    if config is None or not actor.can("view", object_type):
        return None
    model = config.model
    link = Link(config)
    fields = [
        f for f in config.fields
        if f.type in FIELD_TYPES and f.condition is None and "." not in f.name
        and f.name not in {"created_at", "updated_at"} and not f.name.startswith("consent")
    ]
    aggregates = {"total": Count("pk")}
    for f in fields:
        path = f.orm_path
        aggregates[f"filled__{f.name}"] = Count("pk", filter=~_empty(path, f.type, f.nullable))
    names = {f.name for f in model._meta.concrete_fields}
    checks = {}
    if "phone" in names:
        checks["phone"] = invalid_phone()
    if "email" in names:
        checks["email"] = invalid_email()
    definitions = list(readable(actor, object_type))
    for d in definitions:
        aggregates[f"filled__custom.{d.key}"] = Count(
            "pk", filter=Q(custom__has_key=d.key) & ~Q(**{f"custom__{d.key}__isnull": True})
        )
        condition = invalid_custom(d)
        if condition is not None:
            checks[f"custom.{d.key}"] = condition
    for key, condition in checks.items():
        aggregates[f"invalid__{key}"] = Count("pk", filter=condition)
    aggregates["stale"] = Count("pk", filter=stale(object_type, months))
    counts = visible(actor, model.objects.all()).aggregate(**aggregates)
    total = counts["total"]

    def percent(n: int) -> float:
        return round(100 * n / total, 1) if total else 100.0

    labels = {f"custom.{d.key}": d.label for d in definitions}
    completeness = []
    for f in fields:
        filled = counts[f"filled__{f.name}"]
        completeness.append({
            "field": f.name, "label": str(f.label), "filled": filled, "empty": total - filled,
            "percent": percent(filled),
            "link": link({"field": f.name, "lookup": "isnull", "value": True}),
        })
    for d in definitions:
        filled = counts[f"filled__custom.{d.key}"]
        completeness.append({
            "field": f"custom.{d.key}", "label": d.label, "filled": filled, "empty": total - filled,
            "percent": percent(filled),
            "link": link({"field": f"custom.{d.key}", "lookup": "isnull", "value": True}),
        })
    invalid = [
        {"field": key, "label": str(labels.get(key) or _field_label(model, key)),
         "count": counts[f"invalid__{key}"], "link": link(_quality(f"invalid:{key}"))}
        for key in checks
    ]
    return {
        "object_type": object_type,
        "label": str(config.label),
        "total": total,
        "list_url": link(),
        "completeness": completeness,
        "invalid": invalid,
        "stale": {"months": months, "count": counts["stale"], "percent": percent(counts["stale"]),
                  "link": link(_quality(f"stale:{months}"))},
        "duplicates": _duplicates(object_type),
    }


def _field_label(model, name: str) -> str:
    try:
        return str(model._meta.get_field(name).verbose_name)
    except Exception:
        return name


def _duplicates(object_type: str) -> dict | None:
    """Open duplicate clusters from the duplicates app's review queue (None when it is not installed)."""
    from django.apps import apps

    if not apps.is_installed("kehu.duplicates"):
        return None
    Candidate = apps.get_model("duplicates", "Candidate")
    clusters = (
        Candidate.objects.filter(object_type=object_type, status="open")
        .aggregate(n=Count("cluster", distinct=True), pairs=Count("pk"))
    )
    return {"clusters": clusters["n"], "pairs": clusters["pairs"], "link": _queue_url(object_type)}


def _queue_url(object_type: str) -> str:
    try:
        return reverse("duplicates:queue") + f"?type={object_type}"
    except NoReverseMatch:
        return ""


def compute(actor: Actor, months: int) -> dict:
    require_view(actor)
    types = [t for t in (figures_of(actor, ot, months) for ot in OBJECT_TYPES) if t is not None]
    return {"months": months, "computed_at": timezone.now().isoformat(), "types": types}


def _sees_everything(actor: Actor) -> bool:
    return all(actor.grant(ot).scope == "all" for ot in OBJECT_TYPES if config_for(ot) is not None)


def refresh(workspace, months: int):
    """Compute the whole workspace's figures (as its first owner) into the snapshot."""
    import time

    from kehu.workspaces.models import Membership
    from kehu.workspaces.services import actor_for

    from .models import QualitySnapshot

    membership = (
        Membership.objects.select_related("user").filter(role__key="owner", is_active=True)
        .order_by("created_at", "pk").first()
    )
    actor = actor_for(membership.user, workspace)
    start = time.perf_counter()
    data = compute(actor, months)
    snapshot, _created = QualitySnapshot.objects.update_or_create(
        workspace=workspace, months=months,
        defaults={"data": data, "computed_at": timezone.now(),
                  "duration_ms": int((time.perf_counter() - start) * 1000)},
    )
    return snapshot


def dashboard(actor: Actor, months: int = DEFAULT_MONTHS, *, refresh_now: bool = False) -> dict:
    """The figures for this actor: live for a scoped member or a small workspace, else the snapshot
    (a refresh is queued when it is missing or older than an hour)."""
    from .models import QualitySnapshot
    from .tasks import refresh_quality

    require_view(actor)
    months = months if months in MONTH_CHOICES else DEFAULT_MONTHS
    if not _sees_everything(actor):
        return {**compute(actor, months), "snapshot": False}
    snapshot = QualitySnapshot.objects.filter(months=months).first()
    fresh = snapshot is not None and timezone.now() - snapshot.computed_at < SNAPSHOT_MAX_AGE
    if fresh and not refresh_now:
        return {**snapshot.data, "snapshot": True}
    size = sum(
        config_for(ot).model.objects.count() for ot in OBJECT_TYPES if config_for(ot) is not None
    )
    if size <= LIVE_LIMIT:
        return {**refresh(actor.workspace, months).data, "snapshot": True}
    refresh_quality.enqueue(actor.workspace.pk, months)
    if snapshot is None:
        return {"months": months, "computed_at": None, "types": [], "snapshot": True, "pending": True}
    return {**snapshot.data, "snapshot": True, "pending": True}
