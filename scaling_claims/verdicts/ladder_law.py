"""A ladder of sizes judged as a scaling *law*, apart from its exponent.

Kaplan et al. 2020 claim that loss falls as a power law in model size N (or data D), and that
the law fitted on smaller models predicts larger ones; the exponent they measured (0.076 on
WebText2 BPE tokens) belongs to their data. This module tests the general part on a ladder of
sizes trained with several seeds, where seed s trains every size on the same data order, so each
quantity is computed per seed and gets the Student-t interval of its mean over seeds:

- every step down: the loss falls between each pair of adjacent sizes (paired over seeds);
- the form: a power law with an offset, ``L = E + A x^-alpha`` (the offset is the floor the other,
  fixed variable sets), fits in log space with R^2 at least ``r2_min``;
- the held-out prediction: the offset law fitted on every size but the largest predicts the
  largest within half the relative loss drop between the two largest sizes. Half the last drop is
  the bar the flat forecast "no further improvement" fails; a fixed "few percent" would not be,
  since adjacent sizes here differ by only 2-5%.

The pure power law's exponent (Kaplan's form, no offset) is reported beside, never judged here.

:func:`grid_law` does the same for Kaplan's joint law L(N, D) (his eq. 1.5, plus a floor) on an
N x D grid: fitted per seed on every size but the largest, it must predict the largest size's
loss at every token count within half the relative drop from the largest fitted size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scaling_claims.verdicts import checks
from scaling_claims.verdicts.checks import Check
from scaling_claims.verdicts.estimates import Estimate, paired_difference
from scaling_claims.fit import fit_power_law


@dataclass(frozen=True)
class LadderLaw:
    """The per-seed estimates of one ladder and the checks of its law."""

    exponent: Estimate  # pure power law (no offset): the comparison with a paper's exponent
    r2: Estimate  # offset law, log space
    extrapolation: Estimate  # leave-largest-out relative error of the offset law
    tolerance: float  # half the last relative drop of the median curve
    last_drop: float
    steps: list[Estimate]  # loss(size i+1) - loss(size i), paired over seeds

    def checks(self, name: str, r2_min: float) -> list[Check]:
        return [
            checks.monotone(f"{name} falls at every step (paired over seeds)", self.steps, "decreasing"),
            checks.r2_at_least("power law with offset fits (log space)", self.r2, r2_min),
            checks.within_band("offset law predicts the largest size (relative error)", self.extrapolation,
                               -self.tolerance, self.tolerance),
        ]


def ladder_law(x, losses) -> LadderLaw:
    """The law's estimates for sizes ``x`` (increasing) and ``losses`` (seeds x sizes)."""
    x = np.asarray(x, dtype=float)
    losses = np.atleast_2d(np.asarray(losses, dtype=float))
    if x.ndim != 1 or losses.shape[1] != x.size or x.size < 4:
        raise ValueError(f"a ladder needs at least 4 sizes and a (seeds, sizes) loss array; got {x.size} sizes and "
                         f"losses of shape {losses.shape}")
    if losses.shape[0] < 2:
        raise ValueError("a ladder's intervals are over seeds: it needs at least 2 seeds")
    if not (np.all(np.diff(x) > 0) and np.all(x > 0)):
        raise ValueError("sizes must be positive and increasing")
    rows = []
    for y in losses:
        held = fit_power_law(x[:-1], y[:-1], offset=True)
        rows.append([fit_power_law(x, y).exponent, fit_power_law(x, y, offset=True).r2,
                     float(held.predict(x[-1:])[0] / y[-1] - 1)])
    rows = np.array(rows)
    est = {k: Estimate.mean_t(rows[:, j], what="seeds") for j, k in enumerate(("exponent", "r2", "extrapolation"))}
    med = np.median(losses, axis=0)
    drop = float((med[-2] - med[-1]) / med[-1])
    steps = [paired_difference(losses[:, i + 1], losses[:, i]) for i in range(x.size - 1)]
    return LadderLaw(est["exponent"], est["r2"], est["extrapolation"], max(drop / 2, 1e-3), drop, steps)


@dataclass(frozen=True)
class GridLaw:
    """Kaplan's L(N, D) (``fit.fit_kaplan_nd``) fitted on the smaller sizes of an N x D grid, each
    seed apart, and its predictions of the held-out largest size at every D."""

    D: np.ndarray  # token counts of the held-out row
    errors: list[Estimate]  # relative error of the prediction at each D, mean over seeds
    tolerances: np.ndarray  # half the relative drop from the largest fitted size to the held-out one, per D
    r2: Estimate  # the joint law's fit on the fitted cells (log space)
    alpha_N: Estimate
    alpha_D: Estimate
    fits: list  # each seed's FitResult

    def checks(self, r2_min: float) -> list[Check]:
        out = [checks.r2_at_least("L(N, D) fits the smaller sizes (log space)", self.r2, r2_min)]
        for d, err, tol in zip(self.D, self.errors, self.tolerances):
            out.append(checks.within_band(f"L(N, D) predicts the held-out size at D={d:.3g} (relative error)", err,
                                          -tol, tol))
        return out


def grid_law(N, D, losses) -> GridLaw:
    """``N``: the sizes (increasing; the last is held out), ``D``: the token counts, ``losses``:
    (seeds, sizes, token counts). Each seed's joint law is fitted on every size but the last and
    predicts the last size's loss at each D; the tolerance at each D is half the relative drop of
    the seed-median loss from the largest fitted size to the held-out one (the bar the flat
    forecast "no further gain from size" fails)."""
    from scaling_claims.fit.kaplan import fit_kaplan_nd

    N, D = np.asarray(N, dtype=float), np.asarray(D, dtype=float)
    losses = np.asarray(losses, dtype=float)
    if losses.ndim != 3 or losses.shape[1:] != (N.size, D.size):
        raise ValueError(f"losses must be (seeds, {N.size} sizes, {D.size} token counts), got {losses.shape}")
    if N.size < 5 or D.size < 4:
        raise ValueError(f"an N x D grid needs at least 4 fitted sizes plus the held-out one and 4 token counts, got "
                         f"{N.size} sizes and {D.size} token counts")
    if losses.shape[0] < 2:
        raise ValueError("the intervals are over seeds: at least 2 seeds")
    if not (np.all(np.diff(N) > 0) and np.all(np.diff(D) > 0)):
        raise ValueError("sizes and token counts must be increasing")
    nn, dd = np.meshgrid(N[:-1], D, indexing="ij")
    rows, fits = [], []
    for cell in losses:
        fit = fit_kaplan_nd(nn.ravel(), dd.ravel(), cell[:-1].ravel())
        pred = fit.predict(np.full(D.size, N[-1]), D)
        rows.append([*(pred / cell[-1] - 1), fit.r2, fit.params["alpha_N"], fit.params["alpha_D"]])
        fits.append(fit)
    rows = np.array(rows)
    est = [Estimate.mean_t(rows[:, j], what="seeds") for j in range(rows.shape[1])]
    med = np.median(losses, axis=0)
    tol = np.maximum((med[-2] - med[-1]) / med[-1] / 2, 1e-3)
    return GridLaw(D, est[:D.size], tol, est[D.size], est[D.size + 1], est[D.size + 2], fits)
