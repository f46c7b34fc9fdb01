"""Curve forms: logistic, coverage law, saturating, Gao et al., learning curve."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scaling_claims.fit import (best_of_n_kl, fit_coverage_law, fit_gao, fit_learning_curve, fit_logistic,
                                fit_saturating)

X = np.logspace(3, 7, 17)


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
    early part: the plain form cannot see the drop (CLAIMS.md: LR decay breaks it)."""
    S = 10_000
    s = np.linspace(100, S, 200)
    L = 3 * s ** -0.3 + 1.0 - 0.3 * (s / S) ** 4  # late drop
    early = (s >= 0.1 * S) & (s <= 0.4 * S)
    res = fit_learning_curve(s[early], L[early])
    assert abs(res.predict([S])[0] / L[-1] - 1) > 0.05
