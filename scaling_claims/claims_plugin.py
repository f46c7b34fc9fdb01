"""pytest plugin: claim records, artifacts, the session report and the terminal claims table.

Registered by the repository's root ``conftest.py``. A claim test asks for the ``claim``
fixture (a :class:`ClaimRecorder`) and reads like the claim::

    from scaling_claims import checks, plots

    @pytest.mark.quick
    def test_hutter_exponent(claim):
        claim.declare("hutter-b", paper="Hutter 2021", quantity="b", paper_value=1 / 3,
                      tolerance="+-0.02", justification="closed form; only grid discretisation")
        fit = fit_power_law(n, err)                          # the data and the fit
        claim.measured(-fit.exponent, ci=...)                # our number beside the paper's
        claim.points({"n": n, "error": err}); claim.fit(fit)
        claim.plot(plots.scaling_plot, n, err, fit=fit, xlabel="n", ylabel="error")
        claim.check(checks.within_band("b", -fit.exponent, 1/3 - 0.02, 1/3 + 0.02))

Verdicts follow the test's real outcome (set here, never by the test):
passed -> "confirmed"; failed on an ``AssertionError`` -> "refuted"; a strict xfail declared
with ``claim.expect_refuted(check)`` that fails as expected -> "refuted" (its reason carries
the measured number); such a test whose check holds fails as XPASS(strict) and is recorded
"confirmed" (the suite says the claim now holds); any other error or a skip -> "inconclusive".

Artifacts go to ``--artifacts-dir`` (default ``<rootdir>/artifacts``): ``<id>/points.csv``,
``<id>/fit.json``, ``<id>/plot.png`` and ``records/<id>.json`` from whichever process ran the
test. Records also travel to the controller in the test report (``user_properties``), so under
pytest-xdist only the controller writes ``claims.json`` and ``report.md`` and prints the table,
from exactly this session's claims. Nothing is written when a session recorded no claim.
"""

from __future__ import annotations

import importlib.metadata
import os
import time
from pathlib import Path
from typing import Any, Callable

import pytest
import threadpoolctl

from . import report as _report
from .checks import Check
from .records import CONFIRMED, INCONCLUSIVE, REFUTED, ClaimRecord, safe_id

_RECORD_PROPERTY = "scaling_claims_record"
_recorder_key = pytest.StashKey["ClaimRecorder"]()


def _torch_version() -> str:
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return ""


def artifacts_dir(config: pytest.Config) -> Path:
    """The session's artifacts directory (``--artifacts-dir``, else ``<rootdir>/artifacts``)."""
    opt = config.getoption("sc_artifacts_dir", None)
    path = Path(opt) if opt else Path(config.rootpath) / "artifacts"
    return path if path.is_absolute() else Path(config.invocation_params.dir) / path


class ClaimRecorder:
    """What the ``claim`` fixture hands a test: fills one :class:`ClaimRecord`.

    Call :meth:`declare` first (it fixes the claim id and so the artifact directory).
    """

    def __init__(self, item: pytest.Item, root: Path) -> None:
        self._item = item
        self._root = root
        self.record: ClaimRecord | None = None
        self._start = time.perf_counter()
        self._xfail_verdict = REFUTED  # what a strict xfail means for this claim

    # -- identity and the paper's side
    def declare(self, claim_id: str, **fields: Any) -> "ClaimRecorder":
        """Name the claim and set any record fields (paper, claim, quantity, paper_value,
        tolerance, justification, param_convention, device, dtype, seeds, budget, ...).
        Defaults: device "cpu", dtype "float64", this torch version (closed-form claims);
        :meth:`runs` overwrites them from trained runs."""
        if self.record is not None:
            raise ValueError(f"claim already declared as {self.record.claim_id!r}")
        base = {"device": "cpu", "dtype": "float64", "torch_version": _torch_version()}
        self.record = ClaimRecord(claim_id=claim_id, nodeid=self._item.nodeid, **{**base, **fields})
        return self

    @property
    def rec(self) -> ClaimRecord:
        if self.record is None:
            raise ValueError("call claim.declare(claim_id, ...) before recording anything")
        return self.record

    def set(self, **fields: Any) -> "ClaimRecorder":
        """Set record fields by name (unknown names raise ``ValueError``)."""
        for k, v in fields.items():
            if not hasattr(self.rec, k):
                raise ValueError(f"ClaimRecord has no field {k!r}")
            setattr(self.rec, k, v)
        return self

    # -- our side
    def measured(self, value: Any, ci: tuple[float, float] | None = None, level: float | None = 0.95) -> None:
        """The measured value (a number, or a short text) and its confidence interval."""
        self.rec.measured = value.item() if hasattr(value, "item") else value
        self.rec.ci = None if ci is None else (float(ci[0]), float(ci[1]))
        self.rec.ci_level = level if ci is not None else None

    def note(self, text: str) -> None:
        self.rec.notes.append(str(text))

    def runs(self, results: Any) -> None:
        """Fill device, dtype, torch version, seeds and summed run wall time from trained runs
        (a list of ``RunResult`` or a ``results_frame`` DataFrame)."""
        if hasattr(results, "to_dict") and hasattr(results, "columns"):
            rows = results.to_dict("records")
            get = lambda r, k: r.get(k)  # noqa: E731
        else:
            rows = list(results)
            get = lambda r, k: r.spec.get(k) if k in ("seed", "device", "dtype") else getattr(r, k, None)  # noqa: E731
        if not rows:
            raise ValueError("runs() needs at least one run")
        devices = sorted({str(get(r, "device")) for r in rows if get(r, "device")})
        dtypes = sorted({str(get(r, "dtype")) for r in rows if get(r, "dtype")})
        self.rec.device = ",".join(devices) or self.rec.device
        self.rec.dtype = ",".join(dtypes) or self.rec.dtype
        self.rec.seeds = sorted({int(get(r, "seed")) for r in rows if get(r, "seed") is not None})
        walls = [float(get(r, "wall_time_s")) for r in rows if get(r, "wall_time_s") is not None]
        self.rec.run_wall_time_s = sum(walls) if walls else None
        envs = [r.env for r in rows if isinstance(getattr(r, "env", None), dict)]
        versions = {e.get("torch") for e in envs if e.get("torch")}
        if versions:
            self.rec.torch_version = ",".join(sorted(map(str, versions)))
        if any(e.get("mps_fallback") for e in envs):
            self.note("PYTORCH_ENABLE_MPS_FALLBACK was on for some runs (unsupported ops ran on the CPU)")

    # -- artifacts
    @property
    def dir(self) -> Path:
        """``artifacts/<claim id>/`` (created)."""
        return _report.claim_dir(self._root, self.rec.claim_id)

    @property
    def plot_path(self) -> Path:
        return self.dir / "plot.png"

    def points(self, points: Any) -> Path:
        path = _report.write_points(self.dir, points)
        self.rec.artifacts["points"] = str(path.relative_to(self._root))
        return path

    def fit(self, fit: Any) -> Path:
        path = _report.write_fit(self.dir, fit)
        self.rec.artifacts["fit"] = str(path.relative_to(self._root))
        return path

    def plot(self, plot_fn: Callable[..., Path], *args: Any, **kwargs: Any) -> Path:
        """Call ``plot_fn(self.plot_path, *args, **kwargs)`` (a ``scaling_claims.plots``
        function) and link the PNG from the record."""
        path = Path(plot_fn(self.plot_path, *args, **kwargs))
        self.rec.artifacts["plot"] = str(path.relative_to(self._root))
        return path

    # -- assertions
    def check(self, check: Check) -> Check:
        """Record a check and require it (raises ``AssertionError`` when it failed)."""
        self.rec.checks.append(check.to_dict())
        return check.require()

    def check_all(self, *checks: Check) -> None:
        """Record every check, then require them all (the record shows every failure)."""
        for c in checks:
            self.rec.checks.append(c.to_dict())
        failed = [c for c in checks if not c.passed]
        if failed:
            raise AssertionError("; ".join(f"{c.name}: {c.message}" for c in failed))

    def expect_refuted(self, check: Check, why: str = "") -> None:
        """Declare, at run time, that this claim is expected not to hold: the test becomes a
        strict xfail whose reason carries the measured number, and the check is required.
        Fails as expected -> xfailed, verdict "refuted". Holds -> XPASS(strict), a failure
        that tells us the claim now holds (verdict "confirmed")."""
        self._expect_failure(check, "claim expected refuted", why, REFUTED)

    def expect_inconclusive(self, check: Check, why: str) -> None:
        """Like :meth:`expect_refuted`, for a claim this scale cannot resolve either way (the
        effect is below the measured noise): the test is a strict xfail carrying the numbers,
        and the verdict is "inconclusive", not "refuted". ``why`` must say why it cannot be
        resolved. If the check ever holds, XPASS(strict) fails the test (verdict "confirmed")."""
        if not why:
            raise ValueError("expect_inconclusive needs a reason: why can this scale not resolve the claim?")
        self._expect_failure(check, "claim not resolvable at this scale", why, INCONCLUSIVE)

    def _expect_failure(self, check: Check, prefix: str, why: str, verdict: str) -> None:
        self.rec.checks.append(check.to_dict())
        reason = f"{prefix}: {check.name}: {check.message}" + (f" ({why})" if why else "")
        self.rec.notes.append(reason)
        self._xfail_verdict = verdict
        _mark_strict_xfail(self._item, reason)
        check.require()


def _mark_strict_xfail(item: pytest.Item, reason: str) -> None:
    """Make the running test a strict xfail. pytest evaluates xfail marks at setup and only
    re-reads them after the call when none was found; a static xfail marker would hide a mark
    added now, so the evaluated xfail in the item's stash is replaced as well."""
    mark = pytest.mark.xfail(strict=True, reason=reason, raises=AssertionError)
    item.add_marker(mark)
    try:
        from _pytest.skipping import Xfail, xfailed_key
    except ImportError:  # pragma: no cover - pytest internals moved: the added marker still works without static marks
        return
    item.stash[xfailed_key] = Xfail(reason=reason, run=True, strict=True, raises=AssertionError)


def _verdict(rep: pytest.TestReport, call: pytest.CallInfo) -> tuple[str, str]:
    if hasattr(rep, "wasxfail"):
        if rep.skipped:
            return REFUTED, "xfailed"
        return CONFIRMED, "xpassed"
    if rep.passed:
        return CONFIRMED, "passed"
    if rep.skipped:
        return INCONCLUSIVE, "skipped"
    if str(rep.longrepr).startswith("[XPASS(strict)]"):
        return CONFIRMED, "xpassed"
    if call.excinfo is not None and isinstance(call.excinfo.value, AssertionError):
        return REFUTED, "failed"
    return INCONCLUSIVE, "error"


# ----------------------------------------------------------------------------- hooks

def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("scaling-claims").addoption(
        "--artifacts-dir", default=None, metavar="PATH", dest="sc_artifacts_dir",
        help="where claim records, plots and the report go (default: <rootdir>/artifacts)")


def limit_numpy_blas_threads(n: int = 1) -> None:
    """Limit the BLAS that NumPy/SciPy loaded to ``n`` threads (through threadpoolctl).

    ``OPENBLAS_NUM_THREADS`` is only read when the library loads, which is long before a
    pytest plugin runs. On a 2-core machine running two xdist workers (or one shared with
    other jobs), multi-threaded BLAS on the claims' small matrices was measured ~50x slower
    than one thread (the double-descent file: 128 s against 14 s).
    """
    threadpoolctl.threadpool_limits(limits=int(n), user_api="blas")


def pytest_configure(config: pytest.Config) -> None:
    # One BLAS thread per process unless the user chose otherwise (see limit_numpy_blas_threads).
    if "OPENBLAS_NUM_THREADS" not in os.environ or _is_worker(config):
        limit_numpy_blas_threads(1)
    config.pluginmanager.register(_ClaimSession(config), f"scaling-claims-session-{id(config)}")


@pytest.fixture
def claim(request: pytest.FixtureRequest) -> ClaimRecorder:
    """A :class:`ClaimRecorder` for this test; its record is finished and saved after the call."""
    rec = ClaimRecorder(request.node, artifacts_dir(request.config))
    request.node.stash[_recorder_key] = rec
    return rec


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    # tryfirst makes this wrapper the outermost, so it sees the outcome after pytest's
    # skipping plugin has turned it into xfailed / XPASS(strict).
    rep = yield
    recorder = item.stash.get(_recorder_key, None)
    if recorder is None or recorder.record is None:
        return rep
    if call.when == "call" or (call.when == "setup" and not rep.passed):
        record = recorder.record
        record.verdict, record.outcome = _verdict(rep, call)
        if record.outcome == "xfailed":
            record.verdict = recorder._xfail_verdict
        record.wall_time_s = rep.duration
        if record.outcome == "error" and call.excinfo is not None:
            record.notes.append(f"error: {call.excinfo.typename}: {call.excinfo.value}")
        record.save(recorder._root / "records" / f"{safe_id(record.claim_id)}.json")
        rep.user_properties.append((_RECORD_PROPERTY, record.to_dict()))
    return rep


class _ClaimSession:
    """Per-config collector of this session's records (a plugin object, so that nested
    in-process pytest runs, e.g. pytester, keep their own records)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.collected: list[dict[str, Any]] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # On the controller this sees the reports of xdist workers too (user_properties travel).
        for name, value in getattr(report, "user_properties", ()):
            if name == _RECORD_PROPERTY:
                self.collected.append(value)

    def records(self) -> list[ClaimRecord]:
        """This session's records; a claim id recorded twice keeps the last (see duplicates())."""
        by_id: dict[str, ClaimRecord] = {}
        for d in self.collected:
            r = ClaimRecord.from_dict(d)
            by_id[r.claim_id] = r
        return list(by_id.values())

    def duplicates(self) -> list[str]:
        ids = [d["claim_id"] for d in self.collected]
        return sorted({i for i in ids if ids.count(i) > 1})

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if _is_worker(self.config):
            return
        records = self.records()
        if records:
            _report.write_session_report(artifacts_dir(self.config), records)

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if _is_worker(self.config):
            return
        records = self.records()
        if not records:
            return
        terminalreporter.write_sep("=", "scaling claims")
        terminalreporter.write_line(_report.summary_table(records))
        terminalreporter.write_line(f"report: {artifacts_dir(self.config) / 'report.md'}")
        for cid in self.duplicates():
            terminalreporter.write_line(f"warning: claim id {cid!r} was recorded by several tests; "
                                        "the report keeps the last")


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")
