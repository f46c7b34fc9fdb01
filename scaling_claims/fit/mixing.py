"""Data mixing laws (Ye et al. 2024, "Data Mixing Laws", ICLR 2025).

A model of fixed size trained for a fixed number of steps on a mixture of M domains with
proportions r (r_j >= 0, sum_j r_j = 1) has, on each evaluation domain i, a held-out loss

    L_i(r) = c_i + k_i * exp(sum_j t_ij r_j).

Because the proportions sum to 1, adding a constant to every t_ij is the same as scaling k_i,
so the law is fitted in its identified form with the last domain as reference:
``L = c + exp(log_k + sum_{j < M} t_j r_j)`` (parameters ``c``, ``log_k``, ``t_1..t_{M-1}``;
``k`` and the full ``t`` with ``t_M = 0`` are added to the result). Starts profile ``c``: for
each candidate floor, ``log(L - c)`` is linear in r and is solved exactly by least squares; the
best of 25 floors is refined by a bounded scalar search between its neighbours.

:func:`fit_linear_mixing` is the baseline the paper's law is compared with, a loss linear in
the proportions; :func:`optimal_mixture` minimises a weighted sum of fitted per-domain laws
over the simplex (or a face of it: domains that must stay out of training get weight 0).
"""

from __future__ import annotations

import itertools
import math
from typing import Sequence

import numpy as np
from scipy import optimize

from ._degenerate import exp_or_inf
from ._nls import nls_fit
from ._result import FitResult
from ._validate import as_real_array, check_enough_points, check_level, check_positive


def _proportions(R, L=None) -> np.ndarray:
    try:
        probe = np.asarray(R)
    except (TypeError, ValueError):
        probe = None  # ragged: the conversion below names the problem
    if probe is not None and (probe.dtype.kind == "c" or (
            probe.dtype.kind == "O" and any(isinstance(v, complex) for v in probe.ravel().tolist()))):
        raise ValueError("proportions must be real, got complex values")
    try:
        R = np.asarray(R, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"proportions must be numeric: {exc}") from None
    if R.ndim != 2 or R.shape[1] < 2 or R.shape[0] < 1:
        raise ValueError(f"proportions must be an (n mixtures, M >= 2 domains) array, got shape {R.shape}")
    if not np.all(np.isfinite(R)):
        raise ValueError("proportions contain NaN or inf")
    if np.any(R < -1e-12) or not np.allclose(R.sum(axis=1), 1.0, atol=1e-6):
        raise ValueError("each mixture's proportions must be >= 0 and sum to 1")
    if L is not None and len(L) != len(R):
        raise ValueError(f"need one loss per mixture: {len(R)} mixtures, {len(L)} losses")
    return np.clip(R, 0.0, 1.0)


def _mixing_model(theta: np.ndarray, *r: np.ndarray) -> np.ndarray:
    c, log_k, t = theta[0], theta[1], theta[2:]
    expo = log_k + sum(tj * rj for tj, rj in zip(t, r))
    with np.errstate(over="ignore"):  # clipped just inside float range (a loss up to ~1e304 is reachable)
        return c + np.exp(np.clip(expo, -700.0, 700.0))


def fit_mixing_law(R, L, level: float = 0.95) -> FitResult:
    """Fit one evaluation domain's law ``L = c + k exp(sum_j t_j r_j)`` to the held-out losses
    ``L`` (n,) of mixtures ``R`` (n, M). ``FitResult.predict(*columns)`` takes the first M - 1
    proportion columns; use :func:`predict_mixing` with whole mixtures. ``ValueError`` for bad
    proportions, non-positive losses or too few mixtures (M + 1 parameters, one residual dof),
    complex input or a ``level`` outside (0, 1). A constant L is flagged, intervals not identified."""
    level = check_level(level)
    L = as_real_array(L, "L")
    R = _proportions(R, L)
    check_positive(L, "L", "it is a loss")
    M = R.shape[1]
    check_enough_points(len(L), M + 1, "the mixing law", min_dof=1)
    cols = tuple(R[:, j] for j in range(M - 1))
    design = np.column_stack([np.ones(len(L)), *cols])

    def profiled(c: float) -> np.ndarray:  # log(L - c) is linear in r: solved exactly for this floor
        coef, *_ = np.linalg.lstsq(design, np.log(L - c), rcond=None)
        return np.concatenate([[c], coef])

    scale = float(L.max())  # relative errors: the same minimum, without squares that overflow past ~1e154

    def sse(c: float) -> float:
        with np.errstate(over="ignore", invalid="ignore"):
            v = float(np.sum(((_mixing_model(profiled(c), *cols) - L) / scale) ** 2))
        return v if math.isfinite(v) else 1e300  # a floor whose law leaves float range: a poor one

    floors = float(L.min()) * np.linspace(0.0, 0.98, 25)
    errors = [sse(c) for c in floors]
    i = int(np.argmin(errors))
    # refine the floor between the grid's neighbours: on a law that barely bends, c and k trade
    # off along a flat valley that the optimizer alone crawls along (it ran out of evaluations)
    lo, hi = floors[max(i - 1, 0)], floors[min(i + 1, len(floors) - 1)]
    with np.errstate(over="ignore", invalid="ignore"):
        c_best = optimize.minimize_scalar(sse, bounds=(lo, hi), method="bounded",
                                          options={"xatol": 1e-12 * float(L.min())}).x
    start = profiled(c_best if sse(c_best) < errors[i] else floors[i])
    names = ("c", "log_k", *(f"t_{j + 1}" for j in range(M - 1)))
    lower = [0.0, -np.inf, *([-np.inf] * (M - 1))]
    upper = [float(L.min()), np.inf, *([np.inf] * (M - 1))]
    start[0] = min(max(start[0], 0.0), upper[0] * (1 - 1e-9))
    res = nls_fit(kind="mixing_law", names=names, model=_mixing_model, x=cols, y=L, start=start,
                  bounds=(lower, upper), level=level, info={"domains": M}, y_name="L")
    res.params["k"] = exp_or_inf(res.params["log_k"])
    res.params[f"t_{M}"] = 0.0  # the reference domain (only differences of t are identified)
    return res


def _linear_model(theta: np.ndarray, *r: np.ndarray) -> np.ndarray:
    return theta[0] + sum(tj * rj for tj, rj in zip(theta[1:], r))


def fit_linear_mixing(R, L, level: float = 0.95) -> FitResult:
    """The baseline: ``L = a + sum_{j < M} b_j r_j`` (linear in the proportions), by least squares.
    A constant L is flagged, intervals not identified."""
    level = check_level(level)
    L = as_real_array(L, "L")
    R = _proportions(R, L)
    M = R.shape[1]
    check_enough_points(len(L), M, "the linear mixing baseline", min_dof=1)
    cols = tuple(R[:, j] for j in range(M - 1))
    coef, *_ = np.linalg.lstsq(np.column_stack([np.ones(len(L)), *cols]), L, rcond=None)
    return nls_fit(kind="linear_mixing", names=("a", *(f"b_{j + 1}" for j in range(M - 1))), model=_linear_model,
                   x=cols, y=L, start=coef, level=level, info={"domains": M}, y_name="L")


def predict_mixing(fit: FitResult, R) -> np.ndarray:
    """A fitted law (:func:`fit_mixing_law` or :func:`fit_linear_mixing`) at whole mixtures ``R``."""
    R = _proportions(np.atleast_2d(R))
    return np.asarray(fit.predict(*(R[:, j] for j in range(R.shape[1] - 1))), dtype=float)


def simplex_grid(M: int, steps: int, exclude: Sequence[int] = ()) -> np.ndarray:
    """Every mixture of M domains whose proportions are multiples of 1/steps (domains in
    ``exclude`` fixed at 0), as an (n, M) array in lexicographic order."""
    if M < 2 or steps < 1:
        raise ValueError(f"need M >= 2 domains and steps >= 1, got {M}, {steps}")
    free = [j for j in range(M) if j not in set(exclude)]
    if not free:
        raise ValueError("every domain is excluded")
    rows = []
    for counts in itertools.product(range(steps + 1), repeat=len(free) - 1):
        if sum(counts) <= steps:
            r = np.zeros(M)
            r[free[:-1]] = counts
            r[free[-1]] = steps - sum(counts)
            rows.append(r / steps)
    return np.array(rows)


def optimal_mixture(laws: Sequence[FitResult], target: Sequence[float], exclude: Sequence[int] = (),
                    resolution: int = 200) -> tuple[np.ndarray, float]:
    """The mixture minimising ``sum_i target[i] * L_i(r)`` under the fitted per-domain ``laws``,
    searched on the simplex grid of step 1/``resolution`` (domains in ``exclude`` kept out of
    training); returns (proportions, predicted target)."""
    if len(laws) != len(target) or not laws:
        raise ValueError(f"need one target weight per law, got {len(laws)} laws and {len(target)} weights")
    w = as_real_array(target, "target")
    if np.any(w < 0) or not w.sum() > 0:
        raise ValueError("target weights must be >= 0 and not all 0")
    M = laws[0].info.get("domains")
    grid = simplex_grid(int(M), resolution, exclude)
    value = sum(wi * predict_mixing(law, grid) for wi, law in zip(w, laws) if wi > 0)
    i = int(np.argmin(value))
    return grid[i], float(value[i])


def relative_errors(predicted, measured) -> np.ndarray:
    """(predicted - measured) / measured, elementwise."""
    p, m = as_real_array(predicted, "predicted"), as_real_array(measured, "measured")
    if p.shape != m.shape:
        raise ValueError(f"predicted and measured differ in shape: {p.shape} vs {m.shape}")
    return (p - m) / m

