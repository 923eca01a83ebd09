"""Lead scoring against the database: rules CRUD, scoring one lead, training and batch rescoring.

The effective score (``Lead.score``) is the predictive one once the workspace has a trained model,
the rule-based one until then. Both are always computed side by side for the lead page and API.
Scores are written with plain UPDATEs (``Lead.objects.filter(pk…).update``, grouped by score in batches):
they are derived values like a total, not user edits, so they are not audited and send no
``lead_saved`` (which would loop back here).
"""

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.activities.models import ActivityLink
from kehu.audit.services import create_record, delete_record, update_record
from kehu.core.errors import FieldError, ValidationFailed
from kehu.customfields.models import FieldType
from kehu.customfields.queries import can_read, definitions
from kehu.leads.models import Lead
from kehu.workspaces.access import Actor, require

from . import engine, predictive
from .models import ScoringModel, ScoringRule, ScoringState

logger = logging.getLogger(__name__)

LEAD_TYPE = "leads.lead"
# Lead fields a fit rule may test (plus every custom field of leads as ``custom.<key>``).
FIT_FIELDS = (
    "industry",
    "size",
    "source",
    "country",
    "province",
    "city",
    "title",
    "company",
    "email",
    "website",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "status",
)
# Categorical lead fields the predictive model learns from (plus single-select and yes/no custom
# fields). Free text (names, descriptions) carries no repeatable signal and is left out.
PREDICTIVE_FIELDS = (
    "source",
    "industry",
    "size",
    "country",
    "province",
    "title",
    "utm_source",
    "utm_medium",
    "utm_campaign",
)
PREDICTIVE_CUSTOM_TYPES = {FieldType.SINGLE_SELECT, FieldType.BOOLEAN}
OPEN_STATUSES = (Lead.Status.NEW, Lead.Status.CONTACTED, Lead.Status.QUALIFIED)
READ_BATCH = 10_000  # history rows per keyset query
WRITE_BATCH = 2_000  # leads per rescoring batch (one short write transaction each)
HOLDOUT_CAP = 50_000  # holdout rows kept in memory to measure the AUC
STALE_TRAINING = timedelta(hours=2)  # a "training" row older than this died with its worker

# A lead's outcome for training: won = converted and its opportunity won; lost = disqualified, or
# converted and its opportunity lost. Everything else is open (scored, not learned from).
WON = Q(converted_opportunity__status="won")
LOST = Q(status=Lead.Status.DISQUALIFIED) | Q(converted_opportunity__status="lost")


# --- fields ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldInfo:
    name: str
    label: str
    type: str  # text | choice | number | bool | date
    choices: tuple[tuple[str, str], ...] = ()


def _custom_type(definition) -> str:
    kind = definition.field_type
    if kind in (FieldType.NUMBER, FieldType.MONEY, FieldType.PERCENT):
        return "number"
    if kind == FieldType.BOOLEAN:
        return "bool"
    if kind in (FieldType.SINGLE_SELECT, FieldType.MULTI_SELECT):
        return "choice"
    if kind in (FieldType.DATE, FieldType.DATETIME):
        return "date"
    return "text"


def lead_fields(actor: Actor | None = None) -> dict[str, FieldInfo]:
    """Fields rules and factors may name, by name: standard lead fields, then custom fields."""
    out = {}
    for name in FIT_FIELDS:
        f = Lead._meta.get_field(name)
        choices = tuple((str(v), str(label)) for v, label in (f.choices or ()))
        out[name] = FieldInfo(
            name, str(f.verbose_name).capitalize(), "choice" if choices else "text", choices
        )
    for d in definitions(LEAD_TYPE):
        if actor is not None and not can_read(actor, d):
            continue
        choices = tuple((str(c.get("value")), str(c.get("label") or c.get("value"))) for c in d.choices)
        out[f"custom.{d.key}"] = FieldInfo(f"custom.{d.key}", d.label, _custom_type(d), choices)
    return out


def _labels(fields: dict[str, FieldInfo]) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    return {n: f.label for n, f in fields.items()}, {
        n: dict(f.choices) for n, f in fields.items() if f.choices
    }


def lead_values(lead: Lead) -> dict[str, Any]:
    """A lead's values by rule field name (``custom.<key>`` for custom fields)."""
    values: dict[str, Any] = {name: getattr(lead, name) for name in FIT_FIELDS}
    for key, value in (lead.custom or {}).items():
        values[f"custom.{key}"] = value
    return values


# --- rules -----------------------------------------------------------------------------------------


RULE_FIELDS = {
    "name",
    "kind",
    "active",
    "position",
    "points",
    "field",
    "operator",
    "value",
    "event",
    "activity_kind",
    "direction",
    "outcome_keywords",
    "min_duration",
    "cap",
    "half_life_days",
}


def _clean_rule(values: dict[str, Any], current: ScoringRule | None = None) -> dict[str, Any]:
    """Validate a rule's values (merged over ``current``); every problem in one ``ValidationFailed``."""
    unknown = set(values) - RULE_FIELDS
    errors = [FieldError(name, _("Unknown field."), "unknown") for name in sorted(unknown)]
    merged = {name: getattr(current, name) for name in RULE_FIELDS} if current else {}
    merged.update({k: v for k, v in values.items() if k in RULE_FIELDS})
    kind = merged.get("kind") or ScoringRule.Kind.FIT
    merged["kind"] = kind
    if kind not in ScoringRule.Kind.values:
        errors.append(FieldError("kind", _("Choose fit or engagement."), "invalid_choice"))
    points = merged.get("points")
    if not isinstance(points, int) or isinstance(points, bool) or not -100 <= points <= 100:
        errors.append(FieldError("points", _("Give whole points between -100 and 100."), "invalid"))
    for name in ("name", "outcome_keywords"):
        merged[name] = str(merged.get(name) or "").strip()
    if len(merged["name"]) > 100:
        errors.append(FieldError("name", _("Must have at most %(n)s characters.") % {"n": 100}, "max_length"))
    if kind == ScoringRule.Kind.FIT:
        fields = lead_fields()
        name, op, value = merged.get("field") or "", merged.get("operator") or "", merged.get("value")
        if name not in fields:
            errors.append(FieldError("field", _("Choose a lead field."), "invalid_choice"))
        if op not in ScoringRule.Operator.values:
            errors.append(FieldError("operator", _("Choose a condition."), "invalid_choice"))
        elif op in engine.OPERATORS_WITHOUT_VALUE:
            value = None
        elif op in engine.OPERATORS_WITH_LIST:
            if isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            if not isinstance(value, list) or not value or len(value) > 100:
                errors.append(FieldError("value", _("Give one to 100 values."), "invalid"))
        elif value is None or value == "" or isinstance(value, list | dict):
            errors.append(FieldError("value", _("Give the value to compare with."), "required"))
        elif (
            op in engine.NUMERIC_OPERATORS
            and engine.number(value) is None
            and fields.get(name, None)
            and (fields[name].type == "number")
        ):
            errors.append(FieldError("value", _("Give a number."), "invalid"))
        merged.update(field=name, operator=op, value=value, event="", activity_kind="", direction="")
        merged.update(outcome_keywords="", min_duration=None, cap=None, half_life_days=None)
    elif kind == ScoringRule.Kind.ENGAGEMENT:
        event = merged.get("event") or "custom"
        if event not in engine.EVENT_PRESETS:
            errors.append(FieldError("event", _("Choose an event."), "invalid_choice"))
        elif event != "custom":
            _label, activity_kind, direction, words, min_duration = engine.EVENT_PRESETS[event]
            merged.update(activity_kind=activity_kind, direction=direction, outcome_keywords=words)
            merged["min_duration"] = min_duration
        from kehu.activities.models import Activity

        if merged.get("activity_kind") and merged["activity_kind"] not in Activity.Kind.values:
            errors.append(FieldError("activity_kind", _("Choose an activity kind."), "invalid_choice"))
        if merged.get("direction") and merged["direction"] not in Activity.Direction.values:
            errors.append(FieldError("direction", _("Choose a direction."), "invalid_choice"))
        for name, low, high in (("cap", 1, 1000), ("half_life_days", 1, 3650), ("min_duration", 0, 86400)):
            v = merged.get(name)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or not low <= v <= high):
                message = _("Give a whole number between %(low)s and %(high)s, or leave it empty.")
                errors.append(FieldError(name, message % {"low": low, "high": high}, "invalid"))
        merged.update(event=event, field="", operator="", value=None)
    if errors:
        raise ValidationFailed(errors)
    merged["activity_kind"] = merged.get("activity_kind") or ""
    merged["direction"] = merged.get("direction") or ""
    merged["active"] = bool(merged.get("active", True))
    merged["position"] = int(merged.get("position") or 0)
    return merged


@transaction.atomic
def create_rule(actor: Actor, **values: Any) -> ScoringRule:
    require(actor, "create", ScoringRule.object_type)
    rule = create_record(actor, ScoringRule(**_clean_rule(values)))
    bump_rules(actor.workspace.pk)
    return rule


@transaction.atomic
def update_rule(actor: Actor, rule: ScoringRule, **values: Any) -> ScoringRule:
    require(actor, "change", ScoringRule.object_type)
    if update_record(actor, rule, _clean_rule(values, current=rule)):
        bump_rules(actor.workspace.pk)
    return rule


@transaction.atomic
def delete_rule(actor: Actor, rule: ScoringRule) -> None:
    require(actor, "delete", ScoringRule.object_type)
    delete_record(actor, rule)
    bump_rules(actor.workspace.pk)


def active_rules() -> list[engine.Rule]:
    """The workspace's active rules, compiled (cached per process, see ``config``)."""
    from django_scopes import get_scope

    workspace = get_scope().get("workspace")
    if workspace is None:  # unscoped callers (none in Kehu) read the table directly
        return _load_rules()
    return config(workspace.pk).rules


def _load_rules(workspace_id: int | None = None) -> list[engine.Rule]:
    qs = ScoringRule.objects.filter(active=True)
    if workspace_id is not None:
        qs = qs.filter(workspace_id=workspace_id)
    return [engine.Rule.of(r) for r in qs.order_by("kind", "position", "id")]


def bump_rules(workspace_id: int) -> None:
    """A rule changed: every process reloads its rules at its next scoring (in the same transaction)."""
    if not ScoringState.objects.filter(workspace_id=workspace_id).update(
        rules_version=F("rules_version") + 1
    ):
        ScoringState.objects.get_or_create(workspace_id=workspace_id, defaults={"rules_version": 1})


def draft_rule(values: dict[str, Any]) -> engine.Rule:
    """An unsaved rule from form/API values, to test before saving (``ValidationFailed`` if invalid)."""
    return engine.Rule.of(ScoringRule(**_clean_rule(values)))


# --- timeline events -------------------------------------------------------------------------------


def events_for(
    lead_ids: Iterable[int], rules: list[engine.Rule], now: datetime
) -> dict[int, list[engine.Event]]:
    """Timeline events of leads within the rules' longest look-back, newest first (one query)."""
    ids = list(lead_ids)
    horizon = max((r.max_age_days for r in rules if r.kind == "engagement"), default=None)
    if horizon is None or not ids:
        return {}
    rows = (
        ActivityLink.objects.filter(
            object_type=LEAD_TYPE, object_id__in=ids, occurred_at__gte=now - timedelta(days=horizon)
        )
        .order_by("-occurred_at")
        .values_list(
            "object_id",
            "kind",
            "occurred_at",
            "activity__direction",
            "activity__outcome",
            "activity__duration",
        )
    )
    if len(ids) == 1:
        rows = rows[: engine.MAX_EVENTS]
    out: dict[int, list[engine.Event]] = {}
    for object_id, kind, occurred_at, direction, outcome, duration in rows:
        events = out.setdefault(object_id, [])
        if len(events) < engine.MAX_EVENTS:
            events.append(engine.Event(kind, occurred_at, direction, outcome, duration))
    return out


# --- the predictive model --------------------------------------------------------------------------


@dataclass
class Active:
    version: int
    model: predictive.Model


@dataclass
class Config:
    key: tuple
    rules: list[engine.Rule]
    model: Active | None


# Per process: workspace id -> its compiled rules and loaded model. Scoring a lead checks the
# workspace's ``ScoringState`` (one primary-key-sized query) and reloads only when a rule changed or a
# new model version became ready, so the ≤ 5 ms budget is not spent on building rules and parsing
# counts. The state row's id is part of the key, so reused ids in tests never hit a stale entry.
_CONFIG: dict[int, Config] = {}


def _state_key(workspace_id: int) -> tuple:
    # Plain SQL: this runs on every lead save and the ORM's query building cost more than the query.
    table = connection.ops.quote_name(ScoringState._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, rules_version, model_version FROM {table} WHERE workspace_id = %s",  # noqa: S608
            [workspace_id],
        )
        row = cursor.fetchone()
    return tuple(row) if row else (None, 0, 0)


def config(workspace_id: int) -> Config:
    key = _state_key(workspace_id)
    cached = _CONFIG.get(workspace_id)
    if cached is not None and cached.key == key:
        return cached
    model = None
    if key[2]:
        params = (
            ScoringModel.objects.filter(workspace_id=workspace_id, version=key[2])
            .values_list("params", flat=True)
            .first()
        )
        model = Active(key[2], predictive.Model(params)) if params else None
    loaded = Config(key, _load_rules(workspace_id), model)
    _CONFIG[workspace_id] = loaded
    return loaded


def active_model(workspace_id: int) -> Active | None:
    """The model in use (the newest ready version), cached per process."""
    return config(workspace_id).model


def _category(value: Any) -> str:
    """A field value as a model category: text stripped (titles lower-cased), lists sorted."""
    if value is None:
        return predictive.EMPTY
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "|".join(sorted(str(v) for v in value))[:100]
    return str(value).strip()[:100]


def _title(value: Any) -> str:
    return _category(value).casefold()


def predictive_values(values: dict[str, Any], features: list[str]) -> dict[str, str]:
    """Feature values of a lead (``values`` as ``lead_values`` gives them)."""
    return {f: (_title(values.get(f)) if f == "title" else _category(values.get(f))) for f in features}


def predictive_features() -> list[str]:
    custom = [f"custom.{d.key}" for d in definitions(LEAD_TYPE) if d.field_type in PREDICTIVE_CUSTOM_TYPES]
    return list(PREDICTIVE_FIELDS) + custom


# --- scoring one lead ------------------------------------------------------------------------------


@dataclass
class Scores:
    rules: engine.Result
    model: Active | None
    predictive_score: int | None
    factors: list[predictive.Factor]

    @property
    def kind(self) -> str:
        return "predictive" if self.predictive_score is not None else "rules"

    @property
    def score(self) -> int:
        return self.predictive_score if self.predictive_score is not None else self.rules.score


def compute(
    lead: Lead, now: datetime | None = None, *, rules: list[engine.Rule] | None = None, labels=None
) -> Scores:
    """Both scores of one lead, for showing them: the cached rules and model, one timeline query."""
    now = now or timezone.now()
    current = config(lead.workspace_id)
    rules = current.rules if rules is None else rules
    values = lead_values(lead)
    events = events_for([lead.pk], rules, now).get(lead.pk, []) if lead.pk else []
    field_labels, value_labels = labels or ({}, {})
    result = engine.evaluate(rules, values, events, now, field_labels=field_labels, value_labels=value_labels)
    score, factors = None, []
    if current.model is not None:
        features = predictive_values(values, current.model.model.features)
        score, factors = current.model.model.score(features), current.model.model.top_factors(features)
    return Scores(result, current.model, score, factors)


def effective_score(lead: Lead, now: datetime, *, new: bool = False) -> int:
    """The score stored on the lead: predictive with a model, else the rules (a new lead has no timeline)."""
    current = config(lead.workspace_id)
    values = lead_values(lead)
    if current.model is not None:
        return current.model.model.score(predictive_values(values, current.model.model.features))
    events = [] if new else events_for([lead.pk], current.rules, now).get(lead.pk, [])
    return engine.evaluate(current.rules, values, events, now).score


def score_lead(lead: Lead, now: datetime | None = None, *, new: bool = False) -> int:
    """Score one lead and store the effective score on it (called when a lead is saved).

    Queries: the scoring state (cached rules and model stay valid), the lead's timeline when it has
    engagement rules to feed and is not brand new, and the UPDATE when the score changed.
    """
    now = now or timezone.now()
    score = effective_score(lead, now, new=new)
    if lead.score != score or lead.score_updated_at is None:
        Lead.objects.filter(pk=lead.pk).update(score=score, score_updated_at=now)
        lead.score, lead.score_updated_at = score, now
    return score


def history_counts() -> tuple[int, int]:
    """(won, lost) leads of the workspace's history: one aggregate query."""
    counts = Lead.objects.aggregate(won=Count("pk", filter=WON), lost=Count("pk", filter=LOST))
    return counts["won"], counts["lost"]


def _factor_text(factor: predictive.Factor, fields: dict[str, FieldInfo]) -> str:
    info = fields.get(factor.feature)
    label = info.label if info else factor.feature
    if factor.value == predictive.EMPTY:
        return _("%(field)s is empty") % {"field": label}
    if factor.value == predictive.OTHER:
        return _("%(field)s is a rare value") % {"field": label}
    value = dict(info.choices).get(factor.value, factor.value) if info else factor.value
    if value in ("true", "false"):
        value = _("yes") if value == "true" else _("no")
    return _("%(field)s is %(value)s") % {"field": label, "value": value}


def explain(actor: Actor, lead: Lead, now: datetime | None = None) -> dict[str, Any]:
    """Everything the score panel and ``GET /leads/{id}/score`` show, in the actor's language.

    Reasons about custom fields the actor may not read are left out (their points still count).
    """
    fields = lead_fields(actor)
    scores = compute(lead, now, labels=_labels(fields))
    rule_reasons = _rule_reasons(scores.rules, fields)
    factors = [
        _factor_dict(f, fields)
        for f in scores.factors
        if not f.feature.startswith("custom.") or f.feature in fields
    ]
    status = model_status()
    if scores.kind == "predictive":
        reasons = [
            {
                "text": f["text"],
                "label": f"{'+' if f['weight'] > 0 else '−'} {f['text']}",
                "points": f["weight"],
            }
            for f in factors
        ]
    else:
        reasons = [{"text": r["text"], "label": r["label"], "points": r["points"]} for r in rule_reasons]
    return {
        "lead_id": lead.pk,
        "score": scores.score,
        "kind": scores.kind,
        "reasons": reasons,
        "stored_score": lead.score,
        "scored_at": lead.score_updated_at,
        "rules": {"score": scores.rules.score, "total": scores.rules.total, "reasons": rule_reasons},
        "predictive": {
            "available": scores.predictive_score is not None,
            "score": scores.predictive_score,
            "version": scores.model.version if scores.model else None,
            "factors": factors,
            "message": status["message"],
        },
    }


# --- model status ----------------------------------------------------------------------------------


def latest_models(limit: int = 10) -> list[ScoringModel]:
    return list(ScoringModel.objects.order_by("-version").defer("params")[:limit])


def model_status() -> dict[str, Any]:
    """The workspace's predictive model in words: ready, or why not (with the numbers)."""
    ready = (
        ScoringModel.objects.filter(status=ScoringModel.Status.READY)
        .order_by("-version")
        .defer("params")
        .first()
    )
    last = ScoringModel.objects.order_by("-version").defer("params").first()
    if ready is not None:
        message = _("Predictive score v%(version)s, trained on %(n)s leads (AUC %(auc)s).") % {
            "version": ready.version,
            "n": ready.won_count + ready.lost_count,
            "auc": f"{ready.auc:.2f}" if ready.auc is not None else "—",
        }
    else:
        won, lost = (last.won_count, last.lost_count) if last is not None else history_counts()
        message = _(
            "Rule-based score: the predictive score needs %(min_won)s won and %(min_lost)s lost leads; "
            "have %(won)s/%(lost)s."
        ) % {"min_won": predictive.MIN_WON, "min_lost": predictive.MIN_LOST, "won": won, "lost": lost}
    return {
        "kind": "predictive" if ready is not None else "rules",
        "message": message,
        "ready": ready,
        "last": last,
        "needs": {"won": predictive.MIN_WON, "lost": predictive.MIN_LOST},
    }


# --- training --------------------------------------------------------------------------------------


def _next_version(workspace) -> ScoringModel:
    for _attempt in range(3):
        version = (ScoringModel.objects.aggregate(v=Max("version"))["v"] or 0) + 1
        try:
            with transaction.atomic():
                return ScoringModel.objects.create(workspace=workspace, version=version)
        except IntegrityError:  # another training took this version number meanwhile
            continue
    raise RuntimeError("could not allocate a scoring model version")


def history_rows(features: list[str], batch: int = READ_BATCH) -> Iterator[tuple[int, list[str], bool]]:
    """(pk, feature values, won?) of every won/lost lead, read in keyset batches by primary key.

    Each batch is one short SELECT (``pk > last ORDER BY pk LIMIT n``): no long transaction, no
    lock, so writes go on during training; rows inserted meanwhile are simply read or not.
    """
    plain = [f for f in features if not f.startswith("custom.")]
    custom = [f.removeprefix("custom.") for f in features if f.startswith("custom.")]
    columns = ["pk", "status", "converted_opportunity__status", *plain] + (["custom"] if custom else [])
    title_at = plain.index("title") if "title" in plain else -1
    qs = Lead.objects.filter(WON | LOST).order_by("pk").values_list(*columns)
    last = 0
    while True:
        rows = list(qs.filter(pk__gt=last)[:batch])
        if not rows:
            return
        for row in rows:
            values = [_category(v) for v in row[3 : 3 + len(plain)]]
            if title_at >= 0:
                values[title_at] = values[title_at].casefold()
            if custom:
                stored = row[-1] or {}
                values.extend(_category(stored.get(k)) for k in custom)
            won = row[2] == "won"
            yield row[0], values, won
        last = rows[-1][0]


def train(workspace, *, rescore: bool = True) -> ScoringModel:
    """Train a new model version from the workspace's won/lost history (inside its scope)."""
    started = time.monotonic()
    stale = ScoringModel.objects.filter(
        status=ScoringModel.Status.TRAINING, started_at__lt=timezone.now() - STALE_TRAINING
    )
    stale.update(status=ScoringModel.Status.FAILED, message="abandoned")
    row = _next_version(workspace)
    try:
        won, lost = history_counts()
        row.won_count, row.lost_count = won, lost
        if won < predictive.MIN_WON or lost < predictive.MIN_LOST:
            row.status = ScoringModel.Status.INSUFFICIENT
            row.message = _("Needs %(min_won)s won and %(min_lost)s lost leads; have %(won)s/%(lost)s.") % {
                "min_won": predictive.MIN_WON,
                "min_lost": predictive.MIN_LOST,
                "won": won,
                "lost": lost,
            }
        else:
            _fit(row, predictive_features())
        row.trained_at = timezone.now()
        row.duration_ms = round((time.monotonic() - started) * 1000)
        row.save()
        if row.status == ScoringModel.Status.READY:
            _use_model(workspace.pk, row.version)
    except Exception as error:
        logger.exception("training the scoring model of workspace %s failed", workspace.pk)
        ScoringModel.objects.filter(pk=row.pk).update(
            status=ScoringModel.Status.FAILED, message=str(error)[:300]
        )
        raise
    if rescore:
        row.rescored = rescore_open(workspace)
        ScoringModel.objects.filter(pk=row.pk).update(rescored=row.rescored)
    return row


def _use_model(workspace_id: int, version: int) -> None:
    """Make ``version`` the model in use (never an older one, if two trainings overlap)."""
    state, _created = ScoringState.objects.get_or_create(workspace_id=workspace_id)
    ScoringState.objects.filter(pk=state.pk, model_version__lt=version).update(model_version=version)


def _fit(row: ScoringModel, features: list[str]) -> None:
    train_counts, holdout_counts = predictive.Counts(features), predictive.Counts(features)
    holdout: list[tuple[list[str], bool]] = []
    for pk, values, won in history_rows(features):
        if len(holdout) < HOLDOUT_CAP and predictive.is_holdout(pk):
            holdout.append((values, won))
            holdout_counts.add(values, won)
        else:
            train_counts.add(values, won)
    row.train_size, row.holdout_size = train_counts.won + train_counts.lost, len(holdout)
    row.won_count, row.lost_count = (
        train_counts.won + holdout_counts.won,
        train_counts.lost + holdout_counts.lost,
    )
    if holdout and train_counts.won and train_counts.lost:
        evaluator = predictive.Model(train_counts.params())
        scored = (
            (evaluator.log_odds(dict(zip(features, values, strict=True))), won) for values, won in holdout
        )
        row.auc = predictive.auc(scored)
    # The stored model learns from all of the history; the AUC above measured it without the holdout.
    train_counts.merge(holdout_counts)
    row.features, row.params = features, train_counts.params()
    row.status = ScoringModel.Status.READY
    row.message = ""


# --- batch rescoring -------------------------------------------------------------------------------


LEAD_COLUMNS = ("pk", "score", "score_updated_at", "custom", *FIT_FIELDS)


def _rescore(rows: list[tuple], rules, model: Active | None, now: datetime) -> int:
    """Compute the effective score of leads (``LEAD_COLUMNS`` tuples) and write the changed ones.

    The writes are one ``UPDATE … WHERE id IN (…)`` per distinct score (at most 101 per batch) in
    one short transaction: Django's ``bulk_update`` builds a ``CASE WHEN id = … THEN …`` per row,
    which cost ~1.8 ms per lead on SQLite here, ten times this.
    """
    if model is None:
        events = events_for([row[0] for row in rows], rules, now)
    groups: dict[int, list[int]] = {}
    for pk, stored, stamped, custom, *fields in rows:
        values: dict[str, Any] = dict(zip(FIT_FIELDS, fields, strict=True))
        for key, value in (custom or {}).items():
            values[f"custom.{key}"] = value
        if model is not None:
            score = model.model.score(predictive_values(values, model.model.features))
        else:
            score = engine.evaluate(rules, values, events.get(pk, []), now).score
        if score != stored or stamped is None:
            groups.setdefault(score, []).append(pk)
    if groups:
        with transaction.atomic():
            for score, ids in groups.items():
                Lead.objects.filter(pk__in=ids).update(score=score, score_updated_at=now)
    return sum(len(ids) for ids in groups.values())


def rescore_open(workspace, *, batch: int = WRITE_BATCH, now: datetime | None = None) -> int:
    """Rescore every open lead in keyset batches, each written in one short transaction; how many changed."""
    now = now or timezone.now()
    current = config(workspace.pk)
    qs = Lead.objects.filter(status__in=OPEN_STATUSES, converted_at__isnull=True).values_list(*LEAD_COLUMNS)
    changed, last = 0, 0
    while True:
        rows = list(qs.filter(pk__gt=last).order_by("pk")[:batch])
        if not rows:
            return changed
        changed += _rescore(rows, current.rules, current.model, now)
        last = rows[-1][0]


def rescore_engaged(workspace, *, limit: int = 5_000, now: datetime | None = None) -> int:
    """Rescore the leads whose timeline got new entries since the last run (engagement rules).

    Reads ``ActivityLink`` rows after a stored watermark (their ids only grow), so each run looks at
    new entries only. With a trained model the effective score ignores the timeline: the watermark
    just moves on.
    """
    now = now or timezone.now()
    state, _created = ScoringState.objects.get_or_create(workspace=workspace)
    links = list(
        ActivityLink.objects.filter(object_type=LEAD_TYPE, pk__gt=state.last_link_id)
        .order_by("pk")
        .values_list("pk", "object_id")[:limit]
    )
    if not links:
        return 0
    current = config(workspace.pk)
    changed = 0
    if current.model is None and any(r.kind == "engagement" for r in current.rules):
        ids = sorted({object_id for _pk, object_id in links})
        for start in range(0, len(ids), WRITE_BATCH):
            rows = list(
                Lead.objects.filter(pk__in=ids[start : start + WRITE_BATCH]).values_list(*LEAD_COLUMNS)
            )
            changed += _rescore(rows, current.rules, None, now)
    ScoringState.objects.filter(pk=state.pk).update(last_link_id=links[-1][0])
    return changed


def retrain_due(workspace_id: int, every: timedelta, now: datetime | None = None) -> bool:
    """Whether the nightly retraining is due: no training started within ``every`` and none waiting
    in the queue (enqueued less than ``STALE_TRAINING`` ago)."""
    now = now or timezone.now()
    if ScoringModel.objects.filter(workspace_id=workspace_id, started_at__gte=now - every).exists():
        return False
    return not ScoringState.objects.filter(
        workspace_id=workspace_id, retrain_requested_at__gte=now - STALE_TRAINING
    ).exists()


def mark_retrain_requested(workspace_id: int) -> None:
    now = timezone.now()
    if not ScoringState.objects.filter(workspace_id=workspace_id).update(retrain_requested_at=now):
        ScoringState.objects.get_or_create(workspace_id=workspace_id, defaults={"retrain_requested_at": now})


def request_retrain(actor: Actor):
    """ "Retrain now": enqueue the training job (administrators); returns the task result."""
    from .tasks import retrain

    require(actor, "change", ScoringRule.object_type)
    mark_retrain_requested(actor.workspace.pk)
    return retrain.enqueue(actor.workspace.pk)


# --- presenting rules and the model ----------------------------------------------------------------


def describe(rule: ScoringRule, fields: dict[str, FieldInfo] | None = None) -> str:
    """A rule in words: "Industry is Software", "Meeting held (half-life 7 days, cap 20)"."""
    compiled = engine.Rule.of(rule)
    if rule.kind == ScoringRule.Kind.FIT:
        field_labels, value_labels = _labels(fields if fields is not None else lead_fields())
        return engine.describe_condition(compiled, field_labels, value_labels)
    text = engine.event_label(compiled)
    notes = []
    if rule.half_life_days:
        notes.append(_("half-life %(n)s days") % {"n": rule.half_life_days})
    if rule.cap:
        notes.append(_("cap %(n)s") % {"n": rule.cap})
    return text + (f" ({', '.join(notes)})" if notes else "")


def _rule_reasons(result: engine.Result, fields: dict[str, FieldInfo]) -> list[dict[str, Any]]:
    """Reasons as dicts with their label; reasons on custom fields the reader may not see left out."""
    return [
        {**r.as_dict(), "label": f"{engine.format_points(r.points)} {r.text}"}
        for r in result.reasons
        if not r.field.startswith("custom.") or r.field in fields
    ]


def try_rules(actor: Actor, lead: Lead, draft: dict[str, Any] | None = None) -> dict[str, Any]:
    """The rule-based score of a lead with the active rules, or with one unsaved rule only."""
    fields = lead_fields(actor)
    rules = [draft_rule(draft)] if draft is not None else active_rules()
    result = compute(lead, rules=rules, labels=_labels(fields)).rules
    return {"score": result.score, "total": result.total, "reasons": _rule_reasons(result, fields)}


def _factor_dict(factor: predictive.Factor, fields: dict[str, FieldInfo]) -> dict[str, Any]:
    return {
        "feature": factor.feature,
        "value": factor.value if factor.value != predictive.OTHER else "",
        "weight": round(factor.weight, 3),
        "ratio": round(factor.ratio, 2),
        "text": _factor_text(factor, fields),
    }


def model_report(actor: Actor) -> dict[str, Any]:
    """The model status page and ``GET /scoring/model``: what is in use and why, and recent runs."""
    status = model_status()
    won, lost = history_counts()
    ready = status["ready"]
    factors: list[dict] = []
    active = active_model(actor.workspace.pk) if ready is not None else None
    if active is not None:
        fields = lead_fields(actor)
        strongest = sorted(
            (
                predictive.Factor(name, value, weight)
                for name, table in active.model.weights.items()
                if not name.startswith("custom.") or name in fields
                for value, weight in table.items()
                if value != predictive.OTHER
            ),
            key=lambda f: -abs(f.weight),
        )[:10]
        factors = [_factor_dict(f, fields) for f in strongest]
    state = ScoringState.objects.filter(workspace=actor.workspace).first()
    return {
        "kind": status["kind"],
        "message": status["message"],
        "needs": status["needs"],
        "have": {"won": won, "lost": lost},
        "ready": ready,
        "features": ready.features if ready is not None else predictive_features(),
        "top_factors": factors,
        "history": latest_models(),
        "retrain_requested_at": state.retrain_requested_at if state else None,
    }
