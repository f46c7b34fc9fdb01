"""Power laws: ``y = coef * x**-exponent`` and ``y = coef * x**-exponent + offset``.

The exponent is positive for a decreasing law (loss falling with scale) and negative for an
increasing one. Both fits minimise squared error of ``log y`` (relative error), which is how
scaling laws are conventionally fitted and why ``r2`` is reported in log space.

- ``offset=False``: ordinary least squares of log y on log x (exact, closed form), with
  Student-t confidence intervals.
- ``offset=True``: the offset (an irreducible term such as the entropy of text, constrained to
  be >= 0; a fit that ends at 0 is flagged, ``FitResult.flags``) makes the problem nonlinear. For a fixed exponent it is linear in (coef, offset), so
  we profile the exponent on a grid (variable projection) for a start, then refine all three
  parameters with SciPy's trust-region least squares using the analytic Jacobian. Intervals are
  Gauss-Newton (asymptotic) t intervals.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize

from ._degenerate import exp_or_inf, flag_degenerate
from ._nls import classic_covariance
from ._result import FitResult, r_squared, t_intervals, t_quantile
from ._validate import (as_real_array, check_enough_points, check_level, check_not_constant, check_positive,
                        check_same_length)

_EXPONENT_GRID = np.linspace(-3.0, 5.0, 321)


def _validated(x, y, n_params: int, what: str, x_name: str = "x", y_name: str = "y"):
    x = as_real_array(x, x_name)
    y = as_real_array(y, y_name)
    check_same_length(**{x_name: x, y_name: y})
    check_positive(x, x_name)
    check_positive(y, y_name)
    check_enough_points(len(x), n_params, what)
    check_not_constant(x, x_name)
    return x, y


def _power(theta, x):
    with np.errstate(over="ignore"):  # in log space: coef * x**-b is finite where coef alone is not
        return np.exp(theta[0] - theta[1] * np.log(x))


def _power_offset(theta, x):
    with np.errstate(over="ignore"):
        return np.exp(theta[0] - theta[1] * np.log(x)) + theta[2]


def fit_power_law(x, y, offset: bool = False, level: float = 0.95) -> FitResult:
    """Fit ``y = coef * x**-exponent`` (``offset=False``) or ``... + offset`` (``offset=True``).

    Returns a :class:`FitResult` with params ``coef``, ``exponent``, ``offset`` (0.0 when not
    fitted), their ``se`` and ``ci`` (95% by default; ``coef``'s interval is the exponentiated
    interval of log coef), ``r2`` in log space and ``predict(x)``. Raises ``ValueError`` for
    non-finite or non-positive x or y, mismatched lengths, a constant x, fewer points than
    parameters (2, or 3 with an offset), complex input or a ``level`` outside (0, 1). A constant
    y or exactly as many points as parameters is flagged (``flags["*"]``), with intervals over
    each parameter's whole range (not identified).
    """
    level = check_level(level)
    if offset:
        return _fit_with_offset(x, y, level=level, kind="power_law+offset",
                                names=("coef", "exponent", "offset"))
    x, y = _validated(x, y, 2, "a power law without offset")
    lx, ly = np.log(x), np.log(y)
    X = np.column_stack([np.ones_like(lx), -lx])
    theta, *_ = np.linalg.lstsq(X, ly, rcond=None)
    resid = ly - X @ theta
    n, dof = len(x), len(x) - 2
    if dof >= 1:
        s2 = float(resid @ resid) / dof
        cov = s2 * np.linalg.inv(X.T @ X)
    else:
        cov = np.full((2, 2), math.nan)
    (se_lc, se_b), q = np.sqrt(np.maximum(np.diag(cov), 0.0)), t_quantile(level, dof)
    coef, exponent = exp_or_inf(theta[0]), float(theta[1])
    res = FitResult(
        kind="power_law",
        params={"coef": coef, "exponent": exponent, "offset": 0.0},
        se={"coef": coef * se_lc, "log_coef": se_lc, "exponent": se_b},
        ci={"coef": (exp_or_inf(theta[0] - q * se_lc), exp_or_inf(theta[0] + q * se_lc)),
            "exponent": (exponent - q * se_b, exponent + q * se_b)},
        r2=r_squared(ly, X @ theta), r2_space="log", n=n, dof=dof,
        model=_power, theta=theta, cov=cov, residuals=resid, level=level,
        info={"method": "OLS of log y on log x", "offset_fitted": False, "log_coef": float(theta[0])},
    )
    _flag_coef_range(res, "coef", theta[0])
    return flag_degenerate(res, y, "y", 2, ranges={"coef": (0.0, math.inf)})


def _profile_start(xs: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Best (log coef, exponent, offset) over an exponent grid, with (coef, offset) by weighted LS.

    Every grid exponent at once: the weighted two-column least squares of each is solved by a
    batched SVD with ``np.linalg.lstsq``'s cutoff (``rcond=None``), so the minimum-norm solution
    where the columns coincide (exponent 0) is lstsq's; the first grid exponent of least error wins."""
    ly = np.log(y)
    w = 1.0 / y  # weights turn absolute into relative residuals (approximately log space)
    ymin = float(y.min())
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        F = np.power(xs[None, :], -_EXPONENT_GRID[:, None])  # (grid, n)
        finite = np.isfinite(F).all(axis=1)
        F = F[finite]
        A = np.stack([F * w, np.broadcast_to(w, F.shape)], axis=-1)  # (grid, n, 2)
        U, S, Vt = np.linalg.svd(A, full_matrices=False)
        cutoff = np.finfo(float).eps * max(len(y), 2) * S[:, :1]
        s_inv = np.where(S > cutoff, 1.0 / np.where(S > cutoff, S, 1.0), 0.0)
        sol = np.einsum("gkj,gk->gj", Vt, s_inv * np.einsum("gnk,n->gk", U, y * w))
        c, off = sol[:, 0], sol[:, 1]
        clamp = (off < 0) | (off >= ymin)
        off = np.where(off < 0, 0.0, np.where(off >= ymin, 0.99 * ymin, off))
        refit = np.sum(w * F * w * (y - off[:, None]), axis=1) / np.sum((w * F) ** 2, axis=1)
        c = np.where(clamp, refit, c)
        sse = np.sum((np.log(c[:, None] * F + off[:, None]) - ly) ** 2, axis=1)
    sse = np.where((c > 0) & np.isfinite(sse), sse, np.inf)
    if not np.isfinite(sse).any():  # no grid exponent admits a positive coefficient: start flat
        return np.array([math.log(np.ptp(y) + 1e-12), 0.5, 0.5 * ymin])
    i = int(np.argmin(sse))
    return np.array([math.log(c[i]), _EXPONENT_GRID[finite][i], off[i]])


_exp = exp_or_inf  # ``math.exp`` that gives inf instead of raising ``OverflowError`` past float range


def _flag_coef_range(res: FitResult, name: str, log_coef: float) -> None:
    """A coefficient past float range (y ~ 1e300 at x ~ 1e30: coef = y * x**exponent) is flagged;
    the law itself (``predict``, evaluated in log space) and the exponent stay usable, and
    ``info["log_coef"]`` holds its logarithm."""
    if not 0.0 < res.params[name] < math.inf:
        res.flag(name, f"{name} = exp({log_coef:.6g}) lies outside float range in these units (see "
                       "info['log_coef']); rescale x to report it")


def _fit_with_offset(x, y, *, level: float, kind: str, names: tuple[str, str, str],
                     x_name: str = "x", y_name: str = "y") -> FitResult:
    level = check_level(level)
    x, y = _validated(x, y, 3, f"{kind}", x_name, y_name)
    # normalise x and y for conditioning (x0, y0: their geometric means): the fit is then the same
    # at any units (y in nats or in 1e-7 nats), where the offset's absolute scale and the
    # covariance's pseudo-inverse (columns of very different size) otherwise were not
    lx = np.log(x)
    ly = np.log(y)
    log_x0, log_y0 = float(np.mean(lx)), float(np.mean(ly))
    xs = np.exp(lx - log_x0)
    lys = ly - log_y0

    def resid(t):
        with np.errstate(over="ignore", invalid="ignore"):  # a trial step past float range: trf backs off
            return np.log(np.exp(t[0]) * xs ** -t[1] + t[2]) - lys

    def jac(t):
        with np.errstate(over="ignore", invalid="ignore"):
            p = np.exp(t[0]) * xs ** -t[1]
            pred = p + t[2]
            return np.column_stack([p / pred, -np.log(xs) * p / pred, 1.0 / pred])

    start = _profile_start(xs, np.exp(lys))
    sol = optimize.least_squares(resid, start, jac=jac, bounds=([-np.inf, -np.inf, 0.0], np.inf),
                                 method="trf", x_scale="jac", xtol=1e-14, ftol=1e-14, gtol=1e-14)
    ts = sol.x
    # back to unnormalised coordinates: log coef = log coef' + exponent * log x0 + log y0,
    # offset = offset' * y0 (an underflow of the offset past float range is a ValueError)
    y0 = _exp(log_y0)
    T = np.array([[1.0, log_x0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])  # the offset stays in units of y0
    theta_u = T @ ts + np.array([log_y0, 0.0, 0.0])
    cov_s, dof = classic_covariance(jac(ts), sol.fun)
    cov_u = T @ cov_s @ T.T
    theta = np.array([theta_u[0], theta_u[1], ts[2] * y0])
    if not np.all(np.isfinite(theta)) or (ts[2] > 0 and theta[2] == 0):
        raise ValueError(f"{x_name} and {y_name} span ranges too wide for float64 in this form "
                         f"({x_name} in [{float(x.min()):.3g}, {float(x.max()):.3g}], {y_name} in "
                         f"[{float(y.min()):.3g}, {float(y.max()):.3g}]); rescale them")
    with np.errstate(over="ignore", invalid="ignore"):  # y0**2 past float range: predict_interval says NaN
        cov = cov_u * np.outer([1.0, 1.0, y0], [1.0, 1.0, y0])
    se, ci = t_intervals(["log_coef", names[1], names[2]], theta_u, cov_u, dof, level)
    se[names[2]] *= y0  # the offset's interval, scaled back by y0 (its variance y0**2 may overflow)
    ci[names[2]] = (ci[names[2]][0] * y0, ci[names[2]][1] * y0)
    lo, hi = ci.pop("log_coef")
    ci = {names[0]: (_exp(lo), _exp(hi)), **ci}  # a few points can leave log coef an interval past exp's range
    coef = _exp(theta[0])
    se = {names[0]: coef * se["log_coef"], "log_coef": se["log_coef"], names[1]: se[names[1]],
          names[2]: se[names[2]]}
    flags = {}
    at_bound = bool(sol.active_mask[2] != 0 or ts[2] <= 1e-9 * float(np.exp(lys).min()))  # trf stays a hair inside
    if at_bound:
        flags["*"] = (f"{names[2]} ended at its bound 0 (the data want a negative floor): the intervals "
                      "assume an interior optimum")
    res = FitResult(
        kind=kind,
        params={names[0]: coef, names[1]: float(theta[1]), names[2]: float(theta[2])},
        se=se, ci=ci,
        r2=r_squared(ly, ly + sol.fun), r2_space="log", n=len(x), dof=dof,
        model=_power_offset, theta=theta, cov=cov, residuals=sol.fun, level=level,
        info={"method": "log-space least squares, exponent-profile start + trust-region refine",
              "offset_fitted": True, "offset_at_bound": at_bound,
              "optimizer_status": int(sol.status), "log_coef": float(theta[0])},
        flags=flags,
    )
    _flag_coef_range(res, names[0], theta[0])
    return flag_degenerate(res, y, y_name, 3, ranges={names[0]: (0.0, math.inf), names[2]: (0.0, math.inf)})
