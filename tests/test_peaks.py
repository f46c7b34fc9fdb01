"""Peak finding on double-descent curves (``scaling_claims.studies.peaks``), alone and under a seed
bootstrap (``Curve.over_units``), as the MLP double-descent claim uses them."""

from __future__ import annotations

import numpy as np
import pytest

from scaling_claims.verdicts import checks
from scaling_claims.verdicts.estimates import Curve
from scaling_claims.verdicts.estimates import bootstrap
from scaling_claims.studies.peaks import Peak, cross_fitted_gaps, first_at_most, interpolation_peak

# Nakkiran et al.'s shape: the smallest model is worst, a sweet spot, a peak at the threshold
# (index 5), a second descent that never returns to the sweet spot
CURVE = np.array([0.47, 0.30, 0.24, 0.22, 0.27, 0.34, 0.31, 0.30, 0.29, 0.295])


def test_first_at_most():
    assert first_at_most([0.3, 0.1, 0.005, 0.0], 0.01) == 2
    with pytest.raises(ValueError, match="no value"):
        first_at_most([0.3, 0.2], 0.01)
    with pytest.raises(ValueError):
        first_at_most([], 0.1)


def test_interpolation_peak_finds_sweet_spot_peak_and_second_descent():
    p = interpolation_peak(CURVE, 5)
    assert (p.left, p.peak, p.right) == (3, 5, 8)
    assert p.prominence == pytest.approx(0.34 / 0.29)


def test_no_peak_past_the_sweet_spot():
    falling = np.array([0.5, 0.4, 0.3, 0.25, 0.2, 0.18])
    assert interpolation_peak(falling, 3) == Peak(left=2, peak=5, right=None, prominence=1.0) or \
        interpolation_peak(falling, 3).prominence == 1.0
    u_shape = np.array([0.5, 0.3, 0.2, 0.25, 0.3, 0.4])  # rises to the end: the "peak" is the last point
    assert interpolation_peak(u_shape, 3).right is None and interpolation_peak(u_shape, 3).prominence == 1.0


def test_bad_input():
    with pytest.raises(ValueError):
        interpolation_peak(CURVE, 20)
    with pytest.raises(ValueError):
        interpolation_peak([0.1, np.nan, 0.2], 1)


def _seeds(curve, noise, n_seeds, seed):
    rng = np.random.default_rng(seed)
    return curve[None, :] * np.exp(rng.normal(0, noise, (n_seeds, curve.size)))


def test_peak_location_and_gap_get_intervals_from_a_seed_bootstrap():
    x = np.arange(CURVE.size, dtype=float)
    clean = Curve.over_units(x, _seeds(CURVE, 0.03, 20, 0), n_boot=500)
    where = clean.statistic(lambda y: x[interpolation_peak(y, 5).peak], "x of the peak")
    assert checks.within_band("peak at the threshold", where, 4.5, 5.5).verdict == "confirmed"
    gap = clean.statistic(lambda y: y[interpolation_peak(y, 5).peak] - y[interpolation_peak(y, 5).left], "gap")
    assert checks.ordered("peak above the sweet spot", gap).verdict == "confirmed"
    # the trap: on the curve it was found on, a peak minus the minimum before it is >= 0 by
    # construction, so a flat noisy curve "confirms" a peak
    flat = Curve.over_units(x, _seeds(np.full(CURVE.size, 0.3), 0.05, 20, 2), n_boot=500)
    biased = flat.statistic(lambda y: y[interpolation_peak(y, 5).peak] - y[interpolation_peak(y, 5).left], "gap")
    assert checks.ordered("peak above the sweet spot (same-curve selection)", biased).verdict == "confirmed"


def _cross_fit(values, k=5, n_boot=500):
    half_a, half_b = values[0::2], values[1::2]
    stat = lambda ia, ib: cross_fitted_gaps(np.median(half_a[ia], axis=0), np.median(half_b[ib], axis=0), k)  # noqa: E731
    point = stat(np.arange(len(half_a)), np.arange(len(half_b)))
    boot = bootstrap(stat, [len(half_a), len(half_b)], n_boot, units="seeds within each half")
    return [boot.estimate(point[j], j) for j in range(3)]


@pytest.mark.parametrize("seed", range(5))
def test_cross_fitted_gaps_do_not_confirm_a_flat_curve(seed):
    left, right, _ = _cross_fit(_seeds(np.full(CURVE.size, 0.3), 0.05, 20, seed))
    assert checks.ordered("peak above the sweet spot", left).verdict != "confirmed"
    assert checks.ordered("peak above the right minimum", right).verdict != "confirmed"


def test_cross_fitted_gaps_confirm_a_real_peak():
    left, right, prom = _cross_fit(_seeds(CURVE, 0.05, 20, 0))
    assert checks.ordered("peak above the sweet spot", left).verdict == "confirmed"
    assert checks.ordered("peak above the right minimum", right).verdict == "confirmed"
    assert prom.value > 1
