"""Batched ensembles in sweeps (marker ``bench``): run with

    pytest tests/benchmarks/test_batching.py -m bench -n0 --benchmark-only

1. ``test_mlp_sweep``: the sweep batching was built for, side by side with batching off and on
   in one run: a slice of the slow MLP double-descent sweep (claims/test_double_descent_mlp.py:
   full-batch one-hidden-layer MLPs on ``noisy_classes``, 20 seeds per width; here 6 of its 15
   widths and 500 of its 2,000 steps), through ``run_sweep`` with the in-process executor on one
   thread, a fresh cache each time. The two sweeps' records must be identical (asserted): only
   the wall time may differ. ``extra_info`` of "on" holds the speed-up.
2. ``test_ensemble_against_one_by_one``: K same-shape runs trained by ``train_ensemble`` against
   the plain single-model loop (``train_plain``), for tiny decoders and for the quick set's run
   shapes (3 seeds each, which the batched path's threshold leaves alone). ``extra_info``: the
   speed-up and the batched model FLOP/s as a fraction of the one-thread fp32 matmul roof
   (issue 12's target: >= 50% for decoders of <= 100k parameters).

Nothing about speed is asserted (a timing depends on the machine and its load); the figures
go to docs/engine.md with the machine they were measured on.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
import torch

from scaling_claims.runs.cache import RunCache
from scaling_claims.engine.ensemble import train_ensemble
from scaling_claims.runs.executors import InProcessExecutor
from scaling_claims.engine.flops import param_counts
from scaling_claims.engine.specs import Budget, DataSpec, EvalSpec, ModelSpec, OptimSpec, RunSpec
from scaling_claims.runs.sweep import run_sweep
from scaling_claims.engine.training import step_flops, train_plain, validate

pytestmark = pytest.mark.bench

WIDTHS, SEEDS, STEPS = (1, 4, 8, 16, 64, 512), range(20), 500
SWEEPS: dict[str, tuple[float, list[dict]]] = {}


def mlp_spec(h: int, seed: int) -> RunSpec:
    """One run of the double-descent MLP sweep (its set-up, fewer steps)."""
    return RunSpec(
        model=ModelSpec(arch="mlp", d_in=16, hidden=(h,), d_out=4),
        data=DataSpec.make("noisy_classes", seed=seed, n_train=200, n_classes=4, d_in=16, label_noise=0.2,
                           separation=3.5),
        optim=OptimSpec(lr=3e-3, weight_decay=0.0, batch_size=200, grad_clip=0.0, schedule="constant"),
        budget=Budget(steps=STEPS), seed=seed, eval_every=STEPS, eval_batches=1,
        evals=(EvalSpec.make("classification.error"),), tag="bench-batching")


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("batching", ["plain", "off", "on"])  # in this order: "on" reads the others' times
def test_mlp_sweep(benchmark, batching, tmp_path_factory):
    """plain: every run through the plain single-model loop (``train_plain``), as the engine
    trained them before the batched path; off: ``--no-batching`` (each tiny run an ensemble of
    one, beside a copy of itself: the same records as "on"); on: grouped."""
    specs = [mlp_spec(h, s) for h in WIDTHS for s in SEEDS]

    def sweep():
        executor = InProcessExecutor(batching=batching == "on")
        return run_sweep(specs, RunCache(tmp_path_factory.mktemp("cache")), executor, progress=False,
                         train_fn=train_plain if batching == "plain" else None)

    results = benchmark.pedantic(sweep, rounds=1, iterations=1)
    seconds = benchmark.stats.stats.mean
    records = [{k: v for k, v in r.to_dict().items() if k not in ("wall_time_s", "env")} for r in results]
    SWEEPS[batching] = (seconds, records)
    benchmark.extra_info.update({"batching": batching, "runs": len(specs), "steps": STEPS, "widths": WIDTHS,
                                 "runs_by_ensemble_size": dict(Counter(  # 0: the plain loop
                                     r.env.get("ensemble", {}).get("size", 0) for r in results))})
    assert all(r.ok for r in results)
    if batching == "on":
        if "off" in SWEEPS:
            assert records == SWEEPS["off"][1]  # the same records, bit for bit
            benchmark.extra_info["speedup_vs_off"] = SWEEPS["off"][0] / seconds
        if "plain" in SWEEPS:
            benchmark.extra_info["speedup_vs_plain"] = SWEEPS["plain"][0] / seconds


CASES = {  # name: (model, batch, task, K)
    "gpt-8k ctx16 b8 K8": (ModelSpec(n_layer=2, d_model=16, n_head=2, ctx=16), 8, "stdlib", 8),
    "gpt-36k ctx64 b16 K8": (ModelSpec(n_layer=2, d_model=32, n_head=2, ctx=64), 16, "stdlib", 8),
    "gpt-36k ctx64 b16 K16": (ModelSpec(n_layer=2, d_model=32, n_head=2, ctx=64), 16, "stdlib", 16),
    "gpt-72k ctx64 b16 K8": (ModelSpec(n_layer=2, d_model=48, n_head=4, ctx=64), 16, "stdlib", 8),
    "quick kaplan gpt-12k ctx64 b16 K3": (ModelSpec(n_layer=2, d_model=16, n_head=2, ctx=64), 16, "stdlib", 3),
    "quick positional gpt-116k ctx64 b32 K3": (ModelSpec(n_layer=2, d_model=64, n_head=4, ctx=64, pos="alibi"),
                                               32, "stdlib", 3),
}
CASE_STEPS = 60


@pytest.mark.parametrize("name", list(CASES))
def test_ensemble_against_one_by_one(benchmark, name):
    from test_throughput import fp32_roof

    model, batch, task, K = CASES[name]
    specs = [RunSpec(model=model, data=DataSpec.make(task, seed=s), optim=OptimSpec(batch_size=batch),
                     budget=Budget(steps=CASE_STEPS), seed=s, eval_every=CASE_STEPS, tag="bench-batching")
             for s in range(K)]
    t0 = time.perf_counter()
    alone = [train_plain(s) for s in specs]
    one_by_one = time.perf_counter() - t0
    together = benchmark.pedantic(train_ensemble, args=(specs,), rounds=1, iterations=1)
    seconds = benchmark.stats.stats.mean
    _, t, _ = validate(specs[0])
    flops = K * CASE_STEPS * step_flops(specs[0], t)
    benchmark.extra_info.update({
        "case": name, "params_total": param_counts(model)["total"], "K": K, "steps": CASE_STEPS,
        "step_flops": step_flops(specs[0], t), "one_by_one_s": one_by_one, "speedup": one_by_one / seconds,
        "batched_fraction_of_fp32_roof": flops / seconds / fp32_roof(),
        "one_by_one_fraction_of_fp32_roof": flops / one_by_one / fp32_roof(),
    })
    assert all(r.ok for r in alone + together)
