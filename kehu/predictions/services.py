"""Fitting, scoring and the actions taken on recommendations — the only write path of predictions.

``refit`` (weekly) fits a new CLV model and a new churn model; ``score`` (nightly) applies the
latest models to every customer and rewrites their ``CustomerPrediction`` rows in batches (only
this app's tables are written, so users' writes to orders and accounts are never locked).
"""

from __future__ import annotations

import time as clock
from datetime import date, timedelta

import numpy as np
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.audit.services import update_record
from kehu.core.errors import Conflict
from kehu.workspaces.access import Actor, require

from . import churn as churn_model
from . import clv, nba
from .models import ChurnModel, ClvModel, CustomerPrediction, FitStatus, RecommendedAction
from .orders import OrderDays, order_days
from .queries import latest

MIN_CUSTOMERS = 20
OUTCOME_DAYS = 60


# --- the customer summary (x, t_x, T, m) -----------------------------------------------------------


def customer_summary(workspace, end: date, days: OrderDays | None = None) -> dict[str, np.ndarray]:
    """Per account with a confirmed order before ``end``: x, t_x, T (weeks) and m (mean repeat spend)
    (``days``: the orders' pass at ``end`` when the caller already has it).

    As in the paper, all orders of one day are one purchase: the first day is the first purchase, x
    counts the later purchase days, m is the mean value of those later days (0 when x = 0).
    """
    days = days if days is not None else order_days(workspace, end)
    if days.end != end:
        raise ValueError(f"order days at {days.end}, summary at {end}")
    xs = days.days - 1
    return {
        "account_ids": days.account_ids,
        "x": xs,
        "t_x": (days.last - days.first).astype(float) / 7.0,
        "T": (np.datetime64(end, "D") - days.first).astype(float) / 7.0,
        "m": np.divide(days.repeat_total, xs, out=np.zeros_like(xs), where=xs > 0),
    }


def _next_version(model) -> int:
    return (model.objects.aggregate(v=Max("version"))["v"] or 0) + 1


# --- CLV -----------------------------------------------------------------------------------------------


def holdout_days(workspace, as_of: date) -> int:
    """The holdout of a fit at ``as_of``: a third of the order history, 4 to 26 weeks."""
    from django.db.models import Min

    from kehu.commerce.models import Order
    from kehu.commerce.services import REVENUE_STATUSES

    first = Order.objects.filter(
        workspace=workspace, status__in=REVENUE_STATUSES, order_date__lt=as_of
    ).aggregate(first=Min("order_date"))["first"]
    span = (as_of - first).days if first else 0
    return max(28, min(182, span // 3))


def orders_for_fit(workspace, as_of: date) -> OrderDays:
    """The pass over the orders a CLV fit reads: at ``as_of``, and before its holdout (``.before``)."""
    return order_days(workspace, as_of, split=as_of - timedelta(days=holdout_days(workspace, as_of)))


def holdout_check(workspace, days: OrderDays, start: clv.BgNbd | None = None) -> dict:
    """Fit on the orders before the holdout (``days.before``), predict the purchase days in the holdout,
    compare (``start``: a first guess for the fit, the full fit's estimates)."""
    before = days.before
    if before is None:
        raise ValueError("the holdout needs the orders' pass with a split (orders_for_fit)")
    calibration = customer_summary(workspace, before.end, before)
    if calibration["x"].size < MIN_CUSTOMERS or (calibration["x"] > 0).sum() < 2:
        return {}
    holdout = (days.end - before.end).days
    model, _ll = clv.fit_bgnbd(calibration["x"], calibration["t_x"], calibration["T"], start=start)
    predicted = clv.conditional_expected_purchases(
        model, holdout / 7.0, calibration["x"], calibration["t_x"], calibration["T"]
    )
    # Purchase days in [cutoff, as_of): the days before as_of less the days before the cutoff.
    actual = days.days_at(before.account_ids) - before.days
    figures = clv.holdout_metrics(predicted, actual)
    figures.update(cutoff=before.end.isoformat(), holdout_days=holdout, params=model.as_dict())
    return figures


def fit_clv(
    workspace,
    as_of: date | None = None,
    *,
    months: int = 12,
    monthly_discount: float = 0.01,
    days: OrderDays | None = None,
) -> ClvModel:
    """Fit BG/NBD + Gamma-Gamma on all confirmed orders before ``as_of``, check it on a holdout; store it
    as a new version (``days``: ``orders_for_fit`` at ``as_of`` when the caller already has it)."""
    as_of = as_of or timezone.localdate()
    started = clock.monotonic()
    row = ClvModel(
        workspace=workspace,
        version=_next_version(ClvModel),
        as_of=as_of,
        horizon_months=months,
        monthly_discount=monthly_discount,
    )
    days = days if days is not None and days.before is not None else orders_for_fit(workspace, as_of)
    summary = customer_summary(workspace, as_of, days)
    row.customers = int(summary["x"].size)
    row.repeat_customers = int((summary["x"] > 0).sum())
    if row.customers < MIN_CUSTOMERS or row.repeat_customers < 2:
        row.status = FitStatus.INSUFFICIENT
        row.message = _(
            "%(n)s customers, %(r)s with repeat purchases: at least %(min)s and 2 are needed."
        ) % {"n": row.customers, "r": row.repeat_customers, "min": MIN_CUSTOMERS}
    else:
        try:
            # The last fitted model's estimates as the first guess: a weekly refit moves them little.
            previous = latest(ClvModel)
            bg_start = gg_start = None
            if previous is not None and {"bgnbd", "gamma_gamma"} <= set(previous.params):
                bg_start = clv.BgNbd(**previous.params["bgnbd"])
                gg_start = clv.GammaGamma(**previous.params["gamma_gamma"])
            bgnbd, ll = clv.fit_bgnbd(summary["x"], summary["t_x"], summary["T"], start=bg_start)
            gg, _gll = clv.fit_gamma_gamma(summary["x"], summary["m"], start=gg_start)
            row.params = {"bgnbd": bgnbd.as_dict(), "gamma_gamma": gg.as_dict()}
            row.loglik = ll
            row.calibration = holdout_check(workspace, days, start=bgnbd)
        except (
            ValueError,
            FloatingPointError,
            ZeroDivisionError,
        ) as err:  # pragma: no cover - data dependent
            row.status = FitStatus.FAILED
            row.message = str(err)[:300]
    row.duration_ms = int((clock.monotonic() - started) * 1000)
    row.save()
    return row


# --- churn ----------------------------------------------------------------------------------------------


def train_churn(
    workspace,
    as_of: date | None = None,
    *,
    window_days: int = churn_model.WINDOW_DAYS,
    use_grade: bool = False,
) -> ChurnModel:
    """Validate on a time split (train T1, test T2), then refit at T2 for scoring; store a new version."""
    as_of = as_of or timezone.localdate()
    started = clock.monotonic()
    t1, t2 = churn_model.windows(as_of, window_days)
    row = ChurnModel(
        workspace=workspace,
        version=_next_version(ChurnModel),
        as_of=as_of,
        window_days=window_days,
        train_cutoff=t1,
        test_cutoff=t2,
    )
    train = churn_model.build_features(workspace, t1, use_grade=use_grade)
    test = churn_model.build_features(workspace, t2, use_grade=use_grade)
    y_train = churn_model.churn_labels(workspace, train, window_days)
    y_test = churn_model.churn_labels(workspace, test, window_days)
    row.train_size, row.test_size = train.size, test.size
    row.features = list(train.names)
    try:
        if train.size < MIN_CUSTOMERS or test.size < MIN_CUSTOMERS:
            raise ValueError("too few")
        validated = churn_model.fit(train.model_matrix(), y_train, train.account_ids, train.names)
        figures = churn_model.evaluate(validated, test.model_matrix(), y_test)
        final = churn_model.fit(test.model_matrix(), y_test, test.account_ids, test.names)
    except ValueError:
        row.status = FitStatus.INSUFFICIENT
        row.message = _(
            "Not enough history: %(train)s customers at %(t1)s and %(test)s at %(t2)s, both churned and "
            "retained ones are needed."
        ) % {"train": train.size, "t1": t1.isoformat(), "test": test.size, "t2": t2.isoformat()}
    else:
        row.auc, row.precision, row.recall = figures["auc"], figures["precision"], figures["recall"]
        row.brier, row.churn_rate = figures["brier"], figures["churn_rate"]
        row.threshold = final["threshold"]
        final["use_grade"] = use_grade
        final["validation_threshold"] = validated["threshold"]
        row.params = final
    row.duration_ms = int((clock.monotonic() - started) * 1000)
    row.save()
    return row


def refit(workspace, as_of: date | None = None) -> tuple[ClvModel, ChurnModel]:
    """The weekly job: new CLV and churn models, then a scoring run with them."""
    as_of = as_of or timezone.localdate()
    days = orders_for_fit(workspace, as_of)  # one pass over the orders for the CLV fit and the scoring
    clv_row = fit_clv(workspace, as_of, days=days)
    churn_row = train_churn(workspace, as_of)
    score(workspace, as_of, days=days)
    return clv_row, churn_row


# --- scoring ------------------------------------------------------------------------------------------


def _open_complaints(workspace) -> dict[int, int]:
    """Open complaint tickets per account — the workspace's few, not a lookup per risky customer (an
    ``IN`` list of 300k ids at 1M accounts)."""
    Ticket = churn_model._model("tickets", "Ticket")
    if Ticket is None or not churn_model._has_fields(Ticket, "account", "type", "status"):
        return {}
    from django.db.models import Count

    return dict(
        Ticket.objects.filter(workspace=workspace, account__isnull=False, type="complaint")
        .exclude(status__in=("resolved", "closed"))
        .values("account_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("account_id", "n")
    )


def _accounts_graded(workspace, grades: set[str]) -> set[int]:
    from kehu.customers.models import Account

    return set(Account.objects.filter(workspace=workspace, grade__in=grades).values_list("pk", flat=True))


def score(workspace, as_of: date | None = None, *, days: OrderDays | None = None) -> int:
    """Apply the latest models to every customer; rewrite predictions and suggestions; how many rows
    (``days``: the orders' pass at ``as_of`` when the caller already has it).

    Vectorised over customers (numpy), from one pass over the orders shared by CLV and the churn
    features; the next-best-action rules run only for the accounts a rule can fire for (churn risk ≥
    half the threshold, or a cross-sell candidate); the predictions are replaced in one transaction
    (``customers.bulk.replace_rows``: updated in place, COPY on PostgreSQL) — not upserted per 5,000
    ORM objects (156 s at 100k customers, docs/performance.md). Only this app's tables are written;
    readers see the old rows until the commit.
    """
    from kehu.customers.bulk import insert_columns, replace_rows
    from kehu.customers.grading import grade_choices

    as_of = as_of or timezone.localdate()
    now = timezone.now()
    clv_row, churn_row = latest(ClvModel), latest(ChurnModel)
    days = days if days is not None else order_days(workspace, as_of)
    summary = customer_summary(workspace, as_of, days)
    ids = summary["account_ids"]
    n = ids.size
    expected = p_alive = spend = value = np.full(n, np.nan)
    if clv_row is not None and n:
        bg = clv.BgNbd(**clv_row.params["bgnbd"])
        gg = clv.GammaGamma(**clv_row.params["gamma_gamma"])
        x, t_x, T, m = summary["x"], summary["t_x"], summary["T"], summary["m"]
        horizon = clv_row.horizon_months * clv.WEEKS_PER_MONTH
        expected = clv.conditional_expected_purchases(bg, horizon, x, t_x, T)
        p_alive = clv.probability_alive(bg, x, t_x, T)
        spend = clv.conditional_expected_spend(gg, x, m)
        value = clv.customer_lifetime_value(
            bg, gg, x, t_x, T, m, months=clv_row.horizon_months, monthly_discount=clv_row.monthly_discount
        )
    churn_p = np.full(n, np.nan)
    no_reasons: list[dict] = []  # one shared empty list: the bulk writer converts it once
    reasons: list[list[dict]] = [no_reasons] * n
    trend = np.zeros(n)
    threshold = 0.5
    if churn_row is not None and n:
        params = churn_row.params
        threshold = churn_row.threshold
        features = churn_model.build_features(
            workspace, as_of, use_grade=params.get("use_grade", False), days=days
        )
        pos = np.searchsorted(ids, features.account_ids)  # current customers ⊆ customers with orders
        X = features.model_matrix()
        churn_p[pos] = churn_model.predict(params, X)
        for i, r in zip(pos.tolist(), churn_model.top_reasons(params, X, features.raw), strict=True):
            reasons[i] = r or no_reasons
        trend[pos] = features.raw[:, features.names.index("spend_trend")]
    finite = value[np.isfinite(value)]
    clv_high = float(np.quantile(finite, 0.75)) if finite.size >= 4 else float("inf")
    known = np.isfinite(churn_p)
    # Rules 1–4 need churn risk ≥ half the threshold; rule 5 a high CLV, low risk and a candidate.
    risky = known & (churn_p >= threshold / 2)
    potential = np.isfinite(value) & (value >= clv_high) & (~known | (churn_p < threshold / 2))
    complaints = _open_complaints(workspace)
    tiers = [key for key, _label in grade_choices(workspace)]
    grade_rank = {key: len(tiers) - i for i, key in enumerate(tiers)}  # top tier = len(tiers)
    top_tiers = {key for key, rank in grade_rank.items() if rank >= max(len(tiers) - 1, 1)}
    top_accounts = _accounts_graded(workspace, top_tiers) if len(tiers) > 1 else set()  # rule 2 only
    cross = nba.cross_sell_candidates(workspace, ids[potential].tolist(), nba.default_since(as_of))

    def num(v):
        return None if not np.isfinite(v) else float(v)

    no_data: dict = {}
    kinds, whys, datas = [""] * n, [""] * n, [no_data] * n
    suggestions = []
    for i in np.flatnonzero(risky | np.isin(ids, list(cross))).tolist():
        account_id = int(ids[i])
        kind, why, data = nba.recommend(
            churn=num(churn_p[i]),
            threshold=threshold,
            clv=num(value[i]),
            clv_high=clv_high,
            p_alive=num(p_alive[i]),
            grade_rank=2 if account_id in top_accounts else 0,
            spend_trend=float(trend[i]),
            open_complaints=complaints.get(account_id, 0),
            top_reason=reasons[i][0]["text"] if reasons[i] else "",
            cross_sell=cross.get(account_id),
        )
        if kind:
            kinds[i], whys[i], datas[i] = kind, why[:300], data or no_data
            suggestions.append((account_id, kind, why[:300], data, num(churn_p[i])))

    q = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as cursor:
        # Whole rows replaced: accounts that are no longer customers (orders cancelled) keep none.
        replace_rows(
            CustomerPrediction,
            {"workspace_id": workspace.pk},
            "account_id",
            {
                "account_id": ids,
                "expected_purchases": expected,
                "p_alive": p_alive,
                "predicted_spend": spend,
                "clv": value,
                "churn_probability": churn_p,
                "reasons": reasons,
                "next_action": kinds,
                "next_action_reason": whys,
                "next_action_data": datas,
                "computed_at": now,
                "clv_version": clv_row.version if clv_row else None,
                "churn_version": churn_row.version if churn_row else None,
                "created_at": now,
                "updated_at": now,
            },
        )
        cursor.execute(
            f"DELETE FROM {q(RecommendedAction._meta.db_table)} WHERE workspace_id = %s "  # noqa: S608
            "AND status = %s",
            [workspace.pk, str(RecommendedAction.Status.SUGGESTED)],
        )
        if suggestions:
            account_ids, kinds_, reasons_, datas_, risks = zip(*suggestions, strict=True)
            insert_columns(
                RecommendedAction,
                {
                    "workspace_id": workspace.pk,
                    "account_id": account_ids,
                    "kind": kinds_,
                    "reason": reasons_,
                    "data": datas_,
                    "churn_probability": risks,
                    "created_at": now,
                    "updated_at": now,
                },
            )
    measure_outcomes(workspace)
    return n


# --- recommended actions ------------------------------------------------------------------------------


TASK_TITLES = {
    RecommendedAction.Kind.CALL: lambda: _("Call %(account)s"),
    RecommendedAction.Kind.VISIT: lambda: _("Care visit to %(account)s"),
    RecommendedAction.Kind.OFFER: lambda: _("Make %(account)s an offer"),
    RecommendedAction.Kind.ESCALATE: lambda: _("Escalate the open complaint of %(account)s"),
    RecommendedAction.Kind.CROSS_SELL: lambda: _("Offer %(product)s to %(account)s"),
}


def current_action(account) -> RecommendedAction | None:
    """The account's open suggestion (made by the last scoring run), if any."""
    return (
        RecommendedAction.objects.filter(account=account, status=RecommendedAction.Status.SUGGESTED)
        .order_by("-id")
        .first()
    )


@transaction.atomic
def take_action(actor: Actor, account) -> RecommendedAction:
    """Turn the account's suggestion into a task for the account's owner (or the actor); mark it taken."""
    from kehu.activities.models import Task
    from kehu.activities.services import create_task
    from kehu.workspaces.models import Membership

    require(actor, "change", RecommendedAction.object_type)
    action = current_action(account)
    if action is None:
        raise Conflict(_("There is no recommended action for this account right now."))
    assignee = actor.user.pk
    if (
        account.owner_id
        and Membership.objects.filter(
            workspace=actor.workspace, user_id=account.owner_id, is_active=True
        ).exists()
    ):
        assignee = account.owner_id
    product = ""
    if action.kind == RecommendedAction.Kind.CROSS_SELL:
        from kehu.commerce.models import Product

        product = (
            Product.objects.filter(pk=action.data.get("product_id")).values_list("name", flat=True).first()
        )
    title = TASK_TITLES[action.kind]() % {"account": account.name, "product": product or "?"}
    urgent = action.kind in (RecommendedAction.Kind.ESCALATE, RecommendedAction.Kind.VISIT)
    task = create_task(
        actor,
        title=title[:200],
        description=_("Recommended action: %(reason)s") % {"reason": action.reason},
        assignee_id=assignee,
        due_at=timezone.now() + timedelta(days=2 if urgent else 5),
        priority=Task.Priority.HIGH if urgent else Task.Priority.NORMAL,
        record_type=account.object_type,
        record_id=account.pk,
    )
    update_record(
        actor,
        action,
        {
            "status": RecommendedAction.Status.TAKEN,
            "task": task,
            "decided_at": timezone.now(),
            "decided_by_id": actor.user.pk,
        },
    )
    return action


@transaction.atomic
def dismiss_action(actor: Actor, account) -> RecommendedAction:
    require(actor, "change", RecommendedAction.object_type)
    action = current_action(account)
    if action is None:
        raise Conflict(_("There is no recommended action for this account right now."))
    update_record(
        actor,
        action,
        {
            "status": RecommendedAction.Status.DISMISSED,
            "decided_at": timezone.now(),
            "decided_by_id": actor.user.pk,
        },
    )
    return action


def measure_outcomes(workspace, today: date | None = None) -> int:
    """Decided actions: 'ordered' once the account orders within 60 days, 'no order' when 60 days pass."""
    from kehu.commerce.models import Order
    from kehu.commerce.services import REVENUE_STATUSES

    today = today or timezone.localdate()
    pending = RecommendedAction.objects.filter(
        workspace=workspace, outcome=RecommendedAction.Outcome.PENDING, decided_at__isnull=False
    ).exclude(status=RecommendedAction.Status.SUGGESTED)
    changed = 0
    for action in pending.iterator(chunk_size=2000):
        start = timezone.localtime(action.decided_at).date()
        ordered = Order.objects.filter(
            workspace=workspace,
            account_id=action.account_id,
            status__in=REVENUE_STATUSES,
            order_date__gte=start,
            order_date__lte=start + timedelta(days=OUTCOME_DAYS),
        ).exists()
        if ordered:
            outcome = RecommendedAction.Outcome.ORDERED
        elif today > start + timedelta(days=OUTCOME_DAYS):
            outcome = RecommendedAction.Outcome.NO_ORDER
        else:
            continue
        RecommendedAction.objects.filter(pk=action.pk).update(outcome=outcome, outcome_at=timezone.now())
        changed += 1
    return changed


def action_summary(workspace) -> dict:
    """Suggested now / taken / dismissed, and how often the account ordered within 60 days after."""
    from django.db.models import Count

    rows = (
        RecommendedAction.objects.filter(workspace=workspace)
        .values("status", "outcome")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[str, dict[str, int]] = {}
    for r in rows:
        counts.setdefault(r["status"], {})[r["outcome"]] = r["n"]

    def line(status: str) -> dict:
        by = counts.get(status, {})
        ordered, no = (
            by.get(RecommendedAction.Outcome.ORDERED, 0),
            by.get(RecommendedAction.Outcome.NO_ORDER, 0),
        )
        return {
            "count": sum(by.values()),
            "ordered": ordered,
            "no_order": no,
            "pending": by.get(RecommendedAction.Outcome.PENDING, 0),
            "order_rate": round(ordered / (ordered + no), 3) if ordered + no else None,
        }

    return {
        "suggested": line(RecommendedAction.Status.SUGGESTED)["count"],
        "taken": line(RecommendedAction.Status.TAKEN),
        "dismissed": line(RecommendedAction.Status.DISMISSED),
    }
