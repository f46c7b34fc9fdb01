"""Sweeps: run a list of specs through the cache and hand back their results.

``run_sweep(specs, cache, executor)`` makes sure every spec has a record (training what is
missing on ``executor``), then reads the results back from the cache, in the order of
``specs``. ``results_frame(results)`` turns them into a pandas DataFrame, one row per run.

Cooperative sweeps. When several processes (e.g. two pytest-xdist workers running tests that
share a sweep) run the same sweep, each first takes the specs nobody else holds (a
non-blocking attempt on each key's lock), trains those, and only then waits for the rest.
So two workers sharing one sweep split it instead of one idling while the other trains.
A worker that dies while holding a key releases its lock (OS locks die with the process), and
the waiter then trains that spec itself.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable, Iterable, Sequence

import pandas as pd

from scaling_claims.runs.cache import RunCache, TrainFn
from scaling_claims.runs.executors import Executor, InProcessExecutor, Progress
from scaling_claims.engine import RunResult, RunSpec


def unique_specs(specs: Iterable[RunSpec]) -> list[RunSpec]:
    """Specs in first-seen order with duplicates (same key) dropped."""
    seen: dict[str, RunSpec] = {}
    for spec in specs:
        if not isinstance(spec, RunSpec):
            raise ValueError(f"a sweep takes RunSpec objects, got {type(spec).__name__}")
        seen.setdefault(spec.key(), spec)
    return list(seen.values())


def run_sweep(
    specs: Sequence[RunSpec],
    cache: RunCache,
    executor: Executor | None = None,
    refresh: bool = False,
    *,
    train_fn: TrainFn | None = None,
    refresh_since: float | None = None,
    desc: str = "sweep",
    progress: bool = True,
    progress_sink: Callable[[dict], None] | None = None,
) -> list[RunResult]:
    """Fill the cache for ``specs`` and return their RunResults in the order given.

    ``refresh=True`` retrains every spec whose record predates ``refresh_since`` (default: the
    moment this call started), i.e. ignores the cache but still shares runs made since then.
    ``train_fn`` defaults to ``scaling_claims.train.train``. Failed runs come back with
    ``status == "failed"`` and their reason; filter on ``RunResult.ok``. Duplicated specs are
    trained once and returned at each position. ``progress``: print runs done / total and the
    ETA on stderr (``executors.Progress``); ``progress_sink``: a callable that receives the same
    state as a dict after every run (the pytest plugin's live display reads it).
    """
    specs = list(specs)
    uniq = unique_specs(specs)
    executor = executor or InProcessExecutor()
    if refresh and refresh_since is None:
        refresh_since = time.time()
    since = refresh_since if refresh else None

    prog = Progress(len(uniq), desc, show=progress, sink=progress_sink) if (progress or progress_sink) else None
    # pass 1: take what nobody else holds; pass 2: wait for (or take over) the rest
    outcome = executor.run(uniq, cache, train_fn, refresh_since=since, blocking=False, progress=prog)
    busy = [s for s in uniq if outcome.get(s.key()) == "busy"]
    if busy:
        executor.run(busy, cache, train_fn, refresh_since=since, blocking=True, progress=prog)
    if prog is not None:
        prog.close()

    by_key: dict[str, RunResult] = {}
    for spec in uniq:
        res = cache.get(spec.key(), since)
        if res is None:  # only if the record vanished or was corrupted between write and read
            _, res = cache.ensure(spec, train_fn, refresh_since=since)
        by_key[spec.key()] = res  # type: ignore[assignment]
    return [by_key[s.key()] for s in specs]


def _flatten(prefix: str, value: Any, row: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, row)
    else:
        row[prefix] = tuple(value) if isinstance(value, list) else value


def result_row(res: RunResult) -> dict[str, Any]:
    """One run as a flat dict (the row ``results_frame`` makes); see its docstring."""
    spec = res.spec
    row: dict[str, Any] = {
        "key": res.key,
        "status": res.status,
        "failure": res.failure,
        "final_train_loss": res.final_train_loss,
        "final_eval_loss": res.final_eval_loss,
        "params_total": res.params.get("total", math.nan),
        "params_non_embedding": res.params.get("non_embedding", math.nan),
        "params_matmul": res.params.get("matmul", math.nan),
        "flops_per_token": res.flops_per_token,
        "steps": res.steps,
        "tokens": res.tokens,
        "flops": res.flops,
        "wall_time_s": res.wall_time_s,
        "seed": spec.get("seed"),
        "device": spec.get("device"),
        "dtype": spec.get("dtype"),
        "tag": spec.get("tag"),
    }
    _flatten("model", spec.get("model", {}), row)
    data = dict(spec.get("data", {}))
    options = data.pop("options", [])
    _flatten("data", data, row)
    for name, value in options:
        row[f"data.{name}"] = tuple(value) if isinstance(value, list) else value
    _flatten("optim", spec.get("optim", {}), row)
    _flatten("budget", spec.get("budget", {}), row)
    for name, value in res.metrics.items():
        row[name] = value
    return row


def results_frame(results: Iterable[RunResult]) -> pd.DataFrame:
    """A DataFrame with one row per run.

    Columns: ``key``, ``status``, ``failure``, ``final_train_loss``, ``final_eval_loss``,
    ``params_total``, ``params_non_embedding`` (Kaplan's N), ``params_matmul``,
    ``flops_per_token``, ``steps``, ``tokens``, ``flops``, ``wall_time_s``, ``seed``,
    ``device``, ``dtype``, ``tag``; the spec's fields flattened with dots (``model.d_model``,
    ``model.n_layer``, ``data.task``, ``data.seed``, ``data.<option>``, ``optim.lr``,
    ``budget.tokens``, ...); and every metric under its own name (``"<eval>/<metric>"``).
    Failed runs are rows too (``status == "failed"``, losses NaN): filter with
    ``df[df.status == "ok"]``.
    """
    rows = [result_row(r) for r in results]
    if not rows:
        return pd.DataFrame(columns=list(result_row(_EMPTY).keys()))
    return pd.DataFrame(rows)


_EMPTY = RunResult(key="0", spec={}, status="ok")


def require_ok(runs):
    """Return ``runs`` (a sweep's frame, or a list of ``RunResult``) if every run in it trained;
    otherwise raise ``RuntimeError`` naming the failures. A claim must not fit a sweep with a
    failed run silently dropped: the error makes the claim inconclusive, with the reason, instead."""
    if isinstance(runs, pd.DataFrame):
        failures, n = list(runs.failure[runs.status != "ok"]), len(runs)
    else:
        failures, n = [r.failure for r in runs if not r.ok], len(runs)
    if failures:
        raise RuntimeError(f"{len(failures)} of {n} run(s) failed: {sorted(set(map(str, failures)))}")
    return runs
