"""Kaplan et al. 2020's joint law of model size and data, their eq. (1.5), with an irreducible term:

    L(N, D) = E + [ (N_c / N)^(alpha_N / alpha_D) + D_c / D ]^alpha_D

With E = 0 this is Kaplan's equation; E >= 0 is the floor a byte-level corpus has (its entropy),
which docs/sources.md's verdict rules ask every fit to include. Large D gives back L(N) =
E + (N_c / N)^alpha_N, large N gives L(D) = E + (D_c / D)^alpha_D: the law says how the two
bottlenecks combine, which the additive Chinchilla form (``fit_chinchilla``) does differently.

The fit is least squares on log L (each point's relative error counts alike), from the best of a
grid of starts refined by trust-region least squares (``_nls.nls_fit``), the few best grid
starts each refined and the lowest cost kept (the objective has several basins). Parameters:
``E`` in [0, min L), ``alpha_N`` and ``alpha_D`` in [1e-3, 5], ``log_N_c`` and ``log_D_c``
(natural logs) free; ``N_c`` and ``D_c`` are reported beside them. Intervals are Gauss-Newton
t intervals on the log-space residuals; a fit at a bound or not identified is flagged
(``FitResult.flags``).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ._nls import nls_fit
from ._result import FitResult
from ._validate import (as_real_array, check_enough_points, check_level, check_not_constant, check_positive,
                        check_same_length)

NAMES = ("E", "log_N_c", "log_D_c", "alpha_N", "alpha_D")
_ALPHA_RANGE = (1e-3, 5.0)
_N_STARTS = 4  # grid starts refined


def kaplan_nd_loss(theta, N, D) -> np.ndarray:
    """L(N, D) for ``theta`` = (E, log N_c, log D_c, alpha_N, alpha_D), computed in log space
    (no overflow for any N, D > 0)."""
    E, lnc, ldc, an, ad = (float(v) for v in theta)
    u = (an / ad) * (lnc - np.log(np.asarray(N, float)))
    v = ldc - np.log(np.asarray(D, float))
    return E + np.exp(ad * np.logaddexp(u, v))


def _validated(N, D, L):
    N, D, L = as_real_array(N, "N"), as_real_array(D, "D"), as_real_array(L, "L")
    check_same_length(N=N, D=D, L=L)
    for arr, name in ((N, "N"), (D, "D"), (L, "L")):
        check_positive(arr, name)
    check_enough_points(len(L), len(NAMES), "Kaplan's L(N, D)", min_dof=1)
    check_not_constant(N, "N")
    check_not_constant(D, "D")
    return N, D, L


def _starts(N: np.ndarray, D: np.ndarray, L: np.ndarray) -> list[np.ndarray]:
    """The ``_N_STARTS`` best grid points by log-space squared error. (``_nls.grid_start`` keeps
    only the best one, and ``_nls`` is part of the run cache's code fingerprint: editing it
    would retrain every cached run.)"""
    lo = float(L.min())
    grid = itertools.product(
        (0.0, 0.5 * lo, 0.8 * lo, 0.95 * lo),
        np.log(np.geomspace(N.min() / 100, N.max() * 1e6, 7)),
        np.log(np.geomspace(D.min() / 100, D.max() * 1e6, 7)),
        (0.05, 0.1, 0.2, 0.4, 0.8),
        (0.05, 0.1, 0.2, 0.4, 0.8),
    )
    lL = np.log(L)
    scored = []
    with np.errstate(all="ignore"):
        for c in grid:
            pred = kaplan_nd_loss(c, N, D)
            sse = float(np.sum((np.log(pred) - lL) ** 2))
            if math.isfinite(sse):
                scored.append((sse, np.array(c, float)))
    if not scored:
        raise ValueError("no finite starting point for Kaplan's L(N, D)")
    scored.sort(key=lambda t: t[0])
    return [c for _, c in scored[:_N_STARTS]]


def fit_kaplan_nd(N, D, L, level: float = 0.95) -> FitResult:
    """Fit Kaplan's eq. (1.5) plus an irreducible term to losses ``L`` at model sizes ``N`` and
    token counts ``D`` (one point per run or per cell). ``predict(N, D)`` evaluates the law."""
    level = check_level(level)
    N, D, L = _validated(N, D, L)
    lo = float(L.min())
    bounds = ([0.0, -np.inf, -np.inf, _ALPHA_RANGE[0], _ALPHA_RANGE[0]],
              [lo * (1 - 1e-9), np.inf, np.inf, _ALPHA_RANGE[1], _ALPHA_RANGE[1]])
    best = None
    for start in _starts(N, D, L):
        start = np.clip(start, np.array(bounds[0]) + 1e-12, np.array(bounds[1]) - 1e-12)
        try:
            fit = nls_fit(kind="kaplan_nd", names=NAMES, model=kaplan_nd_loss, x=(N, D), y=L, start=start,
                          bounds=bounds, level=level, transform=np.log, space="log", y_name="L",
                          info={"method": f"log-space least squares from the {_N_STARTS} best grid starts"})
        except ValueError:
            continue
        if best is None or fit.info["cost"] < best.info["cost"]:
            best = fit
    if best is None:
        raise ValueError("Kaplan's L(N, D) could not be fitted from any start (the fit left float64 range)")
    for name in ("N_c", "D_c"):
        best.params[name] = float(np.exp(min(best.params[f"log_{name}"], 700.0)))
    best.info["law"] = "L = E + ((N_c/N)^(alpha_N/alpha_D) + D_c/D)^alpha_D"
    return best
