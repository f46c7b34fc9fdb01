"""``scaling_claims.fit.mixing``: the data mixing law of Ye et al. 2024, its linear baseline,
the simplex grid and the optimum over fitted laws."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from scaling_claims.fit.mixing import (fit_linear_mixing, fit_mixing_law, optimal_mixture, predict_mixing,
                                       relative_errors, simplex_grid)

GRID = simplex_grid(3, 3)  # the quick claim's grid: 10 mixtures


def test_simplex_grid():
    assert GRID.shape == (10, 3) and np.allclose(GRID.sum(1), 1) and (GRID >= 0).all()
    assert len(simplex_grid(3, 6)) == 28 and len(simplex_grid(4, 10)) == 286  # C(n + M - 1, M - 1)
    edge = simplex_grid(3, 3, exclude=[1])
    assert len(edge) == 4 and (edge[:, 1] == 0).all()
    with pytest.raises(ValueError):
        simplex_grid(1, 3)
    with pytest.raises(ValueError, match="excluded"):
        simplex_grid(2, 3, exclude=[0, 1])


@given(c=st.floats(0.2, 3.0), log_k=st.floats(-2.0, 1.0), t1=st.floats(-3.0, 3.0), t2=st.floats(-3.0, 3.0))
@example(c=1.0, log_k=-2.0, t1=0.0, t2=0.015625)  # barely bends: trf alone ran out of evaluations (2.7e-7 off)
def test_exact_recovery_on_noise_free_mixtures(c, log_k, t1, t2):
    L = c + np.exp(log_k + t1 * GRID[:, 0] + t2 * GRID[:, 1])
    res = fit_mixing_law(GRID, L)
    assert np.allclose(predict_mixing(res, GRID), L, rtol=1e-7)
    # the parameters themselves where they are identified: the law must bend (else c and k trade off)
    if max(abs(t1), abs(t2), abs(t1 - t2)) > 0.5 and np.exp(log_k) > 0.05 * c:
        assert res.params["c"] == pytest.approx(c, rel=1e-4, abs=1e-6)
        assert res.params["t_1"] == pytest.approx(t1, abs=1e-4) and res.params["t_2"] == pytest.approx(t2, abs=1e-4)
        assert res.params["k"] == pytest.approx(np.exp(log_k), rel=1e-4) and res.params["t_3"] == 0.0


def test_only_differences_of_t_are_identified():
    """Adding a constant to every t_ij scales k: the fit reports the same law."""
    L1 = 1.0 + 0.5 * np.exp(-1.0 * GRID[:, 0] + 2.0 * GRID[:, 1] + 0.0 * GRID[:, 2])
    L2 = 1.0 + 0.5 * np.exp(1.0 * GRID[:, 0] + 4.0 * GRID[:, 1] + 2.0 * GRID[:, 2]) * np.exp(-2.0)
    a, b = fit_mixing_law(GRID, L1), fit_mixing_law(GRID, L2)
    assert a.params["t_1"] == pytest.approx(b.params["t_1"], abs=1e-6)


def test_the_linear_baseline_misses_a_bending_law_and_the_optimum():
    L = 1.0 + np.exp(-3.0 * GRID[:, 0] + 1.0 * GRID[:, 1])
    lin = fit_linear_mixing(GRID, L)
    assert np.abs(relative_errors(predict_mixing(lin, GRID), L)).max() > 0.05
    law = fit_mixing_law(GRID, L)
    r, value = optimal_mixture([law], [1.0], resolution=100)
    assert np.allclose(r, [1, 0, 0]) and value == pytest.approx(1 + np.exp(-3.0), rel=1e-6)


def test_optimum_of_a_weighted_target_and_on_a_face():
    # two domains that each prefer their own data: the average's optimum is interior
    L_a = 1.0 + np.exp(-2.0 * GRID[:, 0])
    L_b = 1.0 + np.exp(-2.0 * GRID[:, 1])
    laws = [fit_mixing_law(GRID, L_a), fit_mixing_law(GRID, L_b)]
    r, _ = optimal_mixture(laws, [0.5, 0.5], resolution=200)
    assert r[0] == pytest.approx(0.5, abs=0.01) and r[1] == pytest.approx(0.5, abs=0.01) and r[2] == 0
    r, _ = optimal_mixture(laws, [0.5, 0.5], exclude=[1], resolution=200)
    assert r[1] == 0 and r[0] == 1.0  # without domain b, all of a (it still lowers L_a)
    with pytest.raises(ValueError, match="one target weight"):
        optimal_mixture(laws, [1.0])
    with pytest.raises(ValueError, match=">= 0"):
        optimal_mixture(laws, [0.0, 0.0])


@pytest.mark.parametrize("R, L, message", [
    (GRID[:, :1], np.ones(10), "M >= 2"),
    (GRID * 2, np.ones(10), "sum to 1"),
    (np.where(GRID == 0, -0.1, GRID), np.ones(10), ">= 0"),
    (GRID, np.ones(9), "one loss per mixture"),
    (GRID, np.r_[np.ones(9), np.nan], "NaN"),
    (GRID, np.r_[np.ones(9), 0.0], "positive"),
    (GRID[:4], np.ones(4), "at least"),
    (np.full((10, 3), np.nan), np.ones(10), "NaN or inf"),
])
def test_bad_input_raises(R, L, message):
    with pytest.raises(ValueError, match=message):
        fit_mixing_law(R, L)
