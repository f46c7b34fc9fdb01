"""Fake trainers for the cache / executor / sweep / plugin tests (no torch, milliseconds).

Module-level functions so a ``spawn`` process pool can pickle them by reference. Each call
appends one line ``<pid> <key>`` to the file named by ``$FAKE_TRAIN_LOG`` (if set), which is
how the tests count how many times each spec was really trained, across processes.
"""

from __future__ import annotations

import os
import time

from scaling_claims.engine.specs import RunResult, RunSpec


def _log(spec: RunSpec) -> None:
    path = os.environ.get("FAKE_TRAIN_LOG")
    if path:
        # O_APPEND writes of one short line are atomic across processes
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{os.getpid()} {spec.key()}\n".encode())
        finally:
            os.close(fd)


def fake_train(spec: RunSpec) -> RunResult:
    """A deterministic 'loss' from the spec: L = 2 + 1000 / (d_model * n_layer) + seed/100."""
    _log(spec)
    delay = float(os.environ.get("FAKE_TRAIN_DELAY", "0"))
    if delay:
        time.sleep(delay)
    m = spec.model
    n = 12 * m.n_layer * m.d_model**2
    loss = 2.0 + 1000.0 / (m.d_model * m.n_layer) + spec.seed / 100
    steps = spec.budget.steps or 1
    return RunResult(
        key=spec.key(), spec=spec.to_dict(), status="ok", final_train_loss=loss, final_eval_loss=loss + 0.01,
        curve=[{"step": s, "tokens": s * 64, "flops": 6.0 * n * s * 64, "lr": 1e-3, "train_loss": loss} for s in (0, steps)],
        metrics={"loss/eval_loss": loss + 0.01}, params={"total": n + 256 * m.d_model, "non_embedding": n, "matmul": n},
        flops_per_token=6.0 * n, steps=steps, tokens=steps * 64, flops=6.0 * n * steps * 64, wall_time_s=delay,
        env={"device": spec.device, "pid": os.getpid()},
    )


def diverging_train(spec: RunSpec) -> RunResult:
    """A run that ends as 'failed' with a reason (as the real trainer does on a NaN loss)."""
    _log(spec)
    return RunResult(key=spec.key(), spec=spec.to_dict(), status="failed", failure="loss became NaN at step 3")


def raising_train(spec: RunSpec) -> RunResult:
    """A trainer that raises (a bug or an out-of-memory): the cache records it as failed."""
    _log(spec)
    raise RuntimeError("out of memory (simulated)")


def counted_real_train(spec: RunSpec) -> RunResult:
    """The real ``scaling_claims.engine.training.train``, with ``start``/``done`` lines ``<event> <pid> <key>``
    appended to ``$TRAIN_EVENTS``: proof of how often each spec was really trained."""
    from scaling_claims.engine.training import train

    path = os.environ["TRAIN_EVENTS"]

    def event(name: str) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{name} {os.getpid()} {spec.key()}\n".encode())
        finally:
            os.close(fd)

    event("start")
    result = train(spec)
    event("done")
    return result


def dies_once_train(spec: RunSpec) -> RunResult:
    """Kills its worker process the first time it sees a spec with seed 13 (a marker file next to
    ``$FAKE_TRAIN_LOG`` remembers), as an out-of-memory kill would; trains normally otherwise."""
    marker = os.environ["FAKE_TRAIN_LOG"] + ".died"
    if spec.seed == 13 and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(137)
    return fake_train(spec)


def always_dies_train(spec: RunSpec) -> RunResult:
    """Kills its worker process for a spec with seed 13, every time."""
    if spec.seed == 13:
        os._exit(137)
    return fake_train(spec)


def killed_once_train(spec: RunSpec) -> RunResult:
    """The first attempt at a spec SIGKILLs its own worker process (a marker file in
    ``$KILL_MARKER_DIR`` remembers it); the retry trains normally (``fake_train``)."""
    import signal
    from pathlib import Path

    marker = Path(os.environ["KILL_MARKER_DIR"]) / spec.key()
    if not marker.exists():
        marker.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return fake_train(spec)


def always_killed_train(spec: RunSpec) -> RunResult:
    """Every attempt SIGKILLs its worker: retries cannot help."""
    import signal

    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("unreachable")
