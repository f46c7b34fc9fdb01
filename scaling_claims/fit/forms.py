"""Curve forms used by individual claims, each returning a :class:`FitResult`.

- :func:`fit_logistic`: a transition in log x (emergence, phase transitions): midpoint, slope.
- :func:`fit_coverage_law`: Brown et al. 2024's coverage law log c(k) = a * k**b.
- :func:`fit_saturating`: P(n) = P_inf - (P_inf - P_1) * n**-beta (best-of-n gains).
- :func:`fit_gao`: Gao et al. 2023's best-of-n gold reward d * (alpha - beta * d), d = sqrt(KL),
  with :func:`best_of_n_kl` for KL_bon = log n - (n - 1)/n.
- :func:`fit_learning_curve`: L(s) = a * s**-b + c (early-stopping extrapolation).

Every fitter validates its input (``ValueError`` naming the problem), starts from a grid or a
closed-form profile and refines with trust-region least squares; intervals are Gauss-Newton
(asymptotic) Student-t intervals at 95%.
"""

from __future__ import annotations

import math

import numpy as np

from ._nls import grid_start, nls_fit
from ._result import FitResult, r_squared, t_intervals, t_quantile
from ._validate import (as_float_array, check_enough_points, check_in_range, check_not_constant, check_positive,
                        check_same_length)
from .power_law import _fit_with_offset


def _pair(x, y, x_name: str, y_name: str, n_params: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    x = as_float_array(x, x_name)
    y = as_float_array(y, y_name)
    check_same_length(**{x_name: x, y_name: y})
    check_enough_points(len(x), n_params, what)
    check_not_constant(x, x_name)
    return x, y


# ----------------------------------------------------------------------------- logistic
def fit_logistic(x, y, lower: float | None = 0.0, upper: float | None = 1.0, level: float = 0.95) -> FitResult:
    """Fit ``y = lower + (upper - lower) / (1 + exp(-slope * (ln x - ln midpoint)))``.

    The transition is modelled in log x (scale), so ``midpoint`` is in x units (its CI is the
    exponentiated CI of ln midpoint) and ``slope`` is per unit of natural log x: a larger slope
    is a sharper transition. ``lower``/``upper`` default to 0 and 1 (accuracies); pass ``None``
    to fit them too. ``r2`` is in linear space. x must be positive.
    """
    n_free = 2 + (lower is None) + (upper is None)
    x, y = _pair(x, y, "x", "y", n_free, "the logistic")
    check_positive(x, "x", "the logistic is fitted in log x")
    lx = np.log(x)
    fixed_lo, fixed_hi = lower, upper

    def unpack(t):
        i = 2
        lo = t[i] if fixed_lo is None else fixed_lo
        i += fixed_lo is None
        hi = t[i] if fixed_hi is None else fixed_hi
        return t[0], t[1], lo, hi

    def model(t, xv):
        m, k, lo, hi = unpack(t)
        z = np.clip(-k * (np.log(xv) - m), -700, 700)
        return lo + (hi - lo) / (1.0 + np.exp(z))

    span = float(np.ptp(lx))
    extras = ([float(y.min())] if lower is None else []) + ([float(y.max())] if upper is None else [])
    candidates = [np.array([m, s * k / span] + extras)
                  for m in np.linspace(lx.min(), lx.max(), 25)
                  for k in (0.5, 1, 2, 4, 8, 16, 32, 64) for s in (1, -1)]
    names = ["log_midpoint", "slope"] + (["lower"] if lower is None else []) + (["upper"] if upper is None else [])
    raw = nls_fit(kind="logistic", names=names, model=model, x=x, y=y, start=grid_start(model, x, y, candidates),
                  level=level, info={"x_space": "natural log"})
    m = raw.params.pop("log_midpoint")
    lo_m, hi_m = raw.ci.pop("log_midpoint")
    se_m = raw.se["log_midpoint"]
    raw.params = {"midpoint": math.exp(m), **raw.params}
    if lower is not None:
        raw.params["lower"] = float(lower)
    if upper is not None:
        raw.params["upper"] = float(upper)
    raw.ci = {"midpoint": (math.exp(lo_m), math.exp(hi_m)), **raw.ci}
    raw.se = {"midpoint": math.exp(m) * se_m, **raw.se}
    return raw


# ----------------------------------------------------------------------------- coverage law
def fit_coverage_law(k, coverage, level: float = 0.95) -> FitResult:
    """Fit Brown et al.'s ``log c(k) = a * k**b`` to coverage (pass@k) c in (0, 1].

    Typically a < 0 and b < 0 (-log coverage decays as a power of k). Residuals, ``r2`` and
    intervals are in log-coverage space. ``predict(k)`` returns coverage. Needs at least one
    coverage < 1 (the law is degenerate at c = 1) and k >= 1.
    """
    k, c = _pair(k, coverage, "k", "coverage", 2, "the coverage law")
    check_positive(k, "k", "it is a number of samples")
    check_in_range(c, "coverage", 0.0, 1.0, lo_open=True)
    below = c < 1.0
    if below.sum() < 2 or np.ptp(k[below]) == 0:
        raise ValueError("the coverage law needs at least 2 points with coverage < 1 at different k")
    slope, icept = np.polyfit(np.log(k[below]), np.log(-np.log(c[below])), 1)

    def model(t, kv):
        return np.exp(t[0] * np.power(kv, t[1]))

    res = nls_fit(kind="coverage_law", names=["a", "b"], model=model, x=k, y=c,
                  start=np.array([-math.exp(icept), slope]), level=level, transform=np.log, space="log",
                  info={"law": "log c(k) = a * k**b"})
    return res


# ----------------------------------------------------------------------------- saturating
def fit_saturating(n, P, level: float = 0.95) -> FitResult:
    """Fit ``P(n) = P_inf - (P_inf - P_1) * n**-beta`` (linear-space residuals).

    For fixed beta the form is linear in (P_inf, P_1), so beta is profiled on a grid for the
    start. ``beta > 0`` means P approaches P_inf as n grows. n must be positive (n = 1 gives P_1).
    """
    n, P = _pair(n, P, "n", "P", 3, "the saturating law")
    check_positive(n, "n", "n**-beta is taken")

    def model(t, nv):
        return t[0] - (t[0] - t[1]) * np.power(nv, -t[2])

    candidates = []
    for beta in np.concatenate([np.linspace(0.01, 3.0, 150), -np.linspace(0.01, 1.0, 25)]):
        f = np.power(n, -beta)
        X = np.column_stack([1.0 - f, f])
        (p_inf, p_1), *_ = np.linalg.lstsq(X, P, rcond=None)
        candidates.append(np.array([p_inf, p_1, beta]))
    return nls_fit(kind="saturating", names=["P_inf", "P_1", "beta"], model=model, x=n, y=P,
                   start=grid_start(model, n, P, candidates), level=level,
                   info={"law": "P(n) = P_inf - (P_inf - P_1) * n**-beta"})


# ----------------------------------------------------------------------------- Gao et al.
def best_of_n_kl(n) -> np.ndarray:
    """KL(best-of-n || base) upper bound: log n - (n - 1) / n (exact for continuous rewards)."""
    n = as_float_array(n, "n")
    check_in_range(n, "n", 1.0, math.inf)
    return np.log(n) - (n - 1.0) / n


def _gao_model(t, d):
    return d * (t[0] - t[1] * d)


def fit_gao(d, gold, level: float = 0.95) -> FitResult:
    """Fit Gao et al.'s best-of-n form ``gold = d * (alpha - beta * d)``, d = sqrt(KL) >= 0.

    Linear in (alpha, beta): ordinary least squares through the origin, exact t intervals.
    Derived ``peak_d = alpha / (2 beta)`` and ``peak_gold = alpha**2 / (4 beta)`` (the
    over-optimisation peak; only meaningful when beta > 0) get delta-method intervals.
    ``r2`` is in linear space about the mean of gold.
    """
    d, g = _pair(d, gold, "d", "gold", 2, "the Gao et al. form")
    check_in_range(d, "d", 0.0, math.inf)
    X = np.column_stack([d, -d * d])
    theta, *_ = np.linalg.lstsq(X, g, rcond=None)
    resid = g - X @ theta
    dof = len(d) - 2
    cov = (float(resid @ resid) / dof) * np.linalg.pinv(X.T @ X) if dof >= 1 else np.full((2, 2), math.nan)
    se, ci = t_intervals(["alpha", "beta"], theta, cov, dof, level)
    alpha, beta = theta
    params = {"alpha": float(alpha), "beta": float(beta)}
    if beta > 0:
        q = t_quantile(level, dof)
        for name, val, grad in (
            ("peak_d", alpha / (2 * beta), np.array([1 / (2 * beta), -alpha / (2 * beta ** 2)])),
            ("peak_gold", alpha ** 2 / (4 * beta), np.array([alpha / (2 * beta), -alpha ** 2 / (4 * beta ** 2)])),
        ):
            s = math.sqrt(max(float(grad @ cov @ grad), 0.0)) if np.all(np.isfinite(cov)) else math.nan
            params[name], se[name], ci[name] = float(val), s, (val - q * s, val + q * s)
    return FitResult(kind="gao", params=params, se=se, ci=ci, r2=r_squared(g, X @ theta), r2_space="linear",
                     n=len(d), dof=dof, model=_gao_model, theta=theta, cov=cov, residuals=resid, level=level,
                     info={"law": "gold = d * (alpha - beta * d)", "method": "OLS through the origin"})


# ----------------------------------------------------------------------------- learning curve
def fit_learning_curve(s, L, level: float = 0.95) -> FitResult:
    """Fit ``L(s) = a * s**-b + c`` (c >= 0) to a loss curve over steps (or tokens) s.

    The same log-space fit as ``fit_power_law(..., offset=True)`` with the learning-curve names.
    c is poorly identified from a short stretch of curve: predict with it, do not assert it.
    """
    return _fit_with_offset(s, L, level=level, kind="learning_curve", names=("a", "b", "c"), x_name="s",
                            y_name="L")
