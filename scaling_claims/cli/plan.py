"""``scaling-claims plan``, ``time`` and ``design``: from a law (published, or fitted by
``scaling-claims fit``) to an allocation, a training time and a ladder of runs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Sequence

from scaling_claims import plan as P
from scaling_claims.cli._common import (HelpFormatter, add_json_option, fraction, g, hours, interval, positive,
                                        count, ratios)


def _time_line(t: P.TrainingTime, price_per_hour: float | None) -> str:
    cost = f", cost {t.cost:,.2f} at {price_per_hour:g} per device-hour" if t.cost is not None else ""
    return f"  {hours(t.seconds)} wall{cost}"


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


# ----------------------------------------------------------------------------- plan
def cmd_plan(args: argparse.Namespace) -> tuple[int, dict[str, Any]]:
    law = _law(args)
    peak, mfu, where = _speed(args)  # a device problem is reported before anything is printed
    if args.budget is not None:
        alloc = P.allocate(law, args.budget)
        head = f"budget C = {args.budget:.3g} FLOPs"
    else:
        alloc = P.budget_for_loss(law, args.target_loss)
        head = f"target loss {args.target_loss:.4g}: smallest budget C = {alloc.C:.4g} FLOPs"
    print(f"law {law.name}: E={g(law.E)} A={g(law.A)} B={g(law.B)} alpha={g(law.alpha)} beta={g(law.beta)}"
          + (f" ({law.source})" if law.source else ""))
    if law.convention:
        print(f"convention: {law.convention}")
    print(head)
    print(f"  N_opt  {interval(alloc.N, alloc.N_ci)} parameters")
    print(f"  D_opt  {interval(alloc.D, alloc.D_ci)} tokens")
    print(f"  tokens per parameter {alloc.tokens_per_param:.3g}")
    print(f"  predicted loss {interval(alloc.loss, alloc.loss_ci)}"
          + ("" if alloc.loss_ci else " (no interval: the law has no bootstrap samples)"))
    result: dict[str, Any] = {"law": law.to_dict() | {"samples": None}, "allocation": alloc.to_dict()}
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
    return 0, result


# ----------------------------------------------------------------------------- time
def cmd_time(args: argparse.Namespace) -> tuple[int, dict[str, Any]]:
    peak, mfu, where = _speed(args)
    if peak is None:
        raise ValueError("time needs a device (--device NAME or --peak-flops F)")
    flops = args.flops_per_token * args.params * args.tokens
    t = P.training_time(flops, peak, mfu, args.devices, args.price_per_hour)
    print(f"{args.params:.3g} parameters x {args.tokens:.3g} tokens x {args.flops_per_token:g} = {flops:.3g} FLOPs")
    print(f"on {args.devices} x {where}:")
    print(_time_line(t, args.price_per_hour))
    return 0, {"params": args.params, "tokens": args.tokens, "flops": flops, "training_time": t.to_dict()}


# ----------------------------------------------------------------------------- design
def cmd_design(args: argparse.Namespace) -> tuple[int, dict[str, Any]]:
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
        print(f"{r.N:10.3g} {r.D:10.3g} {r.tokens_per_param:9.3g} {r.ratio:9.3g} {r.flops:10.3g} {hours(r.seconds):>9s}")
    print(f"{len(ladder.rungs)} runs, {hours(ladder.seconds)} in all (budget {hours(ladder.budget_seconds)})")
    result: dict[str, Any] = {"law": law.to_dict() | {"samples": None}, "ladder": ladder.to_dict()}
    if args.specs:
        specs = ladder_specs(ladder, args.n_layer, args.seeds, args.run_device)
        Path(args.specs).write_text(json.dumps([s.to_dict() for s in specs], indent=2))
        print(f"wrote {len(specs)} RunSpecs to {args.specs} (this project's byte-level decoder, depth "
              f"{args.n_layer}, on the stdlib corpus): train them with `scaling-claims run {args.specs}`")
        result["specs"] = {"path": args.specs, "runs": len(specs)}
    return 0, result


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


# ----------------------------------------------------------------------------- parsers
def _law_options(p: argparse.ArgumentParser) -> None:
    g_ = p.add_mutually_exclusive_group(required=True)
    g_.add_argument("--fit", metavar="FIT.json", help="a law written by `scaling-claims fit` (its fit.json)")
    g_.add_argument("--preset", choices=sorted(P.PUBLISHED), help="a published law")


def _device_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", help=f"an accelerator from the catalog: {', '.join(P.DEVICES)}")
    p.add_argument("--peak-flops", type=positive, metavar="F", help="peak FLOP/s per device (instead of --device)")
    p.add_argument("--dtype", default="bf16", help="precision whose peak to use")
    p.add_argument("--mfu", type=fraction, help="model-FLOPs utilisation in (0, 1]; default: this machine's measured "
                                                "one from the saved throughput benchmark")
    p.add_argument("--benchmark-dir", default=".benchmarks", help="where pytest-benchmark saved its results")
    p.add_argument("--devices", type=count, default=1, help="number of devices")
    p.add_argument("--price-per-hour", type=positive, metavar="PRICE", help="price per device-hour, for the cost")


def add_parsers(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("plan", parents=parents, formatter_class=HelpFormatter,
                       help="budget -> N, D, loss; or target loss -> budget; time and cost",
                       description="From a law to a compute-optimal allocation (docs/planning.md).")
    _law_options(p)
    g_ = p.add_mutually_exclusive_group(required=True)
    g_.add_argument("--budget", type=positive, metavar="C", help="training FLOPs")
    g_.add_argument("--target-loss", type=positive, metavar="L", help="the loss to reach")
    p.add_argument("--inference-tokens", type=positive, metavar="T",
                   help="expected inference tokens: the allocation minimising training + inference compute")
    _device_options(p)
    add_json_option(p, "the plan")
    p.set_defaults(func=cmd_plan)

    t = sub.add_parser("time", parents=parents, formatter_class=HelpFormatter,
                       help="training time and cost of N parameters on D tokens",
                       description="Training time and cost of N parameters trained on D tokens on a device.")
    t.add_argument("--params", type=positive, required=True, metavar="N", help="parameters")
    t.add_argument("--tokens", type=positive, required=True, metavar="D", help="training tokens")
    t.add_argument("--flops-per-token", type=positive, default=6.0, help="FLOPs per parameter per token (k in C = kND)")
    _device_options(t)
    add_json_option(t, "the time and cost")
    t.set_defaults(func=cmd_time)

    d = sub.add_parser("design", parents=parents, formatter_class=HelpFormatter,
                       help="a ladder of (N, D) runs that fits a time budget",
                       description="A ladder of (N, D) runs around the compute-optimal ratio that fits a time budget.")
    _law_options(d)
    d.add_argument("--min-params", type=positive, required=True, metavar="N", help="smallest model size")
    d.add_argument("--max-params", type=positive, required=True, metavar="N",
                   help="largest model size (lowered if the budget needs it)")
    d.add_argument("--hours", type=positive, required=True, help="the time budget")
    d.add_argument("--sizes", type=count, default=5, help="model sizes")
    d.add_argument("--ratios", type=ratios, default=[0.5, 1.0, 2.0],
                   help="token counts per size as multiples of the compute-optimal one")
    _device_options(d)
    d.add_argument("--specs", metavar="PATH", help="write the ladder as RunSpecs (JSON) for `scaling-claims run`")
    d.add_argument("--n-layer", type=count, default=2, help="depth of the RunSpecs' decoders")
    d.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds per rung")
    d.add_argument("--run-device", default="cpu", help="device the RunSpecs train on")
    add_json_option(d, "the ladder")
    d.set_defaults(func=cmd_design)
