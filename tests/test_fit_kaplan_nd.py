"""``fit.fit_kaplan_nd`` (Kaplan's eq. 1.5 plus a floor) and ``verdicts.ladder_law.grid_law`` (the
law fitted on an N x D grid's smaller sizes, predicting the held-out largest).

Negative controls: a grid whose largest model gains nothing must be refuted by the held-out
prediction, and a grid made by a law of another form (more data makes size matter more, an
interaction the joint law cannot follow) by the fit; a grid made by the law with seed noise is
confirmed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaling_claims.verdicts.checks import CONFIRMED, REFUTED, combine
from scaling_claims.verdicts.ladder_law import grid_law
from scaling_claims.fit import fit_kaplan_nd, kaplan_nd_loss

N = np.array([6.6e3, 1.4e4, 2.5e4, 5.7e4, 1.0e5, 4.0e5])
D = np.array([4e5, 8e5, 1.6e6, 3.2e6])
TRUE = (1.1, np.log(3e3), np.log(2e5), 0.35, 0.4)


def grid(law, noise=0.003, seeds=4, seed=0):
    rng = np.random.default_rng(seed)
    nn, dd = np.meshgrid(N, D, indexing="ij")
    base = law(nn, dd)
    # the same data order per seed moves a seed's cells together, plus a little apart
    return np.stack([base * np.exp(rng.normal(0, noise) + rng.normal(0, noise / 3, base.shape)) for _ in range(seeds)])


def test_the_fit_recovers_the_law_and_predicts_past_its_sizes():
    nn, dd = np.meshgrid(N[:-1], D, indexing="ij")
    L = kaplan_nd_loss(TRUE, nn.ravel(), dd.ravel())
    fit = fit_kaplan_nd(nn.ravel(), dd.ravel(), L)
    assert fit.r2 > 0.9999 and not fit.flags
    assert fit.params["alpha_N"] == pytest.approx(0.35, rel=0.02) and fit.params["alpha_D"] == pytest.approx(0.4, rel=0.02)
    assert fit.params["N_c"] == pytest.approx(np.exp(fit.params["log_N_c"]))
    held = kaplan_nd_loss(TRUE, np.full(4, N[-1]), D)
    np.testing.assert_allclose(fit.predict(np.full(4, N[-1]), D), held, rtol=1e-4)


@settings(max_examples=25, deadline=None)
@given(E=st.floats(0.0, 1.5), aN=st.floats(0.1, 0.8), aD=st.floats(0.1, 0.8))
def test_the_fit_reproduces_any_law_of_its_form_on_the_grid(E, aN, aD):
    theta = (E, np.log(5e3), np.log(3e5), aN, aD)
    nn, dd = np.meshgrid(N, D, indexing="ij")
    L = kaplan_nd_loss(theta, nn.ravel(), dd.ravel())
    fit = fit_kaplan_nd(nn.ravel(), dd.ravel(), L)
    np.testing.assert_allclose(fit.predict(nn.ravel(), dd.ravel()), L, rtol=2e-3)


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="N"):
        fit_kaplan_nd([1e4, -1, 3e4, 4e4, 5e4, 6e4], D.tolist() + [1e6, 2e6], [2.0] * 6)
    with pytest.raises(ValueError, match="points"):
        fit_kaplan_nd([1e4, 2e4, 3e4], [1e5, 2e5, 3e5], [2.0, 1.9, 1.8])
    with pytest.raises(ValueError, match="D"):
        fit_kaplan_nd(N, np.full(N.size, 1e6), np.linspace(2, 1.5, N.size))


def test_a_grid_made_by_the_law_is_confirmed():
    law = grid_law(N, D, grid(lambda n, d: kaplan_nd_loss(TRUE, n, d)))
    assert combine(law.checks(0.95))[0] == CONFIRMED
    assert law.alpha_N.lo < 0.35 < law.alpha_N.hi or abs(law.alpha_N.value - 0.35) < 0.05


def test_a_largest_model_that_gains_nothing_is_refuted_by_the_held_out_prediction():
    losses = grid(lambda n, d: kaplan_nd_loss(TRUE, n, d))
    losses[:, -1] = losses[:, -2] * 0.999  # the held-out size barely beats the one below it
    law = grid_law(N, D, losses)
    assert combine(law.checks(0.95))[0] == REFUTED and law.r2.lo > 0.95
    assert all(e.hi < -t for e, t in zip(law.errors, law.tolerances))  # it predicts a gain that is not there


def test_a_law_of_another_form_is_refuted():
    # more data makes size matter more (an N x D interaction the joint law cannot bend to): its fit fails
    other = grid(lambda n, d: 1.0 + 0.6 * (n / 1e4) ** -0.5 * (d / 4e5) ** 0.6 + 0.3 * (d / 4e5) ** -0.3)
    law = grid_law(N, D, other)
    assert combine(law.checks(0.95))[0] == REFUTED and law.r2.hi < 0.95


def test_grid_law_refuses_a_grid_too_small():
    with pytest.raises(ValueError, match="at least 4 fitted sizes"):
        grid_law(N[:4], D, np.ones((3, 4, 4)))
    with pytest.raises(ValueError, match="seeds"):
        grid_law(N, D, np.ones((1, N.size, D.size)))
