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

from ._result import FitResult, covariance_from_jacobian, r_squared, t_intervals


def hc3_covariance(jac: np.ndarray, residuals: np.ndarray) -> tuple[np.ndarray, int]:
    """Heteroscedasticity-consistent (HC3) covariance (J^T J)^-1 J^T diag(r_i^2 / (1 - h_ii)^2) J
    (J^T J)^-1 and the residual dof: honest when the noise differs between points (accuracies
    near 0 or 1 vary far less than those on a rise), where s^2 (J^T J)^-1 pools one variance."""
    n, p = jac.shape
    dof = n - p
    if dof < 1:
        return np.full((p, p), math.nan), dof
    bread = np.linalg.pinv(jac.T @ jac)
    leverage = np.clip(np.einsum("ij,jk,ik->i", jac, bread, jac), 0.0, 0.999)
    meat = (jac * (residuals / (1.0 - leverage))[:, None] ** 2).T @ jac
    return bread @ meat @ bread, dof


def _inputs(x: np.ndarray | tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """The model's inputs: one array, or a tuple of arrays for a law of several variables."""
    return x if isinstance(x, tuple) else (x,)


def nls_fit(*, kind: str, names: Sequence[str], model: Callable[..., np.ndarray],
            x: np.ndarray | tuple[np.ndarray, ...],
            y: np.ndarray, start: np.ndarray, bounds: tuple[Any, Any] = (-np.inf, np.inf),
            level: float = 0.95, info: dict[str, Any] | None = None,
            transform: Callable[[np.ndarray], np.ndarray] | None = None, space: str = "linear",
            covariance: str = "classic", max_nfev: int | None = None) -> FitResult:
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
    flagged as not converged (``info["optimizer_status"]`` 0), never returned silently.
    """
    tf = transform if transform is not None else (lambda v: v)
    ty = tf(y)
    xs = _inputs(x)

    def resid(t):
        return tf(model(t, *xs)) - ty

    def solve(x0, budget):
        return optimize.least_squares(resid, x0, bounds=bounds, method="trf", jac="3-point", x_scale="jac",
                                      xtol=1e-12, ftol=1e-12, gtol=1e-12, max_nfev=budget)

    start = np.asarray(start, float)
    budget = max_nfev if max_nfev is not None else 100 * start.size
    sol = solve(start, budget)
    continued = sol.status == 0  # stopped at the evaluation limit, not at a tolerance
    if continued:
        sol = solve(sol.x, 10 * budget)
    if covariance not in ("classic", "hc3"):
        raise ValueError(f"covariance must be 'classic' or 'hc3', got {covariance!r}")
    cov, dof = (hc3_covariance if covariance == "hc3" else covariance_from_jacobian)(sol.jac, sol.fun)
    se, ci = t_intervals(list(names), sol.x, cov, dof, level)
    at_bound = [n for n, m in zip(names, sol.active_mask) if m != 0]
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
    return FitResult(kind=kind, params=dict(zip(names, sol.x)), se=se, ci=ci,
                     r2=r_squared(ty, ty + sol.fun), r2_space=space, n=len(xs[0]), dof=dof,
                     model=model, theta=sol.x, cov=cov, residuals=sol.fun, level=level,
                     info={**(info or {}), "optimizer_status": int(sol.status), "continued": continued,
                           "cost": float(sol.cost),
                           "at_bound": at_bound, "covariance": covariance}, flags=flags)


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
