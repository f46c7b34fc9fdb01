"""Artifacts and the session report.

Layout under the artifacts directory (default ``<rootdir>/artifacts``)::

    <claim-id>/points.csv     the data behind the claim (write_points)
    <claim-id>/fit.json       the fit(s) (write_fit: a FitResult, or a dict of them / plain values)
    <claim-id>/plot.png       the plot (scaling_claims.verdicts.plots)
    records/<claim-id>.json   one ClaimRecord per claim, written by the worker that ran it
    claims.json               every record of the session (write_claims_json, controller only)
    report.md                 the tables (paper claims, then sanity checks): claim, paper value,
                              measured [CI], tolerance, verdict, plot; then reasons and notes
    report.html               the same as one self-contained page (plots embedded, filters;
                              scaling_claims.verdicts.html_report)

``summary_table(records)`` is the plain-text table printed at the end of a pytest session.
Paper claims, comparisons (our number beside a constant the paper ties to its own data; no
verdict) and sanity checks (identities and checks of our own code) are counted apart: neither
a comparison nor a sanity check is counted as evidence for a paper. The headline claims come
first, each with its law rows and its constant rows apart (``scaling_claims.verdicts.headlines``). Verdicts are counted as measured; those
of claims outside the paper's regime are counted again apart ("3 refuted (2 of them outside the
paper's regime)"), and so are declarations made after their data. Beside a verdict the tables
write "outside the paper's regime" (with its reason in report.md) and "declared after its data".
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from scaling_claims.verdicts.headlines import HEADLINES
from scaling_claims.verdicts.records import NO_VERDICT, ClaimRecord, _clean, safe_id


def claim_dir(artifacts_dir: str | Path, claim_id: str) -> Path:
    """``artifacts_dir/<safe claim id>/``, created."""
    d = Path(artifacts_dir) / safe_id(claim_id)
    d.mkdir(parents=True, exist_ok=True)
    return d


def write_points(directory: str | Path, points: Any, name: str = "points.csv") -> Path:
    """Write the claim's data (a DataFrame, or a mapping of equal-length columns) as CSV."""
    if isinstance(points, pd.DataFrame):
        frame = points
    elif isinstance(points, Mapping):
        frame = pd.DataFrame({k: list(v) if hasattr(v, "__len__") and not isinstance(v, str) else [v]
                              for k, v in points.items()})
    else:
        raise ValueError(f"points must be a DataFrame or a mapping of columns, got {type(points).__name__}")
    path = Path(directory) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    # list-valued columns (curves) are serialised as JSON text so the CSV stays flat
    frame = frame.copy()
    for col in frame.columns:
        if frame[col].map(lambda v: isinstance(v, (list, tuple, dict))).any():
            frame[col] = frame[col].map(lambda v: json.dumps(_clean(v)))
    frame.to_csv(path, index=False)
    return path


def fit_to_dict(fit: Any) -> Any:
    """A FitResult (anything with ``to_dict``) or a dict/list of them, as JSON-ready data."""
    if hasattr(fit, "to_dict"):
        return _clean(fit.to_dict())
    if isinstance(fit, Mapping):
        return {str(k): fit_to_dict(v) for k, v in fit.items()}
    if isinstance(fit, (list, tuple)):
        return [fit_to_dict(v) for v in fit]
    return _clean(fit)


def write_fit(directory: str | Path, fit: Any, name: str = "fit.json") -> Path:
    path = Path(directory) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(fit_to_dict(fit), indent=2, sort_keys=True, allow_nan=False))
    return path


def read_records(records_dir: str | Path) -> list[ClaimRecord]:
    """Every ``*.json`` record in ``records_dir``, sorted by claim id."""
    d = Path(records_dir)
    if not d.is_dir():
        return []
    return sorted((ClaimRecord.load(p) for p in d.glob("*.json")), key=lambda r: r.claim_id)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def _git_commit(where: Path) -> str:
    """The checkout's commit ("<hash>", "+ uncommitted changes" when the tree differs), or ""."""
    import subprocess

    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=where, capture_output=True, text=True,
                              timeout=10)
        if head.returncode != 0:
            return ""
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                               capture_output=True, text=True, timeout=10)
        return head.stdout.strip() + (" + uncommitted changes" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return ""


def session_stamp(where: str | Path = ".") -> dict[str, Any]:
    """What made a session's records: the date (UTC), the commit of the checkout at ``where``,
    the machine (CPU model, cores, OS), Python, torch and scaling-claims versions."""
    import datetime
    import importlib.metadata
    import platform

    def version(dist: str) -> str:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return ""

    return {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "commit": _git_commit(Path(where)), "cpu": _cpu_model(), "cores": os.cpu_count(),
            "os": f"{platform.system()} {platform.release()}", "python": platform.python_version(),
            "torch": version("torch"), "scaling_claims": version("scaling-claims")}


def write_claims_json(path: str | Path, records: Sequence[ClaimRecord], session: Mapping[str, Any] | None = None
                      ) -> Path:
    """Every record, the counts, and ``session`` (what made them: :func:`session_stamp`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"session": dict(session or {}), "claims": [r.to_dict() for r in sorted(records, key=lambda r: r.claim_id)],
            "counts": verdict_counts(records, "claim"), "sanity_counts": verdict_counts(records, "sanity"),
            "outside_regime_counts": verdict_counts([r for r in records if r.regime], "claim"),
            "declared_after_data": sum(1 for r in records if r.kind == "claim" and r.declared_after_data),
            "comparisons": sum(1 for r in records if r.kind == "comparison"),
            "headlines": headline_rows(records)}
    path.write_text(json.dumps(data, indent=2, sort_keys=True, allow_nan=False))
    return path


def verdict_counts(records: Iterable[ClaimRecord], kind: str | None = None) -> dict[str, int]:
    """Verdicts of ``records`` (of one ``kind``, "claim" or "sanity", when given); comparisons
    have none and are not counted here."""
    counts = {"confirmed": 0, "refuted": 0, "inconclusive": 0}
    for r in records:
        if (kind is None or r.kind == kind) and r.verdict != NO_VERDICT:
            counts[r.verdict] += 1
    return counts


def headline_rows(records: Iterable[ClaimRecord]) -> dict[str, dict[str, list[str]]]:
    """For each headline claim with rows among ``records``: the ids of its law rows and of its
    constant rows, apart."""
    out: dict[str, dict[str, list[str]]] = {}
    for r in sorted(records, key=lambda r: r.claim_id):
        if r.headline:
            out.setdefault(r.headline, {"law": [], "constant": []})[r.role or "law"].append(r.claim_id)
    return out


OUTSIDE_REGIME = "outside the paper's regime"
AFTER_DATA = "declared after its data"


def fmt_outcome(record: ClaimRecord) -> str:
    """The measured verdict with how the test ended: an error, a skip, a run that never
    happened, a verdict that changed from the expected one, a known failure."""
    text = record.verdict + (" (comparison)" if record.kind == "comparison" else "")
    if record.outcome in ("error", "skipped", "not run"):
        text += f" ({record.outcome})"
    if record.outcome == "failed":
        text += f"; CHANGED, expected {record.expected}"
    elif record.outcome == "xfailed":
        text += f"; expected {record.expected}: known failure (strict xfail)"
    return text


def fmt_annotations(record: ClaimRecord, regime_reason: bool = False, note: bool = False) -> str:
    """What is written beside a verdict without changing it: "; outside the paper's regime"
    (": <why>" with ``regime_reason``) and "; declared after its data" (" (<when and why>)"
    with ``note``)."""
    text = ""
    if record.regime:
        text += f"; {OUTSIDE_REGIME}" + (f": {record.regime}" if regime_reason else "")
    if record.declared_after_data:
        text += f"; {AFTER_DATA}" + (f" ({record.declaration_note})" if note and record.declaration_note else "")
    return text


def fmt_verdict(record: ClaimRecord, reasons: bool = False) -> str:
    """The verdict with what qualifies it (:func:`fmt_outcome`) and what is written beside it
    (:func:`fmt_annotations`, with their reasons when ``reasons``), e.g. "refuted; outside the
    paper's regime"."""
    return fmt_outcome(record) + fmt_annotations(record, reasons, reasons)


def _comparisons_line(records: Sequence[ClaimRecord]) -> str:
    mine = [r for r in records if r.kind == "comparison"]
    n = len(mine)
    errors = sum(1 for r in mine if r.outcome in ("error", "skipped", "not run", "failed"))
    return (f"{n} comparison{'' if n == 1 else 's'} with a paper's own constants (no verdict)"
            + (f"; {errors} not measured (errored, skipped, failed or not run)" if errors else ""))


def _counts_line(records: Sequence[ClaimRecord], kind: str) -> str:
    if kind == "comparison":
        return _comparisons_line(records)
    mine = [r for r in records if r.kind == kind]
    c = verdict_counts(mine)
    regime = verdict_counts([r for r in mine if r.regime])
    n = sum(c.values())
    label = ("paper claim" if kind == "claim" else "sanity check") + ("" if n == 1 else "s")

    def count(verdict: str) -> str:
        k = regime[verdict]
        if not k:
            return f"{c[verdict]} {verdict}"
        return f"{c[verdict]} {verdict} ({f'{k} of them ' if c[verdict] > 1 else ''}{OUTSIDE_REGIME})"

    changed = sum(1 for r in mine if r.outcome == "failed")
    errors = sum(1 for r in mine if r.outcome in ("error", "skipped", "not run"))
    known = sum(1 for r in mine if r.outcome == "xfailed")
    after = sum(1 for r in mine if r.declared_after_data)
    extra = "".join([f"; {after} declared after {'its' if after == 1 else 'their'} data" if after else "",
                     f"; {changed} changed from the expected verdict" if changed else "",
                     f"; {known} known failure{'' if known == 1 else 's'} (strict xfail)" if known else "",
                     f"; {errors} errored, skipped or not run" if errors else ""])
    return f"{n} {label}: {count('confirmed')}, {count('refuted')}, {count('inconclusive')}{extra}"


def fmt_value(value: Any) -> str:
    """A number to 4 significant figures; text as is; None as an em dash."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        return "nan" if isinstance(value, float) and not math.isfinite(value) else f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(fmt_value(v) for v in value) + "]"
    return str(value)


def fmt_measured(record: ClaimRecord) -> str:
    """``measured [lo, hi]`` (the CI when there is one)."""
    text = fmt_value(record.measured)
    if record.ci is not None and all(v is not None for v in record.ci):
        text += f" [{fmt_value(record.ci[0])}, {fmt_value(record.ci[1])}]"
    return text


def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _plot_link(r: ClaimRecord, artifacts_dir: Path) -> str:
    plot = r.artifacts.get("plot")
    if not plot:
        return ""
    rel = os.path.relpath(Path(plot) if Path(plot).is_absolute() else artifacts_dir / plot, artifacts_dir)
    return f"[plot]({Path(rel).as_posix()})"


def fmt_ratio(record: ClaimRecord) -> str:
    """Our number over the paper's ("x1.29"), when both are numbers."""
    ours, theirs = record.measured, record.paper_value
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in (ours, theirs)) or not theirs:
        return "—"
    if not (math.isfinite(ours) and math.isfinite(theirs)):
        return "—"
    return f"x{ours / theirs:.3g}"


def _comparison_table(records: Sequence[ClaimRecord], artifacts_dir: Path) -> list[str]:
    lines = ["| comparison | paper | quantity | paper's number | ours [CI] | ours / paper's | why no verdict | plot |",
             "|---|---|---|---|---|---|---|---|"]
    for r in sorted(records, key=lambda r: r.claim_id):
        ours = fmt_measured(r) + ("" if r.outcome in ("passed", "") else f" ({r.outcome})")
        lines.append("| " + " | ".join(_md_escape(c) for c in (
            r.claim_id, r.paper, r.quantity, fmt_value(r.paper_value), ours, fmt_ratio(r), r.justification,
            _plot_link(r, artifacts_dir))) + " |")
    return lines


def _headline_lines(records: Sequence[ClaimRecord]) -> list[str]:
    """Each headline claim: its law rows (with their verdicts) and its constant rows, apart."""
    rows = headline_rows(records)
    if not rows:
        return []
    by_id = {r.claim_id: r for r in records}
    lines = ["## Headline claims: laws and constants", "",
             "A law row tests what the paper claims holds generally (a form, a held-out prediction, an ordering); "
             "a constant row sets our number beside the paper's: a comparison with no verdict where the paper "
             "ties the number to its data, a verdict where the number is treated as universal.", ""]
    for key, h in HEADLINES.items():
        if key not in rows:
            continue
        lines.append(f"- **{h.title}** ({h.papers})")
        for role, label in (("law", "law"), ("constant", "constant")):
            ids = rows[key][role]
            if not ids:
                if role == "constant" and h.no_constants:
                    lines.append(f"  - constants: none ({h.no_constants})")
                continue
            for cid in ids:
                r = by_id[cid]
                lines.append(f"  - {label}: `{cid}`: {_md_escape(r.quantity)}: {fmt_measured(r)} (paper "
                             f"{fmt_value(r.paper_value)}): **{fmt_outcome(r)}**{fmt_annotations(r)}")
    return lines + [""]


def _table(records: Sequence[ClaimRecord], artifacts_dir: Path) -> list[str]:
    lines = ["| claim | paper | quantity | paper value | measured [CI] | tolerance | verdict | plot |",
             "|---|---|---|---|---|---|---|---|"]
    for r in sorted(records, key=lambda r: r.claim_id):
        link = _plot_link(r, artifacts_dir)
        lines.append("| " + " | ".join(_md_escape(c) for c in (
            r.claim_id, r.paper, r.quantity, fmt_value(r.paper_value), fmt_measured(r), r.tolerance,
            f"**{fmt_outcome(r)}**{fmt_annotations(r, regime_reason=True)}", link)) + " |")
    return lines


def _details(r: ClaimRecord) -> list[str]:
    bits = [f"- **{r.claim_id}**: {r.claim}".rstrip(": ")]
    bits.append(f"  - verdict {fmt_verdict(r)}: {r.reason}" if r.reason else f"  - verdict {fmt_verdict(r)}")
    if r.regime and r.regime not in r.expectation:  # an out-of-regime expectation's text already gives it
        bits.append(f"  - {OUTSIDE_REGIME}: {r.regime}")
    if r.expectation:
        bits.append(f"  - {r.expectation}")
    if r.justification:
        bits.append(f"  - tolerance {r.tolerance}: {r.justification}")
    if r.ci_method:
        bits.append(f"  - interval: {r.ci_method}")
    for c in r.checks:
        if c.get("verdict", "confirmed" if c.get("passed") else "refuted") != "confirmed":
            bits.append(f"  - check {c['name']} ({c.get('verdict', 'refuted')}): {c.get('message', '')}")
    for n in r.notes:
        bits.append(f"  - {n}")
    env = ", ".join(x for x in (r.device, r.dtype, f"torch {r.torch_version}" if r.torch_version else "",
                                f"seeds {r.seeds}" if r.seeds else "", r.budget,
                                f"{r.wall_time_s:.1f} s" if r.wall_time_s is not None else "",
                                f"N = {r.param_convention}" if r.param_convention else "") if x)
    if env:
        bits.append(f"  - {env}")
    return [_md_escape(b) if i == 0 else b.replace("\n", " ") for i, b in enumerate(bits)]


def render_report_md(records: Sequence[ClaimRecord], artifacts_dir: str | Path) -> str:
    """The markdown report: counts, the paper claims' table, the sanity checks' table (each row
    linked to its plot), then each record's verdict reason, expectation, tolerance and notes."""
    artifacts_dir = Path(artifacts_dir)
    claims = [r for r in records if r.kind == "claim"]
    sanity = [r for r in records if r.kind == "sanity"]
    compared = [r for r in records if r.kind == "comparison"]
    lines = ["# Scaling claims: report", "", _counts_line(records, "claim") + ".",
             *([_counts_line(records, "comparison") + "."] if compared else []),
             _counts_line(records, "sanity") + ".", "",
             "A verdict is decided by where the whole interval lies: confirmed when every check's interval "
             "satisfies the claim, refuted when one lies wholly against it, inconclusive otherwise (see "
             "docs/claims.md). \"Outside the paper's regime\" is written beside a verdict, with its reason, "
             "never instead of it; \"declared after its data\" marks a claim whose expected verdict was "
             "declared after the runs that decide it.", ""]
    lines += _headline_lines(records)
    if claims:
        lines += ["## Paper claims", ""] + _table(claims, artifacts_dir) + [""]
    if compared:
        lines += ["## Comparisons with the papers' own constants (no verdict)", "",
                  "Numbers a paper measured on its own data or tokenizer, set beside ours on the stdlib byte corpus: "
                  "a comparison, not a test of the law (the law rows above test that).", ""] + \
            _comparison_table(compared, artifacts_dir) + [""]
    if sanity:
        lines += ["## Sanity checks (identities and checks of our own code; not evidence for a paper)", ""] + \
            _table(sanity, artifacts_dir) + [""]
    lines += ["## Verdicts, tolerances and notes", ""]
    for r in sorted(claims, key=lambda r: r.claim_id) + sorted(compared, key=lambda r: r.claim_id) + \
            sorted(sanity, key=lambda r: r.claim_id):
        lines += _details(r)
    return "\n".join(lines) + "\n"


def summary_table(records: Sequence[ClaimRecord], width: int = 34) -> str:
    """Plain-text tables for the terminal (paper claims, then sanity checks): claim, paper
    value, measured [CI], verdict; each followed by its counts."""
    out = []
    for kind, title in (("claim", "paper claims"), ("comparison", "comparisons (no verdict)"),
                        ("sanity", "sanity checks (not evidence for a paper)")):
        group = sorted((r for r in records if r.kind == kind), key=lambda r: r.claim_id)
        if not group:
            continue
        rows = [(title, "paper", "measured [CI]", "verdict")]
        for r in group:
            cid = r.claim_id if len(r.claim_id) <= width else r.claim_id[: width - 1] + "…"
            rows.append((cid, fmt_value(r.paper_value)[:20], fmt_measured(r)[:36], fmt_verdict(r)))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        if out:
            out.append("")
        for j, row in enumerate(rows):
            out.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
            if j == 0:
                out.append("  ".join("-" * w for w in widths))
        out.append(_counts_line(records, kind))
    return "\n".join(out)


def _write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
