"""Claim records (JSON round trip), expectations, the report (claims.json, report.md, terminal
table), plots, the recorder outside pytest, and the claims plugin in fresh pytest runs
(pytester, serial and ``-n 2``): claims declared by marker at collection; the verdict from the
checks alone (an out-of-regime expectation annotates it, never changes it); declarations made
after their data marked and counted; a changed verdict fails the test, either way; errors (in a fixture, a bare assert, a declaration, a seeds mismatch),
skips and claims that never ran are recorded inconclusive, never refuted, never absent;
sanity checks are reported apart."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scaling_claims.verdicts import checks, expect, html_report, plots, report
from scaling_claims.plugin.claims_plugin import ClaimRecorder, limit_numpy_blas_threads
from scaling_claims.verdicts.estimates import Estimate
from scaling_claims.fit import fit_power_law
from scaling_claims.verdicts.records import ClaimRecord, safe_id

pytest_plugins = ["pytester"]
REPO = Path(__file__).resolve().parent.parent

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
verdict = st.sampled_from(["confirmed", "refuted", "inconclusive"])


@given(claim_id=text.filter(lambda s: s.strip()), paper=text, measured=st.floats(allow_nan=False, allow_infinity=False),
       lo=st.floats(-1e6, 0), hi=st.floats(0, 1e6), seeds=st.lists(st.integers(0, 2 ** 31), max_size=5),
       verdict=verdict, evidence=verdict, expected=verdict, kind=st.sampled_from(["claim", "sanity"]),
       reason=text, ci_method=text)
def test_record_json_round_trip(claim_id, paper, measured, lo, hi, seeds, verdict, evidence, expected, kind, reason,
                                ci_method):
    check = checks.within_band("c", Estimate(0.5, 0.4, 0.6), 0, 1).to_dict()
    rec = ClaimRecord(claim_id=claim_id, kind=kind, paper=paper, measured=measured, ci=(lo, hi), ci_level=0.95,
                      ci_method=ci_method, seeds=seeds, verdict=verdict, evidence=evidence, expected=expected,
                      expectation="expected confirmed", regime=paper, declared_after_data=bool(seeds),
                      declaration_note=ci_method, reason=reason, checks=[check], notes=["n"],
                      artifacts={"plot": "x/plot.png"}, outcome="passed", nodeid="t.py::t")
    assert ClaimRecord.from_json(rec.to_json()) == rec


def test_record_validation_and_files(tmp_path):
    for field in ("verdict", "evidence", "expected"):
        with pytest.raises(ValueError, match=field):
            ClaimRecord(claim_id="a", **{field: "maybe"})
    with pytest.raises(ValueError, match="kind"):
        ClaimRecord(claim_id="a", kind="paper")
    with pytest.raises(ValueError, match="claim id"):
        ClaimRecord(claim_id="  ")
    with pytest.raises(ValueError, match="lo <= hi"):
        ClaimRecord(claim_id="a", ci=(2.0, 1.0))
    with pytest.raises(ValueError, match="unknown"):
        ClaimRecord.from_dict({"claim_id": "a", "bogus": 1})
    rec = ClaimRecord(claim_id="kaplan-alpha-N[quick]", measured=float("nan"))
    assert (rec.verdict, rec.evidence, rec.expected, rec.kind) == ("inconclusive", "inconclusive", "confirmed", "claim")
    path = rec.save(tmp_path / "r.json")
    assert json.loads(path.read_text())["measured"] is None  # NaN is written as null, JSON stays valid
    assert ClaimRecord.load(path).claim_id == rec.claim_id
    assert safe_id("a/b c[x=1]") == "a_b_c_x=1"


def test_expectations():
    assert expect.confirmed().verdict == "confirmed" and expect.confirmed().text() == "expected confirmed"
    source = "Press et al. 2022, Table 2: sinusoidal perplexity explodes beyond L"
    ref = expect.refuted(source)
    assert ref.verdict == "refuted" and ref.text() == f"expected refuted (cited source): {source}"
    why = "the effect (~0.5%) is below the seed noise (2%)"
    assert expect.inconclusive(why).verdict == "inconclusive" and why in expect.inconclusive(why).text()
    small = "our models are 1000x smaller than the paper's"
    regime = expect.out_of_regime(small, expect="refuted")
    assert (regime.verdict, regime.regime, regime.after_data) == ("refuted", small, False)
    assert regime.text() == f"expected refuted (outside the paper's regime): {small}"
    assert expect.out_of_regime(small, expect="inconclusive").verdict == "inconclusive"
    assert expect.confirmed().regime == ref.regime == ""
    # no expectation changes a verdict: an out-of-regime refutation is reported refuted
    for e in (expect.confirmed(), ref, expect.inconclusive(why), regime, expect.out_of_regime(small, "inconclusive")):
        assert [e.decide(v) for v in ("confirmed", "refuted", "inconclusive")] == ["confirmed", "refuted",
                                                                                    "inconclusive"]
    with pytest.raises(ValueError, match="evidence"):
        regime.decide("maybe")
    for make in (expect.refuted, expect.inconclusive, lambda w: expect.out_of_regime(w, "refuted")):
        with pytest.raises(ValueError, match="reason"):
            make("too short")
    for bad in ("", "out of regime", None):  # the expected verdict must be given, and be a verdict
        with pytest.raises(ValueError, match="expect="):
            expect.out_of_regime(small, bad)
    with pytest.raises(ValueError, match="expect="):
        expect.Expectation("refuted", "Source 2023, Table 3: b is 0.9 here", expect="refuted")
    with pytest.raises(ValueError, match="one of"):
        expect.Expectation("maybe")
    # declared before its data (the default) or after, with a note of when and why
    note = "commit abc1234, after the quick run had measured it"
    late = expect.inconclusive(why, declared="after data", note=note)
    assert late.after_data and late.note == note and late.verdict == "inconclusive"
    assert late.text() == f"expected inconclusive (underpowered): {why}; declared after its data: {note}"
    assert expect.confirmed(declared="after data", note=note).text() == f"expected confirmed; declared after its data: {note}"
    assert expect.after_data(regime, note) == expect.out_of_regime(small, "refuted", declared="after data", note=note)
    with pytest.raises(ValueError, match="note"):
        expect.refuted("Source 2023, Table 3: b is 0.9 here", declared="after data")
    with pytest.raises(ValueError, match="declared"):
        expect.confirmed(declared="later")


def test_points_fit_plot_and_report(tmp_path):
    x = np.geomspace(1e3, 1e6, 6)
    fit = fit_power_law(x, 2 * x ** -0.1)
    d = report.claim_dir(tmp_path, "demo/claim")
    pts = report.write_points(d, {"x": x, "curve": [[1, 2]] * 6})
    assert pts.read_text().splitlines()[0] == "x,curve"
    fj = json.loads(report.write_fit(d, {"main": fit, "value": 1.5}).read_text())
    assert fj["main"]["params"]["exponent"] == pytest.approx(0.1) and fj["value"] == 1.5 and fj["main"]["flags"] == {}
    png = plots.scaling_plot(d / "plot.png", x[:-1], 2 * x[:-1] ** -0.1, fit=fit, extrapolate_to=x[-1],
                             held_out=(x[-1:], 2 * x[-1:] ** -0.1), paper_law=("paper", lambda n: 2.1 * n ** -0.1),
                             xlabel="N", ylabel="loss", title="t")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    plots.threshold_plot(d / "t.png", {"a": (x, x)}, threshold=1e4, theory=("th", x, x), xlabel="p", ylabel="r")
    plots.grouped_plot(d / "g.png", {"a": (x, x), "b": (x, 2 * x)}, hline=("ref", 1.0), logx=True)
    with pytest.raises(ValueError):
        plots.grouped_plot(d / "g.png", {})
    refuted = checks.at_most("loss increase", Estimate(0.31, 0.25, 0.37), 0.1)
    recs = [ClaimRecord(claim_id="demo/claim", paper="P", paper_value=0.076, measured=0.1, ci=(0.09, 0.11),
                        ci_method="power_law fit, Student-t interval", tolerance="[0.03, 0.3]", justification="why",
                        verdict="confirmed", evidence="confirmed", expectation="expected confirmed", outcome="passed",
                        artifacts={"plot": "demo_claim/plot.png"}),
            ClaimRecord(claim_id="b", paper_value="< 10%", measured="31% | x", verdict="refuted", evidence="refuted",
                        expected="refuted", outcome="passed", checks=[refuted.to_dict()],
                        reason=f"{refuted.name}: {refuted.message}"),
            ClaimRecord(claim_id="c-regime", verdict="refuted", evidence="refuted", expected="refuted",
                        regime="our models are 1000x smaller", declared_after_data=True,
                        declaration_note="commit abc1234, after the quick run", outcome="passed"),
            ClaimRecord(claim_id="c-changed", verdict="inconclusive", expected="confirmed", outcome="failed"),
            ClaimRecord(claim_id="c-error", outcome="error", reason="error in test: RuntimeError: boom"),
            ClaimRecord(claim_id="s-identity", kind="sanity", verdict="confirmed", evidence="confirmed",
                        outcome="passed")]
    cj, md = html_report.write_session_report(tmp_path, recs)
    data = json.loads(cj.read_text())
    assert data["counts"] == {"confirmed": 1, "refuted": 2, "inconclusive": 2}
    assert data["sanity_counts"] == {"confirmed": 1, "refuted": 0, "inconclusive": 0}
    assert data["outside_regime_counts"] == {"confirmed": 0, "refuted": 1, "inconclusive": 0}
    assert data["declared_after_data"] == 1
    assert [c["claim_id"] for c in data["claims"]] == sorted(r.claim_id for r in recs)
    body = md.read_text()
    assert ("| demo/claim | P |  | 0.076 | 0.1 [0.09, 0.11] | [0.03, 0.3] | **confirmed** | [plot](demo_claim/plot.png) |"
            in body)
    assert "31% \\| x" in body and "check loss increase (refuted): 0.31 [0.25, 0.37] (95%) lies outside" in body
    assert ("**refuted**; outside the paper's regime: our models are 1000x smaller; declared after its data |"
            in body) and "**inconclusive; CHANGED, expected confirmed**" in body
    assert "  - outside the paper's regime: our models are 1000x smaller" in body
    assert "**inconclusive (error)**" in body and "error in test: RuntimeError: boom" in body
    assert "interval: power_law fit, Student-t interval" in body
    assert "5 paper claims: 1 confirmed, 2 refuted (1 of them outside the paper's regime), 2 inconclusive; " \
           "1 declared after its data; 1 changed from the expected verdict; 1 errored, skipped or not run." in body
    assert re.search(r"\b1 sanity checks?: 1 confirmed, 0 refuted, 0 inconclusive\.", body)  # (singular or plural)
    claims_at, sanity_at = body.index("## Paper claims"), body.index("## Sanity checks")
    assert claims_at < body.index("| demo/claim") < sanity_at < body.index("| s-identity")
    table = report.summary_table(recs)
    assert "demo/claim" in table and "5 paper claims: 1 confirmed, 2 refuted (1 of them outside" in table
    assert re.search(r"c-regime .*refuted; outside the paper's regime; declared after its data", table)
    assert table.index("sanity checks (not evidence for a paper)") > table.index("5 paper claims")
    assert re.search(r"\b1 sanity checks?: 1 confirmed", table)
    with pytest.raises(ValueError):
        report.write_points(d, [1, 2, 3])


def test_blas_thread_limit_applies_and_keeps_results():
    import threadpoolctl

    limit_numpy_blas_threads(1)
    blas = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    assert blas and all(i["num_threads"] == 1 for i in blas)
    assert float(np.ones((50, 50)) @ np.ones(50) @ np.ones(50)) == 2500.0


# ----------------------------------------------------------------------------- the recorder outside pytest

def _results(seeds):
    from scaling_claims.engine.specs import RunResult

    return [RunResult(key=str(s), spec={"seed": s, "device": "cpu", "dtype": "float32"}, status="ok",
                      wall_time_s=1.5, env={"torch": "2.13.0", "mps_fallback": s == 1}) for s in seeds]


def test_recorder_runs_fills_environment(tmp_path):
    from scaling_claims.runs.sweep import results_frame

    rec = ClaimRecorder.for_test("r", tmp_path)
    assert (rec.rec.expected, rec.rec.expectation, rec.rec.kind) == ("confirmed", "expected confirmed", "claim")
    rec.runs(_results((0, 1)))
    assert (rec.rec.seeds, rec.rec.device, rec.rec.dtype, rec.rec.torch_version) == ([0, 1], "cpu", "float32", "2.13.0")
    assert rec.rec.run_wall_time_s == 3.0 and any("MPS_FALLBACK" in n for n in rec.rec.notes)
    rec2 = ClaimRecorder.for_test("r2", tmp_path)
    rec2.runs(results_frame(_results((0, 1))))
    assert rec2.rec.seeds == [0, 1] and rec2.rec.run_wall_time_s == 3.0
    with pytest.raises(ValueError):
        rec2.runs([])
    with pytest.raises(ValueError, match="no field"):
        rec2.set(bogus=1)
    for field in ("claim_id", "kind", "expected", "expectation", "regime", "declared_after_data", "declaration_note",
                  "seeds"):
        with pytest.raises(ValueError, match="declared before the run"):
            rec2.set(**{field: "x"})
    assert rec2.set(budget="0.25x").rec.budget == "0.25x"
    declared = ClaimRecorder.for_test("r3", tmp_path, seeds=[0, 1, 2])
    with pytest.raises(ValueError, match=r"runs use seeds \[0, 1\], but the claim declared seeds \[0, 1, 2\]"):
        declared.runs(_results((0, 1)))
    declared.runs(_results((2, 0, 1)))
    assert declared.rec.seeds == [0, 1, 2]


def test_recorder_measured_checks_and_decide(tmp_path):
    rec = ClaimRecorder.for_test("r", tmp_path)
    rec.measured(Estimate(0.5, 0.4, 0.6, method="seed bootstrap"))
    assert (rec.rec.measured, rec.rec.ci, rec.rec.ci_level, rec.rec.ci_method) == (0.5, (0.4, 0.6), 0.95,
                                                                                 "seed bootstrap")
    rec.measured(Estimate(0.5, float("nan"), float("nan"), method="fit", problem="at a bound"))
    assert rec.rec.ci is None and rec.rec.ci_method == "fit (interval not usable: at a bound)"
    rec.measured("ALiBi < RoPE")
    assert rec.rec.measured == "ALiBi < RoPE" and rec.rec.ci is None
    assert rec.decide() == ("inconclusive", "no check was recorded")
    with pytest.raises(ValueError, match="Check"):
        rec.check(True)
    rec.check_all(checks.within_band("b", Estimate(0.5, 0.45, 0.55), 0.4, 0.6),
                  checks.at_least("r2", Estimate(0.99, 0.98, 0.995), 0.95))
    assert rec.decide() == ("confirmed", "all 2 check(s) confirmed") and rec.rec.evidence == "confirmed"
    assert [c["verdict"] for c in rec.rec.checks] == ["confirmed", "confirmed"]
    rec.inconclusive("designs collapse", "the two designs trained the same run")
    verdict, why = rec.decide()
    assert verdict == "inconclusive" and "designs collapse: the two designs trained the same run" in why
    reason = "our models are 1000x smaller than the paper's smallest"
    regime = ClaimRecorder.for_test("r4", tmp_path, expect.out_of_regime(reason, "refuted"))
    regime.check(checks.within_band("b", Estimate(0.9, 0.8, 1.0), 0.4, 0.6))
    verdict, why = regime.decide()
    assert (verdict, regime.rec.evidence, regime.rec.verdict) == ("refuted", "refuted", "refuted")
    assert why.startswith("b: 0.9 [0.8, 1] (95%) lies outside") and regime.rec.regime == reason
    assert regime.rec.expected == "refuted" and reason in regime.rec.expectation
    assert not regime.rec.declared_after_data and regime.rec.declaration_note == ""
    late = ClaimRecorder.for_test("r5", tmp_path, expect.inconclusive("the effect is below the seed noise here",
                                                                      declared="after data",
                                                                      note="commit abc1234, after its runs"))
    assert (late.rec.declared_after_data, late.rec.declaration_note) == (True, "commit abc1234, after its runs")


# ----------------------------------------------------------------------------- the plugin in pytest runs

CLAIM_FILE = '''
import pytest
from scaling_claims.verdicts import checks, expect, plots
from scaling_claims.verdicts.estimates import Estimate
from scaling_claims.engine.specs import RunResult

FIELDS = dict(paper="P", quantity="b", tolerance="[0.4, 0.6]", justification="demo band")


def band(b, lo=0.4, hi=0.6):
    return checks.within_band("b", b, lo, hi)


@pytest.fixture
def broken():
    raise RuntimeError("the fixture broke")


@pytest.mark.claim("c-ok", paper_value=0.5, **FIELDS)
def test_confirmed(claim):
    b = Estimate(0.52, 0.5, 0.54, method="demo")
    claim.measured(b)
    claim.points({"x": [1, 2, 3], "y": [3, 2, 1]})
    claim.fit({"b": 0.52})
    claim.plot(plots.grouped_plot, {"a": ([1, 2, 3], [3, 2, 1])}, xlabel="x", ylabel="y")
    claim.check(band(b))


@pytest.mark.claim("c-refuted", expect=expect.refuted("Source 2023, Table 3: b is 0.9 at this scale"), **FIELDS)
def test_refuted_as_the_source_says(claim):
    claim.check(band(Estimate(0.9, 0.85, 0.95)))


@pytest.mark.claim("c-unresolved", expect=expect.inconclusive("the effect (0.001) is below the seed noise (0.02)"),
                   **FIELDS)
def test_inconclusive_as_expected(claim):
    claim.check(checks.at_least("margin above noise", Estimate(0.001, -0.02, 0.022), 0.0))


@pytest.mark.claim("c-regime", expect=expect.out_of_regime("our models are 1000x smaller than the paper's",
                                                           expect="refuted", declared="after data",
                                                           note="commit abc1234, after its first run"), **FIELDS)
def test_out_of_regime(claim):
    claim.check(band(Estimate(0.9, 0.85, 0.95)))


@pytest.mark.claim("c-changed-down", **FIELDS)
def test_expected_confirmed_but_inconclusive(claim):
    claim.check(band(Estimate(0.58, 0.55, 0.65)))


@pytest.mark.claim("c-changed-up", expect=expect.inconclusive("we thought the seeds too few to resolve it"),
                   **FIELDS)
def test_expected_inconclusive_but_confirmed(claim):
    claim.check(band(Estimate(0.5, 0.45, 0.55)))


@pytest.mark.claim("c-fixture", **FIELDS)
def test_fixture_error(broken, claim):
    claim.check(band(Estimate(0.5, 0.45, 0.55)))


@pytest.mark.claim("c-assert", **FIELDS)
def test_bare_assert(claim):
    claim.check(band(Estimate(0.5, 0.45, 0.55)))
    assert 0.3 > 0.5, "a bare assert in a claim test"


@pytest.mark.claim("c-skip", **FIELDS)
def test_skipped(claim):
    pytest.skip("no GPU here")


@pytest.mark.claim("c-known", **FIELDS)
@pytest.mark.xfail(strict=True, reason="the design cannot resolve it: -1.5 [-4.4, 1.3]")
def test_known_failure(claim):
    claim.check(band(Estimate(0.58, 0.55, 0.65)))


def test_not_a_claim():
    pass


@pytest.mark.sanity("s-identity", quantity="pass@1 = mean accuracy")
def test_sanity(claim):
    claim.check(checks.within_band("identity", Estimate.exact(0.25, "closed form"), 0.25, 0.25))


@pytest.mark.claim("c-param[a={a}]", paper_value=lambda a: a / (1 + a), **FIELDS)
@pytest.mark.parametrize("a", [1.0, pytest.param(9.0, marks=pytest.mark.claim(
    expect=expect.refuted("Source 2024, Fig. 2: b = a/(1+a) leaves the band for large a")))])
def test_param(claim, a):
    b = a / (1 + a)
    claim.measured(Estimate(b, b - 0.01, b + 0.01))
    claim.check(band(Estimate(b, b - 0.01, b + 0.01)))


@pytest.mark.claim("c-dup", **FIELDS)
def test_duplicate_id(claim):
    claim.check(band(Estimate(0.5, 0.45, 0.55)))


@pytest.mark.claim("c-dup", **FIELDS)
def test_duplicate_id_again(claim):
    claim.check(band(Estimate(0.5, 0.45, 0.55)))


@pytest.mark.claim("c-missing", paper="P")
def test_missing_fields(claim):
    claim.check(band(Estimate(0.5, 0.45, 0.55)))


@pytest.mark.claim("c-seeds", seeds=[0, 1, 2], **FIELDS)
def test_seeds_mismatch(claim):
    claim.runs([RunResult(key=str(s), spec={"seed": s}, status="ok") for s in (0, 1)])
    claim.check(band(Estimate(0.5, 0.45, 0.55)))
'''

# claim id -> (verdict, evidence, outcome) after a run of CLAIM_FILE
EXPECTED = {
    "c-ok": ("confirmed", "confirmed", "passed"),
    "c-refuted": ("refuted", "refuted", "passed"),
    "c-unresolved": ("inconclusive", "inconclusive", "passed"),
    "c-regime": ("refuted", "refuted", "passed"),
    "c-changed-down": ("inconclusive", "inconclusive", "failed"),
    "c-changed-up": ("confirmed", "confirmed", "failed"),
    "c-fixture": ("inconclusive", "inconclusive", "error"),
    "c-assert": ("inconclusive", "inconclusive", "error"),
    "c-skip": ("inconclusive", "inconclusive", "skipped"),
    "c-known": ("inconclusive", "inconclusive", "xfailed"),
    "s-identity": ("confirmed", "confirmed", "passed"),
    "c-param[a=1.0]": ("confirmed", "confirmed", "passed"),
    "c-param[a=9.0]": ("refuted", "refuted", "passed"),
    "test_claims.py_test_duplicate_id": ("inconclusive", "inconclusive", "error"),
    "test_claims.py_test_duplicate_id_again": ("inconclusive", "inconclusive", "error"),
    "test_claims.py_test_missing_fields": ("inconclusive", "inconclusive", "error"),
    "c-seeds": ("inconclusive", "inconclusive", "error"),
}


def _run(pytester: pytest.Pytester, monkeypatch, *args: str):
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    pytester.makeconftest('pytest_plugins = ["scaling_claims.plugin.claims_plugin"]\n')
    pytester.makepyfile(test_claims=CLAIM_FILE)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rA", *args)


@pytest.mark.parametrize("xdist", [False, True], ids=["serial", "n2"])
def test_plugin_verdicts_and_report(pytester, monkeypatch, xdist):
    result = _run(pytester, monkeypatch, *(["-n", "2"] if xdist else []))
    # failed: the two changed verdicts, the bare assert, the seeds mismatch (errors in the test body);
    # errors: the broken fixture, the duplicate ids, the missing fields (errors at setup)
    result.assert_outcomes(passed=8, failed=4, errors=4, skipped=1, xfailed=1)
    art = pytester.path / "artifacts"
    data = json.loads((art / "claims.json").read_text())
    claims = {c["claim_id"]: c for c in data["claims"]}
    assert {cid: (c["verdict"], c["evidence"], c["outcome"]) for cid, c in claims.items()} == EXPECTED
    assert data["counts"] == {"confirmed": 3, "refuted": 3, "inconclusive": 10}  # paper claims only
    assert data["outside_regime_counts"] == {"confirmed": 0, "refuted": 1, "inconclusive": 0}
    assert data["sanity_counts"] == {"confirmed": 1, "refuted": 0, "inconclusive": 0}
    assert claims["s-identity"]["kind"] == "sanity" and claims["c-ok"]["kind"] == "claim"

    # declared before the run: expectation, paper value (a callable of the parameter), nodeid
    assert claims["c-refuted"]["expected"] == "refuted" and "Source 2023, Table 3" in claims["c-refuted"]["expectation"]
    assert claims["c-param[a=1.0]"]["paper_value"] == 0.5 and claims["c-param[a=1.0]"]["expected"] == "confirmed"
    assert claims["c-param[a=9.0]"]["paper_value"] == 0.9 and claims["c-param[a=9.0]"]["expected"] == "refuted"
    assert claims["c-param[a=9.0]"]["nodeid"] == "test_claims.py::test_param[9.0]"
    assert claims["c-ok"]["measured"] == 0.52 and claims["c-ok"]["ci"] == [0.5, 0.54]
    assert claims["c-ok"]["ci_method"] == "demo" and claims["c-ok"]["checks"][0]["verdict"] == "confirmed"
    # the reasons say why
    assert claims["c-regime"]["reason"].startswith("b: 0.9 [0.85, 0.95] (95%) lies outside [0.4, 0.6]")
    assert claims["c-regime"]["regime"] == "our models are 1000x smaller than the paper's"
    assert claims["c-regime"]["declared_after_data"] and claims["c-regime"]["declaration_note"].startswith("commit")
    assert not claims["c-ok"]["declared_after_data"] and claims["c-ok"]["regime"] == ""
    assert "0.58 [0.55, 0.65] (95%) straddles 0.6" in claims["c-changed-down"]["reason"]
    assert claims["c-fixture"]["reason"] == "error in setup: RuntimeError: the fixture broke"
    assert claims["c-assert"]["reason"].startswith("error in test: AssertionError: a bare assert in a claim test")
    assert claims["c-skip"]["reason"] == "skipped: Skipped: no GPU here"
    assert claims["c-known"]["reason"].startswith("known failure (strict xfail): the design cannot resolve it")
    assert "verdict inconclusive, but expected confirmed" in claims["c-known"]["reason"]
    for dup in ("test_claims.py_test_duplicate_id", "test_claims.py_test_duplicate_id_again"):
        assert "claim id 'c-dup' is declared by 2 tests" in claims[dup]["reason"]
    assert "must declare ['quantity', 'tolerance', 'justification']" in \
        claims["test_claims.py_test_missing_fields"]["reason"]
    assert "runs use seeds [0, 1], but the claim declared seeds [0, 1, 2]" in claims["c-seeds"]["reason"]

    out = result.stdout.str()
    result.stdout.fnmatch_lines([
        "*claim 'c-changed-down': verdict inconclusive, but expected confirmed.*straddles 0.6*",
        "*claim 'c-changed-up': verdict confirmed, but expected inconclusive (underpowered): we thought*",
        "*scaling claims*",
        "c-ok *0.5 *0.52 [[]0.5, 0.54] *confirmed",
        "c-regime *refuted; outside the paper's regime; declared after its data",
        "*16 paper claims: 3 confirmed, 3 refuted (1 of them outside the paper's regime), 10 inconclusive; "
        "1 declared after its data; 2 changed from the expected verdict; 1 known failure (strict xfail); "
        "7 errored, skipped or not run*",
        "s-identity *confirmed",
        "*1 sanity check*: 1 confirmed, 0 refuted, 0 inconclusive*",
    ])
    md = (art / "report.md").read_text()
    assert "[plot](c-ok/plot.png)" in md and (art / "c-ok" / "plot.png").is_file()
    assert (art / "c-ok" / "points.csv").is_file() and (art / "c-ok" / "fit.json").is_file()
    assert "**refuted**; outside the paper's regime: our models are 1000x smaller than the paper's; declared after " \
           "its data |" in md and "**inconclusive; CHANGED, expected confirmed**" in md
    assert "**confirmed; CHANGED, expected inconclusive**" in md and "**inconclusive (error)**" in md
    assert "**inconclusive; expected confirmed: known failure (strict xfail)**" in md
    assert md.index("## Paper claims") < md.index("| c-ok") < md.index("## Sanity checks") < md.index("| s-identity")
    assert sorted(p.name for p in (art / "records").iterdir()) == sorted(f"{safe_id(c)}.json" for c in EXPECTED)
    if xdist:  # the table is printed once, by the controller
        assert out.count("== scaling claims ==") == 1


def test_collect_only_leaves_the_last_report_alone(pytester, monkeypatch):
    """``--collect-only`` runs nothing: it must not replace the last run's report with a table of
    claims "not run" (nor print one)."""
    art = pytester.path / "artifacts"
    art.mkdir()
    (art / "report.md").write_text("the last real run\n")
    result = _run(pytester, monkeypatch, "--collect-only", "-q")
    assert result.ret == 0 and "test_claims.py::test_confirmed" in result.stdout.str()
    assert "scaling claims" not in result.stdout.str()
    assert (art / "report.md").read_text() == "the last real run\n" and not (art / "claims.json").exists()


def test_plugin_records_claims_that_never_ran(pytester, monkeypatch):
    """Under -x the session stops at the first failure: every declared claim after it is in the
    report, inconclusive, "not run"."""
    result = _run(pytester, monkeypatch, "-x")
    result.assert_outcomes(passed=4, failed=1)  # stops at test_expected_confirmed_but_inconclusive
    data = json.loads((pytester.path / "artifacts" / "claims.json").read_text())
    claims = {c["claim_id"]: c for c in data["claims"]}
    assert set(claims) == set(EXPECTED)
    assert claims["c-changed-down"]["outcome"] == "failed"
    for cid in ("c-changed-up", "c-fixture", "c-known", "c-param[a=9.0]", "c-seeds", "s-identity"):
        assert (claims[cid]["verdict"], claims[cid]["outcome"]) == ("inconclusive", "not run"), cid
        assert claims[cid]["reason"] == "declared, but the test did not run"
    for dup in ("test_claims.py_test_duplicate_id", "test_claims.py_test_missing_fields"):
        assert claims[dup]["outcome"] == "not run" and claims[dup]["reason"]  # the declaration error
    assert data["counts"]["inconclusive"] == 13 and data["sanity_counts"]["inconclusive"] == 1
    assert "inconclusive (not run)" in (pytester.path / "artifacts" / "report.md").read_text()


def test_artifacts_dir_option_and_no_claims(pytester, monkeypatch, tmp_path):
    out = tmp_path / "elsewhere"
    _run(pytester, monkeypatch, "--artifacts-dir", str(out), "-k", "test_confirmed")
    data = json.loads((out / "claims.json").read_text())
    assert data["counts"]["confirmed"] == 1 and [c["claim_id"] for c in data["claims"]] == ["c-ok"]
    assert not (pytester.path / "artifacts").exists()
    result = _run(pytester, monkeypatch, "-k", "not_a_claim")
    result.assert_outcomes(passed=1)
    assert not (pytester.path / "artifacts" / "claims.json").exists()  # no claims: nothing written
    assert "scaling claims" not in result.stdout.str()
