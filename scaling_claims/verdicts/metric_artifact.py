"""Emergence as a metric artifact (Schaeffer, Miranda & Koyejo 2023) on a ladder of sizes trained
with many seeds: the two comparisons their argument rests on, with intervals from a bootstrap
over the seeds within each size (the two metrics are read off the same runs, so every resample
recomputes both: the comparison is paired).

- :func:`slope_gap`: how much sharper metric a rises than metric b. Each metric's seed means per
  size are fitted by a logistic in ln N (:func:`~scaling_claims.fit.fit_logistic`); the statistic
  is slope(a) - slope(b). A resample whose fit degenerates (a step with no point on its rise, a
  slope at its cap) keeps its value, which widens the interval; a flagged point fit makes the
  interval unusable (the check is then inconclusive, with the reason), and so do more than 5%
  resamples whose fit failed outright.
- :func:`predictability`: how well each metric's small-model trend predicts the larger models.
  On the ``fitted`` sizes, the metric's shortfall from a perfect score, ``1 - m``, is fitted as a
  power law ``c N**-alpha`` (:func:`~scaling_claims.fit.fit_power_law`; the per-token form behind
  Schaeffer et al.'s argument: a per-token error falling as a power law in N), and extrapolated to
  the held-out sizes: error = predicted - measured seed mean, per held-out size, for each metric,
  and the gap mean|error a| - mean|error b| (> 0: a is the less predictable metric). The same
  form for both metrics: only the metric differs.

Every function validates its input (``ValueError``): sizes increasing and positive, runs as
(sizes, seeds) arrays of one shape in [0, 1], at least 2 seeds, and for the prediction at least
2 fitted and 1 held-out size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scaling_claims.verdicts.estimates import Estimate, bootstrap
from scaling_claims.fit import fit_logistic, fit_power_law
from scaling_claims.fit._result import FitResult

MAX_FAILED = 0.05  # Bootstrap.estimate's default: more failed resamples than this make the interval unusable


def _runs(N, *arrays) -> tuple[np.ndarray, list[np.ndarray]]:
    x = np.asarray(N, dtype=float)
    if x.ndim != 1 or x.size < 3 or np.any(x <= 0) or np.any(np.diff(x) <= 0):
        raise ValueError(f"sizes must be >= 3 positive, increasing values, got {x.tolist()}")
    out = []
    for a in arrays:
        a = np.asarray(a, dtype=float)
        if a.ndim != 2 or a.shape[0] != x.size or a.shape[1] < 2:
            raise ValueError(f"runs must be a (sizes={x.size}, seeds>=2) array, got shape {a.shape}")
        if not np.all(np.isfinite(a)) or a.min() < 0 or a.max() > 1:
            raise ValueError("runs must be finite metrics in [0, 1]")
        out.append(a)
    if len({a.shape for a in out}) != 1:
        raise ValueError(f"the metrics must come from the same runs (one shape), got {[a.shape for a in out]}")
    return x, out


def _resampled(runs: np.ndarray, idx) -> np.ndarray:
    """Per-size means over the resampled seeds (``idx``: one index array per size)."""
    return np.array([row[i].mean() for row, i in zip(runs, idx)])


def _slope(N, y, lower) -> float:
    return fit_logistic(N, y, lower=lower).params["slope"]


@dataclass(frozen=True)
class SlopeGap:
    gap: Estimate  # slope(a) - slope(b), paired over seeds
    slope_a: Estimate  # each fit's own interval (reported beside)
    slope_b: Estimate
    fit_a: FitResult
    fit_b: FitResult


def slope_gap(N, a_runs, b_runs, a_lower: float | None = 0.0, b_lower: float | None = 0.0, n_boot: int = 1000,
              seed: int = 0) -> SlopeGap:
    """slope(a) - slope(b) of logistic fits in ln N to the seed means of two metrics of the same
    runs (``*_runs``: (sizes, seeds)); ``*_lower``: each logistic's floor (``None``: fitted, for a
    metric that starts above 0, such as a per-digit accuracy whose easy digit is learned first)."""
    x, (a, b) = _runs(N, a_runs, b_runs)
    fit_a, fit_b = fit_logistic(x, a.mean(axis=1), lower=a_lower), fit_logistic(x, b.mean(axis=1), lower=b_lower)
    slope_a, slope_b = Estimate.from_fit(fit_a, "slope"), Estimate.from_fit(fit_b, "slope")

    def stat(*idx):
        return _slope(x, _resampled(a, idx), a_lower) - _slope(x, _resampled(b, idx), b_lower)

    point = slope_a.value - slope_b.value
    boot = bootstrap(stat, [a.shape[1]] * x.size, n_boot, seed=seed, units="seeds within each size")
    gap = boot.estimate(point, what="slope(a) - slope(b), both refitted per resample", max_failure_share=MAX_FAILED)
    flagged = [f"{name}: {'; '.join(f.flags.values())}" for name, f in (("a", fit_a), ("b", fit_b)) if f.flags]
    if flagged and not gap.problem:
        gap = Estimate(gap.value, gap.lo, gap.hi, gap.level, gap.method,
                       "the point fit is flagged (" + "; ".join(flagged) + ")")
    return SlopeGap(gap, slope_a, slope_b, fit_a, fit_b)


def trend_errors(N, means, fitted) -> tuple[np.ndarray, FitResult]:
    """Predicted - measured at the held-out sizes (``~fitted``) of the power law ``1 - m = c
    N**-alpha`` fitted on the ``fitted`` sizes' ``means``; raises ``ValueError`` where the law
    cannot be fitted (a fitted mean of exactly 1, a constant shortfall)."""
    x, m, f = np.asarray(N, float), np.asarray(means, float), np.asarray(fitted, bool)
    fit = fit_power_law(x[f], 1.0 - m[f])
    if fit.flags:
        raise ValueError("; ".join(fit.flags.values()))
    return (1.0 - fit.predict(x[~f])) - m[~f], fit


@dataclass(frozen=True)
class Predictability:
    errors_a: list[Estimate]  # predicted - measured at each held-out size
    errors_b: list[Estimate]
    gap: Estimate  # mean|error a| - mean|error b|, paired over seeds
    fit_a: FitResult
    fit_b: FitResult
    held_out: np.ndarray  # the held-out sizes


def predictability(N, a_runs, b_runs, fitted, n_boot: int = 1000, seed: int = 0) -> Predictability:
    """Each metric's small-model trend (fitted on the sizes where ``fitted`` is true) scored at
    the held-out sizes, with intervals from a bootstrap over the seeds within each size (fitted
    and held-out sizes resampled together, every fit redone)."""
    x, (a, b) = _runs(N, a_runs, b_runs)
    f = np.asarray(fitted, dtype=bool)
    if f.shape != x.shape or f.sum() < 2 or (~f).sum() < 1:
        raise ValueError(f"fitted must mark >= 2 fitted and >= 1 held-out size, got {f.tolist()}")
    if x[f].max() >= x[~f].min():
        raise ValueError("the fitted sizes must all lie below the held-out ones (a prediction, not an interpolation)")
    ea, fit_a = trend_errors(x, a.mean(axis=1), f)
    eb, fit_b = trend_errors(x, b.mean(axis=1), f)
    k = int((~f).sum())

    def stat(*idx):
        ra, _ = trend_errors(x, _resampled(a, idx), f)
        rb, _ = trend_errors(x, _resampled(b, idx), f)
        return np.concatenate([ra, rb, [np.abs(ra).mean() - np.abs(rb).mean()]])

    boot = bootstrap(stat, [a.shape[1]] * x.size, n_boot, seed=seed, units="seeds within each size")
    est = lambda value, i, what: boot.estimate(value, index=i, what=what, max_failure_share=MAX_FAILED)  # noqa: E731
    held = x[~f]
    return Predictability(
        errors_a=[est(ea[j], j, f"a's error at N={held[j]:g}") for j in range(k)],
        errors_b=[est(eb[j], k + j, f"b's error at N={held[j]:g}") for j in range(k)],
        gap=est(np.abs(ea).mean() - np.abs(eb).mean(), 2 * k, "mean|error a| - mean|error b|"),
        fit_a=fit_a, fit_b=fit_b, held_out=held)
