"""Does a fitted law extrapolate? Hold points out, refit, predict them, grade the error.

- :func:`leave_one_out`: refit without each point in turn and predict it.
- :func:`leave_largest_out`: refit without the ``n_out`` largest-scale points and predict them:
  the honest test of a scaling law, which is only ever used to extrapolate upward.
- :func:`extrapolate`: fit all points, predict a named target scale with a confidence band,
  and attach the leave-largest-out check so the prediction carries a trust grade.
- :func:`rollout`: the leave-largest-out check repeated along the ladder: fit the k smallest
  sizes, predict the next one, for every k. Shows *where* a law stops extrapolating (errors
  that grow with k) rather than one number at the top.

The trust grade is from the *worst* (largest) relative error |predicted - observed| / |observed|
over the held-out points: ``high`` below 5%, ``medium`` below 10%, else ``low``. The worst case
rather than the mean because one bad extrapolation is exactly what the check exists to expose.

``fit`` is any fitter of this package called as ``fit(*x, y, **fit_kwargs)``, where ``x`` is one
array (e.g. model sizes for ``fit_power_law``) or a tuple of arrays (``(N, D)`` for
``fit_chinchilla``); "largest" is by the first array unless ``order_by`` says otherwise.

A refit that fails inside a check (``ValueError``: too few points, a constant input; or a numerical
failure: ``ArithmeticError`` such as ``OverflowError``, ``numpy.linalg.LinAlgError``,
``FloatingPointError``) does not abort the check: its row (rollout) or its held-out points
(leave-out checks) carry the reason (``error`` / ``fit_error``, shown as "fit failed: ...") and
NaN numbers, and the rest of the table is still computed. A refit the fitter returns but marks as
not identified by its points (``info["unidentified"]``, set by ``fit_chinchilla`` for a span under
0.2 decades, fewer than 3 distinct sizes, collinear N and D or an exponent at its bound; or
``info["not_identified"]``, a degenerate fit given whole-range intervals) keeps its prediction and
errors, marked with the reason (``flag``): an error measured on such a fit says how the arbitrary
point of a flat valley happened to extrapolate, not how the law does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from ._result import FitResult
from ._validate import as_float_array, check_same_length

TRUST_HIGH = 0.05
TRUST_MEDIUM = 0.10
# what a refit inside a check may raise and still leave the rest of the check to run: bad or too
# little data (ValueError, which LinAlgError subclasses) and numerical failures (OverflowError,
# ZeroDivisionError and FloatingPointError are ArithmeticErrors)
FIT_FAILURES = (ValueError, ArithmeticError, np.linalg.LinAlgError, FloatingPointError)


def _reason(exc: BaseException) -> str:
    """The failure's message, prefixed by its type unless it is a plain ValueError."""
    text, name = str(exc).strip(), type(exc).__name__
    if type(exc) is ValueError:
        return text or name
    return f"{name}: {text}" if text else name


def _unidentified(res: FitResult) -> str | None:
    """Why the refit's points do not identify the law, if they do not: the fitter's note
    (``info["unidentified"]``, ``fit_chinchilla``'s), or, for a fit whose parameters were given
    their whole range as intervals (``info["not_identified"]``, a degenerate fit), its flags."""
    info = getattr(res, "info", None) or {}
    note = info.get("unidentified")
    if note:
        return str(note)
    if info.get("not_identified"):
        return "; ".join(dict.fromkeys(str(v) for v in getattr(res, "flags", {}).values())) or "not identified"
    return None


def trust_grade(relative_error: float) -> str:
    """"high" (< 5%), "medium" (< 10%) or "low" (else, including NaN) for a relative error."""
    if not relative_error < TRUST_MEDIUM:
        return "low"
    return "high" if relative_error < TRUST_HIGH else "medium"


@dataclass
class ExtrapolationCheck:
    """Held-out predictions: ``x`` (tuple of held-out inputs), ``observed``, ``predicted``,
    ``errors`` (relative), ``max_error``, ``mean_error`` and ``trust`` (from ``max_error``).

    ``fit_error``: why a refit failed (its held-out points are then predicted NaN, so
    ``max_error`` is NaN and ``trust`` "low": a check that could not run vouches for nothing);
    ``flag``: why a refit is not identified by its points (see the module docstring)."""

    kind: str
    held_out: np.ndarray
    observed: np.ndarray
    predicted: np.ndarray
    x: tuple[np.ndarray, ...] = field(default_factory=tuple)
    fit_error: str | None = None
    flag: str | None = None

    @property
    def errors(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.abs(self.predicted - self.observed) / np.abs(self.observed)

    @property
    def max_error(self) -> float:
        return float(np.max(self.errors))

    @property
    def mean_error(self) -> float:
        return float(np.mean(self.errors))

    @property
    def trust(self) -> str:
        return trust_grade(self.max_error)

    def to_dict(self) -> dict[str, Any]:
        def clean(v: float) -> float | None:
            return float(v) if math.isfinite(v) else None

        return {"kind": self.kind, "held_out": self.held_out.tolist(),
                "x": [[clean(v) for v in a] for a in self.x],
                "observed": [clean(v) for v in self.observed], "predicted": [clean(v) for v in self.predicted],
                "errors": [clean(v) for v in self.errors], "max_error": clean(self.max_error),
                "mean_error": clean(self.mean_error), "trust": self.trust, "fit_error": self.fit_error,
                "flag": self.flag}


def _inputs(x: Any, y: Any) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    xs = tuple(x) if isinstance(x, (tuple, list)) and len(x) and np.ndim(x[0]) == 1 else (x,)
    xs = tuple(as_float_array(v, f"x[{i}]") for i, v in enumerate(xs))
    y = as_float_array(y, "y")
    check_same_length(y=y, **{f"x{i}": v for i, v in enumerate(xs)})
    return xs, y


def _held_out(kind: str, fit: Callable[..., FitResult], xs, y, groups: Sequence[np.ndarray],
              fit_kwargs: dict[str, Any]) -> ExtrapolationCheck:
    preds, held, failures, flags = [], [], [], []
    for out in groups:
        keep = np.ones(len(y), bool)
        keep[out] = False
        try:
            res = fit(*(v[keep] for v in xs), y[keep], **fit_kwargs)
            with np.errstate(all="ignore"):  # a law evaluated far outside its fit may overflow: inf, not a crash
                pred = np.broadcast_to(np.asarray(res.predict(*(v[out] for v in xs)), float), (len(out),))
        except FIT_FAILURES as exc:
            failures.append(_reason(exc))
            pred = np.full(len(out), math.nan)
        else:
            note = _unidentified(res)
            if note:
                flags.append(note)
        preds.append(pred)
        held.append(out)
    held_idx = np.concatenate(held)

    def distinct(notes: list[str]) -> str | None:
        return "; ".join(dict.fromkeys(notes)) if notes else None

    return ExtrapolationCheck(kind=kind, held_out=held_idx, observed=y[held_idx],
                              predicted=np.concatenate(preds), x=tuple(v[held_idx] for v in xs),
                              fit_error=distinct(failures), flag=distinct(flags))


def leave_one_out(fit: Callable[..., FitResult], x: Any, y: Any, **fit_kwargs: Any) -> ExtrapolationCheck:
    """Refit without each point in turn and predict it; ``.trust`` grades the worst error."""
    xs, y = _inputs(x, y)
    return _held_out("leave_one_out", fit, xs, y, [np.array([i]) for i in range(len(y))], fit_kwargs)


def leave_largest_out(fit: Callable[..., FitResult], x: Any, y: Any, n_out: int = 1,
                      order_by: Any = None, **fit_kwargs: Any) -> ExtrapolationCheck:
    """Refit without the ``n_out`` points of largest scale (``order_by``, default the first x
    array; ties all held out together) and predict them; ``.trust`` grades the worst error.

    A refit that fails (see the module docstring) gives a check with ``fit_error`` set and NaN
    predictions instead of raising; a refit not identified by its points gives ``flag``. Bad
    arguments of the check itself (``n_out``, ``order_by``, mismatched lengths) still raise."""
    xs, y = _inputs(x, y)
    if not (isinstance(n_out, (int, np.integer)) and 1 <= n_out < len(y)):
        raise ValueError(f"n_out must be an integer in [1, {len(y) - 1}], got {n_out!r}")
    key = xs[0] if order_by is None else as_float_array(order_by, "order_by")
    check_same_length(y=y, order_by=key)
    threshold = np.sort(key)[-n_out]
    out = np.flatnonzero(key >= threshold)
    if len(out) >= len(y):
        raise ValueError("leave_largest_out would hold out every point (all scales are equal)")
    return _held_out("leave_largest_out", fit, xs, y, [out], fit_kwargs)


@dataclass
class Extrapolation:
    """A prediction at a named ``target`` with a confidence band (``ci``, parameter uncertainty by
    the delta method) and the ``check`` (leave-largest-out) whose ``trust`` grades it."""

    name: str
    target: tuple[float, ...]
    value: float
    ci: tuple[float, float]
    level: float
    fit: FitResult
    check: ExtrapolationCheck

    @property
    def trust(self) -> str:
        return self.check.trust

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "target": list(self.target), "value": self.value, "ci": list(self.ci),
                "level": self.level, "trust": self.trust, "fit": self.fit.to_dict(), "check": self.check.to_dict()}


def extrapolate(fit: Callable[..., FitResult], x: Any, y: Any, target: Any, name: str = "target",
                level: float = 0.95, n_out: int = 1, **fit_kwargs: Any) -> Extrapolation:
    """Fit all points and predict ``target`` (a scale, or a tuple for multi-input laws) with a
    ``level`` confidence band; grade it by a leave-largest-out check on the same data."""
    xs, y = _inputs(x, y)
    tgt = tuple(float(t) for t in np.atleast_1d(np.asarray(target, dtype=float)))
    if len(tgt) != len(xs):
        raise ValueError(f"target has {len(tgt)} coordinate(s) but the law takes {len(xs)} input(s)")
    if not all(math.isfinite(t) for t in tgt):
        raise ValueError(f"target must be finite, got {target!r}")
    res = fit(*xs, y, **fit_kwargs)
    value = float(res.predict(*tgt))
    lo, hi = res.predict_interval(*(np.array([t]) for t in tgt), level=level)
    check = leave_largest_out(fit, xs if len(xs) > 1 else xs[0], y, n_out=n_out, **fit_kwargs)
    return Extrapolation(name=name, target=tgt, value=value, ci=(float(lo[0]), float(hi[0])), level=level,
                         fit=res, check=check)


@dataclass
class RolloutRow:
    """One row of a :class:`Rollout`: fitted on the runs of the ``k`` smallest sizes (up to
    ``largest_fitted``), predicted every run at the next size (``predicted_size``). ``error`` is
    why the fit failed (a ``ValueError``'s message, or a numerical failure's type and message;
    then the numbers are NaN); ``flag`` why a fit that ran is not identified by its points (the
    numbers are shown, marked)."""

    k: int
    largest_fitted: float
    predicted_size: float
    n_fitted: int
    n_predicted: int
    mean_error: float = math.nan
    max_error: float = math.nan
    error: str | None = None
    flag: str | None = None

    @property
    def trust(self) -> str | None:
        """``trust_grade`` of ``max_error``; None for a failed fit."""
        return None if self.error is not None else trust_grade(self.max_error)

    def to_dict(self) -> dict[str, Any]:
        names = ("k", "largest_fitted", "predicted_size", "n_fitted", "n_predicted", "mean_error", "max_error",
                 "trust", "error", "flag")
        d = {name: getattr(self, name) for name in names}
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


@dataclass
class Rollout:
    """Fit-on-the-k-smallest-sizes, predict-the-next, for every k: ``rows`` (one
    :class:`RolloutRow` per k), ``sizes`` (the distinct sizes, sorted); ``to_frame()``,
    ``to_dict()`` and ``table()`` (readable text)."""

    sizes: np.ndarray
    rows: list[RolloutRow]

    def to_frame(self):
        """The rows as a pandas DataFrame, one row per k."""
        import pandas as pd

        return pd.DataFrame([s.to_dict() for s in self.rows])

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "rollout", "sizes": self.sizes.tolist(), "rows": [s.to_dict() for s in self.rows]}

    def table(self) -> str:
        """One line per k: sizes fitted and predicted, point counts, errors and trust (or why the
        fit failed); a fit not identified by its points is marked "not identified: <why>"."""
        lines = [f"{'k':>3}  {'fitted up to':>12}  {'predicts':>10}  {'n fit':>5}  {'n pred':>6}  "
                 f"{'mean err':>8}  {'max err':>8}  trust"]
        for s in self.rows:
            head = (f"{s.k:>3}  {s.largest_fitted:>12.4g}  {s.predicted_size:>10.4g}  {s.n_fitted:>5}  "
                    f"{s.n_predicted:>6}  ")
            if s.error is not None:
                lines.append(head + f"fit failed: {s.error}")
            else:
                line = head + f"{s.mean_error:>8.2%}  {s.max_error:>8.2%}  {s.trust}"
                lines.append(line + (f"  (not identified: {s.flag})" if s.flag else ""))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def rollout(fit: Callable[..., FitResult], x: Any, y: Any, sizes: Any = None, min_sizes: int = 2,
            **fit_kwargs: Any) -> Rollout:
    """For k = ``min_sizes`` .. (number of distinct sizes - 1): refit on the runs whose size is
    among the k smallest and predict every run at the (k+1)-th size.

    ``sizes``: the size of each run (default the first x array, e.g. N for ``(N, D)``).
    ``min_sizes`` defaults to 2, the fewest sizes that can show a trend. No attempt is made to
    guess from the law how many sizes it needs: a fit that fails at some k (a ``ValueError``: too
    few points for its parameters, a constant input; or a numerical failure, see the module
    docstring) gives that row its reason in ``error`` instead of numbers, and a fit the fitter
    marks as not identified by its points (e.g. 2 sizes, or sizes spanning under 0.2 decades, for
    ``fit_chinchilla``) gives its row ``flag``; so the table shows where the ladder becomes long
    enough to fit and to identify the law, and the remaining rows are always computed.
    """
    xs, y = _inputs(x, y)
    key = xs[0] if sizes is None else as_float_array(sizes, "sizes")
    check_same_length(y=y, sizes=key)
    distinct = np.unique(key)
    if distinct.size < 2:
        raise ValueError(f"rollout needs runs at >= 2 distinct sizes, got {distinct.size}")
    if not (isinstance(min_sizes, (int, np.integer)) and 1 <= min_sizes <= distinct.size - 1):
        raise ValueError(f"min_sizes must be an integer in [1, {distinct.size - 1}] (there are "
                         f"{distinct.size} distinct sizes), got {min_sizes!r}")
    rows = []
    for k in range(int(min_sizes), distinct.size):
        fitted, target = key <= distinct[k - 1], key == distinct[k]
        row = RolloutRow(k=k, largest_fitted=float(distinct[k - 1]), predicted_size=float(distinct[k]),
                         n_fitted=int(fitted.sum()), n_predicted=int(target.sum()))
        try:
            res = fit(*(v[fitted] for v in xs), y[fitted], **fit_kwargs)
            with np.errstate(all="ignore"):  # a law evaluated far outside its fit may overflow: inf, not a crash
                pred = res.predict(*(v[target] for v in xs))
                err = np.abs(pred - y[target]) / np.abs(y[target])
        except FIT_FAILURES as exc:
            row.error = _reason(exc)
        else:
            row.mean_error, row.max_error = float(np.mean(err)), float(np.max(err))
            row.flag = _unidentified(res)
        rows.append(row)
    return Rollout(sizes=distinct, rows=rows)
