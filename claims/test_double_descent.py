"""Double descent (Nakkiran et al. 2019, Belkin et al. 2019, Hastie et al. 2019; docs/sources.md, 'Nakkiran et al. 2019').

Test error peaks where the model can just interpolate the training set (p = n), then falls
again. Cheapest reliable forms, NumPy float64, seconds: min-norm least squares on isotropic
Gaussian data against Hastie et al.'s closed-form risk (model-wise and sample-wise), random
ReLU features with the peak at p = n, and a ridge control with no peak. Near the threshold
the error spread across seeds is huge, so curves are medians over >= 10 seeds, and every shape
statistic (where the peak is, how high it stands) gets its interval from a bootstrap over seeds.

Min-norm least squares on isotropic data has a pole at p = n in its exact risk, so its peak
cannot fail to appear: those two tests are sanity checks of our simulation against Hastie et
al.'s closed form, reported apart from the paper claims. The claims are the random-feature
peak (Belkin et al.) and the ridge control.
"""

from __future__ import annotations

import numpy as np
import pytest

from scaling_claims.studies import theory

from scaling_claims.verdicts import checks, plots
from scaling_claims.verdicts.estimates import Curve
from scaling_claims.engine.models import linear

PAPER = "Nakkiran et al. 2019; Belkin et al. 2019; Hastie et al. 2019"
# 12 seeds (0-11) left two intervals straddling their tolerances (the ridge control's prominence
# [1.01, 1.06] against 1.05, the min-norm closed-form error [0.08, 0.36] against 0.15): too small
# a design to decide. Enlarged 4x on fresh seeds, declared here before they were run.
SEEDS = range(100, 148)
N_TRAIN = 100
R2, SIGMA2 = 1.0, 0.25  # noise variance 0.25 of the signal (docs/sources.md: >= 0.1 makes the peak clear)
# argmax window [0.8, 1.25] n and peak >= 3x the error at n/4 and 4n: as docs/sources.md,
# 'Nakkiran et al. 2019', sets them; the grid has points at n/4, 0.8n..1.25n and 4n, so each
# check reads a measured point, not an interpolation.
WINDOW, PEAK_RATIO = (0.8, 1.25), 3.0
GRID = np.array([0.1, 0.25, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.25, 1.5, 2, 3, 4, 6, 10])
# Closed form within 15% away from the threshold (gamma <= 0.7 or >= 1.5): the Hastie formula
# is the n -> inf limit; at n = 100 the exact finite-n risk differs by a few percent.
CLOSED_FORM_RTOL = 0.15
COMMON = dict(paper=PAPER, seeds=list(SEEDS), dtype="float64",
              param_convention="p = number of features (parameters of the linear model)")


def min_norm_risk_curve(ps, ns, seeds):
    """Excess test risk ||beta_hat - beta||^2 of min-norm least squares, one row per seed."""
    out = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        row = []
        for p, n in zip(ps, ns):
            beta = rng.standard_normal(p)
            beta *= np.sqrt(R2) / np.linalg.norm(beta)
            X = rng.standard_normal((n, p))
            y = X @ beta + np.sqrt(SIGMA2) * rng.standard_normal(n)
            row.append(float(np.sum((linear.min_norm_lstsq(X, y) - beta) ** 2)))
        out.append(row)
    return np.array(out)


def peak_checks(curve: Curve):
    """The three shape checks shared by every double-descent curve (x in units of the threshold):
    where the median curve peaks, and how far the peak stands above the error at 1/4 and 4x the
    threshold, each with its interval over seed resamples."""
    i_quarter, i_four = (int(np.argmin(np.abs(curve.x - v))) for v in (0.25, 4.0))
    return [checks.argmax_in_window("argmax of the median curve near the threshold", curve, *WINDOW),
            checks.at_least("peak / error at threshold/4",
                            curve.statistic(lambda y: y.max() / y[i_quarter], "peak / error at 1/4"), PEAK_RATIO),
            checks.at_least("peak / error at 4 x threshold",
                            curve.statistic(lambda y: y.max() / y[i_four], "peak / error at 4x"), PEAK_RATIO)]


@pytest.mark.quick
@pytest.mark.sanity("double-descent-min-norm", claim="min-norm LS, isotropic Gaussian data: risk peaks at p = n "
                    "and follows sigma^2 g/(1-g), r^2(1-1/g) + sigma^2/(g-1)", quantity="argmax p / n",
                    paper_value=1.0, tolerance=f"argmax in {list(WINDOW)} n; peak >= {PEAK_RATIO}x; closed form "
                    f"+-{CLOSED_FORM_RTOL:.0%} away from the threshold",
                    justification="a sanity check: the exact risk has a pole at p = n, so the peak is certain; it "
                                  "checks our simulation against the closed form (the n -> inf limit: a few % at n = 100)",
                    budget=f"n = {N_TRAIN}, p/n in [0.1, 10], {len(SEEDS)} seeds", **COMMON)
def test_min_norm_model_wise(claim):
    ps = np.round(GRID * N_TRAIN).astype(int)
    risk = min_norm_risk_curve(ps, [N_TRAIN] * len(ps), SEEDS)
    gamma = ps / N_TRAIN
    med = Curve.over_units(gamma, risk)
    mean = Curve.over_units(gamma, risk, stat=np.mean)
    closed = theory.min_norm_risk(gamma, R2, SIGMA2)
    away = np.flatnonzero((gamma <= 0.7) | (gamma >= 1.5))
    rel = [mean.statistic(lambda y, j=j: y[j] / closed[j] - 1, f"mean risk / closed form - 1 at p/n = {gamma[j]}")
           for j in away]
    claim.measured(float(gamma[np.argmax(med.y)]))
    claim.points({"p": ps, "gamma": gamma, "median_risk": med.y, "mean_risk": mean.y, "closed_form": closed})
    dense = np.geomspace(0.1, 10, 400)
    claim.plot(plots.threshold_plot, {f"median of {len(SEEDS)} seeds": (gamma, med.y)}, threshold=1.0,
               threshold_label="p = n", theory=("Hastie et al. closed form", dense,
                                                np.minimum(theory.min_norm_risk(dense, R2, SIGMA2), 1e3)),
               xlabel="p / n", ylabel="excess test risk", title=f"Min-norm least squares, n = {N_TRAIN}")
    claim.check_all(*peak_checks(med),
                    checks.all_within("mean risk vs closed form, relative error at every p/n away from the threshold",
                                      rel, -CLOSED_FORM_RTOL, CLOSED_FORM_RTOL,
                                      labels=[f"p/n={gamma[j]:g}" for j in away]))


@pytest.mark.quick
@pytest.mark.sanity("double-descent-sample-wise", claim="fixed p; more samples can hurt: risk peaks at n = p",
                    quantity="argmax n / p", paper_value=1.0,
                    tolerance=f"argmax in {list(WINDOW)} p; peak >= {PEAK_RATIO}x",
                    justification="a sanity check: the exact risk has a pole at n = p; the grid holds the points "
                                  "the checks read", budget=f"p = {N_TRAIN}, n/p in [0.1, 10]", **COMMON)
def test_min_norm_sample_wise(claim):
    p = N_TRAIN
    ns = np.round(p / GRID).astype(int)  # n / p = 1 / GRID, same gamma grid read backwards
    risk = min_norm_risk_curve([p] * len(ns), ns, SEEDS)
    med = Curve.over_units(ns / p, risk)
    claim.measured(float(med.x[np.argmax(med.y)]))
    claim.points({"n_over_p": med.x, "median_risk": med.y})
    claim.plot(plots.threshold_plot, {f"median of {len(SEEDS)} seeds": (med.x, med.y)}, threshold=1.0,
               threshold_label="n = p", theory=("Hastie et al. closed form", med.x, theory.min_norm_risk(
                   1 / med.x, R2, SIGMA2).clip(max=1e3)),
               xlabel="n / p (training samples per feature)", ylabel="excess test risk",
               title=f"Sample-wise double descent, p = {p}")
    claim.check_all(*peak_checks(med))


D_IN, NOISE = 10, 0.3  # label noise std 0.3 on a target of variance ~0.4 (>= 0.1 of the signal)


def relu_feature_errors(ps, lam, seeds):
    """Test MSE of random ReLU features fitted by min-norm least squares (lam = 0) or ridge,
    one row per seed."""
    out = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        target = lambda X: np.sin(2 * X.sum(axis=1) / np.sqrt(D_IN))  # noqa: E731
        X, Xt = rng.standard_normal((N_TRAIN, D_IN)), rng.standard_normal((2000, D_IN))
        y = target(X) + NOISE * rng.standard_normal(N_TRAIN)
        row = []
        for p in ps:
            rf = linear.RandomFeatures(D_IN, int(p), "relu", seed=10_000 * seed + int(p))
            Z = rf(X)
            w = linear.min_norm_lstsq(Z, y) if lam == 0 else linear.ridge(Z, y, lam)
            row.append(float(np.mean((rf(Xt) @ w - target(Xt)) ** 2)))
        out.append(row)
    return np.array(out)


@pytest.mark.quick
@pytest.mark.claim("double-descent-relu-features", headline="double-descent", role="law", claim="random ReLU features, min-norm fit: test error peaks at "
                   "p = n and falls again", quantity="argmax p / n", paper_value=1.0,
                   tolerance=f"argmax in {list(WINDOW)} n; peak >= {PEAK_RATIO}x the error at n/4 and 4n",
                   justification="docs/sources.md, 'Nakkiran et al. 2019' (Belkin et al. 2019: the peak at N = n); "
                                 "intervals from a bootstrap of the median over seeds",
                   budget=f"n = {N_TRAIN}, d = {D_IN}, p/n in [0.1, 10]",
                   **COMMON)
def test_random_relu_features_peak(claim):
    ps = np.round(GRID * N_TRAIN).astype(int)
    med = Curve.over_units(ps / N_TRAIN, relu_feature_errors(ps, 0.0, SEEDS))
    where = med.statistic(lambda y: med.x[int(np.argmax(y))], "x of the maximum")
    claim.measured(where)
    claim.points({"p": ps, "median_test_mse": med.y})
    claim.plot(plots.threshold_plot, {"min-norm (ridgeless)": (med.x, med.y)},
               threshold=1.0, threshold_label="p = n", xlabel="p / n (random features per sample)",
               ylabel=f"test MSE (median of {len(SEEDS)} seeds)", title=f"Random ReLU features, n = {N_TRAIN}")
    claim.check_all(*peak_checks(med))


RIDGE_LAMBDA = 0.1
RIDGE_TOL = 0.05  # prominence <= 1.05: a smooth ridge curve; the ridgeless peak stands > 10x above its neighbours


@pytest.mark.quick
@pytest.mark.claim("double-descent-ridge-control", headline="double-descent", role="law", claim=f"ridge (lambda = {RIDGE_LAMBDA}) suppresses the peak",
                   quantity="largest peak prominence", paper_value="no peak (prominence 1)",
                   tolerance=f"prominence <= {1 + RIDGE_TOL}",
                   justification="any ridge penalty suppresses the peak (Nakkiran et al. 2020; docs/sources.md); 5% is "
                                 "small against the ridgeless peak (> 10x); the interval carries the seed noise",
                   budget=f"n = {N_TRAIN}, p/n in [0.1, 10]", **COMMON)
def test_ridge_control_has_no_peak(claim):
    ps = np.round(GRID * N_TRAIN).astype(int)
    med = Curve.over_units(ps / N_TRAIN, relu_feature_errors(ps, RIDGE_LAMBDA, SEEDS))
    check = checks.no_peak("ridge curve has no peak", med, tolerance=RIDGE_TOL)
    claim.measured(check.measured)
    claim.note("lambda is a moderate penalty, not tuned per p; a much smaller one may leave a damped peak "
               "(Nakkiran et al. 2020: optimal regularisation removes it)")
    claim.points({"p": ps, "median_test_mse": med.y})
    claim.plot(plots.threshold_plot, {f"ridge lambda = {RIDGE_LAMBDA}": (med.x, med.y)}, threshold=1.0,
               threshold_label="p = n", xlabel="p / n", ylabel=f"test MSE (median of {len(SEEDS)} seeds)",
               title="Ridge control")
    claim.check(check)
