"""pytest plugin: command-line options, the run cache and the ``sweep`` fixture.

Registered by the repository's root ``conftest.py``. A claim test reads like this::

    def test_something(sweep, budget_scale, device):
        specs = [RunSpec(model=..., data=..., device=device, ...) for ... in ...]
        df = sweep(specs, desc="kaplan N-sweep")          # pandas DataFrame, one row per run
        ok = df[df.status == "ok"]
        ...

Options (``pytest --help``, group "scaling-claims"):

``--device auto|cpu|cuda|mps``   where runs train (auto: MPS, then CUDA, then CPU)
``--budget FLOAT``               scale factor for sweep sizes (default 1.0); claims multiply
                                 their step/token counts or number of points by it
``--executor auto|inprocess|pool|ray``  how missing runs are trained (auto: a process pool on
                                 a multi-core CPU, in-process under xdist workers and on GPUs;
                                 ray: Ray tasks, see ``scaling_claims.ray_executor``)
``--ray-address ADDRESS``        the Ray cluster for ``--executor ray`` (else $RAY_ADDRESS,
                                 else a local Ray instance)
``--workers N``                  pool size (default: usable cores)
``--no-batching``                train tiny same-shape runs one at a time instead of as batched
                                 ensembles (the records are the same; ``scaling_claims.batches``)
``--cache-dir PATH``             run cache (else $SCALING_CLAIMS_CACHE, else
                                 ~/.cache/scaling-claims)
``--refresh``                    retrain every spec whose record predates this session
``--progress-every SECONDS``     live sweep progress lines (runs done / total, from the cache,
                                 ETA) from the process that owns the terminal, also under
                                 ``-n 2`` (default 5 s on a terminal, 30 s otherwise; 0 turns
                                 them off); see ``scaling_claims.live``

Fixtures (all session-scoped, so module- and session-scoped fixtures may use them too):

``device``        the resolved device name, "cpu" | "cuda" | "mps"
``budget_scale``  the ``--budget`` float
``run_cache``     the session's ``scaling_claims.cache.RunCache``
``sweep``         a ``Sweeper``: ``sweep(specs, desc=...) -> DataFrame`` (see
                  ``scaling_claims.sweep.results_frame`` for the columns);
                  ``sweep.results(specs, desc=...) -> list[RunResult]`` (same runs, as
                  objects, in the order given: loss curves live there);
                  ``sweep.scaled(n, minimum=1)`` -> ``max(minimum, round(n * budget_scale))``

Selection: with no ``-m`` given, tests marked ``slow`` or ``bench`` are deselected, so plain
``pytest tests`` and ``pytest claims`` stay quick; select them with ``-m slow`` / ``-m bench``.

Under pytest-xdist (``-n 2``): each worker uses one torch thread and trains in-process; workers
share the cache, never train a spec twice (per-key file locks), and split a shared sweep (see
``scaling_claims.sweep``). ``--refresh`` uses the controller's session start on every worker,
so a run one worker made during this session is not retrained by another.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import sys
import tempfile
import time
from typing import Sequence

import pytest

from scaling_claims.runs import live
from scaling_claims.runs.cache import RunCache, TrainFn
from scaling_claims.runs.executors import EXECUTOR_NAMES, make_executor, single_thread_torch
from scaling_claims.engine import DEVICES, RunResult, RunSpec
from scaling_claims.runs.sweep import results_frame, run_sweep

DEVICE_CHOICES = ("auto",) + DEVICES
_START_KEY = "scaling_claims_session_start"
_PROGRESS_KEY = "scaling_claims_progress_dir"


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (0 < value < float("inf")):
        raise argparse.ArgumentTypeError(f"--budget must be a positive finite number, got {text!r}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (0 <= value < float("inf")):
        raise argparse.ArgumentTypeError(f"--progress-every must be a number of seconds >= 0, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"--workers must be an integer >= 1, got {text!r}")
    return value


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("scaling-claims", "scaling-claims: training runs and the run cache")
    group.addoption("--device", choices=DEVICE_CHOICES, default="auto",
                    help="device for training runs (auto: mps, then cuda, then cpu)")
    group.addoption("--budget", type=_positive_float, default=1.0, metavar="SCALE",
                    help="scale factor for sweep sizes (default 1.0)")
    group.addoption("--executor", choices=EXECUTOR_NAMES, default="auto",
                    help="how missing runs are trained (auto: pool on multi-core CPU, in-process "
                         "under xdist workers and on GPUs; ray: tasks on a Ray cluster)")
    group.addoption("--ray-address", default=None, metavar="ADDRESS",
                    help="Ray cluster for --executor ray (else $RAY_ADDRESS, else a local instance)")
    group.addoption("--workers", type=_positive_int, default=None, metavar="N",
                    help="process-pool size (default: usable cores)")
    group.addoption("--no-batching", action="store_false", default=True, dest="sc_batching",
                    help="train tiny same-shape runs one at a time, not as batched ensembles (same records)")
    group.addoption("--cache-dir", default=None, metavar="PATH", dest="sc_cache_dir",
                    help="run cache directory (else $SCALING_CLAIMS_CACHE, else ~/.cache/scaling-claims)")
    group.addoption("--refresh", action="store_true", default=False,
                    help="retrain specs whose cached record predates this session")
    group.addoption("--progress-every", type=_non_negative_float, default=None, metavar="SECONDS",
                    help="live sweep progress lines every SECONDS (default 5 on a terminal, 30 otherwise; 0: off)")


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    config._sc_display = None  # type: ignore[attr-defined]
    if _is_xdist_worker(config):
        start = config.workerinput.get(_START_KEY)  # type: ignore[attr-defined]
        config._sc_session_start = float(start) if start is not None else time.time()  # type: ignore[attr-defined]
        config._sc_progress_dir = config.workerinput.get(_PROGRESS_KEY)  # type: ignore[attr-defined]
        single_thread_torch()
        return
    config._sc_session_start = time.time()  # type: ignore[attr-defined]
    config._sc_progress_dir = None  # type: ignore[attr-defined]
    every = config.getoption("progress_every", None)
    if every is None:
        every = 5.0 if sys.stderr.isatty() else 30.0
    stream = _terminal_stream() if every > 0 else None
    if stream is not None:
        config._sc_progress_dir = tempfile.mkdtemp(prefix="scaling-claims-progress-")  # type: ignore[attr-defined]
        config._sc_display = live.LiveDisplay(config._sc_progress_dir, stream, every)  # type: ignore[attr-defined]


def _terminal_stream():
    """A duplicate of stderr's file descriptor (None when stderr has none, e.g. inside another
    pytest run). Output capture is suspended while plugins configure, so this is the terminal
    (or the CI log) itself: lines written to it show while tests run."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return None
    return os.fdopen(os.dup(fd), "w", buffering=1)


def pytest_sessionstart(session: pytest.Session) -> None:
    display = getattr(session.config, "_sc_display", None)
    if display is not None:
        display.start()


def pytest_unconfigure(config: pytest.Config) -> None:
    display = getattr(config, "_sc_display", None)
    if display is not None:
        display.stop()
        display.stream.close()
        shutil.rmtree(config._sc_progress_dir, ignore_errors=True)  # type: ignore[attr-defined]


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:  # xdist controller: hand our session start to workers
    node.workerinput[_START_KEY] = node.config._sc_session_start
    node.workerinput[_PROGRESS_KEY] = node.config._sc_progress_dir


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("markexpr", ""):
        return
    keep, drop = [], []
    for item in items:
        (drop if item.get_closest_marker("slow") or item.get_closest_marker("bench") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def resolve_device(requested: str) -> str:
    """'auto' -> mps, then cuda, then cpu (``scaling_claims.device.resolve_device``); a device
    this machine lacks is a usage error, not a silent fallback."""
    from scaling_claims.engine.device import resolve_device as engine_resolve

    try:
        return str(engine_resolve(requested))
    except ValueError as err:
        raise pytest.UsageError(f"--device {requested}: {err}") from None


class Sweeper:
    """The ``sweep`` fixture: runs specs through the session's cache and executor."""

    def __init__(self, cache: RunCache, executor, budget_scale: float, refresh_since: float | None,
                 train_fn: TrainFn | None = None, progress_dir: str | None = None) -> None:
        self.cache, self.executor, self.budget_scale = cache, executor, budget_scale
        self.refresh_since, self.train_fn = refresh_since, train_fn
        self.progress_dir = progress_dir
        self._count = itertools.count()

    def results(self, specs: Sequence[RunSpec], desc: str = "sweep") -> list[RunResult]:
        """RunResults for ``specs`` in the order given (training whatever is not cached)."""
        sink = None
        if self.progress_dir is not None and os.path.isdir(self.progress_dir):
            sink = live.file_sink(self.progress_dir, f"{os.getpid()}-{next(self._count)}")
        # With the live display on, the sweep's own stderr lines would only be captured.
        return run_sweep(specs, self.cache, self.executor, refresh=self.refresh_since is not None,
                         refresh_since=self.refresh_since, train_fn=self.train_fn, desc=desc,
                         progress=sink is None, progress_sink=sink)

    def __call__(self, specs: Sequence[RunSpec], desc: str = "sweep"):
        """A pandas DataFrame with one row per spec (see ``results_frame``)."""
        return results_frame(self.results(specs, desc))

    def scaled(self, n: float, minimum: int = 1) -> int:
        """``n`` scaled by ``--budget``, rounded, at least ``minimum``."""
        return max(int(minimum), int(round(n * self.budget_scale)))


@pytest.fixture(scope="session")
def device(pytestconfig: pytest.Config) -> str:
    return resolve_device(pytestconfig.getoption("device"))


@pytest.fixture(scope="session")
def budget_scale(pytestconfig: pytest.Config) -> float:
    return float(pytestconfig.getoption("budget"))


@pytest.fixture(scope="session")
def run_cache(pytestconfig: pytest.Config) -> RunCache:
    return RunCache(pytestconfig.getoption("sc_cache_dir"))


@pytest.fixture(scope="session")
def sweep_executor(pytestconfig: pytest.Config, device: str):
    if (pytestconfig.getoption("executor") == "ray" and _is_xdist_worker(pytestconfig)
            and not (pytestconfig.getoption("ray_address") or os.environ.get("RAY_ADDRESS"))):
        raise pytest.UsageError("--executor ray with -n: give --ray-address (each xdist worker connects to the "
                                "cluster as a driver), or run without -n (one driver, a local Ray instance)")
    try:
        executor = make_executor(pytestconfig.getoption("executor"), pytestconfig.getoption("workers"),
                                 device=device, in_worker=_is_xdist_worker(pytestconfig),
                                 ray_address=pytestconfig.getoption("ray_address"),
                                 batching=pytestconfig.getoption("sc_batching"))
    except ValueError as err:
        raise pytest.UsageError(f"--executor {pytestconfig.getoption('executor')}: {err}") from None
    yield executor
    executor.close()


@pytest.fixture(scope="session")
def sweep(pytestconfig: pytest.Config, run_cache: RunCache, sweep_executor, budget_scale: float) -> Sweeper:
    since = pytestconfig._sc_session_start if pytestconfig.getoption("refresh") else None  # type: ignore[attr-defined]
    return Sweeper(run_cache, sweep_executor, budget_scale, since,
                   progress_dir=getattr(pytestconfig, "_sc_progress_dir", None))
