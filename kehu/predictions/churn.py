"""Churn risk: features at a cutoff from the past only, a calibrated classifier, time-split validation.

Definitions (docs/analytics.md, "Predictions"):

- *customer at cutoff c*: an account with a confirmed order before c and its last one within
  ``ACTIVE_DAYS`` before c (those gone longer are already churned, not at risk);
- *churned*: no confirmed order in [c, c + window);
- every feature query filters ``< c`` (orders, interactions, tickets, feedback), so a model trained
  at c never sees what happened after it. The one exception is ``grade_rank``, the account's current
  tier (no history of tiers is kept per date): it is a feature of the scoring model only when
  ``use_grade`` is set, and the validation figures say whether it was used.

Validation: train at T1 with labels from [T1, T1+w), test at T2 = T1 + w with labels from
[T2, T2+w) — the test window lies wholly after everything the model was trained on. Then the
model is refit at T2 (labels up to ``as_of``) and scores every current customer at ``as_of``.

Model: standardised logistic regression, calibrated by isotonic regression on a held-out quarter
of the training rows (by account id). A linear model makes the reasons exact: a customer's reason
is coefficient × standardised value, the feature's push on the log-odds against an average customer.
Everything the scorer needs is plain JSON (means, scales, coefficients, isotonic knots): no pickles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from .orders import RECENT_DAYS, OrderDays, order_days

ACTIVE_DAYS = 365
WINDOW_DAYS = 90

FEATURES = [
    "recency_days",
    "frequency",
    "monetary",
    "spend_trend",
    "orders_90d",
    "tenure_days",
    "interactions_90d",
    "interaction_recency_days",
    "tickets_180d",
    "complaints_180d",
    "satisfaction",
    "has_satisfaction",
    "negative_comments_365d",
    "grade_rank",
]


@dataclass
class Features:
    cutoff: date
    account_ids: np.ndarray  # int64, sorted
    raw: np.ndarray  # (n, len(FEATURES)) values as shown to users
    names: list[str]

    @property
    def size(self) -> int:
        return int(self.account_ids.size)

    def model_matrix(self) -> np.ndarray:
        """The matrix the classifier sees: skewed counts and days on a log scale."""
        X = self.raw.copy()
        for i, name in enumerate(self.names):
            if name not in ("spend_trend", "satisfaction", "has_satisfaction", "grade_rank"):
                X[:, i] = np.log1p(np.maximum(X[:, i], 0))
        return X


def _aware(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _days(later: date, days) -> np.ndarray:
    """Whole days from each date in ``days`` to ``later``."""
    values = np.array(days, dtype="datetime64[D]")
    return (np.datetime64(later, "D") - values).astype(float)


def _model(label: str, name: str):
    try:
        return apps.get_model(label, name)
    except LookupError:
        return None


def _has_fields(model, *names: str) -> bool:
    try:
        for name in names:
            model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


def _fill(target: np.ndarray, ids: np.ndarray, rows, column: int, default: float = 0.0) -> None:
    """Write ``(account_id, value)`` pairs into ``target[:, column]`` by position of the id in ``ids``."""
    target[:, column] = default
    if not rows:
        return
    keys = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    values = np.array([default if r[1] is None else float(r[1]) for r in rows], dtype=float)
    pos = np.searchsorted(ids, keys)
    ok = (pos < ids.size) & (ids[np.minimum(pos, ids.size - 1)] == keys)
    target[pos[ok], column] = values[ok]


def build_features(
    workspace, cutoff: date, *, use_grade: bool = False, days: OrderDays | None = None
) -> Features:
    """One row per customer at ``cutoff``, from orders, interactions, tickets and feedback before it
    (``days``: the orders' pass at ``cutoff`` when the caller already has it)."""
    from kehu.activities.models import ActivityLink
    from kehu.commerce.models import Feedback
    from kehu.customers.grading import grade_choices
    from kehu.customers.models import Account

    c = cutoff
    d90, d180 = c - timedelta(days=RECENT_DAYS), c - timedelta(days=2 * RECENT_DAYS)
    days = days if days is not None else order_days(workspace, c)
    if days.end != c or days.recent_total is None:
        raise ValueError(f"the features at {c} need the orders' full pass at that day (got {days.end})")
    # Customers active in the year before the cutoff (those gone longer are already churned).
    active = days.last >= np.datetime64(c - timedelta(days=ACTIVE_DAYS), "D")
    ids = days.account_ids[active]
    n = int(ids.size)
    raw = np.zeros((n, len(FEATURES)), dtype=float)
    col = {name: i for i, name in enumerate(FEATURES)}
    if n == 0:
        return Features(c, ids, raw, list(FEATURES))
    raw[:, col["recency_days"]] = _days(c, days.last[active])
    raw[:, col["tenure_days"]] = _days(c, days.first[active])
    raw[:, col["frequency"]] = days.days[active]
    raw[:, col["monetary"]] = days.total[active]
    recent, previous = days.recent_total[active], days.previous_total[active]
    # Spending trend in [−1, 1]: +1 all of the last 180 days' spend in the last 90, −1 none of it.
    both = recent + previous
    raw[:, col["spend_trend"]] = np.where(both > 0, (recent - previous) / np.where(both > 0, both, 1), 0.0)
    raw[:, col["orders_90d"]] = days.recent_days[active]

    links = ActivityLink.objects.filter(
        workspace=workspace, object_type=Account.object_type, occurred_at__lt=_aware(c)
    )
    link_rows = list(
        links.filter(occurred_at__gte=_aware(c - timedelta(days=ACTIVE_DAYS)))
        .values("object_id")
        .annotate(recent=Count("id", filter=Q(occurred_at__gte=_aware(d90))), last=Max("occurred_at"))
        .order_by()
        .values_list("object_id", "recent", "last")
    )
    _fill(raw, ids, [(r[0], r[1]) for r in link_rows], col["interactions_90d"])
    # No interaction in the last year counts as a year (the feature is capped there anyway).
    _fill(
        raw,
        ids,
        [(r[0], max(0, (c - timezone.localtime(r[2]).date()).days)) for r in link_rows],
        col["interaction_recency_days"],
        default=float(ACTIVE_DAYS),
    )

    complaints: dict[int, float] = {}
    tickets: dict[int, float] = {}
    ratings: dict[int, list[float]] = {}  # account -> [sum, count]
    since = _aware(d180)
    feedback = Feedback.objects.filter(workspace=workspace, received_at__lt=_aware(c))
    for account_id, count in (
        feedback.filter(received_at__gte=since, kind=Feedback.Kind.COMPLAINT)
        .values("account_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("account_id", "n")
    ):
        complaints[account_id] = complaints.get(account_id, 0) + count
    for account_id, total, count in (
        feedback.filter(received_at__gte=_aware(c - timedelta(days=ACTIVE_DAYS)), rating__isnull=False)
        .values("account_id")
        .annotate(s=Sum("rating"), n=Count("id"))
        .order_by()
        .values_list("account_id", "s", "n")
    ):
        ratings[account_id] = [float(total), float(count)]
    Ticket = _model("tickets", "Ticket")
    if Ticket is not None and _has_fields(Ticket, "account", "type", "created_at"):
        ticket_qs = Ticket.objects.filter(
            workspace=workspace, created_at__lt=_aware(c), account__isnull=False
        )
        for account_id, count, complaint_count in (
            ticket_qs.filter(created_at__gte=since)
            .values("account_id")
            .annotate(n=Count("id"), k=Count("id", filter=Q(type="complaint")))
            .order_by()
            .values_list("account_id", "n", "k")
        ):
            tickets[account_id] = count
            complaints[account_id] = complaints.get(account_id, 0) + complaint_count
        if _has_fields(Ticket, "satisfaction"):
            for account_id, total, count in (
                ticket_qs.filter(
                    created_at__gte=_aware(c - timedelta(days=ACTIVE_DAYS)), satisfaction__isnull=False
                )
                .values("account_id")
                .annotate(s=Sum("satisfaction"), n=Count("id"))
                .order_by()
                .values_list("account_id", "s", "n")
            ):
                pair = ratings.setdefault(account_id, [0.0, 0.0])
                pair[0] += float(total)
                pair[1] += float(count)
    negative: dict[int, float] = {}
    Response = _model("surveys", "SurveyResponse")
    if Response is not None and _has_fields(
        Response, "account", "answered_at", "kind", "score", "sentiment", "ticket"
    ):
        responses = Response.objects.filter(
            workspace=workspace,
            account__isnull=False,
            answered_at__lt=_aware(c),
            answered_at__gte=_aware(c - timedelta(days=ACTIVE_DAYS)),
        )
        # CSAT answered about a ticket is already the ticket's satisfaction: only the others count here.
        for account_id, total, count in (
            responses.filter(kind="csat", ticket__isnull=True)
            .values("account_id")
            .annotate(s=Sum("score"), n=Count("id"))
            .order_by()
            .values_list("account_id", "s", "n")
        ):
            pair = ratings.setdefault(account_id, [0.0, 0.0])
            pair[0] += float(total)
            pair[1] += float(count)
        negative = dict(
            responses.filter(sentiment="negative")
            .values("account_id")
            .annotate(n=Count("id"))
            .order_by()
            .values_list("account_id", "n")
        )
    _fill(raw, ids, list(negative.items()), col["negative_comments_365d"])
    _fill(raw, ids, list(tickets.items()), col["tickets_180d"])
    _fill(raw, ids, list(complaints.items()), col["complaints_180d"])
    # Without a rating the customer counts as neutral (3 of 5) and has_satisfaction says so.
    _fill(raw, ids, [(k, v[0] / v[1]) for k, v in ratings.items() if v[1]], col["satisfaction"], default=3.0)
    _fill(raw, ids, [(k, 1.0) for k, v in ratings.items() if v[1]], col["has_satisfaction"])

    if use_grade:
        tiers = [key for key, _label in grade_choices(workspace)]
        rank = {key: float(len(tiers) - i) for i, key in enumerate(tiers)}  # highest tier = largest
        grade_rows = []
        for start in range(0, n, 20000):
            chunk = ids[start : start + 20000].tolist()
            grade_rows += [
                (pk, rank.get(grade, 0.0))
                for pk, grade in Account.objects.filter(pk__in=chunk)
                .exclude(grade="")
                .values_list("pk", "grade")
            ]
        _fill(raw, ids, grade_rows, col["grade_rank"])
    return Features(c, ids, raw, list(FEATURES))


def churn_labels(workspace, features: Features, window_days: int = WINDOW_DAYS) -> np.ndarray:
    """1 = no confirmed order in [cutoff, cutoff + window), 0 = ordered again."""
    from kehu.commerce.models import Order
    from kehu.commerce.services import REVENUE_STATUSES

    c = features.cutoff
    again = np.array(
        sorted(
            Order.objects.filter(
                workspace=workspace,
                status__in=REVENUE_STATUSES,
                order_date__gte=c,
                order_date__lt=c + timedelta(days=window_days),
            )
            .values_list("account_id", flat=True)
            .distinct()
            .order_by()
        ),
        dtype=np.int64,
    )
    return (~np.isin(features.account_ids, again)).astype(int)


# --- the classifier ---------------------------------------------------------------------------------


def fit(X: np.ndarray, y: np.ndarray, account_ids: np.ndarray, names: list[str]) -> dict:
    """A calibrated logistic regression as plain JSON; raises ValueError when one class is missing."""
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression

    if len(set(y.tolist())) < 2:
        raise ValueError("one class only")
    calibration = (account_ids % 4) == 0
    train = ~calibration
    if len(set(y[calibration].tolist())) < 2 or len(set(y[train].tolist())) < 2 or calibration.sum() < 40:
        train = calibration = np.ones_like(y, dtype=bool)  # too small to hold a fold out
    mean = X[train].mean(axis=0)
    scale = X[train].std(axis=0)
    scale[scale == 0] = 1.0
    lr = LogisticRegression(C=1.0, max_iter=1000)
    lr.fit((X[train] - mean) / scale, y[train])
    model = {
        "features": names,
        "mean": mean.tolist(),
        "scale": scale.tolist(),
        "coef": lr.coef_[0].tolist(),
        "intercept": float(lr.intercept_[0]),
        "iso_x": [],
        "iso_y": [],
    }
    raw = _logistic(model, X[calibration])
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
    iso.fit(raw, y[calibration])
    model["iso_x"] = [float(v) for v in iso.X_thresholds_]
    model["iso_y"] = [float(v) for v in iso.y_thresholds_]
    # The at-risk threshold: the best F1 on the calibration fold (ties → the lower threshold, more
    # recall), kept within [0.05, 0.95] so that "at risk" never means "certain" or "anyone".
    calibrated = predict(model, X[calibration])
    model["threshold"] = min(max(best_f1_threshold(calibrated, y[calibration]), 0.05), 0.95)
    return model


def best_f1_threshold(p: np.ndarray, y: np.ndarray) -> float:
    """The candidate threshold (``p`` rounded to 3 places) with the best F1 of ``p >= t``; the lowest
    of equal ones. All candidates at once from one sort and cumulative sums — F1 = 2TP / (flagged +
    positives) — instead of an ``f1_score`` pass per candidate (up to 1,000 passes over the rows)."""
    candidates = np.unique(np.round(p, 3))
    ranked = np.argsort(p, kind="stable")
    order = p[ranked]
    positives_from = np.concatenate([np.cumsum(y[ranked][::-1])[::-1], [0]])
    first = np.searchsorted(order, candidates, side="left")  # rows with p >= t start here
    flagged = p.size - first
    true_pos = positives_from[first]
    denominator = flagged + int(y.sum())
    f1 = np.divide(2.0 * true_pos, denominator, out=np.zeros(candidates.size), where=denominator > 0)
    return float(candidates[int(np.argmax(f1))]) if candidates.size else 0.5


def _logistic(model: dict, X: np.ndarray) -> np.ndarray:
    z = (X - np.array(model["mean"])) / np.array(model["scale"])
    return 1.0 / (1.0 + np.exp(-(z @ np.array(model["coef"]) + model["intercept"])))


def predict(model: dict, X: np.ndarray) -> np.ndarray:
    """Calibrated churn probabilities."""
    raw = _logistic(model, X)
    if len(model.get("iso_x") or []) >= 2:
        return np.interp(raw, model["iso_x"], model["iso_y"])
    return raw


def evaluate(model: dict, X: np.ndarray, y: np.ndarray) -> dict:
    """AUC, precision and recall at the model's threshold, Brier score, on a test set."""
    from sklearn.metrics import brier_score_loss, precision_score, recall_score, roc_auc_score

    p = predict(model, X)
    flagged = p >= model["threshold"]
    both = len(set(y.tolist())) == 2
    return {
        "auc": float(roc_auc_score(y, p)) if both else None,
        "precision": float(precision_score(y, flagged, zero_division=0)),
        "recall": float(recall_score(y, flagged, zero_division=0)),
        "brier": float(brier_score_loss(y, p)),
        "churn_rate": float(y.mean()) if y.size else None,
        "size": int(y.size),
    }


def contributions(model: dict, X: np.ndarray) -> np.ndarray:
    """Coefficient × standardised value per feature: each feature's push on the log-odds of churn."""
    z = (X - np.array(model["mean"])) / np.array(model["scale"])
    return z * np.array(model["coef"])


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 else f"{value:.1f}".rstrip("0").rstrip(".")


def _reason_texts() -> dict[str, str]:
    """The reason sentences in the active language (looked up once per scoring, not per reason)."""
    return {
        "recency_days": _("Last order %(v)s days ago"),
        "frequency": _("%(v)s purchase days in total"),
        "monetary": _("Spent %(v)s in total"),
        "orders_90d": _("%(v)s purchase days in the last 90 days"),
        "tenure_days": _("Customer for %(v)s days"),
        "interactions_90d": _("%(v)s interactions in the last 90 days"),
        "interaction_recency_days": _("Last interaction %(v)s days ago"),
        "tickets_180d": _("%(v)s tickets in the last 180 days"),
        "complaints_180d": _("%(v)s complaints in the last 180 days"),
        "satisfaction": _("Average satisfaction %(v)s of 5"),
        "has_satisfaction": _("Has rated us"),
        "negative_comments_365d": _("%(v)s negative survey comments in the last year"),
        "grade_rank": _("Grade rank %(v)s"),
        "spend_down": _("Spending down in the last 90 days (trend %(v)s)"),
        "spend_up": _("Spending up in the last 90 days (trend %(v)s)"),
    }


def reason_text(name: str, value: float, texts: dict[str, str] | None = None) -> str:
    """A feature and the customer's value in words (``texts``: ``_reason_texts()``, when looked up)."""
    texts = texts or _reason_texts()
    if name == "spend_trend":
        return texts["spend_down" if value < 0 else "spend_up"] % {"v": f"{value:+.2f}"}
    return texts.get(name, name) % {"v": _fmt(value)}


def top_reasons(model: dict, X: np.ndarray, raw: np.ndarray, k: int = 3) -> list[list[dict]]:
    """Per customer, the ``k`` features pushing most towards churn (positive contribution only)."""
    contrib = contributions(model, X)
    names = model["features"]
    texts = _reason_texts()
    order = np.argsort(-contrib, axis=1)[:, :k]
    top = np.take_along_axis(contrib, order, axis=1)
    values = np.take_along_axis(raw, order, axis=1)
    out: list[list[dict]] = []
    # Customers share most values (days, counts): each sentence is formatted once per feature and value.
    sentences: dict[tuple[int, float], str] = {}
    for js, weights, shown in zip(order.tolist(), top.tolist(), values.tolist(), strict=True):
        reasons = []
        for j, weight, value in zip(js, weights, shown, strict=True):
            if weight <= 0 or not math.isfinite(weight):
                break
            text = sentences.get((j, value))
            if text is None:
                text = sentences[(j, value)] = reason_text(names[j], value, texts)
            reasons.append(
                {"feature": names[j], "value": round(value, 2), "weight": round(weight, 3), "text": text}
            )
        out.append(reasons)
    return out


def windows(as_of: date, window_days: int = WINDOW_DAYS) -> tuple[date, date]:
    """(T1, T2): the training and test cutoffs; T2 + window = as_of."""
    t2 = as_of - timedelta(days=window_days)
    return t2 - timedelta(days=window_days), t2


def validate(
    workspace,
    as_of: date,
    *,
    window_days: int = WINDOW_DAYS,
    use_grade: bool = False,
    shuffle_seed: int | None = None,
) -> dict:
    """Train at T1, test at T2; ``shuffle_seed`` permutes the training labels (the leakage check)."""
    t1, t2 = windows(as_of, window_days)
    train = build_features(workspace, t1, use_grade=use_grade)
    test = build_features(workspace, t2, use_grade=use_grade)
    y_train = churn_labels(workspace, train, window_days)
    y_test = churn_labels(workspace, test, window_days)
    if shuffle_seed is not None:
        y_train = np.random.default_rng(shuffle_seed).permutation(y_train)
    model = fit(train.model_matrix(), y_train, train.account_ids, train.names)
    figures = evaluate(model, test.model_matrix(), y_test)
    figures.update(
        train_cutoff=t1.isoformat(),
        test_cutoff=t2.isoformat(),
        train_size=train.size,
        threshold=model["threshold"],
    )
    return {"model": model, "figures": figures, "test": test, "train": train, "y_test": y_test}
