"""Batched ensembles in sweeps (``scaling_claims.runs.batches``): tiny same-shape runs train as one
ensemble, and no record changes for it. These equalities are exact, not within rounding: a run
on the batched path trains through the ensemble code whether a sweep groups it or not, and a
member's numbers do not depend on the other members (before the loss windows were averaged in
float64, a column mean over K members differed from K = 1's in the last bit, and
``test_a_members_record_does_not_depend_on_its_group`` failed for the MLP)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from scaling_claims.runs import batches
from scaling_claims.runs.cache import RunCache
from scaling_claims.engine.ensemble import group_key, train_ensemble
from scaling_claims.runs.executors import InProcessExecutor, PoolExecutor
from scaling_claims.engine.specs import Budget, DataSpec, EvalSpec, ModelSpec, OptimSpec, RunSpec
from scaling_claims.runs.sweep import run_sweep
from scaling_claims.engine.training import BATCHED_MAX_STEP_FLOPS, batched_path, step_flops, train, validate

MLP = ModelSpec(arch="mlp", d_in=16, hidden=(8,), d_out=4)
TINY_GPT = ModelSpec(n_layer=1, d_model=8, n_head=2, ctx=16)
BIG_GPT = ModelSpec(n_layer=2, d_model=32, n_head=4, ctx=64)  # a step of ~2.5e8 FLOPs at batch 16


def mlp_spec(seed: int, noise: float = 0.2, lr: float = 3e-3, steps: int = 40, h: int = 8) -> RunSpec:
    return RunSpec(model=dataclasses.replace(MLP, hidden=(h,)),
                   data=DataSpec.make("noisy_classes", seed=seed, n_train=64, n_classes=4, d_in=16, label_noise=noise),
                   optim=OptimSpec(lr=lr, weight_decay=0.0, batch_size=64, grad_clip=0.0, schedule="constant"),
                   budget=Budget(steps=steps), seed=seed, eval_every=20, eval_batches=1,
                   evals=(EvalSpec.make("classification.error"),), tag="batches-test")


def gpt_spec(seed: int, model: ModelSpec = TINY_GPT, batch: int = 4, lr: float = 3e-3) -> RunSpec:
    return RunSpec(model=model, data=DataSpec.make("stdlib", seed=seed), optim=OptimSpec(batch_size=batch, lr=lr),
                   budget=Budget(steps=30), seed=seed, eval_batches=1, tag="batches-test")


def same_record(a, b) -> bool:
    """Equal records apart from the wall time and the ensemble bookkeeping (compared as the
    cache stores them: JSON, where tuples become lists)."""
    da, db = (json.loads(json.dumps(r.to_dict())) for r in (a, b))
    for d in (da, db):
        d.pop("wall_time_s")
        d["env"].pop("ensemble", None)
    return da == db


def test_the_batched_path_is_chosen_by_the_specs_step_cost():
    for spec, expected in ((mlp_spec(0), True), (gpt_spec(0), True), (gpt_spec(0, BIG_GPT, 16), False),
                           (mlp_spec(0).replace(device="cpu", budget=Budget(steps=10 ** 6)), True)):
        _, task, _ = validate(spec)
        assert batched_path(spec, task) is expected
        assert (step_flops(spec, task) <= BATCHED_MAX_STEP_FLOPS) is expected
        assert (group_key(spec) is not None) is expected


def width_one_mlp(seed: int) -> RunSpec:
    return mlp_spec(seed, steps=100, h=1)


@pytest.mark.parametrize("make", [mlp_spec, width_one_mlp, gpt_spec], ids=["mlp", "mlp-width-1", "gpt"])
def test_a_members_record_does_not_depend_on_its_group(make):
    """The width-1 MLP is the case that failed while a lone run trained as a batch of one (its
    size-1 dims took other kernels); a lone run now trains beside a copy of itself."""
    specs = [make(s) for s in range(5)]
    alone = train(specs[0])
    assert alone.env["ensemble"] == {"size": 1, "wall_time_s": alone.wall_time_s, "beside_a_copy": True}
    assert same_record(alone, train_ensemble(specs[:2])[0])
    assert same_record(alone, train_ensemble(specs)[0])
    assert same_record(train(specs[3]), train_ensemble(specs)[3])


def test_plan_batches_groups_same_shape_tiny_runs_and_leaves_the_rest_alone():
    tiny = [mlp_spec(s) for s in range(20)]
    other_lr = mlp_spec(50, lr=1e-2)  # learning rate and weight decay may differ within a group
    other_steps = mlp_spec(60, steps=20)  # a different step count may not
    big = [gpt_spec(s, BIG_GPT, 16) for s in range(3)]
    specs = [big[0], *tiny[:10], other_steps, big[1], *tiny[10:], other_lr, big[2]]
    units = batches.plan_batches(specs)
    assert units == [[big[0]], [*tiny, other_lr], [other_steps], [big[1]], [big[2]]]
    assert batches.plan_batches(specs, batching=False) == [[s] for s in specs]
    # split for two workers: two parts of >= MIN_SPLIT runs each; at most max_group per part
    assert [len(u) for u in batches.plan_batches(tiny, parts=2)] == [10, 10]
    assert [len(u) for u in batches.plan_batches(tiny[:12], parts=2)] == [12]  # 6 + 6 would be too small
    assert [len(u) for u in batches.plan_batches(tiny, max_group=8)] == [7, 7, 6]
    with pytest.raises(ValueError):
        batches.plan_batches(tiny, parts=0)


def sweep_records(executor, specs, cache_dir):
    cache = RunCache(cache_dir)
    try:
        return run_sweep(specs, cache, executor, progress=False)
    finally:
        executor.close()


def test_batching_on_and_off_give_the_same_records(tmp_path):
    specs = [mlp_spec(s, noise) for noise in (0.2, 0.0) for s in range(4)] + [gpt_spec(0, BIG_GPT, 8)]
    on = sweep_records(InProcessExecutor(), specs, tmp_path / "on")
    off = sweep_records(InProcessExecutor(batching=False), specs, tmp_path / "off")
    assert [r.env["ensemble"]["size"] for r in on[:8]] == [8] * 8  # one ensemble of 8
    assert [r.env["ensemble"]["size"] for r in off[:8]] == [1] * 8
    assert "ensemble" not in on[8].env and "ensemble" not in off[8].env  # above the threshold: the plain loop
    assert all(same_record(a, b) for a, b in zip(on, off))
    pooled = sweep_records(PoolExecutor(workers=2), specs, tmp_path / "pool")
    assert all(same_record(a, b) for a, b in zip(on, pooled))


def test_a_group_trains_only_the_runs_without_a_record(tmp_path):
    cache = RunCache(tmp_path)
    specs = [mlp_spec(s) for s in range(4)]
    cache.put(train(specs[1]))
    outcome = cache.ensure_group(specs)
    assert outcome == {specs[0].key(): "trained", specs[1].key(): "cached", specs[2].key(): "trained",
                       specs[3].key(): "trained"}
    assert cache.get(specs[0].key()).env["ensemble"]["size"] == 3
    assert cache.ensure_group(specs) == {s.key(): "cached" for s in specs}


def test_a_diverging_member_is_recorded_failed_and_the_rest_are_fitted(tmp_path):
    cache = RunCache(tmp_path)
    specs = [gpt_spec(0), gpt_spec(1, lr=1e4), gpt_spec(2)]
    cache.ensure_group(specs)
    records = [cache.get(s.key()) for s in specs]
    assert [r.status for r in records] == ["ok", "failed", "ok"]
    assert "diverged" in records[1].failure or "non-finite" in records[1].failure
    assert same_record(records[0], train(specs[0]))


def test_an_ensemble_that_raises_fails_every_member_with_the_reason(tmp_path, monkeypatch):
    import scaling_claims.engine.ensemble as ensemble

    def broken(specs):
        raise TypeError("a bug in the batched step")

    monkeypatch.setattr(ensemble, "train_ensemble", broken)
    cache = RunCache(tmp_path)
    specs = [mlp_spec(s) for s in range(3)]
    assert set(cache.ensure_group(specs).values()) == {"trained"}
    for s in specs:
        r = cache.get(s.key())
        assert r.status == "failed" and "TypeError: a bug in the batched step" in r.failure
        assert "batched with 2 other run(s)" in r.failure
