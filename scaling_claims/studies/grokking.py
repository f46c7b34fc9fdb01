"""Reading grokking off accuracy curves (the grokking claims, claims/test_grokking.py).

Accuracy flickers, so a step count is "the first point from which the accuracy *stays* above
the threshold to the end of the run" (docs/sources.md, 'Grokking'), not the first crossing. The delay of a run is
t_gen / t_fit: held-out accuracy reaching its threshold over train accuracy reaching its own. A
run that never generalises has its delay censored at (steps trained) / t_fit, a lower bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence


def first_step_staying_at_least(steps: Sequence[float], values: Sequence[float], threshold: float) -> float | None:
    """The first of ``steps`` from which ``values`` stay >= ``threshold`` to the end (None when
    the last value is below it). ``ValueError`` for unequal lengths, no points, or steps that do
    not increase."""
    steps, values = list(steps), list(values)
    if len(steps) != len(values) or not steps:
        raise ValueError(f"need equal, non-zero numbers of steps and values, got {len(steps)} and {len(values)}")
    if any(b <= a for a, b in zip(steps, steps[1:])):
        raise ValueError("steps must increase")
    i = len(values)
    while i > 0 and values[i - 1] >= threshold:
        i -= 1
    return None if i == len(values) else steps[i]


@dataclass(frozen=True)
class Delay:
    """One run's grokking times: ``t_fit`` (train accuracy stays >= its threshold from here),
    ``t_gen`` (held-out accuracy likewise; None if never), ``delay`` = t_gen / t_fit, censored at
    ``steps / t_fit`` when ``t_gen`` is None (``censored``: the delay is then a lower bound)."""

    t_fit: float
    t_gen: float | None
    steps: float
    final_held_out: float

    @property
    def censored(self) -> bool:
        return self.t_gen is None

    @property
    def delay(self) -> float:
        return (self.steps if self.t_gen is None else self.t_gen) / self.t_fit


def delay_from_curve(curve: Sequence[Mapping[str, float]], train_acc: str, held_out_acc: str, fit_at: float = 0.99,
                     generalise_at: float = 0.95) -> Delay:
    """The :class:`Delay` of a run from its curve points (dicts with ``step`` and the two
    accuracy keys). ``ValueError`` when the training set was never fitted (no delay exists)."""
    steps = [pt["step"] for pt in curve]
    t_fit = first_step_staying_at_least(steps, [pt[train_acc] for pt in curve], fit_at)
    if t_fit is None:
        raise ValueError(f"the training set was never fitted to {fit_at:.0%} accuracy: the delay is undefined")
    t_gen = first_step_staying_at_least(steps, [pt[held_out_acc] for pt in curve], generalise_at)
    return Delay(t_fit, t_gen, steps[-1], curve[-1][held_out_acc])
