"""The pytest plugin, exercised in fresh pytest runs (pytester): options, fixtures, default
deselection of slow/bench tests, xdist safety, --refresh across workers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scaling_claims.runs.executors import usable_cores

pytest_plugins = ["pytester"]

TESTS_DIR = Path(__file__).resolve().parent
REPO = TESTS_DIR.parent

CONFTEST = """
import pytest
from fake_train import fake_train

pytest_plugins = ["scaling_claims.plugin.pytest_plugin"]


@pytest.fixture
def sweep(sweep):
    sweep.train_fn = fake_train  # milliseconds instead of torch training
    return sweep
"""

SHARED_SWEEP = """
import json, os
from scaling_claims.engine.specs import Budget, DataSpec, ModelSpec, RunSpec

def specs():
    return [RunSpec(model=ModelSpec(n_layer=1, d_model=8 * (i + 1), n_head=2, ctx=16),
                    data=DataSpec.make("copy", length=4), budget=Budget(steps=5)) for i in range(6)]

def check(sweep, request, name):
    df = sweep(specs(), desc=name)
    assert list(df.key) == [s.key() for s in specs()] and (df.status == "ok").all()
    import torch
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    with open(os.environ["PLUGIN_REPORT"], "a") as fh:
        fh.write(json.dumps({"worker": worker, "pid": os.getpid(), "threads": torch.get_num_threads(),
                             "start": request.config._sc_session_start}) + "\\n")

def test_a(sweep, request):
    check(sweep, request, "a")

def test_b(sweep, request):
    check(sweep, request, "b")
"""


@pytest.fixture
def env(pytester: pytest.Pytester, monkeypatch, tmp_path):
    monkeypatch.setenv("PYTHONPATH", f"{TESTS_DIR}:{REPO}")
    monkeypatch.setenv("FAKE_TRAIN_LOG", str(tmp_path / "train.log"))
    monkeypatch.setenv("PLUGIN_REPORT", str(tmp_path / "report.jsonl"))
    monkeypatch.setenv("SCALING_CLAIMS_CACHE", str(tmp_path / "env-cache"))
    pytester.makeconftest(CONFTEST)
    pytester.makeini("[pytest]\naddopts = --strict-markers -p no:cacheprovider\n"
                     "markers =\n    quick: q\n    slow: s\n    bench: b\n")
    return tmp_path


def trained(tmp_path: Path) -> list[str]:
    log = tmp_path / "train.log"
    return [line.split()[1] for line in log.read_text().splitlines()] if log.exists() else []


def test_options_reach_the_fixtures(pytester, env):
    cache_dir = env / "cli-cache"
    pytester.makepyfile(f"""
        import pandas as pd
        from scaling_claims.engine.specs import Budget, DataSpec, ModelSpec, RunSpec

        def test_fixtures(device, budget_scale, run_cache, sweep):
            assert device == "cpu" and budget_scale == 0.25
            assert str(run_cache.root) == {str(cache_dir)!r}
            assert sweep.scaled(8) == 2 and sweep.scaled(2, minimum=3) == 3
            spec = RunSpec(model=ModelSpec(n_layer=1, d_model=8, n_head=2, ctx=16),
                           data=DataSpec.make("copy"), budget=Budget(steps=3), device=device)
            df = sweep([spec, spec])
            assert isinstance(df, pd.DataFrame) and len(df) == 2 and df.key.nunique() == 1
            (res,) = sweep.results([spec])
            assert res.key == spec.key() and res.ok and len(run_cache) == 1
    """)
    result = pytester.runpytest_subprocess("--device", "cpu", "--budget", "0.25", "--cache-dir", str(cache_dir),
                                           "--executor", "inprocess")
    result.assert_outcomes(passed=1)
    assert len(trained(env)) == 1 and not (env / "env-cache" / "runs").exists()


def test_cache_dir_defaults_to_the_environment_variable(pytester, env):
    pytester.makepyfile(f"""
        def test_root(run_cache):
            assert str(run_cache.root) == {str(env / "env-cache")!r}
    """)
    pytester.runpytest_inprocess().assert_outcomes(passed=1)


@pytest.mark.parametrize("args, message", [(["--budget", "0"], "--budget must be a positive"),
                                            (["--budget", "x"], "--budget must be a positive"),
                                            (["--workers", "0"], "--workers must be an integer >= 1"),
                                            (["--device", "tpu"], "invalid choice"),
                                            (["--executor", "nope"], "invalid choice")])
def test_bad_options_are_usage_errors(pytester, env, args, message):
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest_inprocess(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])


MARKED = """
import pytest

def test_plain():
    pass

@pytest.mark.quick
def test_quick():
    pass

@pytest.mark.slow
def test_slow():
    pass

@pytest.mark.bench
def test_bench():
    pass
"""


@pytest.mark.parametrize("args, passed, deselected", [([], 2, 2), (["-m", "slow"], 1, 3), (["-m", "quick"], 1, 3),
                                                       (["-m", "bench"], 1, 3), (["-m", "slow or not slow"], 4, 0)])
def test_slow_and_bench_are_deselected_unless_m_is_given(pytester, env, args, passed, deselected):
    pytester.makepyfile(MARKED)
    pytester.runpytest_inprocess(*args).assert_outcomes(passed=passed, deselected=deselected)


def test_default_executor_is_a_pool_and_trains_outside_pytest(pytester, env):
    if usable_cores() < 2:
        pytest.skip("auto picks the in-process executor on one core")
    pytester.makepyfile(test_shared=SHARED_SWEEP)
    pytester.runpytest_subprocess("-p", "no:xdist").assert_outcomes(passed=2)
    train_pids = {int(line.split()[0]) for line in (env / "train.log").read_text().splitlines()}
    test_pids = {json.loads(line)["pid"] for line in (env / "report.jsonl").read_text().splitlines()}
    assert len(trained(env)) == 6 and not train_pids & test_pids  # trained in pool workers
    assert len(train_pids) <= usable_cores()


def test_under_xdist_workers_share_cache_train_each_spec_once(pytester, env):
    pytest.importorskip("xdist")
    pytester.makepyfile(test_shared=SHARED_SWEEP)
    pytester.runpytest_subprocess("-n", "2").assert_outcomes(passed=2)
    assert sorted(trained(env)) == sorted(set(trained(env))) and len(trained(env)) == 6
    reports = [json.loads(line) for line in (env / "report.jsonl").read_text().splitlines()]
    assert {r["worker"] for r in reports} <= {"gw0", "gw1"} and all(r["threads"] == 1 for r in reports)

    # --refresh: every record predates this new session, so each spec is retrained once more,
    # and never twice: all workers use the controller's session start
    (env / "report.jsonl").unlink()
    pytester.runpytest_subprocess("-n", "2", "--refresh").assert_outcomes(passed=2)
    assert len(trained(env)) == 12 and sorted(trained(env)[6:]) == sorted(set(trained(env)[:6]))
    reports = [json.loads(line) for line in (env / "report.jsonl").read_text().splitlines()]
    assert len({r["start"] for r in reports}) == 1

    # and a warm cache without --refresh trains nothing
    pytester.runpytest_subprocess("-n", "2").assert_outcomes(passed=2)
    assert len(trained(env)) == 12


def test_unavailable_device_is_a_usage_error(pytester, env):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    pytester.makepyfile("def test_x(device):\n    pass\n")
    result = pytester.runpytest_subprocess("--device", "cuda")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*--device cuda*not available*"])


SLOW_SWEEP = """
from scaling_claims.engine.specs import Budget, DataSpec, ModelSpec, RunSpec

def test_slow_sweep(sweep):
    specs = [RunSpec(model=ModelSpec(n_layer=1, d_model=8 * (i + 1), n_head=2, ctx=16),
                     data=DataSpec.make("copy", length=4), budget=Budget(steps=5)) for i in range(8)]
    assert (sweep(specs, desc="slow toy sweep").status == "ok").all()
"""


@pytest.mark.parametrize("xdist", [False, True], ids=["serial", "n2"])
def test_live_progress_reaches_the_terminal(pytester, env, monkeypatch, xdist):
    """While a test trains, the process that owns the terminal prints sweep lines: from a pool
    (no -n) and from xdist workers (-n 2), whose own output pytest would swallow."""
    monkeypatch.setenv("FAKE_TRAIN_DELAY", "0.3")
    pytester.makepyfile(test_slow=SLOW_SWEEP)
    args = ["--progress-every", "0.3", "--executor", "inprocess"] + (["-n", "2"] if xdist else [])
    result = pytester.runpytest_subprocess(*args)
    result.assert_outcomes(passed=1)
    out = result.stdout.str() + result.stderr.str()
    assert "[sweeps] slow toy sweep:" in out, out
    assert "8/8 runs" in out and "done in" in out  # the final line
    # a warm cache is quiet: every run is read back within the display's interval
    again = pytester.runpytest_subprocess("--progress-every", "5", *(["-n", "2"] if xdist else []))
    again.assert_outcomes(passed=1)
    assert "[sweeps]" not in again.stdout.str() + again.stderr.str()


def test_progress_can_be_turned_off(pytester, env, monkeypatch):
    monkeypatch.setenv("FAKE_TRAIN_DELAY", "0.2")
    pytester.makepyfile(test_slow=SLOW_SWEEP)
    result = pytester.runpytest_subprocess("--progress-every", "0", "--executor", "inprocess")
    result.assert_outcomes(passed=1)
    assert "[sweeps]" not in result.stdout.str() + result.stderr.str()


def test_live_display_merges_workers_and_paces_its_lines(tmp_path):
    """Two processes sharing one sweep: the furthest view is shown; nothing before `every`
    seconds; a line at most every `every` seconds while it changes; one final line."""
    import io

    from scaling_claims.runs import live

    now = [1000.0]
    out = io.StringIO()
    display = live.LiveDisplay(tmp_path, out, every=5.0, clock=lambda: now[0])
    a, b = live.file_sink(tmp_path, "a"), live.file_sink(tmp_path, "b")
    state = {"desc": "isoflop", "total": 10, "trained": 0, "cached": 0, "elapsed": 0.0, "eta": None,
             "finished": False, "started_at": 1000.0}
    a({**state, "done": 1}), b({**state, "done": 3, "trained": 2, "cached": 1, "started_at": 999.0})
    assert display.poll() == [] and out.getvalue() == ""  # not yet 5 s old: a warm cache stays quiet
    now[0] = 1006.0
    assert display.poll() == ["isoflop: 3/10 runs (1 from the cache), 7s, ETA 16s"]
    now[0] = 1008.0
    b({**state, "done": 4, "started_at": 999.0})
    assert display.poll() == []  # changed, but within 5 s of the last line
    now[0] = 1012.0
    assert display.poll() == ["isoflop: 4/10 runs, 13s, ETA 20s"]
    a({**state, "done": 10, "finished": True})
    now[0] = 1013.0
    assert display.poll() == ["isoflop: 10/10 runs, done in 14s"]
    assert display.poll() == []  # once
    assert out.getvalue().count("[sweeps]") == 3


def test_executor_ray_from_the_command_line(pytester, env):
    """--executor ray: a local Ray instance trains the sweep and the driver fills the cache;
    with -n and no cluster address it is a usage error (each worker would start its own)."""
    pytest.importorskip("ray", reason="Ray is an optional extra: pip install -e '.[ray]'")
    pytester.makepyfile(test_shared=SHARED_SWEEP)
    result = pytester.runpytest_subprocess("-p", "no:xdist", "--executor", "ray", "--workers", "2")
    result.assert_outcomes(passed=2)
    assert sorted(trained(env)) == sorted(set(trained(env))) and len(trained(env)) == 6
    assert len(list((env / "env-cache" / "runs").glob("*.json"))) == 6
    bad = pytester.runpytest_subprocess("-n", "2", "--executor", "ray")
    assert bad.ret != 0 and "--ray-address" in bad.stdout.str() + bad.stderr.str()
