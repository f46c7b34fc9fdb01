"""Live sweep progress during a pytest session.

pytest captures what a test prints, and pytest-xdist workers have no terminal at all, so a
sweep cannot show its own progress. Instead every sweep writes its state (runs done / total,
read from the cache, elapsed, ETA: ``executors.Progress.state``) to a small JSON file in a
per-session folder (:func:`file_sink`), and the process that owns the terminal (the xdist
controller, or the only process) runs a :class:`LiveDisplay` thread that reads the folder and
prints one line per sweep:

    [sweeps] kaplan L(N) quick: 12/18 runs (3 from the cache), 45s, ETA 30s

It prints a sweep once it has run for ``every`` seconds, then at most every ``every`` seconds
while it changes, and a last line when it finishes (sweeps that finish sooner print nothing:
a warm cache stays quiet). The lines go to a duplicate of the terminal's stderr taken before
pytest captures anything, so they appear while tests run; on a terminal ``every`` defaults to
5 seconds, elsewhere (CI logs) to 30.

The ETA: once two runs of a sweep have finished training, the rate at which they finish,
measured from the first one on (so it counts every worker in parallel and leaves out start-up
and runs answered by the cache), divided into the runs still to do; before that, elapsed / done
(which reads about 2x long with two workers, whose first runs finish together late).

The per-session folder (:func:`new_progress_dir`) carries an ``owner`` file (pid, host, process
start time); a session that dies without removing its folder (SIGKILL) leaves it behind, and
the next session's :func:`new_progress_dir` removes every such folder whose owner is dead.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, TextIO

PREFIX = "scaling-claims-progress-"
OWNER = "owner"  # not *.json: read_states must not take it for a sweep
# a folder with no owner file is left this long: one being made gets its owner file within
# microseconds; one from older code (no owner file at all) may belong to a session still running,
# whose live display is all it would lose
ORPHAN_AGE_S = 3600.0


def _start_time(pid: int) -> str | None:
    """The process's start time as the kernel counts it (Linux: /proc/<pid>/stat field 22), so a
    reused pid is not mistaken for the owner; None where there is no /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[19]  # after the command name, which may hold spaces


def _alive(owner: dict) -> bool:
    """Whether the process that wrote ``owner`` still runs (True when that cannot be told: another
    host, another user's process, a malformed file: a folder is only removed when surely dead)."""
    try:
        pid = int(owner["pid"])
    except (KeyError, TypeError, ValueError):
        return True
    if owner.get("host") != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    started = owner.get("start_time")
    now = _start_time(pid)
    return started is None or now is None or str(started) == now


def clean_stale_progress_dirs(base: str | Path | None = None) -> list[Path]:
    """Remove the progress folders in ``base`` (default: the temporary directory) whose owner
    died (a killed session's), and ownerless ones older than ``ORPHAN_AGE_S``; return them."""
    base = Path(base if base is not None else tempfile.gettempdir())
    removed = []
    for d in base.glob(PREFIX + "*"):
        try:
            if not d.is_dir() or d.is_symlink() or d.stat().st_uid != os.getuid():
                continue
            owner_file = d / OWNER
            if owner_file.exists():
                try:
                    owner = json.loads(owner_file.read_text())
                except (OSError, ValueError):
                    owner = {}
                stale = isinstance(owner, dict) and not _alive(owner)
            else:
                stale = time.time() - d.stat().st_mtime > ORPHAN_AGE_S
        except OSError:
            continue
        if stale:
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed


def new_progress_dir(base: str | Path | None = None) -> str:
    """A fresh per-session progress folder (in ``base``, default the temporary directory) with
    its ``owner`` file; first removes the folders that dead sessions left behind."""
    clean_stale_progress_dirs(base)
    d = tempfile.mkdtemp(prefix=PREFIX, dir=None if base is None else str(base))
    owner = {"pid": os.getpid(), "host": socket.gethostname(), "start_time": _start_time(os.getpid()),
             "created_at": time.time()}
    tmp = Path(d) / (OWNER + ".tmp")
    tmp.write_text(json.dumps(owner))
    os.replace(tmp, Path(d) / OWNER)
    return d


def file_sink(folder: str | Path, name: str) -> Callable[[dict], None]:
    """A ``Progress`` sink that keeps ``folder/<name>.json`` holding the latest state
    (written atomically: a temporary file renamed into place)."""
    path = Path(folder) / f"{name}.json"

    def sink(state: dict) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({**state, "pid": os.getpid()}))
        os.replace(tmp, path)

    return sink


def read_states(folder: str | Path) -> list[dict]:
    """Every readable state in ``folder`` (a file being replaced is skipped this time)."""
    out = []
    for p in sorted(Path(folder).glob("*.json")):
        try:
            out.append(json.loads(p.read_text()))
        except (OSError, ValueError):
            continue
    return out


def merge(states: list[dict]) -> dict[str, dict]:
    """One state per sweep ``desc``: processes that share a sweep (two xdist workers splitting
    it) each count what they trained and what they found done; the furthest view wins."""
    by: dict[str, dict] = {}
    for st in states:
        cur = by.get(st["desc"])
        if cur is None or (st["done"], st["finished"]) > (cur["done"], cur["finished"]):
            by[st["desc"]] = {**st, "started_at": min(st["started_at"], cur["started_at"]) if cur else st["started_at"]}
        elif cur is not None:
            cur["started_at"] = min(cur["started_at"], st["started_at"])
    return by


def describe(st: dict, now: float, rate: float | None = None) -> str:
    """One line for sweep state ``st``; ``rate``: the measured runs per second (see
    ``LiveDisplay``), which the ETA uses when given, else elapsed / done."""
    elapsed = now - st["started_at"]
    text = f"{st['desc']}: {st['done']}/{st['total']} runs"
    if st.get("cached"):
        text += f" ({st['cached']} from the cache)"
    if st["finished"] or st["done"] >= st["total"]:
        return text + f", done in {elapsed:.0f}s"
    text += f", {elapsed:.0f}s"
    left = st["total"] - st["done"]
    if rate is not None and rate > 0:
        text += f", ETA {left / rate:.0f}s"
    elif st["done"] > 0:
        text += f", ETA {elapsed / st['done'] * left:.0f}s"
    return text


class LiveDisplay:
    """Polls a progress folder in a daemon thread and prints sweep lines to ``stream``."""

    def __init__(self, folder: str | Path, stream: TextIO, every: float, tick: float = 0.25,
                 clock: Callable[[], float] = time.time) -> None:
        self.folder, self.stream, self.every, self.tick, self.clock = Path(folder), stream, float(every), tick, clock
        self._shown: dict[str, tuple[float, int]] = {}  # desc -> (when, done) last printed
        self._closed: set[str] = set()
        self._first_trained: dict[str, tuple[float, int]] = {}  # desc -> (when, trained) first seen > 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scaling-claims-progress", daemon=True)

    def start(self) -> "LiveDisplay":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.poll()  # the last states, so a sweep that just finished gets its final line

    def _run(self) -> None:
        while not self._stop.wait(self.tick):
            try:
                self.poll()
            except OSError:
                pass

    def rate(self, desc: str, st: dict, now: float) -> float | None:
        """Runs finished per second since the first finished run this display saw (None until a
        second one finishes): the measured pace, every parallel worker included."""
        trained = int(st.get("trained") or 0)
        mark = self._first_trained.get(desc)
        if mark is None:
            if trained > 0:
                self._first_trained[desc] = (now, trained)
            return None
        if trained > mark[1] and now > mark[0]:
            return (trained - mark[1]) / (now - mark[0])
        return None

    def poll(self) -> list[str]:
        """Print (and return) the lines due now."""
        now = self.clock()
        lines = []
        for desc, st in merge(read_states(self.folder)).items():
            if desc in self._closed:
                continue
            rate = self.rate(desc, st, now)
            done = st["finished"] or st["done"] >= st["total"]
            last = self._shown.get(desc)
            if done:
                self._closed.add(desc)
                if last is not None or now - st["started_at"] >= self.every:
                    lines.append(describe(st, now, rate))
                continue
            if now - st["started_at"] < self.every:
                continue
            if last is None or (now - last[0] >= self.every and st["done"] != last[1]) or now - last[0] >= 6 * self.every:
                lines.append(describe(st, now, rate))
                self._shown[desc] = (now, st["done"])
        if lines:  # a leading newline: pytest may have left its progress dots mid-line
            self.stream.write("\n" + "\n".join(f"[sweeps] {line}" for line in lines) + "\n")
            self.stream.flush()
        return lines
