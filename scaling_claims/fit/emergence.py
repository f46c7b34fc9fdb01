"""Forms for predicting an emergent metric from smaller models, and for the transition itself.

- :func:`fit_loss_to_accuracy`: Bhagia et al. 2024's second step, a sigmoid from a task loss to
  an accuracy, ``acc = lower + (upper - lower) / (1 + exp(steepness * (L - loss_mid)))``.
- :func:`fit_two_step`: both steps (Bhagia et al. 2024, "Establishing Task Scaling Laws via
  Compute-Efficient Model Ladders"): the task loss as a power law in size, ``L(N) = coef *
  N**-exponent`` (:func:`~scaling_claims.fit.fit_power_law`), then the accuracy from that loss.
  Returns a :class:`TwoStepFit` with ``predict(N)`` and ``crossing(level)``.
- :func:`logistic_crossing`: where a :func:`~scaling_claims.fit.fit_logistic` curve crosses a
  level (the one-step prediction's crossing).
- :func:`fit_critical`: the "critical exponent" form of a phase transition,
  ``perf = min(upper, amplitude * (N / N_c - 1)**beta)`` above ``N_c`` and 0 below (Bahri et
  al. 2020's physics analogy, the research plan's project 7).

Pure NumPy/SciPy; every fitter validates its input (``ValueError`` naming the problem), starts
from a grid and refines with trust-region least squares; intervals are Student-t intervals from
the HC3 sandwich covariance (accuracies near 0 or 1 vary far less than those on a rise), and a
fit that degenerates (no point on the rise, a parameter at the bound of its range, a midpoint
outside the data) is flagged (``FitResult.flags``): its intervals are then not confidence
intervals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._degenerate import exp_or_inf, renamed
from ._nls import grid_start, nls_fit
from ._result import FitResult
from ._validate import (as_real_array, check_enough_points, check_in_range, check_level, check_not_constant,
                        check_positive, check_same_length)
from .forms import RISE_BAND, SLOPE_CAP_PER_GAP
from .power_law import fit_power_law


def _pair(x: Any, y: Any, x_name: str, y_name: str, n_params: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    xa, ya = as_real_array(x, x_name), as_real_array(y, y_name)
    check_same_length(**{x_name: xa, y_name: ya})
    check_enough_points(len(xa), n_params, what, min_dof=1)
    check_not_constant(xa, x_name)
    return xa, ya


def _levels(lower: float, upper: float) -> tuple[float, float]:
    lo, hi = float(lower), float(upper)
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"need finite lower < upper, got lower={lower!r}, upper={upper!r}")
    return lo, hi


def _flag_rise(fit: FitResult, share: np.ndarray, what: str) -> None:
    on_rise = int(np.sum((share > RISE_BAND[0]) & (share < RISE_BAND[1])))
    fit.info["points_on_rise"] = on_rise
    if on_rise == 0:
        fit.flag("*", f"no data point lies on the rise (10%-90% of the transition): {what} not identified")


# ----------------------------------------------------------------------------- step 2: loss -> accuracy
def fit_loss_to_accuracy(loss: Any, accuracy: Any, lower: float = 0.0, upper: float = 1.0,
                         level: float = 0.95) -> FitResult:
    """Fit ``acc = lower + (upper - lower) / (1 + exp(steepness * (L - loss_mid)))``.

    Bhagia et al.'s step 2 (their sigmoid from the task loss to accuracy), with the floor and the
    ceiling fixed (exact match: 0 and 1); ``steepness >= 0`` (accuracy falls as loss grows; a fit
    at 0 is flagged) and at most ``SLOPE_CAP_PER_GAP`` over the closest spacing of the losses.
    ``loss_mid`` is the loss at which the accuracy is halfway between the levels. Flagged when no
    point lies on the rise (then ``loss_mid`` is an extrapolation: typical when every model of a
    ladder is still near the floor) and when ``loss_mid`` lies outside the sampled losses.
    Needs >= 3 points (one degree of freedom), finite values, a varying loss and accuracies in
    ``[lower, upper]``. A constant accuracy is flagged, its intervals not identified.
    """
    level = check_level(level)
    lo, hi = _levels(lower, upper)
    L, acc = _pair(loss, accuracy, "loss", "accuracy", 2, "the loss-to-accuracy sigmoid")
    check_in_range(acc, "accuracy", lo, hi)
    gaps = np.diff(np.unique(L))
    cap = SLOPE_CAP_PER_GAP / float(gaps.min())
    span = float(np.ptp(L))

    def model(t, lv):
        z = np.clip(t[1] * (lv - t[0]), -700, 700)
        return lo + (hi - lo) / (1.0 + np.exp(z))

    candidates = [np.array([m, k / span]) for m in np.linspace(L.min() - 2 * span, L.max() + span, 31)
                  for k in (0.25, 0.5, 1, 2, 4, 8, 16, 32, 64)]
    fit = nls_fit(kind="loss_to_accuracy", names=["loss_mid", "steepness"], model=model, x=L, y=acc,
                  start=grid_start(model, L, acc, candidates), bounds=([-np.inf, 0.0], [np.inf, cap]), level=level,
                  info={"law": "acc = lower + (upper - lower) / (1 + exp(steepness * (L - loss_mid)))",
                        "lower": lo, "upper": hi, "steepness_cap": cap}, covariance="hc3", y_name="accuracy")
    _flag_rise(fit, (fit.predict(L) - lo) / (hi - lo), "loss_mid and steepness")
    if not L.min() <= fit.loss_mid <= L.max():
        fit.flag("loss_mid", "the midpoint lies outside the sampled losses (an extrapolation)")
    fit.params.update(lower=lo, upper=hi)
    return fit


def loss_at_accuracy(fit: FitResult, accuracy: float) -> float:
    """The loss at which a :func:`fit_loss_to_accuracy` curve reaches ``accuracy`` (strictly
    between its levels)."""
    lo, hi, a = fit.params["lower"], fit.params["upper"], float(accuracy)
    if not lo < a < hi:
        raise ValueError(f"accuracy must lie strictly between the levels {lo} and {hi}, got {accuracy!r}")
    if fit.steepness <= 0:
        return math.nan
    return fit.loss_mid + math.log((hi - a) / (a - lo)) / fit.steepness


# ----------------------------------------------------------------------------- both steps
@dataclass
class TwoStepFit:
    """Bhagia et al.'s two-step prediction: ``step1`` (loss as a power law in size) and ``step2``
    (accuracy from loss). ``predict(N) = step2.predict(step1.predict(N))``."""

    step1: FitResult
    step2: FitResult

    @property
    def flags(self) -> dict[str, str]:
        """Both steps' flags, prefixed with the step."""
        return {f"step{i}:{k}": v for i, f in ((1, self.step1), (2, self.step2)) for k, v in f.flags.items()}

    def predict(self, size: Any) -> np.ndarray:
        """The predicted accuracy at ``size``."""
        return self.step2.predict(self.step1.predict(as_real_array(size, "size")))

    def crossing(self, accuracy: float = 0.5) -> float:
        """The size at which the predicted accuracy reaches ``accuracy``: ``inf`` when the
        predicted loss never falls that far (a non-decreasing power law, or a target loss at or
        below the law's offset)."""
        target = loss_at_accuracy(self.step2, accuracy)
        coef, b, off = self.step1.coef, self.step1.exponent, self.step1.params.get("offset", 0.0)
        if not math.isfinite(target) or b <= 0 or target <= off:
            return math.inf
        return float((coef / (target - off)) ** (1.0 / b))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "two_step", "step1": self.step1.to_dict(), "step2": self.step2.to_dict()}


def fit_two_step(size: Any, loss: Any, accuracy: Any, lower: float = 0.0, upper: float = 1.0,
                 offset: bool = False, level: float = 0.95) -> TwoStepFit:
    """Fit both steps on the same models (one entry per model: its size, its task loss and its
    accuracy). Step 1 is ``fit_power_law(size, loss, offset=offset)`` (log space); step 2 is
    :func:`fit_loss_to_accuracy` on the (loss, accuracy) pairs."""
    level = check_level(level)
    s, L = as_real_array(size, "size"), as_real_array(loss, "loss")
    acc = as_real_array(accuracy, "accuracy")
    check_same_length(size=s, loss=L, accuracy=acc)
    return TwoStepFit(fit_power_law(s, L, offset=offset, level=level),
                      fit_loss_to_accuracy(L, acc, lower, upper, level))


# ----------------------------------------------------------------------------- one step
def logistic_crossing(fit: FitResult, level: float = 0.5) -> float:
    """The x at which a :func:`~scaling_claims.fit.fit_logistic` curve reaches ``level``
    (strictly between its lower and upper levels); ``inf`` or 0 when a flat fit never does."""
    lo, hi, a = fit.params["lower"], fit.params["upper"], float(level)
    if not min(lo, hi) < a < max(lo, hi):
        raise ValueError(f"level must lie strictly between the fit's levels {lo} and {hi}, got {level!r}")
    if fit.slope == 0:
        return math.inf
    z = math.log(fit.midpoint) + math.log((a - lo) / (hi - a)) / fit.slope
    return exp_or_inf(z)


# ----------------------------------------------------------------------------- critical exponent
BETA_RANGE = (0.01, 10.0)


def _critical_model(upper: float):
    def model(t, n):
        excess = np.maximum(np.asarray(n, float) / math.exp(t[0]) - 1.0, 0.0)
        with np.errstate(over="ignore"):
            return np.minimum(upper, math.exp(min(t[1], 700.0)) * excess ** t[2])
    return model


def fit_critical(size: Any, perf: Any, upper: float = 1.0, level: float = 0.95) -> FitResult:
    """Fit ``perf = min(upper, amplitude * (N / critical_size - 1)**beta)`` for N above
    ``critical_size``, 0 below: a continuous transition with a critical point and exponent.

    ``beta`` is kept in ``BETA_RANGE``, ``critical_size`` below the largest size; least squares
    in linear space, HC3 intervals (``critical_size``'s is the exponentiated interval of its log).
    ``perf`` must lie in [0, upper] and size be positive; needs >= 4 points (one degree of
    freedom). Flagged when fewer than 4 points lie on the rise (above ``critical_size`` and
    below ``upper``: only they move the fit, so with 3 or fewer the parameters pass through them
    and the interval has no residual to measure) or a parameter ends at a bound; a constant perf
    is flagged with intervals that say not identified.
    """
    level = check_level(level)
    hi = float(upper)
    if not (math.isfinite(hi) and hi > 0):
        raise ValueError(f"upper must be a positive number, got {upper!r}")
    n, y = _pair(size, perf, "size", "perf", 3, "the critical-exponent form")
    check_positive(n, "size")
    check_in_range(y, "perf", 0.0, hi)
    if not np.any(y > 0):
        raise ValueError("perf is 0 everywhere: the critical-exponent form has no rise to fit")
    model = _critical_model(hi)
    positive = np.sort(n[y > 0])
    candidates = []
    for nc in np.concatenate([positive[0] * np.geomspace(0.05, 0.999, 24), positive[1:] * 0.999]):
        for beta in (0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0):
            f = np.maximum(n / nc - 1.0, 0.0) ** beta
            below_cap = y < hi  # the amplitude from the points the cap does not hide
            if not np.any(f[below_cap] > 0):
                continue
            amp = float(np.sum(f[below_cap] * y[below_cap]) / np.sum(f[below_cap] ** 2))
            if amp > 0:
                candidates.append(np.array([math.log(nc), math.log(amp), beta]))
    if not candidates:
        raise ValueError("no starting point: perf is positive only at the smallest size")
    fit = nls_fit(kind="critical", names=["log_critical_size", "log_amplitude", "beta"], model=model, x=n, y=y,
                  start=grid_start(model, n, y, candidates),
                  bounds=([-np.inf, -np.inf, BETA_RANGE[0]], [math.log(n.max()), np.inf, BETA_RANGE[1]]),
                  level=level, info={"law": "perf = min(upper, amplitude * (N/N_c - 1)**beta), 0 below N_c",
                                     "upper": hi}, covariance="hc3", y_name="perf")
    nc, pred = math.exp(fit.theta[0]), fit.predict(n)
    rising = int(np.sum((n > nc) & (pred > 0) & (pred < hi)))
    fit.info["points_on_rise"] = rising
    if rising < 4:
        # only points above N_c and below the cap move the fit: with <= 3 of them the three
        # parameters pass through them exactly and HC3 sees no residual (a zero-width interval)
        fit.flag("*", f"{rising} point(s) lie on the rise (above the critical size, below the cap): the 3 "
                      "parameters need at least 4 for an interval")
    exp = exp_or_inf
    lc, la = fit.params.pop("log_critical_size"), fit.params.pop("log_amplitude")
    (c_lo, c_hi), (a_lo, a_hi) = fit.ci.pop("log_critical_size"), fit.ci.pop("log_amplitude")
    se_c, se_a = fit.se.pop("log_critical_size"), fit.se.pop("log_amplitude")
    for old, new in (("log_critical_size", "critical_size"), ("log_amplitude", "amplitude")):
        if old in fit.flags:
            fit.flags[new] = fit.flags.pop(old)
    fit.params = {"critical_size": exp(lc), "amplitude": exp(la), "beta": fit.params["beta"], "upper": hi}
    fit.ci = {"critical_size": (exp(c_lo), exp(c_hi)), "amplitude": (exp(a_lo), exp(a_hi)), "beta": fit.ci["beta"]}
    fit.se = {"critical_size": exp(lc) * se_c, "amplitude": exp(la) * se_a, "beta": fit.se["beta"]}
    renamed(fit, {"log_critical_size": "critical_size", "log_amplitude": "amplitude"})
    return fit


def critical_crossing(fit: FitResult, level: float = 0.5) -> float:
    """The size at which a :func:`fit_critical` curve reaches ``level`` (in (0, upper))."""
    a, hi = float(level), fit.params["upper"]
    if not 0 < a < hi:
        raise ValueError(f"level must lie in (0, {hi}), got {level!r}")
    ratio = a / fit.amplitude
    return fit.critical_size * (1.0 + ratio ** (1.0 / fit.beta)) if ratio > 0 else math.inf
