"""``scaling_claims.studies.grokking`` (step counts that flicker cannot fake, the delay and its
censoring) and negative controls for the grokking claims: the same checks the claims use
(claims/test_grokking.py), fed curves where the claim is false, must not confirm it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scaling_claims.verdicts import checks
from scaling_claims.verdicts.checks import CONFIRMED, REFUTED
from scaling_claims.verdicts.estimates import Estimate, paired_difference
from scaling_claims.studies.grokking import Delay, delay_from_curve, first_step_staying_at_least


def test_the_first_step_from_which_it_stays_above():
    steps = [10, 20, 30, 40, 50, 60]
    assert first_step_staying_at_least(steps, [0.1, 0.96, 0.5, 0.97, 0.99, 0.96], 0.95) == 40  # flicker at 30
    assert first_step_staying_at_least(steps, [1, 1, 1, 1, 1, 1], 0.95) == 10
    assert first_step_staying_at_least(steps, [1, 1, 1, 1, 1, 0.2], 0.95) is None  # fell back at the end
    assert first_step_staying_at_least([5], [0.95], 0.95) == 5  # the threshold itself counts


@pytest.mark.parametrize("steps, values, message", [([], [], "non-zero"), ([1, 2], [0.5], "equal"),
                                                    ([1, 1], [0.5, 0.6], "increase"), ([2, 1], [0.5, 0.6], "increase")])
def test_bad_curves_raise(steps, values, message):
    with pytest.raises(ValueError, match=message):
        first_step_staying_at_least(steps, values, 0.5)


def curve(t_fit, t_gen, end=5000, every=10, flicker_at=None):
    """Train accuracy reaching 100% at t_fit, held-out at t_gen (None: stays at 2%)."""
    pts = []
    for s in range(every, end + 1, every):
        held = 1.0 if t_gen is not None and s >= t_gen else 0.02
        if flicker_at is not None and s == flicker_at:
            held = 0.5
        pts.append({"step": s, "train": 1.0 if s >= t_fit else 0.3, "held": held})
    return pts


def test_delay_and_censoring():
    d = delay_from_curve(curve(70, 1400), "train", "held")
    assert (d.t_fit, d.t_gen, d.delay, d.censored) == (70, 1400, 20.0, False)
    assert delay_from_curve(curve(70, 1400, flicker_at=2000), "train", "held").t_gen == 2010
    never = delay_from_curve(curve(70, None), "train", "held")
    assert never.censored and never.delay == pytest.approx(5000 / 70) and never.final_held_out == 0.02
    with pytest.raises(ValueError, match="never fitted"):
        delay_from_curve(curve(6000, None), "train", "held")


def delays(t_gens, t_fit=70):
    return [Delay(t_fit, t, 5000, 1.0) for t in t_gens]


def gm(rows):
    return Estimate.mean_t(np.log([r.delay for r in rows])).transform(math.exp)


def step(a, b):
    return paired_difference(np.log([r.delay for r in b]), np.log([r.delay for r in a]))


def test_the_delay_claim_refutes_simultaneous_generalisation():
    """Generalisation together with the fit (no grokking): a delay of ~1-2x is refuted."""
    assert checks.at_least("delay", gm(delays([1470, 1180, 1460])), 5.0).verdict == CONFIRMED
    assert checks.at_least("delay", gm(delays([80, 100, 120])), 5.0).verdict == REFUTED


def test_the_sweep_claims_refute_the_opposite_trend():
    """If weight decay lengthened the delay (or more data did), the monotone check refutes."""
    small, mid, large = delays([4000, 3900, 4100]), delays([2000, 2200, 1900]), delays([1400, 1500, 1300])
    assert checks.monotone("falls", [step(small, mid), step(mid, large)], "decreasing").verdict == CONFIRMED
    assert checks.monotone("falls", [step(large, mid), step(mid, small)], "decreasing").verdict == REFUTED
    # a flat trend with seed noise is not confirmed
    flat = [delays([1400, 2000, 1000]), delays([1500, 1100, 1900]), delays([1300, 1800, 1200])]
    assert checks.monotone("falls", [step(flat[0], flat[1]), step(flat[1], flat[2])], "decreasing").verdict != CONFIRMED


def test_the_control_refutes_a_run_that_generalises_without_weight_decay():
    low = [Estimate.wilson(5, 1105), Estimate.wilson(6, 1105)]
    high = [Estimate.wilson(5, 1105), Estimate.wilson(1090, 1105)]
    assert checks.all_within("control", low, 0.0, 0.95).verdict == CONFIRMED
    assert checks.all_within("control", high, 0.0, 0.95).verdict == REFUTED
