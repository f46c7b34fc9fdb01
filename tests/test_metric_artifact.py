"""``scaling_claims.verdicts.metric_artifact``: the two comparisons of emergence as a metric artifact
(claims/test_emergence.py's slow rows), on simulated ladders of 10 sizes x 16 seeds.

Negative controls: two metrics equally sharp (the slope gap must not confirm; the reverse ordering
is refuted), a per-token metric whose small-model trend cannot predict the larger models (it jumps
past the trend: its errors are refuted against the tolerance, and the claim that exact match is
the less predictable one is refuted), and two equally predictable metrics (the ordering must not
confirm). The positive control is Schaeffer et al.'s own world: a per-token accuracy that improves
as a power law in N, exact match its 4th power."""

from __future__ import annotations

import numpy as np
import pytest

from scaling_claims.verdicts import checks
from scaling_claims.verdicts.metric_artifact import predictability, slope_gap
from scaling_claims.verdicts.records import CONFIRMED, INCONCLUSIVE, REFUTED

N = np.array([1760, 3792, 6592, 10160, 14496, 19600, 25472, 39520, 56640, 100096], float)
FITTED = N <= 14496
TOL = 0.07


def logistic(slope, mid=2e4, lo=0.0):
    return lo + (1 - lo) / (1 + np.exp(-slope * (np.log(N) - np.log(mid))))


def noisy(curve, sd=0.03, seeds=16, seed=0):
    rng = np.random.default_rng(seed)
    return np.clip(curve[:, None] + rng.normal(0, sd, (N.size, seeds)), 0, 1)


def sharper(a, b, b_lower=0.0):
    g = slope_gap(N, a, b, b_lower=b_lower, n_boot=200)
    return checks.steeper_than("a sharper than b", g.slope_a, g.slope_b, paired=g.gap).verdict


def test_a_sharper_metric_is_confirmed_and_the_reverse_refuted():
    a, b = noisy(logistic(4.0)), noisy(logistic(1.5, lo=0.325), seed=1)
    assert sharper(a, b, b_lower=0.325) == CONFIRMED
    assert sharper(b, a) == REFUTED


def test_two_equally_sharp_metrics_are_not_confirmed():
    for seed in range(3):
        a, b = noisy(logistic(2.0), seed=seed), noisy(logistic(2.0), seed=seed + 10)
        assert sharper(a, b) != CONFIRMED


def test_the_same_runs_are_paired():
    # one lottery over runs drives both metrics (each run learns or not, from each metric's floor to
    # its ceiling): the same shape in every resample, so the paired gap is 0, never confirmed
    rng = np.random.default_rng(3)
    learned = rng.random((N.size, 16)) < logistic(2.5)[:, None]
    em = np.where(learned, 1.0, 0.0)
    acc = np.where(learned, 1.0, 0.325)
    g = slope_gap(N, em, acc, b_lower=0.325, n_boot=200)
    assert checks.steeper_than("em sharper", g.slope_a, g.slope_b, paired=g.gap).verdict == INCONCLUSIVE
    assert abs(g.gap.value) < 1e-3 and g.gap.hi - g.gap.lo < 1e-3


def schaeffer(seed=0, seeds=16):
    """Per-token accuracy improving as a power law in N (per run: a little noise), EM = p**4."""
    rng = np.random.default_rng(seed)
    p = 1 - 0.6 * (N / N[0]) ** -0.4  # 0.40 at the smallest size, 0.74 at the largest fitted, 0.88 at the top
    p = np.clip(p[:, None] + rng.normal(0, 0.01, (N.size, seeds)), 0.3, 0.999)
    return p ** 4, p


def judged(a, b):
    pr = predictability(N, a, b, FITTED, n_boot=200)
    errors_b = checks.all_within("b predicted", pr.errors_b, -TOL, TOL).verdict
    return errors_b, checks.ordered("a less predictable", pr.gap).verdict, pr


def test_schaeffers_world_is_confirmed():
    em, acc = schaeffer()
    errors_acc, ordering, pr = judged(em, acc)
    assert errors_acc == CONFIRMED
    # the same form fits EM's shortfall only at the small sizes' low accuracies, then misses
    assert ordering == CONFIRMED, pr.gap.text()


def test_a_per_token_metric_that_jumps_past_its_trend_is_refuted():
    em, acc = schaeffer()
    jumped = acc.copy()
    jumped[~FITTED] = np.clip(jumped[~FITTED] + 0.2, 0, 1)  # the larger models beat the small-model trend by 0.2
    errors_acc, _, _ = judged(em, jumped)
    assert errors_acc == REFUTED
    # and exact match, predictable, against a per-token metric that is not: the ordering is refuted
    smooth_em = acc.copy()
    broken = acc.copy()
    broken[~FITTED] = np.clip(broken[~FITTED] + 0.3, 0, 1)
    assert judged(smooth_em, broken)[1] == REFUTED


def test_two_equally_predictable_metrics_are_not_ordered():
    for seed in range(3):
        _, a = schaeffer(seed=seed)
        _, b = schaeffer(seed=seed + 10)
        assert judged(a, b)[1] != CONFIRMED


def test_input_is_validated():
    em, acc = schaeffer()
    with pytest.raises(ValueError):
        predictability(N, em, acc, ~FITTED)  # fitted above the held-out sizes: not a prediction
    with pytest.raises(ValueError):
        predictability(N, em, acc[:, :3], FITTED)  # not the same runs
    with pytest.raises(ValueError):
        slope_gap(N[::-1], em, acc)
    with pytest.raises(ValueError):
        slope_gap(N, em + 1, acc)
