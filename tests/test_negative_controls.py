"""Negative controls: for each assertion kind, data that violates the claim, fed to the same
check the claim tests use, must make it fail (CLAIMS.md: "every assertion must be able to
fail. Prove it"). The violating data is the kind a broken experiment would produce: a flat
curve, a shuffled curve, a law with another exponent, a ridgeless curve for the ridge control,
the biased plug-in estimator, correlated errors, a peak in the wrong place."""

from __future__ import annotations

import numpy as np
import pytest

from scaling_claims import checks, theory
from scaling_claims.fit import fit_coverage_law, fit_gao, fit_power_law
from scaling_claims.metrics import pass_at_k_plugin

N = np.geomspace(1e3, 1e6, 8)


def test_band_rejects_a_law_with_another_exponent():
    # Kaplan-style band [0.03, 0.3] vs a law with exponent 0.5
    assert not checks.within_band("alpha_N", fit_power_law(N, 3 * N ** -0.5).exponent, 0.03, 0.3).passed


def test_hutter_band_rejects_the_wrong_a():
    n = np.geomspace(1e2, 1e5, 8)
    b = fit_power_law(n, theory.hutter_expected_error(n, 1.0, m=200_000)).exponent  # b = 0.5
    assert not checks.within_band("b for a = 0.5", b, 1 / 3 - 0.02, 1 / 3 + 0.02).passed


def test_r2_rejects_a_shuffled_curve():
    rng = np.random.default_rng(0)
    y = rng.permutation(2 * N ** -0.1 + rng.normal(0, 0.05, N.size) + 1)
    assert not checks.r2_at_least("power law fits", fit_power_law(N, y).r2, 0.95).passed


def test_relative_error_rejects_a_bad_extrapolation():
    fit = fit_power_law(N[:-1], 5 * N[:-1] ** -0.2)
    truth = 5 * N[-1] ** -0.05  # the largest point follows another law
    assert not checks.relative_error("extrapolation", fit.predict(N[-1:])[0], truth, 0.05).passed


def test_standard_errors_reject_the_biased_plugin_estimator():
    rng = np.random.default_rng(1)
    p = rng.beta(0.5, 2.0, 4000)
    c = rng.binomial(20, p)
    err = pass_at_k_plugin(20, c, 10) - (1 - (1 - p) ** 10)
    assert not checks.within_standard_errors("unbiased", err.mean(), 0.0, err.std() / np.sqrt(p.size)).passed


def test_monotone_rejects_a_shuffled_curve():
    y = 2 * N ** -0.1
    assert not checks.monotone("decreasing", np.random.default_rng(0).permutation(y), "decreasing").passed
    assert not checks.monotone("increasing", y, "increasing", noise=0.01).passed


@pytest.mark.parametrize("y", [np.ones(8), 1 / np.arange(1, 9.0)], ids=["flat", "falling"])
def test_grows_with_rejects_flat_or_falling(y):
    assert not checks.grows_with("N_opt grows with C", N, y).passed


def test_interior_minimum_rejects_a_monotone_isoflop_curve():
    assert not checks.interior_minimum("isoFLOP minimum", N, 1 + N ** -0.2).passed


def test_interior_maximum_rejects_the_gaussian_best_of_n_shape():
    n = 2.0 ** np.arange(0, 12)
    gold_rising = np.sqrt(np.log(n) + 0.1)
    assert not checks.interior_maximum("rise then fall", n, gold_rising, drop=0.2).passed
    hump_ends_high = np.array([0.0, 0.5, 0.9, 1.0, 0.95, 0.9])
    assert not checks.interior_maximum("ends >= 20% below", np.arange(6.0), hump_ends_high, drop=0.2).passed


def test_peak_checks_reject_a_peak_in_the_wrong_place_and_a_flat_curve():
    gamma = np.array([0.25, 0.5, 0.8, 1.0, 1.25, 2.0, 4.0])
    shifted = theory.min_norm_risk(gamma / 2.0, 1.0, 0.25)  # threshold at gamma = 2
    shifted = np.where(np.isfinite(shifted), shifted, 1e3)
    assert not checks.argmax_in_window("argmax near p = n", gamma, shifted, 0.8, 1.25).passed
    flat = np.full(gamma.size, 0.7)
    assert not checks.peak_ratio_at_least("peak vs n/4", flat.max(), flat[0], 3.0).passed


def test_no_peak_rejects_the_ridgeless_curve():
    gamma = np.array([0.25, 0.5, 0.8, 0.95, 1.05, 1.25, 2.0, 4.0])
    assert not checks.no_peak("ridge control", gamma, theory.min_norm_risk(gamma, 1.0, 0.25), 0.05).passed


def test_ordering_and_ratios_reject_the_reverse():
    assert not checks.ordered("ALiBi < RoPE at 4L", 3.2, 2.1, labels=("alibi", "rope")).passed
    assert not checks.ratio_at_most("ALiBi ppl(4L)/ppl(L) <= 1.1", 1.6, 1.0, 1.1).passed
    assert not checks.ratio_at_least("sinusoidal >= 1.5x", 1.05, 1.0, 1.5).passed
    assert not checks.at_most("shape spread", 0.2, 0.05).passed
    assert not checks.at_least("t_gen / t_mem", 1.2, 5).passed


def test_product_close_rejects_correlated_errors():
    acc = np.full((3, 4), 0.6)  # product 0.13, but the errors are perfectly correlated: EM = 0.6
    assert not checks.product_close("|EM - prod acc|", np.full(3, 0.6), acc, 0.05).passed


def test_steeper_than_rejects_equal_slopes():
    assert not checks.steeper_than("EM steeper than per-digit", 4.0, 4.0).passed
    assert not checks.steeper_than("EM steeper (CIs)", 4.5, 4.0, ci_a=(3.5, 5.5), ci_b=(3.0, 5.0)).passed


def test_agree_within_ci_rejects_disjoint_estimates():
    assert not checks.agree_within_ci("approaches agree", 0.5, (0.48, 0.52), 0.7, (0.65, 0.75)).passed


def test_coverage_law_fit_rejects_a_curve_that_is_not_one():
    k = np.geomspace(1, 250, 15)
    step = np.where(k < 20, 0.2, 0.9)  # a step, not a power law in -log c
    assert not checks.r2_at_least("coverage law fits", fit_coverage_law(k, step).r2, 0.95).passed


def test_gao_peak_check_rejects_a_monotone_curve():
    d = np.sqrt(np.log(2.0 ** np.arange(1, 12)))
    fit = fit_gao(d, 0.9 * d)  # no over-optimisation: beta ~ 0, peak far outside
    peak = fit.alpha / (2 * fit.beta) if fit.beta != 0 else np.inf
    assert not (np.isfinite(peak) and checks.within_band("peak inside", peak, d.min(), d.max()).passed)
