"""Final-loss forecasts from the start of a curve (``scaling_claims.fit.forecast``), on synthetic
curves with a known answer."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scaling_claims.fit.forecast import annealing_areas, fit_annealing_law, forecast_final_loss

TOTAL = 2000


def cosine_lr(total: int = TOTAL, peak: float = 1e-3, warmup: int = 50, floor: float = 0.1) -> np.ndarray:
    s = np.arange(total)
    cos = floor + (1 - floor) * 0.5 * (1 + np.cos(np.pi * np.clip((s - warmup) / (total - warmup - 1), 0, 1)))
    return peak * np.where(s < warmup, (s + 1) / warmup, cos)


def annealing_curve(lr: np.ndarray, L0=2.0, A=0.9, alpha=0.45, drop=0.15) -> np.ndarray:
    """Tissue et al.'s law with C set so that annealing takes ``drop`` nats off the final loss."""
    S1, S2 = annealing_areas(lr)
    return L0 + A * S1 ** -alpha - drop / S2[-1] * S2


def test_annealing_areas_by_hand():
    S1, S2 = annealing_areas([0.5, 1.0, 1.0, 0.5, 0.5], decay=0.5)
    assert S1.tolist() == [0.5, 1.5, 2.5, 3.0, 3.5]
    # drops: 0, 0 (a rise is warmup, not annealing), 0, 0.5, 0; momentum: 0, 0, 0, 0.5, 0.25
    assert S2.tolist() == [0.0, 0.0, 0.0, 0.5, 0.75]
    assert annealing_areas(np.full(10, 3e-4))[1].tolist() == [0.0] * 10  # constant: no annealing


def test_power_law_curve_is_forecast_from_its_first_fifth():
    rng = np.random.default_rng(0)
    steps = np.arange(10, TOTAL + 1, 10)
    truth = 2.0 + 3.0 * steps ** -0.5
    noisy = truth * np.exp(rng.normal(0, 0.002, steps.size))
    early = steps <= TOTAL // 5
    f = forecast_final_loss(steps[early], noisy[early], TOTAL)
    assert f.fraction == pytest.approx(0.2)
    assert abs(f.relative_error(truth[-1])) < 0.01
    assert f.lo <= truth[-1] <= f.hi


def test_annealing_law_foresees_the_cosine_drop_that_a_power_law_misses():
    lr = cosine_lr()
    steps = np.arange(10, TOTAL + 1, 10)
    L = annealing_curve(lr)[steps - 1]
    early = steps <= int(0.4 * TOTAL)
    annealing = forecast_final_loss(steps[early], L[early], TOTAL, form="annealing", lr=lr)
    power = forecast_final_loss(steps[early], L[early], TOTAL, form="power")
    assert abs(annealing.relative_error(L[-1])) < 1e-3
    assert power.relative_error(L[-1]) > 0.02  # the final drop comes from annealing, not from steps
    fit = fit_annealing_law(*annealing_areas(lr), annealing_curve(lr))
    assert fit.n == TOTAL and fit.dof == TOTAL - 4  # a law of two inputs counts its points, not its inputs
    S2_end = annealing_areas(lr)[1][-1]
    assert fit.params["alpha"] == pytest.approx(0.45, rel=1e-3)
    assert fit.params["C"] == pytest.approx(0.15 / S2_end, rel=1e-3)


@pytest.mark.parametrize("steps, losses, message", [
    ([1, 2, 3], [3.0, 2.5, 2.2], "at least 4 points"),
    ([1, 2, 3, 4, 5], [3.0, math.nan, 2.2, 2.1, 2.0], "NaN"),
    ([1, 3, 2, 4, 5], [3.0, 2.5, 2.2, 2.1, 2.0], "strictly increasing"),
    ([1, 2, 2, 4, 5], [3.0, 2.5, 2.2, 2.1, 2.0], "strictly increasing"),
    ([0.5, 2, 3, 4, 5], [3.0, 2.5, 2.2, 2.1, 2.0], "whole optimiser steps"),
    ([1, 2, 3, 4, 5], [3.0, 2.5, -2.2, 2.1, 2.0], "positive"),
    ([1, 2, 3, 4, 5], [3.0, 2.5, 2.2, 2.1], "mismatched lengths"),
])
def test_bad_curves_are_refused(steps, losses, message):
    with pytest.raises(ValueError, match=message):
        forecast_final_loss(steps, losses, 100)


def test_bad_targets_and_schedules_are_refused():
    steps, losses = [10, 20, 30, 40, 50], [3.0, 2.6, 2.4, 2.3, 2.25]
    with pytest.raises(ValueError, match="target_step"):
        forecast_final_loss(steps, losses, 40)
    with pytest.raises(ValueError, match="form"):
        forecast_final_loss(steps, losses, 100, form="exponential")
    with pytest.raises(ValueError, match="needs lr"):
        forecast_final_loss(steps, losses, 100, form="annealing")
    with pytest.raises(ValueError, match="up to target_step=100"):
        forecast_final_loss(steps, losses, 100, form="annealing", lr=np.full(60, 1e-3))
    with pytest.raises(ValueError, match="at least 5 points"):
        forecast_final_loss(steps[:4], losses[:4], 100, form="annealing", lr=np.full(100, 1e-3))


def test_noisy_annealing_forecasts_from_two_fifths_of_a_cosine_run():
    """With 0.2% evaluation noise, 40% of a cosine run (annealing under way) pins the annealing
    law well enough: median error under 2% over 5 noise draws, the truth inside the band in at
    least 4 (measured: 0.2-4.3%, 4 of 5). From 20% the annealing term is not identified yet
    (C ends at its bound 0 in 3 of 5 draws, and the fit says so in ``flags``)."""
    lr = cosine_lr()
    steps = np.arange(10, TOTAL + 1, 10)
    L = annealing_curve(lr)[steps - 1]
    errors, covered, flagged_at_fifth = [], 0, 0
    for seed in range(5):
        noisy = L * np.exp(np.random.default_rng(seed).normal(0, 0.002, L.size))
        f = forecast_final_loss(steps[steps <= 800], noisy[steps <= 800], TOTAL, form="annealing", lr=lr)
        errors.append(abs(f.relative_error(L[-1])))
        covered += f.lo <= L[-1] <= f.hi
        early = forecast_final_loss(steps[steps <= 400], noisy[steps <= 400], TOTAL, form="annealing", lr=lr)
        flagged_at_fifth += not early.fit.ok
    assert np.median(errors) < 0.02 and covered >= 4
    assert flagged_at_fifth >= 1
