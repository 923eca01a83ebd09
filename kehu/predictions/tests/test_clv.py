"""BG/NBD and Gamma-Gamma against the published CDNOW estimates, and the closed forms by hand."""

import csv
from pathlib import Path

import numpy as np
import pytest
from scipy.special import betaln, gammaln

from kehu.predictions import clv

DATA = Path(__file__).parent / "data" / "cdnow_summary.csv"


@pytest.fixture(scope="module")
def cdnow():
    with DATA.open() as f:
        rows = list(csv.DictReader(f))
    return {key: np.array([float(r[key]) for r in rows]) for key in ("x", "t_x", "T", "zbar", "x_holdout")}


def sig3(value: float) -> str:
    return f"{value:.3g}"


def test_cdnow_sample_is_the_papers(cdnow):
    assert cdnow["x"].size == 2357
    assert int((cdnow["x"] > 0).sum()) == 946  # the repeat buyers the Gamma-Gamma note fits on
    assert int(cdnow["x"].sum()) == 2457  # repeat purchase days in weeks 1–39 (counted from the data)


def test_bgnbd_reproduces_fader_hardie_lee_2005(cdnow):
    """Fader, Hardie & Lee (2005), Marketing Science 24(2), p. 280: r = 0.243, α = 4.414, a = 0.793,
    b = 2.426, log-likelihood −9582.4."""
    model, ll = clv.fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"])
    assert [sig3(v) for v in (model.r, model.alpha, model.a, model.b)] == ["0.243", "4.41", "0.793", "2.43"]
    assert round(model.alpha, 2) == 4.41 and round(model.b, 2) == 2.43
    assert ll == pytest.approx(-9582.4, abs=0.1)


def test_gamma_gamma_reproduces_fader_hardie_2013(cdnow):
    """Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value", on the 946 repeat buyers'
    mean repeat spend in weeks 1–39: p = 6.25, q = 3.74, γ = 15.44."""
    model, _ll = clv.fit_gamma_gamma(cdnow["x"], cdnow["zbar"])
    assert [sig3(v) for v in (model.p, model.q, model.gamma)] == ["6.25", "3.74", "15.4"]
    assert model.gamma == pytest.approx(15.44, abs=0.01)
    assert model.mean_spend == pytest.approx(6.25 * 15.44 / 2.74, rel=2e-3)


def test_loglik_of_one_customer_by_hand():
    """ln L for x = 2, t_x = 30.43, T = 38.86 written out term by term (eq. 6 of the paper)."""
    r, alpha, a, b = 0.243, 4.414, 0.793, 2.426
    x, t_x, T = 2, 30.43, 38.86
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - betaln(a, b)
    a3 = -(r + x) * np.log(alpha + T)
    a4 = np.log(a) - np.log(b + x - 1) - (r + x) * np.log(alpha + t_x)
    expected = a1 + a2 + np.log(np.exp(a3) + np.exp(a4))
    assert clv.bgnbd_loglik((r, alpha, a, b), [x], [t_x], [T]) == pytest.approx(expected, rel=1e-12)
    # x = 0: only the first term; b + x − 1 < 0 must not produce a NaN.
    value = clv.bgnbd_loglik((r, alpha, a, 0.5), [0], [0], [T])
    assert value == pytest.approx(
        gammaln(r) - gammaln(r) + r * np.log(alpha) + betaln(a, 0.5) - betaln(a, 0.5) - r * np.log(alpha + T)
    )


def test_conditional_expectation_and_p_alive_match_the_paper():
    """The paper's worked example: a customer with x = 2, t_x = 30.43, T = 38.86 is expected to make
    1.226 purchases in the next 39 weeks."""
    model = clv.BgNbd(0.243, 4.414, 0.793, 2.426)
    assert clv.conditional_expected_purchases(model, 39, 2, 30.43, 38.86) == pytest.approx(1.226, abs=0.002)
    alive = clv.probability_alive(model, [0, 2, 2], [0, 30.43, 5.0], [38.86, 38.86, 38.86])
    assert alive[0] == 1.0  # no repeat purchase: the model cannot have seen a dropout
    assert 0 < alive[2] < alive[1] < 1  # a long silence after the last purchase lowers P(alive)
    # E[X(t)] of a new customer grows with t and is below the conditional value of an active buyer.
    population = clv.expected_purchases_population(model, np.array([13, 26, 39]))
    assert np.all(np.diff(population) > 0)


def test_expected_spend_shrinks_towards_the_population_mean():
    gg = clv.GammaGamma(6.25, 3.74, 15.44)
    spend = clv.conditional_expected_spend(gg, [0, 1, 10], [0, 100.0, 100.0])
    assert spend[0] == pytest.approx(gg.mean_spend)
    assert gg.mean_spend < spend[1] < spend[2] < 100.0
    # By hand: (q−1)/(px+q−1)·pγ/(q−1) + px/(px+q−1)·z̄ for x = 1, z̄ = 100.
    p, q, g = 6.25, 3.74, 15.44
    assert spend[1] == pytest.approx((q - 1) / (p + q - 1) * p * g / (q - 1) + p / (p + q - 1) * 100)


def test_clv_discounts_monthly_increments():
    bg = clv.BgNbd(0.243, 4.414, 0.793, 2.426)
    gg = clv.GammaGamma(6.25, 3.74, 15.44)
    args = ([3], [30.0], [38.86], [40.0])
    undiscounted = clv.customer_lifetime_value(bg, gg, *args, months=12, monthly_discount=0.0)
    discounted = clv.customer_lifetime_value(bg, gg, *args, months=12, monthly_discount=0.01)
    purchases = clv.conditional_expected_purchases(bg, 12 * clv.WEEKS_PER_MONTH, *args[:3])
    spend = clv.conditional_expected_spend(gg, [3], [40.0])
    assert undiscounted[0] == pytest.approx(purchases[0] * spend[0])
    assert purchases[0] * spend[0] / 1.01**12 < discounted[0] < undiscounted[0]


def test_cdnow_holdout_39_weeks(cdnow):
    """Calibration weeks 1–39, holdout weeks 40–78: predicted vs actual repeat purchases (report)."""
    model, _ll = clv.fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"])
    predicted = clv.conditional_expected_purchases(model, 39, cdnow["x"], cdnow["t_x"], cdnow["T"])
    figures = clv.holdout_metrics(predicted, cdnow["x_holdout"])
    assert figures["actual_total"] == 1882
    assert figures["predicted_total"] == pytest.approx(1653.4, abs=1)
    assert figures["correlation"] > 0.6
    assert figures["mae"] < 0.8
    # By calibration frequency the conditional expectations track the holdout means.
    for k in (0, 1, 2, 3):
        group = cdnow["x"] == k
        assert abs(predicted[group].mean() - cdnow["x_holdout"][group].mean()) < 0.4


def test_analytic_gradients_match_finite_differences(cdnow):
    from scipy.optimize import approx_fprime

    x, t_x, T, z = cdnow["x"], cdnow["t_x"], cdnow["T"], cdnow["zbar"]
    point = np.array([0.3, 4.0, 0.8, 2.5])
    value, grad = clv.bgnbd_loglik_grad(point, x, t_x, T)
    assert value == pytest.approx(clv.bgnbd_loglik(point, x, t_x, T))
    numeric = approx_fprime(point, lambda p: clv.bgnbd_loglik(p, x, t_x, T), 1e-6)
    assert grad == pytest.approx(numeric, rel=1e-3, abs=1e-2)
    buyers = x > 0
    point = np.array([6.0, 3.5, 15.0])
    value, grad = clv.gg_loglik_grad(point, x[buyers], z[buyers])
    assert value == pytest.approx(clv.gg_loglik(point, x[buyers], z[buyers]))
    numeric = approx_fprime(point, lambda p: clv.gg_loglik(p, x[buyers], z[buyers]), 1e-6)
    assert grad == pytest.approx(numeric, rel=1e-3, abs=1e-3)
