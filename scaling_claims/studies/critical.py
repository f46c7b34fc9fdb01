"""The critical-size search: bisection in log size for the size where a metric crosses a level.

The research plan's project 7: find the model size at which, e.g., exact match crosses 0.5 by
bisection in log N over real trained runs, until the bracket is within 10% in N.

- :func:`bisect_crossing`: the search itself, over any ``measure(size) -> value`` (a pure
  function in the unit tests; trained runs in a claim). It starts from a bracket whose ends lie
  on either side of the level, measures the size nearest the bracket's geometric middle, keeps
  the half that still brackets the crossing, and stops when ``hi / lo <= 1 + rtol``
  (``"resolved"``), when no realisable size lies strictly inside the bracket (``"granularity"``:
  a family of models whose widths must divide by their head count cannot resolve finer), or
  after ``max_probes`` new measurements (``"max_probes"``).
- :func:`bisect_runs`: the same over trained runs: ``specs_at(size)`` gives the runs of one size
  (e.g. one spec per seed), ``run(specs)`` trains or reads them (pass the ``sweep`` fixture's
  ``sweep.results``, or ``lambda s: run_sweep(s, cache, executor)``: either way every probe
  goes through the run cache, so a repeated search trains nothing), ``metric(results)`` reduces
  them to the value compared with the level (e.g. the mean exact match over seeds).

The bracket is where the *measured* curve crosses the level: with noisy measurements (a few
seeds per size) it is not a confidence interval for where the expected curve crosses it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

STOP_REASONS = ("resolved", "granularity", "max_probes")


@dataclass(frozen=True)
class Probe:
    """One measured size: ``size``, ``value``, and the runs behind it (empty for a function)."""

    size: float
    value: float
    runs: tuple[Any, ...] = field(default=(), repr=False, compare=False)

    def to_dict(self) -> dict[str, float]:
        return {"size": self.size, "value": self.value}


@dataclass(frozen=True)
class Bisection:
    """The outcome: ``lo`` and ``hi`` (the probes that bracket the crossing, ``lo.size < hi.size``),
    every probe in the order measured (the two starting ends first), why it stopped."""

    level: float
    rtol: float
    lo: Probe
    hi: Probe
    probes: tuple[Probe, ...]
    stopped: str

    @property
    def ratio(self) -> float:
        """hi / lo: the bracket's width as a factor in size."""
        return self.hi.size / self.lo.size

    @property
    def resolved(self) -> bool:
        return self.ratio <= 1 + self.rtol

    @property
    def centre(self) -> float:
        """The bracket's geometric centre."""
        return math.sqrt(self.lo.size * self.hi.size)

    @property
    def new_probes(self) -> tuple[Probe, ...]:
        """The probes measured inside the starting bracket (not its two ends)."""
        return self.probes[2:]

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "rtol": self.rtol, "lo": self.lo.to_dict(), "hi": self.hi.to_dict(),
                "ratio": self.ratio, "centre": self.centre, "stopped": self.stopped,
                "probes": [p.to_dict() for p in self.probes]}


def _finite(v: Any, what: str) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number, got {v!r}") from None
    if not math.isfinite(x):
        raise ValueError(f"{what} must be finite, got {x}")
    return x


def _inside(sizes: Sequence[float] | None, lo: float, hi: float) -> float | None:
    """The realisable size strictly inside (lo, hi) nearest the geometric middle (in log), or
    None; with ``sizes=None`` every size is realisable."""
    mid = math.sqrt(lo * hi)
    if sizes is None:
        return mid
    inside = [s for s in sizes if lo < s < hi]
    return min(inside, key=lambda s: (abs(math.log(s / mid)), s)) if inside else None


def bisect_crossing(measure: Callable[[float], Probe | float], lo: float, hi: float, *, level: float = 0.5,
                    rtol: float = 0.1, sizes: Sequence[float] | None = None, max_probes: int = 20,
                    increasing: bool = True) -> Bisection:
    """Bisect in log size for where ``measure`` crosses ``level``.

    ``measure(size)`` returns the value at ``size`` (a number, or a :class:`Probe` carrying its
    runs). ``lo < hi`` must bracket the crossing: for an ``increasing`` metric, value(lo) <
    level <= value(hi) (mirrored when decreasing), else ``ValueError``. ``sizes``: the
    realisable sizes (``lo`` and ``hi`` among them); each probe is the one strictly inside the
    bracket nearest its geometric middle. ``rtol > 0``: stop once ``hi / lo <= 1 + rtol``.
    """
    lo_, hi_, lev, tol = (_finite(lo, "lo"), _finite(hi, "hi"), _finite(level, "level"), _finite(rtol, "rtol"))
    if not 0 < lo_ < hi_:
        raise ValueError(f"need 0 < lo < hi, got lo={lo!r}, hi={hi!r}")
    if tol <= 0:
        raise ValueError(f"rtol must be > 0, got {rtol!r}")
    if not (isinstance(max_probes, int) and max_probes >= 0):
        raise ValueError(f"max_probes must be an integer >= 0, got {max_probes!r}")
    grid = None
    if sizes is not None:
        grid = sorted({_finite(s, "a size") for s in sizes})
        if grid[0] <= 0:
            raise ValueError(f"sizes must be positive, got {grid[0]}")
        missing = [v for v in (lo_, hi_) if not any(math.isclose(v, s, rel_tol=1e-12) for s in grid)]
        if missing:
            raise ValueError(f"lo and hi must be realisable sizes (in sizes), {missing} is not")

    def probe(size: float) -> Probe:
        out = measure(size)
        p = out if isinstance(out, Probe) else Probe(size, _finite(out, f"measure({size:.6g})"))
        if not math.isfinite(p.value):
            raise ValueError(f"measure({size:.6g}) returned {p.value}: a bisection needs finite values")
        return p

    def above(p: Probe) -> bool:  # on the "hi" side of the crossing
        return p.value >= lev if increasing else p.value <= lev

    a, b = probe(lo_), probe(hi_)
    probes = [a, b]
    if above(a) or not above(b):
        side = "value(lo) < level <= value(hi)" if increasing else "value(lo) > level >= value(hi)"
        raise ValueError(f"the start does not bracket the crossing ({side} needed): value({lo_:.6g}) = {a.value:.4g}, "
                         f"value({hi_:.6g}) = {b.value:.4g}, level {lev}")
    while True:
        if b.size / a.size <= 1 + tol:
            stopped = "resolved"
            break
        nxt = _inside(grid, a.size, b.size)
        if nxt is None:
            stopped = "granularity"
            break
        if len(probes) - 2 >= max_probes:
            stopped = "max_probes"
            break
        p = probe(nxt)
        probes.append(p)
        if above(p):
            b = p
        else:
            a = p
    return Bisection(lev, tol, a, b, tuple(probes), stopped)


def bisect_runs(specs_at: Callable[[float], Sequence[Any]], metric: Callable[[list[Any]], float],
                run: Callable[[Sequence[Any]], list[Any]], lo: float, hi: float, **kwargs: Any) -> Bisection:
    """:func:`bisect_crossing` over trained runs: the value at a size is
    ``metric(run(specs_at(size)))``; each :class:`Probe` keeps its runs. ``run`` is what
    trains (through the run cache): ``sweep.results`` in a claim test."""

    def measure(size: float) -> Probe:
        specs = list(specs_at(size))
        if not specs:
            raise ValueError(f"specs_at({size:.6g}) gave no specs")
        results = list(run(specs))
        return Probe(size, _finite(metric(results), f"metric at size {size:.6g}"), tuple(results))

    return bisect_crossing(measure, lo, hi, **kwargs)
