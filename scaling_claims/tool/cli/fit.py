"""``scaling-claims fit``: the Chinchilla law fitted to a CSV of runs, then each check on its own.

The main fit is computed, printed and written (fit.json, plot.png) before any diagnostic runs;
each diagnostic (bootstrap, IsoFLOP approaches, leave-largest-out, rollout) then runs on its own,
and one that fails says so in its own line and in the JSON, without losing the rest.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from scaling_claims.tool.cli._common import HelpFormatter, add_json_option, document, dump, g, interval, positive, warn

METHODS = ("huber", "varpro", "asymmetric")


def _resamples(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        v = -1
    if v < 0 or v == 1:
        raise argparse.ArgumentTypeError(f"must be 0 (no bootstrap) or a whole number >= 2, got {text!r}")
    return v


def _write(out: Path, res: Any, args: argparse.Namespace) -> dict[str, Any]:
    """fit.json, plot.png and rollout.csv under ``out``; the fit's JSON document."""
    from scaling_claims.tool.runs_plot import plot_runs

    doc = document("fit", res.to_dict() | {"input": {"path": str(args.csv), "runs": len(res.runs),
                                                     "columns": res.columns}}, args.warnings)
    out.mkdir(parents=True, exist_ok=True)
    (out / "fit.json").write_text(dump(doc) + "\n")
    plot_runs(out / "plot.png", res)
    if res.rollout is not None:
        res.rollout.to_frame().to_csv(out / "rollout.csv", index=False)
    return doc


def cmd_fit(args: argparse.Namespace) -> tuple[int, dict[str, Any]]:
    from scaling_claims.tool.userruns import fit_main, read_runs, run_diagnostics

    runs, columns = read_runs(args.csv, args.n_col, args.d_col, args.c_col, args.loss_col, args.flops_per_token,
                              sep=args.sep)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)  # an unwritable folder is reported before the fit runs
    print(f"{len(runs)} runs from {args.csv} (columns: " + ", ".join(f"{k}={v}" for k, v in columns.items()) + ")")
    res = fit_main(runs, method=args.method, tie_exponents=args.tie_exponents, asymmetry=args.asymmetry,
                   flops_per_token=args.flops_per_token, name=Path(args.csv).stem, columns=columns,
                   convention=args.convention)
    fit = res.fit
    print(f"L(N, D) = E + A/N^alpha + B/D^beta, method {args.method}" + (", alpha = beta" if args.tie_exponents else ""))
    print("  " + "  ".join(f"{k} {g(fit.params[k])}" for k in ("E", "A", "B", "alpha", "beta"))
          + f"  a {g(fit.a)}")
    for flag in fit.flags.values():
        warn(args, f"the fit: {flag}")
    if res.law is None:
        warn(args, res.law_error)
    _write(out, res, args)
    print(f"wrote {out / 'fit.json'}, {out / 'plot.png'} (the main fit; the checks follow)")

    run_diagnostics(res, n_boot=args.bootstrap, seed=args.seed)
    boot = res.boot
    if boot is not None:
        ci = boot.ci
        print(f"95% intervals from a bootstrap over runs ({boot.n} of {boot.requested} resamples fitted):")
        for k in ("E", "A", "B", "alpha", "beta"):
            print(f"  {k:6s} {interval(fit.params[k], ci[k])}")
        print(f"  a = beta/(alpha+beta) (N_opt ~ C^a): {interval(fit.a, ci['a'])}")
    for name, f in res.isoflop.items():
        used = int(f.optima["used"].sum())
        ci_a = f.ci["a"] if all(isinstance(v, float) and math.isfinite(v) for v in f.ci["a"]) else None
        print(f"IsoFLOP {name}: a = {interval(f.params['a'], ci_a)} over {used} budgets"
              + ("" if ci_a else f" (no interval: {'2 budgets' if used <= 2 else 'not identified'})"))
    if res.leave_largest_out is not None:
        chk = res.leave_largest_out
        print(f"leave-largest-out: largest size predicted with max error {chk.max_error:.2%} (trust {chk.trust})")
    if res.rollout is not None:
        print("rollout (fit on the k smallest sizes, predict the next):")
        print(res.rollout.table())
    for name, status in res.diagnostics.items():
        if status != "ok":
            print(f"{name}: {status}")
    for note in res.notes:
        print(f"note: {note}")
    doc = _write(out, res, args)
    print(f"wrote {out / 'fit.json'} (use with: scaling-claims plan --fit {out / 'fit.json'}), {out / 'plot.png'}"
          + (f", {out / 'rollout.csv'}" if res.rollout is not None else ""))
    return 0, {k: v for k, v in doc.items() if k not in ("schema", "schema_version", "scaling_claims_version",
                                                        "warnings")}


def add_parsers(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    f = sub.add_parser("fit", parents=parents, formatter_class=HelpFormatter,
                       help="fit the Chinchilla law to a CSV of runs",
                       description="Fit L(N, D) = E + A/N^alpha + B/D^beta to a CSV of runs, with bootstrap "
                                   "intervals, IsoFLOP approaches, leave-largest-out and rollout checks "
                                   "(docs/fitting.md).")
    f.add_argument("csv", help="runs: columns for N, D or C, and loss (comma, semicolon or tab separated)")
    f.add_argument("--n-col", help="column of parameter counts (default: N, params, num_params, Model Size, ...)")
    f.add_argument("--d-col", help="column of training tokens (default: D, tokens, token_num, ...)")
    f.add_argument("--c-col", help="column of training FLOPs (default: C, flops, budget, Training FLOP, ...)")
    f.add_argument("--loss-col", help="column of final losses (default: loss, eval_loss, val_loss, ...)")
    f.add_argument("--sep", help="the CSV's field separator (default: detected from the header: , ; or tab)")
    f.add_argument("--method", choices=METHODS, default="huber",
                   help="objective: huber (Hoffmann et al.'s log-Huber), varpro (least squares by variable "
                        "projection), asymmetric (the law as a lower bound)")
    f.add_argument("--tie-exponents", action="store_true", help="fit with alpha = beta (for few sizes)")
    f.add_argument("--asymmetry", type=positive, default=10.0,
                   help="with --method asymmetric: weight of over-predicted points")
    f.add_argument("--bootstrap", type=_resamples, default=1000, metavar="N",
                   help="bootstrap resamples for intervals (0: none)")
    f.add_argument("--seed", type=int, default=0, help="seed of the bootstrap's resampling")
    f.add_argument("--flops-per-token", type=positive, default=6.0, help="k in C = k N D")
    f.add_argument("--convention", default="", help="what N and D count (recorded with the law)")
    f.add_argument("--out", default="scaling-fit", help="folder for fit.json, plot.png, rollout.csv")
    add_json_option(f, "the fit (the same document as fit.json)")
    f.set_defaults(func=cmd_fit)
