"""The predictive score: naive Bayes over a lead's categorical field values, trained on won vs lost.

Why a hand-rolled count model and not scikit-learn's ``CategoricalNB``: the model *is* a table of
counts (per feature value: how many won and lost leads had it), which

- is built in one streaming pass over the history (keyset batches of plain tuples), with no
  N × features matrix, no ordinal encoders and no numpy/scipy dependency (the project has none);
- is stored as readable JSON in the database, versioned, and explains itself: each factor's weight
  is the log-likelihood ratio of its value, shown to users as-is;
- scores one lead with a dozen dict lookups (microseconds), well inside the ≤ 5 ms budget on save.

``CategoricalNB`` computes the same smoothed likelihoods; it would add 100 MB of dependencies for
a loop of additions.

Model: log-odds(won | x) = log(N_won / N_lost) + Σ_f log(P(x_f | won) / P(x_f | lost)), with
Laplace smoothing P(v | c) = (n_vc + α) / (N_c + α·K_f), K_f = distinct values of feature f (+1 for
the "other" bucket). Values never seen in training add nothing (no evidence either way). The score
is 100 × P(won | x).
"""

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

ALPHA = 1.0
MAX_VALUES = 500  # per feature; rarer values share the OTHER bucket (keeps the stored model small)
OTHER = "\x00other"
EMPTY = ""
MIN_WON = 50
MIN_LOST = 50


@dataclass
class Factor:
    feature: str
    value: str
    weight: float  # the log-likelihood ratio: > 0 pushes towards won

    @property
    def ratio(self) -> float:
        return math.exp(self.weight)


class Counts:
    """Accumulates (features, won?) examples; ``params()`` is the JSON-ready model."""

    def __init__(self, features: Sequence[str]):
        self.features = list(features)
        self.won = 0
        self.lost = 0
        # Per feature: value -> count, one table per class (no (value, class) tuple per row: this
        # loop runs once per feature of every historical lead).
        self.won_tables: list[Counter] = [Counter() for _ in self.features]
        self.lost_tables: list[Counter] = [Counter() for _ in self.features]

    def add(self, row: Sequence, won: bool) -> None:
        if won:
            self.won += 1
            tables = self.won_tables
        else:
            self.lost += 1
            tables = self.lost_tables
        for table, value in zip(tables, row, strict=True):
            table[value] += 1

    def merge(self, other: "Counts") -> None:
        self.won += other.won
        self.lost += other.lost
        for mine, theirs in zip(
            self.won_tables + self.lost_tables, other.won_tables + other.lost_tables, strict=True
        ):
            mine.update(theirs)

    def params(self, alpha: float = ALPHA) -> dict:
        features = {}
        for name, won_table, lost_table in zip(self.features, self.won_tables, self.lost_tables, strict=True):
            values: dict[str, list[int]] = {v: [n, 0] for v, n in won_table.items()}
            for value, n in lost_table.items():
                values.setdefault(value, [0, 0])[1] += n
            if len(values) > MAX_VALUES:
                ranked = sorted(values.items(), key=lambda kv: -(kv[1][0] + kv[1][1]))
                kept = dict(ranked[:MAX_VALUES])
                other = [
                    sum(c[0] for _v, c in ranked[MAX_VALUES:]),
                    sum(c[1] for _v, c in ranked[MAX_VALUES:]),
                ]
                kept[OTHER] = other
                values = kept
            features[name] = values
        return {"alpha": alpha, "prior": [self.won, self.lost], "features": features}


class Model:
    """A trained model ready to score: log-likelihood ratios precomputed per feature value."""

    def __init__(self, params: dict):
        self.params = params
        won, lost = params["prior"]
        alpha = params.get("alpha", ALPHA)
        self.prior = math.log((won + alpha) / (lost + alpha))
        self.features: list[str] = list(params["features"])
        self.weights: dict[str, dict[str, float]] = {}
        for name, values in params["features"].items():
            k = len(values) + (0 if OTHER in values else 1)
            denominator_won, denominator_lost = won + alpha * k, lost + alpha * k
            self.weights[name] = {
                value: math.log((c[0] + alpha) / denominator_won)
                - math.log((c[1] + alpha) / denominator_lost)
                for value, c in values.items()
            }

    def factors(self, values: dict[str, str]) -> list[Factor]:
        """Each feature's contribution for a lead (``values`` by feature name)."""
        out = []
        for name in self.features:
            table = self.weights[name]
            value = values.get(name, EMPTY)
            if value in table:
                out.append(Factor(name, value, table[value]))
            elif OTHER in table:
                out.append(Factor(name, value, table[OTHER]))
        return out

    def log_odds(self, values: dict[str, str]) -> float:
        return self.prior + sum(f.weight for f in self.factors(values))

    def probability(self, values: dict[str, str]) -> float:
        z = self.log_odds(values)
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)  # the same sigmoid, without overflowing for very negative z
        return e / (1.0 + e)

    def score(self, values: dict[str, str]) -> int:
        return max(0, min(100, round(100 * self.probability(values))))

    def top_factors(self, values: dict[str, str], n: int = 5) -> list[Factor]:
        """The values that moved this lead's score most, largest |log-likelihood ratio| first."""
        factors = [f for f in self.factors(values) if abs(f.weight) >= 0.05]
        return sorted(factors, key=lambda f: -abs(f.weight))[:n]


def auc(scored: Iterable[tuple[float, bool]]) -> float | None:
    """Area under the ROC curve (Mann–Whitney U with average ranks for ties); None without both classes.

    The probability that a random won lead scores above a random lost one: 0.5 is chance.
    """
    pairs = sorted(scored, key=lambda p: p[0])
    positives = sum(1 for _s, won in pairs if won)
    negatives = len(pairs) - positives
    if not positives or not negatives:
        return None
    rank_sum, i = 0.0, 0
    while i < len(pairs):
        j = i
        while j + 1 < len(pairs) and pairs[j + 1][0] == pairs[i][0]:
            j += 1
        average_rank = (i + j) / 2 + 1
        rank_sum += average_rank * sum(1 for k in range(i, j + 1) if pairs[k][1])
        i = j + 1
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def is_holdout(pk: int) -> bool:
    """A fixed, reproducible 20 % of the history is held out to measure the AUC."""
    return ((pk * 2654435761) & 0xFFFFFFFF) % 5 == 0  # Knuth's multiplicative hash: no pattern in pk order
