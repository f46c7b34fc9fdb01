"""The assertion kinds every claim test uses: each decides a verdict from where a whole interval
lies, never from a point (docs/sources.md, 'Verdict rules'; an equivalence test, as in TOST).

Every kind takes :class:`~scaling_claims.verdicts.estimates.Estimate` s (or a
:class:`~scaling_claims.verdicts.estimates.Curve` with its resamples) and returns a :class:`Check` whose
``verdict`` is one of

- ``"confirmed"``: the whole interval satisfies the claim (inside the band, above the threshold,
  the difference on the claimed side of 0);
- ``"refuted"``: the whole interval violates it;
- ``"inconclusive"``: the interval straddles an edge, or cannot be used (its estimate carries a
  ``problem``: a fit at a bound, a degenerate fit, failed resamples), with the reason.

A check never raises on a claim that does not hold. Bad input (NaN, an inverted band, a bare
number where an interval is needed) raises ``ValueError``.

================================  ==========================================================
``within_band``                   the interval lies inside [lo, hi] (agreement with a value)
``outside_band``                  the interval lies outside [lo, hi] (a clear difference)
``at_least`` / ``at_most``        a one-sided threshold (``r2_at_least`` for goodness of fit)
``relative_error``                inside expected * (1 +- rtol)
``ordered``                       a < b, decided by the interval of b - a
``steeper_than``                  slope a > slope b, by the interval of their difference
``agree_within``                  two estimates agree: their difference lies inside +-margin
``all_within``                    every estimate of a list lies inside [lo, hi]
``bracket_within``                a searched bracket lies inside another estimate's interval,
                                  which must not cover the whole searched range
``bracket_agrees_with``           a searched bracket and another estimate of the same size agree
                                  within a factor: the ratio interval (bracket ends over the
                                  estimate's interval ends) lies inside [1/factor, factor]
``monotone``                      every step of a curve goes the claimed way
``interior_minimum``              both ends of a curve lie above its lowest interior point
``interior_maximum``              rise then fall: both ends below the interior peak by ``drop``
``argmax_in_window``              the x of a curve's maximum lies in [lo, hi]
``no_peak``                       no point stands above its lowest neighbours on both sides by
                                  more than a factor 1 + tolerance
================================  ==========================================================

:func:`combine` turns a claim's checks into its verdict: refuted if any check is refuted,
confirmed if every check is confirmed, else inconclusive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from scaling_claims.common.jsonio import jsonable
from scaling_claims.verdicts.estimates import Curve, Estimate, as_estimate, difference
from scaling_claims.verdicts.records import CONFIRMED, INCONCLUSIVE, REFUTED


@dataclass(frozen=True)
class Check:
    """One assertion's verdict and the numbers behind it."""

    name: str
    verdict: str
    measured: Any
    expected: Any
    message: str

    @property
    def passed(self) -> bool:
        """True when the verdict is confirmed."""
        return self.verdict == CONFIRMED

    def to_dict(self) -> dict[str, Any]:
        def clean(v: Any) -> Any:
            return jsonable(v, other=lambda x: x.to_dict() if isinstance(x, Estimate) else x)

        return {"name": self.name, "verdict": self.verdict, "passed": self.passed,
                "measured": clean(self.measured), "expected": clean(self.expected), "message": self.message}


def combine(checks: Sequence[Check]) -> tuple[str, str]:
    """(verdict, reason) of a claim made of ``checks`` (a conjunction)."""
    if not checks:
        return INCONCLUSIVE, "no check was recorded"
    refuted = [c for c in checks if c.verdict == REFUTED]
    if refuted:
        return REFUTED, "; ".join(f"{c.name}: {c.message}" for c in refuted)
    open_ = [c for c in checks if c.verdict != CONFIRMED]
    if open_:
        return INCONCLUSIVE, "; ".join(f"{c.name}: {c.message}" for c in open_)
    return CONFIRMED, f"all {len(checks)} check(s) confirmed"


# ----------------------------------------------------------------------------- helpers

def _num(value: Any, what: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{what} must be finite, got {v}")
    return v


def _bounds(lo: Any, hi: Any, what: str) -> tuple[float, float]:
    lo_, hi_ = _num(lo, "lo"), _num(hi, "hi")
    if lo_ > hi_:
        raise ValueError(f"{what} must have lo <= hi, got [{lo_}, {hi_}]")
    return lo_, hi_


def _g(v: float) -> str:
    return f"{v:.4g}"


def _shown(e: Estimate) -> str:
    level = "" if e.lo == e.hi else f" ({e.level:.0%})"
    return f"{e.text()}{level}"


def _unusable(name: str, e: Estimate, expected: Any) -> Check | None:
    if e.problem:
        return Check(name, INCONCLUSIVE, e, expected, e.text())
    return None


def _band(name: str, e: Estimate, lo: float, hi: float, expected: Any, what: str) -> Check:
    """Confirmed when [e.lo, e.hi] lies inside [lo, hi], refuted when it lies wholly outside."""
    if e.lo >= lo and e.hi <= hi:
        return Check(name, CONFIRMED, e, expected, f"{_shown(e)} lies inside {what}")
    if e.hi < lo or e.lo > hi:
        return Check(name, REFUTED, e, expected, f"{_shown(e)} lies outside {what}")
    edge = lo if e.lo < lo else hi
    return Check(name, INCONCLUSIVE, e, expected, f"{_shown(e)} straddles {_g(edge)}, an edge of {what}")


def _positive(name: str, d: Estimate, expected: Any, claim: str, minus: str) -> Check:
    """Confirmed when the whole interval of d lies above 0, refuted when below, else inconclusive."""
    if (bad := _unusable(name, d, expected)) is not None:
        return bad
    if d.lo > 0:
        return Check(name, CONFIRMED, d, expected, f"{minus} = {_shown(d)} > 0: {claim}")
    if d.hi < 0:
        return Check(name, REFUTED, d, expected, f"{minus} = {_shown(d)} < 0: the reverse of {claim}")
    return Check(name, INCONCLUSIVE, d, expected, f"{minus} = {_shown(d)} includes 0: {claim} not resolved")


# ----------------------------------------------------------------------------- thresholds

def within_band(name: str, estimate: Estimate, lo: Any, hi: Any) -> Check:
    """The interval lies inside ``[lo, hi]`` (equivalence with a value, within a justified band)."""
    e = as_estimate(estimate)
    lo_, hi_ = _bounds(lo, hi, "band")
    return _unusable(name, e, [lo_, hi_]) or _band(name, e, lo_, hi_, [lo_, hi_], f"[{_g(lo_)}, {_g(hi_)}]")


def outside_band(name: str, estimate: Estimate, lo: Any, hi: Any) -> Check:
    """The interval lies outside ``[lo, hi]`` (a clear difference from a value: the band is the
    margin within which a difference would not matter). Refuted when it lies wholly inside."""
    e = as_estimate(estimate)
    lo_, hi_ = _bounds(lo, hi, "band")
    expected = f"outside [{_g(lo_)}, {_g(hi_)}]"
    if (bad := _unusable(name, e, expected)) is not None:
        return bad
    if e.hi < lo_ or e.lo > hi_:
        return Check(name, CONFIRMED, e, expected, f"{_shown(e)} lies outside [{_g(lo_)}, {_g(hi_)}]")
    if e.lo >= lo_ and e.hi <= hi_:
        return Check(name, REFUTED, e, expected, f"{_shown(e)} lies inside [{_g(lo_)}, {_g(hi_)}]")
    return Check(name, INCONCLUSIVE, e, expected, f"{_shown(e)} overlaps [{_g(lo_)}, {_g(hi_)}]")


def at_least(name: str, estimate: Estimate, minimum: Any) -> Check:
    """The whole interval is ``>= minimum`` (refuted when the whole interval is below it)."""
    e, m = as_estimate(estimate), _num(minimum, "minimum")
    return _unusable(name, e, f">= {_g(m)}") or _band(name, e, m, math.inf, f">= {_g(m)}", f"[{_g(m)}, inf)")


def at_most(name: str, estimate: Estimate, maximum: Any) -> Check:
    """The whole interval is ``<= maximum`` (refuted when the whole interval is above it)."""
    e, m = as_estimate(estimate), _num(maximum, "maximum")
    return _unusable(name, e, f"<= {_g(m)}") or _band(name, e, -math.inf, m, f"<= {_g(m)}", f"(-inf, {_g(m)}]")


def r2_at_least(name: str, r2: Estimate, minimum: Any) -> Check:
    """Goodness of fit: the interval of R^2 (say in the name which space) is ``>= minimum``."""
    if not _num(minimum, "minimum") <= 1:
        raise ValueError(f"an R^2 threshold must be <= 1, got {minimum}")
    return at_least(name, r2, minimum)


def relative_error(name: str, estimate: Estimate, expected: Any, rtol: Any) -> Check:
    """The interval lies inside ``expected * (1 +- rtol)``."""
    e, x, t = as_estimate(estimate), _num(expected, "expected"), _num(rtol, "rtol")
    if x == 0:
        raise ValueError("relative error is undefined for expected == 0")
    if t < 0:
        raise ValueError(f"rtol must be >= 0, got {t}")
    lo, hi = sorted((x * (1 - t), x * (1 + t)))
    return _unusable(name, e, x) or _band(name, e, lo, hi, x, f"{_g(x)} +-{t:.0%} = [{_g(lo)}, {_g(hi)}]")


# ----------------------------------------------------------------------------- comparisons

def ordered(name: str, difference_b_minus_a: Estimate, labels: tuple[str, str] = ("a", "b")) -> Check:
    """``a < b``, decided by the interval of ``b - a`` (paired over seeds, or from
    :func:`~scaling_claims.verdicts.estimates.difference` for independent estimates)."""
    a, b = labels
    return _positive(name, as_estimate(difference_b_minus_a), f"{a} < {b}", f"{a} < {b}", f"{b} - {a}")


def steeper_than(name: str, slope_a: Estimate, slope_b: Estimate, labels: tuple[str, str] = ("a", "b"),
                 paired: Estimate | None = None) -> Check:
    """``slope_a > slope_b``, decided by the interval of the difference: ``paired`` when given
    (e.g. a bootstrap of the difference over shared seeds), else the independent difference.
    Overlapping intervals of the two slopes are not enough either way."""
    a, b = labels
    d = paired if paired is not None else difference(as_estimate(slope_a, a), as_estimate(slope_b, b))
    return _positive(name, as_estimate(d), f"{a} > {b}", f"{a} > {b}", f"{a} - {b}")


def agree_within(name: str, difference_a_minus_b: Estimate, margin: Any, labels: tuple[str, str] = ("a", "b")) -> Check:
    """Two estimates agree: the interval of their difference lies inside ``+-margin`` (a TOST
    equivalence test; the margin needs a reason from the literature). Refuted when it lies
    wholly outside; overlapping intervals of the two are not enough."""
    a, b = labels
    m = _num(margin, "margin")
    if m <= 0:
        raise ValueError(f"margin must be > 0, got {m}")
    d = as_estimate(difference_a_minus_b)
    return _unusable(name, d, f"|{a} - {b}| <= {_g(m)}") or _band(
        name, d, -m, m, f"|{a} - {b}| <= {_g(m)}", f"+-{_g(m)} ({a} - {b})")


def all_within(name: str, estimates: Sequence[Estimate], lo: Any, hi: Any, labels: Sequence[str] | None = None) -> Check:
    """Every estimate lies inside ``[lo, hi]``: confirmed when every interval does, refuted when
    any interval lies wholly outside."""
    es = [as_estimate(e) for e in estimates]
    if not es:
        raise ValueError("all_within needs at least one estimate")
    labels = list(labels) if labels is not None else [str(i) for i in range(len(es))]
    parts = [within_band(f"{name} [{lab}]", e, lo, hi) for lab, e in zip(labels, es)]
    verdict, _ = combine(parts)
    worst = [p for p in parts if p.verdict == verdict] or parts
    msg = f"{sum(p.passed for p in parts)} of {len(parts)} inside [{_g(float(lo))}, {_g(float(hi))}]; " + \
        "; ".join(f"{lab}: {p.measured.text()}" for lab, p in zip(labels, parts) if p in worst)
    return Check(name, verdict, es, [float(lo), float(hi)], msg)


def bracket_within(name: str, bracket: Estimate, interval: Estimate, searched: tuple[Any, Any]) -> Check:
    """A located quantity agrees with an independent estimate of it: the whole ``bracket`` (e.g.
    a bisection's final [lo, hi], found by searching inside ``searched``) lies inside
    ``interval`` (e.g. a fitted midpoint's confidence interval). Refuted when the bracket lies
    wholly outside the interval, inconclusive when it straddles an edge, and inconclusive when
    the interval covers the whole ``searched`` range: every outcome of the search would then
    agree, so agreement is no evidence (a check that cannot fail)."""
    b, ref = as_estimate(bracket, "the bracket"), as_estimate(interval, "the interval")
    s_lo, s_hi = _bounds(*searched, "searched range")
    expected = f"inside {ref.text()}"
    if (bad := _unusable(name, b, expected) or _unusable(name, ref, expected)) is not None:
        return bad
    if not (s_lo <= b.lo and b.hi <= s_hi):
        raise ValueError(f"the bracket [{_g(b.lo)}, {_g(b.hi)}] lies outside the searched range "
                         f"[{_g(s_lo)}, {_g(s_hi)}]")
    if ref.lo <= s_lo and s_hi <= ref.hi:
        return Check(name, INCONCLUSIVE, b, expected,
                     f"the interval {_shown(ref)} covers the whole searched range [{_g(s_lo)}, {_g(s_hi)}]: any "
                     f"bracket found there agrees with it, so agreement cannot be tested (bracket [{_g(b.lo)}, "
                     f"{_g(b.hi)}])")
    found, within = f"bracket [{_g(b.lo)}, {_g(b.hi)}]", f"the interval {_shown(ref)}"
    if ref.lo <= b.lo and b.hi <= ref.hi:
        return Check(name, CONFIRMED, b, expected, f"{found} lies inside {within}")
    if b.hi < ref.lo or b.lo > ref.hi:
        return Check(name, REFUTED, b, expected, f"{found} lies outside {within}")
    edge = ref.lo if b.lo < ref.lo else ref.hi
    return Check(name, INCONCLUSIVE, b, expected, f"{found} straddles {_g(edge)}, an edge of {within}")


def bracket_agrees_with(name: str, bracket: Estimate, estimate: Estimate, factor: Any) -> Check:
    """A located size (``bracket``, e.g. a bisection's final [lo, hi]) and an independent
    estimate of the same size (``estimate``, e.g. a fitted midpoint with its interval) agree
    within ``factor`` (e.g. 1.1: the plan's 10% in N). Decided by the interval of their ratio,
    bracket over estimate, with the ends combined by interval arithmetic ([bracket.lo /
    estimate.hi, bracket.hi / estimate.lo]: the bracket is a located range, not a sampling
    interval, so it is not combined in quadrature): confirmed when that interval lies inside
    [1/factor, factor] (then the estimate's point lies within the factor of every point of the
    bracket), refuted when it lies wholly outside (the two disagree by more than the factor even
    at the most favourable ends), inconclusive when it straddles, as it does whenever the
    estimate's interval is much wider than the factor. Unlike :func:`bracket_within`, a bracket
    that merely falls somewhere inside a wide interval does not confirm."""
    b, ref = as_estimate(bracket, "the bracket"), as_estimate(estimate, "the estimate")
    f = _num(factor, "factor")
    if f <= 1:
        raise ValueError(f"factor must be > 1, got {f}")
    expected = f"bracket / estimate in [1/{_g(f)}, {_g(f)}]"
    if (bad := _unusable(name, b, expected) or _unusable(name, ref, expected)) is not None:
        return bad
    if min(b.lo, ref.lo, ref.value) <= 0:
        raise ValueError(f"a ratio of sizes needs positive sizes, got bracket [{_g(b.lo)}, {_g(b.hi)}] and "
                         f"estimate {ref.text()}")
    ratio = Estimate.interval(math.sqrt(b.lo * b.hi) / ref.value, b.lo / ref.hi, b.hi / ref.lo, level=ref.level,
                              method=f"bracket [{_g(b.lo)}, {_g(b.hi)}] over the estimate {ref.text()}, ends over ends")
    point = (f"the estimate's point {_g(ref.value)} is {_g(ref.value / b.hi)}-{_g(ref.value / b.lo)}x the bracket's "
             f"ends ({'inside' if b.lo <= ref.value <= b.hi else 'outside'} the bracket)")
    band = f"[{_g(1 / f)}, {_g(f)}]"
    if ratio.lo >= 1 / f and ratio.hi <= f:
        return Check(name, CONFIRMED, ratio, expected, f"bracket / estimate {_shown(ratio)} lies inside {band}; {point}")
    if ratio.hi < 1 / f or ratio.lo > f:
        return Check(name, REFUTED, ratio, expected, f"bracket / estimate {_shown(ratio)} lies outside {band}: the "
                                                       f"two disagree by more than {_g(f)}x; {point}")
    edge = 1 / f if ratio.lo < 1 / f else f
    return Check(name, INCONCLUSIVE, ratio, expected,
                 f"bracket / estimate {_shown(ratio)} straddles {_g(edge)}, an edge of {band} (the estimate's "
                 f"interval is {_g(ref.hi / ref.lo)}x wide, the bracket {_g(b.hi / b.lo)}x); {point}")


# ----------------------------------------------------------------------------- curve shapes

def _curve(curve: Any) -> Curve:
    if not isinstance(curve, Curve):
        raise ValueError(f"a shape check needs a Curve (the curve and its resamples), got {type(curve).__name__}")
    return curve


def monotone(name: str, curve: Curve | Sequence[Estimate], direction: str = "decreasing") -> Check:
    """Every step goes ``direction``: confirmed when every step's interval lies on that side of 0,
    refuted when some step's interval lies wholly on the other. ``curve`` is a :class:`Curve`
    (steps taken in x order over its resamples) or the steps themselves, a list of Estimates of
    ``y[i+1] - y[i]`` (e.g. paired differences over seeds)."""
    if direction not in ("decreasing", "increasing"):
        raise ValueError(f"direction must be 'decreasing' or 'increasing', got {direction!r}")
    sign = -1.0 if direction == "decreasing" else 1.0
    if isinstance(curve, Curve):
        c = curve
        if c.x.size < 2:
            raise ValueError("monotone needs at least 2 points")
        steps = [c.statistic(lambda y, i=i: sign * (y[i + 1] - y[i]), f"step {i}->{i + 1}") for i in range(c.x.size - 1)]
        where, how = [f"{_g(c.x[i])}->{_g(c.x[i + 1])}" for i in range(c.x.size - 1)], c.method
    else:
        given = [as_estimate(e, "a step") for e in curve]
        if not given:
            raise ValueError("monotone needs at least one step")
        steps = [e if sign > 0 else -e for e in given]
        where, how = [f"step {i}->{i + 1}" for i in range(len(steps))], given[0].method
    parts = [_positive(f"step {i}", s, direction, direction, f"step {i}->{i + 1}") for i, s in enumerate(steps)]
    verdict, _ = combine(parts)
    bad = [f"{where[i]}: {p.verdict} ({steps[i].text()})" for i, p in enumerate(parts) if p.verdict != CONFIRMED]
    msg = (f"{direction} at every step ({how})" if verdict == CONFIRMED else
           f"{direction}? steps not confirmed: " + "; ".join(bad) + f" (signed so > 0 is {direction})")
    return Check(name, verdict, steps, direction, msg)


def interior_minimum(name: str, curve: Curve) -> Check:
    """Both ends lie above the lowest interior point (each gap's interval above 0); refuted when
    an end lies below every interior point (its gap's interval below 0)."""
    c = _curve(curve)
    if c.x.size < 3:
        raise ValueError("interior_minimum needs at least 3 points")
    gaps = [c.statistic(lambda y: y[0] - y[1:-1].min(), "left end - interior minimum"),
            c.statistic(lambda y: y[-1] - y[1:-1].min(), "right end - interior minimum")]
    parts = [_positive(n, g, "interior minimum", "end above interior minimum", n)
             for n, g in zip(("left end - min", "right end - min"), gaps)]
    verdict, _ = combine(parts)
    i = int(np.argmin(c.y))
    return Check(name, verdict, gaps, "interior minimum",
                 f"minimum {_g(c.y[i])} at x={_g(c.x[i])}; end gaps above the interior minimum: left "
                 f"{gaps[0].text()}, right {gaps[1].text()} -> {verdict}")


def interior_maximum(name: str, curve: Curve, drop: float = 0.0) -> Check:
    """Rise then fall: both ends lie below the highest interior point by more than ``drop`` times
    its magnitude (each relative gap's interval above ``drop``)."""
    c = _curve(curve)
    d = _num(drop, "drop")
    if c.x.size < 3 or d < 0:
        raise ValueError("interior_maximum needs >= 3 points and drop >= 0")

    def rel(y, end):
        peak = y[1:-1].max()
        return (peak - y[end]) / abs(peak) - d if peak != 0 else -math.inf

    gaps = [c.statistic(lambda y: rel(y, 0), "left drop - required"), c.statistic(lambda y: rel(y, -1), "right drop - required")]
    parts = [_positive(n, g, "rise then fall", "end below the peak by the drop", n)
             for n, g in zip(("left", "right"), gaps)]
    verdict, _ = combine(parts)
    i = 1 + int(np.argmax(c.y[1:-1]))
    return Check(name, verdict, gaps, f"interior maximum, ends >= {d:.0%} below",
                 f"interior peak {_g(c.y[i])} at x={_g(c.x[i])}; ends {_g(c.y[0])}, {_g(c.y[-1])}; relative drop "
                 f"minus {d:.0%}: left {gaps[0].text()}, right {gaps[1].text()} -> {verdict}")


def argmax_in_window(name: str, curve: Curve, lo: Any, hi: Any) -> Check:
    """The x where the curve is largest lies in ``[lo, hi]`` (its interval over the resamples)."""
    c = _curve(curve)
    lo_, hi_ = _bounds(lo, hi, "window")
    where = c.statistic(lambda y: c.x[int(np.argmax(y))], "x of the maximum")
    return _unusable(name, where, [lo_, hi_]) or _band(name, where, lo_, hi_, [lo_, hi_], f"[{_g(lo_)}, {_g(hi_)}]")


def no_peak(name: str, curve: Curve, tolerance: float = 0.0) -> Check:
    """No interior point rises above the lowest point on *both* sides of it by more than a
    factor ``1 + tolerance`` (the largest such prominence, with its interval, is ``<= 1 +
    tolerance``). Monotone and U-shaped curves pass; a rise-then-fall fails."""
    c = _curve(curve)
    t = _num(tolerance, "tolerance")
    if c.x.size < 3 or t < 0 or np.any(c.y <= 0):
        raise ValueError("no_peak needs >= 3 points, tolerance >= 0 and y > 0")

    def prominence(y):
        return max(y[i] / max(y[:i].min(), y[i + 1:].min()) for i in range(1, y.size - 1))

    return at_most(name, c.statistic(prominence, "largest peak prominence"), 1 + t)
