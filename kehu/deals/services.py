"""Writes on pipelines, stages, lost reasons and opportunities: validation, stage rules, history, audit.

The only write path for the UI, the API, lead conversion, quotes and the demo. Entering a stage
(on create, on update with ``stage_id``, or through ``move_to_stage``) is one function,
``_enter_stage``: it checks the stage belongs to the deal's pipeline and that the stage's required
fields are filled (field errors naming them), sets probability, forecast category, status and
``closed_at`` from the stage, and appends a ``StageChange`` with the time spent in the previous stage.

Defaults derived from a stage are overridable: a probability or forecast category passed in the
same call wins; the next stage move derives them again.
"""

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max, Model, OuterRef, Subquery
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from kehu.audit.models import AuditEntry
from kehu.audit.services import create_record, delete_record, diff, record, snapshot, update_record
from kehu.commerce.models import Product
from kehu.commerce.money import cents, to_decimal
from kehu.commerce.services import RateBook, _currency, _date, _decimal, no_rate_error
from kehu.core.errors import Conflict, FieldError, ValidationFailed
from kehu.customers.models import Account, Contact, TaggedRecord
from kehu.customers.services import _clean_tags, set_tags, tags_of
from kehu.customfields.queries import definitions
from kehu.customfields.services import clean_custom_values
from kehu.workspaces.access import Actor, require, visible
from kehu.workspaces.models import Membership, Team, Workspace

from .models import LostReason, Opportunity, OpportunityContact, OpportunityLine, Pipeline, Stage, StageChange

S = Opportunity.Status
FC = Opportunity.ForecastCategory
PIPELINE_TYPE = "deals.pipeline"

# The default pipeline of every workspace: (name, probability, won, lost, required fields).
# Names are stored in the workspace's language when the pipeline is created: they are the
# workspace's own data from then on (admins rename them), not interface text.
DEFAULT_PIPELINE_NAME = gettext_noop("New business")
DEFAULT_STAGES = (
    (gettext_noop("Qualification"), 10, False, False, []),
    (gettext_noop("Needs analysis"), 20, False, False, []),
    (gettext_noop("Proposal"), 50, False, False, ["amount"]),
    (gettext_noop("Negotiation"), 75, False, False, ["amount", "expected_close_date"]),
    (gettext_noop("Won"), 100, True, False, []),
    (gettext_noop("Lost"), 0, False, True, []),
)
DEFAULT_LOST_REASONS = (
    gettext_noop("Price"),
    gettext_noop("Chose a competitor"),
    gettext_noop("No budget"),
    gettext_noop("No decision"),
    gettext_noop("Timing"),
    gettext_noop("Product fit"),
)

OPPORTUNITY_FIELDS = (
    "name",
    "account_id",
    "pipeline_id",
    "stage_id",
    "amount",
    "currency",
    "expected_close_date",
    "probability",
    "forecast_category",
    "lost_reason",
    "competitors",
    "next_step",
    "source",
    "campaign",
    "description",
    "custom",
    "owner_id",
    "team_id",
)
TEXT_FIELDS = ("name", "lost_reason", "next_step", "source", "campaign")
# Fields a stage may require, besides "custom.<key>".
REQUIRABLE_FIELDS = (
    "amount",
    "expected_close_date",
    "next_step",
    "contacts",
    "lines",
    "competitors",
    "source",
    "campaign",
    "description",
    "team_id",
)
MAX_CONTACTS = 50
MAX_LINES = 200
MAX_COMPETITORS = 20


def derived_forecast_category(probability: int, status: str = S.OPEN) -> str:
    """The default forecast category of a deal: closed when won, omitted when lost, else by probability."""
    if status == S.WON:
        return FC.CLOSED
    if status == S.LOST:
        return FC.OMITTED
    if probability >= 75:
        return FC.COMMIT
    if probability >= 50:
        return FC.BEST_CASE
    return FC.PIPELINE


# --- pipelines and stages --------------------------------------------------------------------------


def default_pipeline(workspace: Workspace) -> Pipeline:
    """The workspace's default pipeline, created with the standard stages on first use (idempotent)."""
    found = Pipeline.objects.filter(workspace=workspace, is_default=True).first()
    if found is not None:
        return found
    try:
        with transaction.atomic(), translation.override(workspace.default_language):
            if Pipeline.objects.filter(workspace=workspace).exists():
                # Pipelines exist but none is the default (cannot normally happen): promote the first.
                first = Pipeline.objects.filter(workspace=workspace).order_by("position", "id").first()
                first.is_default = True
                first.save(update_fields=["is_default", "updated_at"])
                return first
            pipeline = Pipeline.objects.create(
                workspace=workspace, name=_(DEFAULT_PIPELINE_NAME), is_default=True, position=0
            )
            Stage.objects.bulk_create(
                Stage(
                    workspace=workspace,
                    pipeline=pipeline,
                    name=_(name),
                    position=index,
                    probability=probability,
                    is_won=won,
                    is_lost=lost,
                    required_fields=list(required),
                )
                for index, (name, probability, won, lost, required) in enumerate(DEFAULT_STAGES)
            )
            if not LostReason.objects.filter(workspace=workspace).exists():
                LostReason.objects.bulk_create(
                    LostReason(workspace=workspace, name=_(name), position=index)
                    for index, name in enumerate(DEFAULT_LOST_REASONS)
                )
            return pipeline
    except IntegrityError:
        # Another request created it at the same moment.
        return Pipeline.objects.get(workspace=workspace, is_default=True)


def _clean_name(errors: list[FieldError], value: Any, field: str = "name", limit: int = 100) -> str:
    name = " ".join(str(value or "").split())
    if not name:
        errors.append(FieldError(field, _("This field is required."), "required"))
    elif len(name) > limit:
        errors.append(FieldError(field, _("At most %(n)s characters.") % {"n": limit}, "max_length"))
    return name


def _clean_required_fields(errors: list[FieldError], value: Any, field: str = "required_fields") -> list[str]:
    if value in (None, ""):
        return []
    if not isinstance(value, list | tuple):
        errors.append(FieldError(field, _("Give a list of field names."), "invalid"))
        return []
    custom_keys = {d.key for d in definitions(Opportunity.object_type)}
    cleaned: list[str] = []
    for index, name in enumerate(value):
        name = str(name).strip()
        known = name in REQUIRABLE_FIELDS or (name.startswith("custom.") and name[7:] in custom_keys)
        if not known:
            errors.append(FieldError(f"{field}.{index}", _("Unknown field %(name)s.") % {"name": name}))
        elif name not in cleaned:
            cleaned.append(name)
    return cleaned


def _clean_stage(errors: list[FieldError], values: dict, instance: Stage | None = None) -> dict:
    cleaned: dict[str, Any] = {}
    if "name" in values or instance is None:
        cleaned["name"] = _clean_name(errors, values.get("name"))
    if "probability" in values:
        cleaned["probability"] = _probability(errors, values["probability"])
    for flag in ("is_won", "is_lost"):
        if flag in values:
            cleaned[flag] = bool(values[flag])
    won = cleaned.get("is_won", instance.is_won if instance else False)
    lost = cleaned.get("is_lost", instance.is_lost if instance else False)
    if won and lost:
        errors.append(FieldError("is_lost", _("A stage cannot be both won and lost."), "invalid"))
    if "probability" not in cleaned and instance is None:
        cleaned["probability"] = 100 if won else 0
    if "required_fields" in values:
        cleaned["required_fields"] = _clean_required_fields(errors, values["required_fields"])
    return cleaned


def _stage_name_taken(pipeline: Pipeline, name: str, exclude: int | None = None) -> bool:
    clash = Stage.objects.filter(pipeline=pipeline, name=name)
    return clash.exclude(pk=exclude).exists() if exclude else clash.exists()


@transaction.atomic
def create_pipeline(actor: Actor, *, name: str, stages: list[dict] | None = None, **values: Any) -> Pipeline:
    """A new pipeline with its stages (``stages``: dicts of name, probability, is_won, is_lost, …).

    Without stages it gets the standard won and lost stages, so deals in it can close.
    """
    require(actor, "create", PIPELINE_TYPE)
    default_pipeline(actor.workspace)  # the first pipeline of a workspace is always the default one
    errors: list[FieldError] = []
    name = _clean_name(errors, name)
    if name and Pipeline.objects.filter(name=name).exists():
        errors.append(FieldError("name", _("Another pipeline already has this name."), "unique"))
    if stages is None:
        stages = [
            {"name": _("Won"), "probability": 100, "is_won": True},
            {"name": _("Lost"), "probability": 0, "is_lost": True},
        ]
    cleaned_stages = []
    for index, raw in enumerate(stages if isinstance(stages, list) else []):
        stage_errors: list[FieldError] = []
        cleaned_stages.append(_clean_stage(stage_errors, raw if isinstance(raw, dict) else {}))
        errors.extend(FieldError(f"stages.{index}.{e.field}", e.message, e.code) for e in stage_errors)
    names = [s.get("name") for s in cleaned_stages]
    if len(set(names)) != len(names):
        errors.append(FieldError("stages", _("Stage names must differ."), "unique"))
    if errors:
        raise ValidationFailed(errors)
    position = (Pipeline.objects.aggregate(m=Max("position"))["m"] or 0) + 1
    pipeline = create_record(
        actor, Pipeline(name=name, position=position, active=bool(values.get("active", True)))
    )
    for index, stage_values in enumerate(cleaned_stages):
        create_record(actor, Stage(pipeline=pipeline, position=index, **stage_values))
    if values.get("is_default"):
        update_pipeline(actor, pipeline, is_default=True)
    return pipeline


@transaction.atomic
def update_pipeline(actor: Actor, pipeline: Pipeline, **values: Any) -> Pipeline:
    """Rename, (de)activate, reposition or make default (the old default stops being one)."""
    require(actor, "change", PIPELINE_TYPE)
    errors: list[FieldError] = []
    cleaned: dict[str, Any] = {}
    if "name" in values:
        cleaned["name"] = _clean_name(errors, values["name"])
        if Pipeline.objects.filter(name=cleaned["name"]).exclude(pk=pipeline.pk).exists():
            errors.append(FieldError("name", _("Another pipeline already has this name."), "unique"))
    if "position" in values:
        position = to_decimal(values["position"])
        if position is None or position < 0 or position != int(position):
            errors.append(FieldError("position", _("Enter a whole number."), "invalid"))
        else:
            cleaned["position"] = int(position)
    if "active" in values:
        cleaned["active"] = bool(values["active"])
        if not cleaned["active"] and (values.get("is_default") or pipeline.is_default):
            errors.append(FieldError("active", _("The default pipeline stays active."), "invalid"))
    if "is_default" in values:
        if not values["is_default"] and pipeline.is_default:
            errors.append(
                FieldError("is_default", _("Make another pipeline the default instead."), "invalid")
            )
        elif values["is_default"] and not pipeline.is_default:
            for old in Pipeline.objects.filter(is_default=True).exclude(pk=pipeline.pk):
                update_record(actor, old, {"is_default": False})
            cleaned["is_default"] = True
    if errors:
        raise ValidationFailed(errors)
    update_record(actor, pipeline, cleaned)
    return pipeline


@transaction.atomic
def delete_pipeline(actor: Actor, pipeline: Pipeline, *, move_to: Stage | None = None) -> None:
    """Delete a pipeline; its deals (if any) move to ``move_to``, a stage of another pipeline."""
    require(actor, "delete", PIPELINE_TYPE)
    if pipeline.is_default:
        raise Conflict(_("The default pipeline cannot be deleted. Make another pipeline the default first."))
    deals = Opportunity.objects.filter(pipeline=pipeline)
    if deals.exists():
        if move_to is None or move_to.pipeline_id == pipeline.pk:
            raise Conflict(
                _("The pipeline has opportunities. Choose a stage of another pipeline to move them to."),
                [FieldError("move_to", _("Choose a stage of another pipeline."), "required")],
            )
        _move_all(actor, deals, move_to)
    # The history of deals now in other pipelines stays with them (it would go with the pipeline).
    moved = StageChange.objects.filter(pipeline=pipeline)
    for target_id in set(moved.values_list("opportunity__pipeline_id", flat=True)):
        moved.filter(opportunity__pipeline_id=target_id).update(pipeline_id=target_id)
    delete_record(actor, pipeline)


@transaction.atomic
def create_stage(actor: Actor, pipeline: Pipeline, **values: Any) -> Stage:
    """Add a stage; ``position`` (0-based) inserts it there, else it goes before the closed stages."""
    require(actor, "change", PIPELINE_TYPE)
    errors: list[FieldError] = []
    cleaned = _clean_stage(errors, values)
    if cleaned.get("name") and _stage_name_taken(pipeline, cleaned["name"]):
        errors.append(FieldError("name", _("Another stage of this pipeline has this name."), "unique"))
    if errors:
        raise ValidationFailed(errors)
    stages = list(Stage.objects.filter(pipeline=pipeline).order_by("position", "id"))
    if "position" in values and to_decimal(values["position"]) is not None:
        index = max(0, min(int(to_decimal(values["position"])), len(stages)))
    else:
        open_stages = [s for s in stages if not s.is_closed]
        index = stages.index(open_stages[-1]) + 1 if open_stages else 0
        if cleaned.get("is_won") or cleaned.get("is_lost"):
            index = len(stages)
    stage = Stage(pipeline=pipeline, position=index, **cleaned)
    create_record(actor, stage)
    stages.insert(index, stage)
    _renumber(stages)
    return stage


def _renumber(stages: list[Stage]) -> None:
    changed = []
    for position, stage in enumerate(stages):
        if stage.position != position:
            stage.position = position
            changed.append(stage)
    Stage.objects.bulk_update(changed, ["position"])
    if changed:
        # Positions moved: the deals' furthest positions refer to the old ones.
        recompute_furthest(changed[0].pipeline_id)


@transaction.atomic
def update_stage(actor: Actor, stage: Stage, **values: Any) -> Stage:
    """Rename a stage or change its probability, won/lost flags or required fields.

    Open deals in the stage keep their own probability and status until they move again.
    """
    require(actor, "change", PIPELINE_TYPE)
    errors: list[FieldError] = []
    cleaned = _clean_stage(errors, values, stage)
    if cleaned.get("name") and _stage_name_taken(stage.pipeline, cleaned["name"], exclude=stage.pk):
        errors.append(FieldError("name", _("Another stage of this pipeline has this name."), "unique"))
    if errors:
        raise ValidationFailed(errors)
    update_record(actor, stage, cleaned)
    return stage


@transaction.atomic
def reorder_stages(actor: Actor, pipeline: Pipeline, stage_ids: list[int]) -> list[Stage]:
    """Put the pipeline's stages in the order of ``stage_ids`` (all of them, each once)."""
    require(actor, "change", PIPELINE_TYPE)
    stages = {s.pk: s for s in Stage.objects.filter(pipeline=pipeline)}
    try:
        ids = [int(i) for i in stage_ids]
    except (TypeError, ValueError):
        ids = []
    if sorted(ids) != sorted(stages):
        raise ValidationFailed(
            [FieldError("stage_ids", _("List every stage of the pipeline exactly once."), "invalid")]
        )
    before = [s.pk for s in sorted(stages.values(), key=lambda s: (s.position, s.pk))]
    ordered = [stages[i] for i in ids]
    _renumber(ordered)
    if before != ids:
        record(
            AuditEntry.Action.UPDATE, actor=actor, instance=pipeline, changes={"stage_order": [before, ids]}
        )
    return ordered


@transaction.atomic
def delete_stage(actor: Actor, stage: Stage, *, move_to: Stage | None = None) -> None:
    """Delete a stage: only when empty, or with ``move_to`` (a stage of the same pipeline) for its deals."""
    require(actor, "change", PIPELINE_TYPE)
    deals = Opportunity.objects.filter(stage=stage)
    if deals.exists():
        if move_to is None or move_to.pk == stage.pk or move_to.pipeline_id != stage.pipeline_id:
            raise Conflict(
                _("The stage has opportunities. Choose another stage of the pipeline to move them to."),
                [FieldError("move_to", _("Choose another stage of this pipeline."), "required")],
            )
        _move_all(actor, deals, move_to)
    if Stage.objects.filter(pipeline_id=stage.pipeline_id).count() <= 1:
        raise Conflict(_("A pipeline needs at least one stage."))
    pipeline = stage.pipeline
    delete_record(actor, stage)
    _renumber(list(Stage.objects.filter(pipeline=pipeline).order_by("position", "id")))


def _move_all(actor: Actor, deals, target: Stage) -> None:
    """Move many deals to ``target`` in batches (an administrative move: required fields not checked)."""
    for deal in deals.select_related("stage").order_by("pk").iterator(chunk_size=500):
        before = snapshot(deal)
        _apply_stage(actor, deal, target, timezone.now())
        deal.updated_by = actor.user
        deal.save()
        _write_pending_change(deal)
        record(AuditEntry.Action.UPDATE, actor=actor, instance=deal, changes=diff(before, snapshot(deal)))


# --- lost reasons ----------------------------------------------------------------------------------


@transaction.atomic
def create_lost_reason(actor: Actor, *, name: str) -> LostReason:
    require(actor, "change", PIPELINE_TYPE)
    errors: list[FieldError] = []
    name = _clean_name(errors, name, limit=200)
    if name and LostReason.objects.filter(name=name).exists():
        errors.append(FieldError("name", _("This reason exists already."), "unique"))
    if errors:
        raise ValidationFailed(errors)
    position = (LostReason.objects.aggregate(m=Max("position"))["m"] or 0) + 1
    return create_record(actor, LostReason(name=name, position=position))


@transaction.atomic
def update_lost_reason(actor: Actor, reason: LostReason, **values: Any) -> LostReason:
    require(actor, "change", PIPELINE_TYPE)
    errors: list[FieldError] = []
    cleaned: dict[str, Any] = {}
    if "name" in values:
        cleaned["name"] = _clean_name(errors, values["name"], limit=200)
        if LostReason.objects.filter(name=cleaned["name"]).exclude(pk=reason.pk).exists():
            errors.append(FieldError("name", _("This reason exists already."), "unique"))
    if "active" in values:
        cleaned["active"] = bool(values["active"])
    if errors:
        raise ValidationFailed(errors)
    update_record(actor, reason, cleaned)
    return reason


@transaction.atomic
def delete_lost_reason(actor: Actor, reason: LostReason) -> None:
    """Deals lost for this reason keep its text."""
    require(actor, "change", PIPELINE_TYPE)
    delete_record(actor, reason)


# --- opportunities: validation ---------------------------------------------------------------------


def _id_of(value: Any) -> Any:
    return value.pk if isinstance(value, Model) else value


def _probability(errors: list[FieldError], value: Any, field: str = "probability") -> int | None:
    number = to_decimal(value)
    if number is None or number != int(number) or not 0 <= number <= 100:
        errors.append(FieldError(field, _("Enter a whole number from 0 to 100."), "invalid"))
        return None
    return int(number)


def _clean_contacts(actor: Actor, errors: list[FieldError], items: Any) -> list[dict] | None:
    if items is None:
        return None
    if not isinstance(items, list) or len(items) > MAX_CONTACTS:
        errors.append(
            FieldError("contacts", _("Give at most %(n)s contacts.") % {"n": MAX_CONTACTS}, "invalid")
        )
        return None
    roles = OpportunityContact.Role.values
    wanted = [
        _id_of(item.get("contact_id", item.get("contact"))) if isinstance(item, dict) else _id_of(item)
        for item in items
    ]
    known = set(
        visible(actor, Contact.objects.filter(pk__in=[i for i in wanted if isinstance(i, int)])).values_list(
            "pk", flat=True
        )
    )
    cleaned: list[dict] = []
    for index, (item, contact_id) in enumerate(zip(items, wanted, strict=True)):
        item = item if isinstance(item, dict) else {}
        role = item.get("role") or OpportunityContact.Role.OTHER
        if contact_id not in known:
            errors.append(FieldError(f"contacts.{index}.contact_id", _("Unknown contact."), "invalid"))
        elif role not in roles:
            errors.append(
                FieldError(
                    f"contacts.{index}.role", _("Choose one of: %s.") % ", ".join(roles), "invalid_choice"
                )
            )
        elif all(c["contact_id"] != contact_id for c in cleaned):
            cleaned.append(
                {"contact_id": contact_id, "role": role, "is_primary": bool(item.get("is_primary"))}
            )
    return cleaned


def _clean_lines(errors: list[FieldError], items: Any) -> list[OpportunityLine] | None:
    if items is None:
        return None
    if not isinstance(items, list) or len(items) > MAX_LINES:
        errors.append(FieldError("lines", _("Give at most %(n)s lines.") % {"n": MAX_LINES}, "invalid"))
        return None
    product_ids = [
        i.get("product_id") for i in items if isinstance(i, dict) and isinstance(i.get("product_id"), int)
    ]
    products = {p.pk: p for p in Product.objects.filter(pk__in=product_ids)} if product_ids else {}
    lines = []
    for index, item in enumerate(items):
        path = f"lines.{index}."
        item = item if isinstance(item, dict) else {}
        count = len(errors)
        product = None
        if item.get("product_id") is not None:
            product = products.get(item["product_id"])
            if product is None:
                errors.append(FieldError(f"{path}product_id", _("Unknown product."), "invalid"))
        description = " ".join(str(item.get("description") or "").split())[:300]
        if not description and product is not None:
            description = product.name
        if not description and product is None and "product_id" not in item:
            errors.append(
                FieldError(f"{path}description", _("Choose a product or describe the line."), "required")
            )
        quantity = _decimal(
            errors,
            f"{path}quantity",
            item.get("quantity", 1),
            max_places=3,
            limit=Decimal(10) ** 11,
            positive=True,
        )
        price_value = item.get("unit_price")
        if price_value in (None, "") and product is not None:
            price_value = product.unit_price
        unit_price = _decimal(
            errors, f"{path}unit_price", price_value if price_value is not None else 0, max_places=4
        )
        discount = _decimal(
            errors,
            f"{path}discount_percent",
            item.get("discount_percent", 0) or 0,
            max_places=2,
            limit=Decimal(101),
        )
        if discount is not None and discount > 100:
            errors.append(FieldError(f"{path}discount_percent", _("At most 100."), "max_value"))
        if len(errors) > count:
            continue
        total = cents(quantity * unit_price * (Decimal(100) - discount) / Decimal(100))
        lines.append(
            OpportunityLine(
                position=index,
                product=product,
                description=description,
                quantity=quantity,
                unit_price=unit_price,
                discount_percent=discount,
                line_total=total,
            )
        )
    return lines


def _clean_competitors(errors: list[FieldError], value: Any) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple) or len(value) > MAX_COMPETITORS:
        errors.append(
            FieldError(
                "competitors", _("Give at most %(n)s competitors.") % {"n": MAX_COMPETITORS}, "invalid"
            )
        )
        return []
    names: list[str] = []
    for raw in value:
        name = " ".join(str(raw).split())[:100]
        if name and name not in names:
            names.append(name)
    return names


def _clean(actor: Actor, values: dict, instance: Opportunity | None = None) -> tuple[dict, dict]:
    """Validated field values and the related parts (contacts, lines, tags) of a create or update."""
    creating = instance is None
    errors: list[FieldError] = []
    unknown = (
        set(values) - set(OPPORTUNITY_FIELDS) - {"contacts", "lines", "tags", "account", "pipeline", "stage"}
    )
    for name in sorted(unknown):
        errors.append(FieldError(name, _("Unknown field."), "unknown_field"))
    cleaned = {k: v for k, v in values.items() if k in OPPORTUNITY_FIELDS}
    for alias in ("account", "pipeline", "stage"):
        if alias in values:
            cleaned[f"{alias}_id"] = _id_of(values[alias])
    for name in TEXT_FIELDS:
        if name in cleaned:
            cleaned[name] = " ".join(str(cleaned[name] or "").split())
    if "description" in cleaned:
        cleaned["description"] = str(cleaned["description"] or "").strip()
    if "name" in cleaned or creating:
        cleaned["name"] = _clean_name(errors, cleaned.get("name"), limit=200)
    if "account_id" in cleaned or creating:
        account_id = cleaned.get("account_id")
        if account_id is None:
            errors.append(FieldError("account_id", _("This field is required."), "required"))
        elif not visible(actor, Account.objects.filter(pk=account_id)).exists():
            errors.append(FieldError("account_id", _("Unknown account."), "invalid"))
    # Pipeline and stage: the stage decides; a pipeline without a stage means its first open stage.
    pipeline = instance.pipeline if instance else None
    if "pipeline_id" in cleaned or creating:
        pipeline_id = cleaned.get("pipeline_id")
        if pipeline_id is None:
            pipeline = None if "stage_id" in cleaned else default_pipeline(actor.workspace)
        else:
            pipeline = Pipeline.objects.filter(pk=pipeline_id).first()
            if pipeline is None:
                errors.append(FieldError("pipeline_id", _("Unknown pipeline."), "invalid"))
            elif not pipeline.active and (creating or pipeline.pk != instance.pipeline_id):
                errors.append(FieldError("pipeline_id", _("This pipeline is inactive."), "invalid"))
    stage = None
    if cleaned.get("stage_id") is not None:
        stage = Stage.objects.filter(pk=cleaned["stage_id"]).select_related("pipeline").first()
        if stage is None:
            errors.append(FieldError("stage_id", _("Unknown stage."), "invalid"))
        elif pipeline is None:
            pipeline = stage.pipeline
        elif stage.pipeline_id != pipeline.pk:
            errors.append(FieldError("stage_id", _("The stage belongs to another pipeline."), "invalid"))
    elif "stage_id" in cleaned and not creating:
        errors.append(FieldError("stage_id", _("This field is required."), "required"))
    elif pipeline is not None and (creating or pipeline.pk != instance.pipeline_id):
        stage = (
            Stage.objects.filter(pipeline=pipeline, is_won=False, is_lost=False).order_by("position").first()
        )
        stage = stage or Stage.objects.filter(pipeline=pipeline).order_by("position").first()
        if stage is None:
            errors.append(FieldError("stage_id", _("The pipeline has no stages."), "invalid"))
    if pipeline is not None:
        cleaned["pipeline_id"] = pipeline.pk
    if stage is not None:
        cleaned["stage_id"] = stage.pk
    if "currency" in cleaned or creating:
        cleaned["currency"] = _currency(
            errors, "currency", cleaned.get("currency") or actor.workspace.base_currency
        )
    if "amount" in cleaned or creating:
        cleaned["amount"] = _decimal(errors, "amount", cleaned.get("amount") or 0, max_places=2)
    if "expected_close_date" in cleaned:
        value = cleaned["expected_close_date"]
        cleaned["expected_close_date"] = _date(errors, "expected_close_date", value) if value else None
    if "probability" in cleaned:
        cleaned["probability"] = _probability(errors, cleaned["probability"])
    if "forecast_category" in cleaned and cleaned["forecast_category"] not in FC.values:
        errors.append(
            FieldError("forecast_category", _("Choose one of: %s.") % ", ".join(FC.values), "invalid_choice")
        )
    if "competitors" in cleaned:
        cleaned["competitors"] = _clean_competitors(errors, cleaned["competitors"])
    if (
        cleaned.get("owner_id") is not None
        and not Membership.objects.filter(user_id=cleaned["owner_id"], is_active=True).exists()
    ):
        errors.append(FieldError("owner_id", _("The owner must be an active member of this workspace.")))
    if cleaned.get("team_id") is not None and not Team.objects.filter(pk=cleaned["team_id"]).exists():
        errors.append(FieldError("team_id", _("Unknown team.")))
    if "custom" in cleaned or creating:
        try:
            cleaned["custom"] = clean_custom_values(
                actor, Opportunity.object_type, cleaned.get("custom"), instance=instance, partial=not creating
            )
        except ValidationFailed as failed:
            errors.extend(failed.details)
    related = {
        "contacts": _clean_contacts(actor, errors, values.get("contacts")),
        "lines": _clean_lines(errors, values.get("lines")),
        "tags": None,
        "stage": stage,
    }
    try:
        related["tags"] = _clean_tags(values.get("tags"))
    except ValidationFailed as failed:
        errors.extend(failed.details)
    if errors:
        raise ValidationFailed(errors)
    return cleaned, related


def _is_blank(value: Any) -> bool:
    return (
        value is None
        or value == ""
        or value == []
        or value == {}
        or (isinstance(value, Decimal) and not value)
    )


def missing_required(
    opp: Opportunity, stage: Stage, *, contacts: int | None = None, lines: int | None = None
) -> list[str]:
    """The fields ``stage`` requires that ``opp`` leaves empty (counts passed in spare queries)."""
    missing = []
    for name in stage.required_fields or []:
        if name.startswith("custom."):
            value = (opp.custom or {}).get(name[7:])
        elif name == "contacts":
            value = contacts if contacts is not None else (opp.pk and opp.contact_roles.count())
        elif name == "lines":
            value = lines if lines is not None else (opp.pk and opp.lines.count())
        else:
            value = getattr(opp, name, None)
        if _is_blank(value) or value == 0:
            missing.append(name)
    return missing


def field_label(name: str) -> str:
    """A field's name as users see it (custom fields by their label)."""
    if name.startswith("custom."):
        for definition in definitions(Opportunity.object_type):
            if definition.key == name[7:]:
                return definition.label
        return name[7:]
    if name == "contacts":
        return _("contacts")
    if name == "lines":
        return _("product lines")
    return str(Opportunity._meta.get_field(name).verbose_name)


def _required_errors(opp: Opportunity, stage: Stage, **counts: int | None) -> list[FieldError]:
    return [
        FieldError(
            name,
            _("Fill in “%(field)s” before moving to “%(stage)s”.")
            % {"field": field_label(name), "stage": stage.name},
            "required_for_stage",
        )
        for name in missing_required(opp, stage, **counts)
    ]


def _apply_stage(
    actor: Actor, opp: Opportunity, stage: Stage, at: datetime, *, overrides: dict | None = None
) -> None:
    """Put ``opp`` into ``stage`` (no checks): derived values, and the history row when the stage changes."""
    overrides = overrides or {}
    previous_id = opp.stage_id if opp.pk else None
    status = S.WON if stage.is_won else S.LOST if stage.is_lost else S.OPEN
    if previous_id != stage.pk:
        opp.furthest_position = furthest_after(opp, stage)
    opp.pipeline_id = stage.pipeline_id
    opp.stage = stage
    if previous_id != stage.pk:
        probability = overrides.get("probability")
        opp.probability = stage.probability if probability is None else probability
        opp.forecast_category = overrides.get("forecast_category") or derived_forecast_category(
            opp.probability, status
        )
    if status != opp.status or (status != S.OPEN and opp.closed_at is None):
        opp.closed_at = at if status != S.OPEN else None
    opp.status = status
    if status != S.LOST and "lost_reason" not in overrides:
        opp.lost_reason = ""
    if previous_id != stage.pk:
        seconds = int((at - opp.stage_entered_at).total_seconds()) if previous_id else None
        opp._pending_change = StageChange(  # written once the deal has its id
            workspace=actor.workspace,
            pipeline_id=stage.pipeline_id,
            from_stage_id=previous_id,
            to_stage=stage,
            changed_at=at,
            changed_by=actor.user,
            created_by=actor.user,
            updated_by=actor.user,
            seconds_in_previous=max(seconds, 0) if seconds is not None else None,
        )
        opp.stage_entered_at = at


def furthest_after(opp: Opportunity, stage: Stage) -> int | None:
    """The deal's furthest stage position once it enters ``stage`` (lost stages do not count; a new
    pipeline starts over), as the stage-conversion report reads it."""
    same_pipeline = opp.pk is not None and opp.pipeline_id == stage.pipeline_id
    current = opp.furthest_position if same_pipeline else None
    if stage.is_lost:
        return current
    return stage.position if current is None else max(current, stage.position)


def recompute_furthest(pipeline_id: int) -> int:
    """Set ``furthest_position`` of the pipeline's deals from their stage history (after the stages
    were renumbered, or to repair); one UPDATE, returns the number of deals."""
    top = (
        StageChange.objects.filter(
            opportunity=OuterRef("pk"),
            pipeline_id=pipeline_id,
            to_stage__pipeline_id=pipeline_id,
            to_stage__is_lost=False,
        )
        .order_by()
        .values("opportunity")
        .annotate(top=Max("to_stage__position"))
        .values("top")
    )
    return Opportunity.objects.filter(pipeline_id=pipeline_id).update(furthest_position=Subquery(top))


def _write_pending_change(opp: Opportunity) -> None:
    change = getattr(opp, "_pending_change", None)
    if change is not None:
        change.opportunity = opp
        change.base_amount = opp.base_amount
        change.save()
        del opp._pending_change


def _convert(opp: Opportunity, day) -> FieldError | None:
    """Set the base-currency amount with the rate of ``day``; a field error when there is no rate."""
    rate = RateBook(opp.workspace, [opp.currency]).rate(opp.currency, day)
    if rate is None:
        return no_rate_error(opp.currency, day)
    opp.exchange_rate = rate
    opp.base_amount = cents(opp.amount * rate)
    return None


def _audit_values(
    opp: Opportunity, contacts: list[dict], lines: list[OpportunityLine], tags: list[str]
) -> dict:
    values = snapshot(opp)
    values["contacts"] = [f"{c['contact_id']}:{c['role']}" for c in contacts] or None
    values["lines"] = [
        f"{line.description} × {line.quantity} @ {line.unit_price}"
        f" -{line.discount_percent}% = {line.line_total}"
        for line in lines
    ] or None
    values["tags"] = tags or None
    return values


def _current_contacts(opp: Opportunity) -> list[dict]:
    return list(
        OpportunityContact.objects.filter(opportunity=opp)
        .order_by("id")
        .values("contact_id", "role", "is_primary")
    )


def _write_related(actor: Actor, opp: Opportunity, related: dict) -> None:
    if related["contacts"] is not None:
        OpportunityContact.objects.filter(opportunity=opp).delete()
        OpportunityContact.objects.bulk_create(
            OpportunityContact(workspace=actor.workspace, opportunity=opp, created_by=actor.user, **c)
            for c in related["contacts"]
        )
    if related["lines"] is not None:
        OpportunityLine.objects.filter(opportunity=opp).delete()
        for line in related["lines"]:
            line.workspace, line.opportunity = actor.workspace, opp
            line.created_by = line.updated_by = actor.user
        OpportunityLine.objects.bulk_create(related["lines"])
        if hasattr(opp, "_prefetched_objects_cache"):
            opp._prefetched_objects_cache.pop("lines", None)
    if related["tags"] is not None:
        set_tags(actor, opp, related["tags"])


# --- opportunities: writes -------------------------------------------------------------------------


@transaction.atomic
def create_opportunity(actor: Actor, *, at: datetime | None = None, **fields: Any) -> Opportunity:
    """Create a deal. ``account_id`` (or ``account``) is required; the pipeline defaults to the
    workspace's default one and the stage to the pipeline's first open stage. Related parts:
    ``contacts`` ([{contact_id, role, is_primary}]), ``lines`` ([{product_id, description, quantity,
    unit_price, discount_percent}] — when given, the amount is their sum) and ``tags``.
    ``at`` back-dates the creation (imports, demo data).
    """
    require(actor, "create", Opportunity.object_type)
    at = at or timezone.now()
    cleaned, related = _clean(actor, fields)
    overrides = {
        k: cleaned.pop(k) for k in ("probability", "forecast_category", "lost_reason") if k in cleaned
    }
    stage: Stage = related["stage"]
    cleaned.pop("stage_id")
    opp = Opportunity(
        workspace=actor.workspace,
        owner_id=cleaned.pop("owner_id", None) or actor.user.pk,
        created_at=at,
        stage_entered_at=at,
        created_by=actor.user,
        updated_by=actor.user,
        **cleaned,
    )
    if related["lines"]:
        opp.amount = sum((line.line_total for line in related["lines"]), Decimal(0))
    opp.lost_reason = overrides.get("lost_reason", "")
    _apply_stage(actor, opp, stage, at, overrides=overrides)
    errors = _required_errors(
        opp, stage, contacts=len(related["contacts"] or []), lines=len(related["lines"] or [])
    )
    if stage.is_lost and not opp.lost_reason:
        errors.append(FieldError("lost_reason", _("Give the reason the deal was lost."), "required"))
    rate_error = _convert(opp, at.date() if isinstance(at, datetime) else at)
    if rate_error:
        errors.append(rate_error)
    if errors:
        raise ValidationFailed(errors)
    opp.save()
    _write_pending_change(opp)
    _write_related(actor, opp, related)
    contacts = related["contacts"] or []
    after = {
        k: v
        for k, v in _audit_values(opp, contacts, related["lines"] or [], related["tags"] or []).items()
        if v not in ("", None, {}, [])
    }
    record(AuditEntry.Action.CREATE, actor=actor, instance=opp, changes=diff({}, after))
    return opp


def _lock(opp: Opportunity) -> None:
    """Serialise concurrent writes on one deal (two people dragging the same card)."""
    fresh = Opportunity.objects.select_for_update().get(pk=opp.pk)
    for name in ("stage_id", "pipeline_id", "stage_entered_at", "status", "closed_at"):
        setattr(opp, name, getattr(fresh, name))  # a changed id drops the cached related object


@transaction.atomic
def update_opportunity(
    actor: Actor, opp: Opportunity, *, at: datetime | None = None, **fields: Any
) -> Opportunity:
    """Change a deal; ``stage_id`` moves it like ``move_to_stage`` (rules checked after the other changes).

    ``contacts``, ``lines`` and ``tags`` (when given) replace the current ones.
    """
    require(actor, "change", Opportunity.object_type)
    _lock(opp)
    opp.__dict__.pop("_pending_change", None)
    at = at or timezone.now()
    cleaned, related = _clean(actor, fields, opp)
    old_contacts = _current_contacts(opp)
    old_lines = list(OpportunityLine.objects.filter(opportunity=opp).order_by("position", "id"))
    old_tags = tags_of(opp)
    before = _audit_values(opp, old_contacts, old_lines, old_tags)
    overrides = {k: cleaned.pop(k) for k in ("probability", "forecast_category") if k in cleaned}
    stage: Stage | None = related["stage"]
    cleaned.pop("stage_id", None)
    cleaned.pop("pipeline_id", None)
    for name, value in cleaned.items():
        setattr(opp, name, value)
    if related["lines"]:
        opp.amount = sum((line.line_total for line in related["lines"]), Decimal(0))
    contacts = related["contacts"] if related["contacts"] is not None else old_contacts
    lines = related["lines"] if related["lines"] is not None else old_lines
    errors: list[FieldError] = []
    target = stage if stage is not None and stage.pk != opp.stage_id else None
    if target is not None:
        errors += _required_errors(opp, target, contacts=len(contacts), lines=len(lines))
        if target.is_lost and not opp.lost_reason:
            errors.append(FieldError("lost_reason", _("Give the reason the deal was lost."), "required"))
        _apply_stage(actor, opp, target, at, overrides=overrides)
    if overrides:
        opp.probability = overrides.get("probability", opp.probability)
        if "forecast_category" in overrides:
            opp.forecast_category = overrides["forecast_category"]
        elif "probability" in overrides and target is None:
            opp.forecast_category = derived_forecast_category(opp.probability, opp.status)
    if target is None and opp.status == S.LOST and "lost_reason" in cleaned and not opp.lost_reason:
        errors.append(FieldError("lost_reason", _("Give the reason the deal was lost."), "required"))
    if {"amount", "currency"} & set(cleaned) or related["lines"] or opp.base_amount is None:
        rate_error = _convert(opp, timezone.localdate())
        if rate_error:
            errors.append(rate_error)
    if errors:
        # Leave the caller's instance as stored: nothing changed.
        opp.__dict__.pop("_pending_change", None)
        opp.refresh_from_db()
        raise ValidationFailed(errors)
    _write_related(actor, opp, related)
    changes = diff(
        before,
        _audit_values(opp, contacts, lines, related["tags"] if related["tags"] is not None else old_tags),
    )
    if changes:
        opp.updated_by = actor.user
        opp.save()
        _write_pending_change(opp)
        record(AuditEntry.Action.UPDATE, actor=actor, instance=opp, changes=changes)
    return opp


def move_to_stage(
    actor: Actor,
    opp: Opportunity,
    stage: Stage,
    *,
    lost_reason: str | None = None,
    at: datetime | None = None,
) -> Opportunity:
    """Move a deal to ``stage`` of its pipeline. Refused with field errors naming the stage's missing
    required fields (``ValidationFailed``); a lost stage needs ``lost_reason``. Won/lost set status,
    ``closed_at``, probability and forecast category; an open stage reopens a closed deal.
    """
    fields: dict[str, Any] = {"stage_id": _id_of(stage)}
    if isinstance(stage, Stage) and stage.pipeline_id != opp.pipeline_id:
        raise ValidationFailed(
            [FieldError("stage_id", _("The stage belongs to another pipeline."), "invalid")]
        )
    if lost_reason is not None:
        fields["lost_reason"] = lost_reason
    return update_opportunity(actor, opp, at=at, **fields)


def _closing_stage(opp: Opportunity, won: bool) -> Stage:
    stage = (
        Stage.objects.filter(pipeline_id=opp.pipeline_id, **({"is_won": True} if won else {"is_lost": True}))
        .order_by("position", "id")
        .first()
    )
    if stage is None:
        message = _("The pipeline has no won stage.") if won else _("The pipeline has no lost stage.")
        raise ValidationFailed([FieldError("stage_id", message, "invalid")])
    return stage


def win(actor: Actor, opp: Opportunity, *, at: datetime | None = None) -> Opportunity:
    """Move the deal to its pipeline's won stage (idempotent for a won deal)."""
    if opp.status == S.WON:
        return opp
    return move_to_stage(actor, opp, _closing_stage(opp, won=True), at=at)


def lose(actor: Actor, opp: Opportunity, reason: str, *, at: datetime | None = None) -> Opportunity:
    """Move the deal to its pipeline's lost stage with ``reason`` (required)."""
    return move_to_stage(actor, opp, _closing_stage(opp, won=False), lost_reason=reason or "", at=at)


@transaction.atomic
def delete_opportunity(actor: Actor, opp: Opportunity) -> None:
    require(actor, "delete", Opportunity.object_type)
    TaggedRecord.objects.filter(object_type=Opportunity.object_type, object_id=opp.pk).delete()
    delete_record(actor, opp)
