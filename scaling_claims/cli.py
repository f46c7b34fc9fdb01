"""The ``scaling-claims`` command: a thin layer over the library (``scaling_claims.userruns``,
``scaling_claims.plan``, ``scaling_claims.report``).

    scaling-claims fit RUNS.csv [--out DIR]          fit your own runs (Chinchilla law + checks)
    scaling-claims plan --preset epoch2024 --budget 1e21 --device h100-sxm --mfu 0.4
    scaling-claims plan --fit DIR/fit.json --target-loss 2.1
    scaling-claims time --params 150e6 --tokens 100e6 --device m2-max --dtype fp32 --mfu 0.3
    scaling-claims design --preset epoch2024 --min-params 1e5 --max-params 1e7 --hours 8 --device m2-max
    scaling-claims run SPECS.json --out runs.csv     train a designed ladder (through the run cache)
    scaling-claims report [--artifacts-dir artifacts] rebuild report.md from the last pytest run

Bad input (a missing column, a non-positive value, an unknown preset or device) prints one
line naming the problem and exits with status 2; ``--help`` on any subcommand lists its options.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any, Sequence

from scaling_claims import plan as P
from scaling_claims.runs.executors import EXECUTOR_NAMES

EXIT_USAGE = 2


def _positive(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not (v > 0 and math.isfinite(v)):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return v


def _fraction(text: str) -> float:
    v = _positive(text)
    if v > 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text!r}")
    return v


def _ratios(text: str) -> list[float]:
    try:
        vals = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        vals = []
    if not vals or min(vals) <= 0:
        raise argparse.ArgumentTypeError(f"must be comma-separated positive numbers, got {text!r}")
    return vals


def _g(v: float, digits: int = 4) -> str:
    return f"{v:.{digits}g}"


def _interval(v: float, ci: Sequence[float] | None) -> str:
    if ci is None:
        return _g(v)
    return f"{_g(v)} [{_g(ci[0])}, {_g(ci[1])}]"


def _hours(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.3g} s"
    if seconds < 3600:
        return f"{seconds / 60:.3g} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.3g} h"
    return f"{seconds / 86400:.3g} days"


def _time_line(t: P.TrainingTime, price_per_hour: float | None) -> str:
    cost = f", cost {t.cost:,.2f} at {price_per_hour:g} per device-hour" if t.cost is not None else ""
    return f"  {_hours(t.seconds)} wall{cost}"


# ----------------------------------------------------------------------------- fit
def cmd_fit(args: argparse.Namespace) -> int:
    from scaling_claims.userruns import fit_runs, plot_runs, read_runs

    runs, columns = read_runs(args.csv, args.n_col, args.d_col, args.c_col, args.loss_col, args.flops_per_token)
    res = fit_runs(runs, method=args.method, tie_exponents=args.tie_exponents, asymmetry=args.asymmetry,
                   n_boot=args.bootstrap, seed=args.seed, flops_per_token=args.flops_per_token,
                   name=Path(args.csv).stem, columns=columns, convention=args.convention)
    fit, ci = res.fit, res.boot.ci
    print(f"{len(runs)} runs from {args.csv} (columns: " + ", ".join(f"{k}={v}" for k, v in columns.items()) + ")")
    print(f"L(N, D) = E + A/N^alpha + B/D^beta, method {args.method}"
          + (", alpha = beta" if args.tie_exponents else "")
          + f"; 95% intervals from a bootstrap over runs ({res.boot.n} resamples)")
    for k in ("E", "A", "B", "alpha", "beta"):
        print(f"  {k:6s} {_interval(fit.params[k], ci[k])}")
    print(f"  a = beta/(alpha+beta) (N_opt ~ C^a): {_interval(fit.a, ci['a'])}")
    for name, f in res.isoflop.items():
        used = int(f.optima["used"].sum())
        ci = f.ci["a"] if all(math.isfinite(v) for v in f.ci["a"]) else None
        print(f"  IsoFLOP {name}: a = {_interval(f.params['a'], ci)} over {used} budgets"
              + ("" if ci else " (no interval from 2 budgets)"))
    if res.leave_largest_out is not None:
        chk = res.leave_largest_out
        print(f"leave-largest-out: largest size predicted with max error {chk.max_error:.2%} (trust {chk.trust})")
    if res.rollout is not None:
        print("rollout (fit on the k smallest sizes, predict the next):")
        print(res.rollout.table())
    for note in res.notes:
        print(f"note: {note}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "fit.json").write_text(json.dumps(res.to_dict(), indent=2, allow_nan=False, default=_json_default))
    plot_runs(out / "plot.png", res)
    if res.rollout is not None:
        res.rollout.to_frame().to_csv(out / "rollout.csv", index=False)
    print(f"wrote {out / 'fit.json'} (use with: scaling-claims plan --fit {out / 'fit.json'}), {out / 'plot.png'}")
    return 0


def _json_default(v: Any) -> Any:
    if hasattr(v, "tolist"):
        return v.tolist()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    raise TypeError(f"not JSON serialisable: {type(v).__name__}")


# ----------------------------------------------------------------------------- plan
def _law(args: argparse.Namespace) -> P.Law:
    if args.fit:
        return P.Law.load(args.fit)
    return P.published(args.preset)


def _speed(args: argparse.Namespace) -> tuple[float | None, float | None, str]:
    """(peak FLOP/s per device, MFU, a line saying where both came from); Nones when no device."""
    if args.peak_flops is None and args.device is None:
        return None, None, ""
    if args.peak_flops is not None:
        peak, where = args.peak_flops, f"peak {args.peak_flops:.3g} FLOP/s (given)"
    else:
        dev = P.device(args.device)
        peak, where = dev.peak_flops(args.dtype), f"{dev.name}, {args.dtype} peak {dev.peak_flops(args.dtype):.3g} FLOP/s ({dev.source})"
    if args.mfu is not None:
        return peak, args.mfu, f"{where}; utilisation {args.mfu:.0%} (given)"
    util = P.measured_utilisation(args.benchmark_dir)
    return peak, util.mfu, f"{where}; utilisation {util.mfu:.0%} ({util.source})"


def cmd_plan(args: argparse.Namespace) -> int:
    law = _law(args)
    peak, mfu, where = _speed(args)  # a device problem is reported before anything is printed
    if args.budget is not None:
        alloc = P.allocate(law, args.budget)
        head = f"budget C = {args.budget:.3g} FLOPs"
    else:
        alloc = P.budget_for_loss(law, args.target_loss)
        head = f"target loss {args.target_loss:.4g}: smallest budget C = {alloc.C:.4g} FLOPs"
    print(f"law {law.name}: E={_g(law.E)} A={_g(law.A)} B={_g(law.B)} alpha={_g(law.alpha)} beta={_g(law.beta)}"
          + (f" ({law.source})" if law.source else ""))
    if law.convention:
        print(f"convention: {law.convention}")
    print(head)
    print(f"  N_opt  {_interval(alloc.N, alloc.N_ci)} parameters")
    print(f"  D_opt  {_interval(alloc.D, alloc.D_ci)} tokens")
    print(f"  tokens per parameter {alloc.tokens_per_param:.3g}")
    print(f"  predicted loss {_interval(alloc.loss, alloc.loss_ci)}"
          + ("" if alloc.loss_ci else " (no interval: the law has no bootstrap samples)"))
    result: dict[str, Any] = {"law": law.name, "allocation": alloc.to_dict()}
    flops = alloc.C
    if args.inference_tokens is not None:
        ia = P.inference_aware(law, alloc.loss, args.inference_tokens)
        print(f"inference-aware (Sardana et al. 2024), {args.inference_tokens:.3g} inference tokens at 2N FLOPs each:")
        print(f"  N {ia.N:.4g}, D {ia.D:.4g} ({ia.tokens_per_param:.3g} tokens/param) reaches the same loss for "
              f"{ia.train_flops:.4g} training + {ia.inference_flops:.4g} inference FLOPs = {ia.total_flops:.4g}")
        print(f"  vs the Chinchilla-optimal run: {ia.chinchilla_total_flops:.4g} FLOPs in all; "
              f"{ia.saving:.1%} less compute")
        result["inference_aware"] = ia.to_dict()
        flops = ia.train_flops
    if peak is not None:
        t = P.training_time(flops, peak, mfu, args.devices, args.price_per_hour)
        print(f"training time on {args.devices} x {where}:")
        print(_time_line(t, args.price_per_hour))
        result["training_time"] = t.to_dict()
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=_json_default))
        print(f"wrote {args.json}")
    return 0


# ----------------------------------------------------------------------------- time
def cmd_time(args: argparse.Namespace) -> int:
    peak, mfu, where = _speed(args)
    if peak is None:
        raise ValueError("time needs a device (--device NAME or --peak-flops F)")
    flops = args.flops_per_token * args.params * args.tokens
    t = P.training_time(flops, peak, mfu, args.devices, args.price_per_hour)
    print(f"{args.params:.3g} parameters x {args.tokens:.3g} tokens x {args.flops_per_token:g} = {flops:.3g} FLOPs")
    print(f"on {args.devices} x {where}:")
    print(_time_line(t, args.price_per_hour))
    return 0


# ----------------------------------------------------------------------------- design
def cmd_design(args: argparse.Namespace) -> int:
    law = _law(args)
    peak, mfu, where = _speed(args)
    if peak is None:
        raise ValueError("design needs a device (--device NAME or --peak-flops F) to turn FLOPs into time")
    ladder = P.design_ladder(law, args.min_params, args.max_params, args.hours * 3600, peak, mfu,
                             n_sizes=args.sizes, ratios=args.ratios)
    print(f"ladder for {args.hours:g} h on {where}")
    for note in ladder.notes:
        print(f"note: {note}")
    print(f"{'N':>10s} {'D':>10s} {'tokens/N':>9s} {'x optimal':>9s} {'FLOPs':>10s} {'time':>9s}")
    for r in ladder.rungs:
        print(f"{r.N:10.3g} {r.D:10.3g} {r.tokens_per_param:9.3g} {r.ratio:9.3g} {r.flops:10.3g} {_hours(r.seconds):>9s}")
    print(f"{len(ladder.rungs)} runs, {_hours(ladder.seconds)} in all (budget {_hours(ladder.budget_seconds)})")
    if args.specs:
        specs = ladder_specs(ladder, args.n_layer, args.seeds, args.run_device)
        Path(args.specs).write_text(json.dumps([s.to_dict() for s in specs], indent=2))
        print(f"wrote {len(specs)} RunSpecs to {args.specs} (this project's byte-level decoder, depth "
              f"{args.n_layer}, on the stdlib corpus): train them with `scaling-claims run {args.specs}`")
    return 0


def ladder_specs(ladder: P.Ladder, n_layer: int = 2, seeds: Sequence[int] = (0,), device: str = "cpu") -> list:
    """The ladder as RunSpecs of this project's decoder family (``scaling_claims.ladders``): the
    width whose non-embedding N is nearest each rung's N, trained for the rung's D tokens."""
    from scaling_claims import ladders
    from scaling_claims.engine.specs import Budget

    out = []
    for r in ladder.rungs:
        model = ladders.gpt(ladders.width_for_params(r.N, n_layer), n_layer)
        out += [ladders.stdlib_run(model, Budget(tokens=int(round(r.D))), s, device, "design") for s in seeds]
    return out


# ----------------------------------------------------------------------------- run
def cmd_run(args: argparse.Namespace) -> int:
    import pandas as pd

    from scaling_claims.runs.cache import RunCache
    from scaling_claims.runs.executors import make_executor
    from scaling_claims.engine.specs import RunSpec
    from scaling_claims.runs.sweep import require_ok, results_frame, run_sweep

    try:
        raw = json.loads(Path(args.specs).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"cannot read RunSpecs from {args.specs}: {err}") from None
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"{args.specs} must hold a JSON list of RunSpecs (as `scaling-claims design --specs` writes)")
    specs = [RunSpec.from_dict(d) for d in raw]
    executor = make_executor(args.executor, args.workers, device=specs[0].device, ray_address=args.ray_address,
                             batching=args.batching)
    try:
        results = run_sweep(specs, RunCache(args.cache_dir), executor, desc=Path(args.specs).stem)
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
        return 1
    return 0


# ----------------------------------------------------------------------------- report
def cmd_report(args: argparse.Namespace) -> int:
    from scaling_claims.claims import report
    from scaling_claims.claims.records import ClaimRecord

    art = Path(args.artifacts_dir)
    source = art / "claims.json"
    if source.is_file():
        try:
            records = [ClaimRecord.from_dict(d) for d in json.loads(source.read_text())["claims"]]
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise ValueError(f"{source} is not a claims file: {err}") from None
    else:
        records = report.read_records(art / "records")
        source = art / "records"
    if not records:
        raise ValueError(f"no claim records under {art}: run `pytest claims -m quick` first")
    report.write_session_report(art, records)
    print(report.summary_table(records))
    print(f"rebuilt {art / 'report.md'} from {source}")
    return 0


# ----------------------------------------------------------------------------- parser
def _law_options(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--fit", metavar="FIT.json", help="a law written by `scaling-claims fit`")
    g.add_argument("--preset", choices=sorted(P.PUBLISHED), help="a published law")


def _device_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", help=f"an accelerator from the catalog: {', '.join(P.DEVICES)}")
    p.add_argument("--peak-flops", type=_positive, metavar="F", help="peak FLOP/s per device (instead of --device)")
    p.add_argument("--dtype", default="bf16", help="precision whose peak to use (default bf16)")
    p.add_argument("--mfu", type=_fraction, help="model-FLOPs utilisation in (0, 1]; default: this machine's measured "
                                                 "one from the saved throughput benchmark")
    p.add_argument("--benchmark-dir", default=".benchmarks", help="where pytest-benchmark saved its results")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scaling-claims", description="Fit your own runs, plan a training run, "
                                     "design a ladder, rebuild the claims report.")
    sub = parser.add_subparsers(dest="command", required=True)

    f = sub.add_parser("fit", help="fit the Chinchilla law to a CSV of runs")
    f.add_argument("csv", help="runs: columns for N, D or C, and loss")
    f.add_argument("--n-col", help="column of parameter counts (default: N, params, ...)")
    f.add_argument("--d-col", help="column of training tokens (default: D, tokens, ...)")
    f.add_argument("--c-col", help="column of training FLOPs (default: C, flops, ...)")
    f.add_argument("--loss-col", help="column of final losses (default: loss, eval_loss, ...)")
    f.add_argument("--method", choices=("huber", "varpro", "asymmetric"), default="huber")
    f.add_argument("--tie-exponents", action="store_true", help="fit with alpha = beta (few sizes)")
    f.add_argument("--asymmetry", type=_positive, default=10.0,
                   help="with --method asymmetric: weight of over-predicted points (default 10)")
    f.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for intervals (default 1000)")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--flops-per-token", type=_positive, default=6.0, help="k in C = k N D (default 6)")
    f.add_argument("--convention", default="", help="what N and D count (recorded with the law)")
    f.add_argument("--out", default="scaling-fit", help="folder for fit.json, plot.png, rollout.csv")
    f.set_defaults(func=cmd_fit)

    p = sub.add_parser("plan", help="budget -> N, D, loss; or target loss -> budget; time and cost")
    _law_options(p)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--budget", type=_positive, metavar="C", help="training FLOPs")
    g.add_argument("--target-loss", type=_positive, metavar="L", help="the loss to reach")
    p.add_argument("--inference-tokens", type=float, metavar="T",
                   help="expected inference tokens: the allocation minimising training + inference compute")
    _device_options(p)
    p.add_argument("--devices", type=int, default=1, help="number of devices (default 1)")
    p.add_argument("--price-per-hour", type=float, help="price per device-hour, for the cost")
    p.add_argument("--json", metavar="PATH", help="also write the plan as JSON")
    p.set_defaults(func=cmd_plan)

    t = sub.add_parser("time", help="training time and cost of N parameters on D tokens")
    t.add_argument("--params", type=_positive, required=True, metavar="N")
    t.add_argument("--tokens", type=_positive, required=True, metavar="D")
    t.add_argument("--flops-per-token", type=_positive, default=6.0, help="FLOPs per parameter per token (default 6)")
    _device_options(t)
    t.add_argument("--devices", type=int, default=1)
    t.add_argument("--price-per-hour", type=float)
    t.set_defaults(func=cmd_time)

    d = sub.add_parser("design", help="a ladder of (N, D) runs that fits a time budget")
    _law_options(d)
    d.add_argument("--min-params", type=_positive, required=True)
    d.add_argument("--max-params", type=_positive, required=True)
    d.add_argument("--hours", type=_positive, required=True, help="the time budget")
    d.add_argument("--sizes", type=int, default=5, help="model sizes (default 5)")
    d.add_argument("--ratios", type=_ratios, default=[0.5, 1.0, 2.0],
                   help="token counts per size as multiples of the compute-optimal one (default 0.5,1,2)")
    _device_options(d)
    d.add_argument("--specs", metavar="PATH", help="write the ladder as RunSpecs (JSON) for `scaling-claims run`")
    d.add_argument("--n-layer", type=int, default=2, help="depth of the RunSpecs' decoders (default 2)")
    d.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds per rung (default 0)")
    d.add_argument("--run-device", default="cpu", help="device the RunSpecs train on (default cpu)")
    d.set_defaults(func=cmd_design)

    r = sub.add_parser("run", help="train RunSpecs (from `design --specs`) through the run cache")
    r.add_argument("specs", help="a JSON list of RunSpecs")
    r.add_argument("--out", default="runs.csv", help="CSV of the finished runs, ready for `fit` (default runs.csv)")
    r.add_argument("--cache-dir", help="run cache (else $SCALING_CLAIMS_CACHE, else ~/.cache/scaling-claims)")
    r.add_argument("--executor", choices=EXECUTOR_NAMES, default="auto",
                   help="how missing runs are trained (default auto: a process pool on CPU; docs/running.md)")
    r.add_argument("--workers", type=int, help="pool size (default: usable cores)")
    r.add_argument("--ray-address", metavar="ADDRESS",
                   help="the Ray cluster for --executor ray (else $RAY_ADDRESS, else a local instance)")
    r.add_argument("--no-batching", dest="batching", action="store_false",
                   help="train tiny same-shape runs one at a time, not as batched ensembles (same records)")
    r.set_defaults(func=cmd_run)

    rep = sub.add_parser("report", help="rebuild report.md from the records of the last pytest run")
    rep.add_argument("--artifacts-dir", default="artifacts")
    rep.set_defaults(func=cmd_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ValueError as err:
        print(f"scaling-claims {args.command}: error: {err}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
