"""Curve forms: logistic, coverage law, saturating, Gao et al., learning curve.

Besides exact recovery, properties with noise for the fits whose intervals decide claims: a
saturating fit keeps P_inf <= 1 and either flags its fit or gives beta a finite interval
around the estimate; a fixed asymptote is honoured; a noisy logistic with points on its rise
has a finite, unflagged slope interval, a pure step is always flagged; the logistic slope
interval covers the true slope (seeded Monte Carlo)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from scaling_claims.verdicts.estimates import Estimate
from scaling_claims.fit import (best_of_n_kl, fit_coverage_law, fit_gao, fit_learning_curve, fit_logistic,
                                fit_saturating)

X = np.logspace(3, 7, 17)
LADDER = np.geomspace(1e6, 1e8, 9)  # 9 sizes, ln-spacing 0.58


def logistic(x, mid, slope, lo=0.0, hi=1.0):
    return lo + (hi - lo) / (1 + np.exp(-slope * (np.log(x) - math.log(mid))))


@given(log_mid=st.floats(math.log(1e4), math.log(1e6)), slope=st.floats(0.5, 8.0))
def test_logistic_exact_recovery(log_mid, slope):
    mid = math.exp(log_mid)
    res = fit_logistic(X, logistic(X, mid, slope))
    assert res.midpoint == pytest.approx(mid, rel=1e-6)
    assert res.slope == pytest.approx(slope, rel=1e-6)


def test_logistic_free_bounds_and_noise():
    rng = np.random.default_rng(3)
    y = logistic(X, 1e5, 2.0, 0.1, 0.8) + rng.normal(0, 0.01, X.size)
    res = fit_logistic(X, y, lower=None, upper=None)
    lo, hi = res.ci["midpoint"]
    assert lo <= 1e5 <= hi
    assert res.ci["slope"][0] <= 2.0 <= res.ci["slope"][1]
    assert res.lower == pytest.approx(0.1, abs=0.03) and res.upper == pytest.approx(0.8, abs=0.03)


def test_logistic_slope_ranks_sharpness():
    sharp = fit_logistic(X, logistic(X, 1e5, 6.0))
    smooth = fit_logistic(X, logistic(X, 1e5, 1.0))
    assert sharp.slope > smooth.slope


def test_logistic_negative_control_noise_has_no_transition():
    rng = np.random.default_rng(0)
    res = fit_logistic(X, rng.uniform(0.4, 0.6, X.size), lower=None, upper=None)
    assert res.r2 < 0.5


@given(log_mid=st.floats(math.log(3e3), math.log(3e6)), slope=st.floats(0.5, 4.0), noise=st.floats(0.001, 0.03),
       seed=st.integers(0, 2 ** 32 - 1))
def test_logistic_with_points_on_the_rise_has_a_usable_slope_interval(log_mid, slope, noise, seed):
    """Accuracies (asymptotes 0 and 1) with noise, clipped into [0, 1]. (With free asymptotes a
    fit may legitimately end at the bound of y_range, and is then flagged.)"""
    rng = np.random.default_rng(seed)
    y = np.clip(logistic(X, math.exp(log_mid), slope) + rng.normal(0, noise, X.size), 0, 1)
    fit = fit_logistic(X, y)
    assert fit.info["points_on_rise"] >= 1
    assert "*" not in fit.flags and "slope" not in fit.flags, fit.flags
    e = Estimate.from_fit(fit, "slope")
    assert e.usable and math.isfinite(e.lo) and math.isfinite(e.hi) and e.lo < e.value < e.hi


@given(n_points=st.integers(4, 17), where=st.floats(0.02, 0.98), rising=st.booleans(),
       levels=st.sampled_from(["fixed 0-1", "fixed 0-0.6", "free 0.1-0.9"]))
def test_logistic_on_a_pure_step_is_always_flagged(n_points, where, rising, levels):
    """A jump from the lower to the upper asymptote between two sampled x (fixed asymptotes, or
    free ones fitted to the two levels)."""
    x = np.logspace(3, 7, n_points)
    t = 3 + 4 * where  # the step's position in log10 x, anywhere inside the sampled range
    assume(np.min(np.abs(np.log10(x) - t)) > 1e-6)
    low, high = {"fixed 0-1": (0.0, 1.0), "fixed 0-0.6": (0.0, 0.6), "free 0.1-0.9": (0.1, 0.9)}[levels]
    y = np.where((np.log10(x) > t) == rising, high, low)
    assume(np.ptp(y) > 0)
    bounds = (None, None) if levels.startswith("free") else (low, high)
    fit = fit_logistic(x, y, *bounds)
    assert "*" in fit.flags and not fit.ok, (fit.params, fit.flags)
    for name in ("slope", "midpoint"):
        assert Estimate.from_fit(fit, name).problem


def _ladder_slope_coverage(slopes, problems, n_sims=100, seed=0):
    """Share of simulated ladders (9 sizes, accuracies binomial over ``problems`` problems,
    midpoint inside the ladder) whose 95% slope interval contains the true slope; a flagged
    fit counts as not covering."""
    rng = np.random.default_rng(seed)
    covered = 0
    for _ in range(n_sims):
        slope = rng.uniform(*slopes)
        mid = math.exp(rng.uniform(math.log(3e6), math.log(3e7)))
        acc = rng.binomial(problems, logistic(LADDER, mid, slope)) / problems
        e = Estimate.from_fit(fit_logistic(LADDER, acc), "slope")
        covered += e.usable and e.lo <= slope <= e.hi
    return covered / n_sims


def test_logistic_slope_interval_coverage():
    """Seeded Monte Carlo over 100 noisy ladders with gentle-to-moderate rises (3-7 points on the
    rise): the 95% slope interval covers the true slope in >= 85% of them."""
    assert _ladder_slope_coverage((0.8, 2.0), 1000) >= 0.85


def test_logistic_slope_interval_coverage_on_a_sharp_binomial_rise():
    """Binomial accuracies and a sharp rise (2-3 points on it): near-0 and near-1 points vary far
    less than those on the rise, so one pooled variance under-covered (~50-70%); the HC3
    sandwich interval covers as it should."""
    assert _ladder_slope_coverage((3.0, 3.0), 500) >= 0.85


@given(a=st.floats(-5.0, -0.05), b=st.floats(-1.0, -0.05))
def test_coverage_law_exact_recovery(a, b):
    k = np.arange(1, 65)
    res = fit_coverage_law(k, np.exp(a * k ** b))
    assert res.a == pytest.approx(a, rel=1e-6)
    assert res.b == pytest.approx(b, rel=1e-6, abs=1e-9)
    assert res.predict([1])[0] == pytest.approx(math.exp(a), rel=1e-6)


def test_coverage_law_handles_full_coverage_points():
    k = np.arange(1, 40)
    c = np.exp(-2 * k ** -0.5)
    c[-1] = 1.0  # finite-sample coverage can hit 1
    res = fit_coverage_law(k, c)
    assert res.b == pytest.approx(-0.5, abs=0.05)


@given(p_inf=st.floats(0.5, 1.0), p_1=st.floats(0.0, 0.4), beta=st.floats(0.05, 2.0))
def test_saturating_exact_recovery(p_inf, p_1, beta):
    n = np.arange(1, 129, dtype=float)
    res = fit_saturating(n, p_inf - (p_inf - p_1) * n ** -beta)
    assert res.P_inf == pytest.approx(p_inf, rel=1e-5)
    assert res.P_1 == pytest.approx(p_1, abs=1e-6)
    assert res.beta == pytest.approx(beta, rel=1e-5)


@given(p_inf=st.floats(0.3, 1.0), p_1=st.floats(0.0, 0.3), beta=st.floats(0.05, 2.0), noise=st.floats(0.0, 0.05),
       n_points=st.integers(5, 40), seed=st.integers(0, 2 ** 32 - 1))
def test_saturating_with_noise_keeps_p_inf_at_most_1_and_flags_or_covers(p_inf, p_1, beta, noise, n_points, seed):
    n = np.unique(np.geomspace(1, 1000, n_points).round())
    P = np.clip(p_inf - (p_inf - p_1) * n ** -beta + np.random.default_rng(seed).normal(0, noise, n.size), 0, 1)
    assume(np.ptp(P) > 0)
    fit = fit_saturating(n, P)
    assert 0 <= fit.P_inf <= 1 and 0 <= fit.P_1 <= 1
    e = Estimate.from_fit(fit, "beta")
    assert e.problem or (math.isfinite(e.lo) and math.isfinite(e.hi) and e.lo <= e.value <= e.hi)
    assert bool(e.problem) == bool(fit.flags.get("*") or fit.flags.get("beta"))


@given(p_inf=st.floats(0.5, 1.0), p_1=st.floats(0.0, 0.4), beta=st.floats(0.1, 2.0), noise=st.floats(0.0, 0.03),
       seed=st.integers(0, 2 ** 32 - 1))
def test_saturating_with_a_fixed_asymptote(p_inf, p_1, beta, noise, seed):
    n = np.arange(1, 65, dtype=float)
    P = np.clip(p_inf - (p_inf - p_1) * n ** -beta + np.random.default_rng(seed).normal(0, noise, n.size), 0, 1)
    fit = fit_saturating(n, P, p_inf=p_inf)
    assert list(fit.params) == ["P_inf", "P_1", "beta"] and fit.params["P_inf"] == p_inf
    assert set(fit.ci) == {"P_1", "beta"} and fit.theta.size == 2 and fit.dof == n.size - 2
    assert 0 <= fit.P_1 <= 1
    assert fit.predict([1.0])[0] == pytest.approx(fit.P_1, abs=1e-12)
    assert fit.predict([50.0])[0] == pytest.approx(p_inf - (p_inf - fit.P_1) * 50.0 ** -fit.beta)
    if noise == 0:
        assert fit.P_1 == pytest.approx(p_1, abs=1e-6) and fit.beta == pytest.approx(beta, rel=1e-5)


def test_saturating_fit_that_wants_p_inf_above_1_is_flagged():
    n = np.arange(1, 33, dtype=float)
    P = np.clip(1.1 - 0.8 * n ** -0.5, 0, 1)  # heading for 1.1, clipped at 1
    fit = fit_saturating(n, P)
    assert fit.P_inf == pytest.approx(1.0) and "P_inf" in fit.flags["*"]
    assert "at the bound" in Estimate.from_fit(fit, "P_inf").problem
    unbounded = fit_saturating(n, 1.1 - 0.8 * n ** -0.5, p_range=None)
    assert unbounded.P_inf == pytest.approx(1.1) and unbounded.ok
    with pytest.raises(ValueError, match="p_inf"):
        fit_saturating(n, P, p_inf=1.2)
    with pytest.raises(ValueError, match="P must lie in"):
        fit_saturating(n, P + 0.5)


@given(alpha=st.floats(0.1, 3.0), beta=st.floats(0.05, 1.0), seed=st.integers(0, 2**31 - 1))
def test_gao_recovery_and_peak_interval(alpha, beta, seed):
    d = np.linspace(0, 2 * alpha / (2 * beta), 25)  # up to twice the peak position
    gold = d * (alpha - beta * d)
    exact = fit_gao(d, gold)
    assert exact.alpha == pytest.approx(alpha, rel=1e-9) and exact.beta == pytest.approx(beta, rel=1e-9)
    assert exact.peak_d == pytest.approx(alpha / (2 * beta), rel=1e-9)
    rng = np.random.default_rng(seed)
    noisy = fit_gao(d, gold + rng.normal(0, 0.01 * gold.max(), d.size))
    # 5 SE: a ~1e-6 event for the exact OLS intervals
    assert abs(noisy.alpha - alpha) <= 5 * noisy.se["alpha"]
    assert abs(noisy.peak_d - alpha / (2 * beta)) <= 5 * noisy.se["peak_d"]


def test_gao_flags_the_peak_only_when_beta_is_resolved_above_0():
    d = np.linspace(0.1, 3, 12)
    rng = np.random.default_rng(0)
    clear = fit_gao(d, d * (1 - 0.3 * d) + rng.normal(0, 0.01, d.size))
    assert clear.ci["beta"][0] > 0 and clear.ok
    weak = fit_gao(d, d * (1 - 0.01 * d) + np.random.default_rng(0).normal(0, 0.1, d.size))
    assert weak.beta > 0 and weak.ci["beta"][0] < 0
    assert set(weak.flags) == {"peak_d", "peak_gold"} and "beta's interval includes 0" in weak.flags["peak_d"]


def test_gao_no_peak_when_monotone():
    d = np.linspace(0, 3, 20)
    res = fit_gao(d, 0.5 * d + 0.01 * d ** 2)
    assert res.beta < 0 and "peak_d" not in res.params


def test_best_of_n_kl():
    assert best_of_n_kl([1])[0] == 0.0
    assert best_of_n_kl([2])[0] == pytest.approx(math.log(2) - 0.5)
    assert np.all(np.diff(best_of_n_kl(np.arange(1, 100))) > 0)


@given(share=st.floats(0.05, 5.0), b=st.floats(0.1, 1.5), c=st.floats(0.5, 3.0))
def test_learning_curve_recovery_and_extrapolation(share, b, c):
    S = 10_000
    a = share * c * (0.1 * S) ** b  # the decaying term is 5%-500% of c where the fit window starts
    s = np.linspace(0.1 * S, 0.4 * S, 30)
    L = a * s ** -b + c
    res = fit_learning_curve(s, L)
    assert res.b == pytest.approx(b, rel=1e-4)
    assert res.predict([S])[0] == pytest.approx(a * S ** -b + c, rel=1e-6)


def test_learning_curve_negative_control_lr_decay():
    """A curve that drops sharply at the end (as under LR decay) is mispredicted from its
    early part: the plain form cannot see the drop (docs/sources.md, 'Learning-curve prediction': LR decay breaks it)."""
    S = 10_000
    s = np.linspace(100, S, 200)
    L = 3 * s ** -0.3 + 1.0 - 0.3 * (s / S) ** 4  # late drop
    early = (s >= 0.1 * S) & (s <= 0.4 * S)
    res = fit_learning_curve(s[early], L[early])
    assert abs(res.predict([S])[0] / L[-1] - 1) > 0.05
