"""Best-of-N and inference-time compute, model-free (CLAIMS.md section 5). NumPy, seconds.

- Chen et al. 2021: the pass@k estimator 1 - C(n-c, k)/C(n, k) is unbiased; the plug-in
  1 - (1 - c/n)**k is not.
- Brown et al. 2024: coverage follows log c(k) = a * k**b; fitted on k in [1, n/4] it
  extrapolates to k = n. Schaeffer et al. 2025: with per-problem success rates p ~ Beta(alpha, .)
  the aggregate law comes from the left tail (1 - c ~ k**-alpha).
- The plan's saturating form P(n) = P_inf - (P_inf - P_1) n**-beta with beta ~ 0.3.
- Gao et al. 2023: best-of-n under a proxy reward; gold = d (alpha - beta d), d = sqrt(KL_bon).
  Gaussian proxy noise: gold rises monotonically; heavy-tailed (Student-t) noise: rises then falls.
(The trained-model version lives in another file.)
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from scaling_claims import checks, plots, theory
from scaling_claims.fit import best_of_n_kl, fit_coverage_law, fit_gao, fit_saturating
from scaling_claims.metrics import pass_at_k, pass_at_k_plugin

CHEN, BROWN, GAO = "Chen et al. 2021", "Brown et al. 2024; Schaeffer et al. 2025", "Gao et al. 2023"


@pytest.mark.quick
def test_pass_at_k_unbiased(claim):
    n_problems, n, ks = 4000, 20, (1, 5, 10)
    claim.declare("pass-at-k-unbiased", paper=CHEN, quantity="max |bias| / SE over k",
                  claim="1 - C(n-c,k)/C(n,k) is unbiased for pass@k; the plug-in 1-(1-c/n)^k is biased",
                  paper_value="unbiased", tolerance="within 3 SE (estimator); plug-in off by > 3 SE at k=10",
                  justification="3 SE: a 0.3% false-alarm rate per k for an unbiased estimator; SE from "
                                f"{n_problems} independent problems", seeds=[0],
                  budget=f"{n_problems} problems, n = {n} samples each, p ~ Beta(0.5, 2)")
    rng = np.random.default_rng(0)
    p = rng.beta(0.5, 2.0, n_problems)
    c = rng.binomial(n, p)
    rows, found = [], []
    for k in ks:
        truth = 1 - (1 - p) ** k
        err, err_plugin = pass_at_k(n, c, k) - truth, pass_at_k_plugin(n, c, k) - truth
        se, se_plugin = err.std(ddof=1) / np.sqrt(n_problems), err_plugin.std(ddof=1) / np.sqrt(n_problems)
        rows.append({"k": k, "truth": truth.mean(), "bias": err.mean(), "se": se, "plugin_bias": err_plugin.mean(),
                     "plugin_se": se_plugin})
        found.append(checks.within_standard_errors(f"unbiased at k={k}", truth.mean() + err.mean(), truth.mean(), se))
    plugin_z = abs(rows[-1]["plugin_bias"]) / rows[-1]["plugin_se"]
    claim.measured(max(abs(r["bias"]) / r["se"] for r in rows))
    claim.note(f"plug-in estimator at k={ks[-1]}: bias {rows[-1]['plugin_bias']:.4f} = {plugin_z:.1f} SE")
    claim.points({key: [r[key] for r in rows] for key in rows[0]})
    claim.plot(plots.grouped_plot, {"unbiased estimator": (ks, [r["bias"] for r in rows]),
                                    "plug-in 1-(1-c/n)^k": (ks, [r["plugin_bias"] for r in rows])},
               hline=("zero bias", 0.0), xlabel="k", ylabel="mean estimate - true pass@k",
               title=f"pass@k bias over {n_problems} problems (n = {n})")
    claim.check_all(*found, checks.at_least("plug-in bias in SE at k=10 (it is biased)", plugin_z, 3.0))


ALPHA, BETA = 0.3, 3.0  # per-problem success rates; Beta-tail theory: 1 - coverage ~ k**-ALPHA
N_PROBLEMS, N_SAMPLES = 1000, 1000


def coverage_data(ks, seed=0):
    rng = np.random.default_rng(seed)
    c = rng.binomial(N_SAMPLES, rng.beta(ALPHA, BETA, N_PROBLEMS))
    return np.array([pass_at_k(N_SAMPLES, c, int(k)).mean() for k in ks]), float((c > 0).mean())


@pytest.mark.quick
def test_coverage_law_extrapolates(claim):
    ks = np.unique(np.geomspace(1, N_SAMPLES // 4, 15).astype(int))
    claim.declare("coverage-law", paper=BROWN, quantity="exponent b of log c = a k^b",
                  claim="log coverage is a power law in k; fitted on k <= n/4 it predicts coverage at k = n",
                  paper_value=f"Beta-tail: -{ALPHA} asymptotically", tolerance="R^2 >= 0.95; prediction at n "
                  "+-10%; b within 5% of the exact Beta-tail curve fitted over the same k",
                  justification="4x extrapolation: curvature of log(-log c) biases ~2%, coverage at n has ~1.5% "
                                "sampling SE (1000 problems); b's fit SE ~1% plus sampling of the rates",
                  seeds=[0], budget=f"{N_PROBLEMS} problems x {N_SAMPLES} samples, p ~ Beta({ALPHA}, {BETA})")
    cov, cov_at_n = coverage_data(ks)
    fit = fit_coverage_law(ks, cov)
    exact_window = fit_coverage_law(ks, theory.beta_pass_at_k(ks, ALPHA, BETA))
    predicted = float(fit.predict(np.array([N_SAMPLES]))[0])
    claim.measured(fit.b, ci=fit.ci["b"])
    claim.note(f"Beta-tail curve fitted over the same k: b = {exact_window.b:.4f}; asymptotic -alpha = {-ALPHA} "
               f"(the gap is the pre-asymptotic curvature of log(-log c), not noise)")
    claim.note(f"coverage at k = n: predicted {predicted:.4f}, measured {cov_at_n:.4f}")
    claim.points({"k": ks, "coverage": cov, "beta_tail_exact": theory.beta_pass_at_k(ks, ALPHA, BETA)})
    claim.fit({"coverage_law": fit, "beta_tail_same_window": exact_window})
    in_log_space = SimpleNamespace(predict=lambda k: -np.log(fit.predict(k)))  # plot -log c, a straight line
    claim.plot(plots.scaling_plot, ks, -np.log(cov), fit=in_log_space, extrapolate_to=N_SAMPLES,
               held_out=([N_SAMPLES], [-np.log(cov_at_n)]), fit_label=f"fit -log c = -a k^b, b = {fit.b:.3f}",
               paper_law=("exact Beta-tail curve", lambda k: -np.log(theory.beta_pass_at_k(k, ALPHA, BETA))),
               xlabel="samples per problem k", ylabel="-log coverage", title="Coverage law (Brown et al.)")
    claim.check_all(
        checks.r2_at_least("coverage law fits (log space)", fit.r2, 0.95),
        checks.relative_error("extrapolated coverage at k = n", predicted, cov_at_n, 0.10),
        checks.relative_error("b vs the Beta-tail curve (same window)", fit.b, exact_window.b, 0.05),
    )


@pytest.mark.quick
def test_saturating_form(claim):
    ks = np.unique(np.geomspace(1, N_SAMPLES, 20).astype(int))
    plan_beta = 0.3
    claim.declare("saturating-best-of-n", paper="the project plan", quantity="beta of P_inf - (P_inf-P_1) n^-beta",
                  claim="best-of-n success saturates as P(n) = P_inf - (P_inf - P_1) n^-beta with beta ~ 0.3",
                  paper_value=plan_beta, tolerance="R^2 >= 0.95; beta within 30% of 0.3",
                  justification="the plan's '~'; with a Beta(0.3, .) tail the success gap does decay as "
                                "n^-0.3 asymptotically, so 0.3 is the honest target here",
                  seeds=[0], budget=f"{N_PROBLEMS} problems x {N_SAMPLES} samples, p ~ Beta({ALPHA}, {BETA})")
    cov, _ = coverage_data(ks)
    fit = fit_saturating(ks, cov)
    claim.measured(fit.beta, ci=fit.ci["beta"])
    claim.note(f"P_inf = {fit.P_inf:.3f} [{fit.ci['P_inf'][0]:.3f}, {fit.ci['P_inf'][1]:.3f}] (a success rate "
               f"above 1 is unphysical: over k <= {N_SAMPLES} the form trades P_inf against beta)")
    claim.points({"n": ks, "coverage": cov})
    claim.fit(fit)
    claim.plot(plots.scaling_plot, ks, cov, fit=fit, logy=False, xlabel="samples n", ylabel="coverage P(n)",
               title="Saturating form", fit_label=f"fit: beta = {fit.beta:.3f}",
               paper_law=("1 - E[(1-p)^n], Beta tail", lambda k: theory.beta_pass_at_k(k, ALPHA, BETA)))
    claim.check(checks.r2_at_least("saturating form fits (linear space)", fit.r2, 0.95))
    claim.expect_refuted(checks.relative_error("beta vs the plan's 0.3", fit.beta, plan_beta, 0.30),
                         why="with P_inf free the fit settles at P_inf > 1 and a small beta")


N_TRIALS, N_MAX = 2000, 4096
BON_N = 2 ** np.arange(0, 13)


def best_of_n_gold(noise: str, seed: int = 0) -> np.ndarray:
    """Mean gold reward of the best-of-n sample by proxy = gold + noise, for n in BON_N."""
    rng = np.random.default_rng(seed)
    total = np.zeros(BON_N.size)
    for start in range(0, N_TRIALS, 250):  # chunks keep memory at ~20 MB
        rows = min(250, N_TRIALS - start)
        gold = rng.standard_normal((rows, N_MAX))
        eps = rng.standard_normal((rows, N_MAX)) if noise == "gaussian" else rng.standard_t(int(noise[-1]), (rows, N_MAX))
        proxy = gold + eps
        for j, n in enumerate(BON_N):
            total[j] += gold[np.arange(rows), np.argmax(proxy[:, :n], axis=1)].sum()
    return total / N_TRIALS


def gao_record(claim, noise, gold, fit, d):
    claim.points({"n": BON_N, "d_sqrt_kl": d, "gold": gold})
    claim.fit(fit)
    dense = np.linspace(0, d.max(), 200)
    claim.plot(plots.grouped_plot, {"measured gold reward": (d, gold),
                                    f"Gao fit d(alpha - beta d), R^2 = {fit.r2:.3f}": (dense, fit.predict(dense))},
               xlabel="d = sqrt(KL_bon) = sqrt(log n - (n-1)/n)", ylabel=f"gold reward (mean of {N_TRIALS})",
               title=f"Best-of-n over-optimisation, {noise} proxy noise", styles=["o", "-"])


@pytest.mark.quick
def test_gao_gaussian_noise_rises(claim):
    claim.declare("gao-gaussian", paper=GAO, quantity="gold reward trend", paper_value="monotone rise",
                  claim="Gaussian proxy noise: best-of-n gold reward rises monotonically in n",
                  tolerance="monotone (no allowance); Gao R^2 >= 0.9",
                  justification=f"steps between doublings are >= 0.1, the SE of a mean of {N_TRIALS} is ~0.02",
                  seeds=[0], budget=f"{N_TRIALS} trials, n up to {N_MAX}")
    gold = best_of_n_gold("gaussian")
    d = np.sqrt(best_of_n_kl(BON_N))
    fit = fit_gao(d, gold)
    claim.measured(float(gold[-1] - gold[0]))
    gao_record(claim, "Gaussian", gold, fit, d)
    claim.check_all(checks.monotone("gold rises with n", gold, "increasing"),
                    checks.r2_at_least("Gao form fits", fit.r2, 0.9))


@pytest.mark.quick
@pytest.mark.parametrize("df", [2, 3])
def test_gao_heavy_tailed_noise_rises_then_falls(claim, df):
    claim.declare(f"gao-student-t[df={df}]", paper=GAO, quantity="Gao fit R^2", paper_value=">= 0.9, peak inside",
                  claim=f"Student-t (df={df}) proxy noise: gold rises then falls; d(alpha - beta d) fits",
                  tolerance="interior max with ends >= 20% below it; R^2 >= 0.9; peak_d in the sampled d",
                  justification=f"20% is > 5 SE of a mean of {N_TRIALS} trials; R^2 0.9 as CLAIMS.md",
                  seeds=[0], budget=f"{N_TRIALS} trials, n up to {N_MAX}")
    gold = best_of_n_gold(f"t{df}")
    d = np.sqrt(best_of_n_kl(BON_N))
    fit = fit_gao(d, gold)
    claim.measured(fit.r2)
    gao_record(claim, f"Student-t df={df}", gold, fit, d)
    claim.note(f"peak gold {gold.max():.3f} at n = {BON_N[np.argmax(gold)]}; fit peak_d = "
               f"{fit.params.get('peak_d', float('nan')):.3f}")
    claim.check_all(checks.interior_maximum("gold rises then falls", BON_N, gold, drop=0.2),
                    checks.within_band("fitted peak alpha/(2 beta) inside the sampled d", fit.alpha / (2 * fit.beta),
                                       d.min(), d.max()))
    r2 = checks.r2_at_least("Gao form fits", fit.r2, 0.9)
    if df == 2:  # measured while writing this test: R^2 = 0.857; the fall is sharper than d(alpha - beta d)
        claim.expect_refuted(r2, why="df=2: the fall after the peak is steeper than the quadratic form")
    claim.check(r2)
