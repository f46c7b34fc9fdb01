"""pass@k: exact values, edge cases, monotonicity, unbiasedness, and the plug-in's bias."""

from __future__ import annotations

from math import comb

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from scaling_claims.studies.metrics import pass_at_k, pass_at_k_plugin


@st.composite
def nck(draw, max_n=40):
    n = draw(st.integers(1, max_n))
    return n, draw(st.integers(0, n)), draw(st.integers(1, n))


@given(nck())
def test_equals_exact_combinatorial_value(t):
    n, c, k = t
    assert pass_at_k(n, c, k) == pytest.approx(1 - comb(n - c, k) / comb(n, k), abs=1e-12)


@given(nck())
def test_is_one_when_fewer_than_k_failures(t):
    n, c, k = t
    if n - c < k:
        assert pass_at_k(n, c, k) == 1.0
    else:
        assert pass_at_k(n, c, k) < 1.0


@given(nck(max_n=200))
def test_monotone_in_k_and_in_c(t):
    n, c, _ = t
    ks = np.arange(1, n + 1)
    vals = pass_at_k(n, c, ks)
    assert np.all(np.diff(vals) >= -1e-12)
    if c < n:
        assert pass_at_k(n, c + 1, 1) >= pass_at_k(n, c, 1)


# p: 0 or >= 1e-12 (scipy's binom.pmf overflows in its incomplete-beta derivative for p ~ 1e-308)
@given(n=st.integers(1, 60), p=st.just(0.0) | st.floats(1e-12, 1.0), data=st.data())
def test_unbiased_over_binomial_counts(n, p, data):
    k = data.draw(st.integers(1, n))
    c = np.arange(n + 1)
    expectation = float(np.sum(stats.binom.pmf(c, n, p) * pass_at_k(n, c, k)))
    assert expectation == pytest.approx(1 - (1 - p) ** k, abs=1e-9)


def test_plugin_is_biased_low():
    n, k, p = 10, 5, 0.1
    c = np.arange(n + 1)
    w = stats.binom.pmf(c, n, p)
    truth = 1 - (1 - p) ** k
    assert np.sum(w * pass_at_k(n, c, k)) == pytest.approx(truth, abs=1e-12)
    assert np.sum(w * pass_at_k_plugin(n, c, k)) < truth - 0.03


def test_vectorised_and_stable_for_large_n():
    n = np.array([10, 10, 10, 5000])
    c = np.array([0, 3, 10, 7])
    out = pass_at_k(n, c, 2)
    assert out.shape == (4,)
    assert out[0] == 0.0 and out[2] == 1.0
    assert out[1] == pytest.approx(1 - comb(7, 2) / comb(10, 2))
    # comb(5000, 2)-style ratios overflow float64 for huge k; the product form does not
    big = pass_at_k(5000, 7, 1000)
    assert big == pytest.approx(1 - comb(4993, 1000) / comb(5000, 1000), rel=1e-9)
    assert 0 < big < 1
    assert isinstance(pass_at_k(10, 3, 2), float)


@pytest.mark.parametrize("n,c,k,match", [
    (10, 11, 1, "0 <= c <= n"),
    (10, -1, 1, "0 <= c <= n"),
    (10, 3, 11, "1 <= k <= n"),
    (10, 3, 0, "1 <= k <= n"),
    (0, 0, 1, "n .* >= 1"),
    (10.5, 3, 1, "whole numbers"),
    (float("nan"), 3, 1, "finite"),
    ([10, 10], [1, 2, 3], 1, "incompatible shapes"),
])
def test_bad_input(n, c, k, match):
    with pytest.raises(ValueError, match=match):
        pass_at_k(n, c, k)
