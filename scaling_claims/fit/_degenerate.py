"""Degenerate fits: flagged, with intervals that say "not identified".

A fit the data cannot identify still returns numbers: a constant response gives a flat law
whose shape parameters are arbitrary (a logistic's midpoint, a saturating law's beta) or exact
(a power law's exponent 0) with zero residual; as many points as parameters leave no residual
degree of freedom, so nothing measures the noise. Student-t intervals are then zero-width
(s^2 = 0) or NaN (dof 0), and neither says what is true: that the interval is unknown.

:func:`not_identified` marks such a fit: each affected parameter gets the whole of its range as
its interval (``(-inf, inf)``, or the bounds it was kept in, e.g. ``(0, inf)`` for a positive
coefficient), an infinite standard error, and a flag with the reason (``FitResult.flags``), so
``Estimate.from_fit`` makes every check on it inconclusive. :func:`flag_degenerate` applies the
two tests every fitter shares.
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping

import numpy as np

from ._result import FitResult, r_squared

FULL_RANGE = (-math.inf, math.inf)


def not_identified(fit: FitResult, why: str, names: Iterable[str] | None = None,
                   ranges: Mapping[str, tuple[float, float]] | None = None) -> FitResult:
    """Give ``names`` (default: every parameter with an interval; then the whole fit, ``"*"``, is
    flagged too) the interval of their whole range (``ranges[name]``, else ``(-inf, inf)``), an
    infinite standard error and the flag ``why``; ``info["not_identified"]`` records name -> range.
    Returns ``fit``."""
    whole = names is None
    chosen = list(fit.ci) if whole else list(names)
    recorded = dict(fit.info.get("not_identified", {}))
    for name in chosen:
        fit.ci[name] = tuple(float(v) for v in (ranges or {}).get(name, FULL_RANGE))  # type: ignore[assignment]
        recorded[name] = list(fit.ci[name])
        fit.se[name] = math.inf
        if not whole:
            fit.flag(name, why)
    if whole:
        for name in fit.se:  # standard errors of internal parameters too (a log coefficient)
            fit.se[name] = math.inf
        fit.flag("*", why)
    fit.info["not_identified"] = recorded  # name -> the range given as its interval
    return fit


def renamed(fit: FitResult, renames: Mapping[str, str]) -> None:
    """After a fitter renames internal parameters (``log_midpoint`` -> ``midpoint``), keep
    ``info["not_identified"]`` in step with the renamed intervals."""
    rec = fit.info.get("not_identified")
    if rec:
        fit.info["not_identified"] = {renames.get(k, k): list(fit.ci[renames.get(k, k)]) for k in rec
                                      if renames.get(k, k) in fit.ci}


def degenerate_reason(response: np.ndarray, response_name: str, n_params: int,
                      residuals: np.ndarray | None) -> str:
    """Why a fit of ``n_params`` parameters to ``response`` cannot have usable intervals, or "":
    a constant response, or no residual degree of freedom. (Zero residuals with degrees of
    freedom left are exact data, not a degenerate fit: the law is then known exactly, and its
    zero-width intervals say so; noise-free test data are such.)"""
    n = len(response)
    if n > 1 and np.ptp(response) == 0:
        return (f"{response_name} is constant (every value {float(response[0]):.6g}): the law's shape is not "
                "identified and no noise is measured, so its intervals are not identified")
    if n <= n_params:
        return (f"{n} points for {n_params} parameters: the law passes through every point and no degree of "
                "freedom is left to measure the noise, so its intervals are not identified")
    return ""


def flag_degenerate(fit: FitResult, response: np.ndarray, response_name: str, n_params: int,
                    ranges: Mapping[str, tuple[float, float]] | None = None,
                    names: Iterable[str] | None = None) -> FitResult:
    """:func:`not_identified` when :func:`degenerate_reason` finds a reason; ``fit`` unchanged
    otherwise. ``names``: the parameters concerned (default every one, and the whole fit)."""
    why = degenerate_reason(np.asarray(response, float), response_name, n_params, fit.residuals)
    if why:
        not_identified(fit, why, names, ranges)
    return fit


def r_squared_scaled(observed: np.ndarray, predicted: np.ndarray) -> float:
    """``_result.r_squared`` on both arrays divided by the largest observed magnitude: the same
    number, without squares that overflow for values past ~1e154."""
    scale = float(np.max(np.abs(observed))) if np.size(observed) else 1.0
    scale = scale if math.isfinite(scale) and scale > 0 else 1.0
    with np.errstate(over="ignore", invalid="ignore"):  # a prediction 1e160 times off: r2 = -inf, honestly
        return r_squared(np.asarray(observed) / scale, np.asarray(predicted) / scale)


def exp_or_inf(v: float) -> float:
    """``math.exp`` that gives inf past float range instead of raising (for a ``log`` parameter's
    interval end), and 0 far below it."""
    if v != v:  # NaN
        return math.nan
    return math.exp(v) if v <= LOG_MAX else math.inf


LOG_MAX = math.log(np.finfo(float).max)  # 709.78...: exp of anything larger overflows
