"""Leave-one-out / leave-largest-out checks, trust grades, named-target extrapolation and the
rollout (fit the k smallest sizes, predict the next)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from scaling_claims.fit import (Rollout, extrapolate, fit_chinchilla, fit_power_law, leave_largest_out,
                                leave_one_out, rollout, trust_grade)

X = np.logspace(4, 8, 9)


def test_trust_grade_thresholds():
    assert trust_grade(0.0) == "high"
    assert trust_grade(0.0499) == "high"
    assert trust_grade(0.05) == "medium"
    assert trust_grade(0.0999) == "medium"
    assert trust_grade(0.10) == "low"
    assert trust_grade(float("nan")) == "low"


def test_true_power_law_extrapolates_with_high_trust():
    rng = np.random.default_rng(0)
    y = (3 * X ** -0.1 + 1.0) * np.exp(rng.normal(0, 0.003, X.size))
    loo = leave_one_out(fit_power_law, X, y, offset=True)
    llo = leave_largest_out(fit_power_law, X, y, n_out=2, offset=True)
    assert loo.trust == "high" and llo.trust == "high"
    assert loo.held_out.tolist() == list(range(X.size))
    assert sorted(llo.held_out.tolist()) == [X.size - 2, X.size - 1]
    assert loo.max_error >= loo.mean_error


def test_negative_control_exponential_decay_gets_low_trust():
    """Data from another law: exponential decay towards a floor. A power law fitted to the
    smaller scales misses the largest by far more than 10%."""
    x = np.linspace(1, 12, 12)
    y = 0.2 + np.exp(-x / 2.0)
    check = leave_largest_out(fit_power_law, x, y, n_out=3, offset=True)
    assert check.trust == "low"
    assert check.max_error > 0.10


def test_extrapolate_to_named_target():
    rng = np.random.default_rng(1)
    y = (3 * X ** -0.1 + 1.0) * np.exp(rng.normal(0, 0.003, X.size))
    ex = extrapolate(fit_power_law, X, y, target=1e10, name="1e10 params", offset=True)
    truth = 3 * 1e10 ** -0.1 + 1.0
    assert ex.ci[0] <= truth <= ex.ci[1]
    assert ex.ci[0] < ex.value < ex.ci[1]
    assert ex.trust == "high"
    d = json.loads(json.dumps(ex.to_dict()))
    assert d["name"] == "1e10 params" and d["trust"] == "high"


def test_multi_input_law_leave_largest_out():
    Ng, Dg = np.meshgrid(np.logspace(7, 9, 5), np.logspace(9, 11, 5))
    N, D = Ng.ravel(), Dg.ravel()
    L = 1.7 + 400 * N ** -0.34 + 1200 * D ** -0.3
    check = leave_largest_out(fit_chinchilla, (N, D), L, n_out=5)  # the 5 runs at the largest N
    assert len(check.held_out) == 5 and np.all(N[check.held_out] == N.max())
    assert check.max_error < 1e-6  # noise-free: the law is recovered exactly from the rest
    ex = extrapolate(fit_chinchilla, (N, D), L, target=(1e10, 1e12))
    assert ex.value == pytest.approx(1.7 + 400 * 1e10 ** -0.34 + 1200 * 1e12 ** -0.3, rel=1e-6)


def test_rollout_of_a_true_power_law_is_exact_at_every_step():
    y = 3 * X ** -0.1 + 1.0
    ro = rollout(fit_power_law, X, y, min_sizes=3, offset=True)
    assert isinstance(ro, Rollout) and ro.sizes.tolist() == X.tolist()
    assert [r.k for r in ro.rows] == list(range(3, X.size))
    for r in ro.rows:
        assert r.error is None and r.max_error < 1e-6 and r.trust == "high"
        assert r.n_fitted == r.k and r.n_predicted == 1 and r.predicted_size == X[r.k]
    frame = ro.to_frame()
    assert len(frame) == X.size - 3 and set(frame["trust"]) == {"high"}
    d = json.loads(json.dumps(ro.to_dict()))
    assert d["kind"] == "rollout" and len(d["rows"]) == X.size - 3
    assert "predicts" in ro.table() and str(ro) == ro.table()


def test_rollout_shows_where_the_law_bends_away():
    """The largest three sizes bend above the power law (by 10% x log10(x/1e6)**2): steps that
    fit only the straight part and predict the bend get growing errors and lose trust."""
    y = (3 * X ** -0.1 + 1.0) * np.where(X > 1e6, 1 + 0.1 * np.log10(X / 1e6) ** 2, 1.0)
    rows = rollout(fit_power_law, X, y, offset=True).rows
    by_k = {r.k: r for r in rows}
    assert by_k[3].trust == by_k[4].trust == "high" and by_k[4].max_error < 1e-6  # before the bend
    bent = [by_k[k].max_error for k in range(5, X.size)]
    assert all(b > a for a, b in zip(bent, bent[1:]))  # errors grow with the distance into the bend
    assert by_k[X.size - 1].trust == "low" and by_k[X.size - 1].max_error > 0.10


def test_rollout_rows_with_too_few_sizes_carry_the_fit_error():
    y = 3 * X ** -0.1 + 1.0
    ro = rollout(fit_power_law, X, y, offset=True)  # default min_sizes=2: 2 points for 3 parameters
    first = ro.rows[0]
    assert first.k == 2 and "3 free parameters" in first.error
    assert first.trust is None and np.isnan(first.max_error)
    assert first.to_dict()["max_error"] is None and "fit failed" in ro.table()
    assert all(r.error is None for r in ro.rows[1:])
    with pytest.raises(ValueError, match="min_sizes"):
        rollout(fit_power_law, X, y, min_sizes=X.size)
    with pytest.raises(ValueError, match="distinct sizes"):
        rollout(fit_power_law, X, y, sizes=np.ones_like(X))


def test_rollout_with_the_chinchilla_fitter_on_a_grid():
    Ng, Dg = np.meshgrid(np.logspace(7, 9, 5), np.logspace(9, 11, 5))
    N, D = Ng.ravel(), Dg.ravel()
    L = 1.7 + 400 * N ** -0.34 + 1200 * D ** -0.3
    ro = rollout(fit_chinchilla, (N, D), L, min_sizes=1)
    assert [r.k for r in ro.rows] == [1, 2, 3, 4]
    assert "N is constant" in ro.rows[0].error  # one model size: N cannot vary
    assert all(r.n_predicted == 5 and r.n_fitted == 5 * r.k for r in ro.rows)
    assert ro.rows[-1].max_error < 1e-6 and ro.rows[-1].trust == "high"  # 4 sizes pin the noise-free law
    # the ladder can be ordered by another key: by D, predicting the next token count
    by_d = rollout(fit_chinchilla, (N, D), L, sizes=D, min_sizes=3, tie_exponents=True)
    assert by_d.rows[0].largest_fitted == np.unique(D)[2] and by_d.rows[0].error is None


# ----------------------------------------------------------------------------- failures and flags
def _failing_at(sizes_to_errors):
    """fit_power_law, except that fits whose largest x is a key of ``sizes_to_errors`` raise it."""

    def fit(x, y, **kw):
        exc = sizes_to_errors.get(float(np.max(x)))
        if exc is not None:
            raise exc
        return fit_power_law(x, y, **kw)

    return fit


def test_rollout_rows_survive_numerical_failures():
    """A step whose fit fails numerically (OverflowError, LinAlgError, FloatingPointError,
    ZeroDivisionError) is a row saying so; every other step is still computed."""
    y = 3 * X ** -0.1 + 1.0
    errors = {X[3]: OverflowError("math range error"), X[4]: np.linalg.LinAlgError("SVD did not converge"),
              X[5]: FloatingPointError("overflow encountered in exp"), X[6]: ZeroDivisionError()}
    ro = rollout(_failing_at(errors), X, y, min_sizes=3, offset=True)
    by_k = {r.k: r for r in ro.rows}
    assert by_k[3].trust == "high" and by_k[3].error is None  # fitted up to X[2]
    assert by_k[4].error == "OverflowError: math range error"
    assert by_k[5].error == "LinAlgError: SVD did not converge"  # any subclass of ValueError is named
    assert by_k[6].error == "FloatingPointError: overflow encountered in exp"
    assert by_k[7].error == "ZeroDivisionError"
    assert by_k[8].error is None and by_k[8].max_error < 1e-6
    assert all(np.isnan(by_k[k].max_error) and by_k[k].trust is None for k in (4, 5, 6, 7))
    lines = ro.table().splitlines()
    assert "fit failed: OverflowError: math range error" in lines[2] and "fit failed" not in lines[1]
    d = json.loads(json.dumps(ro.to_dict(), allow_nan=False))  # no NaN: None
    assert d["rows"][1]["max_error"] is None and d["rows"][1]["error"].startswith("OverflowError")
    assert list(ro.to_frame()["k"]) == list(range(3, X.size))


def test_rollout_does_not_hide_programming_errors():
    """Only fit failures become rows: a TypeError (a wrong keyword, a bug) still raises."""
    y = 3 * X ** -0.1 + 1.0
    with pytest.raises(TypeError):
        rollout(_failing_at({X[4]: TypeError("unexpected keyword")}), X, y, min_sizes=3, offset=True)


def test_leave_largest_out_with_a_failing_fit_is_a_check_that_says_so():
    y = 3 * X ** -0.1 + 1.0
    check = leave_largest_out(_failing_at({X[-2]: OverflowError("math range error")}), X, y, offset=True)
    assert check.fit_error == "OverflowError: math range error"
    assert np.isnan(check.predicted).all() and np.isnan(check.max_error) and check.trust == "low"
    d = json.loads(json.dumps(check.to_dict(), allow_nan=False))
    assert d["fit_error"] == check.fit_error and d["predicted"] == [None] and d["max_error"] is None
    ex = extrapolate(_failing_at({X[-2]: ValueError("too few points")}), X, y, target=1e9, offset=True)
    assert ex.check.fit_error == "too few points" and ex.trust == "low" and np.isfinite(ex.value)
    # leave-one-out: the failed point is NaN, the others predicted
    loo = leave_one_out(_failing_at({X[-2]: ArithmeticError("bad")}), X, y, offset=True)  # without X[-1]
    assert "ArithmeticError: bad" in loo.fit_error
    assert np.isnan(loo.predicted[-1]) and np.all(np.isfinite(loo.predicted[:-1]))


def test_rollout_marks_the_steps_that_cannot_identify_the_law():
    """fit_chinchilla on a 5x5 grid: with 2 sizes (k = 2) the N term is not identified; the row
    keeps its numbers, marked; from 3 sizes on no mark. The mark is in the table, the frame and
    the dict."""
    Ng, Dg = np.meshgrid(np.logspace(7, 9, 5), np.logspace(9, 11, 5))
    N, D = Ng.ravel(), Dg.ravel()
    L = (1.7 + 400 * N ** -0.34 + 1200 * D ** -0.3) * np.exp(np.random.default_rng(0).normal(0, 0.003, N.size))
    ro = rollout(fit_chinchilla, (N, D), L)
    first = ro.rows[0]
    assert first.k == 2 and first.error is None and np.isfinite(first.max_error)
    assert "only 2 distinct values of N" in first.flag
    assert all(r.flag is None for r in ro.rows[1:])
    lines = ro.table().splitlines()
    assert "(not identified: only 2 distinct values of N" in lines[1] and "not identified" not in lines[2]
    assert ro.to_frame()["flag"].notna().tolist() == [True, False, False]
    assert json.loads(json.dumps(ro.to_dict(), allow_nan=False))["rows"][0]["flag"] == first.flag
    small = N <= 1e8  # 3 sizes: the refit without the largest sees 2
    check = leave_largest_out(fit_chinchilla, (N[small], D[small]), L[small], n_out=5)
    assert "only 2 distinct values of N" in check.flag and check.fit_error is None


def test_rollout_marks_fits_given_whole_range_intervals():
    """The other marker of a fit its points cannot identify: ``info["not_identified"]`` (a degenerate
    fit whose intervals were widened to the parameters' whole range); the row shows its flags."""

    def fit(x, y, **kw):
        res = fit_power_law(x, y, **kw)
        if len(x) < 5:
            res.info["not_identified"] = {"exponent": [-math.inf, math.inf]}
            res.flag("*", "too few points to measure the noise")
        return res

    ro = rollout(fit, X, 3 * X ** -0.1 + 1.0, min_sizes=3, offset=True)
    assert all("too few points to measure the noise" in r.flag for r in ro.rows[:2])
    assert all(r.flag is None for r in ro.rows[2:])
