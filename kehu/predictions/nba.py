"""Next best action: rules over the scores, and cross-sell candidates from product co-occurrence.

Rules, first match wins (``threshold`` is the churn model's at-risk threshold):

1. an open complaint and churn risk ≥ half the threshold → escalate the complaint;
2. at risk and high value (CLV in the top quarter, or one of the two highest grades) → care visit;
3. at risk → call by the owner;
4. churn risk ≥ half the threshold and spending down (trend < −0.2) → an offer;
5. low risk and high potential (CLV in the top quarter, P(alive) ≥ 0.7) with a cross-sell candidate
   → cross-sell the product customers with a similar basket bought most.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta

from django.db import connection
from django.utils.translation import gettext as _

from .models import RecommendedAction

K = RecommendedAction.Kind


def recommend(
    *,
    churn: float | None,
    threshold: float,
    clv: float | None,
    clv_high: float,
    p_alive: float | None,
    grade_rank: int,
    spend_trend: float,
    open_complaints: int,
    top_reason: str,
    cross_sell: tuple[int, str, int] | None,
) -> tuple[str, str, dict]:
    """(action kind or "", the reason shown with it, data) for one account."""
    pct = "" if churn is None else f"{churn:.0%}"
    high_value = (clv is not None and clv >= clv_high > 0) or grade_rank >= 2
    if churn is not None:
        if open_complaints and churn >= threshold / 2:
            return (
                K.ESCALATE,
                _("%(n)s open complaint(s) and churn risk %(p)s") % {"n": open_complaints, "p": pct},
                {},
            )
        if churn >= threshold:
            why = _("Churn risk %(p)s") % {"p": pct} + (f" · {top_reason}" if top_reason else "")
            if high_value:
                return K.VISIT, why + " · " + _("high value"), {}
            return K.CALL, why, {}
        if churn >= threshold / 2 and spend_trend < -0.2:
            return K.OFFER, _("Spending down in the last 90 days, churn risk %(p)s") % {"p": pct}, {}
    if cross_sell and clv is not None and clv >= clv_high > 0 and (p_alive or 0) >= 0.7:
        product_id, name, together = cross_sell
        return (
            K.CROSS_SELL,
            _("High potential; %(n)s customers with a similar basket also bought %(product)s")
            % {"n": together, "product": name},
            {"product_id": product_id},
        )
    return "", "", {}


def co_occurrence(workspace, since: date, top: int = 10) -> dict[int, list[tuple[int, int]]]:
    """For each product, the ``top`` products most often bought by the same accounts since ``since``.

    Set-based: one self-join of the distinct (account, product) pairs, grouped by product pair.
    """
    from kehu.commerce.models import Order, OrderLine
    from kehu.commerce.services import REVENUE_STATUSES

    q = connection.ops.quote_name
    order_t, line_t = q(Order._meta.db_table), q(OrderLine._meta.db_table)
    placeholders = ", ".join(["%s"] * len(REVENUE_STATUSES))
    sql = f"""
        WITH bought AS (
            SELECT DISTINCT o.account_id, l.product_id
            FROM {line_t} l JOIN {order_t} o ON o.id = l.order_id
            WHERE o.workspace_id = %s AND o.status IN ({placeholders}) AND o.order_date >= %s
              AND l.product_id IS NOT NULL
        )
        SELECT a.product_id, b.product_id, COUNT(*) AS together
        FROM bought a JOIN bought b ON a.account_id = b.account_id AND a.product_id <> b.product_id
        GROUP BY a.product_id, b.product_id
    """  # noqa: S608 - quoted table names, values as parameters
    neighbours: dict[int, list[tuple[int, int]]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(sql, [workspace.pk, *REVENUE_STATUSES, since])
        for left, right, together in cursor.fetchall():
            neighbours[left].append((right, together))
    return {k: sorted(v, key=lambda p: (-p[1], p[0]))[:top] for k, v in neighbours.items()}


def cross_sell_candidates(workspace, account_ids: list[int], since: date) -> dict[int, tuple[int, str, int]]:
    """account → (product id, name, co-buyers): the best active product it has not bought yet."""
    from kehu.commerce.models import OrderLine, Product
    from kehu.commerce.services import REVENUE_STATUSES

    if not account_ids:
        return {}
    neighbours = co_occurrence(workspace, since)
    if not neighbours:
        return {}
    owned: dict[int, set[int]] = defaultdict(set)
    for start in range(0, len(account_ids), 5000):
        chunk = account_ids[start : start + 5000]
        for account_id, product_id in (
            OrderLine.objects.filter(
                workspace=workspace,
                order__account_id__in=chunk,
                order__status__in=REVENUE_STATUSES,
                product__isnull=False,
            )
            .values_list("order__account_id", "product_id")
            .distinct()
            .order_by()
        ):
            owned[account_id].add(product_id)
    scores_by_account: dict[int, Counter] = {}
    for account_id, products in owned.items():
        score: Counter = Counter()
        for product_id in products:
            for other, together in neighbours.get(product_id, ()):
                if other not in products:
                    score[other] += together
        if score:
            scores_by_account[account_id] = score
    candidates = {p for s in scores_by_account.values() for p in s}
    names = dict(
        Product.objects.filter(workspace=workspace, pk__in=candidates, active=True).values_list("pk", "name")
    )
    out = {}
    for account_id, score in scores_by_account.items():
        best = next(
            ((p, n) for p, n in sorted(score.items(), key=lambda i: (-i[1], i[0])) if p in names), None
        )
        if best:
            out[account_id] = (best[0], names[best[0]], best[1])
    return out


def default_since(as_of: date) -> date:
    return as_of - timedelta(days=365)
