"""Learning-curve prediction: forecast a run's final held-out loss from its first 20% (and 40%)
(docs/sources.md, 'Learning-curve prediction'; issue 9, item 2).

Claims. The research plan's early-stop predictor fits ``L(s) = c + a s^-b`` to the first 20% of
a run and forecasts the end ("save 80%"); docs/sources.md: plausible within a few percent at a
constant learning rate, but under warmup + cosine decay the final drop comes from annealing,
which a power law in steps cannot foresee. Tissue et al. 2024's law
``L = L0 + A S1^-alpha - C S2`` (S1, S2 from the schedule; ``fit.forecast``) is the form that
can. Both forms are fitted side by side on runs with a constant and a cosine schedule; the
opt-in early-stop rule (``fit.forecast.early_stop_decision``, ``RunSpec.early_stop``) is replayed
on the same curves. c and L0 are never asserted (poorly identified from an early window).

Runs (``DESIGNS``). The Kaplan/Chinchilla ladders evaluate once, at the end (``EVAL_AT_END``):
their cached curves have one point, so none fits and none is reused; these runs use the ladder
recipe (``ladders.stdlib_run``: AdamW, LR 1/width capped at 1e-2, warmup 5%, cosine to 10% or
constant) with a held-out evaluation every ``steps / 50`` steps on 16 fixed batches.
- quick: a width-8 two-layer decoder, context 32, 4 windows per step (128 tokens), 2000 steps;
  10 seeds (12-21) x 2 schedules. Steps this small take the batched-ensemble path (all seeds of a
  schedule train as one batched model), which is what makes 20 curves affordable.
- slow: the ladder's own shape (context 64, 16 windows per step), widths 12, 16, 24, 2000 steps,
  6 seeds x 2 schedules (36 runs, ~10 CPU-minutes).
Seed s trains both schedules on the same data order from the same initialisation, so the two
curves agree until their learning rates part and the schedules' forecasts pair by seed.

Protocol, fixed before the decisive runs. A forecast from fraction f fits the points after the
warmup up to f * steps (during warmup the LR ramps from 0 and the loss falls from ln 256 at a
rate neither law describes; the plan's literal "first 20%" including warmup is in the notes) and
is compared with the final held-out loss. Per (form, schedule, fraction): median |relative
error| over runs, percentile bootstrap over runs (95%), and the trust grade of the worst run
(``fit.trust_grade``: < 5% high, < 10% medium). Tolerance ``TOL``: the forecast must be closer
than 1 - 2^-0.050 = 3.4%, the loss a doubling of compute buys on Kaplan et al. 2020's compute
frontier (L ~ C^-0.050): a forecast less accurate than that cannot tell a run from one given
twice its compute, which is the decision an early stop is for ("a few percent", docs/sources.md). The
miss itself is measured paired: the power-law error under cosine minus under constant, same seed.
The rule is replayed as the trainer applies it (the curve so far after the warmup; min_fraction
0.2, window 3, rtol 1%) and, in the notes, on the whole curve, warmup included (the trainer's
first wiring: see the end of this history).

History (declared before the decisive seeds). Pilots on seeds 100-119 (never used for a
verdict) fixed the design: 391-step ladder runs put 20% on a loss plateau (errors -8% to +28%);
fitting from step 1 made the transient dominate (power law +4..+9% at 20% even at a constant
LR); the width-8 design at 20 pilot seeds gave median |error| power 4.4% (constant) / 3.8%
(cosine) at 20% and 2.1% / 1.2% at 40%, annealing 4.3% / 76% at 20% and 2.5% / 1.8% at 40%
with runs off by -16% and +198%, a paired miss of +1.9% (20%) and +1.3% (40%), and the rule (whole
curve) stopping at 20-32% with median errors 4.7% / 6.9%. Resampling those pilots, 12 seeds
decide the 40% power-law cells and the paired miss (>= 90%), while the annealing form at 40% is
a coin flip against the tolerance: the quick variant reports those two cells without a verdict
(side-by-side table in the notes of lc-power-misses-annealing) and the slow variant decides
them. Six ladder-shape pilot runs (widths 12-32, seeds 100-101) set the slow expectations:
there annealing buys ~5% (2.5% at width 8), and the power law missed it at 40% (+4.5%, against
+1.4% at a constant LR).

The quick claims were first decided on 12 seeds (0-11): every verdict as declared (power law
from 40%: median |error| 0.91% [0.67, 1.92] constant, 0.67% [0.14, 1.19] cosine; from 20%: 3.6%
[1.8, 7.9], 4.1% [1.9, 6.1]; annealing law from 20%: 5.0% [2.0, 6.6] constant, 149% [39, 379]
cosine; paired miss +1.86% [1.41, 2.30] at 20%, +1.37% [1.03, 1.71] at 40%, annealing's benefit
2.1%; the wired rule stopped every run at 22-28% with median errors 2.9% [1.9, 3.9] constant,
5.2% [4.3, 5.9] cosine). Those 24 runs cost 54 CPU-seconds, over the quick set's ~40 s share,
so the design was cut to 10 seeds (the same resampling gives >= 86% for each declared verdict)
and decided again on fresh seeds 12-21, declared here before they were trained: every verdict as
declared (power law from 40%: 1.15% [0.28, 2.48] constant, 1.51% [0.83, 2.51] cosine; paired miss
+2.07% and +1.35%; numbers per claim in docs/claims-learning-curves.md).

The slow variant was decided once, on seeds 0-5 after its declaration: every verdict as declared.
Annealing buys 4.7% there and the power law misses it: from 40%, 1.31% [0.46, 2.21] at a constant
LR against 4.15% [3.50, 4.87] under cosine (refuted), paired miss +2.99% [2.63, 3.34].

The early-stop rule's wiring changed after these decisions: the trainer first passed the whole
curve, warmup included, to ``early_stop_decision``; the forecast laws do not describe the warmup,
so it now passes the points after it (``engine.training.early_stop``), and
lc-early-stop-rule replays that. Its expectation (out of regime) stands; the reason was rewritten
to name what remains. On seeds 12-21 the rule after warmup stopped every run at 20-36% with
median |error| 4.28% [1.75, 9.82] constant and 4.33% [2.43, 6.75] cosine (warmup included: 3.77%
[2.82, 4.89] and 5.73% [5.24, 6.80]); the slow variant has not been rerun since the change (with
warmup included: 7.7% and 12.8%).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from scaling_claims.studies import ladders
from scaling_claims.studies import learning_curves as lc
from scaling_claims.verdicts import checks, expect, plots
from scaling_claims.verdicts.estimates import paired_difference
from scaling_claims.engine.specs import Budget, RunSpec
from scaling_claims.fit import annealing_areas, forecast_final_loss, trust_grade

PLAN = "research plan's early-stop predictor (docs/sources.md, 'Learning-curve prediction')"
TISSUE = "Tissue et al. 2024 (Scaling Law with Learning Rate Annealing)"
ALPHA_C = 0.050  # Kaplan et al. 2020: L(C_min) ~ C^-0.050
TOL = 1 - 2 ** -ALPHA_C  # 3.4%: the loss gain of doubling compute
RULE = dict(min_fraction=0.2, window=3, rtol=0.01)
EVAL_BATCHES, POINTS = 16, 50


@dataclass(frozen=True)
class Design:
    widths: tuple[int, ...]
    ctx: int
    batch: int  # windows per step
    steps: int
    seeds: tuple[int, ...]


DESIGNS = {"quick": Design(widths=(8,), ctx=32, batch=4, steps=2000, seeds=tuple(range(12, 22))),
           "slow": Design(widths=(12, 16, 24), ctx=64, batch=16, steps=2000, seeds=tuple(range(6)))}
LEVEL_MARK = {"quick": pytest.mark.quick, "slow": pytest.mark.slow}

NOISY = ("quick runs take 128-token steps: the held-out loss wiggles by 1-2% from one curve point to the next, and a "
         "fit to the 8 points between warmup and 20% extrapolated 5x in steps turns that into a scatter of several "
         "percent (20 pilot runs: median |error| 3.8-4.4%, single runs up to 11%); LLM steps hold ~1e6 tokens and give "
         "far smoother curves, so a miss here is explained by our scale")
TRANSIENT = ("20% of a 2000-step run of these decoders (400 steps) still lies in their early, fast phase (pilot: "
             "the loss falls another ~15% after it, errors +7..+10% at a constant LR); the plan's 20% of a long LLM "
             "run lies far past the initial transient")
UNIDENTIFIED = ("Tissue et al. fit one or two whole curves, where the annealing term is exercised; by 20% (40%) of "
                "a cosine run the LR has fallen by 9% (24%) and the annealing area S2 is ~1% (~10%) of its final "
                "value, so C is extrapolated 100x (10x): the forecast is not identified (pilot errors -530%..+12% at "
                "20%, -36%..+7% at 40%). An early window lies outside their method")
MISS = ("docs/sources.md, 'Learning-curve prediction', and Tissue et al. 2024: under warmup + cosine decay the "
        "final drop comes from annealing, which a power law in steps cannot foresee; in the ladder-shape pilots "
        "annealing bought ~5% and the power law missed it (+4.5% at 40%, +13% at 20%, against +1.4% and +7.6% at a "
        "constant LR)")
WIRED = ("the rule stops soon after min_fraction allows, at 20-36% of the run, and so inherits the 20% forecasts' "
         "misses at this scale (noisy 128-token steps, and 20% of these short runs still in their fast early phase: "
         "see lc-forecast-power-*-20); with the first wiring, which also fitted the warmup points, the pilot's median "
         "|error| was 4.7% constant, 6.9% cosine quick (6.9%, 11.6% slow). An LLM's first 20% lies far past its "
         "warmup and transient, on curves of ~1e6-token steps, so this failure is explained by our scale")

# Declared out of regime before the decisive runs (commit cc56f5c), when a refutation there was
# reported inconclusive; the verdict each cell's evidence gives was written out after those runs.
REDECLARED = ("declared out of regime in commit cc56f5c (2026-12-01), before its decisive runs, when a refutation "
              "there was reported inconclusive; the verdict its evidence gives ({verdict}) written out after them, in "
              "issue 'Verdicts that answer' (item 2), from {source}")
QUICK_DATA = "the quick run on seeds 12-21 (docs/claims-learning-curves.md)"
SLOW_DATA = "the slow run on seeds 0-5 (docs/claims-learning-curves.md, docs/results-slow.md)"


def regime(why: str, verdict: str, level: str) -> expect.Expectation:
    return expect.out_of_regime(why, expect=verdict, declared="after data", note=REDECLARED.format(
        verdict=verdict, source=QUICK_DATA if level == "quick" else SLOW_DATA))


EXPECT = {
    "quick": {("power", "constant", 0.2): regime(NOISY, "inconclusive", "quick"),
              ("power", "cosine", 0.2): regime(NOISY, "inconclusive", "quick"),
              ("power", "constant", 0.4): expect.confirmed(),
              ("power", "cosine", 0.4): expect.confirmed(),  # the miss (paired) is below TOL here: see MISS_QUICK
              ("annealing", "constant", 0.2): regime(NOISY, "inconclusive", "quick"),
              ("annealing", "cosine", 0.2): regime(UNIDENTIFIED, "refuted", "quick")},
    "slow": {("power", "constant", 0.2): regime(TRANSIENT, "refuted", "slow"),
             ("power", "cosine", 0.2): expect.refuted(MISS),
             ("power", "constant", 0.4): expect.confirmed(),
             ("power", "cosine", 0.4): expect.refuted(MISS),
             ("annealing", "constant", 0.2): regime(TRANSIENT, "refuted", "slow"),
             ("annealing", "constant", 0.4): expect.confirmed(),
             ("annealing", "cosine", 0.2): regime(UNIDENTIFIED, "refuted", "slow"),
             ("annealing", "cosine", 0.4): regime(UNIDENTIFIED, "refuted", "slow")},
}
CELLS = [(f, s, x) for f in ("power", "annealing") for s in ("constant", "cosine") for x in (0.2, 0.4)]


def specs(level: str, scale: float, device: str) -> list[RunSpec]:
    d = DESIGNS[level]
    steps = max(10 * POINTS, int(round(d.steps * scale)))
    out = []
    for schedule in ("constant", "cosine"):
        for width in d.widths:
            for seed in d.seeds:
                base = ladders.stdlib_run(ladders.gpt(width, 2, d.ctx), Budget(steps=steps), seed, device,
                                          "learning-curves")
                optim = dataclasses.replace(base.optim, schedule=schedule, batch_size=d.batch)
                out.append(base.replace(optim=optim, eval_every=steps // POINTS, eval_batches=EVAL_BATCHES))
    return out


@dataclass
class Analysis:
    runs: list
    curves: list[lc.RunCurve]
    errors: dict  # (form, schedule, fraction) -> errors in curve order of that schedule
    literal: dict  # (schedule, fraction) -> power-law errors fitted from step 1 (the plan's literal window)
    naive: dict  # (schedule, fraction) -> errors of "no further progress"
    rule: dict  # (schedule, protocol) -> list[RuleOutcome]


_CACHE: dict = {}


def analysis(sweep, level: str, scale: float, device: str) -> Analysis:
    runs = sweep.results(specs(level, scale, device), desc=f"learning curves {level}")
    key = tuple(r.key for r in runs)
    if key not in _CACHE:
        curves = [lc.run_curve(r) for r in runs]
        by = {s: [c for c in curves if c.schedule == s] for s in ("constant", "cosine")}
        _CACHE[key] = Analysis(
            runs, curves,
            {(f, s, x): [lc.forecast_error(c, f, x) for c in by[s]] for f, s, x in CELLS},
            {(s, x): [lc.forecast_error(c, "power", x, skip_warmup=False) for c in by[s]]
             for s in by for x in (0.2, 0.4)},
            {(s, x): [lc.naive_error(c, x) for c in by[s]] for s in by for x in (0.2, 0.4)},
            {(s, p): [lc.rule_outcome(c, skip_warmup=p == "wired", **RULE) for c in by[s]]
             for s in by for p in ("wired", "whole curve")})
    return _CACHE[key]


def _of(an: Analysis, schedule: str) -> list[lc.RunCurve]:
    return [c for c in an.curves if c.schedule == schedule]


def _summary(errors) -> str:
    e = np.asarray(errors) * 100
    return (f"{lc.median_abs(errors).transform(lambda v: 100 * v).text()}% (signed {e.min():+.1f}..{e.max():+.1f}%, "
            f"trust {trust_grade(float(np.abs(errors).max()))})")


def _budget(level: str) -> str:
    d = DESIGNS[level]
    return (f"widths {d.widths}, ctx {d.ctx}, {d.batch} windows/step, {d.steps} steps (x --budget), both schedules, "
            f"held-out loss every {d.steps // POINTS} steps on {EVAL_BATCHES} batches")


def _id(base: str):
    return lambda level: base if level == "quick" else f"{base}-slow"


COMMON = dict(param_convention="none enters (forecasts along one run's steps)",
              seeds=lambda level: list(DESIGNS[level].seeds), budget=_budget)


def _cell_params():
    return [pytest.param(level, f, s, x, id=f"{level}-{f}-{s}-{round(100 * x)}",
                         marks=[LEVEL_MARK[level], pytest.mark.claim(expect=e)])
            for level in DESIGNS for (f, s, x), e in EXPECT[level].items()]


@pytest.mark.claim(lambda level, form, schedule, fraction:
                   f"lc-forecast-{form}-{schedule}-{round(100 * fraction)}" + ("" if level == "quick" else "-slow"),
                   paper=lambda form: PLAN if form == "power" else TISSUE,
                   claim=lambda form, schedule, fraction: (
                       f"the {'power law c + a s^-b' if form == 'power' else 'annealing law L0 + A S1^-alpha - C S2'} "
                       f"fitted to the first {fraction:.0%} of a {schedule}-LR run forecasts its final loss"),
                   quantity="median |relative error| of the final-loss forecast over runs",
                   paper_value="within a few percent", tolerance=f"<= {TOL:.2%} (bootstrap CI over runs)",
                   justification="1 - 2^-0.050: the loss a doubling of compute buys on Kaplan et al.'s compute "
                                 "frontier; a forecast less accurate cannot tell a run from one with twice its compute",
                   **COMMON)
@pytest.mark.parametrize("level, form, schedule, fraction", _cell_params())
def test_final_loss_forecast(level, form, schedule, fraction, sweep, budget_scale, device, claim):
    an = analysis(sweep, level, budget_scale, device)
    claim.runs(an.runs)
    curves, errors = _of(an, schedule), an.errors[(form, schedule, fraction)]
    est = lc.median_abs(errors)
    claim.measured(est)
    claim.points({"width": [c.width for c in curves], "seed": [c.seed for c in curves], "relative_error": errors,
                  "final_loss": [c.final for c in curves]})
    c0 = curves[int(np.argsort(np.abs(errors))[len(errors) // 2])]  # the run with the median error
    s, L = c0.window(fraction)
    f = forecast_final_loss(s, L, c0.total, form=form, lr=c0.lr)
    grid = np.arange(int(s[0]), c0.total + 1)
    if form == "power":
        pred = f.fit.predict(grid)
    else:
        S1, S2 = annealing_areas(c0.lr)
        pred = f.fit.predict(S1[grid - 1], S2[grid - 1])
    claim.fit(f.fit)
    claim.plot(plots.grouped_plot, {"held-out loss": (c0.steps, c0.losses), f"fitted ({fraction:.0%})": (s, L),
                                    f"{form} forecast": (grid, pred), "final": (c0.steps[-1:], c0.losses[-1:])},
               styles=[".", "o", "-", "k*"], logx=True, logy=True, xlabel="step", ylabel="held-out loss (nats/byte)",
               title=f"{form} law from {fraction:.0%}, {schedule} LR (median run: seed {c0.seed}, "
                     f"error {f.relative_error(c0.final):+.1%})")
    claim.note(f"{len(errors)} runs: {_summary(errors)}; the no-progress forecast (last loss seen) errs by "
               f"{_summary(an.naive[(schedule, fraction)])}")
    if form == "power":
        claim.note("fitted from step 1 (the plan's literal window, warmup included): "
                   + _summary(an.literal[(schedule, fraction)]))
    saved = 1 - fraction
    claim.note(f"stopping at {fraction:.0%} saves {saved:.0%} of each run's training FLOPs "
               f"({saved * curves[0].flops:.3g}); "
               f"the curve points it needs cost {np.median([lc.eval_overhead(c, fraction) for c in curves]):.1%} of "
               f"the first {fraction:.0%}'s FLOPs")
    claim.check(checks.at_most(f"median |relative error| from {fraction:.0%} ({form}, {schedule})", est, TOL))


@pytest.mark.claim(_id("lc-power-misses-annealing"), paper=f"{PLAN}; {TISSUE}",
                   claim="the power-law forecast misses the annealing drop: under cosine decay it lands higher, "
                         "relative to the final loss, than on the same run at a constant LR",
                   quantity="power-law relative error, cosine minus constant, paired by seed (mean, 40%)",
                   paper_value="> 0", tolerance="t interval of the paired difference above 0, at 20% and at 40%",
                   justification="a comparison of two measured quantities is decided by the CI of their paired "
                                 "difference (docs/sources.md, 'Verdict rules'); same seed = same data order and "
                                 "initialisation",
                   **COMMON)
@pytest.mark.parametrize("level", [pytest.param(k, marks=v) for k, v in LEVEL_MARK.items()])
def test_power_law_misses_annealing(level, sweep, budget_scale, device, claim):
    an = analysis(sweep, level, budget_scale, device)
    claim.runs(an.runs)
    cos, const = _of(an, "cosine"), _of(an, "constant")
    assert [(c.width, c.seed) for c in cos] == [(c.width, c.seed) for c in const]
    diff = {x: paired_difference(an.errors[("power", "cosine", x)], an.errors[("power", "constant", x)], what="runs")
            for x in (0.2, 0.4)}
    claim.measured(diff[0.4])
    bonus = [(b.final - a.final) / a.final for a, b in zip(cos, const)]
    claim.note(f"paired miss at 20%: {diff[0.2].text()}, at 40%: {diff[0.4].text()}; annealing's benefit (constant "
               f"final / cosine final - 1): median {np.median(bonus):.2%} ({min(bonus):.2%}..{max(bonus):.2%})")
    rows = []
    for f, s, x in CELLS:
        errs = an.errors[(f, s, x)]
        verdict = "decided" if (f, s, x) in EXPECT[level] else "reported only (no verdict at this level)"
        claim.note(f"side by side, {f} / {s} / {x:.0%}: median |error| {_summary(errs)} [{verdict}]")
        rows += [{"form": f, "schedule": s, "fraction": x, "width": c.width, "seed": c.seed, "relative_error": e}
                 for c, e in zip(_of(an, s), errs)]
    claim.points(pd.DataFrame(rows))
    groups = {f"{s} {f} {x:.0%}": (np.arange(len(_of(an, s))) + 0.1 * i, 100 * np.asarray(an.errors[(f, s, x)]))
              for i, (f, s, x) in enumerate(CELLS) if f == "power"}
    claim.plot(plots.grouped_plot, groups, styles=["bo", "bs", "r^", "rv"],
               hline=(f"+{TOL:.1%} (tolerance)", 100 * TOL),
               xlabel="run (width, seed)", ylabel="relative error of the power-law forecast (%)",
               title="Power-law forecasts: cosine (red) vs constant (blue) LR, same runs")
    claim.check_all(*(checks.ordered(f"cosine error - constant error at {x:.0%}", diff[x],
                                     labels=("constant", "cosine")) for x in (0.2, 0.4)))


@pytest.mark.claim(_id("lc-early-stop-rule"), paper=PLAN,
                   claim="stopping once the power-law forecast is stable saves most of a run and forecasts its end",
                   quantity="median |relative error| of the forecast where the rule stops (power form, as "
                            "wired; cosine)",
                   paper_value="save 80%, forecast within a few percent",
                   tolerance=f"<= {TOL:.2%} under each schedule (bootstrap CI over runs)",
                   justification="the tolerance of the forecast claims; compute saved is reported, not asserted (the "
                                 "rule cannot save more than 1 - min_fraction = 80%)",
                   expect=lambda level: regime(WIRED, "inconclusive" if level == "quick" else "refuted", level),
                   **COMMON)
@pytest.mark.parametrize("level", [pytest.param(k, marks=v) for k, v in LEVEL_MARK.items()])
def test_early_stop_rule(level, sweep, budget_scale, device, claim):
    an = analysis(sweep, level, budget_scale, device)
    claim.runs(an.runs)
    found, groups = [], {}
    for s in ("constant", "cosine"):
        out = an.rule[(s, "wired")]
        est = lc.median_abs([o.error for o in out])
        saved = lc.median_of([o.saved for o in out])
        if s == "cosine":
            claim.measured(est)
        post = an.rule[(s, "whole curve")]
        stopped = sum(o.forecast is not None for o in out)
        claim.note(f"{s}: the rule (min_fraction 0.2, window 3, rtol 1%) stopped {stopped}/{len(out)} runs, median "
                   f"compute saved {saved.text()}, |error| at the stop {est.text()}; replayed "
                   f"on the whole curve, warmup included (the first wiring): saved {lc.median_of([o.saved for o in post]).text()}, |error| "
                   f"{lc.median_abs([o.error for o in post]).text()}")
        groups[f"{s} (as wired)"] = ([100 * o.saved for o in out], [100 * o.error for o in out])
        groups[f"{s} (warmup included)"] = ([100 * o.saved for o in post], [100 * o.error for o in post])
        found.append(checks.at_most(f"median |error| at the rule's stop ({s})", est, TOL))
    claim.points(pd.DataFrame([{"schedule": c.schedule, "width": c.width, "seed": c.seed, "protocol": p,
                                "stop_step": o.stop_step, "saved": o.saved, "forecast": o.forecast, "final": c.final,
                                "relative_error": o.error}
                  for s in ("constant", "cosine") for p in ("wired", "whole curve")
                  for c, o in zip(_of(an, s), an.rule[(s, p)])]))
    claim.plot(plots.grouped_plot, groups, styles=["bo", "bx", "r^", "r+"], hline=(f"+{TOL:.1%}", 100 * TOL),
               xlabel="compute saved (% of the run's steps)", ylabel="forecast error at the stop (%)",
               title="Early-stop rule: compute saved vs forecast error (one point per run)")
    claim.check_all(*found)
