"""pytest plugin: declared claims, their verdicts, artifacts, the report and the terminal table.

Registered by the repository's root ``conftest.py``. A claim is declared with a marker, read at
collection, so its record exists before any run; the test measures, fits and checks::

    from scaling_claims.verdicts import checks, expect, plots
    from scaling_claims.verdicts.estimates import Estimate

    @pytest.mark.quick
    @pytest.mark.claim("hutter-b[a={a}]", paper="Hutter 2021", quantity="b",
                       paper_value=lambda a: a / (1 + a), tolerance="+-0.02",
                       justification="closed form; only grid discretisation", expect=expect.confirmed())
    @pytest.mark.parametrize("a", [0.5, 1.0])
    def test_hutter_exponent(claim, a):
        fit = fit_power_law(n, err)                          # the data and the fit
        b = Estimate.from_fit(fit, "exponent")               # a value with its interval
        claim.measured(b)                                    # our number beside the paper's
        claim.points({"n": n, "error": err}); claim.fit(fit)
        claim.plot(plots.scaling_plot, n, err, fit=fit, xlabel="n", ylabel="error")
        claim.check(checks.within_band("b", b, a / (1 + a) - 0.02, a / (1 + a) + 0.02))

``@pytest.mark.claim(id, **fields)`` declares a paper's claim, ``@pytest.mark.sanity(id, **fields)``
an identity or a check of our own code (reported in its own section, never counted among the
paper's claims), ``@pytest.mark.comparison(id, **fields)`` a constant the paper ties to its own
data: the test records our measured number (``claim.measured``) beside the declared
``paper_value`` and records no check; it has no verdict (``NO_VERDICT``), its ``justification``
says why, and it passes when it measured a finite number (a comparison that measured nothing
fails). A headline claim's rows also declare ``headline=`` (a key of
``scaling_claims.verdicts.headlines``) and ``role="law"`` or ``role="constant"``. Fields are ``ClaimRecord`` fields (paper, claim, quantity, paper_value,
tolerance, justification, param_convention, seeds, budget) plus ``expect`` (a
``scaling_claims.verdicts.expect`` expectation; default confirmed, declared before data). The id is
formatted with the test's parameters (``"hutter-b[a={a}]"``); a field given as a callable is
called with the parameters it names. Marks on a ``pytest.param`` override the function's (e.g.
a level's expectation). ``seeds``, when declared, must be exactly the seeds of the runs passed
to ``claim.runs``.

The verdict (set here, never by the test), from where each check's whole interval lies
(``scaling_claims.verdicts.checks``): refuted if any check is, confirmed if all are, else inconclusive.
No expectation changes it: an out-of-regime claim's verdict is reported as measured, with the
regime's reason recorded beside it (``ClaimRecord.regime``). The test **passes** when that
verdict is the one declared, and **fails** when it changed, either way (the failure says from
what to what and why). A declaration made after its data is recorded as such
(``declared_after_data``, ``declaration_note``). An error (in the test, a fixture or a training
run), a skip, or a test that never ran leaves the claim *inconclusive* with the reason: never
refuted, never absent.

Artifacts go to ``--artifacts-dir`` (default ``<rootdir>/artifacts``): ``<id>/points.csv``,
``<id>/fit.json``, ``<id>/plot.png`` and ``records/<id>.json`` from whichever process ran the
test. Records travel to the controller in the test report (``user_properties``) and the declared
claims in the xdist workers' output, so under pytest-xdist only the controller writes
``claims.json``, ``report.md`` and ``report.html`` and prints the table, from exactly this session's claims.
Only pytest's public hooks are used.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import itertools
import math
import os
from pathlib import Path
from typing import Any, Callable

import pytest
import threadpoolctl

from scaling_claims.plugin.xdist import is_xdist_worker
from scaling_claims.verdicts import checks as _checks
from scaling_claims.verdicts import report as _report
from scaling_claims.verdicts.checks import Check
from scaling_claims.verdicts.estimates import Estimate
from scaling_claims.verdicts.expect import Expectation, comparison, confirmed
from scaling_claims.verdicts.headlines import headline as _headline
from scaling_claims.verdicts.html_report import write_session_report
from scaling_claims.verdicts.records import INCONCLUSIVE, NO_VERDICT, ClaimRecord, safe_id

_RECORD_PROPERTY = "scaling_claims_record"
_DECLARED_OUTPUT = "scaling_claims_declared"
_recorder_key = pytest.StashKey["ClaimRecorder"]()
_declared_key = pytest.StashKey["_Declaration"]()
MARKERS = {"claim": "claim(id, **fields): declares a paper's claim (see scaling_claims.plugin.claims_plugin)",
           "sanity": "sanity(id, **fields): declares a sanity check of our own code or an identity",
           "comparison": "comparison(id, **fields): declares our number beside a constant the paper ties to its "
                         "data (no verdict)"}
# fields a test may not change after declaring them: what was registered before the run
_PREREGISTERED = ("claim_id", "kind", "expected", "expectation", "regime", "declared_after_data",
                  "declaration_note", "seeds", "role", "headline", "paper_value")


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


class ClaimVerdictChanged(AssertionError):
    """The measured verdict is not the one declared for the claim."""


def _declared_fields(expectation: Expectation) -> dict[str, Any]:
    """The record fields an expectation fixes before the run."""
    return {"expected": expectation.verdict, "expectation": expectation.text(), "regime": expectation.regime,
            "declared_after_data": expectation.after_data,
            "declaration_note": expectation.note if expectation.after_data else ""}


# ----------------------------------------------------------------------------- declarations

class _Declaration:
    """A claim's record as declared at collection, its expectation, and any declaration error."""

    def __init__(self, record: ClaimRecord | None, expectation: Expectation, error: str = "",
                 kind: str = "claim") -> None:
        self.record, self.expectation, self.error, self.kind = record, expectation, error, kind

    def fallback_record(self, item: pytest.Item) -> ClaimRecord:
        """The record of a claim whose declaration failed: named after its test, so it is not absent."""
        return ClaimRecord(claim_id=safe_id(item.nodeid), kind=self.kind, nodeid=item.nodeid, outcome="not run",
                           reason=self.error)


def _call_with_params(fn: Callable[..., Any], params: dict[str, Any], what: str) -> Any:
    names = list(inspect.signature(fn).parameters)
    missing = [n for n in names if n not in params]
    if missing:
        raise ValueError(f"{what} is a callable of {missing}, which are not parameters of this test")
    return fn(**{n: params[n] for n in names})


def _declare(item: pytest.Item) -> _Declaration | None:
    """The merged claim/sanity marks of ``item`` as a declaration (None when it has none)."""
    found = [(node, mark) for node, mark in item.iter_markers_with_node() if mark.name in MARKERS]
    if not found:
        return None
    kinds = {mark.name for _, mark in found}
    if len(kinds) > 1:
        return _Declaration(None, confirmed(), "a test is one of a claim, a sanity check or a comparison, "
                                               f"not several (it has {sorted(kinds)})")
    kind = kinds.pop()
    fail = lambda why: _Declaration(None, confirmed(), why, kind)  # noqa: E731
    # closest node first; on one node, later marks (a pytest.param's) override earlier ones
    fields: dict[str, Any] = {}
    claim_id = None
    by_node = [[mark for _, mark in marks] for _, marks in itertools.groupby(found, key=lambda nm: id(nm[0]))]
    for marks in reversed(by_node):  # farthest node first, so closer nodes override
        for mark in marks:
            fields.update(mark.kwargs)
            if mark.args:
                if len(mark.args) != 1:
                    return fail(f"@pytest.mark.{kind} takes one positional argument (the id), got {mark.args!r}")
                claim_id = mark.args[0]
    params = dict(getattr(getattr(item, "callspec", None), "params", {}) or {})
    try:
        if claim_id is None:
            raise ValueError(f"@pytest.mark.{kind} needs the claim id as its first argument")
        claim_id = _call_with_params(claim_id, params, "the id") if callable(claim_id) else str(claim_id).format(**params)
        resolved = {k: (_call_with_params(v, params, k) if callable(v) else v) for k, v in fields.items()}
        expectation = resolved.pop("expect", None) or confirmed()
        if not isinstance(expectation, Expectation):
            raise ValueError(f"expect= must be a scaling_claims.verdicts.expect expectation, got {expectation!r}")
        if kind == "claim":
            missing = [k for k in ("paper", "quantity", "tolerance", "justification") if not resolved.get(k)]
            if missing:
                raise ValueError(f"a claim must declare {missing} before its runs")
        if kind == "comparison":
            if "expect" in fields:
                raise ValueError("a comparison has no verdict to expect: drop expect=")
            missing = [k for k in ("paper", "quantity", "paper_value", "justification", "headline")
                       if resolved.get(k) in (None, "")]
            if missing:
                raise ValueError(f"a comparison must declare {missing} (justification: why it has no verdict)")
            expectation = comparison(str(resolved["justification"]))
            resolved.setdefault("role", "constant")
        if resolved.get("headline") or resolved.get("role"):
            if kind == "sanity":
                raise ValueError("a sanity check is not a row of a headline claim: drop headline= and role=")
            _headline(str(resolved.get("headline", "")))
            if resolved.get("role") not in ("law", "constant"):
                raise ValueError(f"a headline claim's row declares role='law' or role='constant', "
                                 f"got {resolved.get('role')!r}")
        if "claim" not in getattr(item, "fixturenames", ()):
            raise ValueError("a declared claim's test must take the `claim` fixture")
        base = {"device": "cpu", "dtype": "float64", "torch_version": _torch_version()}
        record = ClaimRecord(claim_id=claim_id, kind=kind, nodeid=item.nodeid, outcome="not run",
                             reason="declared, but the test did not run", **_declared_fields(expectation),
                             **{**base, **resolved})
    except (ValueError, TypeError, KeyError, IndexError) as err:
        return fail(f"claim declaration of {item.nodeid}: {err}")
    return _Declaration(record, expectation, kind=kind)


class ClaimRecorder:
    """What the ``claim`` fixture hands a test: fills the declared :class:`ClaimRecord`."""

    def __init__(self, item: Any, root: Path, declaration: _Declaration) -> None:
        self._item = item
        self._root = root
        self._decl = declaration
        self.record: ClaimRecord = declaration.record  # type: ignore[assignment]
        self._checks: list[Check] = []
        self._declared_seeds = list(self.record.seeds)

    @classmethod
    def for_test(cls, claim_id: str, root: Path, expectation: Expectation | None = None, kind: str = "claim",
                 **fields: Any) -> "ClaimRecorder":
        """A recorder outside pytest (library use and tests): a declared record without a marker."""
        exp = expectation or confirmed()
        rec = ClaimRecord(claim_id=claim_id, kind=kind, **_declared_fields(exp), device="cpu", dtype="float64",
                          torch_version=_torch_version(), **fields)
        return cls(None, Path(root), _Declaration(rec, exp))

    @property
    def rec(self) -> ClaimRecord:
        return self.record

    @property
    def expectation(self) -> Expectation:
        return self._decl.expectation

    def set(self, **fields: Any) -> "ClaimRecorder":
        """Set record fields by name (unknown names raise ``ValueError``; the id, kind,
        expectation and declared seeds are fixed by the declaration)."""
        for k, v in fields.items():
            if not hasattr(self.rec, k):
                raise ValueError(f"ClaimRecord has no field {k!r}")
            if k in _PREREGISTERED:
                raise ValueError(f"{k!r} is declared before the run (in the marker) and cannot change in the test")
            setattr(self.rec, k, v)
        return self

    # -- our side
    def measured(self, value: Any, ci: tuple[float, float] | None = None, level: float | None = 0.95) -> None:
        """The headline measurement: an :class:`Estimate` (value, interval, level, method), or a
        number or short text with an optional interval. Only checks decide the verdict."""
        if isinstance(value, Estimate):
            self.rec.measured = value.value
            self.rec.ci = None if value.problem else (value.lo, value.hi)
            self.rec.ci_level = None if value.problem else value.level
            self.rec.ci_method = value.method + (f" (interval not usable: {value.problem})" if value.problem else "")
            return
        self.rec.measured = value.item() if hasattr(value, "item") else value
        self.rec.ci = None if ci is None else (float(ci[0]), float(ci[1]))
        self.rec.ci_level = level if ci is not None else None

    def note(self, text: str) -> None:
        self.rec.notes.append(str(text))

    def runs(self, results: Any) -> None:
        """Fill device, dtype, torch version, seeds and summed run wall time from trained runs
        (a list of ``RunResult`` or a ``results_frame`` DataFrame). Declared seeds must match."""
        if hasattr(results, "to_dict") and hasattr(results, "columns"):
            rows = results.to_dict("records")
            get = lambda r, k: r.get(k)  # noqa: E731
        else:
            rows = list(results)
            get = lambda r, k: r.spec.get(k) if k in ("seed", "device", "dtype") else getattr(r, k, None)  # noqa: E731
        if not rows:
            raise ValueError("runs() needs at least one run")
        seeds = sorted({int(get(r, "seed")) for r in rows if get(r, "seed") is not None})
        declared = self._declared_seeds
        if declared and seeds != sorted(declared):
            raise ValueError(f"runs use seeds {seeds}, but the claim declared seeds {sorted(declared)} before its runs")
        self.rec.seeds = sorted(set(self.rec.seeds) | set(seeds))
        devices = sorted({str(get(r, "device")) for r in rows if get(r, "device")})
        dtypes = sorted({str(get(r, "dtype")) for r in rows if get(r, "dtype")})
        self.rec.device = ",".join(devices) or self.rec.device
        self.rec.dtype = ",".join(dtypes) or self.rec.dtype
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
        """Call ``plot_fn(self.plot_path, *args, **kwargs)`` (a ``scaling_claims.verdicts.plots``
        function) and link the PNG from the record."""
        path = Path(plot_fn(self.plot_path, *args, **kwargs))
        self.rec.artifacts["plot"] = str(path.relative_to(self._root))
        return path

    # -- checks
    def check(self, check: Check) -> Check:
        """Record a check (it never raises: the plugin decides the verdict after the test)."""
        if not isinstance(check, Check):
            raise ValueError(f"claim.check takes a scaling_claims.verdicts.checks.Check, got {type(check).__name__}")
        if self.rec.kind == "comparison":
            raise ValueError(f"{self.rec.claim_id!r} is a comparison (no verdict): it records our number beside "
                             "the paper's and takes no check; a check belongs in a law row")
        self._checks.append(check)
        self.rec.checks.append(check.to_dict())
        return check

    def check_all(self, *checks: Check) -> list[Check]:
        """Record every check."""
        return [self.check(c) for c in checks]

    def inconclusive(self, name: str, reason: str) -> Check:
        """Record that the data cannot decide this claim (e.g. two designs collapse to one run),
        with the reason: the claim's evidence is then at best inconclusive."""
        return self.check(Check(name, INCONCLUSIVE, None, None, reason))

    def decide(self) -> tuple[str, str]:
        """Set and return (verdict, reason) from the recorded checks alone (the interval rule);
        the expectation never changes the verdict."""
        if self.rec.kind == "comparison":
            self.rec.evidence = self.rec.verdict = NO_VERDICT
            self.rec.reason = _comparison_problem(self.rec)
            return NO_VERDICT, self.rec.reason
        evidence, why = _checks.combine(self._checks)
        verdict = self.expectation.decide(evidence)
        self.rec.evidence, self.rec.verdict, self.rec.reason = evidence, verdict, why
        return verdict, why


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
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", text)
    # One BLAS thread per process unless the user chose otherwise (see limit_numpy_blas_threads).
    if "OPENBLAS_NUM_THREADS" not in os.environ or is_xdist_worker(config):
        limit_numpy_blas_threads(1)
    config.pluginmanager.register(_ClaimSession(config), f"scaling-claims-session-{id(config)}")


@pytest.fixture
def claim(request: pytest.FixtureRequest) -> ClaimRecorder:
    """The :class:`ClaimRecorder` of this test's declared claim."""
    decl = request.node.stash.get(_declared_key, None)
    if decl is None:
        raise ValueError(f"{request.node.nodeid} uses the `claim` fixture but declares no claim: add "
                         "@pytest.mark.claim(id, paper=..., quantity=..., tolerance=..., justification=...)")
    if decl.error:
        raise ValueError(decl.error)
    rec = ClaimRecorder(request.node, artifacts_dir(request.config), decl)
    request.node.stash[_recorder_key] = rec
    return rec


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    result = yield  # an exception in the test propagates: the claim becomes inconclusive (error)
    recorder = item.stash.get(_recorder_key, None)
    if recorder is not None:
        verdict, why = recorder.decide()
        if recorder.rec.kind == "comparison" and why:
            raise ClaimVerdictChanged(f"comparison {recorder.rec.claim_id!r}: {why}")
        if verdict != recorder.expectation.verdict:
            raise ClaimVerdictChanged(
                f"claim {recorder.rec.claim_id!r}: verdict {verdict}, but {recorder.expectation.text()}. {why}")
    return result


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    rep = yield
    decl = item.stash.get(_declared_key, None)
    if decl is None or decl.record is None and not decl.error:
        return rep
    if not (call.when == "call" or (call.when == "setup" and not rep.passed)):
        return rep
    recorder = item.stash.get(_recorder_key, None)
    record = recorder.record if recorder is not None else decl.record
    if record is None:  # a declaration error: make a minimal record so the claim is not absent
        record = decl.fallback_record(item)
    exc = call.excinfo.value if call.excinfo is not None else None
    if rep.skipped and hasattr(rep, "wasxfail") and isinstance(exc, ClaimVerdictChanged):
        # a strict xfail: the verdict was measured and differs from the expected one, a known
        # failure with its reason; the measured verdict stays in the record and the report
        record.outcome = "xfailed"
        record.reason = f"known failure (strict xfail): {rep.wasxfail}; {exc}"
    elif rep.skipped:
        record.verdict = record.evidence = _undecided(record)
        record.outcome = "skipped"
        record.reason = f"skipped: {_skip_reason(rep)}"
    elif exc is None:
        record.outcome = "passed"
    elif isinstance(exc, ClaimVerdictChanged):
        record.outcome = "failed"
        rep.longrepr = str(exc)
    else:
        record.verdict = record.evidence = _undecided(record)
        record.outcome = "error"
        where = "setup" if call.when == "setup" else "test"
        record.reason = f"error in {where}: {type(exc).__name__}: {exc}"
    record.wall_time_s = rep.duration
    record.save(artifacts_dir(item.config) / "records" / f"{safe_id(record.claim_id)}.json")
    rep.user_properties.append((_RECORD_PROPERTY, record.to_dict()))
    return rep


def _undecided(record: ClaimRecord) -> str:
    """The verdict of a claim whose test errored or was skipped: inconclusive (a comparison has none)."""
    return NO_VERDICT if record.kind == "comparison" else INCONCLUSIVE


def _comparison_problem(record: ClaimRecord) -> str:
    """Why a comparison's record cannot stand ("" when it measured a finite number)."""
    value = record.measured
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"a comparison must measure a number to set beside the paper's {record.paper_value!r}, got {value!r}"
    if not math.isfinite(value):
        return f"a comparison measured a non-finite number ({value})"
    return ""


def _skip_reason(rep: pytest.TestReport) -> str:
    lr = rep.longrepr
    return str(lr[2]) if isinstance(lr, tuple) and len(lr) == 3 else str(lr)


class _ClaimSession:
    """Per-config collector of this session's declared and reported claims (a plugin object, so
    nested in-process pytest runs, e.g. pytester, keep their own)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.declared: dict[str, dict[str, Any]] = {}  # nodeid -> declared record
        self.reported: dict[str, dict[str, Any]] = {}  # nodeid -> finished record

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        by_id: dict[str, list[pytest.Item]] = {}
        for item in session.items:
            decl = _declare(item)
            if decl is None:
                continue
            item.stash[_declared_key] = decl
            if decl.record is not None:
                by_id.setdefault(decl.record.claim_id, []).append(item)
        for cid, items in by_id.items():
            if len(items) > 1:
                for item in items:
                    kind = item.stash[_declared_key].kind
                    item.stash[_declared_key] = _Declaration(None, confirmed(),
                                                             f"claim id {cid!r} is declared by {len(items)} tests: "
                                                             + ", ".join(i.nodeid for i in items), kind)
        for item in session.items:
            decl = item.stash.get(_declared_key, None)
            if decl is not None:
                rec = decl.record or decl.fallback_record(item)
                self.declared[item.nodeid] = rec.to_dict()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # On the controller this sees the reports of xdist workers too (user_properties travel).
        for name, value in getattr(report, "user_properties", ()):
            if name == _RECORD_PROPERTY:
                self.reported[report.nodeid] = value

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error) -> None:  # xdist controller: the workers' declarations
        for nodeid, rec in (getattr(node, "workeroutput", {}) or {}).get(_DECLARED_OUTPUT, {}).items():
            self.declared.setdefault(nodeid, rec)

    def records(self) -> list[ClaimRecord]:
        """Every declared claim of this session: its finished record, or its declaration
        (inconclusive, not run) when the test never reported."""
        merged = {**self.declared, **self.reported}
        return [ClaimRecord.from_dict(d) for d in merged.values()]

    def _ran(self) -> bool:
        """False for ``--collect-only``: nothing ran, so there is no report to write or print
        (writing one would replace the last real run's report with a table of "not run")."""
        return not self.config.option.collectonly

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if is_xdist_worker(self.config):
            self.config.workeroutput[_DECLARED_OUTPUT] = self.declared  # type: ignore[attr-defined]
            return
        if not self._ran():
            return
        records = self.records()
        if records:
            write_session_report(artifacts_dir(self.config), records, _report.session_stamp(self.config.rootpath))

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if is_xdist_worker(self.config) or not self._ran():
            return
        records = self.records()
        if not records:
            return
        terminalreporter.write_sep("=", "scaling claims")
        terminalreporter.write_line(_report.summary_table(records))
        art = artifacts_dir(self.config)
        terminalreporter.write_line(f"report: {art / 'report.md'} (to browse and filter: {art / 'report.html'})")
