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
  separately, in log D); the vertex is the optimum. Before a vertex enters the fit it passes a
  quality control after Czech et al. 2026 ("Problems with Chinchilla Approach 2", whose
  annotated IsoFLOP data name the same three reasons): ``too_few_points`` (fewer than 3
  distinct sizes: no parabola), ``weak_curvature`` (the parabola opens downward: no vertex)
  and ``off_center`` (the vertex lies outside the sampled sizes: an extrapolated vertex, which
  their analysis shows is biased). ``optima["qc"]`` gives each budget's reason ("ok" for a
  kept one) and ``info["excluded"]`` what was dropped and why; ``qc=False`` keeps off-centre
  vertices (flagged in ``optima["interior"]``) as before. The lower end of the curvature's 95%
  t interval (in log N; NaN without residual degrees of freedom) is reported in
  ``optima["curvature_lo"]`` but drops nothing: on 5-point grids (2 degrees of freedom,
  t = 4.3) it reaches 0 on curves whose minimum is plainly interior (the quick set's seed
  medians: 0.095 +- 0.088 and 0.066 +- 0.111), so as a rule it would discard sound vertices.

Both then fit log N_opt and log D_opt linearly in log C (:func:`fit_power_law`), so a and b
come with Student-t 95% intervals (needs >= 3 budgets; 2 give the exponents flagged, with intervals
that say not identified: no degree of freedom is left to measure the noise).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._degenerate import not_identified
from ._result import FitResult, jsonable, t_quantile
from ._validate import as_real_array, check_level, check_positive, check_same_length
from .power_law import fit_power_law


def _validated(N, D, L, C, level):
    check_level(level)
    N, D, L, C = (as_real_array(v, name) for v, name in ((N, "N"), (D, "D"), (L, "L"), (C, "C")))
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
        se={"a": n_fit.se["exponent"], "b": d_fit.se["exponent"], "k_N": n_fit.se["coef"], "k_D": d_fit.se["coef"]},
        ci={"a": (-hi_a, -lo_a), "b": (-hi_b, -lo_b), "k_N": n_fit.ci["coef"], "k_D": d_fit.ci["coef"]},
        r2=n_fit.r2, r2_space="log", n=int(used.sum()), dof=n_fit.dof,
        model=n_fit._model, theta=n_fit.theta, cov=n_fit.cov, residuals=n_fit.residuals, level=level,
        info={**info, "r2_D": d_fit.r2},
    )
    # the power-law fits' flags (2 budgets: no degree of freedom; a constant N_opt) under the names here
    for fit_, names in ((n_fit, {"exponent": "a", "coef": "k_N"}), (d_fit, {"exponent": "b", "coef": "k_D"})):
        for name, why in fit_.flags.items():
            res.flag(names.get(name, "*"), f"{'N' if fit_ is n_fit else 'D'}_opt ~ C**{'a' if fit_ is n_fit else 'b'}: "
                                            f"{why}")
        for name in fit_.info.get("not_identified", {}):
            if name in names:
                res.info.setdefault("not_identified", {})[names[name]] = list(res.ci[names[name]])
    res.optima = optima
    res.n_fit, res.d_fit = n_fit, d_fit
    return res


def fit_isoflop_approach1(N, D, L, C, level: float = 0.95) -> IsoFLOPFit:
    """Approach 1: the lowest-loss run per budget is its optimum; fit N_opt, D_opt vs C.

    Raises ``ValueError`` on bad input (``level`` outside (0, 1), complex values included) or when
    fewer than 2 budgets are present. Flagged: 2 budgets (no degree of freedom for an interval:
    not identified), a constant L (no optimum anywhere: not identified), a budget whose lowest
    loss several sizes share (its optimum is arbitrary).
    """
    N, D, L, C = _validated(N, D, L, C, level)
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
    res = _from_optima("isoflop_approach1", optima, info, level)
    if np.ptp(L) == 0:
        not_identified(res, f"L is constant (every value {float(L[0]):.6g}): no budget has an optimum, so a and b "
                            "are not identified", ranges={"k_N": (0.0, math.inf), "k_D": (0.0, math.inf)})
        return res
    tied = [f"{float(np.median(C[g])):.4g}" for g in _budget_groups(C)
            if len(np.unique(N[g][L[g] == L[g].min()])) > 1]
    if tied:
        res.flag("*", f"the lowest loss is shared by several sizes at budget(s) {', '.join(tied)}: their optimum is "
                      "not identified (the first was taken)")
    return res


def _vertex(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """Vertex (x*, y*), curvature and the curvature's standard error (NaN without residual
    degrees of freedom) of the least-squares parabola y ~ p2 x**2 + p1 x + p0."""
    xc = x.mean()
    X = np.column_stack([(x - xc) ** 2, x - xc, np.ones_like(x)])
    ys = float(np.max(np.abs(y))) or 1.0  # solved on y / ys: squares of losses past ~1e154 overflow
    (p2, p1, p0), *_ = np.linalg.lstsq(X, y / ys, rcond=None)
    dof = len(x) - 3
    se = math.nan
    if dof >= 1:
        r = y / ys - X @ np.array([p2, p1, p0])
        cov = float(r @ r) / dof * np.linalg.pinv(X.T @ X)
        se = float(math.sqrt(max(cov[0, 0], 0.0))) * ys
    if p2 <= 0:
        return math.nan, math.nan, float(p2 * ys), se
    xv = -p1 / (2 * p2)
    return float(xv + xc), float((p0 - p1 * p1 / (4 * p2)) * ys), float(p2 * ys), se


def fit_isoflop_approach2(N, D, L, C, level: float = 0.95, qc: bool = True) -> IsoFLOPFit:
    """Approach 2: per budget, parabolas of L in log N and in log D; vertices are the optima.

    Vertices pass the quality control of the module docstring first (``qc=False``: only
    budgets with < 3 sizes or a downward-opening parabola are dropped). Dropped budgets are
    listed in ``info["excluded"]`` with the reason. Raises ``ValueError`` on bad input or < 2
    usable budgets.
    """
    N, D, L, C = _validated(N, D, L, C, level)
    if np.ptp(L) == 0:
        raise ValueError(f"L is constant (every value {float(L[0]):.6g}): no budget has a loss minimum, so Approach 2 "
                         "has no vertex to fit")
    rows, excluded = [], {}
    for g in _budget_groups(C):
        c = float(np.median(C[g]))
        lN, lD = np.log(N[g]), np.log(D[g])
        if len(np.unique(lN)) < 3 or len(np.unique(lD)) < 3:
            excluded[f"{c:.4g}"] = f"too_few_points: fewer than 3 distinct sizes ({len(np.unique(lN))})"
            rows.append((c, math.nan, math.nan, math.nan, len(g), False, math.nan, math.nan, False, "too_few_points"))
            continue
        xn, ln_opt, curv, se = _vertex(lN, L[g])
        xd, _, curv_d, _ = _vertex(lD, L[g])
        dof = len(g) - 3
        curv_lo = curv - t_quantile(level, dof) * se if dof >= 1 and math.isfinite(se) else math.nan
        if not (curv > 0 and curv_d > 0):
            excluded[f"{c:.4g}"] = (f"weak_curvature: parabola opens downward (curvature {curv:.3g} in log N, "
                                    f"{curv_d:.3g} in log D)")
            rows.append((c, math.nan, math.nan, math.nan, len(g), False, curv, curv_lo, False, "weak_curvature"))
            continue
        interior = bool(lN.min() <= xn <= lN.max() and lD.min() <= xd <= lD.max())
        reason = "ok" if interior else "off_center"
        used = interior or not qc
        if not used:
            excluded[f"{c:.4g}"] = (f"off_center: vertex at N = {math.exp(xn):.4g} outside the sampled "
                                    f"[{math.exp(lN.min()):.4g}, {math.exp(lN.max()):.4g}] (or D outside its range)")
        rows.append((c, math.exp(xn), math.exp(xd), ln_opt, len(g), interior, curv, curv_lo, used, reason))
    C_, N_, D_, L_, n_, interior, curv, curv_lo, used, reasons = (np.array(v) for v in zip(*rows))
    optima = {"C": C_, "N_opt": N_, "D_opt": D_, "L_opt": L_, "n_points": n_,
              "interior": interior.astype(bool), "curvature": curv, "curvature_lo": curv_lo,
              "used": used.astype(bool), "qc": reasons}
    info = {"method": "parabola of loss in log N (and log D) per budget", "excluded": excluded,
            "qc": "Czech et al. 2026 (too_few_points, weak_curvature, off_center)" if qc else "off"}
    return _from_optima("isoflop_approach2", optima, info, level)
