"""Kill a real sweep process with SIGKILL halfway and start it again: nothing lost, nothing
trained twice, every record readable (issue 3, "What must show")."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

from scaling_claims.runs.cache import RunCache
from scaling_claims.engine.specs import Budget, DataSpec, ModelSpec, OptimSpec, RunSpec

TESTS_DIR = Path(__file__).resolve().parent
REPO = TESTS_DIR.parent
N_RUNS = 20


def sweep_specs() -> list[RunSpec]:
    """20 tiny decoders (about 10-25k parameters) on the byte-level stdlib corpus."""
    return [
        RunSpec(model=ModelSpec(n_layer=1 + i % 2, d_model=16 + 8 * (i % 3), n_head=2, ctx=32),
                data=DataSpec.make("stdlib"), optim=OptimSpec(batch_size=8), budget=Budget(steps=40),
                seed=i // 6, tag="resume-test")
        for i in range(N_RUNS)
    ]


SCRIPT = textwrap.dedent("""
    import sys
    sys.path[:0] = [{tests!r}, {repo!r}]
    from fake_train import counted_real_train
    from test_resume import sweep_specs
    from scaling_claims.runs.cache import RunCache
    from scaling_claims.runs.executors import PoolExecutor
    from scaling_claims.runs.sweep import run_sweep

    if __name__ == "__main__":
        pool = PoolExecutor(workers=2)
        res = run_sweep(sweep_specs(), RunCache(sys.argv[1]), pool, train_fn=counted_real_train, progress=False)
        pool.close()
        print(sum(r.ok for r in res))
""")


def start(cache: Path, events: Path) -> subprocess.Popen:
    script = cache.parent / "sweep_script.py"
    script.write_text(SCRIPT.format(tests=str(TESTS_DIR), repo=str(REPO)))
    env = {**os.environ, "TRAIN_EVENTS": str(events), "PYTHONDONTWRITEBYTECODE": "1"}
    # its own session (process group), so SIGKILL reaches the sweep and its pool workers at once,
    # as when a machine's job is killed
    return subprocess.Popen([sys.executable, str(script), str(cache)], env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def events(path: Path) -> list[tuple[str, int, str]]:
    return [(e, int(pid), key) for e, pid, key in (line.split() for line in path.read_text().splitlines())]


def test_sigkilled_sweep_resumes_without_loss_or_retraining(tmp_path):
    cache_dir, log = tmp_path / "cache", tmp_path / "events.log"
    keys = {s.key() for s in sweep_specs()}
    assert len(keys) == N_RUNS

    first = start(cache_dir, log)
    deadline = time.monotonic() + 240
    runs = cache_dir / "runs"
    while time.monotonic() < deadline and first.poll() is None:
        if runs.exists() and len(list(runs.glob("*.json"))) >= N_RUNS // 2:
            break
        time.sleep(0.01)
    assert first.poll() is None, f"the sweep ended before it could be killed: {first.communicate()}"
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(30)
    assert first.returncode == -signal.SIGKILL
    time.sleep(0.5)  # let any orphan writes (there should be none: the group was killed) land
    n_first = len(events(log))

    cache = RunCache(cache_dir)
    before = {k: cache.read(k) for k in cache.keys()}
    assert N_RUNS // 2 <= len(before) < N_RUNS, "killed halfway: some but not all runs finished"
    assert all(rec is not None and rec.result.ok for rec in before.values())

    second = start(cache_dir, log)
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    assert out.strip() == str(N_RUNS)

    # exactly 20 records, all readable, ok, and for exactly this sweep's specs
    after = {k: cache.read(k) for k in cache.keys()}
    assert set(after) == keys
    assert all(rec is not None and rec.result.ok and rec.result.key == k for k, rec in after.items())
    # finished runs were reused untouched (same writer and time), not retrained
    for k, rec in before.items():
        assert (after[k].created_pid, after[k].created_at) == (rec.created_pid, rec.created_at)
    # the event log: runs recorded before the kill were trained exactly once, by the first
    # sweep; every other run was trained exactly once by the second. The first sweep may have
    # started (or even finished, if killed before the record was written) a few runs it never
    # recorded: at most one per worker, and those are the only ones trained again.
    ev = events(log)
    first_ev, second_ev = ev[:n_first], ev[n_first:]
    for k in before:
        assert [e for e, _, key in ev if key == k] == ["start", "done"]
    done_second = Counter(k for e, _, k in second_ev if e == "done")
    assert set(done_second) == keys - set(before) and set(done_second.values()) == {1}
    interrupted = {k for _, _, k in first_ev} - set(before)
    assert len(interrupted) <= 2, interrupted
    # records of the resumed half were written by the second sweep's workers
    assert {after[k].created_pid for k in done_second} <= {pid for _, pid, _ in second_ev}
    assert not list(runs.glob("*.corrupt"))
    json.dumps([rec.result.to_dict() for rec in after.values()])  # all plain, serialisable records
