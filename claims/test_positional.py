"""Positional encodings and length extrapolation (CLAIMS.md section 6).

The plan says RoPE "extrapolates naturally" (< 10% loss increase at 4x the training length).
The literature disagrees: Press et al. 2022 (ALiBi) find sinusoidal degrades within ~20 extra
tokens, rotary within ~100-200, while ALiBi keeps its perplexity to many times L; Chen et al.
2023 find RoPE extrapolation blows up and position interpolation (positions x L_train/L_test)
is what works.

Miniature: byte-level language models on the Python standard library's source, 2 layers,
width 64, trained at L = 64 for 800 steps, one per encoding (learned, sinusoidal, RoPE,
ALiBi, none); each evaluated at 64, 128, 256 and 512 on ~16k held-out predicted bytes per
length. RoPE with position interpolation is the RoPE model evaluated with rope_scale = L/T
(zero-shot: Chen et al. also fine-tune ~1000 steps; we do not, to stay within the quick
budget). One sweep serves every test below (the run cache trains it once).

Ratios are of perplexities, exp(loss(T) - loss(L)). Thresholds are CLAIMS.md's (1.1 for ALiBi
at 4L, 1.5 for sinusoidal); they are the papers' qualitative gaps, not fitted to our runs.
Copy/reverse length generalisation (Kazemnejad et al. 2023; high seed variance per Zhou et al.
2024) runs under ``slow``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from scaling_claims import checks, plots
from scaling_claims.specs import Budget, DataSpec, EvalSpec, ModelSpec, OptimSpec, RunSpec

PRESS = "Press et al. 2022 (ALiBi); Chen et al. 2023 (position interpolation)"
L_TRAIN = 64
LENGTHS = (64, 128, 256, 512)
ENCODINGS = ("learned", "sinusoidal", "rope", "alibi", "none")
STEPS = 800
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
    """{encoding: loss at LENGTHS} plus "rope+PI", from one cached sweep."""
    results = sweep.results([lm_spec(p, device) for p in ENCODINGS], desc="positional encodings")
    out = {}
    for pos, r in zip(ENCODINGS, results):
        assert r.ok, f"{pos}: run failed: {r.failure}"
        assert r.metrics[f"{EV}/lengths"] == list(LENGTHS)
        out[pos] = np.array(r.metrics[f"{EV}/loss"], dtype=float)
        if pos == "rope":
            out["rope+PI"] = np.array(r.metrics[f"{EV}/loss_pi"], dtype=float)
        if pos == "learned":
            out["learned_ran"] = list(r.metrics[f"{EV}/ran"])
    out["_results"] = results
    return out


def _record(rec, curves, claim_id, **fields):
    rec.declare(claim_id, paper=PRESS, param_convention="n/a (same architecture for every encoding)",
                  budget=f"{STEPS} steps x 32 x {L_TRAIN} bytes", **fields)
    rec.runs(curves["_results"])
    names = [k for k in curves if not k.startswith("_") and k != "learned_ran"]
    rec.points({"eval_length": np.array(LENGTHS), **{f"loss_{k}": curves[k] for k in names}})
    rec.plot(plots.grouped_plot, {k: (np.array(LENGTHS), curves[k]) for k in names},
               xlabel="evaluation length T (bytes)", ylabel="held-out loss (nats/byte)", logx=True,
               title=f"Loss vs evaluation length, trained at L = {L_TRAIN}", hline=None)
    rec.note("loss by length: " + "; ".join(f"{k} " + ", ".join(f"{v:.3f}" for v in curves[k]) for k in names))


def ppl_ratio(loss: np.ndarray, T: int) -> float:
    return math.exp(loss[LENGTHS.index(T)] - loss[0])


@pytest.mark.quick
def test_learned_positions_refuse_longer_inputs(claim, curves):
    _record(claim, curves, "pos-learned-past-ctx", quantity="lengths the learned model ran",
            claim="learned absolute positions cannot run past the trained length (clear error)",
            paper_value="defined behaviour past L", tolerance="exact",
            justification="the model has no embedding past ctx; the evaluator reports NaN, ran = 0")
    ran = curves["learned_ran"]
    claim.measured(f"ran at {[T for T, r in zip(LENGTHS, ran) if r]}")
    claim.check_all(
        checks.at_least("runs at L", ran[0], 1),
        checks.at_most("refuses every T > L", sum(ran[1:]), 0),
        checks.at_least("finite loss at L", float(np.isfinite(curves["learned"][0])), 1),
    )


@pytest.mark.quick
def test_alibi_keeps_its_perplexity_at_4L(claim, curves):
    _record(claim, curves, "pos-alibi-4L", quantity="ppl(4L) / ppl(L), ALiBi",
            claim="ALiBi: train short, test long: perplexity at 4L within ~1.1x of L",
            paper_value="<= 1.1", tolerance="ratio <= 1.1 (CLAIMS.md)",
            justification="Press et al. see ALiBi improve or hold to 3L+; 10% allows our small model")
    r = ppl_ratio(curves["alibi"], 4 * L_TRAIN)
    claim.measured(r)
    claim.check(checks.ratio_at_most("ALiBi ppl(4L)/ppl(L)", math.exp(curves["alibi"][2]),
                                     math.exp(curves["alibi"][0]), 1.1))


@pytest.mark.quick
def test_sinusoidal_degrades_at_4L(claim, curves):
    _record(claim, curves, "pos-sinusoidal-4L", quantity="ppl(4L) / ppl(L), sinusoidal",
            claim="sinusoidal positions do not extrapolate: perplexity at 4L >= ~1.5x of L",
            paper_value=">= 1.5", tolerance="ratio >= 1.5 (CLAIMS.md)",
            justification="Press et al.: sinusoidal degrades within ~20 extra tokens")
    claim.measured(ppl_ratio(curves["sinusoidal"], 4 * L_TRAIN))
    claim.check(checks.ratio_at_least("sinusoidal ppl(4L)/ppl(L)", math.exp(curves["sinusoidal"][2]),
                                      math.exp(curves["sinusoidal"][0]), 1.5))


@pytest.mark.quick
def test_rope_is_worse_than_alibi_at_4L_and_8L(claim, curves):
    _record(claim, curves, "pos-rope-vs-alibi-4L-8L", quantity="loss(RoPE) - loss(ALiBi) at 4L, 8L",
            claim="RoPE extrapolates worse than ALiBi far past L", paper_value="RoPE > ALiBi",
            tolerance="strict ordering at 4L and 8L",
            justification="an ordering; the gaps are recorded (held-out loss SE ~0.01 nats at 16k bytes)")
    gap = curves["rope"][2:] - curves["alibi"][2:]
    claim.measured(float(gap.min()))
    claim.check_all(*[checks.ordered(f"ALiBi < RoPE at T = {LENGTHS[i]}", curves["alibi"][i], curves["rope"][i],
                                     labels=("alibi", "rope")) for i in (2, 3)])


@pytest.mark.quick
def test_rope_is_worse_than_alibi_at_2L(claim, curves):
    """CLAIMS.md asserts RoPE worse than ALiBi from 2L on. Measured here: at 2L (64 extra bytes)
    RoPE is still better (1.655 vs 1.797 nats), as Press et al. saw rotary improve for the first
    ~100-200 extra tokens; the 2L part is therefore a strict xfail carrying the numbers."""
    _record(claim, curves, "pos-rope-vs-alibi-2L", quantity="loss(RoPE) - loss(ALiBi) at 2L",
            claim="RoPE extrapolates worse than ALiBi already at 2L", paper_value="RoPE > ALiBi",
            tolerance="strict ordering at 2L", justification="an ordering (loss SE ~0.01 nats)")
    claim.measured(float(curves["rope"][1] - curves["alibi"][1]))
    claim.expect_refuted(checks.ordered("ALiBi < RoPE at T = 2L", curves["alibi"][1], curves["rope"][1],
                                        labels=("alibi", "rope")),
                         why="Press et al.: rotary still improves ~100-200 tokens past L")


@pytest.mark.quick
def test_position_interpolation_helps_rope(claim, curves):
    """Zero-shot position interpolation (rope_scale = L/T, no fine-tuning) measured worse than
    plain RoPE at 2L and 4L here (2.26 vs 1.66 and 2.71 vs 2.17 nats): compressing positions
    blurs the exact neighbour distances a byte model relies on. Chen et al. fine-tune after
    interpolating; the zero-shot claim is a strict xfail carrying the numbers."""
    _record(claim, curves, "pos-rope-interpolation", quantity="loss(RoPE) - loss(RoPE+PI) at 2L, 4L",
            claim="position interpolation improves RoPE at 2-4L (zero-shot)", paper_value="PI < plain RoPE",
            tolerance="strict ordering at 2L and 4L",
            justification="an ordering; zero-shot PI (no fine-tuning), see the module docstring")
    gain = curves["rope"][1:3] - curves["rope+PI"][1:3]
    claim.measured(float(gain.min()))
    worst = float(np.max(curves["rope+PI"][1:3] - curves["rope"][1:3]))
    both = checks.ordered("RoPE+PI < RoPE at 2L and 4L (worst case)", worst, 0.0, labels=("max(PI - RoPE)", "0"))
    claim.expect_refuted(both, why="zero-shot; Chen et al. fine-tune after interpolating")


@pytest.mark.quick
def test_plan_rope_under_10_percent_at_4x(claim, curves):
    """The plan's claim, expected refuted (CLAIMS.md section 6): a strict xfail carrying the
    measured increase; if RoPE ever holds within 10% at 4L, the strict xfail fails and says so."""
    _record(claim, curves, "pos-plan-rope-4x", quantity="loss(4L)/loss(L) - 1, RoPE",
            claim="RoPE extrapolates naturally: < 10% loss increase at 4x the training length",
            paper_value="< 10%", tolerance="< 10% (the plan's own number)",
            justification="the plan's threshold, tested as stated (loss, not perplexity)")
    inc = curves["rope"][2] / curves["rope"][0] - 1
    claim.measured(inc)
    claim.expect_refuted(checks.at_most("RoPE loss increase at 4L", inc, 0.10),
                         why="Press et al. 2022 and Chen et al. 2023 find RoPE degrades past L")


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["copy", "reverse"])
def test_copy_reverse_length_generalisation(claim, sweep, device, mode):
    """Kazemnejad et al. 2023: trained on strings of length 1-16, tested on 17-32. Their
    ordering (NoPE best) has high seed variance (Zhou et al. 2024), so it is recorded, not
    asserted; asserted: every encoding learns the trained lengths (token accuracy >= 0.9 at
    length 16), and learned positions refuse the longer inputs (defined behaviour)."""
    lengths = tuple(range(1, 33))
    ev = "lengths.accuracy_vs_length"
    specs = [RunSpec(model=ModelSpec(n_layer=2, d_model=64, n_head=4, ctx=32, vocab_size=12, pos=p),
                     data=DataSpec.make(mode, seed=s, max_len=16),
                     optim=OptimSpec(lr=3e-3, warmup_steps=50, batch_size=64),
                     budget=Budget(steps=3000), seed=s, device=device, eval_every=3000, eval_batches=1,
                     evals=(EvalSpec.make(ev, lengths=lengths, n_per_length=200),), tag="positional-copy")
             for p in ENCODINGS for s in (0, 1, 2)]
    claim.declare(f"pos-{mode}-length-generalisation", paper="Kazemnejad et al. 2023",
                  quantity="token accuracy at lengths 17-32 (trained 1-16)", claim="NoPE generalises best",
                  paper_value="NoPE > others", tolerance="recorded; in-distribution >= 0.9 asserted",
                  justification="high seed variance (Zhou et al. 2024): the ordering is reported, not asserted",
                  param_convention="n/a", budget="3000 steps x 64 strings, 3 seeds")
    res = sweep.results(specs, desc=f"{mode} length generalisation")
    claim.runs(res)
    acc = {p: np.nanmean([r.metrics[f"{ev}/token_acc"] for r in res[i * 3:(i + 1) * 3]], axis=0)
           for i, p in enumerate(ENCODINGS)}
    ood = {p: float(np.nanmean(a[16:])) if np.isfinite(a[16:]).any() else float("nan") for p, a in acc.items()}
    claim.measured(f"OOD token accuracy: {ood}")
    claim.points({"length": np.array(lengths), **{f"token_acc_{p}": a for p, a in acc.items()}})
    claim.plot(plots.grouped_plot, {p: (np.array(lengths), a) for p, a in acc.items()}, xlabel="string length",
               ylabel="token accuracy (mean of 3 seeds)", title=f"{mode}: trained on lengths 1-16")
    claim.check_all(*[checks.at_least(f"{p} learns length 16", acc[p][15], 0.9) for p in ENCODINGS],
                    checks.at_least("learned refuses length 17+", float(np.isnan(acc["learned"][16:]).all()), 1))
