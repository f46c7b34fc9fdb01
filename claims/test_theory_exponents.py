"""Theory-anchored exponents (see docs/sources.md): laws whose exponent theory predicts exactly,
so the tolerance can be tight. No neural training: NumPy float64, seconds.

- Hutter 2021: a learner that memorises features seen, features drawn with p_i ~ i**-(1+a):
  error ~ n**-b with b = a / (1 + a). Checked on the exact expectation and on simulated curves.
- Linear regression on data with spectrum k**-(1+a) (Maloney, Roberts, Sully 2022; Bahri et al.
  2021): resolution-limited L ~ N**-a (N random projections, infinite data) and L ~ D**-a
  (min-norm least squares on D samples, all features); variance-limited L - L_inf ~ 1/D.

The third theory-anchored exponent, the quantization model's (Michaud et al. 2023: a_N = a,
a_D = a/(a+1) on multitask sparse parity), needs trained networks, not closed forms: it is in
``test_quantization_model.py`` under ``slow``.
"""

from __future__ import annotations

import numpy as np
import pytest

from scaling_claims.studies import theory

from scaling_claims.verdicts import checks, plots
from scaling_claims.verdicts.estimates import Estimate, bootstrap
from scaling_claims.fit import fit_power_law
from scaling_claims.engine.models import linear

HUTTER = "Hutter 2021, Learning Curve Theory"
SPECTRAL = "Maloney, Roberts, Sully 2022; Bahri et al. 2021"
N_BOOT = 1000
# +-0.02 over 3 decades (docs/sources.md, 'Hutter 2021'): the law n**-b is asymptotic; over n in [1e2, 1e5] the
# finite-n curvature of sum_i p_i (1 - p_i)**n moves a straight log-log fit by well under 0.01.
HUTTER_TOL = 0.02
N_HUTTER = np.unique(np.geomspace(1e2, 1e5, 13).astype(int))
M_FEATURES = 1_000_000  # truncated tail mass ~ M**-a: below 1e-3 of the error at n = 1e5 for a >= 0.5
# Simulated memorisers. 20 seeds (0-19) gave a seed-bootstrap interval of the exponent of
# +-0.03 at a = 2, wider than the tolerance, so the interval rule could not decide; the design
# was enlarged to 200 simulations on fresh seeds, declared here before they were run.
HUTTER_SEEDS = range(1000, 1200)
R2_SIM = 0.99  # log space: a straight line over 3 decades; curvature alone would leave R^2 ~ 0.999


def hutter_expectation(a):
    return theory.hutter_exponent(a)


@pytest.mark.quick
@pytest.mark.claim("hutter-b[a={a}]", paper=HUTTER, quantity="b (error ~ n^-b), simulated memorisers",
                   claim="memorising learner on Zipf features p_i ~ i^-(1+a): b = a/(1+a)",
                   paper_value=hutter_expectation, tolerance=f"+-{HUTTER_TOL}; R^2 (log) >= {R2_SIM}",
                   justification="theory's accuracy over a finite range: +-0.02 covers the finite-n curvature of "
                                 "the exact expectation over 3 decades (it moves a straight fit by < 0.01)",
                   param_convention="n/a (no parameters)", seeds=list(HUTTER_SEEDS), budget="n in [1e2, 1e5]")
@pytest.mark.parametrize("a", [0.5, 1.0, 2.0])
def test_hutter_exponent(claim, a):
    b_theory = theory.hutter_exponent(a)
    exact = theory.hutter_expected_error(N_HUTTER, a, m=M_FEATURES)
    sims = np.array([theory.memoriser_error(N_HUTTER, a, M_FEATURES, seed) for seed in HUTTER_SEEDS])
    fit_exact, fit_sim = fit_power_law(N_HUTTER, exact), fit_power_law(N_HUTTER, sims.mean(axis=0))
    boot = bootstrap(lambda i: (lambda f: [f.exponent, f.r2])(fit_power_law(N_HUTTER, sims[i].mean(axis=0))),
                     len(HUTTER_SEEDS), N_BOOT, units="simulated learners")
    b_sim, r2 = boot.estimate(fit_sim.exponent, 0), boot.estimate(fit_sim.r2, 1)
    b_exact = Estimate.exact(fit_exact.exponent, "fit to the exact expected error (no sampling)")
    claim.measured(b_sim)
    claim.note(f"exact-expectation exponent {fit_exact.exponent:.4f}; simulated (mean of {len(HUTTER_SEEDS)}) "
               f"{b_sim.text()}")
    claim.points({"n": N_HUTTER, "expected_error": exact, "simulated_mean": sims.mean(axis=0)})
    claim.fit({"exact": fit_exact, "simulated": fit_sim})
    claim.plot(plots.scaling_plot, N_HUTTER, sims.mean(axis=0), fit=fit_sim, xlabel="samples n",
               ylabel="error (unseen probability mass)", title=f"Hutter learning curve, a = {a}",
               paper_law=(f"exact expectation (b = {b_theory:.3f})",
                          lambda n: theory.hutter_expected_error(n, a, m=M_FEATURES)))
    band = (b_theory - HUTTER_TOL, b_theory + HUTTER_TOL)
    claim.check_all(
        checks.within_band("exact-expectation exponent", b_exact, *band),
        checks.within_band("simulated exponent (seed bootstrap)", b_sim, *band),
        checks.r2_at_least("power law fits the simulated curve (log space)", r2, R2_SIM),
    )


# Resolution-limited regime. m = 4096 eigen-directions, N and D up to 256 = m/16: the truncated
# spectrum steepens the curve by about (N/m)**a (<= 6% at a = 1); 10% relative leaves room for
# that. a >= 1 so truncation stays small. 6 seeds (0-5) gave seed-bootstrap intervals of +-7% on
# each exponent, too wide to decide within 10%; enlarged to 32 fresh seeds, declared before running.
M_SPECTRUM = 4096
SIZES = np.array([8, 16, 32, 64, 128, 256])
SPECTRAL_RTOL = 0.10
SPECTRAL_SEEDS = range(100, 132)
R2_SPECTRAL = 0.99  # log space; 5 doublings of a clean power law


def _spectral_fits(by_n, by_d):
    fn, fd = fit_power_law(SIZES, np.median(by_n, axis=0)), fit_power_law(SIZES, np.median(by_d, axis=0))
    return [fn.exponent, fd.exponent, fn.r2, fd.r2]


@pytest.mark.quick
@pytest.mark.claim("spectral-resolution-limited[a={a}]", paper=SPECTRAL, quantity="a_N (a_D in the checks)",
                   claim="spectrum k^-(1+a): L ~ N^-a (random projections) and L ~ D^-a (min-norm LS)",
                   paper_value=lambda a: a, tolerance=f"+-{SPECTRAL_RTOL:.0%} relative; R^2 (log) >= {R2_SPECTRAL}",
                   justification="theory's accuracy here: the finite spectrum (N/m <= 1/16) steepens the curve by "
                                 "<= 6% at a = 1; the seed bootstrap carries the sampling noise",
                   param_convention="N = number of random projections (features)", seeds=list(SPECTRAL_SEEDS),
                   budget=f"m = {M_SPECTRUM} eigen-directions, N, D in [8, 256]")
@pytest.mark.parametrize("a", [1.0, 2.0])
def test_resolution_limited_exponents(claim, a):
    lam, w = linear.power_law_spectrum(M_SPECTRUM, a), np.ones(M_SPECTRUM)  # unit power per direction
    by_n, by_d = [], []
    for seed in SPECTRAL_SEEDS:
        rng = np.random.default_rng(seed)
        by_n.append([theory.projection_risk(rng.standard_normal((n, M_SPECTRUM)), lam, w) for n in SIZES])
        row = []
        for d in SIZES:
            X = rng.standard_normal((d, M_SPECTRUM)) * np.sqrt(lam)
            row.append(theory.excess_risk(linear.min_norm_lstsq(X, X @ w), w, lam))
        by_d.append(row)
    by_n, by_d = np.array(by_n), np.array(by_d)
    point = _spectral_fits(by_n, by_d)
    boot = bootstrap(lambda i: _spectral_fits(by_n[i], by_d[i]), len(SPECTRAL_SEEDS), N_BOOT, units="seeds")
    a_n, a_d, r2_n, r2_d = (boot.estimate(v, j) for j, v in enumerate(point))
    risk_n, risk_d = np.median(by_n, axis=0), np.median(by_d, axis=0)
    claim.measured(a_n)
    claim.note(f"a_N = {a_n.text()}, a_D = {a_d.text()} (theory {a}); medians over {len(SPECTRAL_SEEDS)} seeds")
    claim.points({"size": SIZES, "risk_vs_N": risk_n, "risk_vs_D": risk_d})
    claim.fit({"N": fit_power_law(SIZES, risk_n), "D": fit_power_law(SIZES, risk_d)})
    claim.plot(plots.grouped_plot, {f"vs N (fit {point[0]:.3f})": (SIZES, risk_n),
                                    f"vs D (fit {point[1]:.3f})": (SIZES, risk_d),
                                    f"theory slope -{a}": (SIZES, risk_n[0] * (SIZES / SIZES[0]) ** -a)},
               xlabel="N features / D samples", ylabel="test risk", logx=True, logy=True,
               title=f"Resolution-limited scaling, spectrum k^-(1+{a})", styles=["o-", "s-", "k:"])
    claim.check_all(
        checks.relative_error("a_N (random projections)", a_n, a, SPECTRAL_RTOL),
        checks.relative_error("a_D (min-norm least squares)", a_d, a, SPECTRAL_RTOL),
        checks.r2_at_least("power law in N (log space)", r2_n, R2_SPECTRAL),
        checks.r2_at_least("power law in D (log space)", r2_d, R2_SPECTRAL),
    )


# 40 seeds (0-39) gave the closed-form ratio a t interval of +-6.5%, too wide to decide within
# +-10%; enlarged to 400 fresh seeds, declared before running (the whole test takes seconds).
VL_P, VL_SIGMA2, VL_SEEDS = 8, 1.0, range(1000, 1400)
VL_D = np.array([128, 256, 512, 1024, 2048, 4096, 8192])
VL_TOL = 0.1  # on the exponent 1: D >= 16 p, where p/(D-p-1) differs from p/D by <= 8%: a fitted slope moves < 0.03


@pytest.mark.quick
@pytest.mark.claim("spectral-variance-limited", paper=SPECTRAL, quantity="exponent of L - L_inf in D",
                   claim="p fixed features, noise sigma^2: L - L_inf ~ 1/D (exactly sigma^2 p/(D-p-1))",
                   paper_value=1.0, tolerance=f"exponent +-{VL_TOL}; mean excess / closed form within 1 +-{VL_TOL}",
                   justification="D >= 16 p, where p/(D-p-1) differs from p/D by <= 8%: a fitted slope moves < 0.03; "
                                 "the closed form is exact in expectation, compared with the same tolerance",
                   param_convention=f"p = {VL_P} features", seeds=list(VL_SEEDS), budget="D in [128, 8192]")
def test_variance_limited_one_over_d(claim):
    excess = []
    for seed in VL_SEEDS:
        rng = np.random.default_rng(seed)
        w = rng.standard_normal(VL_P)
        row = []
        for d in VL_D:
            X = rng.standard_normal((d, VL_P))
            w_hat = linear.min_norm_lstsq(X, X @ w + np.sqrt(VL_SIGMA2) * rng.standard_normal(d))
            row.append(float(np.sum((w_hat - w) ** 2)))  # isotropic x: excess risk = ||w_hat - w||^2
        excess.append(row)
    excess = np.array(excess)
    fit = fit_power_law(VL_D, excess.mean(axis=0))
    boot = bootstrap(lambda i: fit_power_law(VL_D, excess[i].mean(axis=0)).exponent, len(VL_SEEDS), N_BOOT,
                     units="seeds")
    exponent = boot.estimate(fit.exponent)
    ratio = Estimate.mean_t((excess / theory.ols_excess_risk(VL_P, VL_D, VL_SIGMA2)).mean(axis=1), what="seeds")
    claim.measured(exponent)
    claim.note(f"mean excess / closed form = {ratio.text()}")
    claim.points({"D": VL_D, "mean_excess": excess.mean(axis=0),
                  "closed_form": theory.ols_excess_risk(VL_P, VL_D, VL_SIGMA2)})
    claim.fit(fit)
    claim.plot(plots.scaling_plot, VL_D, excess.mean(axis=0), fit=fit, xlabel="samples D",
               ylabel="excess test risk L - L_inf", title="Variance-limited regime",
               paper_law=("sigma^2 p / (D - p - 1)", lambda d: theory.ols_excess_risk(VL_P, d, VL_SIGMA2)))
    claim.check_all(
        checks.within_band("exponent of L - L_inf (seed bootstrap)", exponent, 1 - VL_TOL, 1 + VL_TOL),
        checks.within_band("mean excess / closed form", ratio, 1 - VL_TOL, 1 + VL_TOL),
    )
