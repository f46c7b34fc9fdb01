"""The results pages, generated from claim records (never hand-copied numbers).

Two outputs, both from the ``ClaimRecord``s of one run (a ``claims.json``, or a ``records/``
folder), optionally beside those of a slow run:

- ``render_results_page``: the results page (docs/results.md): the counts; each headline claim
  with its law rows and its constant rows apart (``scaling_claims.verdicts.headlines``); then every
  paper claim, comparison and sanity check with its number, interval and verdict;
- ``render_summary``: the short summary that ``replace_block`` writes into README.md between
  ``<!-- results:start -->`` and ``<!-- results:end -->``: the counts lines and the headline
  claims' law and constant verdicts, linking to the results page. Text outside the markers is
  left untouched, and running it twice changes nothing the second time.

Counting follows the report (``scaling_claims.verdicts.report``): paper claims, comparisons (our
number beside a constant the paper ties to its own data: verdict "no verdict", counted apart)
and sanity checks (identities and checks of our own code: never evidence for a paper).

The command is ``scaling-claims pages`` (``scaling_claims.tool.cli.run``); the committed pages are
regenerated with::

    scaling-claims pages --quick docs/results/quick-claims.json --out docs/results.md --readme README.md

and tests/test_results_pages.py fails when either committed page differs from what this module
makes of the committed snapshot.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from scaling_claims.verdicts.headlines import HEADLINES
from scaling_claims.verdicts.records import ClaimRecord
from scaling_claims.verdicts.report import (
    _counts_line,
    _md_escape,
    fmt_annotations,
    fmt_measured,
    fmt_outcome,
    fmt_ratio,
    fmt_value,
    headline_rows,
)

START = "<!-- results:start -->"
END = "<!-- results:end -->"


def load_records(path: str | Path) -> list[ClaimRecord]:
    """The records of a ``claims.json`` file, or of a ``records/`` folder of ``<claim>.json``
    files, sorted by claim id; a ``ValueError`` naming the file when it is not one."""
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.json"))
        if not files:
            raise ValueError(f"{path} holds no claim records (*.json): run `pytest claims -m quick` first")
        try:
            records = [ClaimRecord.load(p) for p in files]
        except (json.JSONDecodeError, ValueError, TypeError) as err:
            raise ValueError(f"{path}: not a folder of claim records: {err}") from None
    else:
        try:
            data = json.loads(path.read_text())
            records = [ClaimRecord.from_dict(d) for d in data["claims"]]
        except FileNotFoundError:
            raise ValueError(f"{path} does not exist: give a claims.json (artifacts/claims.json after "
                             f"`pytest claims -m quick`) or a records folder") from None
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, UnicodeDecodeError) as err:
            raise ValueError(f"{path} is not a claims file ({type(err).__name__}: {err})") from None
    if not records:
        raise ValueError(f"{path} holds no claim records")
    return sorted(records, key=lambda r: r.claim_id)


def load_session(path: str | Path) -> dict:
    """What made the records of a ``claims.json`` (its ``session`` stamp: date, commit,
    machine, versions); empty for a records folder or an older file without one."""
    path = Path(path)
    if path.is_dir():
        return {}
    try:
        return dict(json.loads(path.read_text()).get("session") or {})
    except (OSError, json.JSONDecodeError, AttributeError, TypeError, ValueError):
        return {}


def stamp_text(session: dict) -> str:
    """"2026-12-08 06:10 UTC, commit abc123, Intel Xeon (2 cores)" from a session stamp ("" if none)."""
    bits = [session.get("date", "")]
    if session.get("commit"):
        bits.append(f"commit {session['commit']}")
    if session.get("cpu"):
        bits.append(f"{session['cpu']}" + (f" ({session['cores']} cores)" if session.get("cores") else ""))
    if session.get("os"):
        bits.append(str(session["os"]))
    return ", ".join(b for b in bits if b)


@dataclass(frozen=True)
class Source:
    """One run's records and how the pages name them: ``label`` ("quick", "slow"), the marker
    selection that produced them, and the file they were read from (linked where it lies inside
    the page's own folder tree, named only otherwise)."""

    label: str
    records: Sequence[ClaimRecord]
    path: Path | None = None
    session: dict | None = None  # the claims.json's stamp (load_session)

    @property
    def command(self) -> str:
        return f"pytest claims -m {self.label}"


def _environment(records: Sequence[ClaimRecord]) -> str:
    """The device, dtype and torch version the records name, most common first."""
    parts = []
    for name, prefix in (("device", ""), ("dtype", ""), ("torch_version", "torch ")):
        counts = Counter(getattr(r, name) for r in records if getattr(r, name))
        if counts:
            parts.append(" / ".join(prefix + v for v, _ in counts.most_common()))
    return ", ".join(parts)


def _link(target: Path, page: Path, text: str | None = None) -> str:
    """A relative markdown link from ``page`` to ``target`` when ``target`` lies under the
    page's folder; its name in backquotes otherwise (a page never points outside its tree)."""
    base = page.resolve().parent
    target = target.resolve()
    try:
        target.relative_to(base)
    except ValueError:
        return f"`{target.name}`"
    rel = Path(os.path.relpath(target, base)).as_posix()
    return f"[{text or rel}]({rel})"


def _counts(records: Sequence[ClaimRecord]) -> list[str]:
    """The counts lines: paper claims, comparisons (when there are any), sanity checks."""
    lines = [_counts_line(records, "claim")]
    if any(r.kind == "comparison" for r in records):
        lines.append(_counts_line(records, "comparison"))
    lines.append(_counts_line(records, "sanity") + " (not evidence for a paper)")
    return lines


def _verdict(r: ClaimRecord) -> str:
    return f"**{fmt_outcome(r)}**{fmt_annotations(r)}"


def _row_summary(r: ClaimRecord) -> str:
    """One headline row in a line: a comparison's two numbers, or a verdict."""
    if r.kind == "comparison":
        return f"`{r.claim_id}` ours {fmt_measured(r)}, paper {fmt_value(r.paper_value)} (comparison, no verdict)"
    return f"`{r.claim_id}` {_verdict(r)}"


def _match(claim_id: str, slow_ids: set[str]) -> str | None:
    """The slow run's id for a quick claim id: the same id, or its ``[quick]`` parameter as
    ``[slow]``."""
    for candidate in (claim_id, claim_id.replace("[quick]", "[slow]")):
        if candidate in slow_ids:
            return candidate
    return None


def render_summary(quick: Source, page: Path, readme: Path) -> str:
    """The README block (without its markers): where the numbers come from, the counts lines,
    the headline claims' law and constant rows, and a link to the results page."""
    records = quick.records
    source = _link(quick.path, readme) if quick.path else "its records"
    env = _environment(records)
    stamp = stamp_text(quick.session or {})
    lines = [f"<!-- generated by `scaling-claims pages` from the records of `{quick.command}`: "
             f"edit the generator, not this block -->",
             f"From the committed records of one `{quick.command}` run{f' ({env})' if env else ''}"
             f"{f', made {stamp}' if stamp else ''}, {source}:", ""]
    lines += [f"- {line}" for line in _counts(records)]
    lines.append("")
    rows = headline_rows(records)
    by_id = {r.claim_id: r for r in records}
    if rows:
        lines += ["The headline claims, each split into what the paper claims holds generally (law rows) and "
                  "the numbers it measured on its own data (constant rows):", ""]
        for key, h in HEADLINES.items():
            if key not in rows:
                continue
            laws = "; ".join(_row_summary(by_id[c]) for c in rows[key]["law"]) or "none"
            consts = "; ".join(_row_summary(by_id[c]) for c in rows[key]["constant"])
            if not consts:
                consts = "none" + (" (the paper ties no number to its data)" if h.no_constants else "")
            lines.append(f"- **{h.title}** ({h.papers}): law {laws}; constants {consts}")
        lines.append("")
    else:
        lines += ["These records predate the split of the headline claims into law and constant rows.", ""]
    refuted = [r for r in records if r.kind == "claim" and r.verdict == "refuted"]
    if refuted:
        inside = [f"`{r.claim_id}`" for r in refuted if not r.regime]
        outside = [f"`{r.claim_id}`" for r in refuted if r.regime]
        parts = ([", ".join(inside)] if inside else []) + \
            ([f"outside the paper's regime: {', '.join(outside)}"] if outside else [])
        lines += [f"Refuted at this scale: {'; '.join(parts)}.", ""]
    lines.append(f"Every claim with its number, interval and verdict: {_link(page, readme)}.")
    return "\n".join(lines)


def _headline_section(quick: Source, slow: Source | None) -> list[str]:
    rows = headline_rows(quick.records)
    lines = ["## Headline claims: laws and constants", "",
             "A law row tests what the paper claims holds generally (a form, a held-out prediction, an ordering); "
             "a constant row sets our number beside the paper's: a comparison with no verdict where the paper "
             "ties the number to its data, a verdict where the number is treated as universal.", ""]
    if not rows:
        return lines + ["These records predate the split of the headline claims into law and constant rows.", ""]
    by_id = {r.claim_id: r for r in quick.records}
    for key, h in HEADLINES.items():
        if key not in rows:
            continue
        lines += [f"### {h.title}", "", f"{h.papers}.", "",
                  "| row | claim | quantity | paper | measured [interval] | verdict |", "|---|---|---|---|---|---|"]
        for role in ("law", "constant"):
            for cid in rows[key][role]:
                r = by_id[cid]
                verdict = "comparison (no verdict)" if r.kind == "comparison" else _verdict(r)
                lines.append("| " + " | ".join(_md_escape(c) for c in (
                    role, f"`{cid}`", r.quantity, fmt_value(r.paper_value), fmt_measured(r), verdict)) + " |")
        lines.append("")
        if not rows[key]["constant"] and h.no_constants:
            lines += [f"No constant rows: {h.no_constants}.", ""]
    return lines


def _slow_cells(r: ClaimRecord | None) -> tuple[str, str]:
    if r is None:
        return "—", "—"
    return fmt_measured(r), ("comparison (no verdict)" if r.kind == "comparison" else _verdict(r))


def _claims_table(kind: str, quick: Source, slow: Source | None) -> list[str]:
    mine = [r for r in quick.records if r.kind == kind]
    slow_by_id = {r.claim_id: r for r in slow.records if r.kind == kind} if slow else {}
    slow_ids = set(slow_by_id)
    matched = {_match(r.claim_id, slow_ids) for r in mine} - {None}
    header = ["claim", "paper", "quantity", "paper value", "tolerance", "measured [interval]", "verdict"]
    if kind == "comparison":
        header = ["comparison", "paper", "quantity", "paper's number", "why no verdict", "ours [interval]",
                  "ours / paper's"]
    if slow:
        header += ["slow: measured [interval]", "slow: verdict"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]

    def cells(r: ClaimRecord, quick_side: bool) -> list[str]:
        if kind == "comparison":
            ours = fmt_measured(r) + ("" if r.outcome in ("passed", "") else f" ({r.outcome})")
            base = [f"`{r.claim_id}`", r.paper, r.quantity, fmt_value(r.paper_value), r.justification, ours,
                    fmt_ratio(r)]
        else:
            base = [f"`{r.claim_id}`", r.paper, r.quantity, fmt_value(r.paper_value), r.tolerance,
                    fmt_measured(r), _verdict(r)]
        if not quick_side:  # a slow-only row: its numbers go in the slow columns
            base[5:7] = ["—", "slow only"]
        return base

    for r in mine:
        row = cells(r, True)
        if slow:
            sid = _match(r.claim_id, slow_ids)
            row += list(_slow_cells(slow_by_id.get(sid) if sid else None))
        lines.append("| " + " | ".join(_md_escape(c) for c in row) + " |")
    for sid in sorted(slow_ids - matched):
        r = slow_by_id[sid]
        row = cells(r, False) + list(_slow_cells(r))
        lines.append("| " + " | ".join(_md_escape(c) for c in row) + " |")
    return lines


def render_results_page(quick: Source, page: Path, slow: Source | None = None, command: str = "") -> str:
    """The results page: where the records come from, the counts, the headline claims' law and
    constant rows, then every paper claim, comparison and sanity check (with the slow run's
    number and verdict beside each, when a slow run is given)."""
    lines = ["# Results", "",
             "<!-- generated by `scaling-claims pages` from claim records: edit the generator "
             "(scaling_claims/verdicts/pages.py), not this page -->", ""]
    for src in (quick, slow):
        if src is None:
            continue
        env = _environment(src.records)
        where = _link(src.path, page) if src.path else "its records"
        stamp = stamp_text(src.session or {})
        lines.append(f"- {src.label}: the records of one `{src.command}` run"
                     f"{f' ({env})' if env else ''}, {where}" + (f"; made {stamp}." if stamp else "."))
    lines.append("")
    if command:
        where = " (from the README's folder), with the summary in the README" if "--readme" in command else ""
        lines += [f"Regenerated by `{command}`{where}.", ""]
    lines += ["A verdict is decided by where the whole interval lies: **confirmed** when it satisfies the claim, "
              "**refuted** when it lies wholly against it, **inconclusive** when it straddles an edge or the test "
              "could not decide ([claims.md](claims.md), [sources.md](sources.md)). \"outside the paper's "
              "regime\" is written beside a verdict, never instead of it; report.md gives its reason. Intervals "
              "are 95% unless a claim's interval method says otherwise.", "", "## Counts", ""]
    for src in (quick, slow):
        if src is None:
            continue
        lines += [f"- {src.label}: {line}" for line in _counts(src.records)]
    lines.append("")
    lines += _headline_section(quick, slow)
    sections = (("claim", "Paper claims", ""),
                ("comparison", "Comparisons with the papers' own constants (no verdict)",
                 "Numbers a paper measured on its own data or tokenizer, set beside ours: a comparison, not a test "
                 "of the law (the law rows test that)."),
                ("sanity", "Sanity checks (identities and checks of our own code; not evidence for a paper)", ""))
    for kind, title, intro in sections:
        if not any(r.kind == kind for src in (quick, slow) if src for r in src.records):
            continue
        lines += [f"## {title}", ""] + ([intro, ""] if intro else []) + _claims_table(kind, quick, slow) + [""]
    return "\n".join(lines).rstrip("\n") + "\n"


def replace_block(text: str, block: str, where: str = "the file", start: str = START, end: str = END) -> str:
    """``text`` with everything between the ``start`` and ``end`` marker lines replaced by
    ``block``; the markers and all text outside them are kept byte for byte. A ``ValueError``
    naming ``where`` when a marker is missing, repeated or out of order."""
    for marker in (start, end):
        n = text.count(marker)
        if n != 1:
            raise ValueError(f"{where} must hold the marker {marker} exactly once (found {n}): put "
                             f"{start} and {end} on lines of their own where the results summary goes")
    i, j = text.index(start), text.index(end)
    if j < i:
        raise ValueError(f"{where}: {end} comes before {start}")
    return text[: i + len(start)] + "\n" + block.strip("\n") + "\n" + text[j:]


def read_block(text: str, where: str = "the file", start: str = START, end: str = END) -> str:
    """What lies between the markers (as ``replace_block`` writes it, without the newlines
    next to the markers)."""
    replace_block(text, "", where, start, end)  # validates the markers
    return text[text.index(start) + len(start): text.index(end)].strip("\n")


def regenerate_command(quick: Source, out: Path, readme: Path | None = None, slow: Source | None = None) -> str:
    """The ``scaling-claims pages`` command that writes these pages, with every path relative to
    the README's folder (the page's, without a README); "" when a file lies outside it."""
    base = (readme if readme is not None else out).resolve().parent
    parts = ["scaling-claims pages"]
    for flag, path in (("--quick", quick.path), ("--slow", slow.path if slow else None), ("--out", out),
                       ("--readme", readme)):
        if path is None:
            if flag == "--quick":
                return ""
            continue
        try:
            rel = Path(path).resolve().relative_to(base)
        except ValueError:
            return ""
        parts.append(f"{flag} {rel.as_posix()}")
    return " ".join(parts)


def write_pages(quick: Source, out: Path, readme: Path | None = None, slow: Source | None = None,
                check: bool = False) -> list[Path]:
    """Write the results page to ``out`` and the summary into ``readme``'s block; return the
    files whose text changed (with ``check``, the files that would change, none written)."""
    changed: list[Path] = []
    page = render_results_page(quick, out, slow, regenerate_command(quick, out, readme, slow))
    if not out.is_file() or out.read_text() != page:
        changed.append(out)
        if not check:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(page)
    if readme is not None:
        old = readme.read_text()
        new = replace_block(old, render_summary(quick, out, readme), str(readme))
        if new != old:
            changed.append(readme)
            if not check:
                readme.write_text(new)
    return changed
