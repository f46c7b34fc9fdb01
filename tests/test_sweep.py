"""run_sweep and results_frame: order, duplicates, refresh, failures, the frame's columns, and
cooperative sweeps (two processes sharing one sweep split it)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from fake_train import diverging_train, fake_train
from scaling_claims.runs.cache import RunCache
from scaling_claims.runs.executors import InProcessExecutor
from scaling_claims.engine.specs import Budget, DataSpec, EvalSpec, ModelSpec, OptimSpec, RunSpec
from scaling_claims.runs.sweep import results_frame, run_sweep

TESTS_DIR = Path(__file__).resolve().parent
REPO = TESTS_DIR.parent


def specs(n: int, seed: int = 0) -> list[RunSpec]:
    return [RunSpec(model=ModelSpec(n_layer=1 + i % 2, d_model=8 * (i + 1), n_head=2, ctx=16),
                    data=DataSpec.make("copy", length=4, alphabet=(1, 2)), budget=Budget(steps=5),
                    optim=OptimSpec(lr=1e-3), seed=seed, evals=(EvalSpec.make("loss"),)) for i in range(n)]


@pytest.fixture
def train_log(tmp_path, monkeypatch):
    log = tmp_path / "train.log"
    monkeypatch.setenv("FAKE_TRAIN_LOG", str(log))
    return log


def trained(log: Path) -> list[str]:
    return [line.split()[1] for line in log.read_text().splitlines()] if log.exists() else []


def test_results_in_given_order_duplicates_trained_once(tmp_path, train_log):
    ss = specs(3)
    order = [ss[2], ss[0], ss[2], ss[1]]
    res = run_sweep(order, RunCache(tmp_path), train_fn=fake_train)
    assert [r.key for r in res] == [s.key() for s in order]
    assert sorted(trained(train_log)) == sorted(s.key() for s in ss)
    assert run_sweep(order, RunCache(tmp_path), train_fn=fake_train) == res  # all cached now
    assert len(trained(train_log)) == 3


def test_refresh_retrains_everything_once(tmp_path, train_log):
    ss = specs(2)
    run_sweep(ss, RunCache(tmp_path), train_fn=fake_train)
    time.sleep(0.01)
    run_sweep(ss, RunCache(tmp_path), train_fn=fake_train, refresh=True)
    assert len(trained(train_log)) == 4
    since = time.time() - 3600  # a session that started before these records: reuse them
    run_sweep(ss, RunCache(tmp_path), train_fn=fake_train, refresh=True, refresh_since=since)
    assert len(trained(train_log)) == 4


def test_failed_runs_come_back_as_rows_with_reason(tmp_path):
    ss = specs(2)
    res = run_sweep(ss, RunCache(tmp_path), train_fn=diverging_train)
    df = results_frame(res)
    assert list(df.status) == ["failed", "failed"] and df.failure.str.contains("NaN").all()
    assert df.final_eval_loss.isna().all()


def test_non_spec_input_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="RunSpec"):
        run_sweep([{"model": "gpt"}], RunCache(tmp_path), train_fn=fake_train)


def test_results_frame_columns(tmp_path):
    ss = specs(3, seed=7)
    df = results_frame(run_sweep(ss, RunCache(tmp_path), train_fn=fake_train))
    assert isinstance(df, pd.DataFrame) and len(df) == 3
    for col in ["key", "status", "failure", "final_train_loss", "final_eval_loss", "params_total",
                "params_non_embedding", "params_matmul", "flops_per_token", "tokens", "flops", "wall_time_s",
                "seed", "steps", "device", "dtype", "model.d_model", "model.n_layer", "model.arch", "data.task",
                "data.seed", "data.length", "data.alphabet", "optim.lr", "budget.steps", "budget.tokens",
                "loss/eval_loss"]:
        assert col in df.columns, col
    assert list(df["model.d_model"]) == [8, 16, 24] and set(df.seed) == {7}
    assert list(df["data.alphabet"]) == [(1, 2)] * 3
    assert df["optim.lr"].eq(1e-3).all() and df["budget.tokens"].isna().all()
    expected = [2.0 + 1000.0 / (s.model.d_model * s.model.n_layer) + 0.07 for s in ss]
    assert df.final_train_loss.tolist() == pytest.approx(expected)
    assert (df.params_non_embedding == [12 * s.model.n_layer * s.model.d_model**2 for s in ss]).all()


def test_results_frame_of_nothing_has_the_columns():
    df = results_frame([])
    assert len(df) == 0 and {"key", "status", "params_non_embedding"} <= set(df.columns)


def test_results_frame_keeps_nan_and_list_metrics(tmp_path):
    r = fake_train(specs(1)[0])
    r.metrics = {"pass_at_k/pass@1": 0.5, "curve/losses": [1.0, 0.5], "x/nan": math.nan}
    df = results_frame([r])
    assert df["pass_at_k/pass@1"][0] == 0.5 and list(df["curve/losses"][0]) == [1.0, 0.5] and math.isnan(df["x/nan"][0])


WORKER = textwrap.dedent("""
    import json, sys
    sys.path[:0] = [{tests!r}, {repo!r}]
    from fake_train import fake_train
    from test_sweep import specs
    from scaling_claims.runs.cache import RunCache
    from scaling_claims.runs.sweep import run_sweep
    res = run_sweep(specs(8), RunCache(sys.argv[1]), train_fn=fake_train, progress=False)
    print(json.dumps([r.key for r in res]))
""")


def test_two_processes_sharing_a_sweep_split_it(tmp_path, train_log, monkeypatch):
    """Each process takes the specs nobody holds, then waits for the rest: both train, none twice."""
    monkeypatch.setenv("FAKE_TRAIN_DELAY", "0.3")
    code = WORKER.format(tests=str(TESTS_DIR), repo=str(REPO))
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "cache")], stdout=subprocess.PIPE,
                              text=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}) for _ in range(2)]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    want = [s.key() for s in specs(8)]
    assert [json.loads(o) for o in outs] == [want, want]  # both see every result, in order
    lines = [line.split() for line in train_log.read_text().splitlines()]
    assert sorted(k for _, k in lines) == sorted(want)  # every spec trained exactly once
    per_pid = {pid: sum(1 for p, _ in lines if p == pid) for pid, _ in lines}
    # Both took part. The processes start a fraction of a second apart, so an exact 4/4 split
    # is not guaranteed; each training at least two of the eight 0.3 s runs is (a process that
    # only waited would train none).
    assert len(per_pid) == 2 and min(per_pid.values()) >= 2, per_pid


def test_real_runs_are_identical_in_process_and_in_a_pool(tmp_path):
    """Executors only fill the cache: the real trainer gives the same numbers in this process
    and in a spawn pool worker (CPU training is deterministic for a spec), so a claim does not
    depend on where its runs came from."""
    from scaling_claims.runs.executors import PoolExecutor

    ss = [RunSpec(model=ModelSpec(n_layer=1, d_model=16, n_head=2, ctx=16), data=DataSpec.make("stdlib"),
                  optim=OptimSpec(batch_size=4), budget=Budget(steps=6), seed=s) for s in (0, 1)]
    here = run_sweep(ss, RunCache(tmp_path / "a"), InProcessExecutor(), progress=False)
    pool = PoolExecutor(workers=2)
    try:
        there = run_sweep(ss, RunCache(tmp_path / "b"), pool, progress=False)
    finally:
        pool.close()
    assert all(r.ok for r in here + there)
    for a, b in zip(here, there):
        assert a.curve == b.curve and a.final_eval_loss == b.final_eval_loss and a.params == b.params
    assert here[0].final_eval_loss != here[1].final_eval_loss  # the seeds differ, so the comparison can fail


def test_require_ok_refuses_a_sweep_with_a_failed_run():
    import pandas as pd
    import pytest

    from scaling_claims.runs.sweep import require_ok

    good = pd.DataFrame({"status": ["ok", "ok"], "failure": [None, None]})
    assert require_ok(good) is good
    bad = pd.DataFrame({"status": ["ok", "failed"], "failure": [None, "loss is nan at step 12"]})
    with pytest.raises(RuntimeError, match=r"1 of 2 run\(s\) failed.*loss is nan at step 12"):
        require_ok(bad)
    from scaling_claims.engine import RunResult

    results = [RunResult(key="a", spec={}, status="ok"), RunResult(key="b", spec={}, status="ok")]
    assert require_ok(results) is results
    results.append(RunResult(key="c", spec={}, status="failed", failure="diverged at step 40"))
    with pytest.raises(RuntimeError, match=r"1 of 3 run\(s\) failed.*diverged at step 40"):
        require_ok(results)
