"""Executors fill the cache, the same way in-process and through a spawn process pool."""

from __future__ import annotations

import io
import os

import pytest

from fake_train import fake_train
from scaling_claims.runs.cache import RunCache
from scaling_claims.runs.executors import InProcessExecutor, PoolExecutor, Progress, make_executor, usable_cores
from scaling_claims.engine.specs import Budget, DataSpec, ModelSpec, RunSpec


def specs(n: int) -> list[RunSpec]:
    return [RunSpec(model=ModelSpec(n_layer=1, d_model=8 * (i + 1), n_head=2, ctx=16),
                    data=DataSpec.make("copy", length=4), budget=Budget(steps=5)) for i in range(n)]


@pytest.fixture
def train_log(tmp_path, monkeypatch):
    log = tmp_path / "train.log"
    monkeypatch.setenv("FAKE_TRAIN_LOG", str(log))
    return log


def log_lines(log):
    return [line.split() for line in log.read_text().splitlines()] if log.exists() else []


def test_inprocess_fills_cache_and_reports_what_it_did(tmp_path, train_log):
    cache, ss = RunCache(tmp_path / "c"), specs(3)
    out = InProcessExecutor().run(ss, cache, fake_train)
    assert out == {s.key(): "trained" for s in ss}
    assert sorted(cache.keys()) == sorted(s.key() for s in ss)
    assert InProcessExecutor().run(ss, cache, fake_train) == {s.key(): "cached" for s in ss}
    assert len(log_lines(train_log)) == 3
    assert {pid for pid, _ in log_lines(train_log)} == {str(os.getpid())}


def test_pool_trains_in_worker_processes_with_same_results(tmp_path, train_log):
    ss = specs(4)
    pool = PoolExecutor(workers=2)
    try:
        out = pool.run(ss, RunCache(tmp_path / "pool"), fake_train)
    finally:
        pool.close()
    assert out == {s.key(): "trained" for s in ss}
    pids = {pid for pid, _ in log_lines(train_log)}
    assert str(os.getpid()) not in pids and 1 <= len(pids) <= 2
    InProcessExecutor().run(ss, RunCache(tmp_path / "inproc"), fake_train)
    for s in ss:  # same records whichever executor made them (wall time and pid aside)
        a, b = RunCache(tmp_path / "pool").get(s.key()), RunCache(tmp_path / "inproc").get(s.key())
        a.env, b.env = {}, {}
        assert a == b


def test_pool_workers_use_one_torch_thread(tmp_path):
    pool = PoolExecutor(workers=2)
    try:
        threads = pool._get_pool().submit(_torch_threads).result(timeout=120)
    finally:
        pool.close()
    assert threads == 1


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def test_pool_answers_cache_hits_without_workers(tmp_path):
    cache, ss = RunCache(tmp_path), specs(3)
    InProcessExecutor().run(ss, cache, fake_train)
    pool = PoolExecutor(workers=2)
    assert pool.run(ss, cache, fake_train) == {s.key(): "cached" for s in ss}
    assert pool._pool is None  # nothing to train: no process was started


def test_make_executor_choices():
    assert make_executor("inprocess").name == "inprocess"
    assert make_executor("pool", workers=3).workers == 3
    assert make_executor("auto", in_worker=True).name == "inprocess"
    assert make_executor("auto", device="cuda").name == "inprocess"
    assert make_executor("auto", workers=1).name == "inprocess"
    assert make_executor("auto").name == ("pool" if usable_cores() > 1 else "inprocess")
    with pytest.raises(ValueError, match="executor must be one of"):
        make_executor("nope")
    with pytest.raises(ValueError, match="workers"):
        make_executor("pool", workers=0)


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_progress_silent_for_short_sweeps_then_shows_done_total_eta():
    clock, out = FakeClock(), io.StringIO()
    p = Progress(10, "kaplan", out, after_s=5, every_s=10, clock=clock)
    clock.t = 1
    p.update()
    assert out.getvalue() == ""  # short so far: nothing printed
    clock.t = 6
    p.update()
    assert out.getvalue().strip() == "kaplan: 2/10 runs, 6s elapsed, ETA 24s"
    clock.t = 7
    p.update()
    assert out.getvalue().count("\n") == 1  # rate limited
    clock.t = 20
    for _ in range(7):
        p.update()
    p.close()
    assert out.getvalue().splitlines()[-1] == "kaplan: 10/10 runs, 20s elapsed"


def test_progress_prints_nothing_for_a_fast_sweep():
    out = io.StringIO()
    p = Progress(3, "quick", out)
    for _ in range(3):
        p.update(trained=False)
    p.close()
    assert out.getvalue() == ""


def test_pool_replaces_a_dead_worker_and_retries_the_rest(tmp_path, train_log):
    from fake_train import dies_once_train

    ss = specs(3) + [specs(1)[0].replace(seed=13)]
    cache, pool = RunCache(tmp_path), PoolExecutor(workers=2)
    try:
        pool.run(ss, cache, dies_once_train)
    finally:
        pool.close()
    assert all(cache.get(s.key()) is not None for s in ss)
    assert sorted(set(k for _, k in log_lines(train_log))) == sorted(s.key() for s in ss)


def test_pool_gives_up_clearly_when_workers_keep_dying(tmp_path, train_log):
    from fake_train import always_dies_train

    bad = specs(1)[0].replace(seed=13)
    pool = PoolExecutor(workers=2)
    try:
        with pytest.raises(RuntimeError, match="died twice"):
            pool.run(specs(2) + [bad], RunCache(tmp_path), always_dies_train)
    finally:
        pool.close()


def test_estimated_cost_orders_runs_by_training_flops():
    from scaling_claims.runs.executors import estimated_cost
    from scaling_claims.engine.specs import Budget, DataSpec, ModelSpec, RunSpec

    def spec(d_model, **budget):
        return RunSpec(model=ModelSpec(d_model=d_model, n_head=4), data=DataSpec.make("stdlib"),
                       budget=Budget(**budget))

    assert estimated_cost(spec(64, steps=100)) > estimated_cost(spec(32, steps=100))
    assert estimated_cost(spec(32, steps=200)) == 2 * estimated_cost(spec(32, steps=100))
    assert estimated_cost(spec(32, flops=1e12)) == 1e12
    mlp = RunSpec(model=ModelSpec(arch="mlp", d_in=4, hidden=(8,), d_out=2), data=DataSpec.make("zipf_features"),
                  budget=Budget(steps=10))
    assert estimated_cost(mlp) == 10 * mlp.optim.batch_size * 6 * (4 * 8 + 8 * 2)


def test_progress_hands_its_state_to_a_sink_and_can_stay_silent():
    import io

    from scaling_claims.runs.executors import Progress

    states, out, t = [], io.StringIO(), [0.0]
    p = Progress(3, "demo", out, after_s=0.0, every_s=0.0, clock=lambda: t[0], show=False, sink=states.append)
    t[0] = 2.0
    p.update(trained=False)
    p.update()
    t[0] = 4.0
    p.update()
    p.close()
    assert out.getvalue() == ""  # show=False: nothing printed
    assert [s["done"] for s in states] == [0, 1, 2, 3, 3]
    assert states[2]["cached"] == 1 and states[2]["trained"] == 1 and states[2]["eta"] == pytest.approx(1.0)
    assert states[-1]["finished"] and not states[-2]["finished"]
