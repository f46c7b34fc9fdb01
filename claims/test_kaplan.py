"""Kaplan et al. 2020, "Scaling Laws for Neural Language Models", on the stdlib byte corpus.

Paper: L(N) = (N_c/N)**alpha_N with alpha_N ~ 0.076 (N non-embedding), L(D) = (D_c/D)**alpha_D
with alpha_D ~ 0.095, and loss depends only weakly on shape at fixed N (docs/sources.md, 'Kaplan et al. 2020').

What a miniature run can and cannot show (and where we deviate from the paper's method):
- Kaplan's alpha_N is for models trained to convergence. A 2-core CPU cannot afford that; every
  L(N) run here sees the same D = 800k tokens (quick), so L(N) = L_D + (N_c/N)**alpha with L_D
  the data-limited floor. We therefore fit the paper's pure power law (its exponent is the
  number comparable to 0.076) *and* a power law with an offset (docs/sources.md, 'Verdict
  rules': include an irreducible term), which carries the goodness-of-fit and extrapolation claims.
- Kaplan's L(D) is early-stopped training on a data set of D tokens; ours is single-epoch
  training on D fresh tokens with a cosine schedule sized to D (no repetition), i.e. it mixes
  data scaling with optimisation length.
- Seeds: 3 per point (quick), 5 (slow); the seed spread is 0.01-0.05 nats, which is why the
  ladder's rungs are x2 apart in N (their loss gaps are ~0.05-0.12 nats). Seed s trains every
  size on the same data order, so every quantity (exponent, R^2, extrapolation error, each
  step between sizes, the shape spread) is computed per seed and gets the Student-t interval of
  its mean over seeds; with 3 seeds t(0.975, 2) = 4.3: the intervals are as wide as a 3-seed
  design honestly is. The median curve is what the plots and fit files show.

Law and constants, apart (scaling_claims.verdicts.headlines). The law rows
(``kaplan-L-N-law``, ``kaplan-L-D-law``) test what Kaplan et al. claim holds generally: loss
falls at every step, a power law (plus the floor the other, fixed variable sets here) fits, and
the law fitted on the smaller sizes predicts the held-out largest one. The exponents
(``kaplan-alpha-N``, ``kaplan-alpha-D``) are comparisons with no verdict: Kaplan ties N_c, D_c
and the exponents to WebText2 BPE tokens, Henighan et al. 2020 measure different exponents per
data distribution, and ours are on stdlib bytes at a fixed D or a fixed model. The shape claim
(``kaplan-shape``, loss depends only weakly on depth vs width at fixed N) is a law row, judged
against Kaplan's ~3%, annotated outside the paper's regime (sizes below ~1e5 parameters, not
converged, shapes Kaplan says deviate).

The numbers each run gives are in its record and in the generated results pages (never copied
here by hand).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scaling_claims.studies import ladders

from scaling_claims.verdicts import checks, expect, plots
from scaling_claims.verdicts.estimates import Estimate
from scaling_claims.verdicts.ladder_law import grid_law, ladder_law
from scaling_claims.fit import fit_kaplan_nd, fit_power_law
from scaling_claims.runs.sweep import require_ok

PAPER = "Kaplan et al. 2020"
ALPHA_N_PAPER = 0.076
ALPHA_D_PAPER = 0.095
# Published pure power-law exponents of language-model loss (no offset, Kaplan's form):
# L(N): 0.070 (Henighan et al. 2020, language) and 0.076 (Kaplan et al. 2020, WebText2);
# L(D): 0.095 (Kaplan's L(D)) and 0.103 (Kaplan's joint L(N, D) fit, his Table 2).
ALPHA_N_BAND = (0.070, 0.076)
ALPHA_D_BAND = (0.095, 0.103)
R2_MIN = 0.95  # docs/sources.md, 'Kaplan et al. 2020'; the offset law has 3 parameters for 5-9 sizes
# Kaplan Fig. 5: aspect ratio varied 40x changes loss by about 3% at fixed N.
SHAPE_TOLERANCE = 0.03

LEVELS = [pytest.param("quick", marks=pytest.mark.quick), pytest.param("slow", marks=pytest.mark.slow)]
REGIME = ("Kaplan's shape result is for converged models of 1e5-1e9 non-embedding parameters; "
          "ours are decoders of widths <= {width} (at most {n:,} non-embedding parameters), each trained on at most "
          "{tokens} tokens (data-limited, far from converged), where replications could not see clean laws below "
          "~1e5 parameters (docs/sources.md, 'Kaplan et al. 2020')")


# The regime label came in commit 518a243, after the quick ladder had been run and its shape
# spread recorded as a refutation (commit ed9bebe); the verdict the evidence gives (refuted,
# quick and slow) was written out after the slow run too.
AFTER_DATA = ("the regime label came in commit 518a243 (2026-12-01), after the quick ladder had been run (its shape "
              "spread recorded as a refutation in commit ed9bebe, 2026-11-28); the expected verdict, refuted, written "
              "out in issue 'Verdicts that answer' (item 2) from the quick run and the slow results "
              "(docs/results-slow.md: 16.0% [13.6%, 18.5%] against <= 3%)")


def _regime(level: str) -> expect.Expectation:
    plan = ladders.kaplan_plan(level)
    models = [ladders.gpt(d) for d in plan.widths] + [ladders.gpt(d, n_layer=L) for L, d in plan.shapes]
    return expect.out_of_regime(REGIME.format(width=max(m.d_model for m in models),
                                              n=max(ladders.non_embedding(m) for m in models),
                                              tokens=f"{plan.tokens:,}"),
                                expect="refuted", declared="after data", note=AFTER_DATA)


def _claim_id(base: str):
    return lambda level: base if level == "quick" else f"{base}-slow"


def _by_seed(df: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    """(sizes, losses as a (seeds, sizes) array) from a sweep frame."""
    m = df.pivot_table(index="seed", columns=column, values="final_eval_loss")
    if m.isna().any().any():
        raise RuntimeError(f"missing runs in the sweep: {m.isna().sum().sum()} (seed, size) pairs")
    return m.columns.to_numpy(float), m.to_numpy(float)


def _paper_slope(alpha: float, x0: float, y0: float):
    """The paper's exponent drawn through our smallest point: Kaplan's constants (N_c, D_c) are
    in nats per BPE token of WebText2, ours in nats per byte, so only the slope is comparable."""
    return (f"paper's exponent {alpha} (through our first point)", lambda x: y0 * (np.asarray(x) / x0) ** -alpha)


def _law_checks(claim, name: str, x: np.ndarray, losses: np.ndarray, paper: float):
    """The law rows of L(N) and L(D) (scaling_claims.verdicts.ladder_law): every step down, the
    offset law's fit, and its prediction of the held-out largest size from the smaller ones. The
    exponent is only reported here: it is the comparison row's number."""
    law = ladder_law(x, losses)
    med = np.median(losses, axis=0)
    claim.measured(law.extrapolation)
    offset = fit_power_law(x, med, offset=True)
    claim.note(f"median curve: pure exponent {fit_power_law(x, med).exponent:.3g}; offset law exponent "
               f"{offset.exponent:.3g}, offset {offset.offset:.3g}, R^2 {offset.r2:.4f}")
    claim.note(f"per seed (t intervals): exponent {law.exponent.text()}, offset-law R^2 {law.r2.text()}, "
               f"leave-largest-out error {law.extrapolation.text()} (tolerance +-{law.tolerance:.4f} = half the last "
               f"drop {law.last_drop:.4f}); the exponent is the comparison row's (paper {paper})")
    claim.check_all(*law.checks(name, R2_MIN))


def _plot(claim, x, losses, paper, xlabel, title):
    med, lo, hi = np.median(losses, axis=0), losses.min(axis=0), losses.max(axis=0)
    offset = fit_power_law(x[:-1], med[:-1], offset=True)
    claim.plot(plots.scaling_plot, x[:-1], med[:-1], fit=offset, extrapolate_to=float(x[-1]),
               held_out=(x[-1:], med[-1:]), yerr=[med[:-1] - lo[:-1], hi[:-1] - med[:-1]],
               paper_law=_paper_slope(paper, x[0], med[0]), xlabel=xlabel, ylabel="held-out loss (nats/byte)",
               title=title, fit_label="power law + offset (smaller sizes)")
    claim.points({"x": x, "median_loss": med, "min_loss": lo, "max_loss": hi,
                  **{f"loss_seed_{i}": row for i, row in enumerate(losses)}})
    claim.fit(fit_power_law(x, med))


# The law rows: what Kaplan et al. claim holds generally (a power law in N or D, plus the floor the
# other variable sets here, that predicts a larger held-out size). Their expected verdicts were
# written after the data that decide them: the quick ladder's numbers were in earlier records
# (each check of the old kaplan-alpha-N/-D rows) and the slow ladder's in docs/results-slow.md.
LAW_AFTER_DATA = ("the law rows were split from the exponent rows in issue 'Verdicts that answer' (item 1), after "
                  "the quick and slow ladders had been run and their checks recorded (the old kaplan-alpha-N/-D "
                  "records held these same checks beside the exponent band)")
QUICK_LAW = ("the quick ladder (3 seeds) resolves the offset law's fit but not every step between adjacent sizes "
             "(0.04-0.1 nats apart against a seed spread of 0.01-0.05 at t(0.975, 2) = 4.3) nor the held-out "
             "prediction within half the last drop")


def _law_expectation(n_or_d: str):
    def expectation(level):
        if level == "quick":
            return expect.inconclusive(QUICK_LAW, declared="after data", note=LAW_AFTER_DATA)
        return SLOW_LAW[n_or_d]
    return expectation


SLOW_LAW = {
    "N": expect.confirmed(declared="after data", note=LAW_AFTER_DATA + "; slow L(N): every step down, offset-law "
                          "R^2 0.998, leave-largest-out -0.006 [-0.014, 0.002] against +-0.019 (re-read from seeds 0-4)"),
    "D": expect.confirmed(declared="after data", note=LAW_AFTER_DATA + "; slow L(D) (re-read from seeds 0-4): every "
                          "step down, offset-law R^2 0.983, leave-largest-out +0.053 [0.048, 0.059] against +-0.070"),
}
NO_VERDICT_WHY = {
    "N": "Kaplan et al. fit alpha_N on WebText2 BPE tokens and say N_c and D_c have no fundamental meaning across "
         "tokenizations; Henighan et al. 2020 measure different exponents per data distribution. Ours is on stdlib "
         "bytes at one fixed D (not data-unbottlenecked, his eq. 1.5): a comparison, not a test of the law",
    "D": "Kaplan et al.'s alpha_D belongs to WebText2 BPE tokens and early-stopped training on a data set of D "
         "tokens; ours is single-epoch training on D stdlib bytes with a schedule sized to D: a comparison, not a "
         "test of the law",
}


def _ladder(level, sweep, budget_scale, device, claim, which: str):
    """The L(N) or L(D) sweep of ``level``: (sizes, losses (seeds, sizes), frame)."""
    plan = ladders.kaplan_plan(level)
    if which == "N":
        claim.set(budget=f"{plan.tokens * budget_scale:.3g} tokens per run")
        df = require_ok(sweep(ladders.kaplan_n_specs(plan, budget_scale, device), desc=f"kaplan L(N) {level}"))
        x, losses = _by_seed(df, "params_non_embedding")
    else:
        claim.set(budget=f"width {plan.d_width}, up to {plan.tokens * budget_scale:.3g} tokens")
        df = require_ok(sweep(ladders.kaplan_d_specs(plan, budget_scale, device), desc=f"kaplan L(D) {level}"))
        x, losses = _by_seed(df, "tokens")
    claim.runs(df)
    return x, losses, df


def _seeds(level):
    return list(ladders.kaplan_plan(level).seeds)


def _exponent_comparison(claim, x, losses, band):
    exponent = ladder_law(x, losses).exponent
    claim.measured(exponent)
    claim.note(f"pure power-law exponent, mean over seeds: {exponent.text()}; median curve "
               f"{fit_power_law(x, np.median(losses, axis=0)).exponent:.4g}; published language exponents {list(band)}")
    claim.points({"x": x, **{f"loss_seed_{i}": row for i, row in enumerate(losses)}})
    claim.fit(fit_power_law(x, np.median(losses, axis=0)))


def _law_row(which: str, claim: str, paper_value: str):
    """The marker of a law row of the L(N) (``which`` "N") or L(D) ("D") ladder."""
    return pytest.mark.claim(
        _claim_id(f"kaplan-L-{which}-law"), paper=PAPER, headline="kaplan", role="law", claim=claim,
        quantity="leave-largest-out relative error of the offset law, mean over seeds", paper_value=paper_value,
        tolerance=f"every step down; offset law R^2 >= {R2_MIN}; held-out error within half the last loss drop",
        justification="the form and the held-out prediction are what Kaplan et al. claim holds generally; half the "
                      "last drop is the bar the flat forecast 'no further improvement' fails",
        param_convention="non_embedding", expect=_law_expectation(which), seeds=_seeds)


@_law_row("N", "loss falls as a power law in N (plus the floor the fixed D sets), and the law fitted on smaller models "
               "predicts the held-out largest", "a power law; predicts larger models")
@pytest.mark.parametrize("level", LEVELS)
def test_loss_is_a_power_law_in_parameters(level, sweep, budget_scale, device, claim):
    N, losses, df = _ladder(level, sweep, budget_scale, device, claim, "N")
    plan = ladders.kaplan_plan(level)
    claim.note(f"N from {N.min():.3g} to {N.max():.3g} ({np.log10(N.max() / N.min()):.2f} decades), "
               f"D = {int(df.tokens.iloc[0])} tokens, seeds {list(plan.seeds)}")
    _plot(claim, N, losses, ALPHA_N_PAPER, "non-embedding parameters N",
          f"L(N) at D={int(df.tokens.iloc[0]):,} tokens (median of {len(plan.seeds)} seeds)")
    _law_checks(claim, "L(N)", N, losses, ALPHA_N_PAPER)


def _exponent_row(which: str, quantity: str, paper_value: float):
    """The marker of the comparison of the L(N) (``which`` "N") or L(D) ("D") ladder's exponent with Kaplan's."""
    return pytest.mark.comparison(
        _claim_id(f"kaplan-alpha-{which}"), paper=PAPER, headline="kaplan", claim=f"alpha_{which} ~ {paper_value}",
        quantity=quantity, paper_value=paper_value, justification=NO_VERDICT_WHY[which], param_convention="non_embedding",
        seeds=_seeds)


@_exponent_row("N", "alpha_N (pure power law, non-embedding N), mean over seeds", ALPHA_N_PAPER)
@pytest.mark.parametrize("level", LEVELS)
def test_parameter_exponent_beside_kaplans(level, sweep, budget_scale, device, claim):
    N, losses, _ = _ladder(level, sweep, budget_scale, device, claim, "N")
    _exponent_comparison(claim, N, losses, ALPHA_N_BAND)


@_law_row("D", "loss falls as a power law in D (plus the floor the fixed model sets), and the law fitted on fewer tokens "
               "predicts the held-out largest D", "a power law; predicts more data")
@pytest.mark.parametrize("level", LEVELS)
def test_loss_is_a_power_law_in_data(level, sweep, budget_scale, device, claim):
    D, losses, df = _ladder(level, sweep, budget_scale, device, claim, "D")
    plan = ladders.kaplan_plan(level)
    claim.note(f"model: width {plan.d_width}, depth 2, N = {int(df.params_non_embedding.iloc[0])} non-embedding")
    _plot(claim, D, losses, ALPHA_D_PAPER, "training tokens D (bytes seen, one epoch)",
          f"L(D), width {plan.d_width} (median of {len(plan.seeds)} seeds)")
    _law_checks(claim, "L(D)", D, losses, ALPHA_D_PAPER)


@_exponent_row("D", "alpha_D (pure power law, tokens seen), mean over seeds", ALPHA_D_PAPER)
@pytest.mark.parametrize("level", LEVELS)
def test_data_exponent_beside_kaplans(level, sweep, budget_scale, device, claim):
    D, losses, _ = _ladder(level, sweep, budget_scale, device, claim, "D")
    _exponent_comparison(claim, D, losses, ALPHA_D_BAND)


@pytest.mark.claim(_claim_id("kaplan-shape"), paper=PAPER, headline="kaplan", role="law",
                   claim="at fixed N, loss depends only weakly on depth vs width",
                   quantity="(max - min) / min of loss across shapes, mean over seeds", paper_value=SHAPE_TOLERANCE,
                   tolerance=f"<= {SHAPE_TOLERANCE:.0%}",
                   justification="Kaplan Fig. 5: aspect ratio varied 40x moves loss by about 3%",
                   param_convention="non_embedding", expect=_regime,
                   seeds=lambda level: list(ladders.kaplan_plan(level).seeds))
@pytest.mark.parametrize("level", LEVELS)
def test_shape_insensitivity(level, sweep, budget_scale, device, claim):
    plan = ladders.kaplan_plan(level)
    claim.set(budget=f"{plan.tokens * budget_scale:.3g} tokens per run")
    df = require_ok(sweep(ladders.shape_specs(plan, budget_scale, device), desc=f"kaplan shape {level}"))
    claim.runs(df)
    df = df.assign(aspect=df["model.d_model"] / df["model.n_layer"])
    aspect, losses = _by_seed(df, "aspect")
    spread = Estimate.mean_t([(y.max() - y.min()) / y.min() for y in losses], what="seeds")
    claim.measured(spread)
    shapes = df.drop_duplicates("aspect").sort_values("aspect")
    n = shapes.params_non_embedding
    med = np.median(losses, axis=0)
    claim.points({"aspect": aspect, "n_layer": shapes["model.n_layer"], "d_model": shapes["model.d_model"],
                  "params_non_embedding": n, "median_loss": med,
                  **{f"loss_seed_{i}": row for i, row in enumerate(losses)}})
    claim.note(f"non-embedding N from {n.min()} to {n.max()} (not corrected with an L(N) fit, unlike Kaplan; "
               f"at alpha_N ~ 0.1 that spread alone moves loss by < {0.1 * np.log(n.max() / n.min()):.1%})")
    claim.plot(plots.grouped_plot, {f"(n_layer, d_model) median of {len(plan.seeds)} seeds": (aspect, med),
                                    "seed min": (aspect, losses.min(axis=0)), "seed max": (aspect, losses.max(axis=0))},
               styles=["o-", "v:", "^:"], logx=True, xlabel="aspect ratio d_model / n_layer",
               ylabel="held-out loss (nats/byte)", hline=(f"min x (1 + {SHAPE_TOLERANCE:.0%})",
                                                          float(med.min() * (1 + SHAPE_TOLERANCE))),
               title=f"Shape at N ~ {int(n.median()):,} (Kaplan: within ~3%)")
    claim.note("median loss per shape (n_layer, d_model): " + ", ".join(
        f"({r['model.n_layer']}, {r['model.d_model']}): {m:.4f}" for (_, r), m in zip(shapes.iterrows(), med)))
    claim.check(checks.at_most("relative loss spread across shapes", spread, SHAPE_TOLERANCE))


# ----------------------------------------------------------------------------- L(N, D) on a grid (slow)
# Kaplan's joint law (his eq. 1.5, plus the floor a byte corpus has) fitted on an N x D grid and
# asked to predict a held-out model 4x larger than any it was fitted on, at every D
# (ladders.kaplan_grid). Its data-unbottlenecked L(N) is the law's large-D limit, E + (N_c/N)^alpha_N,
# so alpha_N here is Kaplan's L(N) exponent read from models not bottlenecked by data.
ALPHA_ND_PAPER = {"alpha_N": 0.076, "alpha_D": 0.103}  # Kaplan et al. 2020, the L(N, D) fit (his Table 2)
# Declared before the deciding seeds (5-8) ran, from the pilot (seed 100, ladders.KAPLAN_GRID_PILOT_SEEDS,
# which decides nothing; /tmp pilot script, 24 runs, 19 min on one shared core). The pilot's joint law,
# fitted on widths 16-64 (R^2 0.992, its floor E at 0), predicted width 128's loss 7.0%, 5.1%, 4.5% and
# 3.0% too high at 0.4M, 0.8M, 1.6M and 3.2M tokens, against tolerances (half the 64 -> 128 drop) of
# 3.1%, 3.0%, 3.3% and 4.5%: the larger model gains more than the law fitted on smaller ones allows,
# most where D is smallest. Our D is one epoch of fresh tokens with a schedule sized to it, so the
# 0.4M-1.6M runs take 390-1,560 optimiser steps, far from the converged, early-stopped models Kaplan
# et al. fitted eq. 1.5 to; larger models are the more sample-efficient ones there (Kaplan et al.
# 2020, sec. 6), which a law with one exponent per variable cannot follow.
KAPLAN_GRID_EXPECT = expect.out_of_regime(
    "Kaplan et al. fitted eq. 1.5 to early-stopped models trained to convergence on data sets of D tokens; ours "
    "see D fresh tokens once under a schedule sized to D, so the small-D runs take only 390-1,560 optimiser steps, "
    "where the larger model's sample efficiency outruns the law fitted on smaller ones (the pilot, seed 100: the "
    "held-out width 128 came out 3-7% below the law's prediction, past half the last drop at 0.4M-1.6M tokens)",
    expect="refuted")


def _grid(sweep, budget_scale, device, claim):
    grid = ladders.kaplan_grid()
    df = require_ok(sweep(ladders.kaplan_grid_specs(grid, budget_scale, device), desc="kaplan L(N, D) grid"))
    claim.runs(df)
    claim.set(budget=f"widths {list(grid.widths)} x tokens {[int(t * budget_scale) for t in grid.tokens]}")
    cube = df.pivot_table(index=["seed", "model.d_model"], columns="tokens", values="final_eval_loss")
    n = df.groupby("model.d_model").params_non_embedding.first().loc[list(grid.widths)].to_numpy(float)
    D = cube.columns.to_numpy(float)
    losses = np.stack([cube.loc[s].loc[list(grid.widths)].to_numpy(float) for s in grid.seeds])
    if np.isnan(losses).any():
        raise RuntimeError(f"missing runs in the grid: {int(np.isnan(losses).sum())} cells")
    return grid, n, D, losses


@pytest.mark.slow
@pytest.mark.claim("kaplan-L-ND-law-slow", paper=PAPER, headline="kaplan", role="law",
                   claim="L(N, D) = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D (plus a floor) fitted on smaller models "
                         "predicts a 4x larger held-out model at every D",
                   quantity="relative error of the prediction at the held-out width, largest D, mean over seeds",
                   paper_value="the joint law predicts larger models",
                   tolerance=f"fit R^2 >= {R2_MIN}; at every D the held-out error within half the relative drop from "
                             "the largest fitted width",
                   justification="Kaplan et al.'s eq. 1.5 is their general claim for how N and D bottleneck loss "
                                 "together; half the last drop is the bar the flat forecast 'no further gain from "
                                 "size' fails",
                   param_convention="non_embedding", seeds=list(ladders.KAPLAN_GRID_SEEDS),
                   expect=KAPLAN_GRID_EXPECT)
def test_joint_law_predicts_a_larger_model(sweep, budget_scale, device, claim):
    grid, n, D, losses = _grid(sweep, budget_scale, device, claim)
    law = grid_law(n, D, losses)
    claim.measured(law.errors[-1])
    med = np.median(losses, axis=0)
    fit = fit_kaplan_nd(*[a.ravel() for a in np.meshgrid(n[:-1], D, indexing="ij")], med[:-1].ravel())
    claim.fit(fit)
    claim.points({"params_non_embedding": np.repeat(n, D.size), "tokens": np.tile(D, n.size),
                  "median_loss": med.ravel(), "held_out": np.repeat(np.arange(n.size) == n.size - 1, D.size),
                  **{f"loss_seed_{s}": cell.ravel() for s, cell in zip(grid.seeds, losses)}})
    nf = np.geomspace(n[0], n[-1], 40)
    curves = {}
    for j, d in enumerate(D):
        curves[f"D={d:.3g} (median)"] = (n, med[:, j])
        curves[f"law at D={d:.3g}"] = (nf, fit.predict(nf, np.full(nf.size, d)))
    claim.plot(plots.grouped_plot, curves, styles=["o", "-"] * D.size, logx=True, logy=True,
               xlabel=f"non-embedding parameters N (the largest, {int(n[-1]):,}, held out)",
               ylabel="held-out loss (nats/byte)", title="Kaplan's L(N, D) on an N x D grid")
    claim.note("per D (mean over seeds): " + "; ".join(
        f"D={d:.3g}: error {e.text()} (tolerance +-{t:.4f})" for d, e, t in zip(D, law.errors, law.tolerances)))
    claim.note(f"joint law per seed: alpha_N {law.alpha_N.text()}, alpha_D {law.alpha_D.text()}, R^2 {law.r2.text()}; "
               f"seed-median fit: E={fit.params['E']:.3g}, N_c={fit.params['N_c']:.3g}, D_c={fit.params['D_c']:.3g}")
    claim.check_all(*law.checks(R2_MIN))


@pytest.mark.slow
@pytest.mark.comparison(lambda exponent: f"kaplan-L-ND-{exponent}-slow", paper=PAPER, headline="kaplan",
                        claim="the joint law's exponents: alpha_N 0.076, alpha_D 0.103",
                        quantity=lambda exponent: f"{exponent} of the joint law L(N, D), mean over seeds",
                        paper_value=lambda exponent: ALPHA_ND_PAPER[exponent],
                        justification="Kaplan et al.'s exponents belong to WebText2 BPE tokens (N_c and D_c, they "
                                      "say, have no meaning across tokenizations); ours are on stdlib bytes: a "
                                      "comparison, not a test of the law. alpha_N here is the large-D limit, the "
                                      "exponent of models not bottlenecked by data",
                        param_convention="non_embedding", seeds=list(ladders.KAPLAN_GRID_SEEDS))
@pytest.mark.parametrize("exponent", ["alpha_N", "alpha_D"])
def test_joint_law_exponents_beside_kaplans(exponent, sweep, budget_scale, device, claim):
    grid, n, D, losses = _grid(sweep, budget_scale, device, claim)
    law = grid_law(n, D, losses)
    claim.measured(getattr(law, exponent))
    claim.note(f"Kaplan et al.'s separate fits: alpha_N {ALPHA_N_PAPER} (L(N)), alpha_D {ALPHA_D_PAPER} (L(D))")
