"""``report.html``: the session's claims as one self-contained page, to browse and filter.

``render_report_html(records, artifacts_dir)`` is a pure function of the records (and of the
plot files they name under ``artifacts_dir``); ``write_session_report`` (here: the report.md and claims.json writers are
``scaling_claims.verdicts.report``'s) writes its result as
``artifacts/report.html`` beside ``report.md`` and ``claims.json``. The page holds what
report.md holds, from the same helpers (``scaling_claims.verdicts.report``): the counts lines, the
headline claims with their law rows and constant rows apart, then one card per record (paper
claims, comparisons, sanity checks, each in its own section) with the numbers beside the plot
and the details (checks, notes, expectation, seeds, device, wall time) folded under them.

One file, nothing loaded from the network: the CSS and a little JavaScript are inline and each
plot is embedded as a ``data:`` URI (a missing or oversized plot file is named, not embedded).
Every text from a record goes through ``html.escape``. The filters (verdict, kind, paper, area,
outside the paper's regime, declared after its data, failed or errored, a text search) and the
sort (by claim id, verdict, paper or area, within each section) read the cards' ``data-*``
attributes; without JavaScript every card is shown, by claim id.

A claim's *area* is its topic: the title of its headline claim (``headlines.HEADLINES``) when it
has one, else the claim file it came from (``claims/test_grokking.py::...`` -> "grokking"). Its
*papers* are its ``paper`` text split at ";", each without a trailing parenthesis ("Gao et al.
2023 (best-of-n)" -> "Gao et al. 2023"), so a paper cited by several claims filters them all.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import quote

from scaling_claims.verdicts.headlines import HEADLINES
from scaling_claims.verdicts.records import NO_VERDICT, VERDICTS, ClaimRecord, safe_id
from scaling_claims.verdicts.report import (AFTER_DATA, OUTSIDE_REGIME, _counts_line, _write_text, fmt_annotations,
                                            fmt_measured, fmt_outcome, fmt_ratio, fmt_value, fmt_verdict, headline_rows,
                                            render_report_md, write_claims_json)

MAX_PLOT_BYTES = 8 * 2 ** 20  # a plot larger than this is named, not embedded
_MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
         ".svg": "image/svg+xml"}
FILTER_VERDICTS = (*VERDICTS, NO_VERDICT)
KIND_LABELS = {"claim": "paper claim", "comparison": "comparison", "sanity": "sanity check"}
SECTIONS = (("claim", "Paper claims", ""),
            ("comparison", "Comparisons with the papers' own constants (no verdict)",
             "Numbers a paper measured on its own data or tokenizer, set beside ours on the stdlib byte corpus: "
             "a comparison, not a test of the law (the law rows test that)."),
            ("sanity", "Sanity checks (identities and checks of our own code; not evidence for a paper)", ""))
NOT_MEASURED = ("failed", "error", "skipped", "not run")  # the "failed or errored" filter
NO_AREA = "other"  # the area of a record with neither a headline nor a test file
SORTS = (("id", "claim id"), ("verdict", "verdict"), ("paper", "paper"), ("area", "area"))


def e(value: Any) -> str:
    """``value`` as text, escaped for HTML (quotes too: safe in attributes)."""
    return html.escape(str(value), quote=True)


def _slug(v: str) -> str:
    return v.replace(" ", "-")


def _anchors(records: Sequence[ClaimRecord]) -> dict[str, str]:
    """A unique element id per claim id (safe ids can collide: "a/b" and "a_b")."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for r in records:
        base = "claim-" + safe_id(r.claim_id)
        anchor, n = base, 1
        while anchor in used:
            n += 1
            anchor = f"{base}-{n}"
        used.add(anchor)
        out[r.claim_id] = anchor
    return out


def area(r: ClaimRecord) -> str:
    """The topic a record belongs to: its headline's title, else its claim file's name without
    ``test_`` and ``.py`` (underscores as spaces), else "other"."""
    if r.headline:
        h = HEADLINES.get(r.headline)
        return h.title if h else r.headline
    stem = Path(r.nodeid.split("::", 1)[0]).stem if r.nodeid else ""
    stem = stem.removeprefix("test_").replace("_", " ").strip()
    return stem or NO_AREA


def papers(r: ClaimRecord) -> list[str]:
    """The papers a record cites: its ``paper`` split at ";", each without a trailing
    parenthesis, in order, without repeats ([] when it names none)."""
    out: list[str] = []
    for part in r.paper.split(";"):
        name = re.sub(r"\s*\([^()]*\)$", "", part.strip()) or part.strip()
        if name and name not in out:
            out.append(name)
    return out


def _artifact_path(path: str, artifacts_dir: Path) -> Path:
    return Path(path) if Path(path).is_absolute() else artifacts_dir / path


def _plot(r: ClaimRecord, artifacts_dir: Path) -> str:
    """The record's plot as an ``<img>`` with a data URI; a note when it is missing."""
    name = r.artifacts.get("plot")
    if not name:
        return '<div class="noplot">no plot</div>'
    path = _artifact_path(name, artifacts_dir)
    mime = _MIME.get(path.suffix.lower())
    try:
        size = path.stat().st_size if path.is_file() else None
        if size is None or mime is None or size > MAX_PLOT_BYTES:
            why = ("not found" if size is None else "not an image" if mime is None
                   else f"{size / 2 ** 20:.0f} MiB, too large to embed")
            return f'<div class="noplot">plot {e(name)}: {why}</div>'
        data = base64.b64encode(path.read_bytes()).decode("ascii")
    except OSError as err:
        return f'<div class="noplot">plot {e(name)}: {e(err.strerror or err)}</div>'
    return (f'<img class="plot" src="data:{mime};base64,{data}" alt="{e("plot of " + r.claim_id)}" '
            f'title="click to enlarge">')


def _href(path: str, artifacts_dir: Path) -> str:
    """A relative link from report.html (in ``artifacts_dir``) to an artifact file, percent-quoted
    (so a path never reads as a URL scheme)."""
    p = _artifact_path(path, artifacts_dir)
    try:
        rel = os.path.relpath(p, artifacts_dir)
    except ValueError:  # another drive (Windows)
        rel = str(p)
    return quote(Path(rel).as_posix())


def _badges(r: ClaimRecord) -> str:
    """The verdict as a coloured badge, then what qualifies or annotates it as tags."""
    out = [f'<span class="badge v-{_slug(r.verdict)}">{e(r.verdict)}</span>']
    if r.outcome == "failed":
        out.append(f'<span class="tag warn">CHANGED, expected {e(r.expected)}</span>')
    elif r.outcome == "xfailed":
        out.append(f'<span class="tag">known failure (strict xfail), expected {e(r.expected)}</span>')
    elif r.outcome in ("error", "skipped", "not run"):
        out.append(f'<span class="tag warn">{e(r.outcome)}</span>')
    if r.regime:
        out.append(f'<span class="tag" title="{e(r.regime)}">{e(OUTSIDE_REGIME)}</span>')
    if r.declared_after_data:
        out.append(f'<span class="tag" title="{e(r.declaration_note)}">{e(AFTER_DATA)}</span>')
    return " ".join(out)


def _rows(pairs: Iterable[tuple[str, str]]) -> str:
    return "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in pairs if v not in ("", None))


def _numbers(r: ClaimRecord) -> str:
    if r.kind == "comparison":
        ours = fmt_measured(r) + ("" if r.outcome in ("passed", "") else f" ({r.outcome})")
        pairs = [("quantity", r.quantity), ("paper's number", fmt_value(r.paper_value)), ("ours [CI]", ours),
                 ("ours / paper's", fmt_ratio(r)), ("verdict", fmt_verdict(r, reasons=True)),
                 ("why no verdict", r.justification), ("reason", r.reason)]
    else:
        pairs = [("quantity", r.quantity), ("paper value", fmt_value(r.paper_value)),
                 ("measured [CI]", fmt_measured(r)), ("tolerance", r.tolerance),
                 ("verdict", fmt_verdict(r, reasons=True)), ("reason", r.reason)]
    return f'<table class="numbers">{_rows(pairs)}</table>'


def _check(c: dict[str, Any]) -> str:
    verdict = str(c.get("verdict", "confirmed" if c.get("passed") else "refuted"))
    return (f'<li><span class="badge small v-{_slug(verdict)}">{e(verdict)}</span> '
            f'<b>{e(c.get("name", ""))}</b>: {e(c.get("message", ""))}</li>')


def _details(r: ClaimRecord, artifacts_dir: Path) -> str:
    pairs = [("outcome", r.outcome), ("expected", r.expected), ("expectation", r.expectation),
             (OUTSIDE_REGIME, r.regime), (AFTER_DATA, r.declaration_note if r.declared_after_data else ""),
             ("why no verdict" if r.kind == "comparison" else "justification", r.justification),
             ("interval", r.ci_method + (f" ({r.ci_level:.0%})" if r.ci_level else "") if r.ci_method else ""),
             ("parameter count", r.param_convention), ("seeds", ", ".join(map(str, r.seeds))),
             ("device", r.device), ("dtype", r.dtype), ("torch", r.torch_version), ("budget", r.budget),
             ("wall time", f"{r.wall_time_s:.1f} s" if r.wall_time_s is not None else ""),
             ("training time", f"{r.run_wall_time_s:.1f} s" if r.run_wall_time_s is not None else ""),
             ("headline", f"{r.headline} ({r.role})" if r.headline else ""), ("test", r.nodeid)]
    parts = [f'<table class="details">{_rows(pairs)}</table>']
    if r.checks:
        parts.append("<h4>Checks</h4><ul>" + "".join(_check(c) for c in r.checks) + "</ul>")
    if r.notes:
        parts.append("<h4>Notes</h4><ul>" + "".join(f"<li>{e(n)}</li>" for n in r.notes) + "</ul>")
    files = [(k, v) for k, v in sorted(r.artifacts.items()) if v]
    if files:
        parts.append("<h4>Files</h4><ul>" + "".join(
            f'<li>{e(k)}: <a href="{e(_href(v, artifacts_dir))}">{e(v)}</a></li>' for k, v in files) + "</ul>")
    return "<details><summary>details</summary>" + "".join(parts) + "</details>"


def _search_text(r: ClaimRecord) -> str:
    bits = [r.claim_id, r.paper, r.claim, r.quantity, r.verdict, r.kind, r.outcome, r.regime, r.expectation,
            r.reason, r.justification, r.headline, area(r), *r.notes, *(str(c.get("name", "")) for c in r.checks)]
    return " ".join(b for b in bits if b).lower()


def _card(r: ClaimRecord, anchor: str, artifacts_dir: Path) -> str:
    attrs = {"id": anchor, "data-id": r.claim_id, "data-verdict": r.verdict, "data-kind": r.kind,
             "data-paper": r.paper, "data-papers": json.dumps(papers(r)), "data-area": area(r),
             "data-regime": int(bool(r.regime)), "data-after": int(r.declared_after_data),
             "data-failed": int(r.outcome in NOT_MEASURED), "data-search": _search_text(r)}
    head = (f'<h3><a href="#{e(anchor)}">{e(r.claim_id)}</a> {_badges(r)}</h3>'
            f'<p class="paper">{e(r.paper)} <span class="area">area: {e(area(r))}</span></p>'
            + (f'<p class="claim">{e(r.claim)}</p>' if r.claim else ""))
    return (f'<article class="record v-{_slug(r.verdict)}" '
            + " ".join(f'{k}="{e(v)}"' for k, v in attrs.items()) + ">" + head
            + f'<div class="body">{_numbers(r)}<div class="figure">{_plot(r, artifacts_dir)}</div></div>'
            + _details(r, artifacts_dir) + "</article>")


def _headlines(records: Sequence[ClaimRecord], anchors: dict[str, str]) -> str:
    rows = headline_rows(records)
    if not rows:
        return ""
    by_id = {r.claim_id: r for r in records}
    out = ['<section id="headlines"><h2>Headline claims: laws and constants</h2>',
           "<p>A law row tests what the paper claims holds generally (a form, a held-out prediction, an ordering); "
           "a constant row sets our number beside the paper's: a comparison with no verdict where the paper ties "
           "the number to its data, a verdict where the number is treated as universal.</p>"]
    for key, h in HEADLINES.items():
        if key not in rows:
            continue
        out.append(f'<div class="headline"><h3>{e(h.title)} <span class="paper">({e(h.papers)})</span></h3>')
        for role, label in (("law", "Laws"), ("constant", "Constants")):
            ids = rows[key][role]
            if not ids:
                if role == "constant" and h.no_constants:
                    out.append(f'<p class="none">{label}: none ({e(h.no_constants)})</p>')
                continue
            out.append(f"<h4>{label}</h4><ul>")
            for cid in ids:
                r = by_id[cid]
                out.append(f'<li><a href="#{e(anchors[cid])}"><code>{e(cid)}</code></a>: {e(r.quantity)}: '
                           f'{e(fmt_measured(r))} (paper {e(fmt_value(r.paper_value))}): '
                           f'<b>{e(fmt_outcome(r))}</b>{e(fmt_annotations(r))}</li>')
            out.append("</ul>")
        out.append("</div>")
    return "".join(out) + "</section>"


def _filters(records: Sequence[ClaimRecord]) -> str:
    def box(name: str, value: str, label: str, n: int, checked: bool) -> str:
        return (f'<label><input type="checkbox" name="{name}" value="{e(value)}"{" checked" if checked else ""}> '
                f'{e(label)} <span class="n">{n}</span></label>')

    verdicts = "".join(box("verdict", v, v, sum(r.verdict == v for r in records), True) for v in FILTER_VERDICTS)
    kinds = "".join(box("kind", k, label, sum(r.kind == k for r in records), True)
                    for k, label in KIND_LABELS.items())

    def select(name: str, everything: str, counts: dict[str, int]) -> str:
        opts = "".join(f'<option value="{e(v)}">{e(v)} ({n})</option>'
                       for v, n in sorted(counts.items(), key=lambda item: item[0].lower()))
        return (f'<label><b>{e(name.capitalize())}</b> <select name="{name}">'
                f'<option value="" selected>{e(everything)}</option>{opts}</select></label>')

    by_paper = select("paper", "all papers", Counter(p for r in records for p in papers(r)))
    by_area = select("area", "all areas", Counter(area(r) for r in records))
    sort = ('<label><b>Sort by</b> <select name="sort">' + "".join(
        f'<option value="{k}"{" selected" if k == "id" else ""}>{e(label)}</option>' for k, label in SORTS)
        + "</select></label>")
    only = "".join(box("only", key, label, n, False) for key, label, n in (
        ("regime", OUTSIDE_REGIME, sum(bool(r.regime) for r in records)),
        ("after", AFTER_DATA, sum(r.declared_after_data for r in records)),
        ("failed", "failed or errored", sum(r.outcome in NOT_MEASURED for r in records))))
    return ('<form id="filters" onsubmit="return false"><div><b>Verdict</b> ' + verdicts + "</div>"
            "<div><b>Kind</b> " + kinds + "</div>"
            f"<div>{by_paper} {by_area} {sort}</div>"
            '<div><b>Only</b> ' + only + ' <span class="hint">(failed or errored: a changed verdict, an error, '
            "a skip or a test that never ran)</span></div>"
            '<div><input type="search" name="q" placeholder="search id, paper, claim, notes..." size="40"> '
            '<button type="reset">show all</button></div>'
            f'<p id="shown">Showing all {len(records)} records.</p></form>')


CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1300px;padding:0 1em 3em;color:#222}
h1{margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #ccc}h3{margin:.2em 0}h4{margin:.6em 0 .2em}
code{font-size:95%}.paper{color:#555;margin:.1em 0}.claim{margin:.3em 0}.none,.hint{color:#666}
.counts p{margin:.2em 0;font-weight:600}
#filters{position:sticky;top:0;background:#f7f7f9;border:1px solid #ddd;border-radius:6px;padding:.5em .8em;z-index:1}
#filters div{margin:.2em 0}#filters label{margin-right:1em;white-space:nowrap}#shown{margin:.3em 0 0;font-weight:600}
.n{color:#666;font-size:90%}#filters select{max-width:22em}.area{color:#777;font-size:90%;margin-left:.6em}
.record{border:1px solid #ddd;border-left:6px solid #999;border-radius:6px;padding:.6em .9em;margin:.8em 0}
.record.v-confirmed{border-left-color:#2e7d32}.record.v-refuted{border-left-color:#c62828}
.record.v-inconclusive{border-left-color:#ef8f00}.record.v-no-verdict{border-left-color:#5c6bc0}
.badge{display:inline-block;border-radius:4px;padding:0 .45em;color:#fff;background:#999;font-size:85%;vertical-align:middle}
.badge.small{font-size:75%}.badge.v-confirmed{background:#2e7d32}
.badge.v-refuted{background:#c62828}.badge.v-inconclusive{background:#ef8f00}.badge.v-no-verdict{background:#5c6bc0}
.tag{display:inline-block;border:1px solid #999;border-radius:4px;padding:0 .4em;font-size:80%;color:#444;vertical-align:middle}
.tag.warn{border-color:#c62828;color:#c62828}
.body{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}
.numbers{flex:1 1 380px;border-collapse:collapse}.details{border-collapse:collapse}
th,td{text-align:left;vertical-align:top;padding:.15em .6em .15em 0}th{color:#555;font-weight:600;white-space:nowrap}
.figure{flex:0 1 460px}.plot{max-width:100%;cursor:zoom-in;border:1px solid #eee}
.plot.big{position:fixed;inset:2vh 2vw;max-width:96vw;max-height:96vh;margin:auto;background:#fff;z-index:2;
box-shadow:0 0 0 100vmax rgba(0,0,0,.5);cursor:zoom-out}
.noplot{color:#888;font-style:italic}details{margin-top:.4em}summary{cursor:pointer;color:#1a5fb4}
"""

# Filters: a card is shown when its verdict and kind are ticked, it cites the chosen paper and is
# in the chosen area (or none is chosen), it has every "only" flag ticked, and its search text
# holds the query. The counts line says how many of each verdict are shown. The sort puts each
# section's cards in order of the chosen key (a record with no paper last), then of claim id (the
# page's own order).
JS = """
(function () {
  var form = document.getElementById("filters");
  var cards = Array.prototype.slice.call(document.querySelectorAll("article.record"));
  var sections = Array.prototype.slice.call(document.querySelectorAll("section.records"));
  function ticked(name) {
    return Array.prototype.map.call(form.querySelectorAll("input[name=" + name + "]:checked"),
                                    function (box) { return box.value; });
  }
  var order = ["confirmed", "refuted", "inconclusive", "no verdict"];
  function sortKey(card, by) {
    var d = card.dataset;
    if (by === "verdict") { var i = order.indexOf(d.verdict); return i < 0 ? order.length : i; }
    return by === "paper" || by === "area" ? (d[by] || "\\uffff").toLowerCase() : "";  // none last
  }
  function sort() {
    var by = form.elements.sort.value;
    cards.map(function (card, i) { return [sortKey(card, by), i, card]; }).sort(function (a, b) {
      return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1];
    }).forEach(function (item) { item[2].parentNode.appendChild(item[2]); });
  }
  function apply() {
    var verdicts = ticked("verdict"), kinds = ticked("kind"), only = ticked("only");
    var paper = form.elements.paper.value, area = form.elements.area.value;
    var query = form.elements.q.value.trim().toLowerCase();
    var counts = {}, shown = 0;
    sort();
    cards.forEach(function (card) {
      var d = card.dataset;
      var show = verdicts.indexOf(d.verdict) >= 0 && kinds.indexOf(d.kind) >= 0 &&
        (!paper || JSON.parse(d.papers).indexOf(paper) >= 0) && (!area || d.area === area) &&
        only.every(function (flag) { return d[flag] === "1"; }) &&
        (!query || d.search.indexOf(query) >= 0);
      card.hidden = !show;
      if (show) { shown += 1; counts[d.verdict] = (counts[d.verdict] || 0) + 1; }
    });
    sections.forEach(function (section) {
      var n = section.querySelectorAll("article.record:not([hidden])").length;
      section.hidden = n === 0;
      section.querySelector(".shown").textContent = n + " shown";
    });
    var parts = ["confirmed", "refuted", "inconclusive", "no verdict"].map(function (v) {
      return (counts[v] || 0) + " " + v;
    });
    document.getElementById("shown").textContent =
      "Showing " + shown + " of " + cards.length + " records: " + parts.join(", ") + ".";
  }
  form.addEventListener("input", apply);
  form.addEventListener("change", apply);
  form.addEventListener("reset", function () { setTimeout(apply, 0); });
  document.addEventListener("click", function (event) {
    if (event.target.classList.contains("plot")) { event.target.classList.toggle("big"); }
  });
  apply();
})();
"""


def render_report_html(records: Sequence[ClaimRecord], artifacts_dir: str | Path) -> str:
    """The whole report as one HTML page (no network): counts, headline claims, filters, then a
    card per record (numbers beside the embedded plot, details folded), by kind and claim id."""
    artifacts_dir = Path(artifacts_dir)
    records = sorted(records, key=lambda r: r.claim_id)
    anchors = _anchors(records)
    counts = [_counts_line(records, "claim")]
    if any(r.kind == "comparison" for r in records):
        counts.append(_counts_line(records, "comparison"))
    counts.append(_counts_line(records, "sanity"))
    out = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>Scaling claims: report</title><style>{CSS}</style></head><body>",
           "<header><h1>Scaling claims: report</h1>",
           '<div class="counts">' + "".join(f"<p>{e(c)}.</p>" for c in counts) + "</div>",
           "<p>A verdict is decided by where the whole interval lies: confirmed when every check's interval "
           "satisfies the claim, refuted when one lies wholly against it, inconclusive otherwise. "
           "&ldquo;Outside the paper's regime&rdquo; is written beside a verdict, with its reason, never instead "
           "of it; &ldquo;declared after its data&rdquo; marks a claim whose expected verdict was declared after "
           "the runs that decide it. Comparisons (our number beside a constant the paper ties to its own data) "
           "have no verdict; sanity checks test our own code and are no evidence for a paper.</p></header>",
           _headlines(records, anchors), _filters(records)]
    for kind, title, intro in SECTIONS:
        group = [r for r in records if r.kind == kind]
        if not group:
            continue
        out.append(f'<section class="records" id="{kind}"><h2>{e(title)} <span class="n shown">'
                   f"{len(group)} shown</span></h2>" + (f"<p>{e(intro)}</p>" if intro else ""))
        out += [_card(r, anchors[r.claim_id], artifacts_dir) for r in group]
        out.append("</section>")
    out.append(f"<script>{JS}</script></body></html>")
    return "\n".join(out) + "\n"


def write_session_report(artifacts_dir: str | Path, records: Sequence[ClaimRecord],
                         session: Mapping[str, Any] | None = None) -> tuple[Path, Path]:
    """Write ``claims.json``, ``report.md`` and ``report.html`` (the same report as one
    self-contained page, this module) under ``artifacts_dir``; return
    the paths of the first two (the third is ``artifacts_dir / "report.html"``)."""
    artifacts_dir = Path(artifacts_dir)
    paths = (write_claims_json(artifacts_dir / "claims.json", records, session),
             _write_text(artifacts_dir / "report.md", render_report_md(records, artifacts_dir)))
    _write_text(artifacts_dir / "report.html", render_report_html(records, artifacts_dir))
    return paths
