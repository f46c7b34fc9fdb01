"""Hoffmann et al. 2022 ("Chinchilla"): compute-optimal allocation, on the stdlib byte corpus.

Paper: N_opt ~ C**a with a = 0.50 / 0.49 / 0.46 (Approaches 1 / 2 / 3), about 20 tokens per
parameter; Epoch AI's refit of the paper's data gives a = 0.513 (docs/sources.md, 'Hoffmann et al. 2022').

Design (see scaling_claims.studies.ladders.chinchilla_plan): IsoFLOP grids of depth-2 decoders at
several engine-FLOP budgets (6 N_matmul + attention per token), 3 seeds per point.
- Seed s trains every point of every budget on the same data order, so Approaches 1 and 2 are
  run on each seed's own runs, and each quantity (a, the interior-minimum gaps, the
  counting-convention difference, the showdown margin) gets the Student-t interval of its
  mean over seeds (t(0.975, 2) = 4.3 for 3 seeds: as wide as a 3-seed design honestly is).
  The seed-median curves are what the plots show. Approach 3 (the parametric law, Huber on log
  loss) is fitted on every run, its interval from its own bootstrap over runs.
- Approach 1 reads the optimum off the grid, so its a moves in steps of the grid's resolution
  (``info["a_resolution"]``, ~0.46 in a for the quick grid): wider than the agreement margin, so
  its estimate carries that as a problem and the checks using it are inconclusive.
- Law and constants, apart (scaling_claims.verdicts.headlines). The law rows: every IsoFLOP
  curve has an interior minimum and N_opt grows with C (``chinchilla-isoflop-minima``), and, at
  a held-out larger budget, Chinchilla's allocation beats Kaplan's (``chinchilla-vs-kaplan``,
  slow only: SHOWDOWN_QUICK below). The constant rows the folklore treats as universal keep a
  verdict, in the paper's counting (total parameters, embeddings included): a ~ 0.5
  (``chinchilla-a``, Approaches 1, 2 and 3 in total N) and "about 20 tokens per parameter"
  (``chinchilla-tokens-per-param``). Approach 3's exponents alpha and beta, fitted on the
  paper's own data, are comparisons with no verdict (``chinchilla-alpha``, ``chinchilla-beta``).
  Non-embedding counting (Kaplan's) is reported beside them in the notes, and the difference
  between the two conventions is a sanity check of our counting (``chinchilla-convention``).
- Tokens per parameter at the optimum is the geometric mean over seeds of each seed's
  Approach 2 D_opt / N_opt, with the t interval of its log, per budget. It is declared outside
  the paper's regime: the ratio at 1e10-1e12 FLOPs is not pinned down by any published law
  (Chinchilla's constants extrapolated give ~5-7, Epoch's ~34-39; tiny character-level
  replications at 1e15-3e16 FLOPs found 7-14), Porian et al. 2024 show that hyperparameters
  left untuned across sizes (learning rate, warmup, AdamW beta2 at small batch) move the
  small-scale optimum, and at this scale runs with few optimiser steps are step-limited, which
  pushes the optimum toward small models and many tokens.
- The allocation showdown (``chinchilla-vs-kaplan-slow``) runs under ``slow`` only: the quick
  scale cannot decide it (SHOWDOWN_QUICK below).

The numbers each run gives are in its record and in the generated results pages (never copied
here by hand); the strict xfail reasons below keep the slow decisions they name.
"""

from __future__ import annotations

import functools
import io
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from scaling_claims.studies import ladders

from scaling_claims.verdicts import checks, expect, plots
from scaling_claims.verdicts.estimates import Estimate, difference, paired_difference
from scaling_claims.fit import fit_chinchilla, fit_isoflop_approach1, fit_isoflop_approach2
from scaling_claims.runs.sweep import require_ok

PAPER = "Hoffmann et al. 2022"
A_PAPER = {"approach1": 0.50, "approach2": 0.49, "approach3": 0.46}
A_EPOCH = 0.513
TOKENS_PER_PARAM_PAPER = 20.0
# "About 20 tokens per parameter" read as a factor of 2 either side: wide enough for "about", and
# still far narrower than what published laws extrapolate to at our budgets (5-7 from
# Chinchilla's constants, 34-39 from Epoch's; docs/sources.md, 'Hoffmann et al. 2022').
TPP_BAND = (10.0, 40.0)
CONVENTIONS = ("non_embedding", "total")
# docs/sources.md, 'Hoffmann et al. 2022': tiny IsoFLOP replications found 0.43-0.48, the papers 0.46-0.51
A_BAND = (0.35, 0.65)
# Approaches "agree" when their difference lies within +-0.1: Hoffmann et al.'s three approaches
# span 0.46-0.50, and 0.1 is under half the gap between Chinchilla's a (~0.5) and Kaplan's 0.73,
# so agreement within it still tells the two allocations apart.
AGREE_MARGIN = 0.1
N_BOOT = 200
LEVELS = [pytest.param("quick", marks=pytest.mark.quick), pytest.param("slow", marks=pytest.mark.slow)]
SHOWDOWN_SLOW_XFAIL = (
    "declared confirmed; decided at 3e13 FLOPs (seeds 0-2), both rules anchored at our measured optimum N = 3,731 at "
    "3e10: Kaplan's allocation minus Chinchilla's -0.0024 [-0.0439, 0.0390] nats (per seed -0.020, +0.013, -0.000): "
    "inconclusive. Our own allocation exponent at this scale, 0.63 with non-embedding N (chinchilla-a-slow), lies "
    "between the rules' 0.5 and 0.73, and its extrapolated optimum (N = 271k) sits between their sizes (118k and "
    "578k), 2.3x from one and 2.1x from the other: the two rules land on opposite sides of the same IsoFLOP valley at "
    "nearly equal loss. What decides the showdown at this scale is where our optimum lies, not either rule")
UNDERPOWERED = ("two budgets 3.3x apart fix a through two optima only: each seed's a moves by ~0.1 with the "
                "seed noise of a parabola's vertex, so the t interval over 3 seeds is about +-0.25, wider than the "
                "band's half-width 0.15")
# a is read in total N, the paper's counting, since issue 'Verdicts that answer' (item 1): after
# the quick and slow runs, whose total-N a had been printed (chinchilla-convention) and whose
# non-embedding a had been declared confirmed and measured 0.631 [0.579, 0.684], inconclusive (a
# strict xfail then). So both levels' expectations are declarations made after their data.
A_AFTER_DATA = ("a switched from non-embedding to total N (the paper's counting) in issue 'Verdicts that answer' "
                "(item 1), after the quick run and the slow run (non-embedding a 0.631 [0.579, 0.684], declared "
                "confirmed, measured inconclusive; total-N a ~0.52, printed by chinchilla-convention-slow)")
A_EXPECT = {
    "quick": expect.inconclusive(UNDERPOWERED, declared="after data", note=A_AFTER_DATA),
    "slow": expect.inconclusive("Approach 1 reads optima off the grid in steps coarser than the +-0.1 agreement "
                                "margin, so its agreement checks cannot be decided", declared="after data",
                                note=A_AFTER_DATA),
}


def _claim_id(base: str):
    return lambda level: base if level == "quick" else f"{base}-slow"


def _budget(level: str) -> str:
    return "IsoFLOP " + ", ".join(f"{c:.3g}" for c in ladders.chinchilla_plan(level).budgets) + " FLOPs (x --budget)"


COMMON = dict(paper=PAPER, param_convention="non_embedding", budget=_budget,
              seeds=lambda level: list(ladders.chinchilla_plan(level).seeds))


def _runs(sweep, plan, scale, device) -> pd.DataFrame:
    df = require_ok(sweep(ladders.isoflop_specs(plan, scale, device), desc="chinchilla isoflop"))
    return df.assign(C=df["budget.flops"])


def _medians(df: pd.DataFrame) -> pd.DataFrame:
    g = df.groupby(["C", "model.d_model"])
    out = g.agg(N=("params_non_embedding", "first"), N_total=("params_total", "first"), D=("tokens", "median"),
                loss=("final_eval_loss", "median"), lo=("final_eval_loss", "min"), hi=("final_eval_loss", "max"))
    return out.reset_index().sort_values(["C", "N"]).reset_index(drop=True)


def _approaches(m: pd.DataFrame, n_col: str = "N"):
    return (fit_isoflop_approach1(m[n_col], m.D, m.loss, m.C), fit_isoflop_approach2(m[n_col], m.D, m.loss, m.C))


@dataclass
class Approaches:
    """a by Approaches 1, 2 and 3 with one counting convention, their intervals, and Approach 3's
    law with its bootstrap (its exponents alpha and beta are what the comparison rows read)."""

    f1: object
    f2: object
    f3: object
    a1: Estimate
    a2: Estimate
    a3: Estimate
    a2_minus_a1: Estimate
    alpha: Estimate
    beta: Estimate


@dataclass
class Analysis:
    """Everything the claims of one level read: the three approaches in each counting convention
    (seed-median fits for plots and notes, per-seed estimates for the checks), the convention
    difference, the interior-minimum gaps and tokens per parameter."""

    m: pd.DataFrame  # seed medians per (C, width)
    non_embedding: Approaches  # Kaplan's counting
    total: Approaches  # Hoffmann et al.'s counting
    convention: Estimate  # a(non-embedding) - a(total), Approach 2
    gaps: dict  # C -> (left end - interior minimum, right end - interior minimum)
    tpp: dict  # (convention, C) -> tokens per parameter at the Approach 2 optimum (geometric mean over seeds)


def _per_seed(df: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for seed, g in df.groupby("seed"):
        m = _medians(g)
        f1, f2 = _approaches(m)
        f1t, f2t = _approaches(m, "N_total")
        row = {"seed": seed, "a1": f1.params["a"], "a2": f2.params["a"], "a1_total": f1t.params["a"],
               "a2_total": f2t.params["a"]}
        for conv, f in (("non_embedding", f2), ("total", f2t)):
            for c, n_opt, d_opt in zip(f.optima["C"], f.optima["N_opt"], f.optima["D_opt"]):
                row[f"tpp:{conv}:{float(c):.6g}"] = d_opt / n_opt
        for c, gc in m.groupby("C"):
            y = gc.sort_values("N").loss.to_numpy()
            row[f"left:{c}"], row[f"right:{c}"] = y[0] - y[1:-1].min(), y[-1] - y[1:-1].min()
        rows.append(row)
    return pd.DataFrame(rows)


def _three_approaches(df: pd.DataFrame, m: pd.DataFrame, per: pd.DataFrame, total: bool) -> Approaches:
    """Approaches 1, 2 and 3 with non-embedding N (``total`` False) or total N: the seed-median
    fits, a per approach with its interval (t over seeds for 1 and 2, Approach 3's bootstrap over
    runs), and Approach 3's exponents alpha and beta with theirs."""
    n_col, suffix = ("N_total", "_total") if total else ("N", "")
    f1, f2 = _approaches(m, n_col)
    t = lambda col: Estimate.mean_t(per[col], what="seeds")  # noqa: E731
    a1 = t("a1" + suffix)
    resolution = f1.info["a_resolution"]
    if resolution > AGREE_MARGIN:
        a1 = Estimate(a1.value, a1.lo, a1.hi, a1.level, a1.method,
                      f"Approach 1 reads optima off the grid: its a moves in steps of {resolution:.2f}, coarser than "
                      f"the +-{AGREE_MARGIN} agreement margin")
    f3 = fit_chinchilla(df.params_total if total else df.params_non_embedding, df.tokens, df.final_eval_loss,
                        method="huber")
    boot3 = f3.bootstrap(n=N_BOOT, seed=0)

    def boot(name: str, value: float) -> Estimate:
        lo, hi = np.nanpercentile(boot3.samples[name], [2.5, 97.5])
        return Estimate.interval(value, min(lo, value), max(hi, value), method=f"bootstrap over runs ({N_BOOT} refits)")

    a2m1 = paired_difference(per["a2" + suffix], per["a1" + suffix])
    if a1.problem:
        a2m1 = Estimate(a2m1.value, a2m1.lo, a2m1.hi, a2m1.level, a2m1.method, a1.problem)
    return Approaches(f1, f2, f3, a1, t("a2" + suffix), boot("a", f3.a), a2m1, boot("alpha", f3.alpha),
                      boot("beta", f3.beta))


@functools.lru_cache(maxsize=4)
def _analysis(df_json: str) -> Analysis:
    """Fits shared by the claims of one level (cached per process: Approach 3's bootstrap costs seconds)."""
    df = pd.read_json(io.StringIO(df_json), orient="split")
    m = _medians(df)
    per = _per_seed(df)
    t = lambda col: Estimate.mean_t(per[col], what="seeds")  # noqa: E731
    ne, total = _three_approaches(df, m, per, False), _three_approaches(df, m, per, True)
    gaps = {c: (t(f"left:{c}"), t(f"right:{c}")) for c in sorted(m.C.unique())}
    tpp = {(conv, float(c)): _geometric_mean(per[f"tpp:{conv}:{float(c):.6g}"])
           for conv in CONVENTIONS for c in sorted(m.C.unique())}
    return Analysis(m, ne, total, paired_difference(per["a2"], per["a2_total"]), gaps, tpp)


def _geometric_mean(values) -> Estimate:
    """The geometric mean of per-seed ratios with the t interval of their logs, exponentiated."""
    v = np.asarray(values, float)
    if not (np.isfinite(v).all() and (v > 0).all()):
        return Estimate.interval(math.nan, math.nan, math.nan, problem=f"a seed's Approach 2 parabola was excluded "
                                                                        f"at this budget (per seed: {v.tolist()})")
    return Estimate.geometric_mean_t(v, what="seeds")


def analysis(sweep, level, scale, device) -> tuple[pd.DataFrame, Analysis]:
    df = _runs(sweep, ladders.chinchilla_plan(level), scale, device)
    cols = ["C", "model.d_model", "seed", "params_non_embedding", "params_total", "tokens", "final_eval_loss"]
    return df, _analysis(df[cols].to_json(orient="split"))


@pytest.mark.claim(_claim_id("chinchilla-isoflop-minima"), headline="chinchilla", role="law",
                   claim="each IsoFLOP curve has an interior minimum; N_opt grows with C",
                   quantity="Approach 2 a (N_opt ~ C^a), mean over seeds", paper_value="interior minimum; N_opt ~ C^0.49",
                   tolerance="both ends of every IsoFLOP curve above its lowest interior point; a > 0",
                   justification="qualitative claims: each decided by the t interval over seeds of the gap or of a",
                   **COMMON)
@pytest.mark.parametrize("level", LEVELS)
def test_isoflop_minima(level, sweep, budget_scale, device, claim):
    df, an = analysis(sweep, level, budget_scale, device)
    claim.runs(df)
    ne = an.non_embedding
    opt = ne.f2.optima
    claim.measured(ne.a2)
    claim.note("Approach 2 N_opt per budget (seed medians): "
               + ", ".join(f"{c:.3g}: {n:.0f}" for c, n in zip(opt["C"], opt["N_opt"])))
    claim.points(an.m)
    claim.fit(ne.f2)
    groups = {f"C = {c:.3g} FLOPs": (g.N, g.loss) for c, g in an.m.groupby("C")}
    groups["Approach 2 optima"] = (opt["N_opt"], opt["L_opt"])
    claim.plot(plots.grouped_plot, groups, styles=["o-"] * (len(groups) - 1) + ["k*"], logx=True,
               xlabel="non-embedding parameters N", ylabel="held-out loss (nats/byte), seed median",
               title="IsoFLOP curves (stdlib bytes)")
    found = []
    for c, (left, right) in an.gaps.items():
        found += [checks.ordered(f"C={c:.3g}: smallest size above the interior minimum", left,
                                 labels=("interior minimum", "left end")),
                  checks.ordered(f"C={c:.3g}: largest size above the interior minimum", right,
                                 labels=("interior minimum", "right end"))]
    claim.check_all(*found, checks.ordered("Approach 2 N_opt grows with C (a > 0)", ne.a2, labels=("0", "a")))


@pytest.mark.claim(_claim_id("chinchilla-a"), headline="chinchilla", role="constant",
                   claim="N_opt ~ C^a with a ~ 0.5: parameters and tokens scale equally",
                   quantity="a (Approach 2, total N as Hoffmann et al. count it), mean over seeds",
                   paper_value=A_PAPER["approach2"],
                   tolerance=f"in [{A_BAND[0]}, {A_BAND[1]}]; Approaches 1/2/3 agree within +-{AGREE_MARGIN}",
                   justification="a ~ 0.5 ('scale N and D equally') is the number the folklore treats as universal, "
                                 "so it keeps a verdict, in the paper's counting (total parameters); band from "
                                 "docs/sources.md, 'Hoffmann et al. 2022': tiny IsoFLOP replications found 0.43-0.48, "
                                 "the papers 0.46-0.51; agreement margin: Hoffmann et al.'s approaches span 0.46-0.50, "
                                 "and 0.1 still separates Chinchilla's ~0.5 from Kaplan's 0.73",
                   expect=lambda level: A_EXPECT[level], **{**COMMON, "param_convention": "total"})
@pytest.mark.parametrize("level", LEVELS)
def test_allocation_exponent(level, sweep, budget_scale, device, claim):
    df, an = analysis(sweep, level, budget_scale, device)
    claim.runs(df)
    tot, ne = an.total, an.non_embedding
    claim.measured(tot.a2)
    claim.points(an.m)
    claim.fit(tot.f3)
    claim.note(f"a per approach, total N: 1 {tot.a1.text()}, 2 {tot.a2.text()} (per-seed t intervals), 3 "
               f"{tot.a3.text()}; non-embedding N (Kaplan's counting): 1 {ne.a1.text()}, 2 {ne.a2.text()}, 3 "
               f"{ne.a3.text()}; paper {A_PAPER}, Epoch refit {A_EPOCH}")
    claim.note(f"Approach 3 law (total N): E={tot.f3.E:.3g} A={tot.f3.A:.3g} B={tot.f3.B:.3g} alpha={tot.f3.alpha:.3g} "
               f"beta={tot.f3.beta:.3g}")
    f1, f2, f3 = tot.f1, tot.f2, tot.f3
    C = np.geomspace(min(an.m.C), max(an.m.C) * 10, 30)
    claim.plot(plots.grouped_plot, {
        "Approach 1 optima": (f1.optima["C"], f1.optima["N_opt"]),
        "Approach 2 optima": (f2.optima["C"], f2.optima["N_opt"]),
        f"Approach 2 law a={f2.params['a']:.2f}": (C, f2.predict(C)),
        f"Approach 3 law a={f3.a:.2f}": (C, _a3_curve(f3, f2, C)),
        f"paper slope a={A_PAPER['approach2']} (through Approach 2 at the smallest C)":
            (C, f2.predict(C[:1])[0] * (C / C[0]) ** A_PAPER["approach2"]),
    }, styles=["s", "o", "-", "--", ":"], logx=True, logy=True, xlabel="compute C (engine FLOPs)",
        ylabel="N_opt (total parameters)", title="Compute-optimal model size (seed medians)")
    claim.check_all(
        checks.within_band("a (Approach 2, total N)", tot.a2, *A_BAND),
        checks.agree_within("Approaches 1 and 2 (paired over seeds)", -tot.a2_minus_a1, AGREE_MARGIN, ("a1", "a2")),
        checks.agree_within("Approaches 2 and 3", difference(tot.a2, tot.a3), AGREE_MARGIN, ("a2", "a3")),
        checks.agree_within("Approaches 1 and 3", difference(tot.a1, tot.a3), AGREE_MARGIN, ("a1", "a3")),
    )


EXPONENTS_PAPER = {"alpha": 0.34, "beta": 0.28}
EXPONENTS_EPOCH = {"alpha": 0.3478, "beta": 0.3658}


@pytest.mark.comparison(lambda level, exponent: f"chinchilla-{exponent}" + ("" if level == "quick" else "-slow"),
                        headline="chinchilla", claim="L(N, D) = E + A/N^alpha + B/D^beta (Approach 3)",
                        quantity=lambda exponent: f"Approach 3's {exponent} (Huber fit on every run, total N)",
                        paper_value=lambda exponent: EXPONENTS_PAPER[exponent],
                        justification="Hoffmann et al.'s alpha 0.34 and beta 0.28 were fitted on MassiveText tokens "
                                      "at 7e7-1.6e10 parameters; Besiroglu et al. 2024 refit the same data to 0.35 "
                                      "and 0.37: the exponents belong to the data and the fitting procedure, and only "
                                      "their ratio (a = beta / (alpha + beta)) is claimed to carry over",
                        **{**COMMON, "param_convention": "total"})
@pytest.mark.parametrize("exponent", ["alpha", "beta"])
@pytest.mark.parametrize("level", LEVELS)
def test_law_exponents_beside_hoffmanns(level, exponent, sweep, budget_scale, device, claim):
    df, an = analysis(sweep, level, budget_scale, device)
    claim.runs(df)
    est = getattr(an.total, exponent)
    claim.measured(est)
    claim.fit(an.total.f3)
    claim.note(f"paper {EXPONENTS_PAPER[exponent]} (Hoffmann et al. 2022), Epoch's refit {EXPONENTS_EPOCH[exponent]}; "
               f"ours with non-embedding N: {getattr(an.non_embedding.f3, exponent):.3g}")


def _a3_curve(f3, f2, C):
    """Approach 3's N_opt ~ C**a3, drawn through Approach 2's optimum at the smallest C (the
    parametric law's own constant uses C = 6ND, not engine FLOPs, so only its slope is shown)."""
    return f2.predict(C[:1])[0] * (C / C[0]) ** f3.a


@pytest.mark.sanity(_claim_id("chinchilla-convention"),
                    claim="a with non-embedding N >= a with total N; tokens/param at the optimum reported",
                    quantity="a(non-embedding) - a(total), Approach 2, paired over seeds",
                    paper_value="> 0 (Pearce & Song 2024)", tolerance="> 0",
                    justification="bookkeeping: embeddings are a shrinking share of N as the optimum grows, so N_opt "
                                  "counted without them grows faster (the reason Kaplan got 0.73); a check of our "
                                  "counting, not evidence for a paper", **COMMON)
@pytest.mark.parametrize("level", LEVELS)
def test_counting_convention(level, sweep, budget_scale, device, claim):
    df, an = analysis(sweep, level, budget_scale, device)
    claim.runs(df)
    f2_total = an.total.f2
    claim.measured(an.convention)
    opt, opt_t = an.non_embedding.f2.optima, f2_total.optima
    tpp = opt["D_opt"] / opt["N_opt"]
    tpp_total = opt_t["D_opt"] / opt_t["N_opt"]
    claim.points(pd.DataFrame({"C": opt["C"], "tokens_per_param_non_embedding": tpp,
                               "tokens_per_param_total": tpp_total}))
    claim.fit(f2_total)
    claim.note("tokens/param at the optimum (Approach 2, seed medians), non-embedding vs total: " + "; ".join(
        f"C={c:.3g}: {a:.0f} vs {b:.0f}" for c, a, b in zip(opt["C"], tpp, tpp_total))
        + f" (paper ~{TOKENS_PER_PARAM_PAPER:.0f}; not asserted: see module docstring)")
    claim.plot(plots.grouped_plot, {"non-embedding N": (opt["C"], tpp), "total N": (opt_t["C"], tpp_total)},
               logx=True, logy=True, hline=("Chinchilla ~20 tokens/param", TOKENS_PER_PARAM_PAPER),
               xlabel="compute C (engine FLOPs)", ylabel="D_opt / N_opt (Approach 2)",
               title="Tokens per parameter at the optimum, two counting conventions")
    claim.check(checks.ordered("a(non-embedding) - a(total) > 0", an.convention, labels=("a(total)", "a(non-embedding)")))


@pytest.mark.claim(_claim_id("chinchilla-tokens-per-param"), headline="chinchilla", role="constant",
                   claim="about 20 training tokens per parameter at the compute optimum",
                   quantity="D_opt / N_opt at the largest budget, total N as Hoffmann et al. count it (Approach 2; "
                            "every budget in the checks), geometric mean over seeds",
                   paper_value=TOKENS_PER_PARAM_PAPER,
                   tolerance=f"in [{TPP_BAND[0]:.0f}, {TPP_BAND[1]:.0f}] at every budget, total N",
                   justification="'about 20 tokens per parameter' is the number the folklore treats as universal, so "
                                 "it keeps a verdict, in the paper's counting (total parameters); a factor of 2 either "
                                 "side of 20 for 'about'; narrower than the 5-39 that published laws extrapolate to at "
                                 "our budgets (docs/sources.md, 'Hoffmann et al. 2022')",
                   expect=expect.out_of_regime(
                       "our budgets (3e10-1e12 engine FLOPs) lie ~1e8 below Chinchilla's, where no published law pins "
                       "the ratio (Chinchilla's constants extrapolate to D/N ~5-7, Epoch's to ~34-39; tiny "
                       "replications at 1e15-3e16 FLOPs found 7-14); Porian et al. 2024: untuned learning rate, warmup "
                       "and AdamW beta2 across sizes move the small-scale optimum; our runs take few optimiser steps, "
                       "which favours small models trained on many tokens", expect="refuted", declared="after data",
                       note="the row was added in commit bf363cc (2026-12-01) after its quick numbers had been printed "
                            "as notes (181-260 non-embedding), and declared out of regime there; its expected verdict, "
                            "refuted, written out in issue 'Verdicts that answer' (item 2) from the quick run and the "
                            "slow results (docs/results-slow.md: 91.65 [61.59, 136.4]); its checks narrowed to total N "
                            "(the paper's counting) in item 1, after the slow total-N ratios (68-94) were known"),
                   **{**COMMON, "param_convention": "total"})
@pytest.mark.parametrize("level", LEVELS)
def test_tokens_per_parameter(level, sweep, budget_scale, device, claim):
    df, an = analysis(sweep, level, budget_scale, device)
    claim.runs(df)
    budgets = sorted({c for _, c in an.tpp})
    claim.measured(an.tpp[("total", budgets[-1])])
    claim.points(pd.DataFrame([{"C": c, "convention": conv, "tokens_per_param": e.value, "lo": e.lo, "hi": e.hi}
                               for (conv, c), e in an.tpp.items()]))
    claim.note("tokens/param at the Approach 2 optimum (geometric mean over seeds [95%]): " + "; ".join(
        f"C={c:.3g}: non-embedding {an.tpp[('non_embedding', c)].text()}, total {an.tpp[('total', c)].text()}"
        for c in budgets))
    claim.plot(plots.grouped_plot, {f"{conv.replace('_', '-')} N": (np.array(budgets),
                                                                    np.array([an.tpp[(conv, c)].value for c in budgets]))
                                    for conv in CONVENTIONS},
               logx=True, logy=True, hline=("Chinchilla ~20 tokens/param", TOKENS_PER_PARAM_PAPER),
               xlabel="compute C (engine FLOPs)", ylabel="D_opt / N_opt (Approach 2, geometric mean over seeds)",
               title="Tokens per parameter at the compute optimum")
    claim.check_all(*[checks.within_band(f"D_opt/N_opt, total N, C={c:.3g}", an.tpp[("total", c)], *TPP_BAND)
                      for c in budgets])


# SHOWDOWN_QUICK: the showdown runs under ``slow`` only (since 2026-12). The quick scale cannot
# decide it: at 3x the largest quick budget (10x the anchor) the two rules are only 10^0.23 = 1.7x
# apart in N, and an IsoFLOP curve is flat near its minimum, so the loss gap (~0.001 nats) lies far
# below the seed noise (~0.02). Its quick variant was declared inconclusive for that reason and
# measured so (paired margin +0.0008 [-0.060, 0.061] nats, widths 20 and 28 at 3e11, 3 seeds), at
# ~100 s of the quick set's one-core training: 6 runs at the quick set's largest budget for a
# row that could not come out any other way. The slow set extrapolates 10x past its largest
# budget, where the rules end 4.9x apart in N.
@pytest.mark.claim(_claim_id("chinchilla-vs-kaplan"), headline="chinchilla", role="law",
                   claim="at a held-out larger budget Chinchilla's allocation (N ~ C^0.5) beats Kaplan's (N ~ C^0.73)",
                   quantity="paired loss margin: Kaplan's allocation - Chinchilla's (nats/byte)",
                   paper_value="> 0", tolerance="t interval of the paired margin over seeds above 0",
                   justification="equal compute by construction; both papers' rules start from our measured optimum "
                                 "at the smallest budget, so only the growth exponent differs, and neither depends on "
                                 "our own fitted a (our fitted allocation is reported beside them)",
                   expect=expect.confirmed(),
                   **COMMON)
@pytest.mark.parametrize("level", [pytest.param("slow", marks=[pytest.mark.slow, pytest.mark.xfail(
    strict=True, reason=SHOWDOWN_SLOW_XFAIL)])])  # no quick variant: SHOWDOWN_QUICK
def test_allocation_showdown(level, sweep, budget_scale, device, claim):
    plan = ladders.chinchilla_plan(level)
    df, an = analysis(sweep, level, budget_scale, device)
    m, f2 = an.m, an.non_embedding.f2
    opt = f2.optima
    usable = opt["used"] & opt["interior"]
    if not usable.any():
        claim.runs(df)
        claim.inconclusive("a measured optimum to anchor at", "no budget has an interior Approach 2 vertex")
        return
    i0 = int(np.flatnonzero(usable)[np.argmin(opt["C"][usable])])
    c0, n_anchor = float(opt["C"][i0]), float(opt["N_opt"][i0])  # our measured optimum (seed medians)
    C = plan.showdown_factor * float(max(m.C))
    n_chin = ladders.kaplan_allocation(C, c0, n_anchor, ladders.CHINCHILLA_ALLOCATION_EXPONENT)
    n_kaplan = ladders.kaplan_allocation(C, c0, n_anchor)
    n_fit = float(f2.predict(np.array([C]))[0])
    w_chin, w_kap = ladders.width_for_params(n_chin), ladders.width_for_params(n_kaplan)
    claim.note(f"held-out C={C:.3g}, both rules from our measured optimum N_opt={n_anchor:.0f} at C={c0:.3g}: "
               f"Chinchilla N~C^{ladders.CHINCHILLA_ALLOCATION_EXPONENT} -> N={n_chin:.0f}, width {w_chin}; Kaplan "
               f"N~C^{ladders.KAPLAN_ALLOCATION_EXPONENT} -> N={n_kaplan:.0f}, width {w_kap}; our fitted allocation "
               f"(Approach 2, seed-median a={f2.params['a']:.3f}) -> N={n_fit:.0f}, width "
               f"{ladders.width_for_params(n_fit)} (reported, not trained)")
    if w_chin == w_kap:
        claim.runs(df)
        claim.inconclusive("allocations differ", f"the two rules round to the same width {w_chin}: nothing to compare")
        return
    runs = require_ok(sweep(ladders.showdown_specs(C, (w_chin, w_kap), plan.seeds, device), desc="showdown"))
    claim.runs(pd.concat([df, runs]))
    by = runs.pivot_table(index="seed", columns="model.d_model", values="final_eval_loss")
    margin = paired_difference(by[w_kap], by[w_chin])  # same seed = same data order and init stream
    claim.measured(margin)
    claim.points(runs[["model.d_model", "params_non_embedding", "seed", "tokens", "flops", "final_eval_loss"]])
    claim.note(f"paired (Kaplan - Chinchilla) loss per seed {np.round((by[w_kap] - by[w_chin]).to_numpy(), 4).tolist()}: "
               f"mean {margin.text()}")
    iso = m[m.C == max(m.C)]
    chin, kap = runs[runs["model.d_model"] == w_chin], runs[runs["model.d_model"] == w_kap]
    claim.plot(plots.grouped_plot, {
        f"IsoFLOP C={max(m.C):.3g} (median)": (iso.N, iso.loss),
        f"Chinchilla N~C^0.5 at C={C:.3g}": (chin.params_non_embedding, chin.final_eval_loss),
        f"Kaplan N~C^0.73 at C={C:.3g}": (kap.params_non_embedding, kap.final_eval_loss),
    }, styles=["o-", "bs", "r^"], logx=True, xlabel="non-embedding parameters N",
        ylabel="held-out loss (nats/byte)", title="Allocation showdown at equal compute (each seed)")
    claim.check(checks.ordered("Kaplan's allocation loses to Chinchilla's at equal compute (paired margin > 0)",
                               margin, labels=("Chinchilla loss", "Kaplan loss")))
