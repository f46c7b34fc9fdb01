"""Measured quantities with their intervals: what every claim check decides on.

A claim's verdict is decided by where the whole interval of a measurement lies (docs/sources.md,
'Verdict rules'), so a check never takes a bare number: it takes an
:class:`Estimate`, a value with its interval, the interval's level, how the interval was
obtained, and, where the interval cannot be trusted (a fit that ended at a bound, a
degenerate logistic, a bootstrap whose resamples mostly failed), the ``problem`` that makes
it unusable. A check on an estimate with a problem is inconclusive, with that problem as the
reason.

Where the intervals come from:

- :meth:`Estimate.from_fit`: a fitter's own interval (Student-t or Gauss-Newton), carrying the
  fit's flags (``FitResult.flags``);
- :func:`bootstrap` then :meth:`Bootstrap.estimate`: a percentile interval over resampled
  units (seeds, problems, trials); resample the unit that carries the noise;
- :meth:`Estimate.mean_t`: the Student-t interval of a mean over independent units (seeds),
  :func:`paired_difference` for per-seed pairs;
- :meth:`Estimate.wilson`: a binomial proportion, its interval computed at the measured rate;
- :meth:`Estimate.exact`: a closed form with no sampling noise (lo = hi = value; say why);
- :func:`difference`: the difference of two independent estimates (half-widths in quadrature).

Pure NumPy/SciPy. Bad input raises ``ValueError``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
from scipy import stats


def _f(v: Any, what: str) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number, got {v!r}") from None


def _g(v: float) -> str:
    return f"{v:.4g}"


@dataclass(frozen=True)
class Estimate:
    """A measured value with its interval ``[lo, hi]`` at ``level``.

    ``method`` says how the interval was obtained; ``problem`` (non-empty) says why it must not
    be used as a confidence interval (checks on it are then inconclusive). Without a problem,
    ``lo <= value <= hi`` and all three are finite.
    """

    value: float
    lo: float
    hi: float
    level: float = 0.95
    method: str = ""
    problem: str = ""

    def __post_init__(self) -> None:
        for name in ("value", "lo", "hi", "level"):
            object.__setattr__(self, name, _f(getattr(self, name), name))
        if not 0 < self.level <= 1:
            raise ValueError(f"level must be in (0, 1], got {self.level}")
        if self.problem:
            return
        if not all(math.isfinite(v) for v in (self.value, self.lo, self.hi)):
            raise ValueError(f"an estimate without a problem needs a finite value and interval, got "
                             f"{self.value} [{self.lo}, {self.hi}] (pass problem=... to say why it is unusable)")
        if not self.lo <= self.value <= self.hi:
            raise ValueError(f"an estimate must lie inside its interval, got {self.value} [{self.lo}, {self.hi}]")

    # ----------------------------------------------------------------- constructors
    @classmethod
    def exact(cls, value: Any, why: str) -> "Estimate":
        """A quantity with no sampling noise (a closed form, an exact count): lo = hi = value."""
        if not why:
            raise ValueError("Estimate.exact needs a reason: why does this quantity carry no noise?")
        v = _f(value, "value")
        return cls(v, v, v, 1.0, f"exact: {why}")

    @classmethod
    def interval(cls, value: Any, lo: Any, hi: Any, level: float = 0.95, method: str = "",
                 problem: str = "") -> "Estimate":
        """From a value and an interval computed elsewhere; a non-finite interval becomes a problem."""
        v, lo_, hi_ = _f(value, "value"), _f(lo, "lo"), _f(hi, "hi")
        if not problem and not all(math.isfinite(x) for x in (v, lo_, hi_)):
            problem = f"no finite interval ({_g(v)} [{_g(lo_)}, {_g(hi_)}])"
        return cls(v, lo_, hi_, level, method, problem)

    @classmethod
    def from_fit(cls, fit: Any, name: str, method: str = "") -> "Estimate":
        """Parameter ``name`` of a ``FitResult``: its interval, and the fit's flag for it (or for
        the whole fit) as the problem."""
        if name not in fit.params:
            raise ValueError(f"{fit.kind} fit has no parameter {name!r} (has {sorted(fit.params)})")
        value = fit.params[name]
        lo, hi = fit.ci.get(name, (math.nan, math.nan))
        flags = getattr(fit, "flags", {}) or {}
        problem = flags.get(name) or flags.get("*", "")
        if not problem and not all(math.isfinite(v) for v in (value, lo, hi)):
            problem = f"the {fit.kind} fit gives {name} no finite interval (dof {fit.dof})"
        how = method or f"{fit.kind} fit, {'Student-t' if fit.dof >= 1 else 'no'} interval"
        return cls(value, lo, hi, fit.level, how, problem)

    @classmethod
    def normal(cls, value: Any, se: Any, level: float = 0.95, dof: int | None = None, method: str = "") -> "Estimate":
        """value +- q * se, q from the normal (or Student-t with ``dof``) distribution."""
        v, s = _f(value, "value"), _f(se, "se")
        if not s >= 0:
            raise ValueError(f"se must be >= 0, got {s}")
        q = stats.norm.ppf(0.5 + level / 2) if dof is None else stats.t.ppf(0.5 + level / 2, dof)
        return cls.interval(v, v - q * s, v + q * s, level, method or ("normal" if dof is None else f"t, dof {dof}"))

    @classmethod
    def mean_t(cls, values: Any, level: float = 0.95, what: str = "units") -> "Estimate":
        """The mean of independent values (one per seed, problem, ...) with its Student-t interval."""
        a = np.asarray(values, dtype=float).ravel()
        if a.size < 2 or not np.all(np.isfinite(a)):
            raise ValueError(f"mean_t needs >= 2 finite values, got {a.tolist()}")
        se = float(a.std(ddof=1) / math.sqrt(a.size))
        return cls.normal(float(a.mean()), se, level, dof=a.size - 1,
                          method=f"mean over {a.size} {what}, Student-t interval")

    @classmethod
    def geometric_mean_t(cls, values: Any, level: float = 0.95, what: str = "units") -> "Estimate":
        """The geometric mean of independent positive ratios with the Student-t interval of their
        logs, exponentiated (ratios multiply, so their natural scale is the log)."""
        a = np.asarray(values, dtype=float).ravel()
        if a.size < 2 or not np.all(np.isfinite(a)) or np.any(a <= 0):
            raise ValueError(f"geometric_mean_t needs >= 2 finite positive values, got {a.tolist()}")
        return cls.mean_t(np.log(a), level, what).transform(math.exp, what="exponentiated (geometric mean)")

    @classmethod
    def wilson(cls, successes: Any, n: Any, level: float = 0.95) -> "Estimate":
        """A binomial proportion successes / n with the Wilson score interval (computed at the
        measured rate, so it stays honest near 0 and 1)."""
        k, m = _f(successes, "successes"), _f(n, "n")
        if m < 1 or not 0 <= k <= m:
            raise ValueError(f"wilson needs 0 <= successes <= n and n >= 1, got {k} of {m}")
        p = k / m
        z = float(stats.norm.ppf(0.5 + level / 2))
        centre = (p + z * z / (2 * m)) / (1 + z * z / m)
        half = z * math.sqrt(p * (1 - p) / m + z * z / (4 * m * m)) / (1 + z * z / m)
        lo, hi = max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))  # rounding can leave [0, 1]
        return cls(p, lo, hi, level, f"Wilson interval, n = {int(m)}")

    # ----------------------------------------------------------------- use
    @property
    def usable(self) -> bool:
        return not self.problem

    @property
    def width(self) -> float:
        return self.hi - self.lo

    def transform(self, fn: Callable[[float], float], decreasing: bool = False, what: str = "") -> "Estimate":
        """The estimate of ``fn(quantity)`` for a monotone ``fn`` (its interval maps through)."""
        a, b = (fn(self.hi), fn(self.lo)) if decreasing else (fn(self.lo), fn(self.hi))
        method = f"{self.method}; {what}" if what else self.method
        return Estimate(fn(self.value), a, b, self.level, method, self.problem) if self.problem else \
            Estimate.interval(fn(self.value), a, b, self.level, method)

    def __neg__(self) -> "Estimate":
        return self.transform(lambda v: -v, decreasing=True)

    def text(self) -> str:
        """``value [lo, hi]`` (``value (exact)`` for an exact estimate; the problem when the
        interval is not usable)."""
        if self.problem:
            return f"{_g(self.value)} (no usable interval: {self.problem})"
        if self.method.startswith("exact"):
            return f"{_g(self.value)} (exact)"
        return f"{_g(self.value)} [{_g(self.lo)}, {_g(self.hi)}]"

    def to_dict(self) -> dict[str, Any]:
        clean = lambda v: v if math.isfinite(v) else None  # noqa: E731
        return {"value": clean(self.value), "lo": clean(self.lo), "hi": clean(self.hi), "level": self.level,
                "method": self.method, "problem": self.problem}


def as_estimate(value: Any, what: str = "the measurement") -> Estimate:
    """``value`` if it is an :class:`Estimate`, else ``ValueError``: a verdict needs an interval."""
    if isinstance(value, Estimate):
        return value
    raise ValueError(f"{what} must be an Estimate (a value with its interval), got {value!r}: a point "
                     "estimate alone never decides a verdict (use Estimate.exact(v, why) for a closed form)")


def difference(a: Estimate, b: Estimate, what: str = "") -> Estimate:
    """``a - b`` for *independent* estimates: each side's half-width combined in quadrature.
    For paired measurements (the same seeds) use :func:`paired_difference` or a bootstrap of
    the difference instead, which keeps the pairing."""
    a, b = as_estimate(a, "a"), as_estimate(b, "b")
    if a.level != b.level and a.level < 1 and b.level < 1:
        raise ValueError(f"the two estimates have different levels ({a.level}, {b.level})")
    level = min(a.level, b.level)
    v = a.value - b.value
    method = what or f"difference of independent estimates ({a.method}; {b.method}), half-widths in quadrature"
    problem = "; ".join(p for p in (a.problem, b.problem) if p)
    if problem:
        return Estimate(v, math.nan, math.nan, level, method, problem)
    lo = v - math.hypot(a.value - a.lo, b.hi - b.value)
    hi = v + math.hypot(a.hi - a.value, b.value - b.lo)
    return Estimate(v, lo, hi, level, method)


def paired_difference(a: Any, b: Any, level: float = 0.95, what: str = "seeds") -> Estimate:
    """Mean of ``a - b`` over pairs (``a[i]``, ``b[i]`` measured on the same seed), Student-t interval."""
    x, y = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"paired_difference needs pairs of equal length, got {x.size} and {y.size}")
    est = Estimate.mean_t(x - y, level, what)
    return Estimate(est.value, est.lo, est.hi, est.level, f"paired over {x.size} {what}, Student-t interval")


# ----------------------------------------------------------------------------- bootstrap

@dataclass(frozen=True)
class Bootstrap:
    """Samples of a statistic over resampled units (``samples``: shape (accepted, ...)) and how
    many resamples the statistic could not be computed on (``failures``)."""

    samples: np.ndarray
    failures: int
    n_boot: int
    units: str

    @property
    def method(self) -> str:
        return f"percentile bootstrap over {self.units} ({self.n_boot} resamples)"

    def estimate(self, value: Any, index: Any = None, level: float = 0.95, what: str = "",
                 max_failure_share: float = 0.05) -> Estimate:
        """A percentile interval for the statistic (or its component ``index``), widened where
        needed to contain the point ``value`` (a percentile interval of a skewed or discrete
        statistic can miss it). More than ``max_failure_share`` failed resamples is a problem:
        the interval would describe only the resamples where the statistic exists."""
        s = self.samples if index is None else self.samples[(slice(None),) + np.index_exp[index]]
        return _percentile_estimate(s, self.n_boot, value, level, _joined(self.method, what), max_failure_share)


def _joined(method: str, what: str) -> str:
    return "; ".join(part for part in (method, what) if part)


def _percentile_estimate(samples: Any, n_boot: int, value: Any, level: float, method: str,
                         max_failure_share: float) -> Estimate:
    """:meth:`Bootstrap.estimate` on the values ``samples`` of ``n_boot`` resamples (non-finite
    values and missing resamples count as failed)."""
    s = np.asarray(samples, dtype=float).ravel()
    s = s[np.isfinite(s)]
    v = _f(value, "value")
    failed = n_boot - s.size
    if failed > max_failure_share * n_boot:
        return Estimate(v, math.nan, math.nan, level, method, f"the statistic failed on {failed} of {n_boot} resamples")
    lo, hi = np.percentile(s, [50 * (1 - level), 50 * (1 + level)])
    return Estimate.interval(v, min(lo, v), max(hi, v), level, method)


def bootstrap(stat: Callable[..., Any], sizes: int | Sequence[int], n_boot: int = 1000, seed: int = 0,
              units: str = "units", batched: bool = False) -> Bootstrap:
    """Resample units with replacement and recompute ``stat`` ``n_boot`` times.

    ``sizes``: the number of units (one index array is passed to ``stat``), or a sequence of
    stratum sizes (one independently resampled index array per stratum, e.g. the seeds of each
    point of a sweep). ``stat`` returns a number or an array; a ``ValueError`` (or a non-finite
    result) counts as a failed resample. Deterministic in ``seed``.

    ``batched``: ``stat`` gets every resample at once, one (n_boot, stratum size) index matrix
    per stratum, and returns one row per resample (a non-finite row is a failed resample); for
    a vectorisable statistic (a median, a mean) it is many times faster, and the resamples, so
    the samples, are the same as unbatched.

    With very few units the percentile interval cannot reach beyond the values observed (with 3
    seeds, the interval of a median is the seeds' range, whose coverage is ~75%, not 95%):
    prefer :meth:`Estimate.mean_t` there, or say so in the claim.
    """
    strata = [int(sizes)] if np.isscalar(sizes) else [int(s) for s in sizes]
    if not strata or min(strata) < 1:
        raise ValueError(f"bootstrap needs at least one unit per stratum, got {strata}")
    if n_boot < 10:
        raise ValueError(f"n_boot must be >= 10, got {n_boot}")
    rng = np.random.default_rng(seed)
    if batched:
        draws = [[rng.integers(0, m, m) for m in strata] for _ in range(n_boot)]  # the unbatched order
        with np.errstate(all="ignore"):
            r = np.asarray(stat(*(np.array([d[j] for d in draws]) for j in range(len(strata)))), dtype=float)
        if r.shape[:1] != (n_boot,):
            raise ValueError(f"a batched statistic must return one row per resample ({n_boot}), got shape {r.shape}")
        ok = np.isfinite(r.reshape(n_boot, -1)).all(axis=1)
        return Bootstrap(r[ok], int(n_boot - ok.sum()), n_boot, units)
    out, failures = [], 0
    for _ in range(n_boot):
        idx = [rng.integers(0, m, m) for m in strata]
        try:
            with np.errstate(all="ignore"):
                r = np.asarray(stat(*idx), dtype=float)
        except ValueError:
            failures += 1
            continue
        if not np.all(np.isfinite(r)):
            failures += 1
            continue
        out.append(r)
    samples = np.array(out) if out else np.empty((0,))
    return Bootstrap(samples, failures, n_boot, units)


# ----------------------------------------------------------------------------- curves

@dataclass(frozen=True)
class Curve:
    """A measured curve ``y(x)`` and resampled copies of it (``samples``: (B, len(x)), from the
    same bootstrap), so that shape checks (monotone, interior minimum, where the peak is) can
    put an interval on the shape statistic they compute. ``samples=None`` with a ``method``
    starting "exact" is a noise-free curve (a closed form)."""

    x: np.ndarray
    y: np.ndarray
    samples: np.ndarray | None
    level: float = 0.95
    method: str = ""
    failures: int = 0

    def __post_init__(self) -> None:
        x, y = np.asarray(self.x, dtype=float), np.asarray(self.y, dtype=float)
        if x.ndim != 1 or y.shape != x.shape or x.size < 1:
            raise ValueError(f"a curve needs 1-D x and y of one length, got {x.shape} and {y.shape}")
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise ValueError(f"a curve needs finite x and y, got x={x.tolist()}, y={y.tolist()}")
        order = np.argsort(x, kind="stable")
        if np.any(np.diff(x[order]) == 0):
            raise ValueError("a curve's x values must be distinct")
        object.__setattr__(self, "x", x[order])
        object.__setattr__(self, "y", y[order])
        if self.samples is None:
            if not self.method.startswith("exact"):
                raise ValueError("a curve without samples must be exact: Curve.exact(x, y, why)")
            return
        s = np.asarray(self.samples, dtype=float)
        if s.ndim != 2 or s.shape[1] != x.size or s.shape[0] < 10:
            raise ValueError(f"samples must be (>= 10 resamples, {x.size} points), got {s.shape}")
        object.__setattr__(self, "samples", s[:, order])

    @classmethod
    def exact(cls, x: Any, y: Any, why: str) -> "Curve":
        if not why:
            raise ValueError("Curve.exact needs a reason: why does this curve carry no noise?")
        return cls(np.asarray(x, float), np.asarray(y, float), None, 1.0, f"exact: {why}")

    @classmethod
    def from_bootstrap(cls, x: Any, y: Any, boot: Bootstrap, level: float = 0.95) -> "Curve":
        """``boot.samples`` must be (accepted resamples, len(x)): the curve recomputed per resample."""
        return cls(np.asarray(x, float), np.asarray(y, float), boot.samples, level, boot.method, boot.failures)

    @classmethod
    def over_units(cls, x: Any, values: Any, stat: Callable[..., Any] = np.median, n_boot: int = 1000,
                   seed: int = 0, units: str = "seeds", level: float = 0.95) -> "Curve":
        """The curve ``stat(values, axis=0)`` of a (units, len(x)) array (one row per seed), with
        resamples of whole rows (a cluster bootstrap: a seed's points stay together)."""
        v = np.asarray(values, dtype=float)
        if v.ndim != 2 or v.shape[1] != np.asarray(x).size:
            raise ValueError(f"values must be (units, {np.asarray(x).size}), got {v.shape}")
        boot = bootstrap(lambda i: stat(v[i], axis=0), v.shape[0], n_boot, seed, units)
        return cls.from_bootstrap(x, stat(v, axis=0), boot, level)

    def statistic(self, fn: Callable[[np.ndarray], Any], what: str, max_failure_share: float = 0.05) -> Estimate:
        """The estimate of ``fn(y)`` (a number) from the curve and its resamples."""
        value = float(fn(self.y))
        if self.samples is None:
            return Estimate.exact(value, f"{self.method[len('exact: '):] or 'closed form'}; {what}")
        with np.errstate(all="ignore"):
            vals = [float(fn(row)) for row in self.samples]
        return _percentile_estimate(vals, len(vals) + self.failures, value, self.level, _joined(self.method, what),
                                    max_failure_share)
