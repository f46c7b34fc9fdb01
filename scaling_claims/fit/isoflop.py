"""IsoFLOP analyses (Hoffmann et al. 2022, Approaches 1 and 2): from runs at several compute
budgets, find the loss-optimal model size per budget and fit N_opt ~ C**a, D_opt ~ C**b.

Points are grouped by budget ``C``: values equal to 6 significant digits form one budget (the
budgets of a real sweep are nominal values; a float round trip must not split a group).

- Approach 1 (:func:`fit_isoflop_approach1`): per budget, the run with the lowest loss (the
  lower envelope); its N and D are that budget's optimum. On a grid of sizes the optimum can
  only move by whole rungs, so ``a`` is quantised: ``info["a_resolution"]`` is the change of
  ``a`` when one budget's optimum moves by the finest rung (rung spacing in ln N over the span
  of ln C). A claim should not read ``a`` more finely than that.
- Approach 2 (:func:`fit_isoflop_approach2`): per budget, a parabola of loss in log N (and,
  separately, in log D); the vertex is the optimum. A budget needs >= 3 distinct sizes and an
  upward-opening parabola, else it is excluded (listed in ``info["excluded"]``). A vertex
  outside the sampled sizes is kept but flagged (``optima["interior"]``): Czech et al. 2026
  show the parabola's vertex is biased when the grid is off-centre or wide, so a claim test
  should check ``interior`` before trusting Approach 2.

Both then fit log N_opt and log D_opt linearly in log C (:func:`fit_power_law`), so a and b
come with Student-t 95% intervals (needs >= 3 budgets; 2 give the exponents with NaN intervals).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._result import FitResult, jsonable
from ._validate import as_float_array, check_positive, check_same_length
from .power_law import fit_power_law


def _validated(N, D, L, C):
    N, D, L, C = (as_float_array(v, name) for v, name in ((N, "N"), (D, "D"), (L, "L"), (C, "C")))
    check_same_length(N=N, D=D, L=L, C=C)
    for arr, name in ((N, "N"), (D, "D"), (C, "C")):
        check_positive(arr, name)
    return N, D, L, C


def _budget_groups(C: np.ndarray) -> list[np.ndarray]:
    keys = np.array([float(f"{c:.5e}") for c in C])
    return [np.flatnonzero(keys == k) for k in np.unique(keys)]


class IsoFLOPFit(FitResult):
    """Exponents ``a`` (N_opt ~ C**a) and ``b`` (D_opt ~ C**b) with CIs, their prefactors
    ``k_N``, ``k_D``, the per-budget ``optima`` (dict of arrays: C, N_opt, D_opt, L_opt, ...),
    ``n_fit`` / ``d_fit`` (the underlying power-law fits), ``predict(C)`` -> N_opt and
    ``compute_optimal(C)`` -> (N_opt, D_opt). ``r2`` is that of the N_opt fit (log space)."""

    optima: dict[str, np.ndarray]
    n_fit: FitResult
    d_fit: FitResult

    def compute_optimal(self, C) -> tuple[np.ndarray, np.ndarray]:
        return self.n_fit.predict(C), self.d_fit.predict(C)

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["optima"] = jsonable(self.optima)
        return d


def _from_optima(kind: str, optima: dict[str, np.ndarray], info: dict[str, Any], level: float) -> IsoFLOPFit:
    used = optima["used"]
    if used.sum() < 2:
        raise ValueError(f"{kind}: need at least 2 usable budgets to fit N_opt ~ C**a, got {int(used.sum())} "
                         f"(excluded: {info.get('excluded', {})})")
    Cu = optima["C"][used]
    if np.ptp(Cu) == 0:
        raise ValueError(f"{kind}: all usable budgets are equal")
    n_fit = fit_power_law(Cu, optima["N_opt"][used], level=level)
    d_fit = fit_power_law(Cu, optima["D_opt"][used], level=level)
    # fit_power_law reports y = coef * x**-exponent; here the exponents are growth rates
    a, b = -n_fit.exponent, -d_fit.exponent
    lo_a, hi_a = n_fit.ci["exponent"]
    lo_b, hi_b = d_fit.ci["exponent"]
    res = IsoFLOPFit(
        kind=kind,
        params={"a": a, "b": b, "k_N": n_fit.coef, "k_D": d_fit.coef},
        se={"a": n_fit.se["exponent"], "b": d_fit.se["exponent"]},
        ci={"a": (-hi_a, -lo_a), "b": (-hi_b, -lo_b), "k_N": n_fit.ci["coef"], "k_D": d_fit.ci["coef"]},
        r2=n_fit.r2, r2_space="log", n=int(used.sum()), dof=n_fit.dof,
        model=n_fit._model, theta=n_fit.theta, cov=n_fit.cov, residuals=n_fit.residuals, level=level,
        info={**info, "r2_D": d_fit.r2},
    )
    res.optima = optima
    res.n_fit, res.d_fit = n_fit, d_fit
    return res


def fit_isoflop_approach1(N, D, L, C, level: float = 0.95) -> IsoFLOPFit:
    """Approach 1: the lowest-loss run per budget is its optimum; fit N_opt, D_opt vs C.

    Raises ``ValueError`` on bad input or when fewer than 2 budgets are present.
    """
    N, D, L, C = _validated(N, D, L, C)
    rows = []
    for g in _budget_groups(C):
        i = g[int(np.argmin(L[g]))]
        at_edge = bool(N[i] in (N[g].min(), N[g].max())) if len(g) > 1 else True
        rows.append((np.median(C[g]), N[i], D[i], L[i], len(g), not at_edge))
    C_, N_, D_, L_, n_, interior = (np.array(v) for v in zip(*rows))
    optima = {"C": C_, "N_opt": N_, "D_opt": D_, "L_opt": L_, "n_points": n_,
              "interior": interior.astype(bool), "used": np.ones(len(C_), bool)}
    steps = [np.diff(np.unique(np.log(N[g]))) for g in _budget_groups(C)]
    finest = min((float(s.min()) for s in steps if s.size), default=math.nan)
    span = float(np.ptp(np.log(C_))) if len(C_) > 1 else math.nan
    info = {"method": "lowest loss per budget", "a_resolution": finest / span if span > 0 else math.nan}
    return _from_optima("isoflop_approach1", optima, info, level)


def _vertex(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Vertex (x*, y*) and curvature of the least-squares parabola y ~ p2 x**2 + p1 x + p0."""
    xc = x.mean()
    p2, p1, p0 = np.polyfit(x - xc, y, 2)
    if p2 <= 0:
        return math.nan, math.nan, float(p2)
    xv = -p1 / (2 * p2)
    return float(xv + xc), float(p0 - p1 * p1 / (4 * p2)), float(p2)


def fit_isoflop_approach2(N, D, L, C, level: float = 0.95) -> IsoFLOPFit:
    """Approach 2: per budget, parabolas of L in log N and in log D; vertices are the optima.

    Budgets with < 3 distinct sizes or a downward-opening parabola are excluded (see
    ``info["excluded"]``). Raises ``ValueError`` on bad input or < 2 usable budgets.
    """
    N, D, L, C = _validated(N, D, L, C)
    rows, excluded = [], {}
    for g in _budget_groups(C):
        c = float(np.median(C[g]))
        lN, lD = np.log(N[g]), np.log(D[g])
        if len(np.unique(lN)) < 3 or len(np.unique(lD)) < 3:
            excluded[f"{c:.4g}"] = f"fewer than 3 distinct sizes ({len(np.unique(lN))})"
            rows.append((c, math.nan, math.nan, math.nan, len(g), False, math.nan, False))
            continue
        xn, ln_opt, curv = _vertex(lN, L[g])
        xd, _, curv_d = _vertex(lD, L[g])
        if not (curv > 0 and curv_d > 0):
            excluded[f"{c:.4g}"] = f"parabola opens downward (curvature {curv:.3g} in log N, {curv_d:.3g} in log D)"
            rows.append((c, math.nan, math.nan, math.nan, len(g), False, curv, False))
            continue
        interior = bool(lN.min() <= xn <= lN.max() and lD.min() <= xd <= lD.max())
        rows.append((c, math.exp(xn), math.exp(xd), ln_opt, len(g), interior, curv, True))
    C_, N_, D_, L_, n_, interior, curv, used = (np.array(v) for v in zip(*rows))
    optima = {"C": C_, "N_opt": N_, "D_opt": D_, "L_opt": L_, "n_points": n_,
              "interior": interior.astype(bool), "curvature": curv, "used": used.astype(bool)}
    info = {"method": "parabola of loss in log N (and log D) per budget", "excluded": excluded}
    return _from_optima("isoflop_approach2", optima, info, level)
