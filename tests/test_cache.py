"""The run cache: directory resolution, atomic records, failures, corruption, locking."""

from __future__ import annotations

import json
import math
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fake_train import diverging_train, fake_train, raising_train
from scaling_claims.runs.cache import ENV_VAR, RunCache, default_cache_dir, resolve_cache_dir
from scaling_claims.engine.specs import Budget, DataSpec, ModelSpec, RunResult, RunSpec


def spec(d_model: int = 16, seed: int = 0) -> RunSpec:
    return RunSpec(model=ModelSpec(n_layer=1, d_model=d_model, n_head=2, ctx=16), data=DataSpec.make("copy", length=4),
                   budget=Budget(steps=5), seed=seed)


@pytest.fixture
def train_log(tmp_path, monkeypatch) -> Path:
    log = tmp_path / "train.log"
    monkeypatch.setenv("FAKE_TRAIN_LOG", str(log))
    return log


def as_stored(res):
    """What a result looks like after a JSON round trip (tuples become lists)."""
    return RunResult.from_dict(json.loads(json.dumps(res.to_dict())))


def trained_keys(log: Path) -> list[str]:
    return [line.split()[1] for line in log.read_text().splitlines()] if log.exists() else []


def test_cache_dir_resolution_order(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "from-env"))
    assert resolve_cache_dir(tmp_path / "cli") == tmp_path / "cli"
    assert resolve_cache_dir(None) == tmp_path / "from-env"
    monkeypatch.delenv(ENV_VAR)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert resolve_cache_dir(None) == tmp_path / "xdg" / "scaling-claims" == default_cache_dir()
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == Path.home() / ".cache" / "scaling-claims"


def test_relative_cache_dir_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert RunCache("rel").root == tmp_path / "rel"


def test_roundtrip_and_provenance(tmp_path):
    cache = RunCache(tmp_path)
    s = spec()
    res = fake_train(s)
    before = time.time()
    rec = cache.put(res)
    assert cache.get(s.key()) == as_stored(res) == rec.result
    got = cache.read(s.key())
    assert got is not None and got.result == as_stored(res) and got.created_pid == rec.created_pid
    assert before <= got.created_at <= time.time()
    assert cache.keys() == [s.key()] and len(cache) == 1 and s.key() in cache
    assert cache.get(spec(d_model=32).key()) is None


def test_nonfinite_losses_roundtrip(tmp_path):
    cache = RunCache(tmp_path)
    s = spec()
    res = diverging_train(s)
    res.curve = [{"step": 3, "train_loss": math.inf}]
    cache.put(res)
    back = cache.get(s.key())
    assert back.status == "failed" and math.isnan(back.final_train_loss) and back.curve[0]["train_loss"] == math.inf


def test_ensure_trains_once_then_reuses(tmp_path, train_log):
    cache = RunCache(tmp_path)
    s = spec()
    assert cache.ensure(s, fake_train)[0] == "trained"
    how, res = cache.ensure(s, fake_train)
    assert how == "cached" and res == as_stored(fake_train(s))
    assert trained_keys(train_log).count(s.key()) == 2  # once by ensure, once by the comparison above


def test_refresh_since_retrains_only_older_records(tmp_path, train_log):
    cache = RunCache(tmp_path)
    s = spec()
    cache.ensure(s, fake_train)
    session_start = time.time() + 1e-3
    time.sleep(0.01)
    assert cache.ensure(s, fake_train, refresh_since=session_start)[0] == "trained"
    # a record made after the session started is reused, even under refresh
    assert cache.ensure(s, fake_train, refresh_since=session_start)[0] == "cached"
    assert trained_keys(train_log) == [s.key(), s.key()]


def test_failed_runs_are_recorded_with_reason(tmp_path, train_log):
    cache = RunCache(tmp_path)
    a, b = spec(seed=1), spec(seed=2)
    _, ra = cache.ensure(a, diverging_train)
    _, rb = cache.ensure(b, raising_train)
    assert ra.status == "failed" and "NaN" in ra.failure
    assert rb.status == "failed" and rb.failure.startswith("exception: RuntimeError: out of memory")
    assert cache.get(a.key()).failure == ra.failure and cache.get(b.key()).failure == rb.failure
    assert cache.ensure(b, raising_train)[0] == "cached"  # not retried on every sweep
    assert len(trained_keys(train_log)) == 2


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text[: len(text) // 2],  # truncated write
        lambda text: "",  # empty file
        lambda text: "not json at all",
        lambda text: json.dumps({**json.loads(text), "key": "0" * 32}),  # someone else's record
        lambda text: json.dumps({k: v for k, v in json.loads(text).items() if k != "result"}),
        lambda text: json.dumps({**json.loads(text), "result": {"key": "x"}}),  # result missing fields
        lambda text: "[1, 2, 3]",
    ],
    ids=["truncated", "empty", "garbage", "wrong-key", "no-result", "partial-result", "wrong-type"],
)
def test_corrupt_record_is_retrained_not_fatal(tmp_path, train_log, damage):
    cache = RunCache(tmp_path)
    s = spec()
    cache.ensure(s, fake_train)
    path = cache.path(s.key())
    path.write_text(damage(path.read_text()))
    with pytest.warns(UserWarning, match="unreadable record"):
        how, res = cache.ensure(s, fake_train)
    assert how == "trained" and res.ok
    assert cache.get(s.key()) == res
    assert path.with_name(path.name + ".corrupt").exists()  # kept for inspection


def test_put_leaves_no_temp_files_and_replaces_atomically(tmp_path):
    cache = RunCache(tmp_path)
    s = spec()
    cache.put(fake_train(s))
    cache.put(fake_train(s))
    assert sorted(p.name for p in cache.runs_dir.iterdir()) == [f"{s.key()}.json"]


def test_bad_keys_and_bad_train_results_raise(tmp_path):
    cache = RunCache(tmp_path)
    with pytest.raises(ValueError, match="hex digest"):
        cache.path("../etc/passwd")
    with pytest.raises(ValueError, match="expected"):
        cache.ensure(spec(), lambda s: fake_train(spec(d_model=64)))
    with pytest.raises(TypeError, match="RunResult"):
        cache.ensure(spec(), lambda s: {"loss": 1.0})


def test_nonblocking_ensure_reports_busy_while_another_holder_trains(tmp_path, train_log):
    cache = RunCache(tmp_path)
    s = spec()
    started, release = threading.Event(), threading.Event()

    def slow_train(x):
        started.set()
        release.wait(10)
        return fake_train(x)

    t = threading.Thread(target=cache.ensure, args=(s, slow_train))
    t.start()
    assert started.wait(10)
    assert cache.ensure(s, fake_train, blocking=False) == ("busy", None)
    release.set()
    t.join(10)
    how, res = cache.ensure(s, fake_train, blocking=False)
    assert how == "cached" and res.ok
    assert trained_keys(train_log) == [s.key()]


def test_concurrent_ensure_trains_each_spec_once(tmp_path, train_log, monkeypatch):
    monkeypatch.setenv("FAKE_TRAIN_DELAY", "0.02")
    cache = RunCache(tmp_path)
    specs = [spec(seed=i) for i in range(6)]
    threads = [threading.Thread(target=lambda: [cache.ensure(s, fake_train) for s in specs]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    keys = trained_keys(train_log)
    assert sorted(keys) == sorted(s.key() for s in specs)


finite_or_not = st.floats(allow_nan=True, allow_infinity=True)
metric_values = st.one_of(finite_or_not, st.integers(-10**12, 10**12), st.lists(finite_or_not, max_size=4),
                          st.text(max_size=8), st.none())


@settings(max_examples=30)
@given(metrics=st.dictionaries(st.text(min_size=1, max_size=12), metric_values, max_size=5),
       loss=finite_or_not, wall=st.floats(0, 1e6))
def test_any_result_roundtrips_through_the_cache(tmp_path_factory, metrics, loss, wall):
    """Whatever numbers a run produces (NaN and inf included), the record reads back equal."""
    cache = RunCache(tmp_path_factory.mktemp("rt"))
    res = fake_train(spec())
    res.metrics, res.final_eval_loss, res.wall_time_s = metrics, loss, wall
    back = cache.get(cache.put(res).key)
    assert back is not None
    # NaN != NaN, so compare the canonical JSON text of both
    assert json.dumps(back.to_dict(), sort_keys=True) == json.dumps(as_stored(res).to_dict(), sort_keys=True)


def test_the_code_salt_follows_the_engine_sources(tmp_path):
    """A change to training code, or a new engine module, changes every key (nothing to
    remember to bump); a change elsewhere in the package does not."""
    import shutil

    from scaling_claims.engine import specs as specs_mod

    pkg = Path(specs_mod.__file__).resolve().parents[1]
    copy = tmp_path / "scaling_claims"
    shutil.copytree(pkg, copy, ignore=shutil.ignore_patterns("__pycache__"))
    engine = copy / "engine"
    assert specs_mod.engine_fingerprint(engine) == specs_mod.CODE_VERSION
    report = copy / "verdicts" / "report.py"
    report.write_text(report.read_text() + "\n# not engine code\n")
    assert specs_mod.engine_fingerprint(engine) == specs_mod.CODE_VERSION
    (engine / "training.py").write_text((engine / "training.py").read_text().replace(
        "DIVERGENCE_FACTOR = 2.0", "DIVERGENCE_FACTOR = 3.0"))
    assert specs_mod.engine_fingerprint(engine) != specs_mod.CODE_VERSION
    shutil.copy(pkg / "engine" / "training.py", engine / "training.py")
    (engine / "models" / "gpt.py").write_text((engine / "models" / "gpt.py").read_text() + "\n")
    assert specs_mod.engine_fingerprint(engine) != specs_mod.CODE_VERSION
    shutil.copy(pkg / "engine" / "models" / "gpt.py", engine / "models" / "gpt.py")
    assert specs_mod.engine_fingerprint(engine) == specs_mod.CODE_VERSION
    (engine / "schedules.py").write_text("WARMUP = 1\n")  # a new engine module
    assert specs_mod.engine_fingerprint(engine) != specs_mod.CODE_VERSION
    (engine / "schedules.py").unlink()
    assert specs_mod.engine_fingerprint(engine) == specs_mod.CODE_VERSION


def test_the_code_salt_follows_the_fitters_the_engine_uses(tmp_path):
    """The early-stop rule forecasts with ``fit.forecast``: an edit there (or in a fit module
    it imports) changes every key; an edit to a fitter the engine never uses does not."""
    import shutil

    from scaling_claims.engine import specs as specs_mod

    pkg = Path(specs_mod.__file__).resolve().parents[1]
    copy = tmp_path / "scaling_claims"
    shutil.copytree(pkg, copy, ignore=shutil.ignore_patterns("__pycache__"))
    engine, fit = copy / "engine", copy / "fit"
    assert specs_mod.engine_fingerprint(engine) == specs_mod.CODE_VERSION
    for unused in ("chinchilla.py", "isoflop.py", "__init__.py"):
        (fit / unused).write_text((fit / unused).read_text() + "\n# unused by the engine\n")
    assert specs_mod.engine_fingerprint(engine) == specs_mod.CODE_VERSION
    for used in ("forecast.py", "_nls.py"):  # imported by the engine, and by forecast.py
        (fit / used).write_text((fit / used).read_text() + "\n# used\n")
        assert specs_mod.engine_fingerprint(engine) != specs_mod.CODE_VERSION
        shutil.copy(pkg / "fit" / used, fit / used)
    assert specs_mod.engine_fingerprint(engine) == specs_mod.CODE_VERSION


def test_claim_gives_cached_busy_or_the_held_lock(tmp_path):
    cache = RunCache(tmp_path)
    s = spec()
    how, hit, lock = cache.claim(s.key())
    assert (how, hit) == ("claimed", None) and lock.is_locked
    assert cache.claim(s.key(), blocking=False) == ("busy", None, None)  # another claimant is refused
    cache.put(fake_train(s))
    lock.release()
    how, hit, lock = cache.claim(s.key())
    assert how == "cached" and hit.key == s.key() and lock is None
