"""Model-wise double descent of a trained MLP with label noise (docs/sources.md, 'Nakkiran et al. 2019'; slow;
Nakkiran et al. 2019, "Deep Double Descent").

Paper: with label noise, test error as a function of width rises to a peak where the model
can just fit the (noisy) training set, then falls again; without noise the peak shrinks.

Set-up (``noisy_classes`` task, ``scaling_claims.engine.data.noisy_classes``): a 4-class Gaussian
mixture in 16 dimensions (means of norm 3.5), a fixed training set of n = 200 examples with
20% of labels replaced by another class, a clean held-out set of 4096. One-hidden-layer ReLU
MLPs of width h (total parameters p = h(d+1) + (h+1)K), full-batch AdamW without weight decay
or clipping, constant LR 3e-3, 2000 steps (enough to reach zero training error from h ~ 8),
20 seeds (model init and training sample both vary). Medians over seeds at every width.

Interpolation threshold: with cross-entropy, zero training *error* needs far fewer than the
n K = 800 parameters a squared-loss fit would (about n K: docs/sources.md), so the threshold
is measured, not assumed: p* is the parameter count of the smallest width whose median
training error is <= 1% (2 of 200 examples), Nakkiran et al.'s "effective model complexity"
at this training budget. Widths are in units of p*.

The peak: tiny widths underfit (width 1 is the worst of all, as in Nakkiran et al.'s Fig. 1),
so the double-descent peak is not the global maximum. The classical sweet spot is the lowest
median error among the under-parameterised widths (median train error > 1%); the peak is the
highest median error from the sweet spot on; the right side is the lowest median error after
the peak.

Checks (tolerances and why), each decided by an interval from a bootstrap over seeds:
- the peak lies in [0.8, 1.25] p* (the window of docs/sources.md; the peak found again on every resampled
  median curve).
- the peak exceeds the sweet spot and the right-side minimum: each gap's 99.7% interval (the
  old design's "3 standard errors") lies above 0. The 3x at n/4 and 4n (docs/sources.md) is for a squared
  risk with no floor; a classification error is bounded by chance (0.75) above and the Bayes
  error below, so instead the peak must be one that seed noise cannot make. The gaps are
  cross-fitted (``scaling_claims.studies.peaks.cross_fitted_gaps``): peak and minima are found on the
  even seeds' median curve and read off the odd seeds', and the other way round. Found and
  measured on the same curve, a peak minus the minimum before it is >= 0 by construction, so a
  flat noisy curve would "confirm" a peak (the first design measured its gaps that way).
- control (label_noise = 0, same widths and seeds): its prominence, peak / max(sweet spot,
  right minimum) (1 when it has no peak), cross-fitted too, is below the noisy curve's (paired
  over seeds).

History of the design (why these seeds and widths):
- seeds 0-9 gave gaps of only 2.4 and 2.6 standard errors (the check failed); the seed count was
  then raised to 20 (seeds 0-19) and passed, a design enlarged after a failure. Measured on
  seeds 0-19 (widths 1-6, 8, 10, 12, 16, 32, ..., 512; 600 runs): p* = 172 parameters (h = 8);
  peak 0.341 exactly at p*, sweet spot 0.224 (p/p* = 0.39), right minimum 0.294 (15.7 p*).
- seeds 20-39, fresh, on the same design (commit fed0da6): p* = 172 again, peak 0.362 at p*,
  cross-fitted gaps 0.100 [0.020, 0.187] and 0.049 [0.006, 0.098] (99.7%), control prominence
  1.00 vs 1.20: confirmed; the peak's position 1 [0.756, 1.244] p* reached the next smaller
  width (h = 6, 0.756 p*), outside the window, so the claim was inconclusive (an expectation
  declared after that data). The issue that followed: refine the width grid around p* (rungs at
  about 0.9 and 1.1 p*) and decide on fresh seeds.
- the refined grid (this design): widths 1-10 (every integer: h = 7 and 9 added, 0.88 and 1.12
  of the old p* = 172, the finest a width grid can be there), 12, 16, 32, ..., 512; 20 fresh
  seeds 40-59, declared here before they were trained; 680 runs.

The pilot that sized it (seeds 100-139, which decide nothing; 1,400 runs, ~3.5 min per 20 seeds
on one worker): at this budget h = 7 already interpolates (median train error 0.007 on seeds
100-119, 0 on 120-139), so p* moves to 151 (h = 7) and the grid near it reads 0.72, 0.86, 1,
1.14, 1.28, 1.42, 1.70 p*. The peak is not a point but a plateau: on seeds 100-139 the median
test error is 0.344, 0.348, 0.349, 0.346, 0.340, 0.345 at h = 6-10 and 12, within seed noise of
one another, so the argmax wanders over it. Its 95% interval was [0.86, 1.42] p* on seeds 100-119,
[0.86, 1.70] on 120-139 and [0.86, 1.42] on all 40: each reaches past the window's upper edge
1.25. On the old grid the same seeds gave [0.756, 1.488] and [0.756, 1.488] (the old design's
failure, from both sides). With h = 11 added too (seeds 100-119) the argmax moved to 1.56 p*.
The left gap and the control were confirmed on both pilot halves; the right gap was not at 20
seeds ([-0.003, 0.080] and [-0.0005, 0.084]), and was at 40 ([0.009, 0.062]). So the refined
grid is expected to leave the claim inconclusive, by the peak's position (see ``expect=``): a
finer grid cannot pin the argmax of a flat top; more seeds did not either (40 pilot seeds).
Decided on seeds 40-59: inconclusive, as declared (the numbers: docs/results-slow.md).
"""

from __future__ import annotations

import numpy as np
import pytest

from scaling_claims.verdicts import checks, expect, plots
from scaling_claims.verdicts.estimates import Curve, bootstrap
from scaling_claims.studies.peaks import cross_fitted_gaps, first_at_most, interpolation_peak
from scaling_claims.engine.specs import Budget, DataSpec, EvalSpec, ModelSpec, OptimSpec, RunSpec

PAPER = "Nakkiran et al. 2019 (Deep Double Descent)"
N_TRAIN, K, D_IN, SEPARATION, NOISE = 200, 4, 16, 3.5, 0.2
SEEDS = range(40, 60)  # fresh, declared before they were run (see the docstring); pilot seeds 100-139 decide nothing
WIDTHS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 16, 32, 64, 128, 256, 512)  # 7 and 9 added around p*
STEPS, LR = 2000, 3e-3
INTERP_TRAIN_ERROR = 0.01  # "train error ~ 0": at most 2 of the 200 training examples wrong
WINDOW = (0.8, 1.25)  # docs/sources.md, 'Nakkiran et al. 2019'
GAP_LEVEL = 0.997  # the gaps' intervals: "3 standard errors" of the first design, two-sided
N_BOOT = 4000
ERR, TRAIN_ERR = "classification.error/test_error", "classification.error/train_error"


def n_params(h: int) -> int:
    return h * (D_IN + 1) + (h + 1) * K


def spec(h: int, seed: int, noise: float, device: str) -> RunSpec:
    return RunSpec(
        model=ModelSpec(arch="mlp", d_in=D_IN, hidden=(h,), d_out=K),
        data=DataSpec.make("noisy_classes", seed=seed, n_train=N_TRAIN, n_classes=K, d_in=D_IN,
                           label_noise=noise, separation=SEPARATION),
        optim=OptimSpec(lr=LR, weight_decay=0.0, batch_size=N_TRAIN, grad_clip=0.0, schedule="constant"),
        budget=Budget(steps=STEPS), seed=seed, device=device, eval_every=STEPS, eval_batches=1,
        evals=(EvalSpec.make("classification.error"),), tag="double-descent-mlp")


def per_seed(df, col):
    """(seeds, widths) array of ``col``; every run must have trained."""
    failed = df[df.status != "ok"]
    if not failed.empty:
        raise RuntimeError(f"failed runs: {failed[['model.hidden', 'seed', 'failure']].to_dict('records')}")
    return np.array([[float(df[(df.seed == s) & (df.h == h)][col].iloc[0]) for h in WIDTHS] for s in SEEDS])


@pytest.mark.slow
@pytest.mark.claim("double-descent-mlp-label-noise", headline="double-descent", role="law", paper=PAPER,
                   claim="MLP test error peaks where the model can just fit noisy labels, then falls; "
                         "without label noise the peak is smaller",
                   quantity="argmax p / p* (p*: smallest p with median train error <= 1%)", paper_value=1.0,
                   tolerance=f"argmax in {list(WINDOW)} p*; each side's gap above 0 ({GAP_LEVEL:.1%} interval); "
                             "control prominence below the noisy one",
                   justification="window from docs/sources.md; a bounded test error has no 3x peak, so the peak must "
                                 "stand out of seed noise instead",
                   param_convention="total MLP parameters h(d+1) + (h+1)K", seeds=list(SEEDS),
                   expect=expect.inconclusive(
                       "the peak is a plateau: in the pilot (seeds 100-139, which decide nothing) the median test "
                       "error at h = 6-10 and 12 (0.86-1.70 p*, p* = 151 at h = 7) lies within ~0.01, within seed "
                       "noise, so the argmax's 95% interval reached past the window's upper edge 1.25 on both 20-seed "
                       "halves ([0.86, 1.42] and [0.86, 1.70] p*) and on all 40 ([0.86, 1.42]); the right-side gap "
                       "straddled 0 on both halves too. A finer width grid cannot pin the argmax of a flat top"),
                   budget=f"n={N_TRAIN}, K={K}, d={D_IN}, widths {WIDTHS[0]}-{WIDTHS[-1]}, {STEPS} full-batch "
                          f"steps, noise {NOISE} and 0")
def test_mlp_double_descent_with_label_noise(claim, sweep, device):
    specs = [spec(h, s, nz, device) for nz in (NOISE, 0.0) for s in SEEDS for h in WIDTHS]
    df = sweep(specs, desc="MLP double descent")
    claim.runs(df)
    df["h"] = df["model.hidden"].map(lambda v: int(v[0]))
    noisy, clean = df[df["data.label_noise"] == NOISE], df[df["data.label_noise"] == 0.0]
    err, train_err = per_seed(noisy, ERR), per_seed(noisy, TRAIN_ERR)
    ctrl, ctrl_train = per_seed(clean, ERR), per_seed(clean, TRAIN_ERR)
    med, med_train, med_ctrl = (np.median(a, axis=0) for a in (err, train_err, ctrl))
    p = np.array([n_params(h) for h in WIDTHS], float)

    k = first_at_most(med_train, INTERP_TRAIN_ERROR)
    k_ctrl = first_at_most(np.median(ctrl_train, axis=0), INTERP_TRAIN_ERROR)
    p_star = p[k]
    x = p / p_star
    pk = interpolation_peak(med, k)
    prom_ctrl = interpolation_peak(med_ctrl, k_ctrl).prominence
    where = Curve.over_units(x, err, n_boot=N_BOOT).statistic(lambda y: x[interpolation_peak(y, k).peak],
                                                              "p / p* of the peak past the sweet spot")
    even, odd = np.arange(0, len(SEEDS), 2), np.arange(1, len(SEEDS), 2)

    def halves(ia, ib):
        """Cross-fitted (left gap, right gap, prominence noisy - prominence control)."""
        a, b = even[ia], odd[ib]
        left, right, prom = cross_fitted_gaps(np.median(err[a], axis=0), np.median(err[b], axis=0), k)
        *_, prom_c = cross_fitted_gaps(np.median(ctrl[a], axis=0), np.median(ctrl[b], axis=0), k_ctrl)
        return [left, right, prom - prom_c]

    point = halves(np.arange(even.size), np.arange(odd.size))
    boot = bootstrap(halves, [even.size, odd.size], N_BOOT, units="seeds within each half (even, odd)")
    gaps = {"left": boot.estimate(point[0], 0, level=GAP_LEVEL), "right": boot.estimate(point[1], 1, level=GAP_LEVEL)}
    prom_gap = boot.estimate(point[2], 2)
    claim.measured(where)
    claim.points({"h": WIDTHS, "params": p, "p_over_p_star": x, "median_test_error": med,
                  "median_train_error": med_train, "median_test_error_control": med_ctrl,
                  "q25_test_error": np.quantile(err, 0.25, axis=0), "q75_test_error": np.quantile(err, 0.75, axis=0)})
    claim.plot(plots.threshold_plot, {f"label noise {NOISE} (median of {len(SEEDS)})": (x, med),
                                      "no label noise (control)": (x, med_ctrl),
                                      f"train error, noise {NOISE}": (x, med_train)},
               band={"test error IQR (noise)": (x, np.quantile(err, 0.25, axis=0), np.quantile(err, 0.75, axis=0))},
               threshold=1.0, threshold_label=f"p* = {int(p_star)} (train error <= 1%)", logy=False,
               xlabel="MLP parameters / p*", ylabel="classification error",
               title=f"MLP double descent, n = {N_TRAIN}, K = {K}, label noise {NOISE}")
    claim.note(f"p* = {int(p_star)} parameters (h = {WIDTHS[k]}); n K = {N_TRAIN * K}; control p* = "
               f"{int(p[k_ctrl])} (h = {WIDTHS[k_ctrl]})")
    claim.note(f"median test error: sweet spot {med[pk.left]:.3f} at p/p* = {x[pk.left]:.2f}; peak {med[pk.peak]:.3f} "
               f"at p/p* = {x[pk.peak]:.2f}; prominence {pk.prominence:.3f} (control {prom_ctrl:.3f}); widest "
               f"{med[-1]:.3f}")
    claim.note(f"cross-fitted gaps below the peak ({GAP_LEVEL:.1%}): left {gaps['left'].text()}, right "
               f"{gaps['right'].text()}; prominence noisy - control {prom_gap.text()}")
    claim.check_all(
        checks.within_band("p / p* of the peak past the sweet spot (near p*)", where, *WINDOW),
        checks.ordered("peak above the sweet spot", gaps["left"], labels=("sweet spot", "peak")),
        checks.ordered("peak above the right-side minimum", gaps["right"], labels=("right minimum", "peak")),
        checks.ordered("control (no noise) prominence below the noisy one", prom_gap, labels=("control", "noisy")),
    )
