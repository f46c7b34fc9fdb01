"""``scaling-claims run`` (train RunSpecs through the run cache) and ``report`` (rebuild the
claims report, report.md and report.html, from the last pytest run)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from scaling_claims.plugin.options import CLI_OPTIONS, add_run_options
from scaling_claims.tool.cli._common import HelpFormatter


def cmd_run(args: argparse.Namespace) -> tuple[int, None]:
    import pandas as pd

    from scaling_claims.engine.specs import RunSpec
    from scaling_claims.runs.cache import RunCache
    from scaling_claims.runs.executors import make_executor
    from scaling_claims.runs.sweep import require_ok, results_frame, run_sweep

    try:
        raw = json.loads(Path(args.specs).read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"cannot read RunSpecs from {args.specs}: {err}") from None
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"{args.specs} must hold a JSON list of RunSpecs (as `scaling-claims design --specs` writes)")
    try:
        specs = [RunSpec.from_dict(d) for d in raw]
    except (KeyError, TypeError, AttributeError) as err:
        raise ValueError(f"{args.specs}: not a list of RunSpecs ({type(err).__name__}: {err})") from None
    from scaling_claims.runs.trainer import load_trainer

    trainer = load_trainer(args.trainer, search=[str(Path.cwd())])  # ValueError (exit 2) names the problem
    executor = make_executor(args.executor, args.workers, device=specs[0].device, ray_address=args.ray_address,
                             batching=args.batching)
    try:
        cache = RunCache(args.cache_dir, trainer=None if trainer is None else trainer.identity)
        results = run_sweep(specs, cache, executor, desc=Path(args.specs).stem, train_fn=trainer)
    finally:
        executor.close()
    frame = results_frame(results)
    failed = frame[frame.status != "ok"]
    ok = require_ok(frame) if failed.empty else frame[frame.status == "ok"]
    pd.DataFrame({"N": ok.params_non_embedding, "N_total": ok.params_total, "D": ok.tokens, "C": ok.flops,
                  "loss": ok.final_eval_loss, "seed": ok.seed}).to_csv(args.out, index=False)
    print(f"{len(ok)} runs written to {args.out} (N non-embedding, D tokens, C engine FLOPs): "
          f"fit them with `scaling-claims fit {args.out}`")
    if not failed.empty:
        print(f"{len(failed)} run(s) failed and were left out: {sorted(set(map(str, failed.failure)))}", file=sys.stderr)
        return 1, None
    return 0, None


def cmd_report(args: argparse.Namespace) -> tuple[int, None]:
    from scaling_claims.verdicts import report
    from scaling_claims.verdicts.html_report import write_session_report
    from scaling_claims.verdicts.records import ClaimRecord

    art = Path(args.artifacts_dir)
    source = art / "claims.json"
    session = None  # a rebuild from records/ names no session: what made them is not known
    if source.is_file():
        try:
            data = json.loads(source.read_text())
            records = [ClaimRecord.from_dict(d) for d in data["claims"]]
            session = data.get("session") or None  # kept as the session that made the records wrote it
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise ValueError(f"{source} is not a claims file: {err}") from None
    else:
        records = report.read_records(art / "records")
        source = art / "records"
    if not records:
        raise ValueError(f"no claim records under {art}: run `pytest claims -m quick` first")
    write_session_report(art, records, session)
    print(report.summary_table(records))
    print(f"rebuilt {art / 'report.md'} and {art / 'report.html'} from {source}")
    return 0, None


def add_parsers(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    r = sub.add_parser("run", parents=parents, formatter_class=HelpFormatter,
                       help="train RunSpecs (from `design --specs`) through the run cache",
                       description="Train RunSpecs through the run cache (resumable) and write a CSV for `fit`.")
    r.add_argument("specs", help="a JSON list of RunSpecs")
    r.add_argument("--out", default="runs.csv", help="CSV of the finished runs, ready for `fit`")
    add_run_options(r.add_argument, CLI_OPTIONS)  # the pytest plugin's own: scaling_claims.plugin.options
    r.set_defaults(func=cmd_run)

    rep = sub.add_parser("report", parents=parents, formatter_class=HelpFormatter,
                         help="rebuild report.md and report.html from the records of the last pytest run",
                         description="Rebuild artifacts/report.md and artifacts/report.html (one self-contained "
                                     "page: plots embedded, filters) from the claim records of the last pytest run.")
    rep.add_argument("--artifacts-dir", default="artifacts", help="the folder pytest wrote its artifacts to")
    rep.set_defaults(func=cmd_report)
