"""``scaling_claims.studies.learning_curves`` (what claims/test_learning_curves.py measures) on synthetic
runs with a known answer, and negative controls for the claims' assertions: the tolerance
rejects the no-progress forecast, and the paired "misses the annealing drop" check is not
confirmed when there is no annealing to miss."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from scaling_claims.studies import ladders
from scaling_claims.studies import learning_curves as lc
from scaling_claims.verdicts import checks
from scaling_claims.verdicts.estimates import paired_difference
from scaling_claims.verdicts.records import CONFIRMED, INCONCLUSIVE, REFUTED
from scaling_claims.engine.specs import Budget, RunResult
from scaling_claims.fit.forecast import annealing_areas

TOTAL, EVERY = 2000, 40
TOL = 1 - 2 ** -0.05


def run_spec(schedule="cosine", seed=0):
    base = ladders.stdlib_run(ladders.gpt(8, 2, 32), Budget(steps=TOTAL), seed, "cpu", "test")
    return base.replace(optim=dataclasses.replace(base.optim, schedule=schedule, batch_size=4), eval_every=EVERY,
                        eval_batches=16)


def tissue_law(lr, L0=2.0, A=0.3, alpha=0.5, drop=0.08):
    """Tissue et al.'s law with C set so that annealing takes ``drop`` nats off the end."""
    S1, S2 = annealing_areas(lr)
    return L0 + A * S1 ** -alpha - (drop / S2[-1] * S2 if S2[-1] > 0 else 0.0)


def fake_result(schedule="cosine", seed=0, noise=0.0, law=tissue_law, total=TOTAL, lr_override=None):
    """A finished run whose held-out curve follows ``law`` of its own schedule (Tissue et al.'s
    law by default: a power law in the LR area minus the annealing term), with relative noise."""
    spec = run_spec(schedule, seed)
    lr = lc.schedule(spec.optim, total)
    L = law(lr) * np.exp(np.random.default_rng(seed).normal(0, noise, total))
    fpt = 27648.0
    curve = [{"step": s, "tokens": s * 128, "flops": s * 128 * fpt,
              "lr": float(lr[s - 1] if lr_override is None else lr_override), "train_loss": float(L[s - 1]),
              "eval_loss": float(L[s - 1])} for s in range(EVERY, total + 1, EVERY)]
    return RunResult(key=f"fake-{schedule}-{seed}", spec=spec.to_dict(), status="ok", curve=curve,
                     steps=total, tokens=total * 128, flops=total * 128 * fpt, flops_per_token=fpt,
                     final_eval_loss=float(L[-1]))


def test_run_curve_reads_the_curve_and_rebuilds_the_schedule():
    c = lc.run_curve(fake_result())
    assert (c.total, c.warmup, c.width, c.schedule) == (TOTAL, 100, 8, "cosine")
    assert c.steps[0] == EVERY and c.steps[-1] == TOTAL and c.steps.size == TOTAL // EVERY
    assert c.lr.size == TOTAL and c.lr[0] == pytest.approx(1e-2 / 100) and c.lr[99] == pytest.approx(1e-2)
    assert c.lr[-1] == pytest.approx(1e-3)  # cosine to 10%
    s, L = c.window(0.2)
    assert s.tolist() == [120, 160, 200, 240, 280, 320, 360, 400]  # after the warmup, up to 20%
    assert c.window(0.2, skip_warmup=False)[0][0] == EVERY


def test_run_curve_refuses_what_it_cannot_use():
    bad = fake_result()
    bad.status, bad.failure = "failed", "diverged"
    with pytest.raises(ValueError, match="failed"):
        lc.run_curve(bad)
    one = fake_result()
    one.curve = one.curve[-1:]
    with pytest.raises(ValueError, match="set eval_every"):
        lc.run_curve(one)
    short = fake_result()
    short.curve = short.curve[:-1]
    with pytest.raises(ValueError, match="not at its planned"):
        lc.run_curve(short)
    with pytest.raises(ValueError, match="disagrees"):  # a curve recorded under another schedule
        lc.run_curve(fake_result(lr_override=3e-3))
    with pytest.raises(ValueError, match="fraction"):
        lc.run_curve(fake_result()).window(1.0)


def test_forecast_errors_on_known_laws():
    """On an exact annealing-law curve the annealing form recovers the end from 40% while the
    power law, blind to the schedule, misses the drop (forecast too high); on a constant-LR
    curve (no annealing term) both get close (the power law in steps only approximately: the
    warmup makes S1 = lr * (s - 49.5), not lr * s)."""
    cos, const = lc.run_curve(fake_result("cosine")), lc.run_curve(fake_result("constant"))
    assert abs(lc.forecast_error(cos, "annealing", 0.4)) < 1e-4
    assert lc.forecast_error(cos, "power", 0.4) > 0.01
    assert abs(lc.forecast_error(const, "power", 0.4)) < 0.01
    assert abs(lc.forecast_error(const, "annealing", 0.4)) < 1e-4
    assert lc.naive_error(const, 0.2) > 0.01  # the loss kept falling after 20%


def test_rule_outcome_stops_and_reports_what_it_saved():
    c = lc.run_curve(fake_result("constant"))
    o = lc.rule_outcome(c, min_fraction=0.2, window=3, rtol=0.01, skip_warmup=True)
    assert 0.2 * TOTAL <= o.stop_step < TOTAL and o.saved == pytest.approx(1 - o.stop_step / TOTAL)
    assert o.error == pytest.approx(o.forecast / c.final - 1) and abs(o.error) < 0.02  # warmup: see above
    never = lc.rule_outcome(c, min_fraction=0.2, window=3, rtol=1e-12)
    assert (never.stop_step, never.forecast, never.error, never.saved) == (TOTAL, None, 0.0, 0.0)


def test_median_abs_and_eval_overhead():
    e = lc.median_abs([-0.03, 0.01, 0.02, -0.05, 0.04], n_boot=500)
    assert e.value == pytest.approx(0.03) and e.lo <= 0.03 <= e.hi and not e.problem
    with pytest.raises(ValueError, match=">= 2 finite"):
        lc.median_abs([0.1])
    with pytest.raises(ValueError, match=">= 2 finite"):
        lc.median_abs([0.1, math.nan])
    c = lc.run_curve(fake_result())
    # 10 points of 16 batches x 4 windows x 32 bytes forward (fpt / 3) against 400 steps of 128 tokens
    assert lc.eval_overhead(c, 0.2) == pytest.approx(10 * 2048 / 3 / (400 * 128))


# ----------------------------------------------------------------------------- negative controls

def test_the_tolerance_rejects_the_no_progress_forecast():
    """The forecast claims' bar (median |error| <= 3.4%) is not passed by saying "no further
    progress": on curves that still fall after 20%, that forecast is refuted, while a forecast
    from the right law is confirmed on the same runs."""
    curves = [lc.run_curve(fake_result("constant", seed, noise=0.002)) for seed in range(8)]
    naive = checks.at_most("no-progress forecast", lc.median_abs([lc.naive_error(c, 0.2) for c in curves]), TOL)
    errors = [lc.forecast_error(c, "annealing", 0.4) for c in curves]
    right = checks.at_most("annealing law", lc.median_abs(errors), TOL)
    assert (naive.verdict, right.verdict) == (REFUTED, CONFIRMED), (naive.message, right.message)


def test_no_annealing_no_paired_miss():
    """The paired check of lc-power-misses-annealing: confirmed when the cosine runs have an
    annealing drop (Tissue et al.'s law with C > 0: 0.08 nats), never confirmed when both schedules' curves
    are the same law of the LR area without an annealing term (C = 0)."""
    def paired(drop):
        law = lambda lr: tissue_law(lr, drop=drop)  # noqa: E731
        cos = [lc.run_curve(fake_result("cosine", s, 0.002, law)) for s in range(6)]
        const = [lc.run_curve(fake_result("constant", s, 0.002, law)) for s in range(6)]
        d = paired_difference([lc.forecast_error(c, "power", 0.4) for c in cos],
                              [lc.forecast_error(c, "power", 0.4) for c in const], what="runs")
        return checks.ordered("cosine - constant", d, labels=("constant", "cosine"))

    assert paired(0.08).verdict == CONFIRMED
    assert paired(0.0).verdict in (REFUTED, INCONCLUSIVE)
