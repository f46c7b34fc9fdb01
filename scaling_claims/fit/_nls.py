"""A small nonlinear least-squares core shared by the curve forms in ``forms.py``.

``nls_fit`` refines a start with SciPy's trust-region least squares and turns the result into
a :class:`FitResult` with Gauss-Newton covariance and Student-t intervals. Starts come from
the callers (grids or closed-form profiles), because a good start is what makes these small
fits reliable.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np
from scipy import optimize

from ._degenerate import flag_degenerate, not_identified, r_squared_scaled
from ._result import FitResult, t_intervals
from ._validate import check_level


def _column_scaled(jac: np.ndarray, residuals: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Jacobian with each column divided by its largest magnitude, the residuals divided by
    theirs, and the factors f_j = (residual scale) / (column scale j) that turn a covariance
    computed from them back into parameter units (cov = cov_scaled * f f^T).

    Why: a parameter in units far from another's (a steepness of 3e4 beside a midpoint of 1e-4,
    a floor of 2e7 beside an exponent) makes J^T J so ill-conditioned that its pseudo-inverse
    drops a direction, and that parameter got a zero-width interval; and J^T J or r^T r can
    overflow for large inputs. Scaled, both are computed on numbers of order 1; unscaled they
    are the same matrices whenever J^T J is well conditioned (up to rounding)."""
    col = np.max(np.abs(jac), axis=0) if jac.size else np.ones(jac.shape[1])
    col = np.where(np.isfinite(col) & (col > 0), col, 1.0)
    rmax = float(np.max(np.abs(residuals))) if residuals.size else 0.0
    rmax = rmax if math.isfinite(rmax) and rmax > 0 else 1.0
    with np.errstate(over="ignore", under="ignore"):
        return jac / col, residuals / rmax, rmax / col


def _unscaled(cov_s: np.ndarray, f: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        return cov_s * np.outer(f, f)


def unidentified(jac: np.ndarray, rcond: float = 1e-15) -> np.ndarray:
    """Which parameters lie along a direction the data do not determine: the eigenvectors of the
    column-scaled J^T J whose eigenvalues fall below ``rcond`` times the largest (the directions
    ``np.linalg.pinv`` would drop, giving them zero variance and a zero-width interval), and the
    parameters with a weight above 1e-3 in one of them (below that a parameter barely moves
    along the direction). Empty when J^T J is well conditioned."""
    js, _, _ = _column_scaled(jac, np.ones(jac.shape[0]))
    w, v = np.linalg.eigh(js.T @ js)
    null = w <= rcond * max(float(w.max()), 0.0)
    if not null.any():
        return np.zeros(jac.shape[1], bool)
    return np.any(np.abs(v[:, null]) > 1e-3, axis=1)


def classic_covariance(jac: np.ndarray, residuals: np.ndarray) -> tuple[np.ndarray, int]:
    """Gauss-Newton covariance s^2 (J^T J)^+ and the residual dof (``_result.covariance_from_jacobian``)
    computed on column-scaled values (:func:`_column_scaled`)."""
    n, p = jac.shape
    dof = n - p
    if dof < 1:
        return np.full((p, p), math.nan), dof
    js, rs, f = _column_scaled(jac, residuals)
    return _unscaled(float(rs @ rs) / dof * np.linalg.pinv(js.T @ js), f), dof


def hc3_covariance(jac: np.ndarray, residuals: np.ndarray) -> tuple[np.ndarray, int]:
    """Heteroscedasticity-consistent (HC3) covariance (J^T J)^-1 J^T diag(r_i^2 / (1 - h_ii)^2) J
    (J^T J)^-1 and the residual dof: honest when the noise differs between points (accuracies
    near 0 or 1 vary far less than those on a rise), where s^2 (J^T J)^-1 pools one variance.
    Computed on column-scaled values (:func:`_column_scaled`; the leverages do not change)."""
    n, p = jac.shape
    dof = n - p
    if dof < 1:
        return np.full((p, p), math.nan), dof
    js, rs, f = _column_scaled(jac, residuals)
    bread = np.linalg.pinv(js.T @ js)
    leverage = np.clip(np.einsum("ij,jk,ik->i", js, bread, js), 0.0, 0.999)
    meat = (js * (rs / (1.0 - leverage))[:, None] ** 2).T @ js
    return _unscaled(bread @ meat @ bread, f), dof


def _inputs(x: np.ndarray | tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """The model's inputs: one array, or a tuple of arrays for a law of several variables."""
    return x if isinstance(x, tuple) else (x,)


def nls_fit(*, kind: str, names: Sequence[str], model: Callable[..., np.ndarray],
            x: np.ndarray | tuple[np.ndarray, ...],
            y: np.ndarray, start: np.ndarray, bounds: tuple[Any, Any] = (-np.inf, np.inf),
            level: float = 0.95, info: dict[str, Any] | None = None,
            transform: Callable[[np.ndarray], np.ndarray] | None = None, space: str = "linear",
            covariance: str = "classic", max_nfev: int | None = None, y_name: str = "y") -> FitResult:
    """Least squares of ``transform(model(theta, x))`` against ``transform(y)``.

    ``x`` is the input array, or a tuple of input arrays for a law of several variables
    (``model(theta, *x)``; the result's ``predict`` then takes them the same way).
    ``transform`` (e.g. ``np.log``) sets the space residuals, ``r2`` and intervals live in.
    ``names`` label the entries of ``theta``; callers convert to public parameters afterwards.
    A fit that ends at a bound is flagged as a whole (``flags["*"]``): its Gauss-Newton
    intervals assume an interior optimum. A parameter with no finite standard error is flagged
    as not identified. ``covariance``: "classic" (s^2 (J^T J)^-1, one noise level for every
    point) or "hc3" (:func:`hc3_covariance`, for noise that differs between points).
    ``max_nfev``: the optimizer's evaluation budget (default: scipy's, 100 per parameter). A fit
    that exhausts it is continued once from where it stopped with ten times the budget (a flat
    valley, e.g. a law that barely bends, is crawled along slowly); one that exhausts that too is
    flagged as not converged (``info["optimizer_status"]`` 0), never returned silently. A
    degenerate fit (a constant ``y``, named ``y_name`` in the reason; no more points than
    parameters) is flagged as a whole and its intervals span each parameter's
    whole range (``_degenerate.flag_degenerate``). ``level`` must lie in (0, 1).
    """
    level = check_level(level)
    tf = transform if transform is not None else (lambda v: v)
    ty = tf(y)
    xs = _inputs(x)

    def resid(t):
        return tf(model(t, *xs)) - ty

    def solve(x0, budget):
        return optimize.least_squares(resid, x0, bounds=bounds, method="trf", jac="3-point", x_scale="jac",
                                      xtol=1e-12, ftol=1e-12, gtol=1e-12, max_nfev=budget)

    if covariance not in ("classic", "hc3"):
        raise ValueError(f"covariance must be 'classic' or 'hc3', got {covariance!r}")
    start = np.asarray(start, float)
    budget = max_nfev if max_nfev is not None else 100 * start.size
    # trial steps may leave float range (a power of a huge x); trf backs off from a non-finite
    # residual, so those warnings are noise: what counts is checked on the result below
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        try:
            sol = solve(start, budget)
            continued = sol.status == 0  # stopped at the evaluation limit, not at a tolerance
            if continued:
                sol = solve(sol.x, 10 * budget)
        except ValueError as err:  # "Residuals are not finite in the initial point"
            raise ValueError(f"{y_name}: the fit cannot start in float64 at these magnitudes ({err}); rescale "
                             "the inputs") from None
        if not (np.all(np.isfinite(sol.x)) and np.all(np.isfinite(sol.fun)) and np.all(np.isfinite(sol.jac))):
            raise ValueError(f"{y_name}: the fit left float64 range at these magnitudes of the inputs; rescale them")
        cov, dof = (hc3_covariance if covariance == "hc3" else classic_covariance)(sol.jac, sol.fun)
        se, ci = t_intervals(list(names), sol.x, cov, dof, level)
    lower, upper = (np.broadcast_to(np.asarray(b, float), sol.x.shape) for b in bounds)
    # trf keeps a parameter a hair inside its bound and may not report it active: a value within
    # 1e-9 (relative) of a finite bound is at it
    near = [(np.isfinite(b) & (np.abs(sol.x - b) <= 1e-9 * np.maximum(1.0, np.abs(b)))) for b in (lower, upper)]
    at_bound = [n for n, m, lo_, hi_ in zip(names, sol.active_mask, *near) if m != 0 or lo_ or hi_]
    flags = {}
    if at_bound:
        flags["*"] = (", ".join(f"{n} = {v:.4g}" for n, v in zip(names, sol.x) if n in at_bound)
                      + " at the bound of its range: the intervals assume an interior optimum")
    if sol.status == 0:
        flags["*"] = "; ".join(filter(None, [flags.get("*"), f"not converged: the optimizer stopped at its evaluation "
                                             f"limit ({11 * budget} evaluations): the intervals assume an optimum"]))
    if dof >= 1:
        for n in names:
            if not np.isfinite(se[n]):
                flags[n] = f"{n} is not identified by the data (no finite standard error)"
    res = FitResult(kind=kind, params=dict(zip(names, sol.x)), se=se, ci=ci,
                    r2=r_squared_scaled(ty, ty + sol.fun), r2_space=space, n=len(xs[0]), dof=dof,
                    model=model, theta=sol.x, cov=cov, residuals=sol.fun, level=level,
                    info={**(info or {}), "optimizer_status": int(sol.status), "continued": continued,
                          "cost": float(sol.cost),
                          "at_bound": at_bound, "covariance": covariance}, flags=flags)
    ranges = {n: (float(lo), float(hi)) for n, lo, hi in zip(names, lower, upper)}
    if dof >= 1:
        lost = [n for n, u in zip(names, unidentified(sol.jac)) if u]
        if lost:
            not_identified(res, f"{', '.join(lost)} not identified by the data: the fit is flat along a direction "
                                f"that moves {'them' if len(lost) > 1 else 'it'} (a rank-deficient Jacobian)",
                           names=lost, ranges=ranges)
    return flag_degenerate(res, y, y_name, len(names), ranges=ranges)


def grid_start(model: Callable[..., np.ndarray], x: np.ndarray | tuple[np.ndarray, ...], y: np.ndarray,
               candidates: Sequence[np.ndarray], transform: Callable[[np.ndarray], np.ndarray] | None = None
               ) -> np.ndarray:
    """The candidate parameter vector with the smallest squared error (non-finite ones skipped);
    ``x`` as for :func:`nls_fit`."""
    tf = transform if transform is not None else (lambda v: v)
    ty = tf(y)
    xs = _inputs(x)
    best, best_sse = None, math.inf
    with np.errstate(all="ignore"):
        for c in candidates:
            sse = float(np.sum((tf(model(np.asarray(c, float), *xs)) - ty) ** 2))
            if math.isfinite(sse) and sse < best_sse:
                best, best_sse = np.asarray(c, float), sse
    if best is None:
        raise ValueError("no finite starting point found for the fit")
    return best
