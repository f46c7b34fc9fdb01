"""The assertion kinds every claim test uses, as pure functions returning a :class:`Check`.

A check never raises on a failed claim: it returns ``Check(name, passed, measured,
expected, tolerance, message)``; ``check.require()`` then raises ``AssertionError`` with
the numbers. Claim tests normally pass checks to the ``claim`` fixture
(``claim.check(c)``), which stores them in the record and calls ``require()``. Bad input
(NaN, empty or mismatched arrays, an inverted band) raises ``ValueError``: a check on
broken data must not silently pass or fail.

Kinds (CLAIMS.md sections 1-6):

================================  ==========================================================
``within_band``                   lo <= value <= hi (an exponent in a justified band)
``at_least`` / ``at_most``        a one-sided threshold (``r2_at_least`` for goodness of fit)
``relative_error``                |measured - expected| / |expected| <= rtol
``within_standard_errors``        |estimate - truth| <= k * se (unbiasedness)
``monotone``                      increasing/decreasing, each step may go the wrong way by
                                  at most ``noise`` (relative)
``grows_with``                    y rises with x: least-squares slope of y (or log y) on
                                  log x above ``min_slope``
``interior_minimum``              argmin of y is not the first or last point
``interior_maximum``              argmax is interior and the ends are below the peak by a
                                  relative ``drop`` (rise then fall)
``argmax_in_window``              argmax of y lies in [lo, hi] in x
``peak_ratio_at_least``           peak / reference >= ratio
``no_peak``                       no point rises above the lowest point on both sides by
                                  more than ``tolerance`` (a ridge control)
``ordered``                       a < b (or a <= b)
``ratio_at_least`` / ``ratio_at_most``  a / b against a threshold
``product_close``                 |EM - prod_j acc_j| <= tol (per model)
``steeper_than``                  slope_a > slope_b (+ margin, optionally by the CIs)
``agree_within_ci``               two estimates' confidence intervals overlap
================================  ==========================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np


@dataclass(frozen=True)
class Check:
    """One assertion's outcome and its numbers."""

    name: str
    passed: bool
    measured: Any
    expected: Any
    tolerance: Any
    message: str

    def require(self) -> "Check":
        """Return self if the check passed, else raise ``AssertionError`` with the numbers."""
        if not self.passed:
            raise AssertionError(f"{self.name}: {self.message}")
        return self

    def __bool__(self) -> bool:
        return bool(self.passed)

    def to_dict(self) -> dict[str, Any]:
        def clean(v: Any) -> Any:
            if isinstance(v, np.ndarray):
                v = v.tolist()
            if isinstance(v, (np.floating, np.integer, np.bool_)):
                v = v.item()
            if isinstance(v, float) and not math.isfinite(v):
                return None
            if isinstance(v, (list, tuple)):
                return [clean(x) for x in v]
            return v

        return {"name": self.name, "passed": bool(self.passed), "measured": clean(self.measured),
                "expected": clean(self.expected), "tolerance": clean(self.tolerance), "message": self.message}


# ----------------------------------------------------------------------------- validation

def _num(value: Any, what: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{what} must be finite, got {v}")
    return v


def _arr(values: Any, what: str, min_len: int = 1) -> np.ndarray:
    a = np.asarray(values, dtype=float)
    if a.ndim != 1:
        raise ValueError(f"{what} must be one-dimensional, got shape {a.shape}")
    if a.size < min_len:
        raise ValueError(f"{what} needs at least {min_len} values, got {a.size}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{what} contains NaN or inf: {a.tolist()}")
    return a


def _xy(x: Any, y: Any, min_len: int) -> tuple[np.ndarray, np.ndarray]:
    xa, ya = _arr(x, "x", min_len), _arr(y, "y", min_len)
    if xa.size != ya.size:
        raise ValueError(f"x and y must have the same length, got {xa.size} and {ya.size}")
    order = np.argsort(xa, kind="stable")
    if np.any(np.diff(xa[order]) == 0):
        raise ValueError("x values must be distinct")
    return xa[order], ya[order]


def _g(v: float) -> str:
    return f"{v:.4g}"


# ----------------------------------------------------------------------------- thresholds

def within_band(name: str, value: Any, lo: Any, hi: Any) -> Check:
    """``lo <= value <= hi``."""
    v, lo_, hi_ = _num(value, "value"), _num(lo, "lo"), _num(hi, "hi")
    if lo_ > hi_:
        raise ValueError(f"band must have lo <= hi, got [{lo_}, {hi_}]")
    ok = lo_ <= v <= hi_
    return Check(name, ok, v, [lo_, hi_], None,
                 f"{_g(v)} {'inside' if ok else 'outside'} [{_g(lo_)}, {_g(hi_)}]")


def at_least(name: str, value: Any, minimum: Any) -> Check:
    """``value >= minimum``."""
    v, m = _num(value, "value"), _num(minimum, "minimum")
    ok = v >= m
    return Check(name, ok, v, f">= {m}", None, f"{_g(v)} {'>=' if ok else '<'} {_g(m)}")


def at_most(name: str, value: Any, maximum: Any) -> Check:
    """``value <= maximum``."""
    v, m = _num(value, "value"), _num(maximum, "maximum")
    ok = v <= m
    return Check(name, ok, v, f"<= {m}", None, f"{_g(v)} {'<=' if ok else '>'} {_g(m)}")


def r2_at_least(name: str, r2: Any, minimum: Any) -> Check:
    """Goodness of fit: ``r2 >= minimum`` (say in the name which space R^2 was computed in)."""
    v, m = _num(r2, "r2"), _num(minimum, "minimum")
    if not m <= 1:
        raise ValueError(f"an R^2 threshold must be <= 1, got {m}")
    ok = v >= m
    return Check(name, ok, v, f"R^2 >= {m}", None, f"R^2 = {v:.4f} {'>=' if ok else '<'} {m}")


def relative_error(name: str, measured: Any, expected: Any, rtol: Any) -> Check:
    """``|measured - expected| / |expected| <= rtol``."""
    m, e, t = _num(measured, "measured"), _num(expected, "expected"), _num(rtol, "rtol")
    if e == 0:
        raise ValueError("relative error is undefined for expected == 0")
    if t < 0:
        raise ValueError(f"rtol must be >= 0, got {t}")
    rel = abs(m - e) / abs(e)
    ok = rel <= t
    return Check(name, ok, m, e, t,
                 f"measured {_g(m)} vs expected {_g(e)}: relative error {rel:.3%} {'<=' if ok else '>'} {t:.3%}")


def within_standard_errors(name: str, estimate: Any, truth: Any, se: Any, k: float = 3.0) -> Check:
    """``|estimate - truth| <= k * se`` (an estimator's unbiasedness against a known value)."""
    est, tr, s, kk = _num(estimate, "estimate"), _num(truth, "truth"), _num(se, "se"), _num(k, "k")
    if s <= 0 or kk <= 0:
        raise ValueError(f"se and k must be > 0, got se={s}, k={kk}")
    z = abs(est - tr) / s
    ok = z <= kk
    return Check(name, ok, est, tr, f"{kk} SE",
                 f"estimate {_g(est)} vs truth {_g(tr)}: {z:.2f} SE (se={_g(s)}) {'<=' if ok else '>'} {kk}")


# ----------------------------------------------------------------------------- curve shapes

def monotone(name: str, y: Any, direction: str = "decreasing", noise: float = 0.0) -> Check:
    """Each step of ``y`` (in the given order) moves in ``direction``; a step against it is
    allowed up to ``noise`` times the previous value's magnitude (seed noise allowance)."""
    ya = _arr(y, "y", 2)
    if direction not in ("decreasing", "increasing"):
        raise ValueError(f"direction must be 'decreasing' or 'increasing', got {direction!r}")
    tol = _num(noise, "noise")
    if tol < 0:
        raise ValueError(f"noise must be >= 0, got {tol}")
    steps = np.diff(ya) if direction == "decreasing" else -np.diff(ya)
    allowed = tol * np.abs(ya[:-1])
    bad = np.nonzero(steps > allowed)[0]
    ok = bad.size == 0
    msg = (f"{direction} at every step (noise allowance {tol:.1%})" if ok else
           f"not {direction}: step {int(bad[0])}->{int(bad[0]) + 1} goes {_g(ya[bad[0]])} -> {_g(ya[bad[0] + 1])}"
           f" (allowance {tol:.1%}); values {np.round(ya, 5).tolist()}")
    return Check(name, ok, ya, direction, tol, msg)


def grows_with(name: str, x: Any, y: Any, min_slope: float = 0.0, log_y: bool = True) -> Check:
    """``y`` rises with ``x``: the least-squares slope of log y (or y) on log x exceeds ``min_slope``."""
    xa, ya = _xy(x, y, 2)
    if np.any(xa <= 0) or (log_y and np.any(ya <= 0)):
        raise ValueError("grows_with takes logarithms: x (and y when log_y) must be > 0")
    ty = np.log(ya) if log_y else ya
    slope = float(np.polyfit(np.log(xa), ty, 1)[0])
    ms = _num(min_slope, "min_slope")
    ok = slope > ms
    return Check(name, ok, slope, f"slope > {ms}", None,
                 f"slope of {'log ' if log_y else ''}y on log x = {_g(slope)} {'>' if ok else '<='} {_g(ms)}")


def interior_minimum(name: str, x: Any, y: Any) -> Check:
    """The minimum of ``y`` (ordered by ``x``) is not at either end."""
    xa, ya = _xy(x, y, 3)
    i = int(np.argmin(ya))
    ok = 0 < i < ya.size - 1
    return Check(name, ok, float(xa[i]), f"in ({_g(xa[0])}, {_g(xa[-1])})", None,
                 f"minimum {_g(ya[i])} at x={_g(xa[i])} ({'interior' if ok else 'at an end'} of "
                 f"[{_g(xa[0])}, {_g(xa[-1])}])")


def interior_maximum(name: str, x: Any, y: Any, drop: float = 0.0) -> Check:
    """Rise then fall: the maximum of ``y`` is interior and both ends lie below it by at
    least ``drop`` times its magnitude."""
    xa, ya = _xy(x, y, 3)
    d = _num(drop, "drop")
    if d < 0:
        raise ValueError(f"drop must be >= 0, got {d}")
    i = int(np.argmax(ya))
    peak = ya[i]
    need = peak - d * abs(peak)
    ok = 0 < i < ya.size - 1 and ya[0] < need and ya[-1] < need
    return Check(name, ok, float(xa[i]), "interior maximum", d,
                 f"maximum {_g(peak)} at x={_g(xa[i])}; ends {_g(ya[0])}, {_g(ya[-1])}; "
                 f"needs interior and ends < {_g(need)} (drop {d:.1%})")


def argmax_in_window(name: str, x: Any, y: Any, lo: Any, hi: Any) -> Check:
    """The ``x`` where ``y`` is largest lies in ``[lo, hi]``."""
    xa, ya = _xy(x, y, 1)
    lo_, hi_ = _num(lo, "lo"), _num(hi, "hi")
    if lo_ > hi_:
        raise ValueError(f"window must have lo <= hi, got [{lo_}, {hi_}]")
    xm = float(xa[int(np.argmax(ya))])
    ok = lo_ <= xm <= hi_
    return Check(name, ok, xm, [lo_, hi_], None,
                 f"argmax at x={_g(xm)} {'inside' if ok else 'outside'} [{_g(lo_)}, {_g(hi_)}]")


def peak_ratio_at_least(name: str, peak: Any, reference: Any, ratio: Any) -> Check:
    """``peak / reference >= ratio`` (a peak stands out of the curve around it)."""
    p, r, q = _num(peak, "peak"), _num(reference, "reference"), _num(ratio, "ratio")
    if r <= 0:
        raise ValueError(f"reference must be > 0, got {r}")
    got = p / r
    ok = got >= q
    return Check(name, ok, got, f">= {q}", None,
                 f"peak {_g(p)} / reference {_g(r)} = {got:.3g}x {'>=' if ok else '<'} {q}x")


def no_peak(name: str, x: Any, y: Any, tolerance: float = 0.0) -> Check:
    """No interior point rises above the lowest point on *both* sides of it by more than a
    factor ``1 + tolerance``. Monotone and U-shaped curves pass; a rise-then-fall fails."""
    xa, ya = _xy(x, y, 3)
    t = _num(tolerance, "tolerance")
    if t < 0 or np.any(ya <= 0):
        raise ValueError("no_peak needs tolerance >= 0 and y > 0")
    prom = np.array([ya[i] / max(ya[:i].min(), ya[i + 1:].min()) for i in range(1, ya.size - 1)])
    j = int(np.argmax(prom))
    worst = float(prom[j])
    ok = worst <= 1 + t
    return Check(name, ok, worst, f"<= {1 + t}", t,
                 f"largest peak prominence {worst:.4g}x at x={_g(xa[j + 1])} {'<=' if ok else '>'} {1 + t:.4g}x")


# ----------------------------------------------------------------------------- comparisons

def ordered(name: str, a: Any, b: Any, strict: bool = True, labels: tuple[str, str] = ("a", "b")) -> Check:
    """``a < b`` (or ``a <= b`` when not strict)."""
    av, bv = _num(a, labels[0]), _num(b, labels[1])
    ok = av < bv if strict else av <= bv
    op = "<" if strict else "<="
    return Check(name, ok, [av, bv], f"{labels[0]} {op} {labels[1]}", None,
                 f"{labels[0]}={_g(av)} {'' if ok else 'not '}{op} {labels[1]}={_g(bv)}")


def ratio_at_least(name: str, a: Any, b: Any, threshold: Any) -> Check:
    """``a / b >= threshold`` (b > 0)."""
    av, bv, t = _num(a, "a"), _num(b, "b"), _num(threshold, "threshold")
    if bv <= 0:
        raise ValueError(f"the denominator must be > 0, got {bv}")
    r = av / bv
    ok = r >= t
    return Check(name, ok, r, f">= {t}", None, f"ratio {_g(av)}/{_g(bv)} = {r:.4g} {'>=' if ok else '<'} {t}")


def ratio_at_most(name: str, a: Any, b: Any, threshold: Any) -> Check:
    """``a / b <= threshold`` (b > 0)."""
    av, bv, t = _num(a, "a"), _num(b, "b"), _num(threshold, "threshold")
    if bv <= 0:
        raise ValueError(f"the denominator must be > 0, got {bv}")
    r = av / bv
    ok = r <= t
    return Check(name, ok, r, f"<= {t}", None, f"ratio {_g(av)}/{_g(bv)} = {r:.4g} {'<=' if ok else '>'} {t}")


def product_close(name: str, exact_match: Any, per_position_acc: Any, tol: Any) -> Check:
    """``|EM - prod_j acc_j| <= tol`` for every model: ``exact_match`` has shape (m,) and
    ``per_position_acc`` shape (m, L) (or a scalar and a length-L vector for one model)."""
    em = np.atleast_1d(np.asarray(exact_match, dtype=float))
    acc = np.asarray(per_position_acc, dtype=float)
    if acc.ndim == 1:
        acc = acc[None, :]
    if em.ndim != 1 or acc.ndim != 2 or acc.shape[0] != em.size or acc.shape[1] < 1:
        raise ValueError(f"exact_match (m,) and per_position_acc (m, L) do not match: {em.shape}, {acc.shape}")
    if not (np.all(np.isfinite(em)) and np.all(np.isfinite(acc))):
        raise ValueError("exact_match and per_position_acc must be finite")
    if np.any((em < 0) | (em > 1)) or np.any((acc < 0) | (acc > 1)):
        raise ValueError("accuracies must lie in [0, 1]")
    t = _num(tol, "tol")
    gap = np.abs(em - acc.prod(axis=1))
    worst = float(gap.max())
    ok = worst <= t
    return Check(name, ok, gap, f"<= {t}", t,
                 f"max |EM - prod acc| = {worst:.4f} {'<=' if ok else '>'} {t} (per model {np.round(gap, 4).tolist()})")


def steeper_than(name: str, slope_a: Any, slope_b: Any, margin: float = 0.0,
                 ci_a: Sequence[float] | None = None, ci_b: Sequence[float] | None = None,
                 labels: tuple[str, str] = ("a", "b")) -> Check:
    """``slope_a > slope_b + margin`` (compare magnitudes yourself if slopes are negative).

    With both CIs given, also require them to be separated (``ci_a`` lo > ``ci_b`` hi), i.e.
    the difference is not within fitting noise.
    """
    a, b, m = _num(slope_a, labels[0]), _num(slope_b, labels[1]), _num(margin, "margin")
    ok = a > b + m
    msg = f"{labels[0]}={_g(a)} {'>' if ok else '<='} {labels[1]}={_g(b)} + margin {_g(m)}"
    if ci_a is not None and ci_b is not None:
        la, _ = (_num(v, "ci_a") for v in ci_a)
        _, hb = (_num(v, "ci_b") for v in ci_b)
        sep = la > hb
        ok = ok and sep
        msg += f"; CIs {'separated' if sep else 'overlap'} ({labels[0]} lo {_g(la)} vs {labels[1]} hi {_g(hb)})"
    return Check(name, ok, [a, b], f"{labels[0]} > {labels[1]}", m, msg)


def agree_within_ci(name: str, a: Any, ci_a: Sequence[float], b: Any, ci_b: Sequence[float],
                    labels: tuple[str, str] = ("a", "b")) -> Check:
    """Two estimates agree: their confidence intervals overlap."""
    av, bv = _num(a, labels[0]), _num(b, labels[1])
    la, ha = (_num(v, "ci_a") for v in ci_a)
    lb, hb = (_num(v, "ci_b") for v in ci_b)
    if la > ha or lb > hb:
        raise ValueError(f"CIs must have lo <= hi, got {ci_a!r} and {ci_b!r}")
    if not (la <= av <= ha and lb <= bv <= hb):
        raise ValueError("each estimate must lie inside its own CI")
    ok = la <= hb and lb <= ha
    return Check(name, ok, [av, bv], "CIs overlap", None,
                 f"{labels[0]}={_g(av)} [{_g(la)}, {_g(ha)}] and {labels[1]}={_g(bv)} [{_g(lb)}, {_g(hb)}] "
                 f"{'overlap' if ok else 'do not overlap'}")
