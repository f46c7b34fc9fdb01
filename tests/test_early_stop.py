"""The early-stop rule (``scaling_claims.fit.forecast.early_stop_decision``) on synthetic curves
with a known answer: it stops on a clean power-law curve with the right forecast, does not stop
on a curve that keeps bending, respects ``min_fraction``; bad input is a ``ValueError``; and
properties that hold for any curve (Hypothesis)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaling_claims.fit import fit_learning_curve
from scaling_claims.fit import forecast as forecast_module
from scaling_claims.fit.forecast import StopDecision, annealing_areas, early_stop_decision, forecast_final_loss

TOTAL = 2000
STEPS = np.arange(20, TOTAL + 1, 20)


def power_curve(steps=STEPS, c=2.0, a=3.0, b=0.5):
    return c + a * np.asarray(steps, float) ** -b


def cosine_lr(total=TOTAL, peak=1e-3, warmup=50, floor=0.1):
    s = np.arange(total)
    cos = floor + (1 - floor) * 0.5 * (1 + np.cos(np.pi * np.clip((s - warmup) / (total - warmup - 1), 0, 1)))
    return peak * np.where(s < warmup, (s + 1) / warmup, cos)


def test_stops_on_a_clean_power_law_with_the_right_forecast():
    L = power_curve()
    d = early_stop_decision(STEPS[:20], L[:20], TOTAL)  # 20% done: steps 20..400
    assert isinstance(d, StopDecision) and d.stop
    assert d.forecast == pytest.approx(L[-1], rel=1e-6)
    assert "stable within 1.0% over the last 3 points" in d.reason
    assert d.forecast == forecast_final_loss(STEPS[:20], L[:20], TOTAL).value  # the latest forecast, exactly


def test_does_not_stop_before_min_fraction_but_already_forecasts():
    L = power_curve()
    d = early_stop_decision(STEPS[:19], L[:19], TOTAL)  # 19% done
    assert not d.stop and "before min_fraction" in d.reason and "19.0% < 20.0%" in d.reason
    assert d.forecast == pytest.approx(L[-1], rel=1e-6)
    assert early_stop_decision(STEPS[:39], L[:39], TOTAL, min_fraction=0.4).stop is False
    assert early_stop_decision(STEPS[:40], L[:40], TOTAL, min_fraction=0.4).stop is True


def test_too_few_points_give_no_forecast_and_no_stop():
    d = early_stop_decision([500, 1000, 1500], [2.5, 2.3, 2.2], 2000)
    assert d == StopDecision(False, None, d.reason) and "not enough points yet: 3, need 6" in d.reason
    d = early_stop_decision([400, 800, 1200, 1600, 2000], [2.6, 2.4, 2.3, 2.25, 2.2], 2000)  # one forecast, window 3
    assert not d.stop and d.forecast is not None and "not enough points" in d.reason


def test_does_not_stop_on_a_curve_that_keeps_bending():
    """A curve whose drop accelerates (as under a late learning-rate decay): every new point moves
    the power-law forecast by more than rtol, so the rule never stops, at any prefix."""
    steps = np.arange(100, TOTAL + 1, 100)
    L = power_curve(steps) - 1.0 * (steps / TOTAL) ** 2
    decisions = [early_stop_decision(steps[:k], L[:k], TOTAL) for k in range(4, steps.size)]
    assert not any(d.stop for d in decisions)
    allowed = ("not stable", "before min_fraction", "not enough points")
    assert all(any(w in d.reason for w in allowed) for d in decisions)
    assert any("not stable" in d.reason for d in decisions)


def test_a_stable_but_wrong_form_stops_with_a_wrong_forecast():
    """What the rule does not promise: on a cosine run the power-law forecast settles (stops) yet
    misses the annealing drop, while the annealing form stops at the right value."""
    lr = cosine_lr()
    S1, S2 = annealing_areas(lr)
    L = (2.0 + 0.9 * S1 ** -0.45 - 0.15 / S2[-1] * S2)[STEPS - 1]
    power = early_stop_decision(STEPS[:30], L[:30], TOTAL)
    annealing = early_stop_decision(STEPS[:30], L[:30], TOTAL, form="annealing", lr=lr)
    assert power.stop and power.forecast / L[-1] - 1 > 0.05
    assert annealing.stop and annealing.forecast == pytest.approx(L[-1], rel=1e-6)


def test_a_looser_window_of_sparser_forecasts_decides_from_the_last_window_only():
    L = power_curve()
    L_noisy = L.copy()
    L_noisy[25] *= 1.05  # one bad point, then clean again
    assert not early_stop_decision(STEPS[:27], L_noisy[:27], TOTAL).stop  # the bump is in the last 3 forecasts
    assert early_stop_decision(STEPS[:27], L_noisy[:27], TOTAL, rtol=0.5).stop


def test_a_flat_curve_forecasts_its_plateau():
    d = early_stop_decision(STEPS[:30], np.full(30, 2.5), TOTAL)
    assert d.stop and d.forecast == pytest.approx(2.5)


@pytest.mark.parametrize("broken, message", [
    (lambda f: (_ for _ in ()).throw(OverflowError("math range error")), "failed (OverflowError"),
    (lambda f: dataclasses.replace(f, value=-1.0), "not a positive loss"),
    (lambda f: dataclasses.replace(f, value=math.nan), "not a positive loss"),
])
def test_a_forecast_that_fails_counts_as_disagreement(monkeypatch, broken, message):
    """One of the window's forecasts cannot be made, or is no loss: the rule does not stop."""
    L = power_curve()
    real = forecast_module.forecast_final_loss

    def patched(steps, losses, *args, **kwargs):
        f = real(steps, losses, *args, **kwargs)
        return broken(f) if len(steps) == 29 else f

    monkeypatch.setattr(forecast_module, "forecast_final_loss", patched)
    d = early_stop_decision(STEPS[:30], L[:30], TOTAL)
    assert not d.stop and message in d.reason and d.forecast == pytest.approx(L[-1], rel=1e-6)


@pytest.mark.parametrize("kwargs, message", [
    (dict(steps=[], losses=[]), "empty"),
    (dict(losses=[3.0, math.nan, 2.5, 2.4, 2.3, 2.2]), "NaN"),
    (dict(steps=[100, 300, 200, 400, 500, 600]), "strictly increasing"),
    (dict(steps=[100, 200, 200, 400, 500, 600]), "strictly increasing"),
    (dict(steps=[100.5, 200, 300, 400, 500, 600]), "whole optimiser steps"),
    (dict(losses=[3.0, 2.8, -2.5, 2.4, 2.3, 2.2]), "positive"),
    (dict(losses=[3.0, 2.8, 2.5]), "mismatched lengths"),
    (dict(total_steps=500), "beyond total_steps"),
    (dict(total_steps=0), "total_steps"),
    (dict(total_steps=1000.0), "total_steps"),
    (dict(form="exponential"), "form"),
    (dict(form="annealing"), "needs lr"),
    (dict(form="annealing", lr=np.full(999, 1e-3)), "up to total_steps=1000"),
    (dict(form="annealing", lr=np.r_[np.full(999, 1e-3), -1.0]), "lr must be >= 0"),
    (dict(min_fraction=0.0), "min_fraction"),
    (dict(min_fraction=1.5), "min_fraction"),
    (dict(min_fraction=math.nan), "min_fraction"),
    (dict(min_fraction="0.2"), "min_fraction"),
    (dict(window=1), "window"),
    (dict(window=2.5), "window"),
    (dict(window=True), "window"),
    (dict(rtol=0.0), "rtol"),
    (dict(rtol=-0.01), "rtol"),
    (dict(rtol=math.inf), "rtol"),
])
def test_bad_input_is_refused(kwargs, message):
    args = dict(steps=[100, 200, 300, 400, 500, 600], losses=[3.0, 2.8, 2.6, 2.5, 2.45, 2.4], total_steps=1000)
    args.update(kwargs)
    steps, losses, total = args.pop("steps"), args.pop("losses"), args.pop("total_steps")
    with pytest.raises(ValueError, match=message):
        early_stop_decision(steps, losses, total, **args)


def test_a_four_point_fit_with_an_unbounded_coefficient_interval_does_not_overflow():
    """Met on a trained curve: four post-warmup points with a bump leave log(a) an interval past
    exp's range; the fit now reports an infinite interval instead of raising OverflowError."""
    fit = fit_learning_curve([120, 160, 200, 240], [2.9954, 2.9065, 2.9607, 2.8336])
    assert math.isinf(fit.ci["a"][1]) and math.isfinite(fit.predict([2000])[0])


# ----------------------------------------------------------------------------- properties

curves = st.tuples(st.floats(1.0, 4.0), st.floats(0.5, 5.0), st.floats(0.2, 1.0), st.floats(0.0, 0.01),
                   st.integers(0, 2**32 - 1))


def noisy_power_curve(c, a, b, noise, seed, steps=STEPS):
    return power_curve(steps, c, a, b) * np.exp(np.random.default_rng(seed).normal(0, noise, np.size(steps)))


@settings(max_examples=25, deadline=None)
@given(curve=curves, n=st.integers(1, STEPS.size), min_fraction=st.floats(0.05, 1.0))
def test_never_stops_before_min_fraction(curve, n, min_fraction):
    L = noisy_power_curve(*curve)
    d = early_stop_decision(STEPS[:n], L[:n], TOTAL, min_fraction=min_fraction)
    if STEPS[n - 1] < min_fraction * TOTAL:
        assert not d.stop and "before min_fraction" in d.reason
    if d.stop:
        assert d.forecast is not None and math.isfinite(d.forecast) and d.forecast > 0


@settings(max_examples=25, deadline=None)
@given(curve=curves, n=st.integers(10, STEPS.size), rtol=st.floats(1e-4, 0.05))
def test_a_looser_rtol_stops_whenever_a_tighter_one_does(curve, n, rtol):
    L = noisy_power_curve(*curve)
    tight = early_stop_decision(STEPS[:n], L[:n], TOTAL, rtol=rtol)
    loose = early_stop_decision(STEPS[:n], L[:n], TOTAL, rtol=2 * rtol)
    assert tight.forecast == loose.forecast
    assert loose.stop or not tight.stop


@settings(max_examples=25, deadline=None)
@given(curve=curves, n=st.integers(4, STEPS.size))
def test_the_forecast_is_forecast_final_loss_on_the_whole_curve(curve, n):
    L = noisy_power_curve(*curve)
    d = early_stop_decision(STEPS[:n], L[:n], TOTAL)
    try:
        expected = forecast_final_loss(STEPS[:n], L[:n], TOTAL).value
    except (ValueError, ArithmeticError):
        expected = None
    if expected is not None and not (math.isfinite(expected) and expected > 0):
        expected = None
    assert d.forecast == expected
