"""Bad input raises ValueError naming the problem, for every fitter."""

from __future__ import annotations

import numpy as np
import pytest

from scaling_claims import fit

GOOD_X = np.logspace(1, 4, 8)
GOOD_Y = 2 * GOOD_X ** -0.3 + 0.1
N = np.repeat(np.logspace(7, 9, 3), 3)
D = np.tile(np.logspace(9, 11, 3), 3)
L = 1.7 + 400 * N ** -0.34 + 1200 * D ** -0.3
C = 6 * N * D

# (name, fitter taking (x, y)) for the one-input laws
ONE_INPUT = [
    ("power_law", lambda x, y: fit.fit_power_law(x, y)),
    ("power_law+offset", lambda x, y: fit.fit_power_law(x, y, offset=True)),
    ("learning_curve", fit.fit_learning_curve),
    ("logistic", lambda x, y: fit.fit_logistic(x, np.clip(y, 0, 1))),
    ("saturating", fit.fit_saturating),
]


@pytest.mark.parametrize("name,fitter", ONE_INPUT, ids=[n for n, _ in ONE_INPUT])
@pytest.mark.parametrize("bad,match", [
    (lambda x, y: (x, np.where(np.arange(y.size) == 3, np.nan, y)), "NaN"),
    (lambda x, y: (np.where(np.arange(x.size) == 2, np.inf, x), y), "inf"),
    (lambda x, y: (x[:-1], y), "mismatched lengths"),
    (lambda x, y: (np.full_like(x, 7.0), y), "constant"),
    (lambda x, y: (x[:1], y[:1]), "parameters"),
    (lambda x, y: (-x, y), "positive"),
    (lambda x, y: ([], []), "empty"),
    (lambda x, y: (x.reshape(2, -1), y.reshape(2, -1)), "one-dimensional"),
    (lambda x, y: (["a"] * x.size, y), "numeric"),
])
def test_one_input_fitters_reject_bad_input(name, fitter, bad, match):
    x, y = bad(GOOD_X.copy(), GOOD_Y.copy())
    with pytest.raises(ValueError, match=match):
        fitter(x, y)


@pytest.mark.parametrize("fitter", [fit.fit_power_law, fit.fit_learning_curve])
def test_non_positive_y_rejected_where_logs_are_taken(fitter):
    with pytest.raises(ValueError, match="y must be positive|L must be positive"):
        fitter(GOOD_X, GOOD_Y - 1.0)


def test_chinchilla_rejects_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        fit.fit_chinchilla(N, D, np.where(np.arange(L.size) == 0, np.nan, L))
    with pytest.raises(ValueError, match="mismatched"):
        fit.fit_chinchilla(N, D[:-1], L)
    with pytest.raises(ValueError, match="D must be positive"):
        fit.fit_chinchilla(N, -D, L)
    with pytest.raises(ValueError, match="N is constant"):
        fit.fit_chinchilla(np.full_like(N, 1e8), D, L)
    with pytest.raises(ValueError, match="5 free parameters but only 4"):
        fit.fit_chinchilla(N[:4], D[:4], L[:4])
    with pytest.raises(ValueError, match="flops_per_token_factor"):
        fit.fit_chinchilla(N, D, L, flops_per_token_factor=0)
    res = fit.fit_chinchilla(N, D, L)
    with pytest.raises(ValueError, match="C must be positive"):
        res.compute_optimal([1e20, -1.0])
    with pytest.raises(ValueError, match="bootstrap n"):
        res.bootstrap(n=1)


@pytest.mark.parametrize("fitter", [fit.fit_isoflop_approach1, fit.fit_isoflop_approach2])
def test_isoflop_rejects_bad_input(fitter):
    with pytest.raises(ValueError, match="inf"):
        fitter(N, D, np.where(np.arange(L.size) == 0, np.inf, L), C)
    with pytest.raises(ValueError, match="mismatched"):
        fitter(N, D, L, C[:-2])
    with pytest.raises(ValueError, match="at least 2 usable budgets"):
        fitter(N, D, L, np.full_like(C, 1e20))


def test_forms_reject_bad_input():
    k = np.arange(1, 9)
    with pytest.raises(ValueError, match="coverage must lie in"):
        fit.fit_coverage_law(k, np.linspace(0.1, 1.2, 8))
    with pytest.raises(ValueError, match="coverage < 1"):
        fit.fit_coverage_law(k, np.ones(8))
    with pytest.raises(ValueError, match="d must lie in"):
        fit.fit_gao(np.linspace(-1, 1, 8), np.ones(8))
    with pytest.raises(ValueError, match="constant"):
        fit.fit_gao(np.ones(8), np.ones(8))
    with pytest.raises(ValueError, match="n must lie in"):
        fit.best_of_n_kl([0.5, 2])


def test_extrapolation_rejects_bad_input():
    with pytest.raises(ValueError, match="n_out"):
        fit.leave_largest_out(fit.fit_power_law, GOOD_X, GOOD_Y, n_out=GOOD_X.size)
    with pytest.raises(ValueError, match="mismatched"):
        fit.leave_one_out(fit.fit_power_law, GOOD_X, GOOD_Y[:-1])
    with pytest.raises(ValueError, match="coordinate"):
        fit.extrapolate(fit.fit_power_law, GOOD_X, GOOD_Y, target=(1e5, 1e6))
