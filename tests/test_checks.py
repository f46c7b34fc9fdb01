"""Unit tests of ``scaling_claims.checks``: each kind passes on data that satisfies it, reports
its numbers, raises ``AssertionError`` from ``require()`` when it fails and ``ValueError`` on
bad input. (Data that violates each claim is in test_negative_controls.py.)"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scaling_claims import checks
from scaling_claims.checks import Check

finite = st.floats(-1e6, 1e6, allow_nan=False)


def test_check_require_and_dict():
    ok = checks.within_band("b", 0.5, 0.4, 0.6)
    assert ok.passed and bool(ok) and ok.require() is ok
    bad = checks.within_band("b", 0.7, 0.4, 0.6)
    with pytest.raises(AssertionError, match=r"b: 0.7 outside \[0.4, 0.6\]"):
        bad.require()
    json.dumps(bad.to_dict())  # JSON-ready
    assert checks.monotone("m", [3.0, 2.0, 1.0]).to_dict()["measured"] == [3.0, 2.0, 1.0]


@given(v=finite, lo=finite, width=st.floats(0, 1e6))
def test_within_band_matches_definition(v, lo, width):
    assert checks.within_band("x", v, lo, lo + width).passed == (lo <= v <= lo + width)


@given(m=finite, e=finite.filter(lambda e: abs(e) > 1e-3), rtol=st.floats(0, 10))
def test_relative_error_matches_definition(m, e, rtol):
    assert checks.relative_error("x", m, e, rtol).passed == (abs(m - e) / abs(e) <= rtol)


@given(st.lists(finite, min_size=2, max_size=30, unique=True))
def test_sorted_curves_are_monotone(values):
    assert checks.monotone("inc", sorted(values), "increasing").passed
    assert checks.monotone("dec", sorted(values, reverse=True), "decreasing").passed


def test_monotone_noise_allowance():
    y = [1.0, 0.8, 0.81, 0.6]
    assert not checks.monotone("strict", y).passed
    assert checks.monotone("2% allowance", y, noise=0.02).passed
    assert "step 1->2" in checks.monotone("strict", y).message


def test_thresholds():
    assert checks.at_least("a", 2, 1).passed and not checks.at_least("a", 0.5, 1).passed
    assert checks.at_most("a", 1, 2).passed and not checks.at_most("a", 3, 2).passed
    assert checks.r2_at_least("r2", 0.97, 0.95).passed and not checks.r2_at_least("r2", 0.9, 0.95).passed
    assert checks.ratio_at_least("r", 6, 2, 3).passed and not checks.ratio_at_least("r", 5, 2, 3).passed
    assert checks.ratio_at_most("r", 2, 2, 1.1).passed and not checks.ratio_at_most("r", 3, 2, 1.1).passed
    assert checks.within_standard_errors("se", 1.02, 1.0, 0.01).passed
    assert not checks.within_standard_errors("se", 1.05, 1.0, 0.01).passed


def test_curve_shapes():
    x = np.arange(1, 8.0)
    bowl = (x - 4) ** 2 + 1
    assert checks.interior_minimum("bowl", x, bowl).passed
    assert checks.interior_maximum("hill", x, -bowl + 20, drop=0.2).passed
    assert checks.argmax_in_window("peak at 4", x, -bowl, 3.5, 4.5).passed
    assert checks.grows_with("grows", x, x ** 0.5).passed
    assert checks.peak_ratio_at_least("peak", 9, 3, 3).passed
    assert checks.no_peak("monotone", x, 1 / x).passed
    assert checks.no_peak("U-shape (classical overfitting) is not a peak", x, bowl).passed


def test_comparisons():
    assert checks.ordered("a<b", 1, 2).passed and not checks.ordered("a<b", 2, 2).passed
    assert checks.ordered("a<=b", 2, 2, strict=False).passed
    assert checks.steeper_than("s", 2.0, 1.0).passed
    assert checks.steeper_than("s", 2.0, 1.0, ci_a=(1.8, 2.2), ci_b=(0.8, 1.2)).passed
    assert not checks.steeper_than("s", 2.0, 1.0, ci_a=(1.0, 3.0), ci_b=(0.8, 1.2)).passed
    assert checks.agree_within_ci("ci", 0.5, (0.4, 0.6), 0.55, (0.5, 0.7)).passed
    acc = np.array([[0.9, 0.9], [0.5, 0.6]])
    assert checks.product_close("em", acc.prod(axis=1) + 0.01, acc, 0.05).passed
    assert checks.product_close("one model", 0.81, [0.9, 0.9], 0.01).passed


@pytest.mark.parametrize("call", [
    lambda: checks.within_band("x", math.nan, 0, 1),
    lambda: checks.within_band("x", 0.5, 1, 0),
    lambda: checks.relative_error("x", 1, 0, 0.1),
    lambda: checks.relative_error("x", 1, 1, -0.1),
    lambda: checks.r2_at_least("x", 0.9, 1.5),
    lambda: checks.monotone("x", [1.0]),
    lambda: checks.monotone("x", [1.0, 2.0], "sideways"),
    lambda: checks.monotone("x", [1.0, np.inf]),
    lambda: checks.grows_with("x", [1, 2], [1, 2, 3]),
    lambda: checks.grows_with("x", [0, 1], [1, 2]),
    lambda: checks.interior_minimum("x", [1, 2], [1, 2]),
    lambda: checks.interior_minimum("x", [1, 1, 2], [1, 2, 3]),
    lambda: checks.argmax_in_window("x", [1, 2], [1, 2], 3, 2),
    lambda: checks.peak_ratio_at_least("x", 1, 0, 2),
    lambda: checks.no_peak("x", [1, 2, 3], [1, -1, 1]),
    lambda: checks.product_close("x", [0.5, 0.5], [[0.5, 0.5]], 0.1),
    lambda: checks.product_close("x", [1.5], [[0.5, 0.5]], 0.1),
    lambda: checks.agree_within_ci("x", 0.5, (0.6, 0.7), 0.5, (0.4, 0.6)),
    lambda: checks.within_standard_errors("x", 1, 1, 0),
    lambda: checks.ratio_at_least("x", 1, 0, 1),
    lambda: checks.ordered("x", "a", 1),
])
def test_bad_input_raises_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_check_is_frozen():
    c = Check("n", True, 1, 1, None, "m")
    with pytest.raises(Exception):
        c.passed = False  # type: ignore[misc]
