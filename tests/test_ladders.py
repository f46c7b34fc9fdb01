"""Unit tests of scaling_claims.studies.ladders: the sweeps the Kaplan/Chinchilla claims train (no training)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaling_claims.studies import ladders
from scaling_claims.engine.specs import Budget


def keys(specs):
    return {s.key() for s in specs}


@pytest.mark.parametrize("level", ["quick", "slow"])
def test_kaplan_n_ladder_spans_required_decades(level):
    plan = ladders.kaplan_plan(level)
    N = [ladders.non_embedding(ladders.gpt(d)) for d in plan.widths]
    assert N == sorted(N) and len(set(N)) == len(N)
    assert math.log10(N[-1] / N[0]) >= 1.5  # issue 4: non-embedding N over >= 1.5 decades
    assert len(plan.seeds) >= 3


def test_kaplan_sweeps_share_runs_through_identical_specs():
    plan = ladders.kaplan_plan("quick")
    n, d, shape = (ladders.kaplan_n_specs(plan), ladders.kaplan_d_specs(plan), ladders.shape_specs(plan))
    # the largest L(D) budget is the N ladder's run at d_width; the depth-2 shape is a rung
    assert len(keys(n) & keys(d)) == len(plan.seeds)
    assert len(keys(n) & keys(shape)) == len(plan.seeds)
    assert len(keys(n) | keys(d) | keys(shape)) == len(n) + len(d) + len(shape) - 2 * len(plan.seeds)


def test_shapes_have_about_equal_n_and_spread_aspect_ratio():
    for level in ("quick", "slow"):
        plan = ladders.kaplan_plan(level)
        N = [ladders.non_embedding(ladders.gpt(d, L)) for L, d in plan.shapes]
        assert max(N) / min(N) < 1.3
        aspect = [d / L for L, d in plan.shapes]
        assert max(aspect) / min(aspect) >= 8


def test_budget_scale_scales_tokens_and_flops():
    plan = ladders.kaplan_plan("quick")
    a, b = ladders.kaplan_n_specs(plan, 1.0), ladders.kaplan_n_specs(plan, 0.5)
    assert all(y.budget.tokens == round(x.budget.tokens * 0.5) for x, y in zip(a, b))
    cp = ladders.chinchilla_plan("quick")
    c = ladders.isoflop_specs(cp, 2.0)
    assert sorted({s.budget.flops for s in c}) == [2 * C for C in cp.budgets]
    for bad in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="budget scale"):
            ladders.kaplan_n_specs(plan, bad)


def test_stdlib_run_recipe():
    spec = ladders.stdlib_run(ladders.gpt(32), Budget(tokens=102_400), seed=4)
    assert spec.seed == 4 and spec.data.seed == 4 and spec.data.task == "stdlib"
    assert spec.optim.batch_size == ladders.BATCH and spec.model.ctx == ladders.CTX
    assert spec.optim.warmup_steps == 5  # 5% of the 100 steps the budget gives
    assert spec.eval_every > 100 and spec.eval_batches == ladders.EVAL_BATCHES
    assert spec.optim.lr == pytest.approx(ladders.lr_for_width(32))
    with pytest.raises(ValueError):
        ladders.stdlib_run(ladders.gpt(8).__class__(arch="mlp", d_in=2, d_out=2, hidden=(4,)), Budget(steps=1))


@given(st.integers(min_value=1, max_value=2048))
def test_heads_divide_width(d):
    h = ladders.n_heads(d)
    assert 1 <= h <= max(1, d // ladders.HEAD_DIM) and d % h == 0


def test_lr_shrinks_with_width_and_is_capped():
    lrs = [ladders.lr_for_width(d) for d in ladders.WIDTH_RUNGS]
    assert lrs == sorted(lrs, reverse=True) and max(lrs) <= ladders.MAX_LR
    assert ladders.lr_for_width(ladders.BASE_WIDTH) == ladders.BASE_LR


@given(st.floats(min_value=2e3, max_value=5e6))
@settings(max_examples=50, deadline=None)
def test_width_for_params_is_nearest_in_log_space(target):
    d = ladders.width_for_params(target)
    err = abs(math.log(ladders.non_embedding(ladders.gpt(d)) / target))
    for other in (d - 4, d + 4):
        if other >= 8:
            assert err <= abs(math.log(ladders.non_embedding(ladders.gpt(other)) / target)) + 1e-12


@pytest.mark.parametrize("C", [3e10, 1e11, 1e12, 1e13])
def test_isoflop_widths_are_consecutive_rungs_centred_on_the_expected_optimum(C):
    target = ladders.expected_optimum(C)
    assert target == pytest.approx(ladders.QUICK_OPTIMUM[1] * (C / ladders.QUICK_OPTIMUM[0]) ** 0.5)
    w = ladders.isoflop_widths(C, 5)
    i = ladders.ISOFLOP_RUNGS.index(w[0])
    assert tuple(w) == ladders.ISOFLOP_RUNGS[i:i + 5]
    best = min(ladders.ISOFLOP_RUNGS, key=lambda d: abs(math.log(ladders.non_embedding(ladders.gpt(d)) / target)))
    assert w[2] == best  # the middle rung is the one nearest the expected optimum
    n = [ladders.non_embedding(ladders.gpt(d)) for d in w]
    assert n[0] < target < n[-1]


def test_isoflop_widths_refuse_an_off_centre_grid():
    """Below the ladder's floor a centred grid does not exist: an error, never a shifted grid."""
    assert ladders.isoflop_widths(3e10, 5) == [8, 10, 12, 14, 16]
    with pytest.raises(ValueError, match="centred grid of 7"):
        ladders.isoflop_widths(3e10, 7)
    with pytest.raises(ValueError, match="centred grid"):
        ladders.isoflop_widths(1e9, 3)
    assert ladders.centred_grid(3e10) == (3e10, (8, 10, 12, 14, 16))  # falls back to 5 rungs
    with pytest.raises(ValueError):
        ladders.centred_grid(1e9)


def test_slow_isoflop_plan_is_centred_and_spans_100x():
    plan = ladders.chinchilla_plan("slow")
    budgets = [c for c, _ in plan.grids]
    assert len(budgets) >= 4 and max(budgets) / min(budgets) >= 100
    for C, widths in plan.grids:
        n = np.array([ladders.non_embedding(ladders.gpt(d)) for d in widths])
        assert len(widths) % 2 == 1 and len(widths) >= 5
        centre = np.log(n[len(n) // 2])
        assert abs(np.log(ladders.expected_optimum(C)) - centre) < 0.5 * np.log(n[1:] / n[:-1]).max()


def test_isoflop_plan_and_bad_input():
    plan = ladders.chinchilla_plan("quick")
    specs = ladders.isoflop_specs(plan)
    assert len(specs) == sum(len(w) for _, w in plan.grids) * len(plan.seeds) == len(keys(specs))
    assert all(len(w) >= 3 for _, w in plan.grids)
    for bad in (0.0, -1.0, float("inf")):
        with pytest.raises(ValueError):
            ladders.isoflop_widths(bad)
        with pytest.raises(ValueError):
            ladders.expected_optimum(bad)
    for n in (2, 4):
        with pytest.raises(ValueError, match="n_sizes"):
            ladders.isoflop_widths(1e11, n)
    with pytest.raises(ValueError):
        ladders.kaplan_plan("medium")
    with pytest.raises(ValueError):
        ladders.chinchilla_plan("")


def test_kaplan_allocation_passes_through_anchor_with_exponent():
    assert ladders.kaplan_allocation(3e10, 3e10, 5000.0) == pytest.approx(5000.0)
    assert ladders.kaplan_allocation(3e11, 3e10, 5000.0) == pytest.approx(5000.0 * 10 ** 0.73)
    assert ladders.kaplan_allocation(3e11, 3e10, 5000.0, ladders.CHINCHILLA_ALLOCATION_EXPONENT) == pytest.approx(
        5000.0 * 10 ** 0.5)
    with pytest.raises(ValueError):
        ladders.kaplan_allocation(1e11, 0.0, 5000.0)


def test_showdown_specs_spend_equal_compute():
    specs = ladders.showdown_specs(3e11, (16, 32), seeds=(0, 1))
    assert len(specs) == 4 and {s.budget.flops for s in specs} == {3e11}
    assert {s.model.d_model for s in specs} == {16, 32}
