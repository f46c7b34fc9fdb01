"""Comparisons (our number beside a constant the paper ties to its own data: no verdict, counted
apart) and headline claims split into law rows and constant rows, through the plugin in fresh
pytest runs (pytester), serial and ``-n 2``.

The negative controls: a comparison that measured nothing, or a non-finite number, fails; a
comparison cannot take a check nor expect a verdict; a row of an unknown headline, or without a
role, is a declaration error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scaling_claims.verdicts.expect import comparison, confirmed
from scaling_claims.verdicts.records import NO_VERDICT, ClaimRecord
from scaling_claims.verdicts.report import headline_rows, render_report_md, summary_table, verdict_counts

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[1]

CLAIM_FILE = '''
import math
import pytest
from scaling_claims.verdicts import checks
from scaling_claims.verdicts.estimates import Estimate

LAW = dict(paper="Kaplan et al. 2020", quantity="R^2 of the offset law", tolerance=">= 0.95",
           justification="demo", headline="kaplan", role="law")
CONST = dict(paper="Kaplan et al. 2020", quantity="alpha_N", paper_value=0.076, headline="kaplan",
             justification="the paper's exponent is for WebText2 BPE tokens; ours is on stdlib bytes")


@pytest.mark.claim("k-law", **LAW)
def test_law(claim):
    claim.check(checks.r2_at_least("offset law fits", Estimate(0.99, 0.98, 0.995), 0.95))


@pytest.mark.claim("k-law-broken", **LAW)
def test_law_on_data_against_it(claim):
    claim.check(checks.r2_at_least("offset law fits", Estimate(0.6, 0.5, 0.7), 0.95))


@pytest.mark.comparison("k-alpha", **CONST)
def test_comparison(claim):
    claim.measured(Estimate(0.098, 0.097, 0.0996))


@pytest.mark.comparison("k-nothing", **CONST)
def test_comparison_measures_nothing(claim):
    pass


@pytest.mark.comparison("k-nan", **CONST)
def test_comparison_measures_nan(claim):
    claim.measured(math.nan)


@pytest.mark.comparison("k-check", **CONST)
def test_comparison_takes_no_check(claim):
    claim.measured(0.1)
    claim.check(checks.at_most("x", Estimate(0.1, 0.09, 0.11), 1))


@pytest.mark.comparison("k-error", **CONST)
def test_comparison_errors(claim):
    raise RuntimeError("training diverged")


@pytest.mark.comparison("k-expect", expect=None, **CONST)
def test_comparison_with_expect(claim):
    claim.measured(0.1)


@pytest.mark.claim("k-unknown", **{**LAW, "headline": "nope"})
def test_unknown_headline(claim):
    pass


@pytest.mark.claim("k-no-role", **{**LAW, "role": ""})
def test_headline_without_role(claim):
    pass
'''

EXPECTED = {  # claim id -> (kind, verdict, outcome)
    "k-law": ("claim", "confirmed", "passed"),
    "k-law-broken": ("claim", "refuted", "failed"),
    "k-alpha": ("comparison", NO_VERDICT, "passed"),
    "k-nothing": ("comparison", NO_VERDICT, "failed"),
    "k-nan": ("comparison", NO_VERDICT, "failed"),
    "k-check": ("comparison", NO_VERDICT, "error"),
    "k-error": ("comparison", NO_VERDICT, "error"),
    "test_claims.py_test_comparison_with_expect": ("comparison", NO_VERDICT, "error"),
    "test_claims.py_test_unknown_headline": ("claim", "inconclusive", "error"),
    "test_claims.py_test_headline_without_role": ("claim", "inconclusive", "error"),
}


@pytest.mark.parametrize("xdist", [False, True], ids=["serial", "n2"])
def test_comparisons_and_headline_rows_through_the_plugin(pytester, monkeypatch, xdist):
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    pytester.makeconftest('pytest_plugins = ["scaling_claims.plugin.claims_plugin"]\n')
    pytester.makepyfile(test_claims=CLAIM_FILE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rA", *(["-n", "2"] if xdist else []))
    # failed: the law refuted on data against it (declared confirmed), the comparisons that measured nothing
    # or NaN, the one given a check, the one that errored; errors: the three declaration errors (at setup)
    result.assert_outcomes(passed=2, failed=5, errors=3)
    art = pytester.path / "artifacts"
    data = json.loads((art / "claims.json").read_text())
    claims = {c["claim_id"]: c for c in data["claims"]}
    assert {cid: (c["kind"], c["verdict"], c["outcome"]) for cid, c in claims.items()} == EXPECTED
    # comparisons are counted apart, never among the verdicts
    assert data["counts"] == {"confirmed": 1, "refuted": 1, "inconclusive": 2}
    assert data["comparisons"] == 6
    assert data["headlines"] == {"kaplan": {"law": ["k-law", "k-law-broken"],
                                            "constant": ["k-alpha", "k-check", "k-error", "k-nan", "k-nothing"]}}
    alpha = claims["k-alpha"]
    assert alpha["role"] == "constant" and alpha["paper_value"] == 0.076 and alpha["measured"] == 0.098
    assert alpha["expected"] == NO_VERDICT and alpha["expectation"].startswith("a comparison with the paper's number")
    assert "must measure a number" in claims["k-nothing"]["reason"]
    assert "non-finite" in claims["k-nan"]["reason"]
    assert "is a comparison (no verdict)" in claims["k-check"]["reason"]
    assert claims["k-error"]["reason"] == "error in test: RuntimeError: training diverged"
    assert "has no verdict to expect" in claims["test_claims.py_test_comparison_with_expect"]["reason"]
    assert "unknown headline 'nope'" in claims["test_claims.py_test_unknown_headline"]["reason"]
    assert "role='law' or role='constant'" in claims["test_claims.py_test_headline_without_role"]["reason"]

    result.stdout.fnmatch_lines(["*comparisons (no verdict)*", "k-alpha *0.076 *0.098 [[]0.097, 0.0996] *no verdict "
                                 "(comparison)", "*6 comparisons with a paper's own constants (no verdict); 5 not "
                                 "measured*"])
    md = (art / "report.md").read_text()
    assert md.index("## Headline claims: laws and constants") < md.index("## Paper claims") < \
        md.index("## Comparisons with the papers' own constants (no verdict)")
    assert "  - law: `k-law`:" in md and "  - constant: `k-alpha`: alpha_N: 0.098 [0.097, 0.0996] (paper 0.076)" in md
    assert "| k-alpha | Kaplan et al. 2020 | alpha_N | 0.076 | 0.098 [0.097, 0.0996] | x1.29 |" in md


def _rec(cid, **kw):
    return ClaimRecord(claim_id=cid, paper="P", quantity="q", **kw)


def test_records_of_comparisons_have_no_verdict():
    r = _rec("c", kind="comparison", paper_value=1.0, measured=2.0)
    assert (r.verdict, r.evidence, r.expected, r.role) == (NO_VERDICT,) * 3 + ("constant",)
    assert ClaimRecord.from_json(r.to_json()) == r
    with pytest.raises(ValueError, match="a comparison has no verdict"):
        _rec("c", kind="comparison", verdict="refuted")
    with pytest.raises(ValueError, match="a comparison is a constant row"):
        _rec("c", kind="comparison", role="law")
    with pytest.raises(ValueError, match="must be one of"):
        _rec("c", verdict=NO_VERDICT)  # only a comparison has no verdict
    with pytest.raises(ValueError, match="role must be one of"):
        _rec("c", role="folklore")


def test_expectation_of_a_comparison():
    e = comparison("the paper's exponent is for its own tokenizer")
    assert e.verdict == NO_VERDICT and e.decide("refuted") == NO_VERDICT
    with pytest.raises(ValueError, match="reason written out"):
        comparison("too short")
    assert confirmed().decide("refuted") == "refuted"


def test_report_groups_headline_rows_and_names_headlines_without_constants(tmp_path):
    records = [
        _rec("dd-peak", kind="claim", headline="double-descent", role="law", verdict="confirmed", outcome="passed"),
        _rec("tpp", kind="claim", headline="chinchilla", role="constant", verdict="refuted", outcome="passed",
             paper_value=20.0, measured=80.0),
        _rec("e-a", kind="comparison", headline="chinchilla", paper_value=0.34, measured=0.5, outcome="passed"),
        _rec("other", kind="claim", verdict="inconclusive", outcome="passed"),
    ]
    assert headline_rows(records) == {"double-descent": {"law": ["dd-peak"], "constant": []},
                                      "chinchilla": {"law": [], "constant": ["e-a", "tpp"]}}
    assert verdict_counts(records) == {"confirmed": 1, "refuted": 1, "inconclusive": 1}
    md = render_report_md(records, tmp_path)
    assert "- **Deep double descent**" in md and "  - constants: none (the claims are a form" in md
    assert "  - constant: `tpp`: q: 80 (paper 20): **refuted**" in md
    assert "1 comparison with a paper's own constants (no verdict)." in md
    assert "e-a" in summary_table(records) and "no verdict (comparison)" in summary_table(records)
