"""Positional encodings and length extrapolation (docs/sources.md, 'Positional encodings').

The plan says RoPE "extrapolates naturally" (< 10% loss increase at 4x the training length).
The literature disagrees: Press et al. 2022 (ALiBi) find sinusoidal degrades within ~20 extra
tokens, rotary within ~100-200, while ALiBi keeps its perplexity to many times L; Chen et al.
2023 find RoPE extrapolation blows up and position interpolation (positions x L_train/L_test)
is what works.

Miniature: byte-level language models on the Python standard library's source, 2 layers,
width 64, trained at L = 64 for 800 steps, one per encoding and training seed; each evaluated
at 64, 128, 256 and 512 on ~16k held-out predicted bytes per length. Seeds: 3 (1-3) for each
encoding a claim compares (sinusoidal, RoPE, ALiBi). The expectations below were first set on
one run per encoding (seed 0); seeds 1-3 are fresh, declared before they were trained, and
decide every verdict. A cheaper design, 16 sequences a step instead of 32 (~110 s of the quick
set's CPU), was declared and tried in 2026-12: a pilot on seeds 4-6 agreed with every expectation,
but on seeds 1-3 the sinusoidal ratio came out 7.49 [0.71, 79.3] (per seed 2.9, 7.6, 19.3),
inconclusive, so the batch stayed at 32 (docs/claims_trained.md has both sets of numbers).
Learned absolute positions train one short run (seed 1, ``LEARNED_STEPS``):
they serve only the sanity check that they refuse inputs past L, which neither the seed nor the
training length can change (the model has no position vectors past ctx), so the run is kept out
of the plot, whose other curves are 800-step models (until 2026-12 it trained 800 steps, ~30 s
of the quick set's CPU; its loss at L was then 1.816 nats on seed 1, against means over seeds
1-3 of 1.636 for RoPE, 1.810 for ALiBi and 2.374 for sinusoidal; docs/claims_trained.md).
NoPE (``"none"``) is not trained here: no claim below reads it (it was trained until 2026-12,
3 seeds, for the plot alone, ~80 s of the quick set's CPU; its numbers are in
docs/claims_trained.md), and the copy/reverse test under ``slow`` trains it. Each quantity is
computed per seed (the same seed gives every encoding the same data order, so differences
between encodings are paired) and gets a Student-t interval over the seeds. RoPE with position
interpolation is the RoPE model evaluated with rope_scale = L/T (zero-shot: Chen et al. also
fine-tune ~1000 steps; we do not, to stay within the quick budget). One sweep serves every test
below (the run cache trains it once).

Ratios are of perplexities, exp(loss(T) - loss(L)). Thresholds are from docs/sources.md (1.1 for ALiBi
at 4L, 1.5 for sinusoidal); they are the papers' qualitative gaps, not fitted to our runs.
That learned absolute positions refuse inputs past L is our own guard: a sanity check.
Copy/reverse length generalisation (Kazemnejad et al. 2023; high seed variance per Zhou et al.
2024) runs under ``slow``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from scaling_claims.verdicts import checks, expect, plots
from scaling_claims.verdicts.estimates import Estimate, paired_difference
from scaling_claims.engine.specs import Budget, DataSpec, EvalSpec, ModelSpec, OptimSpec, RunSpec

PRESS = "Press et al. 2022 (ALiBi); Chen et al. 2023 (position interpolation)"
PRESS_QUOTE = ("Press et al. 2022 (Train Short, Test Long), WikiText-103: sinusoidal improves only up to ~20 extra "
               "tokens, rotary up to ~100-200 extra tokens and then degrades, ALiBi keeps improving to ~3L")
L_TRAIN = 64
LENGTHS = (64, 128, 256, 512)
ENCODINGS = ("learned", "sinusoidal", "rope", "alibi", "none")  # the copy/reverse test trains all five
STEPS = 800
SEEDS = (1, 2, 3)
# the language-model sweep: the encodings the claims compare, on every seed, and learned
# positions on one seed for the sanity check (see the module docstring)
LM_SEEDS = {"sinusoidal": SEEDS, "rope": SEEDS, "alibi": SEEDS}
# learned positions: one run for the sanity check alone; past the recipe's 50-step warmup, so its
# loss at L is checked below the uniform ln 256 (it learned, and the guard is on a trained model)
LEARNED_SEED, LEARNED_STEPS = 1, 100
EV = "lengths.loss_vs_length"


def lm_spec(pos: str, device: str, seed: int = 0, steps: int = STEPS) -> RunSpec:
    evals = (EvalSpec.make(EV, lengths=LENGTHS, n_targets=16384, interpolate=(pos == "rope")),)
    return RunSpec(
        model=ModelSpec(n_layer=2, d_model=64, n_head=4, ctx=L_TRAIN, vocab_size=256, pos=pos),
        data=DataSpec.make("stdlib", seed=seed),
        optim=OptimSpec(lr=3e-3, warmup_steps=50, batch_size=32),
        budget=Budget(steps=steps), seed=seed, device=device, eval_every=steps, eval_batches=2,
        evals=evals, tag="positional",
    )


@pytest.fixture
def curves(sweep, device):
    """{encoding: loss at LENGTHS, one row per seed} plus "rope+PI", from one cached sweep."""
    results = sweep.results([lm_spec(p, device, s) for p, seeds in LM_SEEDS.items() for s in seeds]
                            + [lm_spec("learned", device, LEARNED_SEED, LEARNED_STEPS)], desc="positional encodings")
    out = {"_results": [r for r in results if r.spec["model"]["pos"] != "learned"],  # the compared encodings
           "_learned_results": [r for r in results if r.spec["model"]["pos"] == "learned"]}  # the sanity check's
    for r in results:
        if not r.ok:
            raise RuntimeError(f"{r.spec['model']['pos']} seed {r.spec['seed']}: run failed: {r.failure}")
    for pos in (*LM_SEEDS, "learned"):
        runs = [r for r in results if r.spec["model"]["pos"] == pos]
        out[pos] = np.array([r.metrics[f"{EV}/loss"] for r in runs], dtype=float)
        if pos == "rope":
            out["rope+PI"] = np.array([r.metrics[f"{EV}/loss_pi"] for r in runs], dtype=float)
        if pos == "learned":
            out["learned_ran"] = [list(r.metrics[f"{EV}/ran"]) for r in runs]
    return out


COMMON = dict(paper=PRESS, param_convention="n/a (same architecture for every encoding)", seeds=list(SEEDS),
              budget=f"{STEPS} steps x 32 x {L_TRAIN} bytes, {len(SEEDS)} seeds per compared encoding")


def _record(rec, curves):
    rec.runs(curves["_results"])
    names = [k for k in curves if not k.startswith("_") and not k.startswith("learned")]  # learned: sanity only
    mean = {k: np.array([np.mean(c) if np.isfinite(c).all() else np.nan for c in curves[k].T]) for k in names}
    rec.points({"eval_length": np.array(LENGTHS), **{f"loss_{k}": mean[k] for k in names}})
    rec.plot(plots.grouped_plot, {k: (np.array(LENGTHS), mean[k]) for k in names},
             xlabel="evaluation length T (bytes)", ylabel=f"held-out loss (nats/byte), mean of {len(SEEDS)} seeds",
             logx=True, title=f"Loss vs evaluation length, trained at L = {L_TRAIN}", hline=None)
    rec.note("loss by length (mean over seeds): " + "; ".join(f"{k} " + ", ".join(f"{v:.3f}" for v in mean[k])
                                                              for k in names))


def at(T: int) -> int:
    return LENGTHS.index(T)


def ppl_ratio(loss: np.ndarray, T: int) -> Estimate:
    """ppl(T) / ppl(L) = exp(loss(T) - loss(L)): the t interval over seeds of the loss difference,
    exponentiated (ratios multiply, so their natural scale is the log: a geometric mean)."""
    d = Estimate.mean_t(loss[:, at(T)] - loss[:, 0], what="seeds")
    return d.transform(math.exp, what="exponentiated (geometric mean of the ratios)")


def gap(a: str, b: str, curves, T: int) -> Estimate:
    """loss(b) - loss(a) at T, paired by seed."""
    return paired_difference(curves[b][:, at(T)], curves[a][:, at(T)])


@pytest.mark.quick
@pytest.mark.sanity("pos-learned-past-ctx", quantity="lengths the learned model ran",
                    claim="learned absolute positions cannot run past the trained length (clear error)",
                    paper_value="defined behaviour past L", tolerance="exact",
                    justification="our own guard: the model has no embedding past ctx, so the evaluator reports "
                                  f"NaN and ran = 0; one {LEARNED_STEPS}-step run (seed {LEARNED_SEED}): the guard "
                                  "depends on neither",
                    **{**COMMON, "seeds": [LEARNED_SEED],
                       "budget": f"{LEARNED_STEPS} steps x 32 x {L_TRAIN} bytes, one run"})
def test_learned_positions_refuse_longer_inputs(claim, curves):
    claim.runs(curves["_learned_results"])
    ran = np.array(curves["learned_ran"], dtype=float)  # (seeds, lengths)
    claim.points({"eval_length": np.array(LENGTHS), "ran": ran.min(axis=0), "loss_learned": curves["learned"][0]})
    claim.measured(f"ran at {[T for T, r in zip(LENGTHS, ran.min(axis=0)) if r]}")
    claim.note(f"learned positions, {LEARNED_STEPS} steps: loss at L {np.max(curves['learned'][:, 0]):.3f} nats/byte "
               f"(uniform: ln 256 = {math.log(256):.3f})")
    exact = "counts over every seed's run"
    claim.check_all(
        checks.at_least("runs at L (every seed)", Estimate.exact(ran[:, 0].min(), exact), 1),
        checks.at_most("refuses every T > L (runs past L, all seeds)", Estimate.exact(ran[:, 1:].sum(), exact), 0),
        checks.at_least("finite loss at L (every seed)",
                        Estimate.exact(float(np.isfinite(curves["learned"][:, 0]).all()), exact), 1),
        checks.at_most("loss at L below uniform bytes (ln 256: the guarded model has trained)",
                       Estimate.exact(float(np.max(curves["learned"][:, 0])), exact), math.log(256)),
    )


@pytest.mark.quick
@pytest.mark.claim("pos-alibi-4L", headline="positional", role="law", quantity="ppl(4L) / ppl(L), ALiBi",
                   claim="ALiBi: train short, test long: perplexity at 4L within ~1.1x of L",
                   paper_value="<= 1.1", tolerance="ratio <= 1.1 (docs/sources.md)",
                   justification="Press et al. see ALiBi improve or hold to 3L+; 10% allows our small model", **COMMON)
def test_alibi_keeps_its_perplexity_at_4L(claim, curves):
    _record(claim, curves)
    r = ppl_ratio(curves["alibi"], 4 * L_TRAIN)
    claim.measured(r)
    claim.check(checks.at_most("ALiBi ppl(4L)/ppl(L)", r, 1.1))


@pytest.mark.quick
@pytest.mark.claim("pos-sinusoidal-4L", headline="positional", role="law", quantity="ppl(4L) / ppl(L), sinusoidal",
                   claim="sinusoidal positions do not extrapolate: perplexity at 4L >= ~1.5x of L",
                   paper_value=">= 1.5", tolerance="ratio >= 1.5 (docs/sources.md)",
                   justification="Press et al.: sinusoidal degrades within ~20 extra tokens", **COMMON)
def test_sinusoidal_degrades_at_4L(claim, curves):
    _record(claim, curves)
    r = ppl_ratio(curves["sinusoidal"], 4 * L_TRAIN)
    claim.measured(r)
    claim.check(checks.at_least("sinusoidal ppl(4L)/ppl(L)", r, 1.5))


@pytest.mark.quick
@pytest.mark.claim("pos-rope-vs-alibi-4L-8L", headline="positional", role="law", quantity="loss(RoPE) - loss(ALiBi) at 4L (8L in the checks)",
                   claim="RoPE extrapolates worse than ALiBi far past L", paper_value="RoPE > ALiBi",
                   tolerance="the paired difference above 0 at 4L and at 8L",
                   justification="an ordering, decided by the interval of the paired difference", **COMMON)
def test_rope_is_worse_than_alibi_at_4L_and_8L(claim, curves):
    _record(claim, curves)
    gaps = {T: gap("alibi", "rope", curves, T) for T in (4 * L_TRAIN, 8 * L_TRAIN)}
    claim.measured(gaps[4 * L_TRAIN])
    claim.note("loss(RoPE) - loss(ALiBi): " + ", ".join(f"T = {T}: {g.text()}" for T, g in gaps.items()))
    claim.check_all(*[checks.ordered(f"ALiBi < RoPE at T = {T}", g, labels=("alibi", "rope")) for T, g in gaps.items()])


@pytest.mark.quick
@pytest.mark.claim("pos-rope-vs-alibi-2L", headline="positional", role="law", quantity="loss(RoPE) - loss(ALiBi) at 2L",
                   claim="RoPE extrapolates worse than ALiBi already at 2L", paper_value="RoPE > ALiBi",
                   tolerance="the paired difference above 0 at 2L",
                   justification="the ordering from 2L on (docs/sources.md), decided by the interval of the paired "
                                 "difference",
                   expect=expect.refuted(PRESS_QUOTE + ": at 2L (64 extra bytes) RoPE is still within its good range"),
                   **COMMON)
def test_rope_is_worse_than_alibi_at_2L(claim, curves):
    _record(claim, curves)
    g = gap("alibi", "rope", curves, 2 * L_TRAIN)
    claim.measured(g)
    claim.check(checks.ordered("ALiBi < RoPE at T = 2L", g, labels=("alibi", "rope")))


@pytest.mark.quick
@pytest.mark.claim("pos-rope-interpolation", headline="positional", role="law", quantity="loss(RoPE) - loss(RoPE+PI) at 2L (4L in the checks)",
                   claim="position interpolation improves RoPE at 2-4L", paper_value="PI < plain RoPE",
                   tolerance="the paired difference above 0 at 2L and at 4L",
                   justification="an ordering, decided by the interval of the paired difference",
                   expect=expect.out_of_regime(
                       "method: our interpolation is zero-shot (rope_scale = L/T, no fine-tuning), while Chen et al. "
                       "2023 fine-tune ~1000 steps after interpolating; compressed positions blur the exact "
                       "neighbour distances a byte model relies on", expect="refuted", declared="after data",
                       note="declared out of regime in commit 3d57cb6 (2026-12-01), when a refutation there was "
                            "reported inconclusive; its expected verdict, refuted, written out in issue 'Verdicts "
                            "that answer' (item 2) from the quick runs (PI worse than plain RoPE by 0.55 [0.41, 0.69] "
                            "nats at 2L, docs/claims_trained.md)"), **COMMON)
def test_position_interpolation_helps_rope(claim, curves):
    _record(claim, curves)
    gains = {T: gap("rope+PI", "rope", curves, T) for T in (2 * L_TRAIN, 4 * L_TRAIN)}
    claim.measured(gains[2 * L_TRAIN])
    claim.note("loss(RoPE) - loss(RoPE+PI): " + ", ".join(f"T = {T}: {g.text()}" for T, g in gains.items()))
    claim.check_all(*[checks.ordered(f"RoPE+PI < RoPE at T = {T}", g, labels=("rope+PI", "rope"))
                      for T, g in gains.items()])


@pytest.mark.quick
@pytest.mark.claim("pos-plan-rope-4x", headline="positional", role="law", quantity="loss(4L)/loss(L) - 1, RoPE",
                   claim="RoPE extrapolates naturally: < 10% loss increase at 4x the training length",
                   paper_value="< 10%", tolerance="< 10% (the plan's own number)",
                   justification="the plan's threshold, tested as stated (loss, not perplexity)",
                   expect=expect.refuted(PRESS_QUOTE + "; Chen et al. 2023: extrapolating RoPE past L blows up "
                                         "attention scores (catastrophic perplexity) without interpolation"), **COMMON)
def test_plan_rope_under_10_percent_at_4x(claim, curves):
    _record(claim, curves)
    rope = curves["rope"]
    inc = Estimate.mean_t(rope[:, at(4 * L_TRAIN)] / rope[:, 0] - 1, what="seeds")
    claim.measured(inc)
    claim.check(checks.at_most("RoPE loss increase at 4L", inc, 0.10))


# Copy/reverse, resized in 2026-12 and declared before its runs (docs/claims_trained.md has every pilot). The first
# design (2 layers, 3,000 steps, 64 strings a step, seeds 0-2) was mis-sized: sinusoidal positions learned neither
# task on any seed (0.14-0.45 token accuracy at length 16) and NoPE reached 0.65-0.86. Pilots on seeds 7-9, which
# decide nothing: sinusoidal positions sit on a plateau near 1.66 nats that breaks after ~4,000-7,000 steps
# (a longer warm-up does not shorten it), and NoPE's reverse needs depth (2 layers: 0.87 at 20,000 steps; 3
# layers: 0.899 at 10,000; 4 layers: 1.00). At 4 layers and 10,000 steps both hard cases learned reverse at 64
# strings a step (~800 s a run) and at 32 (half the cost; sinusoidal left its plateau at ~5,500-6,000 and was
# below 0.1 nats by 8,500). 12,000 steps at 32 strings gives that break a margin, at an estimated ~500 s a run on
# one core (30 runs: ~4 CPU-hours, ~2 hours on both cores). The first design's 3,000 steps at 2 layers already
# taught RoPE and ALiBi both tasks (0.93-1.00) and learned positions copy (0.99-1.00), but learned positions'
# reverse reached only 0.87-0.90, and it was not piloted at the new size (twice the depth and 2x the strings seen
# should cover it; untested). Seeds 10-12 are fresh.
# Measured (2026-12, 1 h 53 min on both cores, 209 CPU-min): reverse confirmed (worst encoding ALiBi 0.990
# [0.953, 1.027]; learned positions' reverse 1.00 on every seed); copy inconclusive (``COPY_SLOW_XFAIL``).
COPY_SEEDS, COPY_STEPS, COPY_LAYERS, COPY_BATCH = (10, 11, 12), 12_000, 4, 32
# A known failure of the declaration, kept visible rather than re-declared after the fact
COPY_SLOW_XFAIL = (
    "declared confirmed; decided on the resized design (4 layers, 12,000 steps x 32 strings, seeds 10-12): every "
    "encoding but sinusoidal learned copy (the next worst, NoPE, 0.995 [0.987, 1.004]); sinusoidal positions reached "
    "1.000, 0.912 and 1.000 at length 16, seed 11 still learning at the end (a train loss of 0.14, where the others "
    "reached ~0; the run keeps only its last point, so when its plateau broke is not recorded), so the three seeds' "
    "interval 0.970 [0.844, 1.097] straddles 0.9: inconclusive")


@pytest.mark.slow
@pytest.mark.claim("pos-{mode}-length-generalisation", headline="positional", role="law", paper="Kazemnejad et al. 2023",
                   quantity="token accuracy at length 16 (trained 1-16), worst encoding",
                   claim="every encoding learns the trained lengths; learned positions refuse longer inputs",
                   paper_value=">= 0.9 in distribution", tolerance="in-distribution token accuracy >= 0.9 (every encoding)",
                   justification="Kazemnejad et al.'s ordering on 17-32 (NoPE best) has high seed variance (Zhou et al. "
                                 "2024), so it is recorded, not asserted; what is asserted is that the tasks were learned",
                   param_convention="n/a", seeds=list(COPY_SEEDS),
                   budget=f"{COPY_LAYERS} layers, {COPY_STEPS:,} steps x {COPY_BATCH} strings, {len(COPY_SEEDS)} seeds")
@pytest.mark.parametrize("mode", [pytest.param("copy", marks=pytest.mark.xfail(strict=True, reason=COPY_SLOW_XFAIL)),
                                  "reverse"])
def test_copy_reverse_length_generalisation(claim, sweep, device, mode):
    """Kazemnejad et al. 2023: trained on strings of length 1-16, tested on 17-32."""
    lengths = tuple(range(1, 33))
    ev = "lengths.accuracy_vs_length"
    specs = [RunSpec(model=ModelSpec(n_layer=COPY_LAYERS, d_model=64, n_head=4, ctx=32, vocab_size=12, pos=p),
                     data=DataSpec.make(mode, seed=s, max_len=16),
                     optim=OptimSpec(lr=3e-3, warmup_steps=50, batch_size=COPY_BATCH),
                     budget=Budget(steps=COPY_STEPS), seed=s, device=device, eval_every=COPY_STEPS, eval_batches=1,
                     evals=(EvalSpec.make(ev, lengths=lengths, n_per_length=200),), tag="positional-copy")
             for p in ENCODINGS for s in COPY_SEEDS]
    res = sweep.results(specs, desc=f"{mode} length generalisation")
    claim.runs(res)
    k = len(COPY_SEEDS)
    per_seed = {p: np.array([r.metrics[f"{ev}/token_acc"] for r in res[i * k:(i + 1) * k]], dtype=float)
                for i, p in enumerate(ENCODINGS)}
    acc = {p: np.nanmean(a, axis=0) for p, a in per_seed.items()}
    ood = {p: float(np.nanmean(a[16:])) if np.isfinite(a[16:]).any() else float("nan") for p, a in acc.items()}
    in_dist = {p: Estimate.mean_t(a[:, 15], what="seeds") for p, a in per_seed.items()}
    claim.measured(min(e.value for e in in_dist.values()))
    claim.note(f"OOD token accuracy (mean over lengths 17-32 and seeds): {ood}")
    claim.points({"length": np.array(lengths), **{f"token_acc_{p}": a for p, a in acc.items()}})
    claim.plot(plots.grouped_plot, {p: (np.array(lengths), a) for p, a in acc.items()}, xlabel="string length",
               ylabel=f"token accuracy (mean of {k} seeds)", title=f"{mode}: trained on lengths 1-16")
    refused = Estimate.exact(float(np.isnan(per_seed["learned"][:, 16:]).all()), "every seed's run")
    claim.check_all(*[checks.at_least(f"{p} learns length 16 (token accuracy)", e, 0.9) for p, e in in_dist.items()],
                    checks.at_least("learned refuses length 17+", refused, 1))
