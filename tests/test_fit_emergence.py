"""``scaling_claims.fit.emergence``: Bhagia et al.'s two steps (loss power law, then a sigmoid to
accuracy), the logistic's crossing, and the critical-exponent form. Known answers on synthetic
data, inverse properties (a crossing predicts its own level), the flags that mark a fit whose
interval is not a confidence interval, and ``ValueError`` for bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from scaling_claims.fit import fit_logistic
from scaling_claims.fit.emergence import (critical_crossing, fit_critical, fit_loss_to_accuracy, fit_two_step,
                                          logistic_crossing, loss_at_accuracy)

LOSS = np.linspace(0.05, 2.0, 15)


def sigmoid(L, mid, k, lo=0.0, hi=1.0):
    return lo + (hi - lo) / (1 + np.exp(k * (np.asarray(L) - mid)))


# ----------------------------------------------------------------------------- step 2
@given(mid=st.floats(0.3, 1.7), k=st.floats(1.0, 15.0))
def test_loss_to_accuracy_exact_recovery(mid, k):
    fit = fit_loss_to_accuracy(LOSS, sigmoid(LOSS, mid, k))
    assert fit.loss_mid == pytest.approx(mid, abs=1e-6) and fit.steepness == pytest.approx(k, rel=1e-5)
    assert fit.ok, fit.flags


def test_loss_to_accuracy_with_noise_covers_the_truth_and_honours_levels():
    rng = np.random.default_rng(1)
    acc = np.clip(sigmoid(LOSS, 0.8, 4.0, 0.25, 0.9) + rng.normal(0, 0.01, LOSS.size), 0.25, 0.9)
    fit = fit_loss_to_accuracy(LOSS, acc, lower=0.25, upper=0.9)
    assert fit.ci["loss_mid"][0] < 0.8 < fit.ci["loss_mid"][1]
    assert fit.lower == 0.25 and fit.upper == 0.9


def test_loss_to_accuracy_below_the_rise_is_flagged():
    """Every model still near the floor (the emergence ladder's small sizes): the midpoint is an
    extrapolation, and the fit says so."""
    L = np.array([1.7, 1.72, 1.71, 0.75, 1.17, 1.24, 1.29, 0.67, 1.16])
    acc = np.array([0.0005, 0.001, 0.0005, 0.093, 0.009, 0.007, 0.01, 0.094, 0.006])
    fit = fit_loss_to_accuracy(L, acc)
    assert "loss_mid" in fit.flags and fit.loss_mid < L.min()


@given(mid=st.floats(0.3, 1.7), k=st.floats(0.5, 15.0), a=st.floats(0.02, 0.98))
def test_loss_at_accuracy_inverts_the_sigmoid(mid, k, a):
    fit = fit_loss_to_accuracy(LOSS, sigmoid(LOSS, mid, k))
    assert float(fit.predict(np.array([loss_at_accuracy(fit, a)]))[0]) == pytest.approx(a, abs=1e-6)


# ----------------------------------------------------------------------------- both steps
def test_two_step_recovers_a_known_ladder_and_its_crossing():
    """L = 3 N**-0.3, acc = sigmoid(L; mid 0.4, k 6): the crossing is where L = 0.4, i.e.
    N = (3 / 0.4)**(1 / 0.3); predictions at held-out sizes are exact."""
    N = np.geomspace(1e3, 1e5, 6)
    L = 3 * N ** -0.3
    ts = fit_two_step(N, L, sigmoid(L, 0.4, 6.0))
    big = np.array([1e6, 1e7])
    assert ts.predict(big) == pytest.approx(sigmoid(3 * big ** -0.3, 0.4, 6.0), abs=1e-6)
    assert ts.crossing(0.5) == pytest.approx((3 / 0.4) ** (1 / 0.3), rel=1e-4)
    assert set(ts.to_dict()) == {"kind", "step1", "step2"}


def test_two_step_crossing_is_inf_when_the_loss_never_gets_there():
    N = np.geomspace(1e3, 1e5, 6)
    rising = fit_two_step(N, 0.5 * N ** 0.1, sigmoid(0.5 * N ** 0.1, 0.4, 6.0))  # loss grows with N
    assert rising.crossing(0.5) == math.inf
    L = 3 * N ** -0.3
    assert fit_two_step(N, L, sigmoid(L, -0.2, 6.0)).crossing(0.5) == math.inf  # needs a negative loss


# ----------------------------------------------------------------------------- one step
@given(log_mid=st.floats(math.log(3e3), math.log(3e5)), slope=st.floats(0.5, 8.0), a=st.floats(0.05, 0.95))
def test_logistic_crossing_inverts_the_fit(log_mid, slope, a):
    x = np.logspace(3, 6, 13)
    fit = fit_logistic(x, 1 / (1 + np.exp(-slope * (np.log(x) - log_mid))))
    c = logistic_crossing(fit, a)
    assert float(fit.predict(np.array([c]))[0]) == pytest.approx(a, abs=1e-6)
    assert logistic_crossing(fit, 0.5) == pytest.approx(fit.midpoint, rel=1e-9)


def test_a_logistic_whose_midpoint_lies_far_beyond_the_data_does_not_overflow():
    """All points near the floor with a nearly flat trend (a bootstrap resample of a ladder below
    its rise): the fitted ln midpoint lies beyond 709; the fit reports the midpoint as inf,
    flagged, instead of raising OverflowError (which a bootstrap would not catch)."""
    x = np.repeat([1760.0, 6592.0, 14496.0], 3)
    y = np.array([0.0784, 0.0465, 0.0426, 0.0488, 0.0381, 0.0362, 0.0372, 0.0642, 0.0704])
    fit = fit_logistic(x, y)
    assert math.isinf(fit.midpoint) and "midpoint" in fit.flags
    assert logistic_crossing(fit, 0.5) == math.inf and np.all(np.isfinite(fit.predict(x)))


# ----------------------------------------------------------------------------- critical form
def critical(N, nc, amp, beta, hi=1.0):
    return np.minimum(hi, amp * np.maximum(N / nc - 1, 0) ** beta)


@given(log_nc=st.floats(math.log(5e3), math.log(2e4)), beta=st.floats(0.3, 2.0), amp=st.floats(0.1, 0.5))
def test_critical_exact_recovery(log_nc, beta, amp):
    nc = math.exp(log_nc)
    N = np.geomspace(1e3, 1e6, 25)
    y = critical(N, nc, amp, beta)
    assume(np.sum((N > nc) & (y < 1)) >= 6)
    fit = fit_critical(N, y)
    assert fit.critical_size == pytest.approx(nc, rel=1e-3)
    assert fit.beta == pytest.approx(beta, rel=1e-3) and fit.amplitude == pytest.approx(amp, rel=1e-3)
    assert critical_crossing(fit, 0.5) == pytest.approx(nc * (1 + (0.5 / amp) ** (1 / beta)), rel=1e-3)


def test_critical_with_too_few_points_on_the_rise_is_flagged():
    """Three points above N_c and below the cap: the three parameters pass through them and the
    HC3 interval has no residual to measure (the quick emergence ladder's case)."""
    N = np.array([1760, 6592, 14496, 25472, 56640.0])
    fit = fit_critical(N, np.array([0.0007, 0.036, 0.037, 0.369, 0.786]))
    assert fit.info["points_on_rise"] <= 3 and "*" in fit.flags


@pytest.mark.parametrize("call", [
    lambda: fit_loss_to_accuracy([1.0, 0.5], [0.1, 0.6]),  # too few points for an interval
    lambda: fit_loss_to_accuracy([1.0, 0.5, np.nan], [0.1, 0.6, 0.9]),
    lambda: fit_loss_to_accuracy([1.0, 1.0, 1.0], [0.1, 0.6, 0.9]),  # constant loss
    lambda: fit_loss_to_accuracy([1.0, 0.5, 0.2], [0.1, 0.6, 1.2]),  # accuracy above the ceiling
    lambda: fit_loss_to_accuracy([1.0, 0.5, 0.2], [0.1, 0.6, 0.9], lower=1.0, upper=0.0),
    lambda: fit_two_step([1e3, 1e4, 1e5], [1.0, 0.5], [0.1, 0.6, 0.9]),  # mismatched lengths
    lambda: fit_two_step([1e3, -1e4, 1e5, 1e6], [1.0, 0.5, 0.3, 0.2], [0.1, 0.6, 0.8, 0.9]),  # negative size
    lambda: loss_at_accuracy(fit_loss_to_accuracy(LOSS, sigmoid(LOSS, 1.0, 3.0)), 1.0),
    lambda: logistic_crossing(fit_logistic(np.logspace(3, 6, 8), np.linspace(0.01, 0.99, 8)), 1.5),
    lambda: fit_critical([1e3, 1e4, 1e5], [0.0, 0.2, 0.8]),  # too few points
    lambda: fit_critical([1e3, 1e4, 1e5, 1e6], [0.0, 0.0, 0.0, 0.0]),  # no rise at all
    lambda: fit_critical([1e3, 1e4, 1e5, 1e6], [0.0, 0.2, 0.8, 1.3]),  # above the cap
    lambda: fit_critical([0.0, 1e4, 1e5, 1e6], [0.0, 0.2, 0.8, 1.0]),  # a size of 0
    lambda: fit_critical([1e3, 1e4, 1e5, 1e6], [0.0, 0.2, 0.8, 1.0], upper=-1.0),
    lambda: critical_crossing(fit_critical(np.geomspace(1e3, 1e6, 12), critical(np.geomspace(1e3, 1e6, 12), 5e3, 0.3,
                                                                                   0.7)), 1.0),
])
def test_bad_input_raises_value_error(call):
    with pytest.raises(ValueError):
        call()
