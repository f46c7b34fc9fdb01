"""Batched ensembles equal, within float32 rounding, the same runs trained one by one by the plain loop."""

from __future__ import annotations

import pytest
import torch

from scaling_claims.engine.ensemble import train_ensemble
from scaling_claims.engine.specs import Budget, DataSpec, EvalSpec, ModelSpec, OptimSpec, RunSpec
from scaling_claims.engine.training import train_plain  # the plain single-model loop: the batched path's reference

# Tolerance: the batched step computes the same sums in a different order (batched matmuls,
# explicit vs fused attention, a hand-written AdamW vs torch's fused one), so results differ
# by float32 rounding: ~1e-7 relative after 20 steps here. 1e-4 leaves room for that to grow
# through training while still failing for any real mismatch (a different seed, batch,
# learning rate or weight decay changes these losses by 1e-2 or more).
RTOL = 1e-4


def assert_same_run(a, b):
    assert (a.status, a.steps, a.tokens, a.flops, a.params, a.key) == (b.status, b.steps, b.tokens, b.flops, b.params, b.key)
    assert len(a.curve) == len(b.curve)
    for pa, pb in zip(a.curve, b.curve):
        assert pa["step"] == pb["step"] and pa["lr"] == pytest.approx(pb["lr"], rel=1e-12)
        assert pa["train_loss"] == pytest.approx(pb["train_loss"], rel=RTOL)
        assert pa["eval_loss"] == pytest.approx(pb["eval_loss"], rel=RTOL)
    assert a.metrics.keys() == b.metrics.keys()
    for k in a.metrics:
        assert a.metrics[k] == pytest.approx(b.metrics[k], rel=RTOL)


@pytest.mark.parametrize("pos", ["learned", "alibi"])
def test_ensemble_equals_one_by_one_gpt(pos):
    model = ModelSpec(n_layer=2, d_model=32, n_head=4, ctx=16, pos=pos)
    base = RunSpec(model=model, data=DataSpec.make("stdlib"), budget=Budget(steps=20), eval_batches=2,
                   evals=(EvalSpec.make("lm.loss", n_batches=1),))
    specs = [
        base.replace(seed=0, optim=OptimSpec(batch_size=8, lr=1e-3)),
        base.replace(seed=1, optim=OptimSpec(batch_size=8, lr=3e-3, weight_decay=0.0),
                     data=DataSpec.make("stdlib", seed=5, train_bytes=5000)),
        base.replace(seed=2, optim=OptimSpec(batch_size=8, lr=2e-3), data=DataSpec.make("stdlib", seed=1)),
    ]
    for a, b in zip(train_ensemble(specs), [train_plain(s) for s in specs]):
        assert_same_run(a, b)
        assert a.env["ensemble"]["size"] == 3


def test_ensemble_equals_one_by_one_mlp_and_masked_tasks():
    mlp = ModelSpec(arch="mlp", d_in=18, hidden=(32, 32), d_out=2)
    specs = [
        RunSpec(model=mlp, data=DataSpec.make("sparse_parity", seed=s, n_tasks=8, n_bits=10, n_train=n),
                optim=OptimSpec(batch_size=16, lr=lr), budget=Budget(steps=15), seed=s)
        for s, n, lr in [(0, None, 1e-3), (1, 64, 3e-3)]
    ]
    for a, b in zip(train_ensemble(specs), [train_plain(s) for s in specs]):
        assert_same_run(a, b)
    gpt = ModelSpec(n_layer=1, d_model=16, n_head=2, ctx=8, vocab_size=12, pos="rope")
    specs = [RunSpec(model=gpt, data=DataSpec.make("addition", seed=s, k=2, reverse=True), seed=s,
                     optim=OptimSpec(batch_size=16), budget=Budget(steps=15)) for s in range(2)]
    for a, b in zip(train_ensemble(specs), [train_plain(s) for s in specs]):
        assert_same_run(a, b)


def test_a_failing_member_fails_alone():
    model = ModelSpec(n_layer=1, d_model=16, n_head=2, ctx=16)
    base = RunSpec(model=model, data=DataSpec.make("stdlib"), budget=Budget(steps=30), eval_batches=1)
    good = base.replace(optim=OptimSpec(batch_size=4, lr=2e-3))
    bad = base.replace(optim=OptimSpec(batch_size=4, lr=1e4), seed=1)
    ens = train_ensemble([good, bad])
    assert ens[1].status == "failed" and ("non-finite" in ens[1].failure or "diverged" in ens[1].failure)
    assert_same_run(ens[0], train_plain(good))
    solo_bad = train_plain(bad)
    assert solo_bad.status == "failed"


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(model=ModelSpec(n_layer=1, d_model=16, n_head=2, ctx=16, pos="rope")), "ModelSpec"),
        (dict(optim=OptimSpec(batch_size=8)), "optimiser"),
        (dict(budget=Budget(steps=3)), "step counts"),
        (dict(dtype="bf16"), "dtype"),
    ],
)
def test_incompatible_runs_raise(change, message):
    base = RunSpec(model=ModelSpec(n_layer=1, d_model=16, n_head=2, ctx=16), data=DataSpec.make("stdlib"),
                   optim=OptimSpec(batch_size=4), budget=Budget(steps=2))
    with pytest.raises(ValueError, match=message):
        train_ensemble([base, base.replace(**change)])


def test_empty_ensemble_raises():
    with pytest.raises(ValueError, match="at least one"):
        train_ensemble([])


def test_runtime_error_fails_every_member(monkeypatch):
    import scaling_claims.engine.ensemble as ens_mod

    def boom(*a, **k):
        raise torch.OutOfMemoryError("out of memory (simulated)")

    monkeypatch.setattr(ens_mod, "_clip_per_model", boom)
    base = RunSpec(model=ModelSpec(n_layer=1, d_model=16, n_head=2, ctx=16), data=DataSpec.make("stdlib"),
                   optim=OptimSpec(batch_size=4), budget=Budget(steps=3))
    results = train_ensemble([base, base.replace(seed=1)])
    assert all(r.status == "failed" and "OutOfMemoryError at step 1" in r.failure and r.steps == 0 for r in results)
