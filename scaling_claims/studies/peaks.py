"""Peak finding on measured curves (pure NumPy): where a double-descent curve interpolates and
where its peak, the classical sweet spot before it and the second descent after it lie.

Claims call these on a median curve and on each bootstrap resample of it
(``scaling_claims.verdicts.estimates.Curve.statistic``), so the peak's location and height get intervals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def first_at_most(values, threshold: float) -> int:
    """Index of the first value ``<= threshold`` (e.g. the smallest width whose median training
    error is ~0: the interpolation threshold); ``ValueError`` when there is none."""
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or v.size == 0 or not np.all(np.isfinite(v)):
        raise ValueError(f"values must be a non-empty 1-D array of finite numbers, got {v.tolist()}")
    hits = np.flatnonzero(v <= threshold)
    if hits.size == 0:
        raise ValueError(f"no value is <= {threshold}: {np.round(v, 4).tolist()}")
    return int(hits[0])


@dataclass(frozen=True)
class Peak:
    """Indices into the curve: ``left`` the classical sweet spot (lowest point before the
    interpolation threshold), ``peak`` the highest point from the sweet spot on, ``right`` the
    lowest point after the peak (None when the peak is the last point or the sweet spot), and
    ``prominence`` = peak / max(left, right) (1.0 when there is no peak past the sweet spot)."""

    left: int
    peak: int
    right: int | None
    prominence: float


def interpolation_peak(curve, first_interpolating: int) -> Peak:
    """The double-descent peak of a test-error ``curve`` (ordered by model size) whose first
    interpolating size is index ``first_interpolating``. Tiny models underfit (Nakkiran et al.'s
    Fig. 1: width 1 is the worst of all), so the peak is not the global maximum: it is the
    highest error from the sweet spot on."""
    y = np.asarray(curve, dtype=float)
    if y.ndim != 1 or y.size < 2 or not np.all(np.isfinite(y)) or np.any(y <= 0):
        raise ValueError(f"curve must be 1-D, positive and finite with >= 2 points, got {y.tolist()}")
    if not 0 <= first_interpolating < y.size:
        raise ValueError(f"first_interpolating must index the curve (0..{y.size - 1}), got {first_interpolating}")
    left = int(np.argmin(y[:max(first_interpolating, 1)]))
    i = left + int(np.argmax(y[left:]))
    if i == left or i == y.size - 1:
        return Peak(left, i, None, 1.0)
    right = i + 1 + int(np.argmin(y[i + 1:]))
    return Peak(left, i, right, float(y[i] / max(y[left], y[right])))


def cross_fitted_gaps(curve_a, curve_b, first_interpolating: int) -> tuple[float, float, float]:
    """Peak minus sweet spot, peak minus right minimum, and the prominence, each *cross-fitted*:
    the indices are found on one half's curve and the heights read off the other half's, both
    ways, and averaged. Finding the peak and the minima on the same noisy curve they are
    measured on makes every gap positive by construction (a max minus a min); reading them off
    independent seeds removes that selection bias, so a flat curve gives gaps around 0."""
    a, b = np.asarray(curve_a, dtype=float), np.asarray(curve_b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"the two halves' curves must have one shape, got {a.shape} and {b.shape}")
    out = []
    for sel, ev in ((a, b), (b, a)):
        q = interpolation_peak(sel, first_interpolating)
        right = q.right if q.right is not None else q.peak
        out.append((ev[q.peak] - ev[q.left], ev[q.peak] - ev[right], ev[q.peak] / max(ev[q.left], ev[right])))
    return tuple(float(v) for v in np.mean(out, axis=0))  # type: ignore[return-value]
