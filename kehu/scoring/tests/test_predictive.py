"""The predictive score, evaluated honestly on a generated history with a known signal."""

import math
import random

import pytest

from kehu.leads.models import Lead
from kehu.scoring import predictive, services, synthetic
from kehu.scoring.models import ScoringModel

pytestmark = pytest.mark.django_db


def test_auc_math():
    assert predictive.auc([(0.9, True), (0.1, False)]) == 1.0
    assert predictive.auc([(0.1, True), (0.9, False)]) == 0.0
    assert predictive.auc([(0.5, True), (0.5, False)]) == 0.5  # ties count half
    assert predictive.auc([(0.5, True)]) is None
    rng = random.Random(1)
    noise = [(rng.random(), rng.random() < 0.5) for _ in range(4000)]
    assert abs(predictive.auc(noise) - 0.5) < 0.05


def test_counts_model_laplace_smoothing_and_factors():
    counts = predictive.Counts(["industry", "source"])
    for _ in range(30):
        counts.add(["Software", "referral"], True)
    for _ in range(10):
        counts.add(["Software", "ad_campaign"], False)
    for _ in range(40):
        counts.add(["Retail", "ad_campaign"], False)
    model = predictive.Model(counts.params())
    # K = 2 values + 1 slot for unseen ones: P(Software | won) = (30+1)/(30+3), P(… | lost) = (10+1)/(50+3)
    expected = math.log(31 / 33) - math.log(11 / 53)
    assert model.weights["industry"]["Software"] == pytest.approx(expected)
    # An unseen value is no evidence either way.
    assert [f.feature for f in model.factors({"industry": "Mining", "source": "referral"})] == ["source"]
    good = model.score({"industry": "Software", "source": "referral"})
    bad = model.score({"industry": "Retail", "source": "ad_campaign"})
    assert good > 90 and bad < 5
    top = model.top_factors({"industry": "Software", "source": "referral"})
    assert top[0].feature == "source" and top[0].weight > 0


def test_rare_values_share_the_other_bucket(monkeypatch):
    monkeypatch.setattr(predictive, "MAX_VALUES", 3)
    counts = predictive.Counts(["city"])
    for i, city in enumerate(["a", "a", "a", "b", "b", "c", "c", "d", "e"]):
        counts.add([city], i % 2 == 0)
    table = counts.params()["features"]["city"]
    assert set(table) == {"a", "b", "c", predictive.OTHER}
    assert sum(sum(v) for v in table.values()) == 9
    model = predictive.Model(counts.params())
    assert model.factors({"city": "zzz"})[0].value == "zzz"  # scored through the OTHER bucket


def test_trained_model_ranks_won_above_lost(tenant, capsys):
    with tenant.scope():
        counts = synthetic.generate(tenant.workspace, 3000, seed=11)
        row = services.train(tenant.workspace)
    assert row.status == ScoringModel.Status.READY
    assert row.won_count + row.lost_count == counts["won"] + counts["lost"]
    assert row.holdout_size > 400 and row.train_size > 1500
    # The best any model can do on this holdout: rank by the generator's true win probability.
    with tenant.scope():
        rows = services.history_rows(["industry", "source", "size"])
        oracle = predictive.auc(
            (synthetic.win_probability(*values), won) for pk, values, won in rows if predictive.is_holdout(pk)
        )
    with capsys.disabled():
        print(
            f"\npredictive lead score: AUC {row.auc:.3f} on a holdout of {row.holdout_size} "
            f"(trained on {row.train_size}; {counts['won']} won / {counts['lost']} lost); "
            f"true-probability ceiling {oracle:.3f}"
        )
    assert row.auc >= 0.7
    assert row.auc > oracle - 0.05  # close to the best possible
    # The known signal is what the model learned: Software and referral push towards won.
    with tenant.scope():
        model = services.active_model(tenant.workspace.pk).model
    assert model.weights["industry"]["Software"] > 0.5
    assert model.weights["source"]["referral"] > 0.5
    assert model.weights["source"]["ad_campaign"] < -0.3
    assert abs(model.weights["province"]["上海"]) < 0.3  # noise stays near zero


def test_open_leads_are_rescored_and_explained(tenant):
    with tenant.scope():
        synthetic.generate(tenant.workspace, 1500, seed=3, open_share=0.2)
        row = services.train(tenant.workspace)
        assert row.rescored > 0
        open_leads = Lead.objects.filter(status__in=services.OPEN_STATUSES, converted_at__isnull=True)
        assert not open_leads.filter(score__isnull=True).exists()
        hot = Lead.objects.create(
            workspace=tenant.workspace, name="Hot", industry="Software", source="referral"
        )
        cold = Lead.objects.create(
            workspace=tenant.workspace, name="Cold", industry="Retail", source="ad_campaign"
        )
        assert services.score_lead(hot) > services.score_lead(cold)
        info = services.explain(tenant.actors["owner"], hot)
    assert info["kind"] == "predictive"
    assert info["predictive"]["version"] == row.version
    texts = [f["text"] for f in info["predictive"]["factors"]]
    assert "Industry is Software" in texts and "Source is Referral" in texts
    assert info["reasons"][0]["label"].startswith("+ ")


def test_little_history_falls_back_to_rules_and_says_so(tenant):
    with tenant.scope():
        synthetic.generate(tenant.workspace, 60, seed=5, open_share=0.0)
        won, lost = services.history_counts()
        row = services.train(tenant.workspace)
        lead = Lead.objects.create(workspace=tenant.workspace, name="New", industry="Software")
        info = services.explain(tenant.actors["sales"], lead)
    assert row.status == ScoringModel.Status.INSUFFICIENT
    assert row.params == {} and row.auc is None
    assert row.message == f"Needs 50 won and 50 lost leads; have {won}/{lost}."
    assert info["kind"] == "rules"
    assert info["predictive"]["available"] is False
    assert info["predictive"]["message"] == (
        f"Rule-based score: the predictive score needs 50 won and 50 lost leads; have {won}/{lost}."
    )


def test_history_is_read_in_keyset_batches(tenant, django_assert_max_num_queries):
    with tenant.scope():
        counts = synthetic.generate(tenant.workspace, 500, seed=9, open_share=0.0)
        features = services.predictive_features()
        # 500 labelled rows in batches of 100: 5 full pages + 1 empty one that ends the loop.
        with django_assert_max_num_queries(7):
            rows = list(services.history_rows(features, batch=100))
    assert len(rows) == counts["won"] + counts["lost"]
    assert [pk for pk, _v, _w in rows] == sorted(pk for pk, _v, _w in rows)
    assert sum(1 for _pk, _v, won in rows if won) == counts["won"]
