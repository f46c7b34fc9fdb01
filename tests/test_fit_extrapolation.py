"""Leave-one-out / leave-largest-out checks, trust grades and named-target extrapolation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scaling_claims.fit import (extrapolate, fit_chinchilla, fit_power_law, leave_largest_out, leave_one_out,
                                trust_grade)

X = np.logspace(4, 8, 9)


def test_trust_grade_thresholds():
    assert trust_grade(0.0) == "high"
    assert trust_grade(0.0499) == "high"
    assert trust_grade(0.05) == "medium"
    assert trust_grade(0.0999) == "medium"
    assert trust_grade(0.10) == "low"
    assert trust_grade(float("nan")) == "low"


def test_true_power_law_extrapolates_with_high_trust():
    rng = np.random.default_rng(0)
    y = (3 * X ** -0.1 + 1.0) * np.exp(rng.normal(0, 0.003, X.size))
    loo = leave_one_out(fit_power_law, X, y, offset=True)
    llo = leave_largest_out(fit_power_law, X, y, n_out=2, offset=True)
    assert loo.trust == "high" and llo.trust == "high"
    assert loo.held_out.tolist() == list(range(X.size))
    assert sorted(llo.held_out.tolist()) == [X.size - 2, X.size - 1]
    assert loo.max_error >= loo.mean_error


def test_negative_control_exponential_decay_gets_low_trust():
    """Data from another law: exponential decay towards a floor. A power law fitted to the
    smaller scales misses the largest by far more than 10%."""
    x = np.linspace(1, 12, 12)
    y = 0.2 + np.exp(-x / 2.0)
    check = leave_largest_out(fit_power_law, x, y, n_out=3, offset=True)
    assert check.trust == "low"
    assert check.max_error > 0.10


def test_extrapolate_to_named_target():
    rng = np.random.default_rng(1)
    y = (3 * X ** -0.1 + 1.0) * np.exp(rng.normal(0, 0.003, X.size))
    ex = extrapolate(fit_power_law, X, y, target=1e10, name="1e10 params", offset=True)
    truth = 3 * 1e10 ** -0.1 + 1.0
    assert ex.ci[0] <= truth <= ex.ci[1]
    assert ex.ci[0] < ex.value < ex.ci[1]
    assert ex.trust == "high"
    d = json.loads(json.dumps(ex.to_dict()))
    assert d["name"] == "1e10 params" and d["trust"] == "high"


def test_multi_input_law_leave_largest_out():
    Ng, Dg = np.meshgrid(np.logspace(7, 9, 5), np.logspace(9, 11, 5))
    N, D = Ng.ravel(), Dg.ravel()
    L = 1.7 + 400 * N ** -0.34 + 1200 * D ** -0.3
    check = leave_largest_out(fit_chinchilla, (N, D), L, n_out=5)  # the 5 runs at the largest N
    assert len(check.held_out) == 5 and np.all(N[check.held_out] == N.max())
    assert check.max_error < 1e-6  # noise-free: the law is recovered exactly from the rest
    ex = extrapolate(fit_chinchilla, (N, D), L, target=(1e10, 1e12))
    assert ex.value == pytest.approx(1.7 + 400 * 1e10 ** -0.34 + 1200 * 1e12 ** -0.3, rel=1e-6)
