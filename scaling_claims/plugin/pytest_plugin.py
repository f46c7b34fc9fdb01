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
                                 ray: Ray tasks, see ``scaling_claims.runs.ray_executor``)
``--ray-address ADDRESS``        the Ray cluster for ``--executor ray`` (else $RAY_ADDRESS,
                                 else a local Ray instance)
``--workers N``                  pool size (default: usable cores)
``--no-batching``                train tiny same-shape runs one at a time instead of as batched
                                 ensembles (the records are the same; ``scaling_claims.runs.batches``)
``--cache-dir PATH``             run cache (else $SCALING_CLAIMS_CACHE, else
                                 ~/.cache/scaling-claims)
``--refresh``                    retrain every spec whose record predates this session
``--trainer MODULE:FUNCTION``    train every run of the session with this function instead of
                                 the engine's ``train`` (``RunSpec -> RunResult``; docs/trainers.md):
                                 its runs are cached apart, a claim whose runs it cannot honour
                                 is skipped (inconclusive) with its reason, and the session
                                 writes a conformance report beside the claims report
``--reference PATH``             the artifacts folder of an engine session to compare a
                                 ``--trainer`` session with (default ``<rootdir>/artifacts``)
``--progress-every SECONDS``     live sweep progress lines (runs done / total, from the cache,
                                 ETA) from the process that owns the terminal, also under
                                 ``-n 2`` (default 5 s on a terminal, 30 s otherwise; 0 turns
                                 them off); see ``scaling_claims.runs.live``

Fixtures (all session-scoped, so module- and session-scoped fixtures may use them too):

``device``        the resolved device name, "cpu" | "cuda" | "mps"
``budget_scale``  the ``--budget`` float
``run_cache``     the session's ``scaling_claims.runs.cache.RunCache``
``sweep``         a ``Sweeper``: ``sweep(specs, desc=...) -> DataFrame`` (see
                  ``scaling_claims.runs.sweep.results_frame`` for the columns);
                  ``sweep.results(specs, desc=...) -> list[RunResult]`` (same runs, as
                  objects, in the order given: loss curves live there);
                  ``sweep.scaled(n, minimum=1)`` -> ``max(minimum, round(n * budget_scale))``

With ``--trainer``, artifacts go to ``<rootdir>/artifacts/trainers/<module.function>/`` unless
``--artifacts-dir`` is given, so the engine's records (the reference) are kept; the session adds
``trainer.json``, ``conformance.md`` / ``conformance.json`` (each claim's verdict beside the
reference engine's at the same sizes, differences marked) and names the trainer in ``report.md``
(``scaling_claims.verdicts.conformance``).

Selection: with no ``-m`` given, tests marked ``slow`` or ``bench`` are deselected, so plain
``pytest tests`` and ``pytest claims`` stay quick; select them with ``-m slow`` / ``-m bench``.

Under pytest-xdist (``-n 2``): each worker uses one torch thread and trains in-process; workers
share the cache, never train a spec twice (per-key file locks), and split a shared sweep (see
``scaling_claims.runs.sweep``). ``--refresh`` uses the controller's session start on every worker,
so a run one worker made during this session is not retrained by another.
"""

from __future__ import annotations

import itertools
import os
import shutil
import sys
import time
from typing import Sequence

import pytest

from scaling_claims.runs import live
from scaling_claims.runs.cache import RunCache, TrainFn
from scaling_claims.runs.trainer import TrainerRef, UNSUPPORTED, is_unsupported, load_trainer
from scaling_claims.runs.executors import make_executor, single_thread_torch
from scaling_claims.engine import RunResult, RunSpec
from scaling_claims.runs.sweep import results_frame, run_sweep
from scaling_claims.plugin.options import PLUGIN_DESTS, PLUGIN_OPTIONS, add_run_options
from scaling_claims.plugin.xdist import is_xdist_worker

_START_KEY = "scaling_claims_session_start"
_PROGRESS_KEY = "scaling_claims_progress_dir"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("scaling-claims", "scaling-claims: training runs and the run cache")
    add_run_options(group.addoption, PLUGIN_OPTIONS, PLUGIN_DESTS)


def _configure_trainer(config: pytest.Config) -> None:
    """Load ``--trainer`` (the repository root and the invocation folder are searched too, so
    ``examples.trainers...`` imports from a checkout) and move the artifacts of its session to
    their own folder unless ``--artifacts-dir`` says where."""
    name = config.getoption("sc_trainer", None)
    search = [str(config.rootpath), str(config.invocation_params.dir)]
    try:
        ref = load_trainer(name, search=search)
    except ValueError as err:
        raise pytest.UsageError(str(err)) from None
    config._sc_trainer = ref  # type: ignore[attr-defined]
    if ref is not None and not config.getoption("sc_artifacts_dir", None):
        config.option.sc_artifacts_dir = str(config.rootpath / "artifacts" / "trainers" / ref.folder)


def pytest_configure(config: pytest.Config) -> None:
    _configure_trainer(config)
    config._sc_display = None  # type: ignore[attr-defined]
    if is_xdist_worker(config):
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
        # a fresh folder with its owner's pid; folders left by sessions that died (SIGKILL) are removed
        config._sc_progress_dir = live.new_progress_dir()  # type: ignore[attr-defined]
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
    """'auto' -> mps, then cuda, then cpu (``scaling_claims.engine.device.resolve_device``); a device
    this machine lacks is a usage error, not a silent fallback."""
    from scaling_claims.engine.device import resolve_device as engine_resolve

    try:
        return str(engine_resolve(requested))
    except ValueError as err:
        raise pytest.UsageError(f"--device {requested}: {err}") from None


def collapsed_sizes(results: Sequence[RunResult]) -> str:
    """Why a trainer's runs do not honour the requested model sizes, or "": requested models of
    different sizes (engine convention) that came back with one and the same reported parameter
    count (the trainer trained one model for them)."""
    from scaling_claims.engine import param_counts

    by_reported: dict[int, set[int]] = {}
    for r in results:
        if r.ok and r.params.get("total"):
            requested = param_counts(r.run_spec().model)["total"]
            by_reported.setdefault(int(r.params["total"]), set()).add(requested)
    worst = max(by_reported.items(), key=lambda kv: len(kv[1]), default=(0, set()))
    if len(worst[1]) < 2:
        return ""
    return (f"{len(worst[1])} requested model sizes ({', '.join(f'{n:,}' for n in sorted(worst[1]))} parameters) all "
            f"came back as one model of {worst[0]:,} parameters")


class Sweeper:
    """The ``sweep`` fixture: runs specs through the session's cache and executor."""

    def __init__(self, cache: RunCache, executor, budget_scale: float, refresh_since: float | None,
                 train_fn: TrainFn | None = None, progress_dir: str | None = None) -> None:
        self.cache, self.executor, self.budget_scale = cache, executor, budget_scale
        self.refresh_since, self.train_fn = refresh_since, train_fn
        self.progress_dir = progress_dir
        self._count = itertools.count()

    def results(self, specs: Sequence[RunSpec], desc: str = "sweep") -> list[RunResult]:
        """RunResults for ``specs`` in the order given (training whatever is not cached). With
        ``--trainer``, runs the trainer cannot honour skip the test (the claim is inconclusive,
        with the trainer's reason) rather than being trained some other way."""
        sink = None
        if self.progress_dir is not None and os.path.isdir(self.progress_dir):
            sink = live.file_sink(self.progress_dir, f"{os.getpid()}-{next(self._count)}")
        # With the live display on, the sweep's own stderr lines would only be captured.
        results = run_sweep(specs, self.cache, self.executor, refresh=self.refresh_since is not None,
                            refresh_since=self.refresh_since, train_fn=self.train_fn, desc=desc,
                            progress=sink is None, progress_sink=sink)
        if self.train_fn is not None:
            refused = [r for r in results if is_unsupported(r)]
            if refused:
                reasons = sorted({str(r.failure)[len(UNSUPPORTED):] for r in refused})
                pytest.skip(f"trainer {getattr(self.train_fn, 'name', self.train_fn)} cannot honour {len(refused)} "
                            f"of {len(results)} run(s) of {desc!r}: {'; '.join(reasons)}")
            collapsed = collapsed_sizes(results)
            if collapsed:
                raise RuntimeError(f"trainer {getattr(self.train_fn, 'name', self.train_fn)} does not honour the "
                                   f"requested model size in {desc!r}: {collapsed}")
        return results

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
def trainer(pytestconfig: pytest.Config) -> TrainerRef | None:
    """The session's ``--trainer`` (a ``runs.trainer.TrainerRef``), or None for the engine's."""
    return getattr(pytestconfig, "_sc_trainer", None)


@pytest.fixture(scope="session")
def run_cache(pytestconfig: pytest.Config, trainer: TrainerRef | None) -> RunCache:
    return RunCache(pytestconfig.getoption("sc_cache_dir"), trainer=None if trainer is None else trainer.identity)


@pytest.fixture(scope="session")
def sweep_executor(pytestconfig: pytest.Config, device: str):
    if (pytestconfig.getoption("executor") == "ray" and is_xdist_worker(pytestconfig)
            and not (pytestconfig.getoption("ray_address") or os.environ.get("RAY_ADDRESS"))):
        raise pytest.UsageError("--executor ray with -n: give --ray-address (each xdist worker connects to the "
                                "cluster as a driver), or run without -n (one driver, a local Ray instance)")
    try:
        executor = make_executor(pytestconfig.getoption("executor"), pytestconfig.getoption("workers"),
                                 device=device, in_worker=is_xdist_worker(pytestconfig),
                                 ray_address=pytestconfig.getoption("ray_address"),
                                 batching=pytestconfig.getoption("sc_batching"))
    except ValueError as err:
        raise pytest.UsageError(f"--executor {pytestconfig.getoption('executor')}: {err}") from None
    yield executor
    executor.close()


@pytest.fixture(scope="session")
def sweep(pytestconfig: pytest.Config, run_cache: RunCache, sweep_executor, budget_scale: float,
          trainer: TrainerRef | None) -> Sweeper:
    since = pytestconfig._sc_session_start if pytestconfig.getoption("refresh") else None  # type: ignore[attr-defined]
    return Sweeper(run_cache, sweep_executor, budget_scale, since, train_fn=trainer,
                   progress_dir=getattr(pytestconfig, "_sc_progress_dir", None))


# ----------------------------------------------------------------------------- the conformance report

def _artifacts(config: pytest.Config):
    from scaling_claims.plugin.claims_plugin import artifacts_dir

    return artifacts_dir(config)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """After the claims report is written (controller only): with ``--trainer``, name the trainer
    in it and write the conformance report; without, mark the folder as the engine's (a
    reference for later ``--trainer`` sessions)."""
    config = session.config
    if is_xdist_worker(config) or config.option.collectonly:
        return
    from scaling_claims.verdicts import conformance

    art = _artifacts(config)
    if not conformance.wrote_claims(art, config._sc_session_start):  # type: ignore[attr-defined]
        return  # no claim ran in this session (e.g. the library tests): nothing to compare or mark
    ref = getattr(config, "_sc_trainer", None)
    if ref is None:
        conformance.mark_engine_session(art)
        return
    reference = config.getoption("sc_reference", None) or str(config.rootpath / "artifacts")
    config._sc_conformance = conformance.write(  # type: ignore[attr-defined]
        art, conformance.trainer_info(ref, config.getoption("budget")), reference)


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    summary = getattr(config, "_sc_conformance", None)
    if summary is None or is_xdist_worker(config):
        return
    terminalreporter.write_sep("=", "conformance")
    for line in summary:
        terminalreporter.write_line(line)
