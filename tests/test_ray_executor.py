"""The Ray executor on a local Ray instance (2 CPUs): the same numbers as the in-process
executor, the driver's cache filled with no shared filesystem assumed, a worker SIGKILLed
mid-run retried, one that always dies recorded as failed with the reason, locks respected.
Skipped, with the reason, where Ray is not installed (``pip install -e ".[ray]"``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install -e '.[ray]'")

from fake_train import always_killed_train, fake_train, killed_once_train  # noqa: E402

from scaling_claims.runs.cache import RunCache  # noqa: E402
from scaling_claims.runs.executors import InProcessExecutor, make_executor  # noqa: E402
from scaling_claims.runs.ray_executor import RayExecutor  # noqa: E402
from scaling_claims.engine.specs import Budget, DataSpec, ModelSpec, OptimSpec, RunSpec  # noqa: E402
from scaling_claims.runs.sweep import run_sweep  # noqa: E402

TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def local_ray(tmp_path_factory):
    """One local Ray instance for the module; its workers inherit this environment (the fake
    trainers' module on the path, the kill-marker folder). A token of its own in
    ``RAY_AUTH_TOKEN``: Ray >= 2.59 turns token authentication on for a local ``ray.init()`` and
    would otherwise write ``~/.ray/auth_token`` into the user's home, which then switches every
    later ``ray start --head`` of this user to token authentication (issue 29)."""
    markers = tmp_path_factory.mktemp("kill-markers")
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "KILL_MARKER_DIR", "RAY_AUTH_TOKEN", "RAY_AUTH_MODE")}
    os.environ["PYTHONPATH"] = os.pathsep.join([str(TESTS), str(TESTS.parent), saved["PYTHONPATH"] or ""])
    os.environ["KILL_MARKER_DIR"] = str(markers)
    os.environ["RAY_AUTH_TOKEN"] = os.urandom(16).hex()
    if ray.is_initialized():  # another test in this process left one: start clean
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield markers
    finally:
        ray.shutdown()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def toy_specs(n: int, length: int = 4) -> list[RunSpec]:
    return [RunSpec(model=ModelSpec(n_layer=1, d_model=8 * (i + 1), n_head=2, ctx=16),
                    data=DataSpec.make("copy", length=length), budget=Budget(steps=5)) for i in range(n)]


def test_real_runs_match_the_in_process_executor(local_ray, tmp_path):
    specs = [RunSpec(model=ModelSpec(n_layer=1, d_model=16, n_head=2, ctx=16), data=DataSpec.make("stdlib"),
                     optim=OptimSpec(batch_size=4), budget=Budget(steps=6), seed=s) for s in (0, 1)]
    here = run_sweep(specs, RunCache(tmp_path / "a"), InProcessExecutor(), progress=False)
    executor = RayExecutor()
    there = run_sweep(specs, RunCache(tmp_path / "b"), executor, progress=False)
    executor.close()
    assert ray.is_initialized()  # an executor that did not start Ray leaves it running
    assert all(r.ok for r in here + there)
    for a, b in zip(here, there):
        assert a.curve == b.curve and a.final_eval_loss == b.final_eval_loss
    assert len(RunCache(tmp_path / "b")) == 2  # written by the driver
    # tiny same-shape runs: one Ray task trains both as a batched ensemble, as in-process does
    assert [r.env["ensemble"]["size"] for r in here + there] == [2, 2, 2, 2]


def test_a_killed_worker_is_retried_and_the_sweep_completes(local_ray, tmp_path):
    specs = toy_specs(4)
    cache = RunCache(tmp_path / "cache")
    out = RayExecutor(retries=1).run(specs, cache, killed_once_train)
    assert out == {s.key(): "trained" for s in specs}
    assert all(cache.get(s.key()).ok for s in specs)
    assert sorted(p.name for p in local_ray.iterdir()) >= sorted(s.key() for s in specs)  # each died once
    # a second run reads every record back
    assert RayExecutor().run(specs, cache, killed_once_train) == {s.key(): "cached" for s in specs}


def test_a_worker_that_always_dies_is_recorded_failed_with_the_reason(local_ray, tmp_path):
    (spec,) = toy_specs(1, length=5)
    cache = RunCache(tmp_path / "cache")
    assert RayExecutor(retries=1).run([spec], cache, always_killed_train) == {spec.key(): "trained"}
    rec = cache.get(spec.key())
    assert rec.status == "failed" and "ray:" in rec.failure and "1 retry" in rec.failure


def test_locks_and_busy_specs(local_ray, tmp_path):
    specs = toy_specs(3, length=6)
    cache = RunCache(tmp_path / "cache")
    lock = cache.lock(specs[0].key())
    lock.acquire()
    try:
        out = RayExecutor().run(specs, cache, fake_train, blocking=False)
    finally:
        lock.release()
    assert out[specs[0].key()] == "busy" and out[specs[1].key()] == out[specs[2].key()] == "trained"
    assert cache.get(specs[0].key()) is None


def test_make_executor_builds_it(local_ray):
    ex = make_executor("ray")
    assert isinstance(ex, RayExecutor)
    ex.close()


def test_the_run_command_trains_on_ray(local_ray, tmp_path):
    """``scaling-claims run --executor ray`` writes the CSV the in-process executor writes."""
    import json

    from scaling_claims.tool import cli

    specs = [RunSpec(model=ModelSpec(n_layer=1, d_model=16, n_head=2, ctx=16), data=DataSpec.make("stdlib"),
                     optim=OptimSpec(batch_size=4), budget=Budget(steps=6), seed=s) for s in (0, 1)]
    (tmp_path / "specs.json").write_text(json.dumps([s.to_dict() for s in specs]))
    for executor in ("inprocess", "ray"):
        argv = ["run", str(tmp_path / "specs.json"), "--out", str(tmp_path / f"{executor}.csv"),
                "--cache-dir", str(tmp_path / executor), "--executor", executor]
        assert cli.main(argv) == 0
    assert len(RunCache(tmp_path / "ray")) == 2
    assert (tmp_path / "ray.csv").read_text() == (tmp_path / "inprocess.csv").read_text()


def test_a_trainer_of_ones_own_trains_on_ray(local_ray, tmp_path):
    """``--trainer MODULE:FUNCTION`` (docs/trainers.md): the Ray workers import the trainer by name
    and train with it; the records go to the trainer's own folder of the driver's cache."""
    from scaling_claims.runs.trainer import load_trainer

    ref = load_trainer("byo_trainers:valid")
    specs = toy_specs(3)
    cache = RunCache(tmp_path, trainer=ref.identity)
    assert RayExecutor().run(specs, cache, ref) == {s.key(): "trained" for s in specs}
    for s in specs:
        got = cache.get(s.key())
        assert got.ok and got.env["trainer"] == ref.identity and got.env["pid"] != os.getpid()
    assert len(RunCache(tmp_path)) == 0  # nothing under the engine's keys
