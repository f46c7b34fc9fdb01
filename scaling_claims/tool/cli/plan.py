"""``scaling-claims plan``, ``time`` and ``design``: from a law (published, or fitted by
``scaling-claims fit``) to an allocation, a training time and a ladder of runs.

Each answer is guarded: a plan outside the data the law was fitted on says by how many decades
(a warning); an answer that is no plan (below one parameter or one token, a target at or below
the irreducible loss, a budget that is not finite) is an error; where the law has bootstrap
samples every answer carries its 95% interval. Each command's ``--json`` payload holds its
inputs, its results with their intervals, and the warnings (docs/cli-json.md).
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from scaling_claims.tool.cli._common import (HelpFormatter, add_json_option, count, fraction, g, hours, positive, ratios,
                                             warn)

DEFAULT_DTYPE = "bf16"
DEFAULT_BENCHMARK_DIR = ".benchmarks"
WIDTHS = range(8, 1025, 4)  # the decoder widths a designed ladder may use (ladders.width_for_params' pool)


def _plan():  # the planning library (NumPy): imported when a command runs, so --help stays fast
    from scaling_claims.tool import plan

    return plan


def ci_text(v: float, ci: Sequence[float] | None) -> str:
    """``v [lo, hi]``; an infinite end (an unbounded answer) reads "unbounded"."""
    if ci is None or any(c is None or (isinstance(c, float) and math.isnan(c)) for c in ci):
        return g(v)
    lo, hi = ("unbounded" if math.isinf(c) else g(c) for c in ci)
    return f"{g(v)} [{lo}, {hi}]"


# ----------------------------------------------------------------------------- shared pieces
def _law(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """(the law, how it was named: {"fit": path} or {"preset": name})."""
    P = _plan()
    if args.fit:
        return P.Law.load(args.fit), {"fit": args.fit}
    return P.published(args.preset), {"preset": args.preset}


def _law_payload(law: Any) -> dict[str, Any]:
    """The law in a payload: its numbers, source, convention and fitted range; the samples as a count."""
    return law.to_dict() | {"samples": None, "bootstrap_samples": 0 if law.samples is None else len(law.samples)}


def _print_law(law: Any) -> None:
    print(f"law {law.name}: E={g(law.E)} A={g(law.A)} B={g(law.B)} alpha={g(law.alpha)} beta={g(law.beta)}"
          + (f" ({law.source})" if law.source else ""))
    if law.convention:
        print(f"convention: {law.convention}")
    if law.fitted_range:
        print("fitted on: " + ", ".join(f"{k} {g(lo)} to {g(hi)}" for k, (lo, hi) in law.fitted_range.items()))
    else:
        print("fitted on: not recorded (a law without its data's range): whether a plan extrapolates is unknown")
    if law.samples is not None and len(law.samples):
        used = min(len(law.samples), _plan().MAX_SAMPLES)
        print(f"intervals: 95% over {used} of the law's {len(law.samples)} bootstrap samples")


@dataclass
class Speed:
    """Where training time comes from: peak FLOP/s per device, utilisation, device count, price."""

    peak: float
    utilisation: Any  # plan.Utilisation
    devices: int
    price_per_hour: float | None
    device: str | None  # the catalog key, None for --peak-flops
    dtype: str | None
    line: str  # "N x <device and peak>; utilisation X% (<where from>)"

    def to_dict(self) -> dict[str, Any]:
        u = self.utilisation
        return {"device": self.device, "dtype": self.dtype, "peak_flops": self.peak, "devices": self.devices,
                "price_per_hour": self.price_per_hour,
                "utilisation": {"mfu": u.mfu, "kind": u.kind, "source": u.source, "roof_flops": u.roof_flops}}


def _speed(args: argparse.Namespace, needed: str | None = None) -> Speed | None:
    """The device options resolved (None when no device was named); warns of options that go
    unused. ``needed``: the command's reason for requiring a device (then none is an error)."""
    P = _plan()
    given = {"--mfu": args.mfu, "--price-per-hour": args.price_per_hour, "--devices": args.devices,
             "--dtype": args.dtype}
    if args.peak_flops is None and args.device is None:
        if needed:
            raise ValueError(f"{needed} needs a device (--device NAME or --peak-flops F)")
        unused = [flag for flag, v in given.items() if v is not None]
        if unused:
            warn(args, f"{', '.join(unused)} given without a device (--device NAME or --peak-flops F): unused")
        return None
    devices = 1 if args.devices is None else args.devices
    if args.peak_flops is not None:
        if args.dtype is not None:
            warn(args, f"--dtype {args.dtype} is unused with --peak-flops (the peak is given)")
        peak, dev, where = args.peak_flops, None, f"peak {args.peak_flops:.3g} FLOP/s (given)"
        dtype = None
    else:
        dev = P.device(args.device)
        dtype = args.dtype or DEFAULT_DTYPE
        peak = dev.peak_flops(dtype)
        where = f"{dev.name}, {dtype} peak {peak:.3g} FLOP/s ({dev.source})"
    util = P.utilisation(dev, args.mfu, args.benchmark_dir)
    source = {"given": "given", "measured": util.source,
              "default": f"{util.source}; give --mfu for your own"}[util.kind]
    line = f"{devices} x {where}; utilisation {util.mfu:.0%} ({source})"
    return Speed(peak, util, devices, args.price_per_hour, args.device, dtype, line)


def _time(flops: float, speed: Speed) -> Any:
    return _plan().training_time(flops, speed.peak, speed.utilisation.mfu, speed.devices, speed.price_per_hour)


def _time_line(t: Any) -> str:
    cost = f", cost {t.cost:,.2f} at {t.price_per_hour:g} per device-hour" if t.cost is not None else ""
    return f"  {hours(t.seconds)} wall{cost}"


NAMES = {"C": "the budget C", "N": "N", "D": "D", "loss": "the loss"}
UNITS = {"C": " FLOPs", "N": " parameters", "D": " tokens", "loss": ""}


def _excess_text(e: Any, law: Any, names: dict[str, str]) -> str:
    if e.quantity == "loss":
        text = f"{names.get('loss', 'the loss')} {g(e.value)} is below the lowest loss fitted ({g(e.range[0])})"
        if e.reducible_ratio is not None:
            text += (f": its reducible part (L - E = {g(e.value - law.E, 3)}) is {e.reducible_ratio:.2g} of the "
                     f"smallest fitted ({g(e.range[0] - law.E, 3)})")
        return text
    end = "largest" if e.side == "above" else "smallest"
    return (f"{names.get(e.quantity, e.quantity)} = {g(e.value)}{UNITS[e.quantity]} is {e.decades:.2g} decades "
            f"{e.side} the {end} fitted ({g(e.range[1] if e.side == 'above' else e.range[0])})")


def _range_warning(args: argparse.Namespace, law: Any, what: str, names: dict[str, str], **values: float) -> list:
    """A warning when ``values`` lie outside the law's fitted range; the excesses."""
    excess = _plan().beyond_range(law, **values)
    if excess:
        warn(args, f"{what} lies beyond the law's fitted range (an extrapolation): "
                   + "; ".join(_excess_text(e, law, names) for e in excess))
    return excess


# ----------------------------------------------------------------------------- plan
def cmd_plan(args: argparse.Namespace) -> tuple[int, dict[str, Any]]:
    P = _plan()
    law, law_input = _law(args)
    speed = _speed(args)  # a device problem is reported before anything is printed
    if args.budget is not None:
        alloc = P.allocate(law, args.budget)
        head = f"budget C = {args.budget:.3g} FLOPs"
    else:
        alloc = P.budget_for_loss(law, args.target_loss)
        head = f"target loss {args.target_loss:.4g}: smallest budget C = {ci_text(alloc.C, alloc.C_ci)} FLOPs"
    ia = None
    if args.inference_tokens is not None:
        ia = P.inference_aware(law, alloc.loss, args.inference_tokens, budget=args.budget)
    inputs = {"law": law_input, "budget": args.budget, "target_loss": args.target_loss,
              "inference_tokens": args.inference_tokens, "device": args.device, "peak_flops": args.peak_flops,
              "dtype": args.dtype, "mfu": args.mfu, "devices": args.devices, "price_per_hour": args.price_per_hour,
              "benchmark_dir": args.benchmark_dir}

    _print_law(law)
    print(head)
    print(f"  N_opt  {ci_text(alloc.N, alloc.N_ci)} parameters")
    print(f"  D_opt  {ci_text(alloc.D, alloc.D_ci)} tokens")
    print(f"  tokens per parameter {alloc.tokens_per_param:.3g}")
    if args.budget is not None:
        print(f"  predicted loss {ci_text(alloc.loss, alloc.loss_ci)}"
              + ("" if alloc.loss_ci else " (no interval: the law has no bootstrap samples)"))
    elif not alloc.samples:
        print("  (no intervals: the law has no bootstrap samples)")
    if alloc.unreachable:
        print(f"note: the target is at or below E under {alloc.unreachable:.1%} of the bootstrap samples"
              + (": the intervals' upper ends are unbounded" if alloc.unreachable > 0.025 else ""))
    names = {"C": "the budget C" if args.budget is not None else "the budget the target needs, C",
             "N": "N_opt", "D": "D_opt", "loss": "the target loss"}
    excess = _range_warning(args, law, "the plan", names, C=alloc.C, N=alloc.N, D=alloc.D, loss=args.target_loss)
    result: dict[str, Any] = {"inputs": inputs, "law": _law_payload(law), "allocation": alloc.to_dict(),
                              "range": {"fitted": law.fitted_range, "beyond": [e.to_dict() for e in excess]}}
    flops = alloc.C
    if ia is not None:
        print(f"inference-aware (Sardana et al. 2024), {args.inference_tokens:.3g} inference tokens at 2N FLOPs each:")
        print(f"  N {ci_text(ia.N, ia.N_ci)}, D {ci_text(ia.D, ia.D_ci)} ({ia.tokens_per_param:.3g} tokens/param)")
        print(f"  reaches the same loss for {ia.train_flops:.4g} training + {ia.inference_flops:.4g} inference "
              f"FLOPs = {ci_text(ia.total_flops, ia.total_flops_ci)}")
        print(f"  vs the Chinchilla-optimal run: {ia.chinchilla_total_flops:.4g} FLOPs in all; "
              f"{ia.saving:.1%} less compute" + (f" [{ia.saving_ci[0]:.1%}, {ia.saving_ci[1]:.1%}]"
                                                 if ia.saving_ci and None not in ia.saving_ci else ""))
        ia_excess = _range_warning(args, law, "the inference-aware run", {"N": "N", "D": "D"}, N=ia.N, D=ia.D)
        result["inference_aware"] = ia.to_dict() | {"beyond_range": [e.to_dict() for e in ia_excess]}
        flops = ia.train_flops
    if speed is not None:
        t = _time(flops, speed)
        print(f"training time on {speed.line}:")
        print(_time_line(t))
        result["training_time"] = t.to_dict() | speed.to_dict()
    return 0, result


# ----------------------------------------------------------------------------- time
def cmd_time(args: argparse.Namespace) -> tuple[int, dict[str, Any]]:
    speed = _speed(args, needed="time")
    flops = args.flops_per_token * args.params * args.tokens
    t = _time(flops, speed)
    print(f"{args.params:.3g} parameters x {args.tokens:.3g} tokens x {args.flops_per_token:g} = {flops:.3g} FLOPs")
    print(f"on {speed.line}:")
    print(_time_line(t))
    inputs = {"params": args.params, "tokens": args.tokens, "flops_per_token": args.flops_per_token,
              "device": args.device, "peak_flops": args.peak_flops, "dtype": args.dtype, "mfu": args.mfu,
              "devices": args.devices, "price_per_hour": args.price_per_hour, "benchmark_dir": args.benchmark_dir}
    return 0, {"inputs": inputs, "params": args.params, "tokens": args.tokens, "flops": flops,
               "training_time": t.to_dict() | speed.to_dict()}


# ----------------------------------------------------------------------------- design
def decoder_family(n_layer: int) -> tuple[dict[float, int], str]:
    """{non-embedding N: width} of this project's byte-level decoder at depth ``n_layer`` over
    ``WIDTHS``, and the family's description."""
    from scaling_claims.studies import ladders

    sizes = {float(ladders.non_embedding(ladders.gpt(w, n_layer))): w for w in WIDTHS}
    return sizes, (f"this project's byte-level decoder at depth {n_layer} (non-embedding N; widths "
                   f"{WIDTHS.start} to {WIDTHS[-1]} in steps of {WIDTHS.step})")


def _engine_flops(width: int, n_layer: int, tokens: float) -> float:
    """The engine's training FLOPs (what `run` records as C) of the RunSpec for ``tokens``: its
    FLOPs per token (6 N_matmul, the unembedding included, + attention) times the tokens rounded
    up to whole steps."""
    from scaling_claims.studies import ladders
    from scaling_claims.engine.flops import flops_per_token

    model = ladders.gpt(width, n_layer)
    per_step = ladders.BATCH * model.ctx
    steps = max(1, math.ceil(round(tokens) / per_step))
    return flops_per_token(model) * steps * per_step


def cmd_design(args: argparse.Namespace) -> tuple[int, dict[str, Any]]:
    P = _plan()
    law, law_input = _law(args)
    speed = _speed(args, needed="design")
    widths, family = decoder_family(args.n_layer)
    ladder = P.design_ladder(law, args.min_params, args.max_params, args.hours * 3600, speed.peak,
                             speed.utilisation.mfu * speed.devices, n_sizes=args.sizes, ratios=args.ratios,
                             realisable=list(widths), family=family,
                             flops_of=lambda n, d: _engine_flops(widths[n], args.n_layer, d))
    print(f"ladder for {args.hours:g} h on {speed.line}")
    print(f"sizes: {family}")
    for note in ladder.notes:
        print(f"note: {note}")
    print("FLOPs: the engine's count of each RunSpec (6 x its matmul parameters, the unembedding included, plus "
          "attention, per token, on its tokens rounded up to whole steps): what `run` records as C")
    print(f"{'planned N':>10s} {'width':>5s} {'N':>9s} {'D':>10s} {'tokens/N':>9s} {'x optimal':>9s} "
          f"{'FLOPs':>10s} {'time':>9s}")
    for r in ladder.rungs:
        print(f"{r.planned:10.3g} {widths[r.N]:5d} {r.N:9.0f} {r.D:10.3g} {r.tokens_per_param:9.3g} {r.ratio:9.3g} "
              f"{r.flops:10.3g} {hours(r.seconds):>9s}")
    print(f"{len(ladder.rungs)} runs, {len(ladder.sizes)} sizes, {hours(ladder.seconds)} in all "
          f"(budget {hours(ladder.budget_seconds)})")
    excess = P.beyond_range(law, N=ladder.sizes[0]) + P.beyond_range(law, N=ladder.sizes[-1])
    if excess:
        sides = {e.side for e in excess}
        warn(args, f"the ladder's sizes lie {' and '.join(sorted(sides))} the range of N the law was fitted on "
                   f"({g(excess[0].range[0])} to {g(excess[0].range[1])}; {law.convention or 'its own convention'}) "
                   f"by up to {max(e.decades for e in excess):.2g} decades: its compute-optimal token counts "
                   "are an extrapolation")
    ladder_dict = ladder.to_dict()
    for r in ladder_dict["rungs"]:
        r["width"] = widths[r["N"]]
    inputs = {"law": law_input, "min_params": args.min_params, "max_params": args.max_params, "hours": args.hours,
              "sizes": args.sizes, "ratios": args.ratios, "n_layer": args.n_layer, "seeds": args.seeds,
              "run_device": args.run_device, "specs": args.specs, "device": args.device,
              "peak_flops": args.peak_flops, "dtype": args.dtype, "mfu": args.mfu, "devices": args.devices,
              "benchmark_dir": args.benchmark_dir}
    result: dict[str, Any] = {"inputs": inputs, "law": _law_payload(law), "family": family,
                              "speed": speed.to_dict(), "ladder": ladder_dict,
                              "range": {"fitted": law.fitted_range, "beyond": [e.to_dict() for e in excess]}}
    if args.specs:
        specs = ladder_specs(ladder, args.n_layer, args.seeds, args.run_device)
        Path(args.specs).write_text(json.dumps([s.to_dict() for s in specs], indent=2))
        print(f"wrote {len(specs)} RunSpecs to {args.specs} ({len(ladder.sizes)} widths: "
              f"{', '.join(str(widths[n]) for n in ladder.sizes)}; on the stdlib corpus): train them with "
              f"`scaling-claims run {args.specs}`")
        result["specs"] = {"path": args.specs, "runs": len(specs), "widths": [widths[n] for n in ladder.sizes]}
    return 0, result


def ladder_specs(ladder: Any, n_layer: int = 2, seeds: Sequence[int] = (0,), device: str = "cpu") -> list:
    """The ladder as RunSpecs of this project's decoder family (``scaling_claims.studies.ladders``): the
    width whose non-embedding N is each rung's N (exactly, for a ladder designed on
    :func:`decoder_family`; otherwise the nearest), trained for the rung's D tokens. Distinct
    sizes of the ladder must stay distinct widths: ``ValueError`` otherwise."""
    from scaling_claims.studies import ladders
    from scaling_claims.engine.specs import Budget

    widths = {n: ladders.width_for_params(n, n_layer, list(WIDTHS)) for n in ladder.sizes}
    if len(set(widths.values())) < len(widths):
        raise ValueError(f"the ladder's sizes {', '.join(f'{n:.4g}' for n in ladder.sizes)} collapse to the widths "
                         f"{', '.join(map(str, widths.values()))} at depth {n_layer}: design it for this depth")
    out = []
    for r in ladder.rungs:
        model = ladders.gpt(widths[r.N], n_layer)
        out += [ladders.stdlib_run(model, Budget(tokens=max(1, int(round(r.D)))), s, device, "design") for s in seeds]
    return out


# ----------------------------------------------------------------------------- parsers
def _law_options(p: argparse.ArgumentParser) -> None:
    g_ = p.add_mutually_exclusive_group(required=True)
    g_.add_argument("--fit", metavar="FIT.json", help="a law written by `scaling-claims fit` (its fit.json)")
    g_.add_argument("--preset", choices=("epoch2024", "hoffmann2022"),
                    help="a published law: epoch2024 (Besiroglu et al.'s refit of Chinchilla) or hoffmann2022 "
                         "(Chinchilla's Approach 3 as published)")


def _device_options(p: argparse.ArgumentParser, required: bool) -> None:
    need = " (required)" if required else " (none: no training time)"
    dev = p.add_mutually_exclusive_group()
    dev.add_argument("--device", metavar="NAME",
                     help="an accelerator from the catalog: h100-sxm, h200, a100, v100, l4, t4, rtx4090, rtx3090, "
                          "m1, m1-max, m1-ultra, m2, m2-max, m2-ultra" + need)
    dev.add_argument("--peak-flops", type=positive, metavar="F",
                     help="peak FLOP/s of one device, for a device not in the catalog (instead of --device)")
    p.add_argument("--dtype", help=f"precision whose catalogued peak to use (default: {DEFAULT_DTYPE})")
    p.add_argument("--mfu", type=fraction,
                   help="model-FLOPs utilisation in (0, 1] (default: with --device, the catalog's stated default: "
                        "40%% for NVIDIA GPUs, 30%% for Apple GPUs; with --peak-flops, this machine's measured one "
                        "from the saved throughput benchmark under --benchmark-dir)")
    p.add_argument("--benchmark-dir", default=DEFAULT_BENCHMARK_DIR,
                   help="where pytest-benchmark saved this machine's throughput benchmark (read for --peak-flops "
                        "without --mfu)")
    p.add_argument("--devices", type=count, help="number of devices training together (default: 1)")
    p.add_argument("--price-per-hour", type=positive, metavar="PRICE",
                   help="price per device-hour, for the cost (default: no cost)")


def add_parsers(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("plan", parents=parents, formatter_class=HelpFormatter,
                       help="budget -> N, D, loss; or target loss -> budget; time and cost",
                       description="From a law to a compute-optimal allocation, with intervals from the law's "
                                   "bootstrap samples and a warning where it extrapolates (docs/planning.md).")
    _law_options(p)
    g_ = p.add_mutually_exclusive_group(required=True)
    g_.add_argument("--budget", type=positive, metavar="C", help="training FLOPs")
    g_.add_argument("--target-loss", type=positive, metavar="L", help="the loss to reach")
    p.add_argument("--inference-tokens", type=positive, metavar="T",
                   help="expected inference tokens: the allocation minimising training + inference compute "
                        "(default: none)")
    _device_options(p, required=False)
    add_json_option(p, "the plan")
    p.set_defaults(func=cmd_plan)

    t = sub.add_parser("time", parents=parents, formatter_class=HelpFormatter,
                       help="training time and cost of N parameters on D tokens",
                       description="Training time and cost of N parameters trained on D tokens on a device.")
    t.add_argument("--params", type=positive, required=True, metavar="N", help="parameters")
    t.add_argument("--tokens", type=positive, required=True, metavar="D", help="training tokens")
    t.add_argument("--flops-per-token", type=positive, default=6.0, metavar="K",
                   help="FLOPs per parameter per token (k in C = kND)")
    _device_options(t, required=True)
    add_json_option(t, "the time and cost")
    t.set_defaults(func=cmd_time)

    d = sub.add_parser("design", parents=parents, formatter_class=HelpFormatter,
                       help="a ladder of (N, D) runs that fits a time budget",
                       description="A ladder of (N, D) runs around the compute-optimal ratio that fits a time "
                                   "budget, on distinct widths of this project's byte-level decoder (N counts its "
                                   "non-embedding parameters), ready for `scaling-claims run`.")
    _law_options(d)
    d.add_argument("--min-params", type=positive, required=True, metavar="N",
                   help="smallest model size (non-embedding parameters; snapped to the nearest width)")
    d.add_argument("--max-params", type=positive, required=True, metavar="N",
                   help="largest model size (snapped to the nearest width; lowered if the time budget needs it)")
    d.add_argument("--hours", type=positive, required=True, help="the time budget, in hours")
    d.add_argument("--sizes", type=count, default=5, help="model sizes (at least 3, each a distinct width)")
    d.add_argument("--ratios", type=ratios, default=[0.5, 1.0, 2.0], metavar="R,R,...",
                   help="token counts per size as multiples of the compute-optimal one")
    _device_options(d, required=True)
    d.add_argument("--specs", metavar="PATH",
                   help="write the ladder as RunSpecs (JSON) for `scaling-claims run` (default: not written)")
    d.add_argument("--n-layer", type=count, default=2, help="depth of the decoders")
    d.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds per rung")
    d.add_argument("--run-device", default="cpu", help="device the RunSpecs train on")
    add_json_option(d, "the ladder")
    d.set_defaults(func=cmd_design)
