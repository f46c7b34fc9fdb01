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
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Callable, TextIO


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


def describe(st: dict, now: float) -> str:
    elapsed = now - st["started_at"]
    text = f"{st['desc']}: {st['done']}/{st['total']} runs"
    if st.get("cached"):
        text += f" ({st['cached']} from the cache)"
    if st["finished"] or st["done"] >= st["total"]:
        return text + f", done in {elapsed:.0f}s"
    text += f", {elapsed:.0f}s"
    if st["done"] > 0:
        text += f", ETA {elapsed / st['done'] * (st['total'] - st['done']):.0f}s"
    return text


class LiveDisplay:
    """Polls a progress folder in a daemon thread and prints sweep lines to ``stream``."""

    def __init__(self, folder: str | Path, stream: TextIO, every: float, tick: float = 0.25,
                 clock: Callable[[], float] = time.time) -> None:
        self.folder, self.stream, self.every, self.tick, self.clock = Path(folder), stream, float(every), tick, clock
        self._shown: dict[str, tuple[float, int]] = {}  # desc -> (when, done) last printed
        self._closed: set[str] = set()
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

    def poll(self) -> list[str]:
        """Print (and return) the lines due now."""
        now = self.clock()
        lines = []
        for desc, st in merge(read_states(self.folder)).items():
            if desc in self._closed:
                continue
            done = st["finished"] or st["done"] >= st["total"]
            last = self._shown.get(desc)
            if done:
                self._closed.add(desc)
                if last is not None or now - st["started_at"] >= self.every:
                    lines.append(describe(st, now))
                continue
            if now - st["started_at"] < self.every:
                continue
            if last is None or (now - last[0] >= self.every and st["done"] != last[1]) or now - last[0] >= 6 * self.every:
                lines.append(describe(st, now))
                self._shown[desc] = (now, st["done"])
        if lines:  # a leading newline: pytest may have left its progress dots mid-line
            self.stream.write("\n" + "\n".join(f"[sweeps] {line}" for line in lines) + "\n")
            self.stream.flush()
        return lines
