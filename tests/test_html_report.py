"""report.html (``scaling_claims.verdicts.html_report``): one self-contained page rendered from
the records. Well-formed (balanced tags), every claim present, plots embedded as data URIs (a
missing one named), nothing loaded from the network, every record text escaped (a note holding
``<script>`` injects nothing), the filter attributes carry each record's verdict, kind and
flags, papers and area, and the paper, area and sort controls list them; and it is written
by a pytest session (the claims plugin) and by ``scaling-claims report``. In a real browser:
test_html_report_browser.py."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from scaling_claims.verdicts import report
from scaling_claims.verdicts.html_report import area, papers, render_report_html, write_session_report
from scaling_claims.verdicts.records import NO_VERDICT, ClaimRecord, safe_id

pytest_plugins = ["pytester"]
REPO = Path(__file__).resolve().parent.parent
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
INJECTED = '<script>alert("x")</script><img src=x onerror=alert(1)>'


class Page(HTMLParser):
    """Parses a page, checking that every opened tag is closed in order; keeps the tags, their
    attributes and the text."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag in VOID:
            self.errors.append(f"end tag of void element </{tag}>")
        elif not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag]

    def articles(self) -> dict[str, dict[str, str | None]]:
        return {a["id"]: a for a in self.all("article")}


def tiny_png(path: Path) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1, 1), dpi=20)
    ax.plot([1, 2, 3], [3, 1, 2])
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return data


def records(tmp_path: Path) -> list[ClaimRecord]:
    check = {"name": "exponent in band", "verdict": "refuted", "passed": False,
             "message": "0.055 [0.047, 0.063] (95%) lies outside [0.07, 0.076]"}
    return [
        ClaimRecord(claim_id="k-law", paper="Kaplan et al. 2020", claim="L(N) is a power law", quantity="R^2",
                    paper_value=0.99, measured=0.995, ci=(0.99, 0.998), ci_level=0.95, ci_method="bootstrap",
                    tolerance=">= 0.95", justification="a power law fits", verdict="confirmed", evidence="confirmed",
                    outcome="passed", headline="kaplan", role="law", seeds=[0, 1, 2], device="cpu", dtype="float32",
                    wall_time_s=12.34, notes=["a plain note"],
                    checks=[{"name": "R^2 at least 0.95", "verdict": "confirmed", "passed": True, "message": "ok"}],
                    artifacts={"plot": "k-law/plot.png", "points": "k-law/points.csv"}),
        ClaimRecord(claim_id="k-alpha", kind="comparison", paper="Kaplan et al. 2020", quantity="alpha_N",
                    paper_value=0.076, measured=0.098, ci=(0.097, 0.0996), headline="kaplan", outcome="passed",
                    justification="the paper's exponent is for WebText2 BPE tokens; ours is on stdlib bytes"),
        ClaimRecord(claim_id="c-regime", paper='Smith & Jones "2021"', quantity="slope", paper_value=0.5,
                    nodeid="claims/test_grokking.py::test_slope[quick]",
                    measured=0.9, verdict="refuted", evidence="refuted", expected="refuted", outcome="passed",
                    regime="our models are 1000x smaller", declared_after_data=True,
                    declaration_note="commit abc1234, after the quick run", checks=[check],
                    notes=[f"a note with {INJECTED}"], artifacts={"plot": "c-regime/plot.png"}),
        ClaimRecord(claim_id="c-changed", verdict="inconclusive", expected="confirmed", outcome="failed",
                    paper='Kaplan et al. 2020 (appendix B); Smith & Jones "2021"',
                    nodeid="claims/test_double_descent.py::test_peak[quick]",
                    reason="0.58 [0.55, 0.65] (95%) straddles 0.6"),
        ClaimRecord(claim_id="c-error", outcome="error", reason="error in test: RuntimeError: boom"),
        ClaimRecord(claim_id="c-known", verdict="inconclusive", expected="confirmed", outcome="xfailed"),
        ClaimRecord(claim_id="c<odd>&[x=1]", verdict="confirmed", evidence="confirmed", outcome="passed",
                    quantity=INJECTED),
        ClaimRecord(claim_id="s-identity", kind="sanity", verdict="confirmed", evidence="confirmed",
                    outcome="passed", artifacts={"plot": "s-identity/plot.png"}),  # no such file
    ]


@pytest.fixture
def page(tmp_path):
    png = tiny_png(tmp_path / "k-law" / "plot.png")
    (tmp_path / "c-regime").mkdir()
    (tmp_path / "c-regime" / "plot.png").write_bytes(png)
    recs = records(tmp_path)
    text = render_report_html(recs, tmp_path)
    return text, Page(text), recs, png


def test_well_formed_and_complete(page):
    text, parsed, recs, _ = page
    assert text.startswith("<!DOCTYPE html>")
    assert parsed.errors == [] and parsed.stack == []
    body = "".join(parsed.text)
    for r in recs:
        assert r.claim_id in body, r.claim_id
    # the same counts lines as report.md
    for kind in ("claim", "comparison", "sanity"):
        assert report._counts_line(recs, kind) + "." in body
    assert "6 paper claims: 2 confirmed, 1 refuted (outside the paper's regime), 3 inconclusive" in body
    assert "1 comparison with a paper's own constants (no verdict)" in body
    # the headline claim: its law row and its constant row apart, each linked to its card
    assert "Headline claims: laws and constants" in body and "Kaplan's laws: L(N), L(D), shape" in body
    assert body.index("Laws") < body.index("k-law") < body.index("Constants") < body.index("k-alpha")
    links = [a["href"] for a in parsed.all("a")]
    assert "#claim-k-law" in links and "#claim-k-alpha" in links
    # sections apart, in the report's order
    assert [s["id"] for s in parsed.all("section") if "records" in (s.get("class") or "")] == \
        ["claim", "comparison", "sanity"]
    # the numbers and verdict annotations beside each card
    assert "0.995 [0.99, 0.998]" in body and "a power law fits" in body
    assert "refuted; outside the paper's regime: our models are 1000x smaller; declared after its data " \
           "(commit abc1234, after the quick run)" in body
    assert "inconclusive; CHANGED, expected confirmed" in body and "inconclusive (error)" in body
    assert "known failure (strict xfail)" in body and "error in test: RuntimeError: boom" in body
    # a comparison: both numbers, the ratio, why it has no verdict
    assert "x1.29" in body and "why no verdict" in body and "WebText2 BPE tokens" in body
    # the details: checks with their messages, notes, seeds, device, wall time
    assert "exponent in band" in body and "lies outside [0.07, 0.076]" in body and "a plain note" in body
    assert "0, 1, 2" in body and "cpu" in body and "12.3 s" in body
    assert len(parsed.all("details")) == len(recs)


def test_plots_embedded_and_nothing_from_the_network(page):
    text, parsed, _, png = page
    imgs = {a["alt"]: a["src"] for a in parsed.all("img")}
    assert set(imgs) == {"plot of k-law", "plot of c-regime"}
    for src in imgs.values():
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]) == png
    assert "s-identity/plot.png: not found" in "".join(parsed.text)  # a missing plot is named, not fatal
    for tag, attrs in parsed.tags:
        for name in ("src", "href", "action", "data"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//", "javascript:")), (tag, name, value)
    assert not parsed.all("link") and not parsed.all("iframe")
    assert "http://" not in text and "https://" not in text and "@import" not in text and "url(" not in text
    # the relative link to a record's other files stays a relative path
    assert "k-law/points.csv" in [a["href"] for a in parsed.all("a")]


def test_record_text_is_escaped(page):
    text, parsed, _, _ = page
    assert len(parsed.all("script")) == 1  # ours, at the end; the notes' <script> is text
    assert not any("onerror" in attrs for _, attrs in parsed.tags)
    assert INJECTED not in text and html_escaped(INJECTED) in text
    assert f"a note with {INJECTED}" in "".join(parsed.text)  # shown as written
    assert "Smith &amp; Jones &quot;2021&quot;" in text
    assert parsed.articles()["claim-" + safe_id("c<odd>&[x=1]")]["data-search"].startswith("c<odd>&[x=1]")


def html_escaped(s: str) -> str:
    import html

    return html.escape(s, quote=True)


def test_filter_attributes(page):
    _, parsed, recs, _ = page
    cards = parsed.articles()
    by_id = {c["id"]: c for c in cards.values()}
    assert len(cards) == len(recs)
    want = {"k-law": ("confirmed", "claim", "0", "0", "0"), "k-alpha": (NO_VERDICT, "comparison", "0", "0", "0"),
            "c-regime": ("refuted", "claim", "1", "1", "0"), "c-changed": ("inconclusive", "claim", "0", "0", "1"),
            "c-error": ("inconclusive", "claim", "0", "0", "1"), "c-known": ("inconclusive", "claim", "0", "0", "0"),
            safe_id("c<odd>&[x=1]"): ("confirmed", "claim", "0", "0", "0"), "s-identity": ("confirmed", "sanity", "0", "0", "0")}
    got = {cid.removeprefix("claim-"): (c["data-verdict"], c["data-kind"], c["data-regime"], c["data-after"],
                                        c["data-failed"]) for cid, c in by_id.items()}
    assert got == want
    for r in recs:  # each card's search text holds its id, paper and quantity, lower-cased
        card = next(c for c in cards.values() if c["data-search"].startswith(r.claim_id.lower()))
        assert r.paper.lower() in card["data-search"] and r.quantity.lower() in card["data-search"]
    boxes = {(a["name"], a["value"]) for a in parsed.all("input") if a.get("type") == "checkbox"}
    assert boxes == {("verdict", v) for v in ("confirmed", "refuted", "inconclusive", NO_VERDICT)} | \
        {("kind", k) for k in ("claim", "comparison", "sanity")} | \
        {("only", f) for f in ("regime", "after", "failed")}
    assert any(a.get("type") == "search" for a in parsed.all("input"))
    assert "Showing all 8 records." in "".join(parsed.text)


KAPLAN = "Kaplan's laws: L(N), L(D), shape"
SMITH = 'Smith & Jones "2021"'


def test_paper_and_area_attributes_and_controls(page):
    text, parsed, recs, _ = page
    cards = {cid.removeprefix("claim-"): c for cid, c in parsed.articles().items()}
    # area: the headline's title, else the claim file ("claims/test_double_descent.py" -> "double descent")
    assert {cid: c["data-area"] for cid, c in cards.items()} == {
        "k-law": KAPLAN, "k-alpha": KAPLAN, "c-regime": "grokking", "c-changed": "double descent",
        "c-error": "other", "c-known": "other", safe_id("c<odd>&[x=1]"): "other", "s-identity": "other"}
    # papers: the paper text split at ";", a trailing parenthesis dropped; the full text kept for the sort
    assert json.loads(cards["c-changed"]["data-papers"]) == ["Kaplan et al. 2020", SMITH]
    assert cards["c-changed"]["data-paper"] == 'Kaplan et al. 2020 (appendix B); Smith & Jones "2021"'
    assert json.loads(cards["c-regime"]["data-papers"]) == [SMITH] and json.loads(cards["c-error"]["data-papers"]) == []
    assert {c["data-id"] for c in cards.values()} == {r.claim_id for r in recs}
    assert 'data-papers="[&quot;Smith &amp; Jones \\&quot;2021\\&quot;&quot;]"' in text  # JSON, escaped
    # the controls: a select each for paper and area (every value, with its count) and the sort
    selects = {}
    current = None
    for tag, attrs in parsed.tags:
        if tag == "select":
            current = selects.setdefault(attrs["name"], [])
        elif tag == "option":
            current.append((attrs["value"], "selected" in attrs))
    assert selects["paper"] == [("", True), ("Kaplan et al. 2020", False), (SMITH, False)]
    assert selects["area"] == [("", True), ("double descent", False), ("grokking", False),
                               (KAPLAN, False), ("other", False)]
    assert selects["sort"] == [("id", True), ("verdict", False), ("paper", False), ("area", False)]
    body = "".join(parsed.text)
    assert "Kaplan et al. 2020 (3)" in body and 'Smith & Jones "2021" (2)' in body and "other (4)" in body
    assert "area: grokking" in body and "area: " + KAPLAN in body


@pytest.mark.parametrize("paper, want", [
    ("", []), ("Kaplan et al. 2020", ["Kaplan et al. 2020"]),
    ("Gao et al. 2023 (best-of-n); Brown et al. 2024; Gao et al. 2023", ["Gao et al. 2023", "Brown et al. 2024"]),
    ("Ru et al. 2025 (arXiv:1): noise", ["Ru et al. 2025 (arXiv:1): noise"]),
    ("(only a parenthesis)", ["(only a parenthesis)"]),
])
def test_papers(paper, want):
    assert papers(ClaimRecord(claim_id="x", paper=paper)) == want


def test_area():
    assert area(ClaimRecord(claim_id="x", headline="emergence", nodeid="claims/test_emergence.py::t")) == \
        "Emergence as a metric artifact"
    assert area(ClaimRecord(claim_id="x", headline="not-a-headline")) == "not-a-headline"
    assert area(ClaimRecord(claim_id="x", nodeid="claims/test_grokking.py::test_a[quick]")) == "grokking"
    assert area(ClaimRecord(claim_id="x", nodeid="test_data_mixing.py::TestA::test_b")) == "data mixing"
    assert area(ClaimRecord(claim_id="x")) == "other"


def test_colliding_safe_ids_get_distinct_anchors(tmp_path):
    recs = [ClaimRecord(claim_id="a/b"), ClaimRecord(claim_id="a_b"), ClaimRecord(claim_id="a b")]
    parsed = Page(render_report_html(recs, tmp_path))
    assert parsed.errors == [] and sorted(parsed.articles()) == ["claim-a_b", "claim-a_b-2", "claim-a_b-3"]


def test_write_session_report_writes_the_page(tmp_path):
    recs = records(tmp_path)
    cj, md = write_session_report(tmp_path, recs)  # the return is unchanged
    page = tmp_path / "report.html"
    assert cj.name == "claims.json" and md.name == "report.md" and page.is_file()
    assert page.read_text() == render_report_html(recs, tmp_path)


# ----------------------------------------------------------------------------- written by a session and by the CLI

CLAIM_FILE = '''
import pytest
from scaling_claims.verdicts import checks, plots
from scaling_claims.verdicts.estimates import Estimate


@pytest.mark.claim("c-ok", paper="P", quantity="b", paper_value=0.5, tolerance="[0.4, 0.6]", justification="demo")
def test_confirmed(claim):
    b = Estimate(0.52, 0.5, 0.54, method="demo")
    claim.measured(b)
    claim.plot(plots.grouped_plot, {"a": ([1, 2, 3], [3, 2, 1])}, xlabel="x", ylabel="y")
    claim.note("a note with <script>alert(1)</script>")
    claim.check(checks.within_band("b", b, 0.4, 0.6))


@pytest.mark.comparison("k-alpha", paper="Kaplan et al. 2020", quantity="alpha_N", paper_value=0.076,
                        headline="kaplan", justification="the paper's exponent is for its own tokenizer and data")
def test_comparison(claim):
    claim.measured(Estimate(0.098, 0.097, 0.0996))
'''


def test_a_session_writes_report_html(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    pytester.makeconftest('pytest_plugins = ["scaling_claims.plugin.claims_plugin"]\n')
    pytester.makepyfile(test_claims=CLAIM_FILE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    art = pytester.path / "artifacts"
    result.stdout.fnmatch_lines([f"report: {art / 'report.md'} (to browse and filter: {art / 'report.html'})"])
    parsed = Page((art / "report.html").read_text())
    assert parsed.errors == [] and len(parsed.all("script")) == 1
    cards = parsed.articles()
    assert cards["claim-c-ok"]["data-verdict"] == "confirmed" and cards["claim-k-alpha"]["data-verdict"] == NO_VERDICT
    (img,) = parsed.all("img")
    assert base64.b64decode(img["src"].split(",", 1)[1]) == (art / "c-ok" / "plot.png").read_bytes()


def cli(*args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scaling_claims.tool.cli", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "MPLBACKEND": "Agg"})


@pytest.mark.parametrize("source", ["claims.json", "records"])
def test_cli_report_writes_report_html(tmp_path, source):
    art = tmp_path / "artifacts"
    tiny_png(art / "k-law" / "plot.png")
    recs = records(art)
    if source == "claims.json":
        (art / "claims.json").write_text(json.dumps({"claims": [r.to_dict() for r in recs]}))
    else:
        for r in recs:
            r.save(art / "records" / f"{safe_id(r.claim_id)}.json")
    out = cli("report", "--artifacts-dir", art, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert f"rebuilt {art / 'report.md'} and {art / 'report.html'}" in out.stdout
    parsed = Page((art / "report.html").read_text())
    assert parsed.errors == [] and {c["id"] for c in parsed.all("article")} >= {"claim-k-law", "claim-c-regime"}
    assert [a["alt"] for a in parsed.all("img")] == ["plot of k-law"]
