"""Model-wise double descent of a trained MLP with label noise (docs/sources.md, 'Nakkiran et al. 2019'; slow;
Nakkiran et al. 2019, "Deep Double Descent").

Paper: with label noise, test error as a function of width rises to a peak where the model
can just fit the (noisy) training set, then falls again; without noise the peak shrinks.

Set-up (``noisy_classes`` task, ``scaling_claims.data.noisy_classes``): a 4-class Gaussian
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
  cross-fitted (``scaling_claims.peaks.cross_fitted_gaps``): peak and minima are found on the
  even seeds' median curve and read off the odd seeds', and the other way round. Found and
  measured on the same curve, a peak minus the minimum before it is >= 0 by construction, so a
  flat noisy curve would "confirm" a peak (the first design measured its gaps that way).
- control (label_noise = 0, same widths and seeds): its prominence, peak / max(sweet spot,
  right minimum) (1 when it has no peak), cross-fitted too, is below the noisy curve's (paired
  over seeds).

History of the design (why these seeds): seeds 0-9 gave gaps of only 2.4 and 2.6 standard
errors (the check failed); the seed count was then raised to 20 (seeds 0-19) and passed, which
is a design enlarged after a failure. Under the rule that followed (docs/sources.md, 'Verdict rules': enlarge, then
confirm on fresh seeds), the claim is decided on 20 fresh seeds, 20-39, declared here before
they were trained. Measured on seeds 0-19 (CPU, float32, 600 runs, ~1350 s of summed run time):
p* = 172 parameters (h = 8; n K = 800); median test error 0.471 at h = 1, sweet spot 0.224
(p/p* = 0.39), peak 0.341 exactly at p* (train error 0), right minimum 0.294 (p/p* = 15.7),
widest 0.295; gaps 0.116 +- 0.016 (7.2 SE) and 0.046 +- 0.011 (4.2 SE); control prominence
1.00 vs 1.157.

Measured on the fresh seeds 20-39 (the decision; same design, 600 runs, ~6 min cold on 2 cores
then; since these tiny runs take the batched-ensemble path, 101 s, with the same verdict and a
position interval of [0.756, 1.244] p*):
p* = 172 again; peak 0.362 exactly at p*, sweet spot 0.229 (p/p* = 0.39), widest 0.301;
cross-fitted gaps (99.7%) 0.100 [0.020, 0.187] above the sweet spot and 0.049 [0.006, 0.098]
above the right minimum, control prominence 1.00 vs 1.20, gap 0.158 [0.030, 0.261]: all
confirmed. The peak's position is not: its bootstrap interval [0.76, 1.24] p* reaches the next
smaller width (h = 6, 0.76 p*), just outside the window [0.8, 1.25] of docs/sources.md. The width grid is
too coarse near p* to pin the peak inside the window, so the claim is inconclusive; a denser
grid around p* (h = 6-10), decided on fresh seeds, is the next step. The second descent is shallow: out to 63 p* the error falls 14% below the peak
and never back to the sweet spot, unlike Nakkiran et al.'s ResNets, where the widest models
are best. Label noise 0.2 costs the wide models ~0.24 of test error over the control.
"""

from __future__ import annotations

import numpy as np
import pytest

from scaling_claims.claims import checks, expect, plots
from scaling_claims.claims.estimates import Curve, bootstrap
from scaling_claims.peaks import cross_fitted_gaps, first_at_most, interpolation_peak
from scaling_claims.engine.specs import Budget, DataSpec, EvalSpec, ModelSpec, OptimSpec, RunSpec

PAPER = "Nakkiran et al. 2019 (Deep Double Descent)"
N_TRAIN, K, D_IN, SEPARATION, NOISE = 200, 4, 16, 3.5, 0.2
SEEDS = range(20, 40)  # fresh, declared before they were run (see the docstring)
WIDTHS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 32, 64, 128, 256, 512)
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
                       "the width grid's neighbours of p* sit at 0.76 and 1.24 p*, so the peak's position interval "
                       "reaches 0.76 p*, just outside the window [0.8, 1.25]: the grid cannot pin the peak inside it "
                       "(measured on the fresh seeds 20-39, which confirm both gaps and the control; see the docstring)",
                       declared="after data",
                       note="added in commit fed0da6 (2026-12-01), the commit that reported the fresh seeds 20-39's "
                            "measurement: the claim had no declared expectation (confirmed by default) when they ran"),
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
