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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scaling_claims.claims import checks
from scaling_claims.claims.checks import Check
from scaling_claims.claims.estimates import Estimate, paired_difference
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
