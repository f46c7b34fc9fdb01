"""fit_power_law: recovery, noise, invariances, intervals and a negative control."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scaling_claims.fit import fit_power_law

X = np.logspace(3, 7, 12)  # 4 decades, like a model-size sweep


@given(coef=st.floats(1e-2, 1e3), exponent=st.floats(0.01, 1.5) | st.floats(-1.5, -0.01))
def test_exact_recovery_without_offset(coef, exponent):
    # |exponent| >= 0.01: a flat law has no variance to explain, so its r2 is undefined
    res = fit_power_law(X, coef * X ** -exponent)
    assert res.coef == pytest.approx(coef, rel=1e-9)
    assert res.exponent == pytest.approx(exponent, abs=1e-10)
    assert res.offset == 0.0
    assert res.r2 == pytest.approx(1.0)


@given(coef=st.floats(0.1, 100), exponent=st.floats(0.05, 1.0), offset_frac=st.floats(0.1, 3.0))
def test_exact_recovery_with_offset(coef, exponent, offset_frac):
    # the offset is a multiple of the power-law term at the largest x (so it is identifiable)
    offset = offset_frac * coef * X.max() ** -exponent
    res = fit_power_law(X, coef * X ** -exponent + offset, offset=True)
    assert res.exponent == pytest.approx(exponent, rel=1e-5)
    assert res.coef == pytest.approx(coef, rel=1e-4)
    assert res.offset == pytest.approx(offset, rel=1e-4)


@given(coef=st.floats(0.1, 100), exponent=st.floats(0.05, 1.0), seed=st.integers(0, 2**31 - 1))
def test_one_percent_noise_error_within_five_standard_errors(coef, exponent, seed):
    rng = np.random.default_rng(seed)
    y = coef * X ** -exponent * np.exp(rng.normal(0, 0.01, X.size))
    res = fit_power_law(X, y)
    # OLS intervals are exact for log-normal noise: 5 SE is a ~1e-5 event
    assert abs(res.exponent - exponent) <= 5 * res.se["exponent"]
    assert abs(res.exponent - exponent) < 0.02  # 1% noise over 4 decades: SE ~0.002


def test_interval_coverage_is_nominal():
    rng = np.random.default_rng(7)
    hits = [(lambda r: r.ci["exponent"][0] <= 0.3 <= r.ci["exponent"][1])(
        fit_power_law(X, 2 * X ** -0.3 * np.exp(rng.normal(0, 0.05, X.size)))) for _ in range(400)]
    # exact t intervals: 95% nominal; 400 draws have SD ~1.1%, so [0.92, 0.98] is > 2.5 SD wide
    assert 0.92 <= np.mean(hits) <= 0.98


@given(c=st.floats(1e-3, 1e3), s=st.floats(1e-3, 1e3), seed=st.integers(0, 2**31 - 1))
def test_invariances(c, s, seed):
    rng = np.random.default_rng(seed)
    y = 5 * X ** -0.2 * np.exp(rng.normal(0, 0.02, X.size))
    base = fit_power_law(X, y)
    # y = coef x^-b  =>  s*y = (s*coef*c^b) (c x)^-b: exponent unchanged, coef rescaled
    moved = fit_power_law(c * X, s * y)
    assert moved.exponent == pytest.approx(base.exponent, rel=1e-7, abs=1e-10)
    assert moved.coef == pytest.approx(s * base.coef * c ** base.exponent, rel=1e-7)
    perm = rng.permutation(X.size)
    assert fit_power_law(X[perm], y[perm]).exponent == pytest.approx(base.exponent, rel=1e-9)


def test_predict_and_interval():
    rng = np.random.default_rng(1)
    y = 3 * X ** -0.1 + 1.0
    res = fit_power_law(X, y * np.exp(rng.normal(0, 0.005, X.size)), offset=True)
    lo, hi = res.predict_interval([1e9])
    truth = 3 * 1e9 ** -0.1 + 1.0
    assert lo[0] < res.predict([1e9])[0] < hi[0]
    assert lo[0] <= truth <= hi[0]
    assert res.predict(X).shape == X.shape


def test_negative_control_exponential_decay_fits_poorly():
    """Data from another law (exponential decay in x) must not look like a power law."""
    x = np.linspace(1, 40, 12)
    res = fit_power_law(x, np.exp(-x / 5.0))
    assert res.r2 < 0.9  # a genuine power law over this range gives r2 = 1 (see above)


def test_to_dict_round_trips_through_json():
    d = json.loads(json.dumps(fit_power_law(X, 2 * X ** -0.3, offset=True).to_dict()))
    assert d["kind"] == "power_law+offset" and set(d["params"]) == {"coef", "exponent", "offset"}
    assert d["r2_space"] == "log" and d["n"] == X.size


def test_exactly_determined_fit_is_flagged_with_intervals_that_say_not_identified():
    """Two points for two parameters (issue 29): the values, but no interval (the whole range,
    not NaN) and a flag saying why."""
    res = fit_power_law([1.0, 10.0], [1.0, 0.5])
    assert res.exponent == pytest.approx(math.log10(2))
    assert res.ci["exponent"] == (-math.inf, math.inf) and res.ci["coef"] == (0.0, math.inf)
    assert "2 points for 2 parameters" in res.flags["*"] and not res.ok


def test_offset_fit_with_a_positive_floor_is_not_flagged():
    res = fit_power_law(X, 2 * X ** -0.3 + 0.05, offset=True)
    assert res.ok and not res.info["offset_at_bound"]


def test_offset_fit_that_wants_a_negative_floor_is_flagged():
    res = fit_power_law(X, 2 * X ** -0.3 - 0.002, offset=True)  # the data want offset = -0.002 < 0
    assert res.offset == pytest.approx(0.0, abs=1e-12)
    assert "*" in res.flags and res.info["offset_at_bound"]
