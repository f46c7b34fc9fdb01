"""Curve forms used by individual claims, each returning a :class:`FitResult`.

- :func:`fit_logistic`: a transition in log x (emergence, phase transitions): midpoint, slope.
- :func:`fit_coverage_law`: Brown et al. 2024's coverage law log c(k) = a * k**b.
- :func:`fit_saturating`: P(n) = P_inf - (P_inf - P_1) * n**-beta (best-of-n gains).
- :func:`fit_gao`: Gao et al. 2023's best-of-n gold reward d * (alpha - beta * d), d = sqrt(KL),
  with :func:`best_of_n_kl` for KL_bon = log n - (n - 1)/n.
- :func:`fit_learning_curve`: L(s) = a * s**-b + c (early-stopping extrapolation).

Every fitter validates its input (``ValueError`` naming the problem), starts from a grid or a
closed-form profile and refines with trust-region least squares; intervals are Gauss-Newton
(asymptotic) Student-t intervals at 95% (the logistic's from the HC3 sandwich covariance).
Parameters with a physical range are kept in it, and a fit that ends at a bound or degenerates
is flagged (``FitResult.flags``): its intervals are then not confidence intervals.
"""

from __future__ import annotations

import math

import numpy as np

from ._degenerate import exp_or_inf, flag_degenerate, not_identified, renamed
from ._nls import grid_start, nls_fit
from ._result import FitResult, r_squared, t_intervals, t_quantile
from ._validate import (as_real_array, check_enough_points, check_in_range, check_level, check_not_constant,
                        check_positive, check_same_length)
from .power_law import _fit_with_offset


def _pair(x, y, x_name: str, y_name: str, n_params: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    x = as_real_array(x, x_name)
    y = as_real_array(y, y_name)
    check_same_length(**{x_name: x, y_name: y})
    check_enough_points(len(x), n_params, what)
    check_not_constant(x, x_name)
    return x, y


# ----------------------------------------------------------------------------- logistic
# A transition narrower than 1/100 of the closest spacing of the sampled ln x is a step the data
# cannot tell from any steeper one: the slope is bounded there, and a fit that reaches the bound
# is flagged.
SLOPE_CAP_PER_GAP = 100.0
# "on the rise": fitted value between 10% and 90% of the way from lower to upper
RISE_BAND = (0.1, 0.9)


def fit_logistic(x, y, lower: float | None = 0.0, upper: float | None = 1.0, level: float = 0.95,
                 y_range: tuple[float, float] | None = (0.0, 1.0)) -> FitResult:
    """Fit ``y = lower + (upper - lower) / (1 + exp(-slope * (ln x - ln midpoint)))``.

    The transition is modelled in log x (scale), so ``midpoint`` is in x units (its CI is the
    exponentiated CI of ln midpoint) and ``slope`` is per unit of natural log x: a larger slope
    is a sharper transition. ``lower``/``upper`` default to 0 and 1 (accuracies); pass ``None``
    to fit them too, within ``y_range`` (the physical range of y; ``None``: unbounded). ``r2``
    is in linear space. x must be positive; y must lie in ``y_range``.

    Degenerate fits are flagged (``flags``; their intervals are not confidence intervals): a
    slope at its bound (``SLOPE_CAP_PER_GAP`` over the closest spacing of ln x), no data point
    on the rise (a step between two sampled x: slope and midpoint are not identified), or a
    midpoint outside the sampled x. Intervals use the HC3 sandwich covariance: accuracies near 0
    or 1 vary far less than those on the rise, and one pooled variance made the slope's 95%
    interval cover ~50-70% on sharp binomial rises (HC3: 0.93-0.98 in the tests' simulations).
    A constant y, no more points than free parameters, or (with both levels
    fixed) a y outside [lower, upper], which no logistic reaches, are flagged as a whole with
    intervals over each parameter's whole range (not identified).
    """
    level = check_level(level)
    n_free = 2 + (lower is None) + (upper is None)
    x, y = _pair(x, y, "x", "y", n_free, "the logistic")
    check_positive(x, "x", "the logistic is fitted in log x")
    if y_range is not None:
        check_in_range(y, "y", float(y_range[0]), float(y_range[1]))
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
    gaps = np.diff(np.unique(lx))
    cap = SLOPE_CAP_PER_GAP / float(gaps.min())
    yb = (-np.inf, np.inf) if y_range is None else (float(y_range[0]), float(y_range[1]))
    extras = ([float(y.min())] if lower is None else []) + ([float(y.max())] if upper is None else [])
    candidates = [np.array([m, s * k / span] + extras)
                  for m in np.linspace(lx.min(), lx.max(), 25)
                  for k in (0.5, 1, 2, 4, 8, 16, 32, 64) for s in (1, -1)]
    names = ["log_midpoint", "slope"] + (["lower"] if lower is None else []) + (["upper"] if upper is None else [])
    lo_b = [-np.inf, -cap] + [yb[0]] * (n_free - 2)
    hi_b = [np.inf, cap] + [yb[1]] * (n_free - 2)
    raw = nls_fit(kind="logistic", names=names, model=model, x=x, y=y, start=grid_start(model, x, y, candidates),
                  bounds=(lo_b, hi_b), level=level, info={"x_space": "natural log", "slope_cap": cap},
                  covariance="hc3")
    if lower is not None and upper is not None:
        lo_f, hi_f = sorted((float(lower), float(upper)))
        outside = np.flatnonzero((y < lo_f) | (y > hi_f))
        if outside.size:
            i = int(outside[0])
            not_identified(raw, f"y = {float(y[i]):.6g} (index {i}) lies outside the form's range [{lo_f:g}, {hi_f:g}] "
                                "(the fixed lower and upper levels): no logistic reaches it, so the fit is not "
                                "identified", ranges={"log_midpoint": (-np.inf, np.inf), "slope": (-cap, cap)})
    m_hat, k_hat, lo_hat, hi_hat = unpack(raw.theta)
    fitted = model(raw.theta, x)
    share = (fitted - lo_hat) / (hi_hat - lo_hat) if hi_hat != lo_hat else np.zeros_like(fitted)
    on_rise = int(np.sum((share > RISE_BAND[0]) & (share < RISE_BAND[1])))
    raw.info["points_on_rise"] = on_rise
    if abs(k_hat) >= cap * (1 - 1e-9):
        raw.flag("*", f"slope reached its bound {cap:.3g}: the rise is steeper than the x spacing resolves")
    if on_rise == 0:
        below, above = lx[share <= RISE_BAND[0]], lx[share >= RISE_BAND[1]]
        where = (f" (a step between x = {math.exp(below.max()):.4g} and x = {math.exp(above.min()):.4g})"
                 if below.size and above.size else "")
        raw.flag("*", "no data point lies on the rise (10%-90% of the transition): slope and midpoint are not "
                      "identified" + where)
    if not lx.min() <= m_hat <= lx.max():
        raw.flag("midpoint", "the midpoint lies outside the sampled x")
        raw.flag("slope", "the midpoint lies outside the sampled x, so the slope is an extrapolation")
    m = raw.params.pop("log_midpoint")
    lo_m, hi_m = raw.ci.pop("log_midpoint")
    se_m = raw.se["log_midpoint"]
    if "log_midpoint" in raw.flags:
        raw.flags["midpoint"] = raw.flags.pop("log_midpoint")
    exp = exp_or_inf  # a vague midpoint's interval can pass float range (ln x up to ~709.78 is finite)
    raw.params = {"midpoint": exp(m), **raw.params}
    if lower is not None:
        raw.params["lower"] = float(lower)
    if upper is not None:
        raw.params["upper"] = float(upper)
    raw.ci = {"midpoint": (exp(lo_m), exp(hi_m)), **raw.ci}
    raw.se = {"midpoint": exp(m) * se_m, **raw.se}
    renamed(raw, {"log_midpoint": "midpoint"})
    return raw


# ----------------------------------------------------------------------------- coverage law
def fit_coverage_law(k, coverage, level: float = 0.95) -> FitResult:
    """Fit Brown et al.'s ``log c(k) = a * k**b`` to coverage (pass@k) c in (0, 1].

    a <= 0 (log c <= 0 for a coverage c <= 1; a fit at the bound is flagged) and typically
    b < 0 (-log coverage decays as a power of k). Residuals, ``r2`` and intervals are in
    log-coverage space. ``predict(k)`` returns coverage. Needs at least one
    coverage < 1 (the law is degenerate at c = 1) and k >= 1. A constant coverage or exactly 2
    points are flagged with intervals that say not identified.
    """
    level = check_level(level)
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
                  start=np.array([-math.exp(icept), slope]), bounds=([-np.inf, -np.inf], [0.0, np.inf]),
                  level=level, transform=np.log, space="log",
                  info={"law": "log c(k) = a * k**b"}, y_name="coverage")
    return res


# ----------------------------------------------------------------------------- saturating
def fit_saturating(n, P, level: float = 0.95, p_range: tuple[float, float] | None = (0.0, 1.0),
                   p_inf: float | None = None) -> FitResult:
    """Fit ``P(n) = P_inf - (P_inf - P_1) * n**-beta`` (linear-space residuals).

    P is a success rate, so ``P_inf`` and ``P_1`` are kept in ``p_range`` (default [0, 1];
    ``None``: unbounded); a fit that ends at a bound (e.g. the data want ``P_inf`` > 1) is
    flagged and its intervals are not confidence intervals. ``p_inf``: a known asymptote (e.g. 1
    when every problem is solvable), then only ``P_1`` and ``beta`` are fitted. For fixed beta
    the form is linear in (P_inf, P_1), so beta is profiled on a grid for the start. ``beta >
    0`` means P approaches P_inf as n grows. n must be positive (n = 1 gives P_1). A constant P,
    or no more points than free parameters are flagged with intervals over each
    parameter's whole range (not identified).
    """
    level = check_level(level)
    n, P = _pair(n, P, "n", "P", 3 if p_inf is None else 2, "the saturating law")
    check_positive(n, "n", "n**-beta is taken")
    lo, hi = (-np.inf, np.inf) if p_range is None else (float(p_range[0]), float(p_range[1]))
    if p_range is not None:
        check_in_range(P, "P", lo, hi)
    if p_inf is not None and not lo <= float(p_inf) <= hi:
        raise ValueError(f"p_inf = {p_inf} lies outside p_range [{lo}, {hi}]")

    if p_inf is None:
        def model(t, nv):
            return t[0] - (t[0] - t[1]) * np.power(nv, -t[2])
        names, bounds = ["P_inf", "P_1", "beta"], ([lo, lo, -np.inf], [hi, hi, np.inf])
    else:
        fixed = float(p_inf)

        def model(t, nv):
            return fixed - (fixed - t[0]) * np.power(nv, -t[1])
        names, bounds = ["P_1", "beta"], ([lo, -np.inf], [hi, np.inf])

    candidates = []
    for beta in np.concatenate([np.linspace(0.01, 3.0, 150), -np.linspace(0.01, 1.0, 25)]):
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            f = np.power(n, -beta)
            ff = float(np.sum(f * f))
            if not np.all(np.isfinite(f)) or not 0.0 < ff < math.inf:  # past float range: not a start
                continue
            if p_inf is None:
                X = np.column_stack([1.0 - f, f])
                (a, b), *_ = np.linalg.lstsq(X, P, rcond=None)
                candidates.append(np.array([np.clip(a, lo, hi), np.clip(b, lo, hi), beta]))
            else:
                b = float(np.sum(f * (P - fixed * (1 - f))) / ff)
                candidates.append(np.array([np.clip(b, lo, hi), beta]))
    res = nls_fit(kind="saturating", names=names, model=model, x=n, y=P,
                  start=grid_start(model, n, P, candidates), bounds=bounds, level=level,
                  info={"law": "P(n) = P_inf - (P_inf - P_1) * n**-beta", "p_range": p_range,
                        "p_inf_fixed": p_inf}, y_name="P")
    if p_inf is not None:
        res.params = {"P_inf": float(p_inf), **res.params}
    return res


# ----------------------------------------------------------------------------- Gao et al.
def best_of_n_kl(n) -> np.ndarray:
    """KL(best-of-n || base) upper bound: log n - (n - 1) / n (exact for continuous rewards)."""
    n = as_real_array(n, "n")
    check_in_range(n, "n", 1.0, math.inf)
    return np.log(n) - (n - 1.0) / n


def _gao_model(t, d):
    return d * (t[0] - t[1] * d)


def fit_gao(d, gold, level: float = 0.95) -> FitResult:
    """Fit Gao et al.'s best-of-n form ``gold = d * (alpha - beta * d)``, d = sqrt(KL) >= 0.

    Linear in (alpha, beta): ordinary least squares through the origin, exact t intervals.
    Derived ``peak_d = alpha / (2 beta)`` and ``peak_gold = alpha**2 / (4 beta)`` (the
    over-optimisation peak; only meaningful when beta > 0) get delta-method intervals, flagged
    (``flags``) when beta's own interval includes 0.
    ``r2`` is in linear space about the mean of gold. Solved on d and gold divided by their
    largest magnitudes (so d**2 cannot overflow); a fit whose alpha or beta lies outside float
    range in the units given is a ``ValueError`` naming d. A constant gold or exactly 2 points
    are flagged with intervals that say not identified.
    """
    level = check_level(level)
    d, g = _pair(d, gold, "d", "gold", 2, "the Gao et al. form")
    check_in_range(d, "d", 0.0, math.inf)
    ds = float(d.max())  # > 0: d >= 0 and not constant
    gs = float(np.abs(g).max()) or 1.0
    dn, gn = d / ds, g / gs
    X = np.column_stack([dn, -dn * dn])
    theta_n, *_ = np.linalg.lstsq(X, gn, rcond=None)
    resid_n = gn - X @ theta_n
    dof = len(d) - 2
    cov_n = (float(resid_n @ resid_n) / dof) * np.linalg.pinv(X.T @ X) if dof >= 1 else np.full((2, 2), math.nan)
    scale = np.array([gs / ds, gs / ds / ds])  # alpha = alpha_n gs / ds, beta = beta_n gs / ds**2
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        theta = theta_n * scale
        cov = cov_n * np.outer(scale, scale)  # for predict_interval; se and ci come from cov_n
    tiny = np.finfo(float).tiny  # below it a float is subnormal: its digits are lost
    if not np.all(np.isfinite(theta)) or np.any((np.abs(theta) < tiny) & (theta_n != 0)):
        raise ValueError(f"d spans [{float(d.min()):.3g}, {ds:.3g}] and gold up to {gs:.3g}: the fitted alpha and "
                         "beta lie outside float range in these units; rescale d or gold")
    se_n, ci_n = t_intervals(["alpha", "beta"], theta_n, cov_n, dof, level)
    se = {k: se_n[k] * sc for k, sc in zip(("alpha", "beta"), scale)}
    ci = {k: (ci_n[k][0] * sc, ci_n[k][1] * sc) for k, sc in zip(("alpha", "beta"), scale)}
    alpha, beta = theta
    a_n, b_n = theta_n
    params = {"alpha": float(alpha), "beta": float(beta)}
    if beta > 0:
        q = t_quantile(level, dof)
        # in the scaled units, then back (peak_d in units of d, peak_gold in units of gold)
        for name, val, grad, unit in (
            ("peak_d", a_n / (2 * b_n), np.array([1 / (2 * b_n), -a_n / (2 * b_n ** 2)]), ds),
            ("peak_gold", a_n ** 2 / (4 * b_n), np.array([a_n / (2 * b_n), -a_n ** 2 / (4 * b_n ** 2)]), gs),
        ):
            s = math.sqrt(max(float(grad @ cov_n @ grad), 0.0)) if np.all(np.isfinite(cov_n)) else math.nan
            with np.errstate(over="ignore", invalid="ignore"):
                v, s = float(val * unit), float(s * unit)
            params[name], se[name], ci[name] = v, s, (v - q * s, v + q * s)
    res = FitResult(kind="gao", params=params, se=se, ci=ci, r2=r_squared(gn, X @ theta_n), r2_space="linear",
                    n=len(d), dof=dof, model=_gao_model, theta=theta, cov=cov, residuals=resid_n * gs, level=level,
                    info={"law": "gold = d * (alpha - beta * d)", "method": "OLS through the origin",
                          "scales": {"d": ds, "gold": gs}})
    if "peak_d" in params and not ci["beta"][0] > 0:
        for name in ("peak_d", "peak_gold"):
            res.flag(name, "beta's interval includes 0: the over-optimisation peak is not identified "
                           "(its delta-method interval is not a confidence interval)")
    return flag_degenerate(res, g, "gold", 2)


# ----------------------------------------------------------------------------- learning curve
def fit_learning_curve(s, L, level: float = 0.95) -> FitResult:
    """Fit ``L(s) = a * s**-b + c`` (c >= 0) to a loss curve over steps (or tokens) s.

    The same log-space fit as ``fit_power_law(..., offset=True)`` with the learning-curve names.
    c is poorly identified from a short stretch of curve: predict with it, do not assert it.
    Degenerate curves (constant L, 3 points) are flagged, intervals not identified.
    """
    return _fit_with_offset(s, L, level=level, kind="learning_curve", names=("a", "b", "c"), x_name="s",
                            y_name="L")
