"""Closed forms (scaling_claims.studies.theory) and NumPy linear models (scaling_claims.engine.models.linear)
checked against brute force, simulation or an independent formula; bad input raises ValueError."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scaling_claims.studies import theory
from scaling_claims.engine.models import linear


def test_hutter_expectation_matches_brute_force_and_simulation():
    p = theory.zipf_probabilities(50, 1.0)
    assert p.sum() == pytest.approx(1.0)
    n = np.array([0, 1, 10, 100])
    brute = [sum(pi * (1 - pi) ** k for pi in p) for k in n]
    assert np.allclose(theory.hutter_expected_error(n, 1.0, m=50), brute, rtol=1e-12)
    sims = np.array([theory.memoriser_error(n[1:], 1.0, 50, seed) for seed in range(400)])
    se = sims.std(axis=0) / np.sqrt(len(sims))
    assert np.all(np.abs(sims.mean(axis=0) - brute[1:]) <= 4 * se + 1e-12)
    assert theory.hutter_exponent(1.0) == 0.5


def test_min_norm_risk_closed_form():
    g = np.array([0.5, 1.0, 2.0])
    r = theory.min_norm_risk(g, 1.0, 0.25)
    assert r[0] == pytest.approx(0.25) and np.isinf(r[1]) and r[2] == pytest.approx(0.5 + 0.25)
    assert theory.ols_excess_risk(8, 100, 2.0) == pytest.approx(2 * 8 / 91)
    with pytest.raises(ValueError):
        theory.ols_excess_risk(8, 9, 1.0)
    with pytest.raises(ValueError):
        theory.min_norm_risk([0.0], 1.0, 1.0)


def test_projection_risk_on_the_top_coordinates_is_the_tail_sum():
    lam = linear.power_law_spectrum(100, 1.0)
    w = np.ones(100)
    F = np.eye(100)[:10]  # project onto the 10 largest directions
    assert theory.projection_risk(F, lam, w) == pytest.approx(lam[10:].sum())
    assert theory.excess_risk(w, w, lam) == 0.0


def test_beta_pass_at_k_matches_simulation():
    rng = np.random.default_rng(0)
    p = rng.beta(0.3, 3.0, 200_000)
    for k in (1, 10, 100):
        mc = (1 - (1 - p) ** k).mean()
        assert theory.beta_pass_at_k(k, 0.3, 3.0) == pytest.approx(mc, abs=4e-3)
    assert theory.beta_pass_at_k(1, 0.3, 3.0) == pytest.approx(0.3 / 3.3)


@given(n=st.integers(2, 30), p=st.integers(1, 150), seed=st.integers(0, 1000))
def test_min_norm_lstsq_is_the_pseudo_inverse_solution(n, p, seed):
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((n, p)), rng.standard_normal(n)
    assert np.allclose(linear.min_norm_lstsq(X, y), np.linalg.pinv(X) @ y, atol=1e-8)


def test_ridge_primal_and_dual_agree_and_shrink():
    rng = np.random.default_rng(1)
    for n, p in ((50, 10), (10, 50)):
        X, y = rng.standard_normal((n, p)), rng.standard_normal(n)
        direct = np.linalg.solve(X.T @ X + 0.3 * n * np.eye(p), X.T @ y)
        assert np.allclose(linear.ridge(X, y, 0.3), direct)
        assert np.linalg.norm(linear.ridge(X, y, 10.0)) < np.linalg.norm(linear.ridge(X, y, 0.01))


def test_random_features():
    X = np.random.default_rng(2).standard_normal((5, 3))
    relu = linear.RandomFeatures(3, 7, "relu", seed=0)
    assert relu(X).shape == (5, 7) and (relu(X) >= 0).all()
    assert np.array_equal(relu(X), linear.RandomFeatures(3, 7, "relu", seed=0)(X))  # seeded
    four = linear.RandomFeatures(3, 7, "fourier", seed=0)(X)
    assert np.abs(four).max() <= np.sqrt(2) + 1e-12


@pytest.mark.parametrize("call", [
    lambda: linear.min_norm_lstsq(np.ones(3), np.ones(3)),
    lambda: linear.min_norm_lstsq(np.ones((3, 2)), np.ones(4)),
    lambda: linear.min_norm_lstsq(np.array([[np.nan]]), np.ones(1)),
    lambda: linear.ridge(np.ones((3, 2)), np.ones(3), 0.0),
    lambda: linear.RandomFeatures(0, 3),
    lambda: linear.RandomFeatures(2, 3, "tanh"),
    lambda: linear.RandomFeatures(2, 3)(np.ones((4, 3))),
    lambda: linear.power_law_spectrum(10, 0.0),
    lambda: theory.zipf_probabilities(10, -1.0),
    lambda: theory.hutter_expected_error([-1], 1.0),
    lambda: theory.beta_pass_at_k(1, 0.0, 1.0),
])
def test_bad_input_raises_value_error(call):
    with pytest.raises(ValueError):
        call()
