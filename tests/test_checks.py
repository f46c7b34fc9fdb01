"""Unit tests of ``scaling_claims.verdicts.checks``: every kind decides from where a whole interval lies,
returning confirmed / refuted / inconclusive on explicit :class:`Estimate` s and :class:`Curve` s;
its message carries the numbers; an estimate with a ``problem`` is inconclusive; bad input
(a bare number, NaN, an inverted band) raises ``ValueError``; ``combine`` turns a claim's checks
into its verdict. (Realistic data that drives each kind to each verdict is in
test_negative_controls.py.)"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from scaling_claims.verdicts import checks
from scaling_claims.verdicts.checks import CONFIRMED, INCONCLUSIVE, REFUTED, Check
from scaling_claims.verdicts.estimates import Curve, Estimate

finite = st.floats(-1e6, 1e6, allow_nan=False)
BAD = Estimate(0.5, math.nan, math.nan, method="test", problem="the fit ended at a bound")


def E(value, lo, hi, level=0.95):
    return Estimate(value, lo, hi, level, "test interval")


def noisy_curve(x, y, sd, seed=0, n=400):
    """A curve with ``n`` resampled copies: y plus independent normal noise of sd ``sd``."""
    y = np.asarray(y, float)
    return Curve(np.asarray(x, float), y, y + np.random.default_rng(seed).normal(0, sd, (n, y.size)), 0.95,
                 "percentile bootstrap over test resamples (400 resamples)")


# ----------------------------------------------------------------------------- Check and combine

def test_check_dict_is_json_ready_and_frozen():
    c = checks.within_band("b", E(0.5, 0.45, 0.55), 0.4, 0.6)
    assert c.verdict == CONFIRMED and c.passed
    d = c.to_dict()
    json.dumps(d)
    assert d["verdict"] == "confirmed" and d["passed"] is True
    assert d["measured"] == {"value": 0.5, "lo": 0.45, "hi": 0.55, "level": 0.95, "method": "test interval",
                             "problem": ""}
    assert d["expected"] == [0.4, 0.6]
    bad = checks.within_band("b", BAD, 0.4, 0.6).to_dict()
    assert bad["measured"]["lo"] is None and bad["passed"] is False  # NaN written as null
    json.dumps(bad)
    with pytest.raises(Exception):
        c.verdict = REFUTED  # type: ignore[misc]


def _c(verdict, name="c"):
    return Check(name, verdict, None, None, f"{name} is {verdict}")


def test_combine():
    assert checks.combine([]) == (INCONCLUSIVE, "no check was recorded")
    assert checks.combine([_c(CONFIRMED), _c(CONFIRMED)]) == (CONFIRMED, "all 2 check(s) confirmed")
    verdict, why = checks.combine([_c(CONFIRMED), _c(INCONCLUSIVE, "x")])
    assert verdict == INCONCLUSIVE and "x: x is inconclusive" in why
    verdict, why = checks.combine([_c(CONFIRMED), _c(INCONCLUSIVE, "x"), _c(REFUTED, "y")])
    assert verdict == REFUTED and why == "y: y is refuted"  # the refutation's reason only


@given(st.lists(st.sampled_from([CONFIRMED, REFUTED, INCONCLUSIVE]), min_size=1, max_size=6))
def test_combine_is_a_conjunction(verdicts):
    expected = REFUTED if REFUTED in verdicts else CONFIRMED if set(verdicts) == {CONFIRMED} else INCONCLUSIVE
    assert checks.combine([_c(v) for v in verdicts])[0] == expected


# ----------------------------------------------------------------------------- thresholds

def test_within_band_three_verdicts_and_messages():
    ok = checks.within_band("alpha", E(0.5, 0.45, 0.55), 0.4, 0.6)
    assert ok.verdict == CONFIRMED and ok.message == "0.5 [0.45, 0.55] (95%) lies inside [0.4, 0.6]"
    out = checks.within_band("alpha", E(0.8, 0.7, 0.9), 0.4, 0.6)
    assert out.verdict == REFUTED and out.message == "0.8 [0.7, 0.9] (95%) lies outside [0.4, 0.6]"
    edge = checks.within_band("alpha", E(0.58, 0.55, 0.65), 0.4, 0.6)
    assert edge.verdict == INCONCLUSIVE and "straddles 0.6" in edge.message and "0.58 [0.55, 0.65]" in edge.message
    low = checks.within_band("alpha", E(0.38, 0.3, 0.45), 0.4, 0.6)
    assert low.verdict == INCONCLUSIVE and "straddles 0.4" in low.message
    wide = checks.within_band("alpha", E(0.5, 0.2, 0.9), 0.4, 0.6)  # wider than the band: never confirmed
    assert wide.verdict == INCONCLUSIVE
    exact = checks.within_band("closed form", Estimate.exact(0.5, "closed form"), 0.4, 0.6)
    assert exact.verdict == CONFIRMED and "0.5 (exact)" in exact.message


@given(v=finite, below=st.floats(0, 1e3), above=st.floats(0, 1e3), lo=finite, width=st.floats(0, 1e6))
def test_within_band_matches_definition(v, below, above, lo, width):
    e, hi = E(v, v - below, v + above), lo + width
    verdict = checks.within_band("x", e, lo, hi).verdict
    if lo <= e.lo and e.hi <= hi:
        assert verdict == CONFIRMED
    elif e.hi < lo or e.lo > hi:
        assert verdict == REFUTED
    else:
        assert verdict == INCONCLUSIVE


@given(v=finite, below=st.floats(0, 1e3), above=st.floats(0, 1e3), lo=finite, width=st.floats(0, 1e6))
def test_outside_band_is_within_band_mirrored(v, below, above, lo, width):
    e = E(v, v - below, v + above)
    inside = checks.within_band("x", e, lo, lo + width).verdict
    outside = checks.outside_band("x", e, lo, lo + width).verdict
    assert outside == {CONFIRMED: REFUTED, REFUTED: CONFIRMED, INCONCLUSIVE: INCONCLUSIVE}[inside]


def test_outside_band_three_verdicts():
    c = checks.outside_band("ratio differs from 1", E(1.5, 1.3, 1.7), 0.9, 1.1)
    assert c.verdict == CONFIRMED and "1.5 [1.3, 1.7] (95%) lies outside [0.9, 1.1]" == c.message
    r = checks.outside_band("ratio differs from 1", E(1.0, 0.95, 1.05), 0.9, 1.1)
    assert r.verdict == REFUTED and "lies inside [0.9, 1.1]" in r.message
    i = checks.outside_band("ratio differs from 1", E(1.15, 1.05, 1.25), 0.9, 1.1)
    assert i.verdict == INCONCLUSIVE and "overlaps [0.9, 1.1]" in i.message
    assert c.expected == "outside [0.9, 1.1]"


def test_at_least_at_most_r2():
    assert checks.at_least("acc", E(0.985, 0.97, 0.99), 0.95).verdict == CONFIRMED
    below = checks.at_least("acc", E(0.75, 0.7, 0.8), 0.95)
    assert below.verdict == REFUTED and "0.75 [0.7, 0.8]" in below.message and "0.95" in below.message
    near = checks.at_least("acc", E(0.96, 0.94, 0.98), 0.95)
    assert near.verdict == INCONCLUSIVE and "straddles 0.95" in near.message
    assert checks.at_most("loss increase", E(0.05, 0.02, 0.08), 0.1).verdict == CONFIRMED
    above = checks.at_most("loss increase", E(0.31, 0.25, 0.37), 0.1)
    assert above.verdict == REFUTED and "0.31 [0.25, 0.37]" in above.message and above.expected == "<= 0.1"
    assert checks.at_most("loss increase", E(0.09, 0.05, 0.13), 0.1).verdict == INCONCLUSIVE
    assert checks.r2_at_least("r2 (log)", E(0.99, 0.985, 0.995), 0.95).verdict == CONFIRMED
    assert checks.r2_at_least("r2 (log)", E(0.6, 0.4, 0.8), 0.95).verdict == REFUTED
    assert checks.r2_at_least("r2 (log)", E(0.96, 0.9, 0.99), 0.95).verdict == INCONCLUSIVE
    # the threshold itself counts as satisfying (>=, <=)
    assert checks.at_least("x", Estimate.exact(1.0, "identity"), 1.0).verdict == CONFIRMED
    assert checks.at_most("x", Estimate.exact(1.0, "identity"), 1.0).verdict == CONFIRMED


def test_relative_error():
    c = checks.relative_error("extrapolation", E(2.02, 1.98, 2.06), 2.0, 0.05)
    assert c.verdict == CONFIRMED and "2 +-5% = [1.9, 2.1]" in c.message
    assert checks.relative_error("extrapolation", E(2.5, 2.4, 2.6), 2.0, 0.05).verdict == REFUTED
    assert checks.relative_error("extrapolation", E(2.08, 2.0, 2.16), 2.0, 0.05).verdict == INCONCLUSIVE
    # a negative expected value: the band is still [lo, hi]
    assert checks.relative_error("neg", E(-2.0, -2.05, -1.95), -2.0, 0.05).verdict == CONFIRMED


@given(m=finite, e=finite.filter(lambda e: abs(e) > 1e-3), rtol=st.floats(0, 10))
def test_relative_error_of_an_exact_value_matches_definition(m, e, rtol):
    lo, hi = sorted((e * (1 - rtol), e * (1 + rtol)))
    assume(min(abs(m - lo), abs(m - hi)) > 1e-9 * max(1.0, abs(e)))  # float rounding at the edges
    verdict = checks.relative_error("x", Estimate.exact(m, "exact"), e, rtol).verdict
    assert verdict == (CONFIRMED if abs(m - e) / abs(e) <= rtol else REFUTED)


# ----------------------------------------------------------------------------- comparisons

def test_ordered():
    c = checks.ordered("alibi < rope", E(0.4, 0.2, 0.6), labels=("alibi", "rope"))
    assert c.verdict == CONFIRMED and c.message == "rope - alibi = 0.4 [0.2, 0.6] (95%) > 0: alibi < rope"
    r = checks.ordered("alibi < rope", E(-0.4, -0.6, -0.2), labels=("alibi", "rope"))
    assert r.verdict == REFUTED and "< 0: the reverse of alibi < rope" in r.message
    i = checks.ordered("alibi < rope", E(0.1, -0.1, 0.3), labels=("alibi", "rope"))
    assert i.verdict == INCONCLUSIVE and "includes 0" in i.message
    # an interval touching 0 is not wholly on one side
    assert checks.ordered("a < b", E(0.1, 0.0, 0.2)).verdict == INCONCLUSIVE


def test_steeper_than_independent_difference_in_quadrature():
    # overlapping intervals, but the difference's interval (half-widths in quadrature) excludes 0
    c = checks.steeper_than("EM steeper", E(2.0, 1.7, 2.3), E(1.5, 1.2, 1.8), labels=("EM", "digit"))
    assert c.verdict == CONFIRMED and c.measured.lo == pytest.approx(0.5 - math.hypot(0.3, 0.3))
    assert "EM - digit = 0.5 [0.07574, 0.9243]" in c.message
    assert checks.steeper_than("s", E(1.0, 0.9, 1.1), E(2.0, 1.9, 2.1)).verdict == REFUTED
    i = checks.steeper_than("s", E(4.5, 3.5, 5.5), E(4.0, 3.0, 5.0))
    assert i.verdict == INCONCLUSIVE and "includes 0" in i.message
    # equal slopes with tight intervals are never "steeper"
    assert checks.steeper_than("s", E(4.0, 3.99, 4.01), E(4.0, 3.99, 4.01)).verdict == INCONCLUSIVE


def test_steeper_than_paired_difference_wins():
    a, b = E(4.5, 3.5, 5.5), E(4.0, 3.0, 5.0)
    paired = E(0.5, 0.3, 0.7)  # e.g. a bootstrap of the difference over shared seeds
    assert checks.steeper_than("s", a, b, paired=paired).verdict == CONFIRMED
    assert checks.steeper_than("s", a, b, paired=E(-0.5, -0.7, -0.3)).verdict == REFUTED
    with pytest.raises(ValueError):
        checks.steeper_than("s", a, b, paired=0.5)


def test_agree_within():
    c = checks.agree_within("a_N vs a_D", E(0.02, -0.03, 0.07), 0.1, labels=("approach 1", "approach 2"))
    assert c.verdict == CONFIRMED and "0.02 [-0.03, 0.07] (95%) lies inside +-0.1 (approach 1 - approach 2)" == c.message
    assert c.expected == "|approach 1 - approach 2| <= 0.1"
    assert checks.agree_within("x", E(0.3, 0.2, 0.4), 0.1).verdict == REFUTED
    assert checks.agree_within("x", E(-0.3, -0.4, -0.2), 0.1).verdict == REFUTED
    i = checks.agree_within("x", E(0.02, -0.33, 0.37), 0.1)  # wide intervals: equivalence not shown
    assert i.verdict == INCONCLUSIVE and "straddles" in i.message


def test_all_within():
    es = [E(0.5, 0.45, 0.55), E(0.52, 0.47, 0.57), E(0.48, 0.43, 0.53)]
    c = checks.all_within("exponents", es, 0.4, 0.6, labels=["1e17", "1e18", "1e19"])
    assert c.verdict == CONFIRMED and c.message.startswith("3 of 3 inside [0.4, 0.6]")
    r = checks.all_within("exponents", es[:2] + [E(0.9, 0.8, 1.0)], 0.4, 0.6, labels=["a", "b", "c"])
    assert r.verdict == REFUTED and "2 of 3 inside" in r.message and "c: 0.9 [0.8, 1]" in r.message
    i = checks.all_within("exponents", es[:2] + [E(0.6, 0.55, 0.65)], 0.4, 0.6)
    assert i.verdict == INCONCLUSIVE and "2: 0.6 [0.55, 0.65]" in i.message
    # one refuted beats one inconclusive
    assert checks.all_within("e", [E(0.6, 0.55, 0.65), E(0.9, 0.8, 1.0)], 0.4, 0.6).verdict == REFUTED
    assert checks.all_within("e", [E(0.5, 0.45, 0.55), BAD], 0.4, 0.6).verdict == INCONCLUSIVE
    assert c.expected == [0.4, 0.6] and len(c.measured) == 3


# ----------------------------------------------------------------------------- problems and bad input

ESTIMATE_KINDS = {
    "within_band": lambda e: checks.within_band("x", e, 0, 1),
    "outside_band": lambda e: checks.outside_band("x", e, 2, 3),
    "at_least": lambda e: checks.at_least("x", e, 0),
    "at_most": lambda e: checks.at_most("x", e, 1),
    "r2_at_least": lambda e: checks.r2_at_least("x", e, 0.1),
    "relative_error": lambda e: checks.relative_error("x", e, 0.5, 0.5),
    "ordered": lambda e: checks.ordered("x", e),
    "steeper_than": lambda e: checks.steeper_than("x", e, E(0.1, 0.05, 0.15)),
    "steeper_than (b)": lambda e: checks.steeper_than("x", E(5.0, 4.9, 5.1), e),
    "steeper_than (paired)": lambda e: checks.steeper_than("x", E(5.0, 4.9, 5.1), E(0.1, 0.0, 0.2), paired=e),
    "agree_within": lambda e: checks.agree_within("x", e, 1.0),
    "all_within": lambda e: checks.all_within("x", [E(0.5, 0.4, 0.6), e], 0, 1),
}


@pytest.mark.parametrize("kind", list(ESTIMATE_KINDS))
def test_an_estimate_with_a_problem_is_inconclusive(kind):
    # value 0.5 would confirm every one of these with a usable interval
    assert ESTIMATE_KINDS[kind](E(0.5, 0.45, 0.55)).verdict == CONFIRMED
    c = ESTIMATE_KINDS[kind](BAD)
    assert c.verdict == INCONCLUSIVE
    assert "the fit ended at a bound" in c.message or kind == "all_within"


@pytest.mark.parametrize("kind", list(ESTIMATE_KINDS))
def test_a_bare_number_is_refused(kind):
    with pytest.raises(ValueError, match="Estimate"):
        ESTIMATE_KINDS[kind](0.5)


@pytest.mark.parametrize("call", [
    lambda: checks.within_band("x", E(0.5, 0.4, 0.6), math.nan, 1),
    lambda: checks.within_band("x", E(0.5, 0.4, 0.6), 1, 0),
    lambda: checks.within_band("x", E(0.5, 0.4, 0.6), "a", 1),
    lambda: checks.outside_band("x", E(0.5, 0.4, 0.6), 1, 0),
    lambda: checks.at_least("x", E(0.5, 0.4, 0.6), math.inf),
    lambda: checks.at_most("x", E(0.5, 0.4, 0.6), None),
    lambda: checks.relative_error("x", E(1, 0.9, 1.1), 0, 0.1),
    lambda: checks.relative_error("x", E(1, 0.9, 1.1), 1, -0.1),
    lambda: checks.r2_at_least("x", E(0.9, 0.8, 0.95), 1.5),
    lambda: checks.agree_within("x", E(0.0, -0.1, 0.1), 0),
    lambda: checks.agree_within("x", E(0.0, -0.1, 0.1), -0.1),
    lambda: checks.all_within("x", [], 0, 1),
    lambda: checks.all_within("x", [E(0.5, 0.4, 0.6), 0.5], 0, 1),
    lambda: checks.ordered("x", (1.0, 2.0)),
    lambda: checks.monotone("x", [3.0, 2.0, 1.0]),
    lambda: checks.monotone("x", Curve.exact([1.0], [1.0], "one point")),
    lambda: checks.monotone("x", Curve.exact([1.0, 2.0], [2.0, 1.0], "two points"), "sideways"),
    lambda: checks.interior_minimum("x", Curve.exact([1, 2], [1, 2], "two points")),
    lambda: checks.interior_minimum("x", np.array([3.0, 1.0, 2.0])),
    lambda: checks.interior_maximum("x", Curve.exact([1, 2], [1, 2], "two points")),
    lambda: checks.interior_maximum("x", Curve.exact([1, 2, 3], [1, 2, 1], "hill"), drop=-0.1),
    lambda: checks.argmax_in_window("x", Curve.exact([1, 2, 3], [1, 2, 1], "hill"), 3, 2),
    lambda: checks.argmax_in_window("x", Curve.exact([1, 2, 3], [1, 2, 1], "hill"), math.nan, 2),
    lambda: checks.no_peak("x", Curve.exact([1, 2, 3], [1, -1, 1], "negative"), 0.1),
    lambda: checks.no_peak("x", Curve.exact([1, 2], [1, 2], "two points"), 0.1),
    lambda: checks.no_peak("x", Curve.exact([1, 2, 3], [3, 2, 1], "falling"), -0.1),
])
def test_bad_input_raises_value_error(call):
    with pytest.raises(ValueError):
        call()


# ----------------------------------------------------------------------------- curve shapes

X = np.arange(1, 8.0)


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=2, max_size=30, unique=True))
def test_sorted_exact_curves_are_monotone(values):
    x = np.arange(len(values), dtype=float)
    assert checks.monotone("inc", Curve.exact(x, sorted(values), "test"), "increasing").verdict == CONFIRMED
    assert checks.monotone("dec", Curve.exact(x, sorted(values, reverse=True), "test")).verdict == CONFIRMED
    assert checks.monotone("dec", Curve.exact(x, sorted(values), "test")).verdict == REFUTED


def test_monotone_three_verdicts():
    y = 2 * X ** -0.5
    c = checks.monotone("falls", noisy_curve(X, y, 0.005))
    assert c.verdict == CONFIRMED and "decreasing at every step" in c.message and len(c.measured) == X.size - 1
    bumped = y.copy()
    bumped[3] = bumped[2] + 0.2  # a clear step up
    r = checks.monotone("falls", noisy_curve(X, bumped, 0.005))
    assert r.verdict == REFUTED and "3->4: refuted" in r.message
    flat = checks.monotone("falls", noisy_curve(X, np.ones(X.size), 0.05))
    assert flat.verdict == INCONCLUSIVE and "inconclusive" in flat.message
    assert checks.monotone("rises", noisy_curve(X, -y, 0.005), "increasing").verdict == CONFIRMED


def test_monotone_on_given_steps():
    """Steps measured directly (e.g. paired differences over seeds) instead of a Curve."""
    falling = [E(-0.3, -0.4, -0.2), E(-0.2, -0.25, -0.15)]
    c = checks.monotone("falls", falling)
    assert c.verdict == CONFIRMED and "decreasing at every step" in c.message
    assert [s.value for s in c.measured] == [0.3, 0.2]  # signed so that > 0 goes the claimed way
    assert checks.monotone("rises", falling, "increasing").verdict == REFUTED
    i = checks.monotone("falls", [E(-0.3, -0.4, -0.2), E(0.05, -0.05, 0.15)])
    assert i.verdict == INCONCLUSIVE and "step 1->2: inconclusive" in i.message
    assert checks.monotone("falls", [E(-0.3, -0.4, -0.2), BAD]).verdict == INCONCLUSIVE
    for bad in ([], [0.3, 0.2], [E(-0.3, -0.4, -0.2), -0.2]):
        with pytest.raises(ValueError):
            checks.monotone("falls", bad)


def test_interior_minimum_three_verdicts():
    bowl = (np.log(X) - np.log(3.0)) ** 2 + 1
    c = checks.interior_minimum("isoFLOP minimum", noisy_curve(X, bowl, 0.01))
    assert c.verdict == CONFIRMED and "minimum 1 at x=3" in c.message and len(c.measured) == 2
    falling = 1 + X ** -0.5  # the right end is the lowest point
    assert checks.interior_minimum("isoFLOP minimum", noisy_curve(X, falling, 0.005)).verdict == REFUTED
    shallow = np.ones(X.size)
    assert checks.interior_minimum("isoFLOP minimum", noisy_curve(X, shallow, 0.05)).verdict == INCONCLUSIVE


def test_interior_maximum_three_verdicts():
    hill = 20 - (X - 4) ** 2
    c = checks.interior_maximum("rise then fall", noisy_curve(X, hill, 0.1), drop=0.2)
    assert c.verdict == CONFIRMED and "interior peak 20 at x=4" in c.message
    assert c.expected == "interior maximum, ends >= 20% below"
    rising = np.sqrt(np.log(X) + 0.1)
    assert checks.interior_maximum("rise then fall", noisy_curve(X, rising, 0.01), drop=0.2).verdict == REFUTED
    hump = np.array([0.0, 0.5, 0.9, 1.0, 0.95, 0.85, 0.8])  # right end 20% below the peak: at the edge
    assert checks.interior_maximum("rise then fall", noisy_curve(X, hump, 0.02), drop=0.2).verdict == INCONCLUSIVE


def test_argmax_in_window_three_verdicts():
    peaked = np.exp(-((X - 4) ** 2))
    c = checks.argmax_in_window("peak at 4", noisy_curve(X, peaked, 0.02), 3.5, 4.5)
    assert c.verdict == CONFIRMED and "[3.5, 4.5]" in c.message and "bootstrap" in c.measured.method
    assert checks.argmax_in_window("peak at 4", noisy_curve(X, np.exp(-((X - 6) ** 2)), 0.02), 3.5, 4.5).verdict == REFUTED
    two_peaks = np.exp(-((X - 4) ** 2)) + np.exp(-((X - 6) ** 2))  # which one is higher: noise decides
    assert checks.argmax_in_window("peak at 4", noisy_curve(X, two_peaks, 0.05), 3.5, 4.5).verdict == INCONCLUSIVE
    exact = checks.argmax_in_window("peak at 4", Curve.exact(X, peaked, "closed form"), 3.5, 4.5)
    assert exact.verdict == CONFIRMED and "4 (exact)" in exact.message


def test_no_peak_three_verdicts():
    falling = 1 / X
    c = checks.no_peak("monotone", noisy_curve(X, falling, 0.002), 0.05)
    assert c.verdict == CONFIRMED and c.expected == "<= 1.05" and "(-inf, 1.05]" in c.message
    bowl = (X - 4) ** 2 + 1  # U-shape (classical overfitting) is not a peak
    assert checks.no_peak("U", Curve.exact(X, bowl, "closed form"), 0.0).verdict == CONFIRMED
    peak = 1 / X
    peak[3] = 1.0  # a spike 3x above the lowest point on its left (the ridgeless double-descent shape)
    r = checks.no_peak("ridge control", noisy_curve(X, peak, 0.002), 0.05)
    assert r.verdict == REFUTED and "largest peak prominence" in r.measured.method
    bump = np.array([1.0, 0.9, 0.8, 0.84, 0.7, 0.6, 0.5])  # 5% above its neighbour: at the tolerance
    assert checks.no_peak("bump", noisy_curve(X, bump, 0.01), 0.05).verdict == INCONCLUSIVE


def test_curve_with_failed_resamples_is_inconclusive():
    y = 2 * X ** -0.5
    samples = y + np.random.default_rng(0).normal(0, 0.001, (100, X.size))
    c = Curve(X, y, samples, 0.95, "percentile bootstrap over seeds (150 resamples)", failures=50)
    why = "the statistic failed on 50 of 150 resamples"
    no_peak = checks.no_peak("p", c, 0.05)
    assert no_peak.verdict == INCONCLUSIVE and why in no_peak.message
    for check in (checks.monotone("m", c), checks.interior_minimum("i", c)):
        assert check.verdict == INCONCLUSIVE, check
        assert all(why in e.problem for e in check.measured)
    argmax = checks.argmax_in_window("a", c, 0.5, 1.5)
    assert argmax.verdict == INCONCLUSIVE and why in argmax.measured.problem
