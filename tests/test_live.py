"""Live sweep progress (issue 29, item 5): the progress folder a killed session leaves behind is
removed by the next session, and the ETA uses the measured pace of finished runs."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from scaling_claims.runs import live

pytest_plugins = ["pytester"]
ROOT = Path(__file__).resolve().parents[1]


def _dead_session_folder(base: Path) -> Path:
    """A progress folder made by a real process that was then SIGKILLed (as a killed pytest
    session's is): its owner file names a pid that no longer runs."""
    code = textwrap.dedent("""
        import os, signal, sys
        from scaling_claims.runs import live
        print(live.new_progress_dir(sys.argv[1]), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    got = subprocess.run([sys.executable, "-c", code, str(base)], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert got.returncode == -signal.SIGKILL, got.stderr
    folder = Path(got.stdout.strip())
    assert folder.is_dir() and json.loads((folder / live.OWNER).read_text())["pid"] > 0
    return folder


def test_a_dead_sessions_folder_is_removed_by_the_next_session(tmp_path):
    dead = _dead_session_folder(tmp_path)
    ours = Path(live.new_progress_dir(tmp_path))  # the next session
    assert not dead.exists()
    assert ours.is_dir() and json.loads((ours / live.OWNER).read_text())["pid"] == os.getpid()
    # a folder whose owner lives (this process) is kept by the session after that
    third = Path(live.new_progress_dir(tmp_path))
    assert ours.is_dir() and third.is_dir()


def test_folders_that_cannot_be_judged_dead_are_kept(tmp_path):
    # no owner file yet (a session between mkdtemp and writing it, or older code): kept while young
    young = tmp_path / (live.PREFIX + "young")
    young.mkdir()
    # another host's session (a shared temporary directory): its pid means nothing here
    other = tmp_path / (live.PREFIX + "otherhost")
    other.mkdir()
    (other / live.OWNER).write_text(json.dumps({"pid": 1, "host": "not-this-host", "start_time": None}))
    # a reused pid: the owner file's start time is not that of the process now holding the pid
    reused = tmp_path / (live.PREFIX + "reused")
    reused.mkdir()
    start = live._start_time(os.getpid())
    (reused / live.OWNER).write_text(json.dumps({"pid": os.getpid(), "host": __import__("socket").gethostname(),
                                                 "start_time": "1" if start != "1" else "2"}))
    # an ownerless folder older than ORPHAN_AGE_S is removed
    old = tmp_path / (live.PREFIX + "old")
    old.mkdir()
    past = time.time() - live.ORPHAN_AGE_S - 60
    os.utime(old, (past, past))
    removed = live.clean_stale_progress_dirs(tmp_path)
    assert young.is_dir() and other.is_dir() and not old.exists()
    if start is not None:  # /proc tells start times apart: the reused pid's folder is stale
        assert not reused.exists() and set(removed) == {old, reused}
    else:
        assert reused.is_dir() and removed == [old]


def test_a_killed_pytest_sessions_folder_is_cleaned_by_the_next_one(pytester, tmp_path, monkeypatch):
    """End to end through the plugin: TMPDIR holds a folder left by a SIGKILLed session; a pytest
    session with the live display on removes it (and its own folder when it ends)."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("SCALING_CLAIMS_CACHE", str(tmp_path / "cache"))
    dead = _dead_session_folder(tmp_path)
    pytester.makeconftest('pytest_plugins = ["scaling_claims.plugin.pytest_plugin"]\n')
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:xdist", "--progress-every", "1", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert not dead.exists()
    assert not list(tmp_path.glob(live.PREFIX + "*"))


def test_the_eta_uses_the_measured_pace_of_finished_runs(tmp_path):
    """Two workers, 10 runs of 10 s, the second worker starting 5 s late: runs finish at 10, 15,
    20, ... s. After the first, elapsed/done says 90 s (2x the truth: the 9 left take 45 s on two
    workers); from the second on, the measured pace (one run per 5 s) gives the truth: 40 s."""
    now = [1000.0]
    out = io.StringIO()
    display = live.LiveDisplay(tmp_path, out, every=1.0, clock=lambda: now[0])
    sink = live.file_sink(tmp_path, "w")
    base = {"desc": "sweep", "total": 10, "cached": 0, "elapsed": 0.0, "eta": None, "finished": False,
            "started_at": 1000.0}
    now[0] = 1010.0
    sink({**base, "done": 1, "trained": 1})
    assert display.poll() == ["sweep: 1/10 runs, 10s, ETA 90s"]  # no pace yet: elapsed / done
    now[0] = 1015.0
    sink({**base, "done": 2, "trained": 2})
    assert display.poll() == ["sweep: 2/10 runs, 15s, ETA 40s"]  # 8 left at one per 5 s
    now[0] = 1020.0
    sink({**base, "done": 3, "trained": 3})
    assert display.poll() == ["sweep: 3/10 runs, 20s, ETA 35s"]


def test_runs_from_the_cache_do_not_speed_the_measured_pace(tmp_path):
    """8 of 10 runs answered by the cache at once, then the 2 left train for 20 s each (one
    worker): elapsed/done would say 2 s left after the cache hits; the pace counts trained runs."""
    now = [1000.0]
    display = live.LiveDisplay(tmp_path, io.StringIO(), every=1.0, clock=lambda: now[0])
    sink = live.file_sink(tmp_path, "w")
    base = {"desc": "s", "total": 10, "elapsed": 0.0, "eta": None, "finished": False, "started_at": 1000.0}
    now[0] = 1001.0
    sink({**base, "done": 8, "trained": 0, "cached": 8})
    assert display.poll() == ["s: 8/10 runs (8 from the cache), 1s, ETA 0s"]  # no trained run yet
    now[0] = 1021.0
    sink({**base, "done": 9, "trained": 1, "cached": 8})
    display.poll()
    now[0] = 1041.0
    sink({**base, "done": 10 - 1, "trained": 1, "cached": 8})
    assert display.rate("s", {**base, "trained": 1}, now[0]) is None  # one finished run: no pace yet
    assert live.describe({**base, "done": 9, "trained": 2, "cached": 8}, 1041.0, rate=1 / 20) \
        == "s: 9/10 runs (8 from the cache), 41s, ETA 20s"
