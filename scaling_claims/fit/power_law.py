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

from ._result import FitResult, covariance_from_jacobian, r_squared, t_intervals, t_quantile
from ._validate import as_float_array, check_enough_points, check_not_constant, check_positive, check_same_length

_EXPONENT_GRID = np.linspace(-3.0, 5.0, 321)


def _validated(x, y, n_params: int, what: str, x_name: str = "x", y_name: str = "y"):
    x = as_float_array(x, x_name)
    y = as_float_array(y, y_name)
    check_same_length(**{x_name: x, y_name: y})
    check_positive(x, x_name)
    check_positive(y, y_name)
    check_enough_points(len(x), n_params, what)
    check_not_constant(x, x_name)
    return x, y


def _power(theta, x):
    return np.exp(theta[0]) * np.power(x, -theta[1])


def _power_offset(theta, x):
    return np.exp(theta[0]) * np.power(x, -theta[1]) + theta[2]


def fit_power_law(x, y, offset: bool = False, level: float = 0.95) -> FitResult:
    """Fit ``y = coef * x**-exponent`` (``offset=False``) or ``... + offset`` (``offset=True``).

    Returns a :class:`FitResult` with params ``coef``, ``exponent``, ``offset`` (0.0 when not
    fitted), their ``se`` and ``ci`` (95% by default; ``coef``'s interval is the exponentiated
    interval of log coef), ``r2`` in log space and ``predict(x)``. Raises ``ValueError`` for
    non-finite or non-positive x or y, mismatched lengths, a constant x, or fewer points than
    parameters (2, or 3 with an offset).
    """
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
    coef, exponent = math.exp(theta[0]), float(theta[1])
    return FitResult(
        kind="power_law",
        params={"coef": coef, "exponent": exponent, "offset": 0.0},
        se={"coef": coef * se_lc, "log_coef": se_lc, "exponent": se_b},
        ci={"coef": (math.exp(theta[0] - q * se_lc), math.exp(theta[0] + q * se_lc)),
            "exponent": (exponent - q * se_b, exponent + q * se_b)},
        r2=r_squared(ly, X @ theta), r2_space="log", n=n, dof=dof,
        model=_power, theta=theta, cov=cov, residuals=resid, level=level,
        info={"method": "OLS of log y on log x", "offset_fitted": False},
    )


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


def _exp(v: float) -> float:
    """``math.exp`` that gives inf instead of raising ``OverflowError`` past float range."""
    return math.exp(v) if v < 709.0 else math.inf


def _fit_with_offset(x, y, *, level: float, kind: str, names: tuple[str, str, str],
                     x_name: str = "x", y_name: str = "y") -> FitResult:
    x, y = _validated(x, y, 3, f"{kind}", x_name, y_name)
    x0 = math.exp(float(np.mean(np.log(x))))  # normalise x for conditioning
    xs = x / x0
    ly = np.log(y)

    def resid(t):
        return np.log(np.exp(t[0]) * xs ** -t[1] + t[2]) - ly

    def jac(t):
        p = np.exp(t[0]) * xs ** -t[1]
        pred = p + t[2]
        return np.column_stack([p / pred, -np.log(xs) * p / pred, 1.0 / pred])

    start = _profile_start(xs, y)
    sol = optimize.least_squares(resid, start, jac=jac, bounds=([-np.inf, -np.inf, 0.0], np.inf),
                                 method="trf", x_scale="jac", xtol=1e-14, ftol=1e-14, gtol=1e-14)
    ts = sol.x
    # back to unnormalised coordinates: log coef = log coef' + exponent * log x0
    T = np.array([[1.0, math.log(x0), 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    theta = T @ ts
    cov_s, dof = covariance_from_jacobian(jac(ts), sol.fun)
    cov = T @ cov_s @ T.T
    se, ci = t_intervals(["log_coef", names[1], names[2]], theta, cov, dof, level)
    lo, hi = ci.pop("log_coef")
    ci = {names[0]: (_exp(lo), _exp(hi)), **ci}  # a few points can leave log coef an interval past exp's range
    coef = _exp(theta[0])
    se = {names[0]: coef * se["log_coef"], "log_coef": se["log_coef"], names[1]: se[names[1]],
          names[2]: se[names[2]]}
    flags = {}
    at_bound = bool(sol.active_mask[2] != 0 or theta[2] <= 1e-9 * float(y.min()))  # trf stays a hair inside
    if at_bound:
        flags["*"] = (f"{names[2]} ended at its bound 0 (the data want a negative floor): the intervals "
                      "assume an interior optimum")
    return FitResult(
        kind=kind,
        params={names[0]: coef, names[1]: float(theta[1]), names[2]: float(theta[2])},
        se=se, ci=ci,
        r2=r_squared(ly, ly + sol.fun), r2_space="log", n=len(x), dof=dof,
        model=_power_offset, theta=theta, cov=cov, residuals=sol.fun, level=level,
        info={"method": "log-space least squares, exponent-profile start + trust-region refine",
              "offset_fitted": True, "offset_at_bound": at_bound,
              "optimizer_status": int(sol.status)},
        flags=flags,
    )
