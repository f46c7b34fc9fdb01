"""``scaling_claims.verdicts.ladder_law``: a ladder of sizes judged as a law (every step down, the
offset power law's fit, the held-out largest predicted), apart from its exponent.

The negative controls are ladders that violate the law: one whose loss stops falling at the
largest size (the held-out prediction fails and the last step is refuted), one that rises, and
one that follows a different form (a plateau then a cliff); each must be refuted, while a true
power law with seed noise is confirmed, whatever its exponent."""

from __future__ import annotations

import numpy as np
import pytest

from scaling_claims.verdicts.checks import CONFIRMED, REFUTED, combine
from scaling_claims.verdicts.ladder_law import ladder_law

N = np.array([2e3, 4e3, 8e3, 1.6e4, 3.2e4, 6.4e4])


def seeds(curve, noise=0.002, n=5, seed=0):
    rng = np.random.default_rng(seed)
    # the same data order per seed moves every size together (a shared offset) plus a little apart
    return curve[None, :] + rng.normal(0, noise, (n, 1)) + rng.normal(0, noise / 4, (n, curve.size))


def verdict(x, losses):
    return combine(ladder_law(x, losses).checks("L(N)", 0.95))[0]


@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.3])
def test_a_power_law_with_a_floor_is_confirmed_whatever_its_exponent(alpha):
    losses = seeds(1.2 + 8.0 * N ** -alpha)
    law = ladder_law(N, losses)
    assert verdict(N, losses) == CONFIRMED
    assert law.exponent.value > 0 and abs(law.extrapolation.value) < law.tolerance


def test_loss_that_stops_falling_at_the_largest_size_is_refuted():
    curve = 1.2 + 8.0 * N ** -0.3
    curve[-1] = curve[-2] + 0.01  # the largest model is no better
    assert verdict(N, seeds(curve)) == REFUTED


def test_loss_that_rises_with_size_is_refuted():
    assert verdict(N, seeds(1.5 + 0.05 * np.log(N))) == REFUTED


def test_another_form_is_refuted_by_its_held_out_prediction():
    # flat, then a cliff at the largest size: the law fitted on the plateau cannot predict it
    curve = np.array([2.00, 1.99, 1.98, 1.97, 1.96, 1.60])
    law = ladder_law(N, seeds(curve, noise=0.001))
    assert combine(law.checks("L(N)", 0.95))[0] == REFUTED
    assert law.extrapolation.lo > law.tolerance


def test_bad_ladders_are_clear_errors():
    with pytest.raises(ValueError, match="at least 4 sizes"):
        ladder_law(N[:3], seeds(N[:3] ** -0.1))
    with pytest.raises(ValueError, match="at least 2 seeds"):
        ladder_law(N, (N ** -0.1)[None, :])
    with pytest.raises(ValueError, match="increasing"):
        ladder_law(N[::-1], seeds(N ** -0.1))
