"""Forecasting a run's final loss from the start of its loss curve (early stopping).

Two forms, fitted to the observed part of a curve and evaluated at the step the run would end:

- ``"power"``: ``L(s) = c + a * s**-b`` (``fit_learning_curve``), a power law in steps. It knows
  nothing of the learning-rate schedule, so under warmup + cosine decay it cannot foresee the
  drop that annealing brings at the end of a run.
- ``"annealing"``: Tissue et al. 2024 ("Scaling Law with Learning Rate Annealing"),
  ``L(s) = L0 + A * S1(s)**-alpha - C * S2(s)``, with ``S1`` the forward area (the sum of the
  learning rates up to step s) and ``S2`` the annealing area (the learning-rate decreases,
  accumulated with a momentum-like decay ``lambda``, 0.999 in the paper); see
  :func:`annealing_areas`. It needs the schedule up to the target step.

``forecast_final_loss(steps, losses, target_step, form=..., lr=...)`` returns a
:class:`Forecast`: the value at ``target_step``, a ``level`` band from the fit's parameter
uncertainty (delta method; not a prediction interval for one noisy evaluation), and the fit.
Fitted constants such as ``c`` or ``L0`` are poorly identified from an early stretch of curve:
forecast with them, never report them as measurements.

``early_stop_decision(steps, losses, total_steps, form=..., lr=..., min_fraction=0.2, window=3,
rtol=0.01)`` is the opt-in early-stop rule (``RunSpec.early_stop`` in the engine): stop once at
least ``min_fraction`` of the run is done and the last ``window`` forecasts, each from the curve
up to its point, agree within relative spread ``rtol``. It returns a :class:`StopDecision`
(stop, the latest forecast, the reason). Stable is not the same as right: a form that cannot
represent what is still to come settles on a wrong value (tests/test_early_stop.py), and with
dense curve points a slowly drifting forecast moves less than ``rtol`` over ``window`` points.
Measured on trained runs in claims/test_learning_curves.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._degenerate import exp_or_inf
from ._nls import grid_start, nls_fit
from ._result import FitResult
from ._validate import as_real_array, check_enough_points, check_level, check_positive, check_same_length
from .forms import fit_learning_curve

FORMS = ("power", "annealing")
ANNEALING_DECAY = 0.999  # Tissue et al. 2024's lambda


@dataclass(frozen=True)
class Forecast:
    """A final-loss forecast: ``value`` at ``target_step`` with its band ``(lo, hi)`` at
    ``level``, from ``fit`` over the first ``used_steps`` steps (``fraction`` of the run)."""

    form: str
    target_step: int
    used_steps: int
    value: float
    lo: float
    hi: float
    level: float
    fit: FitResult

    @property
    def fraction(self) -> float:
        return self.used_steps / self.target_step

    def relative_error(self, actual: float) -> float:
        """(forecast - actual) / actual."""
        return (self.value - actual) / actual


def annealing_areas(lr, decay: float = ANNEALING_DECAY) -> tuple[np.ndarray, np.ndarray]:
    """Tissue et al.'s areas after each step, for ``lr[i]``, the learning rate of step i + 1:
    ``S1[i] = sum_{j<=i} lr[j]`` and ``S2[i] = sum_{j<=i} m_j`` with the momentum
    ``m_j = decay * m_{j-1} + max(0, lr[j-1] - lr[j])`` (``m_0 = 0``): the learning-rate
    decreases so far, each carried on with weight decay**age. Warmup is not annealing: a rising
    learning rate adds nothing to S2. A constant schedule has ``S2 = 0``."""
    eta = as_real_array(lr, "lr")
    if eta.ndim != 1 or eta.size < 1:
        raise ValueError("lr must be a 1-D sequence of per-step learning rates")
    if np.any(eta < 0):
        raise ValueError("lr must be >= 0 at every step")
    if not 0 <= decay < 1:
        raise ValueError(f"decay must be in [0, 1), got {decay!r}")
    drops = np.concatenate([[0.0], np.maximum(eta[:-1] - eta[1:], 0.0)])
    m = np.empty_like(eta)
    acc = 0.0
    for i, d in enumerate(drops):
        acc = decay * acc + d
        m[i] = acc
    return np.cumsum(eta), np.cumsum(m)


def _annealing_model(t: np.ndarray, S1: np.ndarray, S2: np.ndarray) -> np.ndarray:
    L0, log_A, alpha, C = t
    return L0 + np.exp(log_A) * S1 ** -alpha - C * S2


def fit_annealing_law(S1, S2, L, level: float = 0.95) -> FitResult:
    """Fit ``L = L0 + A * S1**-alpha - C * S2`` (A > 0, alpha > 0, C >= 0) by least squares.
    ``FitResult.predict(S1, S2)`` evaluates the fitted law. A constant L is flagged, its
    intervals not identified."""
    level = check_level(level)
    S1, S2, L = (as_real_array(v, name) for v, name in ((S1, "S1"), (S2, "S2"), (L, "L")))
    n = check_same_length(S1=S1, S2=S2, L=L)
    check_enough_points(n, 4, "the annealing law", min_dof=1)
    check_positive(S1, "S1", "it is raised to a negative power")
    check_positive(L, "L", "it is a loss")
    span = float(L.max() - L.min()) or float(L.mean()) * 1e-3
    candidates = [np.array([L0, math.log(max(A, 1e-12)), alpha, C])
                  for L0 in np.linspace(0.0, float(L.min()), 6)
                  for alpha in (0.1, 0.3, 0.5, 1.0)
                  for A in ((float(L.max()) - L0) * float(S1.min()) ** alpha,)
                  for C in (0.0, span / max(float(S2.max()), 1e-12) if S2.max() > 0 else 0.0)]
    start = grid_start(_annealing_model, (S1, S2), L, candidates)
    res = nls_fit(kind="annealing_law", names=("L0", "log_A", "alpha", "C"), model=_annealing_model,
                  x=(S1, S2), y=L, start=start,
                  bounds=([-np.inf, -np.inf, 1e-6, 0.0], [np.inf, np.inf, 10.0, np.inf]), level=level, y_name="L")
    res.params["A"] = exp_or_inf(res.params["log_A"])
    return res


def _validated_curve(steps, losses) -> tuple[np.ndarray, np.ndarray]:
    s = as_real_array(steps, "steps")
    L = as_real_array(losses, "losses")
    check_same_length(steps=s, losses=L)
    if s.ndim != 1:
        raise ValueError("steps and losses must be 1-D")
    if np.any(s < 1) or np.any(s != np.round(s)):
        raise ValueError("steps must be whole optimiser steps >= 1")
    if np.any(np.diff(s) <= 0):
        raise ValueError("steps must be strictly increasing (one loss per step, in order)")
    check_positive(L, "losses", "it is a loss")
    return s, L


def forecast_final_loss(steps, losses, target_step: int, *, form: str = "power", lr=None,
                        decay: float = ANNEALING_DECAY, level: float = 0.95) -> Forecast:
    """Forecast the loss at ``target_step`` from the observed ``(steps, losses)`` of one run.

    ``form``: "power" or "annealing" (module docstring). "annealing" needs ``lr``, the learning
    rate of every step from 1 to at least ``target_step`` (``lr[i]`` for step i + 1).
    ``ValueError`` for too few points (4 for "power", 5 for "annealing"), non-finite or
    non-positive losses, a step axis that is not strictly increasing whole steps, a target
    before the last observed step, or a schedule that does not reach the target."""
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    level = check_level(level)
    s, L = _validated_curve(steps, losses)
    if not (isinstance(target_step, (int, np.integer)) and target_step >= s[-1]):
        raise ValueError(f"target_step must be a whole step >= the last observed step {int(s[-1])}, "
                         f"got {target_step!r}")
    target = int(target_step)
    if form == "power":
        check_enough_points(len(s), 3, "a power-law forecast", min_dof=1)
        fit = fit_learning_curve(s, L, level=level)
        x_target: tuple = (np.array([float(target)]),)
    else:
        if lr is None:
            raise ValueError("the annealing form needs lr, the learning rate of every step up to target_step")
        eta = as_real_array(lr, "lr")
        if eta.ndim != 1 or eta.size < target:
            raise ValueError(f"lr must give the learning rate of each step up to target_step={target}, "
                             f"got {eta.size} value(s)")
        S1, S2 = annealing_areas(eta[:target], decay)
        idx = s.astype(int) - 1
        fit = fit_annealing_law(S1[idx], S2[idx], L, level=level)
        x_target = (S1[target - 1:target], S2[target - 1:target])
    value = float(fit.predict(*x_target)[0])
    lo, hi = (float(v[0]) for v in fit.predict_interval(*x_target, level=level))
    return Forecast(form=form, target_step=target, used_steps=int(s[-1]), value=value, lo=lo, hi=hi,
                    level=level, fit=fit)


# ----------------------------------------------------------------------------- the early-stop rule

MIN_POINTS = {"power": 4, "annealing": 5}  # forecast_final_loss's minimum (free parameters + 1)


@dataclass(frozen=True)
class StopDecision:
    """What :func:`early_stop_decision` decided: ``stop`` (True: the forecast is stable, stop
    now), ``forecast`` (the loss forecast at ``total_steps`` from the whole curve so far; None
    when there are not enough points for one yet) and ``reason`` (why, with the numbers)."""

    stop: bool
    forecast: float | None
    reason: str


def _real(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return v


def _whole(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def early_stop_decision(steps, losses, total_steps, *, form="power", lr=None,
                        min_fraction=0.2, window=3, rtol=0.01) -> StopDecision:
    """Should a run stop now and report its forecast final loss instead of training on?

    steps/losses: the held-out loss curve so far (strictly increasing whole steps >= 1, finite
    positive losses); total_steps: the planned length; lr: for form="annealing", the learning
    rate at every step 0..total_steps-1 (``lr[i]`` for step i + 1, as in
    :func:`forecast_final_loss`).

    Stop once at least ``min_fraction`` of ``total_steps`` is done and the last ``window``
    forecasts (each made by :func:`forecast_final_loss` from the curve up to that point, i.e.
    from the first n - window + 1, ..., n points) agree within relative spread ``rtol``:
    ``(max - min) / |latest forecast| <= rtol``. A forecast that cannot be made (the fit fails)
    or is not a positive finite loss counts as disagreement. ``forecast`` is always the latest
    forecast (from all n points) when there are enough points for one (4 for "power", 5 for
    "annealing"), so a caller can log it before the rule may stop.

    The rule only says the forecast stopped moving, not that it is right: a form that cannot
    represent what is still to come (a power law in steps under cosine decay) can be stable and
    wrong. ``ValueError`` for bad input: an empty curve, NaN or non-positive losses, a step axis
    that is not strictly increasing whole steps, a last step beyond ``total_steps``, an unknown
    form, "annealing" without an ``lr`` that reaches ``total_steps``, ``min_fraction`` outside
    (0, 1], ``window`` not a whole number >= 2, ``rtol`` not > 0.
    """
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    total = _whole(total_steps, "total_steps", 1)
    frac = _real(min_fraction, "min_fraction")
    if not 0 < frac <= 1:
        raise ValueError(f"min_fraction must lie in (0, 1], got {min_fraction!r}")
    win = _whole(window, "window", 2)
    tol = _real(rtol, "rtol")
    if not tol > 0:
        raise ValueError(f"rtol must be > 0, got {rtol!r}")
    s, L = _validated_curve(steps, losses)
    if s[-1] > total:
        raise ValueError(f"the curve's last step {int(s[-1])} is beyond total_steps={total}")
    if form == "annealing":
        if lr is None:
            raise ValueError("the annealing form needs lr, the learning rate of every step up to total_steps")
        eta = as_real_array(lr, "lr")
        if eta.size < total:
            raise ValueError(f"lr must give the learning rate of each step up to total_steps={total}, "
                             f"got {eta.size} value(s)")
        annealing_areas(eta[:total])  # validates the schedule (negative rates) now, not at the first forecast

    def forecast(k: int) -> tuple[float | None, str]:
        """The forecast from the first k points, or None and why not."""
        try:
            v = forecast_final_loss(s[:k], L[:k], total, form=form, lr=lr).value
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:  # the input was validated above
            return None, f"the forecast from step {int(s[k - 1])} failed ({type(exc).__name__}: {exc})"
        if not (math.isfinite(v) and v > 0):
            return None, f"the forecast from step {int(s[k - 1])} is not a positive loss ({v:.4g})"
        return v, ""

    n, need = len(s), MIN_POINTS[form]
    latest, why_not = forecast(n) if n >= need else (None, "")
    done = s[-1] / total
    if done < frac:
        return StopDecision(False, latest, f"before min_fraction: step {int(s[-1])} of {total} "
                                           f"({done:.1%} < {frac:.1%})")
    if n < need + win - 1:
        return StopDecision(False, latest, f"not enough points yet: {n}, need {need + win - 1} for {win} "
                                           f"forecasts of the {form} form ({need} points each)")
    values = []
    for k in range(n - win + 1, n + 1):
        v, why_not = (latest, why_not) if k == n else forecast(k)
        if v is None:
            return StopDecision(False, latest, f"forecast not stable: {why_not}")
        values.append(v)
    spread = (max(values) - min(values)) / abs(values[-1])
    if spread <= tol:
        return StopDecision(True, latest, f"forecast stable within {tol:.1%} over the last {win} points "
                                          f"(spread {spread:.2%}, steps {int(s[n - win])}-{int(s[-1])})")
    return StopDecision(False, latest, f"forecast not stable: spread {spread:.2%} over the last {win} points "
                                       f"> {tol:.1%}")
