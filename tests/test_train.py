"""Tests of ``train(spec) -> RunResult``: end to end, budgets, schedule, determinism, failures."""

from __future__ import annotations

import math

import pytest
import torch

from scaling_claims.engine.flops import flops_per_token
from scaling_claims.engine.models import build_model
from scaling_claims.engine.specs import Budget, DataSpec, EvalSpec, ModelSpec, OptimSpec, RunResult, RunSpec
from scaling_claims.engine.training import DIVERGENCE_FACTOR, LossWatch, lr_multiplier, train

TINY = ModelSpec(n_layer=2, d_model=32, n_head=4, ctx=32)


def tiny_spec(**changes) -> RunSpec:
    base = RunSpec(model=TINY, data=DataSpec.make("stdlib"), optim=OptimSpec(batch_size=8),
                   budget=Budget(steps=30), eval_batches=2)
    return base.replace(**changes)


@pytest.fixture(scope="module")
def tiny_result() -> RunResult:
    return train(tiny_spec(evals=(EvalSpec.make("loss"), EvalSpec.make("lm.loss_by_position", n_batches=1))))


def test_tiny_run_end_to_end(tiny_result):
    r = tiny_result
    assert r.ok, r.failure
    assert r.steps == 30 and r.tokens == 30 * 8 * 32
    assert r.flops == pytest.approx(r.tokens * flops_per_token(TINY, 32))
    # The loss must fall well below the uniform-byte loss ln(256) = 5.55 nats in 30 steps; a
    # model that does not learn stays near it. 4.5 leaves a margin of ~1 nat for slower runs.
    first, last = r.curve[0], r.curve[-1]
    assert last["eval_loss"] < first["eval_loss"]
    assert r.final_eval_loss < 4.5
    assert [c["step"] for c in r.curve] == list(range(3, 31, 3))
    assert r.final_eval_loss == last["eval_loss"] and r.final_train_loss == last["train_loss"]
    assert r.params["total"] == sum(p.numel() for p in build_model(TINY).parameters())
    assert r.wall_time_s > 0
    assert r.env["device"] == "cpu" and r.env["torch"] == torch.__version__ and r.env["data"]["task"] == "stdlib"


def test_metrics_land_under_eval_name(tiny_result):
    m = tiny_result.metrics
    # "loss" evaluates the same fixed held-out batches as the curve's last point.
    assert m["loss/loss"] == pytest.approx(tiny_result.final_eval_loss, rel=1e-5)
    assert len(m["lm.loss_by_position/loss_by_position"]) == 32


def test_result_round_trips_through_dict(tiny_result):
    again = RunResult.from_dict(tiny_result.to_dict())
    assert again == tiny_result
    assert again.run_spec().key() == tiny_result.key


def test_same_spec_same_numbers_on_cpu():
    spec = tiny_spec(budget=Budget(steps=12))
    a, b = train(spec), train(spec)
    assert a.curve == b.curve  # bit-identical, not approximately equal


def test_numbers_do_not_depend_on_the_callers_thread_count():
    """train runs on one CPU thread whatever the caller uses, and gives the caller its count back."""
    spec = tiny_spec(budget=Budget(steps=12))
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        two = train(spec)
        assert torch.get_num_threads() == 2
        torch.set_num_threads(1)
        one = train(spec)
    finally:
        torch.set_num_threads(before)
    assert two.curve == one.curve and two.final_eval_loss == one.final_eval_loss
    assert two.env["threads"] == one.env["threads"] == 1


def test_seed_changes_numbers():
    spec = tiny_spec(budget=Budget(steps=5))
    assert train(spec).curve != train(spec.replace(seed=1)).curve


def test_train_leaves_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    train(tiny_spec(budget=Budget(steps=2)))
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("budget", [Budget(tokens=8 * 32 * 7 + 1), Budget(flops=8 * 32 * 7.5 * flops_per_token(TINY, 32))])
def test_token_and_flop_budgets_round_up_to_whole_steps(budget):
    r = train(tiny_spec(budget=budget))
    assert r.steps == 8


def test_budget_whole_steps():
    assert Budget(steps=7).whole_steps(100, 1.0) == 7
    assert Budget(tokens=1000).whole_steps(100, 1.0) == 10
    assert Budget(tokens=1001).whole_steps(100, 1.0) == 11
    assert Budget(flops=2000.0).whole_steps(100, 2.0) == 10
    assert Budget(tokens=5).whole_steps(100, 1.0) == 1  # less than a step still trains one
    assert Budget(flops=1.0).whole_steps(100, 2.0) == 1


def test_lr_schedule_warmup_then_cosine_to_floor():
    o = OptimSpec(lr=1.0, warmup_steps=4, min_lr_frac=0.1)
    mults = [lr_multiplier(s, o, 20) for s in range(20)]
    assert mults[:4] == [0.25, 0.5, 0.75, 1.0]
    assert mults[4] == pytest.approx(1.0) and mults[-1] == pytest.approx(0.1)
    assert all(a >= b for a, b in zip(mults[4:], mults[5:]))
    const = OptimSpec(lr=1.0, warmup_steps=2, schedule="constant")
    assert [lr_multiplier(s, const, 10) for s in range(4)] == [0.5, 1.0, 1.0, 1.0]


def test_nan_loss_fails_the_run_with_reason():
    # An absurd learning rate with no clipping blows the loss up; the run must end "failed"
    # (never raise), with a reason naming non-finite or divergent loss.
    r = train(tiny_spec(optim=OptimSpec(lr=1e6, grad_clip=0.0, batch_size=8), budget=Budget(steps=60)))
    assert r.status == "failed"
    assert "non-finite" in r.failure or "diverged" in r.failure
    assert math.isnan(r.final_eval_loss) and math.isnan(r.final_train_loss)
    assert r.steps < 60  # stopped at the failing check, not run to the end


def watched(*windows: list[list[float]]) -> tuple[LossWatch, list[list[str | None]]]:
    """Feed ``LossWatch`` windows of per-step losses (one list of member losses per step)."""
    watch, reasons, step = LossWatch(len(windows[0][0])), [], 0
    for window in windows:
        for losses in window:
            step += 1
            watch.add(torch.tensor(losses))
        reasons.append(watch.check(step))
    return watch, reasons


def test_divergence_check():
    # A finite loss that climbs past DIVERGENCE_FACTOR x the first window's mean is divergence;
    # one that stays below it is not (a noisy but healthy run).
    first = [[5.5]] * 3
    watch, reasons = watched(first, [[3.0], [3.2], [2.9]], [[DIVERGENCE_FACTOR * 5.5 + 0.1]] * 3)
    assert reasons[:2] == [[None], [None]]
    assert reasons[2][0].startswith("diverged: mean training loss 11.1 over steps 7-9")
    assert watch.train_losses() == pytest.approx([(5.5 * 3 + 3.0 + 3.2 + 2.9 + 3 * 11.1) / 9], rel=1e-6)
    _, reasons = watched([[1.0], [float("inf")], [1.0]])
    assert reasons == [["non-finite training loss at step 2"]]


def test_divergence_is_judged_per_member():
    # The ensemble's members share one watch but none of their numbers: member 1 diverging
    # or going NaN fails member 1 alone.
    _, reasons = watched([[2.0, 2.0, 2.0]] * 2, [[1.5, 9.0, 1.0], [1.4, 9.0, float("nan")]])
    assert reasons[0] == [None, None, None]
    assert reasons[1][0] is None
    assert reasons[1][1].startswith("diverged") and reasons[1][2] == "non-finite training loss at step 4"


@pytest.mark.parametrize(
    "spec, message",
    [
        (tiny_spec(data=DataSpec.make("nope")), "unknown task"),
        (tiny_spec(data=DataSpec.make("stdlib", colour=1)), "no option"),
        (tiny_spec(data=DataSpec.make("stdlib", seq_len=64)), "ctx"),
        (tiny_spec(model=ModelSpec(n_layer=1, d_model=16, n_head=2, ctx=32, vocab_size=100)), "vocab"),
        (tiny_spec(evals=(EvalSpec.make("lm.nonexistent"),)), "unknown evaluator"),
        (tiny_spec(evals=(EvalSpec.make("nomodule.loss"),)), "unknown evaluator"),
        (tiny_spec(model=ModelSpec(arch="mlp", d_in=4, hidden=(8,), d_out=2)), "classification"),
    ],
)
def test_invalid_spec_raises_value_error(spec, message):
    with pytest.raises(ValueError, match=message):
        train(spec)


def test_unavailable_device_raises_value_error():
    if torch.cuda.is_available():
        pytest.skip("CUDA is present")
    with pytest.raises(ValueError, match="not available"):
        train(tiny_spec(device="cuda"))


def test_bf16_autocast_trains_on_cpu():
    r = train(tiny_spec(dtype="bf16", budget=Budget(steps=10)))
    assert r.ok, r.failure
    assert r.env["dtype"] == "bf16"
    # bf16 changes rounding only; 10 steps still reduce the held-out loss from its start.
    assert r.curve[-1]["eval_loss"] < r.curve[0]["eval_loss"]


@pytest.mark.parametrize(
    "data, model",
    [
        (DataSpec.make("addition", k=2, reverse=True), ModelSpec(n_layer=1, d_model=32, n_head=2, ctx=16, vocab_size=16)),
        (DataSpec.make("modular", p=11), ModelSpec(n_layer=1, d_model=32, n_head=2, ctx=8, vocab_size=16, pos="rope")),
        (DataSpec.make("copy", max_len=6), ModelSpec(n_layer=1, d_model=32, n_head=2, ctx=16, vocab_size=16, pos="alibi")),
        (DataSpec.make("sparse_parity", n_tasks=4, n_bits=8, k=2), ModelSpec(arch="mlp", d_in=12, hidden=(32,), d_out=2)),
        (DataSpec.make("zipf_features", n_features=50), ModelSpec(arch="mlp", d_in=50, hidden=(16,), d_out=2)),
    ],
)
def test_every_task_kind_trains(data, model):
    r = train(RunSpec(model=model, data=data, optim=OptimSpec(batch_size=16), budget=Budget(steps=20)))
    assert r.ok, r.failure
    assert r.curve[-1]["eval_loss"] < r.curve[0]["eval_loss"] + 0.5  # trains without blowing up
    assert all(math.isfinite(c["train_loss"]) for c in r.curve)


def test_device_is_synchronised_before_each_clock_read(monkeypatch):
    # On CUDA/MPS kernels run asynchronously: a clock read without a synchronize first would
    # time only the launches. Record the order of synchronize() calls and clock reads.
    import types

    import scaling_claims.engine.training as train_mod

    events: list[str] = []
    monkeypatch.setattr(train_mod, "synchronize", lambda device: events.append("sync"))
    clock = types.SimpleNamespace(perf_counter=lambda: events.append("clock") or float(len(events)))
    monkeypatch.setattr(train_mod, "time", clock)
    r = train(tiny_spec(budget=Budget(steps=2)))
    assert events == ["sync", "clock", "sync", "clock"]
    assert r.wall_time_s == 2.0  # the second read minus the first


def test_runtime_error_during_training_fails_the_run(monkeypatch):
    # e.g. out of memory on a device: recorded as a failed run with the reason, not raised.
    import scaling_claims.engine.training as train_mod

    def boom(*a, **k):
        raise torch.OutOfMemoryError("CUDA out of memory (simulated)")

    monkeypatch.setattr(train_mod.nn.utils, "clip_grad_norm_", boom)
    r = train(tiny_spec(budget=Budget(steps=3)))
    assert r.status == "failed" and "OutOfMemoryError at step 1" in r.failure and r.steps == 0
