"""Unit tests of scaling_claims.studies.quanta (the quantization model's bookkeeping), with negative
controls: data that violates the quantization model's exponents or its learning order makes
the claim's checks fail."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scaling_claims.verdicts import checks
from scaling_claims.studies import quanta
from scaling_claims.verdicts.estimates import Estimate, bootstrap

P = quanta.zipf_frequencies(48, 0.4)
B = quanta.CHANCE_LOSS_BINARY


def test_frequencies_match_the_sparse_parity_task():
    from scaling_claims.engine.data import make_task
    from scaling_claims.engine.specs import DataSpec

    t = make_task(DataSpec.make("sparse_parity", n_tasks=48, n_bits=30, k=2, zipf_exponent=1.4))
    assert np.allclose(t.task_probs.numpy(), P)


def test_unlearned_mass_ends_and_whole_numbers():
    assert quanta.unlearned_mass(0, P) == pytest.approx(1.0)
    assert quanta.unlearned_mass(48, P) == pytest.approx(0.0, abs=1e-15)
    for n in (1, 7, 30):
        assert quanta.unlearned_mass(n, P) == pytest.approx(P[n:].sum())
    assert quanta.unlearned_mass(7.5, P) == pytest.approx(P[8:].sum() + 0.5 * P[7])


@given(st.floats(0.0, 48.0))
def test_quanta_from_loss_inverts_the_unlearned_mass(n):
    assert quanta.quanta_from_loss(B * quanta.unlearned_mass(n, P), P) == pytest.approx(n, abs=1e-9)


def test_quanta_from_loss_clips_at_chance_and_zero():
    assert quanta.quanta_from_loss([B, 2 * B, 0.0], P).tolist() == [0.0, 0.0, 48.0]


def test_exponent_recovered_from_a_quantization_model_sweep():
    """Losses made by the model itself (n = 0.4 N^gamma quanta learned) give back gamma."""
    N = np.geomspace(10, 160, 9)
    for gamma in (0.7, 1.0, 1.2):
        n_true = np.clip(0.4 * N ** gamma / 10 ** (gamma - 1), 0, 48)
        fit, used = quanta.fit_quanta_growth(N, quanta.quanta_from_loss(B * quanta.unlearned_mass(n_true, P), P),
                                            1.0, 36.0)
        assert -fit.exponent == pytest.approx(gamma, abs=1e-6)
        assert used.tolist() == ((n_true >= 1) & (n_true <= 36)).tolist()


def test_raw_loss_slope_is_not_the_exponent_but_the_inversion_is():
    """Why the claim inverts S: with 48 subtasks the loss slope of an n ~ N sweep is far from a."""
    N = np.geomspace(10, 100, 6)
    n = 0.3 * N
    loss = B * quanta.unlearned_mass(n, P)
    raw = -np.polyfit(np.log(N), np.log(loss), 1)[0]
    fit, _ = quanta.fit_quanta_growth(N, quanta.quanta_from_loss(loss, P), 1.0, 36.0)
    assert raw > 0.4 + 0.15  # the finite list steepens it out of the claim's band
    assert 0.4 * -fit.exponent == pytest.approx(0.4)


def test_negative_control_band_rejects_slower_quanta_growth():
    """A sweep where quanta grow as N^0.5 (a_N = 0.2) fails the a_N band the claim uses."""
    N = np.geomspace(500, 8000, 9)
    n = 0.5 * np.sqrt(N)
    fit, _ = quanta.fit_quanta_growth(N, quanta.quanta_from_loss(B * quanta.unlearned_mass(n, P), P), 1.0, 36.0)
    a_n = Estimate.from_fit(fit, "exponent").transform(lambda v: 0.4 * -v, decreasing=True, what="a_N = 0.4 gamma")
    assert a_n.value == pytest.approx(0.2, abs=0.01)
    assert checks.within_band("a_N", a_n, 0.4 - 0.15, 0.4 + 0.15).verdict == "refuted"


def test_fit_refuses_a_sweep_that_misses_the_window():
    with pytest.raises(ValueError, match="fewer than 3"):
        quanta.fit_quanta_growth([1, 2, 3, 4], [0.1, 0.2, 40, 45], 1.0, 36.0)


def test_order_auc_perfect_reversed_random():
    learned_first = np.r_[np.zeros(10), np.full(38, B)]
    assert quanta.frequency_order_auc(learned_first) == 1.0
    assert quanta.frequency_order_auc(learned_first[::-1]) == 0.0
    assert math.isnan(quanta.frequency_order_auc(np.zeros(48)))
    assert math.isnan(quanta.frequency_order_auc(np.full(48, B)))


def test_negative_control_order_check_rejects_a_random_learning_order():
    rng = np.random.default_rng(0)
    base = np.r_[np.zeros(10), np.full(38, B)]
    aucs = np.array([quanta.frequency_order_auc(rng.permutation(base)) for _ in range(27)])
    assert abs(np.median(aucs) - 0.5) < 0.1
    median = bootstrap(lambda i: np.median(aucs[i]), aucs.size, 1000, units="runs").estimate(np.median(aucs))
    assert checks.at_least("median AUC", median, 0.8).verdict == "refuted"
    ordered = np.array([quanta.frequency_order_auc(base)] * 27)  # every run learns in frequency order
    exact = bootstrap(lambda i: np.median(ordered[i]), 27, 100, units="runs").estimate(np.median(ordered))
    assert checks.at_least("median AUC", exact, 0.8).verdict == "confirmed"


@pytest.mark.parametrize("bad", [np.array([0.5, 0.6]), np.array([0.5, 0.4]) * 0.5, np.array([0.7, np.nan, 0.3])])
def test_bad_frequencies_are_rejected(bad):
    with pytest.raises(ValueError):
        quanta.quanta_from_loss(0.1, bad)


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError):
        quanta.zipf_frequencies(0, 0.4)
    with pytest.raises(ValueError):
        quanta.zipf_frequencies(10, -1.0)
    with pytest.raises(ValueError):
        quanta.quanta_from_loss(-0.1, P)
    with pytest.raises(ValueError):
        quanta.unlearned_mass(49, P)
    with pytest.raises(ValueError):
        quanta.fit_quanta_growth([1, 2, 3], [1, 2, 3], 5.0, 1.0)
