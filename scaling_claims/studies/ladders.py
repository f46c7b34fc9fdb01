"""Model-size ladders and IsoFLOP grids for the trained headline claims (Kaplan, Chinchilla).

Why a module: the Kaplan and Chinchilla claim tests share runs through *identical* specs (the
run cache dedupes by spec key), so every spec they train is built here, by one set of rules:

- one decoder family: nanoGPT-style, byte-level (vocab 256), learned positions, context
  ``CTX`` = 64, tied embeddings, MLP ratio 4; ``n_layer`` = 2 unless a shape study says
  otherwise; head dimension ``HEAD_DIM`` = 16 where the width allows it (see :func:`n_heads`);
- one optimiser recipe (:func:`stdlib_run`): AdamW, batch ``BATCH`` = 16 windows of 64 bytes
  (1,024 tokens per step), warmup ``WARMUP_FRAC`` of the steps then cosine to 10%, and a
  peak learning rate that shrinks with width (:func:`lr_for_width`, 1/width as in muP-style
  practice; the miniature ladder was probed at fixed LR and the smallest widths trained
  markedly worse at the larger models' LR, and vice versa);
- one evaluation: the held-out loss on ``EVAL_BATCHES`` fixed validation batches (16k bytes,
  the same windows for every run) at the end of training only (the curve is not needed and
  periodic evaluation would cost ~10% of a short run).

Sizes are in non-embedding parameters (Kaplan's N) unless a name says otherwise; compute is
the engine's ``flops_per_token * tokens`` (6 N_matmul + attention, see ``scaling_claims.engine.flops``).

``budget_scale`` (pytest ``--budget``) multiplies token and FLOP budgets; the quick sets are
sized for a 2-core CPU (see docs/claims-kaplan-chinchilla.md for the measured costs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

from scaling_claims.engine.flops import flops_per_token, param_counts
from scaling_claims.engine.specs import Budget, DataSpec, EvalSpec, ModelSpec, OptimSpec, RunSpec

CTX = 64
BATCH = 16
HEAD_DIM = 16
EVAL_BATCHES = 16
WARMUP_FRAC = 0.05
BASE_LR = 3e-3  # the peak LR at width 64 (nanoGPT-small-like value, probed on this corpus)
BASE_WIDTH = 64
MAX_LR = 1e-2
# Run only one held-out evaluation, at the end: eval_every larger than any run's step count.
EVAL_AT_END = 10**9

# Width rungs of the ladders: about x1.4 apart in width (x2 in non-embedding N at depth 2).
# Below 8 the per-step overhead makes runs expensive per FLOP and a decoder barely learns bytes.
WIDTH_RUNGS = (8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)
SEEDS = (0, 1, 2)
# The two papers' allocation rules the showdown compares: Kaplan et al. 2020, N_opt ~ C**0.73
# (their section 6.1), and Hoffmann et al. 2022, N_opt ~ C**0.5 (parameters and tokens scaled
# equally; their three approaches give 0.50 / 0.49 / 0.46).
KAPLAN_ALLOCATION_EXPONENT = 0.73
CHINCHILLA_ALLOCATION_EXPONENT = 0.5
# IsoFLOP rungs, finer than the ladders' (~1.2x apart in width, ~1.4-1.6x in non-embedding N):
# 5-7 consecutive ones span 4-9x in N around a centre. Czech et al. 2026 ("Problems with
# Chinchilla Approach 2") show a parabola's vertex is biased when the grid is wide or off-centre.
ISOFLOP_RUNGS = (8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256)
# Where slow IsoFLOP grids are centred: the quick set's measured Approach 2 optimum (seed
# medians of 3 seeds, non-embedding N 3,234 at 3e10 engine FLOPs, measured 2026-11) carried to
# other budgets by Chinchilla's N ~ C^0.5. It only places grids: a wrong centre shows as a
# minimum at a grid's edge or a vertex outside it (the interior-minimum claim then fails and the
# vertex is reported off-centre), never as a pass.
QUICK_OPTIMUM = (3e10, 3234.0)


@dataclass(frozen=True)
class KaplanPlan:
    """What the Kaplan claims train (see :func:`kaplan_plan`)."""

    widths: tuple[int, ...]  # the L(N) ladder, depth 2
    tokens: int  # tokens per L(N) run (the same D for every size)
    d_width: int  # the L(D) model (a rung of ``widths``)
    d_fractions: tuple[float, ...]  # L(D) budgets as fractions of ``tokens`` (1 = shared with L(N))
    shapes: tuple[tuple[int, int], ...]  # (n_layer, d_model) at about equal non-embedding N
    seeds: tuple[int, ...]


@dataclass(frozen=True)
class ChinchillaPlan:
    """What the Chinchilla claims train (see :func:`chinchilla_plan`)."""

    grids: tuple[tuple[float, tuple[int, ...]], ...]  # (FLOP budget, widths at depth 2)
    showdown_factor: float | None  # held-out budget = factor * the largest fitted budget; None: no showdown
    seeds: tuple[int, ...]

    @property
    def budgets(self) -> tuple[float, ...]:
        return tuple(c for c, _ in self.grids)


def kaplan_plan(level: str = "quick") -> KaplanPlan:
    """The Kaplan sweeps at ``level`` "quick" or "slow".

    quick (probed on the 2-core CPU, cost in docs): widths 8..48 (non-embedding N 1.8e3 to
    5.7e4, 1.5 decades), 800k tokens each (at 400k the rungs were within seed noise of each
    other: every size is data-limited), 3 seeds; L(D) on width 32 at 50k..800k tokens;
    shapes (1, 36), (2, 24), (4, 16) (aspect ratio d/L from 36 to 4, N 1.3e4-1.6e4).
    slow: widths 8..128 (2.2 decades), 3.2M tokens, 5 seeds, L(D) at 50k..3.2M, 5 shapes.
    """
    if level == "quick":
        return KaplanPlan(widths=(8, 12, 16, 24, 32, 48), tokens=800_000, d_width=32,
                          d_fractions=(1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0), shapes=((1, 36), (2, 24), (4, 16)),
                          seeds=SEEDS)
    if level == "slow":
        return KaplanPlan(widths=(8, 12, 16, 24, 32, 48, 64, 96, 128), tokens=3_200_000, d_width=64,
                          d_fractions=tuple(2.0 ** -k for k in range(6, -1, -1)),
                          shapes=((1, 68), (2, 48), (4, 34), (8, 24), (12, 20)), seeds=(0, 1, 2, 3, 4))
    raise ValueError(f"level must be 'quick' or 'slow', got {level!r}")


def chinchilla_plan(level: str = "quick") -> ChinchillaPlan:
    """The Chinchilla IsoFLOP sweeps at ``level`` "quick" or "slow".

    quick: two budgets, 3e10 and 1e11 FLOPs, five widths each, 3 seeds, no showdown (at 3e11 the
    two papers' rules are 1.7x apart in N, a loss gap far below the seed noise; see
    claims/test_chinchilla.py, SHOWDOWN_QUICK). The
    grids were chosen from a one-seed probe whose optima were width 12 at 3e10 and width 16 at
    1e11; each grid has one rung below that and two or three above (loss rose faster on the
    large-model side, where runs get few optimiser steps). Below 3e10 the optimum falls under
    width 8, the smallest sensible decoder, so no budget below it can show an interior minimum.
    Two budgets give the exponent a without a regression CI; its CI comes from a bootstrap over
    seeds instead (see claims/test_chinchilla.py).
    slow: five budgets 3e10..3e12 (100x, so that Approach 2's a can be pinned to about +-0.1),
    each grid centred on its expected optimum (:func:`expected_optimum`) with seven of the fine
    ``ISOFLOP_RUNGS`` (five at 3e10, where the ladder's floor, width 8, leaves only two rungs
    below the optimum), 3 seeds; the showdown at 3e13 (x10, 1000x from the 3e10 anchor), where
    the two papers' rules end 1000^0.23 = 4.9x apart in N. (Until 2026-12 the slow grids were
    seven of the coarse ladder rungs clamped at width 8, so the 3e10 grid's minimum sat on its
    second point and its vertex fell below the smallest model: the off-centre grid Czech et al.
    warn about.)
    """
    if level == "quick":
        return ChinchillaPlan(grids=((3e10, (8, 12, 16, 24, 32)), (1e11, (12, 16, 24, 32, 48))),
                              showdown_factor=None, seeds=SEEDS)
    if level == "slow":
        budgets = (3e10, 1e11, 3e11, 1e12, 3e12)
        return ChinchillaPlan(grids=tuple(centred_grid(c) for c in budgets), showdown_factor=10.0, seeds=SEEDS)
    raise ValueError(f"level must be 'quick' or 'slow', got {level!r}")


def n_heads(d_model: int) -> int:
    """Heads for a width: ``d_model // HEAD_DIM`` (at least 1), reduced until it divides the width."""
    if d_model < 1:
        raise ValueError(f"d_model must be >= 1, got {d_model!r}")
    h = max(1, d_model // HEAD_DIM)
    while d_model % h:
        h -= 1
    return h


def gpt(d_model: int, n_layer: int = 2, ctx: int = CTX) -> ModelSpec:
    """The ladder's decoder at width ``d_model`` and depth ``n_layer``."""
    if d_model < 1 or n_layer < 1:
        raise ValueError(f"d_model and n_layer must be >= 1, got {d_model!r}, {n_layer!r}")
    return ModelSpec(arch="gpt", n_layer=n_layer, d_model=d_model, n_head=n_heads(d_model), ctx=ctx,
                     vocab_size=256, pos="learned", mlp_ratio=4, tie_embeddings=True)


def lr_for_width(d_model: int) -> float:
    """Peak LR ``BASE_LR * BASE_WIDTH / d_model``, capped at ``MAX_LR`` (1/width, muP-style)."""
    if d_model < 1:
        raise ValueError(f"d_model must be >= 1, got {d_model!r}")
    return min(MAX_LR, BASE_LR * BASE_WIDTH / d_model)


def non_embedding(model: ModelSpec) -> int:
    return param_counts(model)["non_embedding"]


def stdlib_run(model: ModelSpec, budget: Budget, seed: int = 0, device: str = "cpu", tag: str = "") -> RunSpec:
    """A run of ``model`` on the stdlib byte corpus under the shared recipe (module docstring).

    ``seed`` seeds both the initialisation and the data order (``DataSpec.seed``): a "seed" of
    a claim is a whole independent training run. The warmup is ``WARMUP_FRAC`` of the steps the
    budget gives (at least 1).
    """
    if not isinstance(model, ModelSpec) or model.arch != "gpt":
        raise ValueError("stdlib_run needs a gpt ModelSpec")
    steps = budget.whole_steps(BATCH * model.ctx, flops_per_token(model))
    optim = OptimSpec(lr=lr_for_width(model.d_model), weight_decay=0.1, beta1=0.9, beta2=0.95,
                      warmup_steps=max(1, round(WARMUP_FRAC * steps)), schedule="cosine", min_lr_frac=0.1,
                      batch_size=BATCH, grad_clip=1.0)
    return RunSpec(model=model, data=DataSpec.make("stdlib", seed=seed), optim=optim, budget=budget, seed=seed,
                   device=device, eval_every=EVAL_AT_END, eval_batches=EVAL_BATCHES, tag=tag)


def _scaled(n: float, scale: float) -> float:
    if not (isinstance(scale, (int, float)) and scale > 0 and math.isfinite(scale)):
        raise ValueError(f"budget scale must be a positive number, got {scale!r}")
    return n * scale


def kaplan_n_specs(plan: KaplanPlan, scale: float = 1.0, device: str = "cpu") -> list[RunSpec]:
    """Kaplan L(N): every width at depth 2 for ``plan.tokens * scale`` tokens, each seed."""
    D = int(round(_scaled(plan.tokens, scale)))
    return [stdlib_run(gpt(d), Budget(tokens=D), s, device, "kaplan") for d in plan.widths for s in plan.seeds]


def kaplan_d_specs(plan: KaplanPlan, scale: float = 1.0, device: str = "cpu") -> list[RunSpec]:
    """Kaplan L(D): width ``plan.d_width`` at ``fraction * plan.tokens * scale`` tokens, each
    seed. The fraction-1 runs are the L(N) ladder's runs at that width (the same specs)."""
    D = _scaled(plan.tokens, scale)
    return [stdlib_run(gpt(plan.d_width), Budget(tokens=int(round(D * f))), s, device, "kaplan")
            for f in plan.d_fractions for s in plan.seeds]


@dataclass(frozen=True)
class KaplanGrid:
    """Kaplan's joint law L(N, D) on an N x D grid (see :func:`kaplan_grid`): depth-2 decoders at
    ``fit_widths`` and ``held_out_width``, each trained at every token count of ``tokens``, each
    seed. The law is fitted on the ``fit_widths`` rows and predicts the held-out width's row."""

    fit_widths: tuple[int, ...]
    held_out_width: int
    tokens: tuple[int, ...]
    seeds: tuple[int, ...]

    @property
    def widths(self) -> tuple[int, ...]:
        return (*self.fit_widths, self.held_out_width)


KAPLAN_GRID_PILOT_SEEDS = (100,)  # sized the design; they decide nothing
KAPLAN_GRID_SEEDS = (5, 6, 7, 8)  # fresh: the L(N)/L(D) ladders use 0-4


def kaplan_grid(seeds: Sequence[int] = KAPLAN_GRID_SEEDS) -> KaplanGrid:
    """The slow L(N, D) grid: widths 16, 24, 32, 48 and 64 (non-embedding N 6.1e3-9.8e4) fitted,
    width 128 (3.9e5: 4x past the largest fitted N) held out, each at 0.4M, 0.8M, 1.6M and
    3.2M tokens (8x in D), on ``seeds``."""
    return KaplanGrid(fit_widths=(16, 24, 32, 48, 64), held_out_width=128,
                      tokens=(400_000, 800_000, 1_600_000, 3_200_000), seeds=tuple(int(s) for s in seeds))


def kaplan_grid_specs(grid: KaplanGrid, scale: float = 1.0, device: str = "cpu") -> list[RunSpec]:
    """Every (width, tokens, seed) of ``grid``, tokens times ``scale``."""
    return [stdlib_run(gpt(d), Budget(tokens=int(round(_scaled(t, scale)))), s, device, "kaplan")
            for d in grid.widths for t in grid.tokens for s in grid.seeds]


def shape_specs(plan: KaplanPlan, scale: float = 1.0, device: str = "cpu") -> list[RunSpec]:
    """Kaplan's shape study: each (n_layer, d_model) of ``plan.shapes`` for the L(N) token
    budget, each seed (a depth-2 pair that is an L(N) rung is the same spec as that rung)."""
    D = int(round(_scaled(plan.tokens, scale)))
    return [stdlib_run(gpt(d, n_layer=L), Budget(tokens=D), s, device, "kaplan")
            for L, d in plan.shapes for s in plan.seeds]


def width_for_params(target_n: float, n_layer: int = 2, widths: Sequence[int] | None = None) -> int:
    """The width (any multiple of 4 from 8, or one of ``widths``) whose depth-``n_layer``
    decoder's non-embedding N is nearest ``target_n`` in log space."""
    if not (isinstance(target_n, (int, float)) and target_n > 0 and math.isfinite(target_n)):
        raise ValueError(f"target_n must be a positive number, got {target_n!r}")
    pool = list(widths) if widths is not None else list(range(8, 1025, 4))
    return min(pool, key=lambda d: abs(math.log(non_embedding(gpt(d, n_layer)) / target_n)))


def tokens_for_flops(model: ModelSpec, flops: float) -> float:
    """Tokens a ``flops`` budget buys for ``model`` (engine FLOPs per token)."""
    return flops / flops_per_token(model)


def expected_optimum(C: float) -> float:
    """Where a budget's compute-optimal non-embedding N is expected: ``QUICK_OPTIMUM`` carried
    to ``C`` by N ~ C^``CHINCHILLA_ALLOCATION_EXPONENT``."""
    if not (isinstance(C, (int, float)) and C > 0 and math.isfinite(C)):
        raise ValueError(f"C must be a positive number, got {C!r}")
    c0, n0 = QUICK_OPTIMUM
    return n0 * (C / c0) ** CHINCHILLA_ALLOCATION_EXPONENT


def isoflop_widths(C: float, n_sizes: int = 7, rungs: Sequence[int] = ISOFLOP_RUNGS,
                   target: float | None = None) -> list[int]:
    """``n_sizes`` (odd) consecutive ``rungs`` for budget ``C``, centred on the rung whose
    non-embedding N is nearest ``target`` (default :func:`expected_optimum`) in log space.
    ``ValueError`` when the rungs cannot put ``n_sizes // 2`` on each side of that centre: a
    grid shifted off its centre is what biases Approach 2, so it is never built silently."""
    if not (isinstance(C, (int, float)) and C > 0 and math.isfinite(C)):
        raise ValueError(f"C must be a positive number, got {C!r}")
    if not (isinstance(n_sizes, int) and n_sizes >= 3 and n_sizes % 2 == 1 and n_sizes <= len(rungs)):
        raise ValueError(f"n_sizes must be an odd integer in [3, {len(rungs)}] (an interior minimum needs 3), "
                         f"got {n_sizes!r}")
    target = expected_optimum(C) if target is None else float(target)
    if not (target > 0 and math.isfinite(target)):
        raise ValueError(f"target must be a positive number, got {target!r}")
    centre = min(range(len(rungs)), key=lambda i: abs(math.log(non_embedding(gpt(rungs[i])) / target)))
    half = n_sizes // 2
    if centre - half < 0 or centre + half >= len(rungs):
        raise ValueError(f"C={C:.3g}: the expected optimum (N ~ {target:.0f}, width {rungs[centre]}) has "
                         f"{centre} rungs below and {len(rungs) - 1 - centre} above: too few for a centred grid of "
                         f"{n_sizes}")
    return list(rungs[centre - half:centre + half + 1])


def centred_grid(C: float, sizes: Sequence[int] = (7, 5)) -> tuple[float, tuple[int, ...]]:
    """(C, widths): the first grid size of ``sizes`` that :func:`isoflop_widths` can centre."""
    for n in sizes:
        try:
            return C, tuple(isoflop_widths(C, n))
        except ValueError:
            continue
    raise ValueError(f"C={C:.3g}: no centred IsoFLOP grid of {tuple(sizes)} rungs")


def isoflop_specs(plan: ChinchillaPlan, scale: float = 1.0, device: str = "cpu") -> list[RunSpec]:
    """The IsoFLOP grid: every (budget * scale, width) of ``plan.grids``, each seed, with
    ``Budget(flops=...)`` (the engine rounds up to whole steps, so a run's FLOPs exceed its
    nominal budget by less than one step)."""
    return [stdlib_run(gpt(d), Budget(flops=_scaled(C, scale)), s, device, "isoflop")
            for C, widths in plan.grids for d in widths for s in plan.seeds]


def kaplan_allocation(C: float, anchor_C: float, anchor_N: float,
                      exponent: float = KAPLAN_ALLOCATION_EXPONENT) -> float:
    """An allocation rule N_opt ~ C**exponent through an anchor: ``anchor_N * (C / anchor_C)**exponent``
    (Kaplan's 0.73 by default; ``CHINCHILLA_ALLOCATION_EXPONENT`` for Chinchilla's).

    The showdown anchors both papers' rules at our measured optimum of the smallest budget, so
    they differ only in how N grows with C. (Kaplan's absolute constant, 1.3e9 parameters at one
    PF-day, extrapolated nine decades down to 1e10 FLOPs, would test that constant instead.)
    """
    for name, v in (("C", C), ("anchor_C", anchor_C), ("anchor_N", anchor_N), ("exponent", exponent)):
        if not (isinstance(v, (int, float)) and v > 0 and math.isfinite(v)):
            raise ValueError(f"{name} must be a positive number, got {v!r}")
    return float(anchor_N * (C / anchor_C) ** exponent)


def showdown_specs(C: float, widths: Sequence[int], seeds: Iterable[int] = SEEDS,
                   device: str = "cpu") -> list[RunSpec]:
    """Every width of ``widths`` at the same budget ``C`` (FLOPs), each seed."""
    seeds = tuple(seeds)
    return [stdlib_run(gpt(d), Budget(flops=C), s, device, "showdown") for d in widths for s in seeds]
