"""Learning-curve prediction on trained runs: the measurements of claims/test_learning_curves.py.

A run whose spec evaluates the held-out loss every ``eval_every`` steps leaves a curve
(``RunResult.curve``). From it:

- :func:`run_curve` reads the curve, the planned length and the learning rate of every step
  (rebuilt from the spec with the trainer's own schedule, and checked against the rate the curve
  recorded at each of its points);
- :func:`forecast_error` fits one form to the points in ``(warmup, fraction * total]`` and
  returns the relative error of its forecast of the final held-out loss;
- :func:`naive_error`: the same for the no-progress forecast "the final loss is the last one
  seen", the baseline any forecast must beat;
- :func:`rule_outcome` replays the early-stop rule (``fit.forecast.early_stop_decision``) over
  the curve's prefixes, as the trainer applies it at each curve point, and says where it would
  have stopped, with which forecast, and what that forecast's error is;
- :func:`median_abs` is the claims' statistic: the median |relative error| over runs with a
  percentile bootstrap interval over runs.

Relative errors are ``(forecast - actual) / actual``: positive means the forecast was too
pessimistic (the run ended lower than forecast).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from scaling_claims.verdicts.estimates import Estimate, bootstrap
from scaling_claims.fit.forecast import early_stop_decision, forecast_final_loss


@dataclass(frozen=True)
class RunCurve:
    """One run's held-out curve (``steps``, ``losses``), its planned length ``total``, warmup
    steps, per-step learning rates ``lr`` (``lr[i]`` for step i + 1), and what a point costs."""

    seed: int
    width: int
    schedule: str
    steps: np.ndarray
    losses: np.ndarray
    total: int
    warmup: int
    lr: np.ndarray
    flops: float  # training FLOPs of the whole run
    eval_flops_per_point: float  # forward FLOPs of one held-out evaluation

    @property
    def final(self) -> float:
        return float(self.losses[-1])

    def window(self, fraction: float, skip_warmup: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """The points a forecast from ``fraction`` of the run may use: steps <= fraction * total,
        after the warmup unless ``skip_warmup`` is False."""
        if not 0 < fraction < 1:
            raise ValueError(f"fraction must lie in (0, 1), got {fraction!r}")
        keep = self.steps <= fraction * self.total
        if skip_warmup:
            keep &= self.steps > self.warmup
        return self.steps[keep], self.losses[keep]


def schedule(optim: Any, total: int) -> np.ndarray:
    """The learning rate of every step 0..total-1 under ``optim`` (an ``OptimSpec``), by the
    trainer's own rule."""
    from scaling_claims.engine.training import lr_multiplier  # torch is imported only here

    return np.array([optim.lr * lr_multiplier(i, optim, total) for i in range(total)])


def run_curve(result: Any) -> RunCurve:
    """The :class:`RunCurve` of a finished ``RunResult`` (``ValueError`` for a failed run, a curve
    of fewer than 2 points, one that does not end at the planned step, or recorded learning
    rates that disagree with the spec's schedule)."""
    if not result.ok:
        raise ValueError(f"run {result.key} failed: {result.failure}")
    spec = result.run_spec()
    points = result.curve
    if len(points) < 2:
        raise ValueError(f"run {result.key} has {len(points)} curve point(s): set eval_every to get a curve")
    steps = np.array([p["step"] for p in points], dtype=float)
    losses = np.array([p["eval_loss"] for p in points], dtype=float)
    total = int(result.steps)
    if int(steps[-1]) != total:
        raise ValueError(f"run {result.key}: the curve ends at step {int(steps[-1])}, not at its planned {total}")
    lr = schedule(spec.optim, total)
    recorded = np.array([p["lr"] for p in points])
    if not np.allclose(lr[steps.astype(int) - 1], recorded, rtol=1e-9, atol=0):
        raise ValueError(f"run {result.key}: the rebuilt schedule disagrees with the learning rates the curve recorded")
    tokens_per_point = spec.eval_batches * spec.optim.batch_size * spec.model.ctx
    return RunCurve(seed=spec.seed, width=spec.model.d_model, schedule=spec.optim.schedule, steps=steps,
                    losses=losses, total=total, warmup=spec.optim.warmup_steps, lr=lr, flops=float(result.flops),
                    eval_flops_per_point=tokens_per_point * result.flops_per_token / 3)


def forecast_error(c: RunCurve, form: str, fraction: float, skip_warmup: bool = True) -> float:
    """Relative error of ``form``'s forecast of the final loss from ``fraction`` of the run."""
    s, L = c.window(fraction, skip_warmup)
    return forecast_final_loss(s, L, c.total, form=form, lr=c.lr).relative_error(c.final)


def naive_error(c: RunCurve, fraction: float) -> float:
    """Relative error of the no-progress forecast (the last loss seen by ``fraction``)."""
    _, L = c.window(fraction, skip_warmup=False)
    return float(L[-1] / c.final - 1)


@dataclass(frozen=True)
class RuleOutcome:
    """Where the early-stop rule stopped (``stop_step``; the planned end when it never did),
    its ``forecast`` (None when it never stopped), that forecast's relative ``error`` (0 when
    it never stopped: the run then trained to the end and knows its final loss) and ``saved``,
    the share of the run's training steps it skipped."""

    stop_step: int
    forecast: float | None
    error: float
    saved: float
    reason: str


def rule_outcome(c: RunCurve, *, form: str = "power", skip_warmup: bool = True, **rule: Any) -> RuleOutcome:
    """Replay ``early_stop_decision`` at every curve point, as the trainer does (``RunSpec.early_stop``
    passes the curve so far after the warmup: ``skip_warmup=True``; ``False`` replays the trainer's
    first wiring, warmup included), and report the first stop."""
    keep = c.steps > c.warmup if skip_warmup else np.ones(c.steps.size, bool)
    s, L = c.steps[keep], c.losses[keep]
    for k in range(1, s.size + 1):
        d = early_stop_decision(s[:k], L[:k], c.total, form=form, lr=c.lr, **rule)
        if d.stop and int(s[k - 1]) < c.total:
            return RuleOutcome(int(s[k - 1]), d.forecast, d.forecast / c.final - 1, 1 - s[k - 1] / c.total, d.reason)
    return RuleOutcome(c.total, None, 0.0, 0.0, "never stopped: trained to the planned end")


def median_abs(errors: Sequence[float], n_boot: int = 4000, seed: int = 0, level: float = 0.95) -> Estimate:
    """Median |relative error| over runs with a percentile bootstrap interval over runs."""
    a = np.abs(np.asarray(errors, dtype=float))
    if a.ndim != 1 or a.size < 2 or not np.all(np.isfinite(a)):
        raise ValueError(f"median_abs needs >= 2 finite errors, got {np.asarray(errors).tolist()}")
    boot = bootstrap(lambda i: np.median(a[i], axis=1), a.size, n_boot, seed, units="runs", batched=True)
    return boot.estimate(float(np.median(a)), level=level, what="median |relative error|")


def median_of(values: Sequence[float], n_boot: int = 4000, seed: int = 0) -> Estimate:
    """Median of ``values`` over runs with a percentile bootstrap interval over runs."""
    a = np.asarray(values, dtype=float)
    boot = bootstrap(lambda i: np.median(a[i], axis=1), a.size, n_boot, seed, units="runs", batched=True)
    return boot.estimate(float(np.median(a)), what="median")


def eval_overhead(c: RunCurve, fraction: float) -> float:
    """FLOPs of the held-out evaluations up to ``fraction`` of the run, as a share of the
    training FLOPs up to there (what the periodic curve costs the early stop)."""
    points = int(np.sum(c.steps <= fraction * c.total))
    train = c.flops * math.floor(fraction * c.total) / c.total
    return points * c.eval_flops_per_point / train
