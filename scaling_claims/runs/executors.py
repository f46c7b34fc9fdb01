"""Executors: ways to fill the run cache for a list of specs.

Executors only fill the cache (``RunCache.ensure`` per spec); the sweep reads results from it.
So a claim gives the same answer whether its runs came from this process or a process pool.

- ``InProcessExecutor``: one spec after another in this process. Right for GPUs (one device),
  for pytest-xdist workers (already one process per core) and for one or two runs.
- ``PoolExecutor``: a local process pool (``spawn`` context, so no forked torch state) with one
  torch thread per worker, ``workers`` = the usable cores by default. On a 2-core CPU two
  single-thread processes train tiny models markedly faster than one two-thread process,
  because tiny matmuls do not parallelise well inside one process. The pool is created on
  first use and kept for later sweeps (workers import torch once); call ``close()``.
- ``make_executor(name, workers, device)`` picks one; "auto" = pool on CPU with > 1 core,
  in-process otherwise.

Every ``run`` reports progress (runs done / total, rate, ETA) on stderr for sweeps that take
longer than a few seconds; see ``Progress``.
"""

from __future__ import annotations

import concurrent.futures as cf
from concurrent.futures.process import BrokenProcessPool
import multiprocessing as mp
import os
import sys
import time
from typing import Callable, Protocol, Sequence, TextIO

from scaling_claims.runs import EXECUTOR_NAMES  # re-exported: the names live beside the package docstring
from scaling_claims.runs.batches import plan_batches
from scaling_claims.runs.cache import RunCache, TrainFn
from scaling_claims.engine import RunSpec


def usable_cores() -> int:
    """Cores this process may run on (affinity-aware where the OS tells us)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def single_thread_torch() -> None:
    """Limit this process to one torch (and BLAS/OpenMP) thread.

    The environment variables only help if torch is not imported yet; ``set_num_threads``
    covers the rest. ``set_num_interop_threads`` may only be called once, before any
    inter-op work, so a refusal is ignored.
    """
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"
    import torch

    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass


class Progress:
    """Runs done / total, rate and ETA on a stream (stderr by default).

    Silent until ``after_s`` seconds have passed (short sweeps and cache hits print nothing),
    then at most one line every ``every_s`` seconds, plus a final line. On a terminal the line
    is rewritten in place; elsewhere (CI logs, pytest capture) each update is a new line.
    ``show=False`` prints nothing. ``sink``, when given, receives :meth:`state` after every
    update and at close (the pytest plugin writes it to a file that the controller reads, since
    pytest captures a test's output and xdist workers have no terminal).
    """

    def __init__(
        self,
        total: int,
        desc: str = "sweep",
        stream: TextIO | None = None,
        *,
        after_s: float = 5.0,
        every_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        show: bool = True,
        sink: Callable[[dict], None] | None = None,
    ) -> None:
        self.total, self.desc, self.done, self.trained = total, desc, 0, 0
        self.stream = stream if stream is not None else sys.stderr
        self.after_s, self.every_s, self.clock = after_s, every_s, clock
        self.show, self.sink = show, sink
        self.start = clock()
        self.started_at = time.time()
        self._last_shown: float | None = None
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._emit(finished=False)

    def state(self, finished: bool = False) -> dict:
        """What a progress display needs: desc, done, total, trained, cached, start time (epoch
        seconds), elapsed and ETA (seconds; None when unknown), finished."""
        elapsed = self.clock() - self.start
        eta = elapsed / self.done * (self.total - self.done) if 0 < self.done < self.total else None
        return {"desc": self.desc, "done": self.done, "total": self.total, "trained": self.trained,
                "cached": self.done - self.trained, "started_at": self.started_at, "elapsed": elapsed, "eta": eta,
                "finished": finished}

    def line(self) -> str:
        st = self.state()
        text = f"{self.desc}: {self.done}/{self.total} runs, {st['elapsed']:.0f}s elapsed"
        if st["eta"] is not None:
            text += f", ETA {st['eta']:.0f}s"
        return text

    def update(self, n: int = 1, trained: bool = True) -> None:
        self.done += n
        self.trained += n if trained else 0
        self._emit(finished=False)
        now = self.clock()
        if now - self.start < self.after_s:
            return
        if self._last_shown is not None and now - self._last_shown < self.every_s and self.done < self.total:
            return
        self._show()
        self._last_shown = now

    def close(self) -> None:
        """Print the final line if anything was shown before (a sweep that got long)."""
        self._emit(finished=True)
        if self._last_shown is not None and self.done == self.total:
            return  # the final state is already on screen
        if self._last_shown is not None or self.clock() - self.start >= self.after_s:
            self._show()
        if self.show and self._tty and self._last_shown is not None:
            self.stream.write("\n")
            self.stream.flush()

    def _emit(self, finished: bool) -> None:
        if self.sink is not None:
            try:
                self.sink(self.state(finished))
            except OSError:  # a display must never break a sweep
                pass

    def _show(self) -> None:
        if not self.show:
            return
        if self._tty:
            self.stream.write("\r" + self.line() + "\x1b[K")
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()


class Executor(Protocol):
    name: str

    def run(
        self,
        specs: Sequence[RunSpec],
        cache: RunCache,
        train_fn: TrainFn | None = None,
        *,
        refresh_since: float | None = None,
        blocking: bool = True,
        progress: Progress | None = None,
    ) -> dict[str, str]:
        """Ensure every spec has a record; return {key: "cached" | "trained" | "busy"}."""
        ...

    def close(self) -> None: ...


def _report(progress: Progress | None, outcome: dict[str, str]) -> None:
    if progress is not None:
        for how in outcome.values():
            if how != "busy":
                progress.update(trained=how == "trained")


def ensure_unit(cache: RunCache, unit: Sequence[RunSpec], train_fn: TrainFn | None, *,
                refresh_since: float | None, blocking: bool) -> dict[str, str]:
    """One unit of ``batches.plan_batches``: a run alone (``RunCache.ensure``) or a batched
    group (``RunCache.ensure_group``); returns {key: how}."""
    if len(unit) == 1:
        how, _ = cache.ensure(unit[0], train_fn, refresh_since=refresh_since, blocking=blocking)
        return {unit[0].key(): how}
    return cache.ensure_group(unit, refresh_since=refresh_since, blocking=blocking)


class InProcessExecutor:
    """Runs specs one after another in this process (tiny same-shape runs as batched
    ensembles, ``scaling_claims.batches``, unless ``batching=False``)."""

    name = "inprocess"

    def __init__(self, batching: bool = True) -> None:
        self.batching = batching

    def run(
        self,
        specs: Sequence[RunSpec],
        cache: RunCache,
        train_fn: TrainFn | None = None,
        *,
        refresh_since: float | None = None,
        blocking: bool = True,
        progress: Progress | None = None,
    ) -> dict[str, str]:
        outcome: dict[str, str] = {}
        for unit in plan_batches(specs, batching=self.batching and train_fn is None):
            got = ensure_unit(cache, unit, train_fn, refresh_since=refresh_since, blocking=blocking)
            outcome.update(got)
            _report(progress, got)
        return outcome

    def close(self) -> None:
        pass


def estimated_cost(spec: RunSpec) -> float:
    """Rough training FLOPs of a spec, for scheduling only (longest first): the budget's FLOPs,
    or its tokens (steps x batch x ctx for a step budget) times the model's FLOPs per token.
    Sequence tasks shorter than ``ctx`` make this an overestimate; the order stays sensible."""
    from scaling_claims.engine import flops_per_token

    b = spec.budget
    if b.flops is not None:
        return float(b.flops)
    fpt = flops_per_token(spec.model)
    tokens = b.tokens if b.tokens is not None else b.steps * spec.optim.batch_size * (
        spec.model.ctx if spec.model.arch == "gpt" else 1)
    return float(tokens) * fpt


def _pool_init() -> None:
    single_thread_torch()


def _pool_task(
    cache_root: str, spec_dicts: list[dict], train_fn: TrainFn | None, refresh_since: float | None, blocking: bool
) -> dict[str, str]:
    unit = [RunSpec.from_dict(d) for d in spec_dicts]
    return ensure_unit(RunCache(cache_root), unit, train_fn, refresh_since=refresh_since, blocking=blocking)


class PoolExecutor:
    """A local ``spawn`` process pool, one torch thread per worker.

    ``train_fn`` must be picklable by reference (a module-level function); None means the
    real ``scaling_claims.train.train``. Tiny same-shape runs go to a worker as one batched
    group (``scaling_claims.batches``; a big group is split so that every worker gets a part)
    unless ``batching=False``. A single unit of work is run in this process instead (starting a
    worker costs a torch import, more than a tiny run). If a worker dies (killed, out of
    memory), the pool is replaced and the specs still without a record are retried once; a
    second death raises ``RuntimeError``.
    """

    name = "pool"

    def __init__(self, workers: int | None = None, batching: bool = True) -> None:
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workers = workers or usable_cores()
        self.batching = batching
        self._pool: cf.ProcessPoolExecutor | None = None

    def _get_pool(self) -> cf.ProcessPoolExecutor:
        if self._pool is None:
            self._pool = cf.ProcessPoolExecutor(
                max_workers=self.workers, mp_context=mp.get_context("spawn"), initializer=_pool_init
            )
        return self._pool

    def run(
        self,
        specs: Sequence[RunSpec],
        cache: RunCache,
        train_fn: TrainFn | None = None,
        *,
        refresh_since: float | None = None,
        blocking: bool = True,
        progress: Progress | None = None,
    ) -> dict[str, str]:
        outcome: dict[str, str] = {}
        todo = []
        for spec in specs:  # cache hits are answered here, without a round trip to a worker
            if cache.get(spec.key(), refresh_since) is not None:
                outcome[spec.key()] = "cached"
                if progress is not None:
                    progress.update(trained=False)
            else:
                todo.append(spec)
        batching = self.batching and train_fn is None
        if len(todo) <= 1 or self.workers == 1 or len(plan_batches(todo, batching=batching)) == 1:
            outcome.update(
                InProcessExecutor(batching=self.batching).run(
                    todo, cache, train_fn, refresh_since=refresh_since, blocking=blocking, progress=progress
                )
            )
            return outcome
        for attempt in (1, 2):
            try:
                units = plan_batches(todo, batching=batching, parts=self.workers)
                outcome.update(self._run_in_pool(units, cache, train_fn, refresh_since, blocking, progress))
                return outcome
            except BrokenProcessPool as err:
                # a worker died (killed, out of memory, a crash in native code): drop the pool;
                # finished runs are in the cache, so a fresh pool retries only the rest, once
                self._discard_pool()
                todo = [s for s in todo if cache.get(s.key(), refresh_since) is None]
                if attempt == 2 or not todo:
                    if todo:
                        raise RuntimeError(
                            f"pool workers died twice while training; {len(todo)} spec(s) have no record, "
                            f"e.g. {todo[0].key()} ({err})"
                        ) from err
        return outcome

    def _run_in_pool(self, units: list[list[RunSpec]], cache: RunCache, train_fn: TrainFn | None,
                     refresh_since: float | None, blocking: bool, progress: Progress | None) -> dict[str, str]:
        outcome: dict[str, str] = {}
        pool = self._get_pool()
        # longest first: with dynamic assignment this keeps one worker from being left with a
        # big run at the end while the other idles (LPT scheduling); a batched group counts the
        # summed cost of its runs (an overestimate: batching is what makes it cheaper)
        units = sorted(units, key=lambda unit: sum(map(estimated_cost, unit)), reverse=True)
        futures = [
            pool.submit(_pool_task, str(cache.root), [s.to_dict() for s in unit], train_fn, refresh_since, blocking)
            for unit in units
        ]
        try:
            for fut in cf.as_completed(futures):
                got = fut.result()
                outcome.update(got)
                _report(progress, got)
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise
        return outcome

    def _discard_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __del__(self) -> None:  # best effort; tests and the plugin call close() explicitly
        try:
            self.close()
        except Exception:
            pass


def make_executor(name: str = "auto", workers: int | None = None, device: str = "cpu", in_worker: bool = False,
                  ray_address: str | None = None, batching: bool = True):
    """Build an executor by name.

    "auto": in-process under a pytest-xdist worker (xdist already runs one process per core),
    on GPUs (one device, one process), or with a single core; otherwise a process pool.
    "ray": ``scaling_claims.ray_executor.RayExecutor`` on the cluster at ``ray_address`` (else
    ``$RAY_ADDRESS``, else a local Ray instance with ``workers`` CPUs).
    """
    if name not in EXECUTOR_NAMES:
        raise ValueError(f"executor must be one of {EXECUTOR_NAMES}, got {name!r}")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if name == "auto":
        cores = workers or usable_cores()
        name = "inprocess" if (in_worker or device != "cpu" or cores < 2) else "pool"
    if name == "ray":
        from scaling_claims.runs.ray_executor import RayExecutor

        return RayExecutor(address=ray_address, num_cpus=workers, batching=batching)
    return InProcessExecutor(batching) if name == "inprocess" else PoolExecutor(workers, batching)
