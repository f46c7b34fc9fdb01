"""Best-of-N and inference-time compute, model-free (docs/sources.md, 'Best-of-N sampling'). NumPy, seconds.

- Chen et al. 2021: the pass@k estimator 1 - C(n-c, k)/C(n, k) is unbiased; the plug-in
  1 - (1 - c/n)**k is not.
- Brown et al. 2024: coverage follows log c(k) = a * k**b; fitted on k in [1, n/4] it
  extrapolates to k = n. Schaeffer et al. 2025: with per-problem success rates p ~ Beta(alpha, .)
  the aggregate law comes from the left tail (1 - c ~ k**-alpha).
- The plan's saturating form P(n) = P_inf - (P_inf - P_1) n**-beta with beta ~ 0.3.
- Gao et al. 2023: best-of-n under a proxy reward; gold = d (alpha - beta d), d = sqrt(KL_bon).
  Gaussian proxy noise: gold rises monotonically; heavy-tailed (Student-t) noise: rises then falls.
(The trained-model version lives in another file.)

Every interval comes from a bootstrap over the unit that carries the noise: problems for
coverage, trials for best-of-n. The estimator's unbiasedness and the Gaussian-noise rise are
mathematical facts, checked as sanity checks of our code, not counted as evidence for a paper.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace

import numpy as np
import pytest

from scaling_claims.studies import theory

from scaling_claims.verdicts import checks, expect, plots
from scaling_claims.verdicts.estimates import Curve, Estimate, bootstrap
from scaling_claims.fit import best_of_n_kl, fit_coverage_law, fit_gao, fit_saturating
from scaling_claims.studies.metrics import pass_at_k, pass_at_k_plugin

CHEN, BROWN, GAO = "Chen et al. 2021", "Brown et al. 2024; Schaeffer et al. 2025", "Gao et al. 2023"
N_BOOT = 1000

# pass@k: 4,000 problems (seed 0) gave bias intervals of +-0.006 at k = 10, too close to the
# 0.01 margin for a sanity check; enlarged to 16,000 problems on a fresh seed, declared here.
PASS_PROBLEMS, PASS_N, PASS_KS, PASS_SEED = 16_000, 20, (1, 5, 10), 1
# An unbiased estimator's mean error must lie within one point of pass@k: small against the
# plug-in's bias at k = 10 (several points, Chen et al. 2021), which must lie outside it.
BIAS_MARGIN = 0.01


@pytest.mark.quick
@pytest.mark.sanity("pass-at-k-unbiased", paper=CHEN, quantity="mean error of 1 - C(n-c,k)/C(n,k), k = 10",
                    claim="1 - C(n-c,k)/C(n,k) is unbiased for pass@k; the plug-in 1-(1-c/n)^k is biased",
                    paper_value="unbiased", tolerance=f"mean error within +-{BIAS_MARGIN} at k = 1, 5, 10; plug-in "
                    f"outside +-{BIAS_MARGIN} at k = 10", justification="a sanity check of our estimator (an identity): "
                    "the margin is one point of pass@k; t intervals over independent problems",
                    seeds=[PASS_SEED], budget=f"{PASS_PROBLEMS} problems, n = {PASS_N} samples each, p ~ Beta(0.5, 2)")
def test_pass_at_k_unbiased(claim):
    rng = np.random.default_rng(PASS_SEED)
    p = rng.beta(0.5, 2.0, PASS_PROBLEMS)
    c = rng.binomial(PASS_N, p)
    rows, bias, plugin = [], [], []
    for k in PASS_KS:
        truth = 1 - (1 - p) ** k
        err, err_plugin = pass_at_k(PASS_N, c, k) - truth, pass_at_k_plugin(PASS_N, c, k) - truth
        bias.append(Estimate.mean_t(err, what="problems"))
        plugin.append(Estimate.mean_t(err_plugin, what="problems"))
        rows.append({"k": k, "truth": truth.mean(), "bias": bias[-1].value, "bias_lo": bias[-1].lo,
                     "bias_hi": bias[-1].hi, "plugin_bias": plugin[-1].value})
    claim.measured(bias[-1])
    claim.note(f"plug-in estimator at k={PASS_KS[-1]}: mean error {plugin[-1].text()}")
    claim.points({key: [r[key] for r in rows] for key in rows[0]})
    claim.plot(plots.grouped_plot, {"unbiased estimator": (PASS_KS, [b.value for b in bias]),
                                    "plug-in 1-(1-c/n)^k": (PASS_KS, [b.value for b in plugin])},
               hline=("zero bias", 0.0), xlabel="k", ylabel="mean estimate - true pass@k",
               title=f"pass@k bias over {PASS_PROBLEMS} problems (n = {PASS_N})")
    claim.check_all(checks.all_within("unbiased estimator's mean error", bias, -BIAS_MARGIN, BIAS_MARGIN,
                                      labels=[f"k={k}" for k in PASS_KS]),
                    checks.outside_band(f"plug-in mean error at k={PASS_KS[-1]} (it is biased)", plugin[-1],
                                        -BIAS_MARGIN, BIAS_MARGIN))


ALPHA, BETA = 0.3, 3.0  # per-problem success rates; Beta-tail theory: 1 - coverage ~ k**-ALPHA
N_PROBLEMS, N_SAMPLES = 1000, 1000
COVERAGE_KS = np.unique(np.geomspace(1, N_SAMPLES // 4, 15).astype(int))
R2_MIN = 0.95  # docs/sources.md, 'Best-of-N sampling'
# docs/sources.md, 'Best-of-N sampling': the aggregate exponent matches the Beta-tail one within ~30%
EXPONENT_RTOL = 0.30


def coverage_samples(seed=0):
    """Correct counts per problem (N_SAMPLES samples each) for p ~ Beta(ALPHA, BETA)."""
    rng = np.random.default_rng(seed)
    return rng.binomial(N_SAMPLES, rng.beta(ALPHA, BETA, N_PROBLEMS))


def per_problem_pass(c, ks):
    """(problems, len(ks)) unbiased pass@k per problem; its column means are the coverage curve."""
    return np.array([pass_at_k(N_SAMPLES, c, int(k)) for k in ks]).T


def coverage_fit_stats(P, solved):
    """Fit the coverage law on k <= n/4; (b, R^2, predicted coverage at k = n, measured at n,
    rise of coverage from k = n/4 to n)."""
    cov = P.mean(axis=0)
    fit = fit_coverage_law(COVERAGE_KS, cov)
    at_n = solved.mean()
    pred = float(fit.predict(np.array([N_SAMPLES]))[0])
    return [fit.b, fit.r2, pred - at_n, at_n - cov[-1]]


@functools.lru_cache(maxsize=1)  # the coverage-law and coverage-exponent claims share one bootstrap
def coverage_analysis(seed=0):
    c = coverage_samples(seed)
    P, solved = per_problem_pass(c, COVERAGE_KS), (c > 0).astype(float)
    point = coverage_fit_stats(P, solved)
    boot = bootstrap(lambda i: coverage_fit_stats(P[i], solved[i]), N_PROBLEMS, N_BOOT, units="problems")
    return P, solved, point, boot


@pytest.mark.quick
@pytest.mark.claim("coverage-law", headline="best-of-n", role="law", paper=BROWN, quantity="coverage at k = n predicted from k <= n/4, minus measured",
                   claim="log coverage is a power law in k; fitted on k <= n/4 it predicts coverage at k = n",
                   paper_value="power law in log coverage",
                   tolerance=f"R^2 >= {R2_MIN}; |prediction error at k = n| <= half the rise of coverage from n/4 to n",
                   justification="the R^2 of docs/sources.md, 'Best-of-N sampling'; a forecast must beat the flat forecast "
                                 "'no further gain', whose error is the whole rise: half of it is the bar the flat forecast fails",
                   seeds=[0], budget=f"{N_PROBLEMS} problems x {N_SAMPLES} samples, p ~ Beta({ALPHA}, {BETA})")
def test_coverage_law_extrapolates(claim):
    P, solved, (b, r2, err, rise), boot = coverage_analysis()
    fit = fit_coverage_law(COVERAGE_KS, P.mean(axis=0))
    error, r2_est, rise_est = boot.estimate(err, 2), boot.estimate(r2, 1), boot.estimate(rise, 3)
    claim.measured(error)
    claim.note(f"coverage at k = n: measured {solved.mean():.4f}, predicted {solved.mean() + err:.4f}; rise from "
               f"k = {COVERAGE_KS[-1]} to n: {rise_est.text()}")
    claim.points({"k": COVERAGE_KS, "coverage": P.mean(axis=0),
                  "beta_tail_exact": theory.beta_pass_at_k(COVERAGE_KS, ALPHA, BETA)})
    claim.fit(fit)
    in_log_space = SimpleNamespace(predict=lambda k: -np.log(fit.predict(k)))  # plot -log c, a straight line
    claim.plot(plots.scaling_plot, COVERAGE_KS, -np.log(P.mean(axis=0)), fit=in_log_space, extrapolate_to=N_SAMPLES,
               held_out=([N_SAMPLES], [-np.log(solved.mean())]), fit_label=f"fit -log c = -a k^b, b = {b:.3f}",
               paper_law=("exact Beta-tail curve", lambda k: -np.log(theory.beta_pass_at_k(k, ALPHA, BETA))),
               xlabel="samples per problem k", ylabel="-log coverage", title="Coverage law (Brown et al.)")
    claim.check_all(
        checks.r2_at_least("coverage law fits k <= n/4 (log space)", r2_est, R2_MIN),
        checks.within_band("prediction error at k = n, against half the rise", error, -rise / 2, rise / 2),
    )


@pytest.mark.quick
@pytest.mark.claim("coverage-exponent", headline="best-of-n", role="law", paper=BROWN, quantity="exponent b of log c = a k^b, k <= n/4",
                   claim="the aggregate coverage exponent is the Beta-tail exponent of per-problem success rates",
                   paper_value=-ALPHA, tolerance=f"within +-{EXPONENT_RTOL:.0%} of -alpha",
                   justification="docs/sources.md, 'Best-of-N sampling': the aggregate exponent matches the Beta-tail one "
                                 "within ~30%",
                   seeds=[0], budget=f"{N_PROBLEMS} problems x {N_SAMPLES} samples, p ~ Beta({ALPHA}, {BETA})",
                   expect=expect.inconclusive(
                       "the Beta-tail exponent is asymptotic (coverage -> 1); over k <= n/4 = 250 the exact "
                       "Beta-tail curve itself has b = -0.387 (computed from theory.beta_pass_at_k), 0.003 inside "
                       "the band's edge -0.39, and 1,000 problems give a bootstrap interval of about +-0.01: this "
                       "window cannot resolve the claim"))
def test_coverage_exponent(claim):
    P, solved, (b, *_), boot = coverage_analysis()
    exact = fit_coverage_law(COVERAGE_KS, theory.beta_pass_at_k(COVERAGE_KS, ALPHA, BETA))
    b_est = boot.estimate(b, 0)
    claim.measured(b_est)
    claim.note(f"exact Beta-tail curve fitted over the same k: b = {exact.b:.4f}; asymptotic -alpha = {-ALPHA}")
    claim.points({"k": COVERAGE_KS, "coverage": P.mean(axis=0),
                  "beta_tail_exact": theory.beta_pass_at_k(COVERAGE_KS, ALPHA, BETA)})
    claim.fit({"coverage_law": fit_coverage_law(COVERAGE_KS, P.mean(axis=0)), "beta_tail_same_window": exact})
    claim.plot(plots.grouped_plot, {"measured -log coverage": (COVERAGE_KS, -np.log(P.mean(axis=0))),
                                    "exact Beta-tail curve": (COVERAGE_KS, -np.log(exact.predict(COVERAGE_KS))),
                                    f"slope -alpha = {-ALPHA}": (COVERAGE_KS, -np.log(P.mean(axis=0))[0]
                                                                 * COVERAGE_KS ** -ALPHA)},
               xlabel="samples per problem k", ylabel="-log coverage", logx=True, logy=True,
               title="Coverage exponent vs the Beta-tail exponent", styles=["o", "-", "k:"])
    claim.check(checks.relative_error("b vs the Beta-tail exponent -alpha", b_est, -ALPHA, EXPONENT_RTOL))


SATURATING_KS = np.unique(np.geomspace(1, N_SAMPLES, 20).astype(int))
PLAN_BETA = 0.3


def saturating_stats(P):
    fit = fit_saturating(SATURATING_KS, P.mean(axis=0), p_inf=1.0)
    return [fit.beta, fit.r2]


@pytest.mark.quick
@pytest.mark.claim("saturating-best-of-n", headline="best-of-n", role="law", paper="the project plan", quantity="beta of 1 - (1 - P_1) n^-beta (P_inf = 1)",
                   claim="best-of-n success saturates as P(n) = P_inf - (P_inf - P_1) n^-beta with beta ~ 0.3",
                   paper_value=PLAN_BETA, tolerance=f"R^2 (linear) >= {R2_MIN}; beta within 30% of {PLAN_BETA}",
                   justification="the plan's '~' read as the ~30% for Beta-tail exponents (docs/sources.md); P_inf = 1 because "
                                 "every problem's success rate is > 0 (Beta support), so coverage -> 1",
                   seeds=[0], budget=f"{N_PROBLEMS} problems x {N_SAMPLES} samples, p ~ Beta({ALPHA}, {BETA})")
def test_saturating_form(claim):
    c = coverage_samples()
    P = per_problem_pass(c, SATURATING_KS)
    cov = P.mean(axis=0)
    fit = fit_saturating(SATURATING_KS, cov, p_inf=1.0)
    free = fit_saturating(SATURATING_KS, cov)
    boot = bootstrap(lambda i: saturating_stats(P[i]), N_PROBLEMS, N_BOOT, units="problems")
    beta, r2 = boot.estimate(fit.beta, 0), boot.estimate(fit.r2, 1)
    exact = fit_saturating(SATURATING_KS, theory.beta_pass_at_k(SATURATING_KS, ALPHA, BETA), p_inf=1.0)
    claim.measured(beta)
    claim.note(f"with P_inf free in [0, 1]: P_inf = {free.P_inf:.3f}, beta = {free.beta:.3f}"
               + (f" (flagged: {free.flags.get('*', '')})" if free.flags else "")
               + "; unbounded, the form puts P_inf above 1 (a success rate > 1) and beta near 0.11")
    claim.note(f"the exact Beta-tail curve fitted the same way: beta = {exact.beta:.3f} (pre-asymptotic; 0.3 "
               "only as n -> inf)")
    claim.points({"n": SATURATING_KS, "coverage": cov})
    claim.fit({"p_inf_1": fit, "p_inf_free": free})
    claim.plot(plots.scaling_plot, SATURATING_KS, cov, fit=fit, logy=False, xlabel="samples n",
               ylabel="coverage P(n)", title="Saturating form (P_inf = 1)", fit_label=f"fit: beta = {fit.beta:.3f}",
               paper_law=("1 - E[(1-p)^n], Beta tail", lambda k: theory.beta_pass_at_k(k, ALPHA, BETA)))
    claim.check_all(checks.r2_at_least("saturating form fits (linear space)", r2, R2_MIN),
                    checks.relative_error("beta vs the plan's 0.3", beta, PLAN_BETA, 0.30))


N_TRIALS, N_MAX = 2000, 4096
BON_N = 2 ** np.arange(0, 13)
BON_D = np.sqrt(best_of_n_kl(BON_N))
GAO_R2 = 0.9  # docs/sources.md, 'Best-of-N sampling'
DROP = 0.2  # rise then fall: both ends at least 20% below the peak (a clear fall, not a plateau)


def best_of_n_gold(noise: str, seed: int = 0) -> np.ndarray:
    """Gold reward of the best-of-n sample by proxy = gold + noise: (trials, len(BON_N))."""
    rng = np.random.default_rng(seed)
    out = np.zeros((N_TRIALS, BON_N.size))
    for start in range(0, N_TRIALS, 250):  # chunks keep memory at ~20 MB
        rows = min(250, N_TRIALS - start)
        gold = rng.standard_normal((rows, N_MAX))
        eps = rng.standard_normal((rows, N_MAX)) if noise == "gaussian" else rng.standard_t(int(noise[-1]), (rows, N_MAX))
        proxy = gold + eps
        for j, n in enumerate(BON_N):
            out[start:start + rows, j] = gold[np.arange(rows), np.argmax(proxy[:, :n], axis=1)]
    return out


def gao_stats(gold_mean):
    fit = fit_gao(BON_D, gold_mean)
    return [fit.r2, fit.alpha / (2 * fit.beta) if fit.beta > 0 else np.inf]


def gao_record(claim, noise, gold, fit):
    claim.points({"n": BON_N, "d_sqrt_kl": BON_D, "gold": gold})
    claim.fit(fit)
    dense = np.linspace(0, BON_D.max(), 200)
    claim.plot(plots.grouped_plot, {"measured gold reward": (BON_D, gold),
                                    f"Gao fit d(alpha - beta d), R^2 = {fit.r2:.3f}": (dense, fit.predict(dense))},
               xlabel="d = sqrt(KL_bon) = sqrt(log n - (n-1)/n)", ylabel=f"gold reward (mean of {N_TRIALS})",
               title=f"Best-of-n over-optimisation, {noise} proxy noise", styles=["o", "-"])


@pytest.mark.quick
@pytest.mark.sanity("gao-gaussian", paper=GAO, quantity="gold reward gain, n = 4096 over n = 1", paper_value="monotone rise",
                    claim="Gaussian proxy noise: best-of-n gold reward rises monotonically in n",
                    tolerance=f"every step up (intervals over trials); Gao R^2 >= {GAO_R2}",
                    justification="a sanity check: with jointly Gaussian gold and proxy, E[gold | best proxy of n] "
                                  "rises with n (a fact of the Gaussian, not a finding of Gao et al.)",
                    seeds=[0], budget=f"{N_TRIALS} trials, n up to {N_MAX}")
def test_gao_gaussian_noise_rises(claim):
    trials = best_of_n_gold("gaussian")
    curve = Curve.over_units(BON_D, trials, stat=np.mean, units="trials")
    fit = fit_gao(BON_D, curve.y)
    r2 = curve.statistic(lambda y: fit_gao(BON_D, y).r2, "Gao R^2")
    claim.measured(curve.statistic(lambda y: y[-1] - y[0], "gain of n = 4096 over n = 1"))
    gao_record(claim, "Gaussian", curve.y, fit)
    claim.check_all(checks.monotone("gold rises with n", curve, "increasing"),
                    checks.r2_at_least("Gao form fits", r2, GAO_R2))


KWA = ("Kwa, Thomas, Garriga-Alonso 2024 ('Catastrophic Goodhart'): with heavy-tailed reward error, optimising "
       "the proxy can win arbitrarily high proxy reward with no more gold than the base model")


@pytest.mark.quick
@pytest.mark.claim("gao-student-t[df={df}]", headline="best-of-n", role="law", paper=GAO, quantity="Gao fit R^2", paper_value=">= 0.9, peak inside",
                   claim="Student-t proxy noise: gold rises then falls; d(alpha - beta d) fits",
                   tolerance=f"interior max with ends >= {DROP:.0%} below it; R^2 >= {GAO_R2}; peak_d in the sampled d",
                   justification="design and R^2 from docs/sources.md, 'Best-of-N sampling'; 20% is a clear fall; intervals "
                                 "from a bootstrap over trials",
                   seeds=[0], budget=f"{N_TRIALS} trials, n up to {N_MAX}")
@pytest.mark.parametrize("df", [
    pytest.param(2, marks=pytest.mark.claim(expect=expect.out_of_regime(
        "Gao et al.'s form was fitted to best-of-n with learned reward models; with df = 2 additive noise the "
        "selected sample's gold falls back toward the base mean as the noise tail takes over (" + KWA + "), a "
        "flattening the quadratic d (alpha - beta d) cannot follow", expect="refuted", declared="after data",
        note="R^2 0.857 was measured while writing the test, which then expected the refutation (commit c9fad16, "
             "2026-11-28); re-declared outside the form's regime in commit 12a8261 (2026-12-01), and its expected "
             "verdict, refuted, written out in issue 'Verdicts that answer' (item 2)"))),
    3])
def test_gao_heavy_tailed_noise_rises_then_falls(claim, df):
    trials = best_of_n_gold(f"t{df}")
    curve = Curve.over_units(BON_N, trials, stat=np.mean, units="trials")
    fit = fit_gao(BON_D, curve.y)
    boot_fit = [curve.statistic(lambda y, j=j: gao_stats(y)[j], what) for j, what in enumerate(("Gao R^2", "peak_d"))]
    r2, peak_d = boot_fit
    claim.measured(r2)
    gao_record(claim, f"Student-t df={df}", curve.y, fit)
    claim.note(f"peak gold {curve.y.max():.3f} at n = {BON_N[np.argmax(curve.y)]}; fitted peak_d = {peak_d.text()} "
               f"(sampled d in [{BON_D.min():.3f}, {BON_D.max():.3f}])")
    claim.check_all(checks.interior_maximum("gold rises then falls", curve, drop=DROP),
                    checks.within_band("fitted peak alpha/(2 beta) inside the sampled d", peak_d, BON_D.min(), BON_D.max()),
                    checks.r2_at_least("Gao form fits", r2, GAO_R2))
