"""The conformance report of a ``--trainer`` session: each claim's verdict under the trainer beside
the reference engine's verdict at the same sizes, differences marked (docs/trainers.md).

Written by the pytest plugin (``scaling_claims.plugin.pytest_plugin``) after the claims report,
into the session's artifacts folder:

    trainer.json        which trainer trained this session's runs (name, identity, --budget)
    conformance.json    one row per claim: both verdicts, whether they agree, the checks that differ
    conformance.md      the same as a table, with the reference's provenance and the counts
    report.md           gains a line naming the trainer and the conformance table at its end

The reference is the claim records (``records/<id>.json``) of an engine session, by default
``<rootdir>/artifacts`` (``--reference PATH`` picks another): the verdicts ``pytest claims -m
quick`` last measured with the engine's own ``train``, whose runs a warm run cache makes cheap
to remake. A folder that holds a ``trainer.json`` is another trainer's session, never a
reference; an engine session removes a stale one (``mark_engine_session``). Two verdicts are
compared as evidence (what the checks say: ``ClaimRecord.evidence``, equal to the verdict under the
current rules, kept apart in older records), and only when the reference measured the claim at the
same sizes (the record's ``budget`` text and seeds agree); otherwise the row says why it is not
compared: no reference record, other sizes.
Claims that train nothing (pure analysis: ``run_wall_time_s`` is unset on both sides) are shown
apart: their agreement says nothing about the trainer.

Records are read as plain JSON, so records written by another version of the suite still load.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterable

SAME, DIFFERENT, NO_REFERENCE, OTHER_SIZES = "same", "DIFFERENT", "no reference", "other sizes"


def trainer_info(ref: Any, budget_scale: float) -> dict[str, Any]:
    """What ``trainer.json`` says: the trainer's name and identity (``runs.trainer.TrainerRef``)."""
    return {"trainer": ref.name, "identity": ref.identity, "budget_scale": float(budget_scale),
            "written_at": time.strftime("%Y-%m-%dT%H:%M:%S")}


def wrote_claims(artifacts_dir: str | Path, since: float) -> bool:
    """Whether this session (started at epoch ``since``) wrote ``claims.json`` there."""
    try:
        return (Path(artifacts_dir) / "claims.json").stat().st_mtime >= since - 1.0
    except OSError:
        return False


def mark_engine_session(artifacts_dir: str | Path) -> None:
    """An engine session's folder is a reference: a ``trainer.json`` left by an earlier
    ``--trainer`` session there is removed."""
    path = Path(artifacts_dir) / "trainer.json"
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def _load(path: Path) -> dict[str, Any] | None:
    try:
        d = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return d if isinstance(d, dict) and isinstance(d.get("claim_id"), str) else None


def reference_records(reference_dir: str | Path, artifacts_dir: str | Path) -> tuple[dict[str, dict], str]:
    """({claim id: record}, "" ) from the engine session at ``reference_dir``, or ({}, why not)."""
    ref, art = Path(reference_dir), Path(artifacts_dir)
    if ref.resolve() == art.resolve():
        return {}, f"the reference folder {ref} is this session's own artifacts folder"
    if (ref / "trainer.json").is_file():
        other = (_load_json(ref / "trainer.json") or {}).get("trainer", "another trainer")
        return {}, f"{ref} holds a --trainer session ({other}), not the engine's"
    records = {}
    for p in sorted((ref / "records").glob("*.json")):
        rec = _load(p)
        if rec is not None:
            records[rec["claim_id"]] = rec
    if not records:
        return {}, (f"no claim records under {ref / 'records'}: run the claims with the engine first "
                    "(`pytest claims -m quick`, cheap on a warm run cache) or give --reference")
    return records, ""


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def verdict_text(rec: dict[str, Any]) -> str:
    """The verdict with how its test ended (error, skip, not run, a change from the declared one)."""
    text = str(rec.get("verdict", "inconclusive"))
    if rec.get("evidence") and rec["evidence"] != text:  # a record of the older out-of-regime rule
        text += f" (evidence {rec['evidence']})"
    outcome = rec.get("outcome", "")
    if outcome in ("error", "skipped", "not run"):
        text += f" ({outcome})"
    elif outcome == "failed":
        text += f"; CHANGED, expected {rec.get('expected', '?')}"
    elif outcome == "xfailed":
        text += " (known failure)"
    return text


def _checks(rec: dict[str, Any]) -> dict[str, str]:
    out = {}
    for c in rec.get("checks") or []:
        if isinstance(c, dict) and "name" in c:
            out[str(c["name"])] = str(c.get("verdict", "confirmed" if c.get("passed") else "refuted"))
    return out


def changed_checks(rec: dict[str, Any], ref: dict[str, Any]) -> list[str]:
    """"<check>: <reference verdict> -> <this verdict>" for every check whose verdict differs."""
    mine, theirs = _checks(rec), _checks(ref)
    out = [f"{name}: {theirs[name]} -> {v}" for name, v in mine.items() if name in theirs and theirs[name] != v]
    out += [f"{name}: not measured here" for name in theirs if name not in mine]
    return out


def _evidence(rec: dict[str, Any]) -> str:
    """What the checks say (the interval rule's verdict). Records of the current rules have
    ``evidence == verdict``; older ones showed an out-of-regime refutation as "inconclusive" while
    keeping the refutation in ``evidence``, so this is what two sessions are compared on."""
    return str(rec.get("evidence") or rec.get("verdict") or "inconclusive")


def _measured(rec: dict[str, Any]) -> bool:
    """Whether the test measured a verdict (it did not error, skip or fail to run); a comparison
    that failed measured nothing usable."""
    if rec.get("kind") == "comparison" and rec.get("outcome") == "failed":
        return False
    return rec.get("outcome") not in ("error", "skipped", "not run")


def _trains(rec: dict[str, Any]) -> bool:
    return rec.get("run_wall_time_s") is not None


def compare(records: Iterable[dict[str, Any]], reference: dict[str, dict]) -> list[dict[str, Any]]:
    """One row per claim of this session (claims first, then sanity checks; by id)."""
    rows = []
    for rec in sorted(records, key=lambda r: (r.get("kind") != "claim", r["claim_id"])):
        ref = reference.get(rec["claim_id"])
        row = {"claim_id": rec["claim_id"], "kind": rec.get("kind", "claim"), "verdict": rec.get("verdict"),
               "outcome": rec.get("outcome", ""), "verdict_text": verdict_text(rec), "reason": rec.get("reason", ""),
               "trains": _trains(rec) or bool(ref and _trains(ref)), "reference_verdict": None,
               "reference_text": "", "status": NO_REFERENCE, "changed_checks": [], "why": ""}
        if ref is None:
            row["why"] = "no reference record for this claim"
        else:
            row["reference_verdict"], row["reference_text"] = ref.get("verdict"), verdict_text(ref)
            sizes = (rec.get("budget", ""), sorted(rec.get("seeds") or []))
            ref_sizes = (ref.get("budget", ""), sorted(ref.get("seeds") or []))
            if sizes != ref_sizes and rec.get("outcome") != "skipped":
                row["status"] = OTHER_SIZES
                row["why"] = f"reference at {ref_sizes[0] or '?'}, seeds {ref_sizes[1]}; here {sizes[0] or '?'}, seeds {sizes[1]}"
            else:
                same = _evidence(rec) == _evidence(ref) and _measured(rec) == _measured(ref)
                row["status"] = SAME if same else DIFFERENT
                row["changed_checks"] = changed_checks(rec, ref)
                if _measured(rec) != _measured(ref):
                    row["why"] = (f"{rec.get('outcome')} here: {rec.get('reason', '')}" if not _measured(rec)
                                  else f"the reference {ref.get('outcome')}: {ref.get('reason', '')}")
                elif rec.get("kind") == "comparison":  # no verdict to compare: both numbers, side by side
                    row["why"] = f"a comparison (no verdict): {rec.get('measured')} here, {ref.get('measured')} in the reference"
        rows.append(row)
    return rows


def counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    trained = [r for r in rows if r["trains"]]
    return {"claims": len(rows), "trained": len(trained),
            "same": sum(r["status"] == SAME for r in trained),
            "different": sum(r["status"] == DIFFERENT and r["outcome"] != "skipped" for r in trained),
            "no_reference": sum(r["status"] == NO_REFERENCE for r in trained),
            "other_sizes": sum(r["status"] == OTHER_SIZES for r in trained),
            "skipped": sum(r["outcome"] == "skipped" for r in trained),
            "analysis_only": len(rows) - len(trained)}


def headline(info: dict[str, Any], c: dict[str, int], missing: str) -> str:
    text = (f"Trainer `{info['trainer']}` ({info['identity']}) trained every run of this session, not the engine's "
            f"`train`. Of {c['trained']} claim(s) with trained runs: {c['same']} with the reference engine's verdict, "
            f"{c['different']} DIFFERENT")
    if c["no_reference"]:
        text += f", {c['no_reference']} without a reference"
    if c["other_sizes"]:
        text += f", {c['other_sizes']} with a reference at other sizes"
    text += "."
    if c["skipped"]:
        text += (f" {c['skipped']} skipped (inconclusive): the trainer cannot honour their runs, or they were "
                 "skipped for another reason given below.")
    if missing:
        text += f" Reference missing: {missing}."
    return text


def _esc(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = ["| claim | this trainer | reference engine | agreement | what differs |", "|---|---|---|---|---|"]
    for r in rows:
        if not r["trains"]:
            continue
        what = "; ".join(x for x in (r["why"], "; ".join(r["changed_checks"])) if x)
        if r["outcome"] == "skipped" and r["reason"] not in what:
            what = "; ".join(x for x in (what, r["reason"]) if x)
        agree = {SAME: "same", DIFFERENT: "**DIFFERENT**"}.get(r["status"], r["status"])
        lines.append("| " + " | ".join(_esc(c) for c in (
            r["claim_id"], r["verdict_text"], r["reference_text"] or "—", agree, what)) + " |")
    return lines


def render_md(info: dict[str, Any], rows: list[dict[str, Any]], reference_dir: str | Path, missing: str) -> str:
    c = counts(rows)
    lines = [f"# Conformance: `{info['trainer']}` against the reference engine", "", headline(info, c, missing), "",
             f"- trainer identity: `{info['identity']}` (module:function@version; its runs are cached apart)",
             f"- --budget {info['budget_scale']:g}",
             f"- reference: the engine's claim records under `{reference_dir}`"
             + (f" (missing: {missing})" if missing else ""), "",
             "A verdict is compared only where the reference measured the same claim at the same sizes (the "
             "record's budget and seeds). \"What differs\" lists each check whose verdict changed (reference -> "
             "this trainer), or why a row is not compared. Claims that train nothing are left out of the table "
             f"({c['analysis_only']} here): their verdicts cannot depend on the trainer.", ""]
    lines += render_table(rows)
    return "\n".join(lines) + "\n"


def summary_lines(info: dict[str, Any], rows: list[dict[str, Any]], missing: str, path: Path) -> list[str]:
    out = [headline(info, counts(rows), missing)]
    for r in rows:
        if r["trains"] and r["status"] != SAME:
            detail = r["why"] or "; ".join(r["changed_checks"][:3]) or r["reason"]
            out.append(f"  {r['claim_id']}: {r['verdict_text']} (reference: {r['reference_text'] or '—'})"
                       + (f": {detail}" if detail else ""))
    out.append(f"conformance report: {path}")
    return out


def write(artifacts_dir: str | Path, info: dict[str, Any], reference_dir: str | Path) -> list[str]:
    """Write trainer.json, conformance.json and conformance.md, name the trainer in report.md;
    return the lines for the terminal."""
    art = Path(artifacts_dir)
    art.mkdir(parents=True, exist_ok=True)
    (art / "trainer.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    session = _load_json(art / "claims.json") or {}
    records = [r for r in session.get("claims", []) if isinstance(r, dict) and "claim_id" in r]
    reference, missing = reference_records(reference_dir, art)
    rows = compare(records, reference)
    (art / "conformance.json").write_text(json.dumps(
        {**info, "reference": str(reference_dir), "reference_missing": missing, "counts": counts(rows),
         "rows": rows}, indent=2, sort_keys=True) + "\n")
    md = render_md(info, rows, reference_dir, missing)
    (art / "conformance.md").write_text(md)
    report = art / "report.md"
    if report.is_file():
        text = report.read_text().split("\n## Conformance against the reference engine\n")[0]
        title, sep, rest = text.partition("\n")
        while rest.startswith("\n**Trainer `"):  # written again (the same session's report): replace, not repeat
            rest = rest.split("See conformance.md.\n", 1)[-1]
        named = (f"{title}\n\n**{headline(info, counts(rows), missing)}** See conformance.md.\n{rest.rstrip()}\n"
                 + "\n## Conformance against the reference engine\n\n" + "\n".join(render_table(rows)) + "\n")
        report.write_text(named)
    return summary_lines(info, rows, missing, art / "conformance.md")
