"""Hoffmann et al. 2022 ("Chinchilla"): compute-optimal allocation, on the stdlib byte corpus.

Paper: N_opt ~ C**a with a = 0.50 / 0.49 / 0.46 (Approaches 1 / 2 / 3), about 20 tokens per
parameter; Epoch AI's refit of the paper's data gives a = 0.513 (CLAIMS.md section 2).

Design (see scaling_claims.ladders.chinchilla_plan): IsoFLOP grids of depth-2 decoders at
several engine-FLOP budgets (6 N_matmul + attention per token), 3 seeds per point, medians.
- Approaches 1 and 2 run on the seed medians; Approach 3 (the parametric law, Huber on log
  loss) on every run. The quick set has two budgets, which fix a line through two optima but
  give no regression CI, so the CIs of Approaches 1 and 2 come from a bootstrap over seeds
  (resample each point's seeds, recompute the optima and a): that is the training noise the
  estimate actually carries. Approach 3's CI is its own bootstrap over runs.
- Sizes are non-embedding N unless said otherwise; the counting-convention claim repeats
  Approach 2 with total N.
- Tokens per parameter at the optimum is reported under both conventions, never asserted:
  the ratio at 1e10-1e11 FLOPs is not pinned down by any published law (Chinchilla's constants
  extrapolated give ~5-7, Epoch's ~34-39), and at this scale runs with few optimiser steps
  are step-limited, which pushes the optimum toward small models and many tokens.
"""

from __future__ import annotations

import functools
import io

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from scaling_claims import checks, ladders, plots
from scaling_claims.fit import fit_chinchilla, fit_isoflop_approach1, fit_isoflop_approach2
from scaling_claims.sweep import require_ok

PAPER = "Hoffmann et al. 2022"
A_PAPER = {"approach1": 0.50, "approach2": 0.49, "approach3": 0.46}
A_EPOCH = 0.513
TOKENS_PER_PARAM_PAPER = 20.0
A_BAND = (0.35, 0.65)  # CLAIMS.md: tiny IsoFLOP replications found 0.43-0.48; the papers 0.46-0.51
N_BOOT = 200
LEVELS = [pytest.param("quick", marks=pytest.mark.quick), pytest.param("slow", marks=pytest.mark.slow)]


def _claim_id(base: str, level: str) -> str:
    return base if level == "quick" else f"{base}-slow"


def _runs(sweep, plan, scale, device) -> pd.DataFrame:
    df = sweep(ladders.isoflop_specs(plan, scale, device), desc="chinchilla isoflop")
    bad = df[df.status != "ok"]
    if len(bad):
        raise RuntimeError(f"{len(bad)} IsoFLOP run(s) failed: {sorted(set(bad.failure))}")
    return df.assign(C=df["budget.flops"])


def _medians(df: pd.DataFrame) -> pd.DataFrame:
    g = df.groupby(["C", "model.d_model"])
    out = g.agg(N=("params_non_embedding", "first"), N_total=("params_total", "first"), D=("tokens", "median"),
                loss=("final_eval_loss", "median"), lo=("final_eval_loss", "min"), hi=("final_eval_loss", "max"))
    return out.reset_index().sort_values(["C", "N"]).reset_index(drop=True)


def _approaches(m: pd.DataFrame, n_col: str = "N"):
    return (fit_isoflop_approach1(m[n_col], m.D, m.loss, m.C), fit_isoflop_approach2(m[n_col], m.D, m.loss, m.C))


def _seed_bootstrap(df: pd.DataFrame, n_col: str = "N", n: int = N_BOOT, seed: int = 0):
    """Samples of a (Approaches 1 and 2) over resampled seeds; resamples where Approach 2 has
    fewer than 2 usable budgets are counted, not used."""
    rng = np.random.default_rng(seed)
    groups = [g for _, g in df.groupby(["C", "model.d_model"])]
    a1, a2, failed = [], [], 0
    for _ in range(n):
        rows = [g.iloc[rng.integers(0, len(g), len(g))] for g in groups]
        m = _medians(pd.concat(rows))
        try:
            f1, f2 = _approaches(m, n_col)
        except ValueError:
            failed += 1
            continue
        a1.append(f1.params["a"])
        a2.append(f2.params["a"])
    return np.array(a1), np.array(a2), failed


def _ci(samples: np.ndarray, estimate: float) -> tuple[float, float]:
    """95% percentile interval, widened to contain the estimate itself (a percentile interval
    of a discrete statistic such as Approach 1's can miss it)."""
    lo, hi = np.percentile(samples, [2.5, 97.5])
    return float(min(lo, estimate)), float(max(hi, estimate))


@functools.lru_cache(maxsize=4)
def _analysis(df_json: str):
    """Fits shared by the claims of one level (cached per process: the bootstraps cost seconds)."""
    df = pd.read_json(io.StringIO(df_json), orient="split")
    m = _medians(df)
    f1, f2 = _approaches(m)
    b1, b2, failed = _seed_bootstrap(df)
    f3 = fit_chinchilla(df.params_non_embedding, df.tokens, df.final_eval_loss, method="huber")
    boot3 = f3.bootstrap(n=N_BOOT, seed=0)
    return m, f1, f2, f3, {"a1": _ci(b1, f1.params["a"]), "a2": _ci(b2, f2.params["a"]),
                           "a3": _ci(boot3.samples["a"], f3.a), "failed": failed}


def analysis(sweep, level, scale, device):
    df = _runs(sweep, ladders.chinchilla_plan(level), scale, device)
    cols = ["C", "model.d_model", "seed", "params_non_embedding", "params_total", "tokens", "final_eval_loss"]
    return df, _analysis(df[cols].to_json(orient="split"))


def _declare(rec, base, level, scale, **fields):
    plan = ladders.chinchilla_plan(level)
    rec.declare(_claim_id(base, level), paper=PAPER, param_convention="non_embedding",
                  budget="IsoFLOP " + ", ".join(f"{c * scale:.3g}" for c in plan.budgets) + " FLOPs", **fields)
    return plan


@pytest.mark.parametrize("level", LEVELS)
def test_isoflop_minima(level, sweep, budget_scale, device, claim):
    _declare(claim, "chinchilla-isoflop-minima", level, budget_scale,
             claim="each IsoFLOP curve has an interior minimum; N_opt grows with C",
             quantity="Approach 2 N_opt per budget", paper_value="interior minimum; N_opt ~ C^0.49",
             tolerance="argmin not at a grid edge (seed medians); slope of log N_opt on log C > 0",
             justification="qualitative claims; medians of 3 seeds so one noisy run cannot move an argmin")
    df, (m, f1, f2, f3, ci) = analysis(sweep, level, budget_scale, device)
    claim.runs(df)
    opt = f2.optima
    claim.measured(", ".join(f"{c:.3g}: {n:.0f}" for c, n in zip(opt["C"], opt["N_opt"])))
    claim.points(m)
    claim.fit(f2)
    groups = {f"C = {c:.3g} FLOPs": (g.N, g.loss) for c, g in m.groupby("C")}
    groups["Approach 2 optima"] = (opt["N_opt"], opt["L_opt"])
    claim.plot(plots.grouped_plot, groups, styles=["o-"] * (len(groups) - 1) + ["k*"], logx=True,
               xlabel="non-embedding parameters N", ylabel="held-out loss (nats/byte), seed median",
               title="IsoFLOP curves (stdlib bytes)")
    found = [checks.interior_minimum(f"interior minimum at C={c:.3g}", g.N, g.loss) for c, g in m.groupby("C")]
    claim.check_all(*found, checks.grows_with("Approach 2 N_opt grows with C", opt["C"], opt["N_opt"]),
                    checks.grows_with("Approach 1 N_opt grows with C", f1.optima["C"], f1.optima["N_opt"]))


@pytest.mark.parametrize("level", LEVELS)
def test_allocation_exponent(level, sweep, budget_scale, device, claim):
    _declare(claim, "chinchilla-a", level, budget_scale, claim="N_opt ~ C^a",
             quantity="a (Approach 2, non-embedding N)", paper_value=A_PAPER["approach2"],
             tolerance=f"in [{A_BAND[0]}, {A_BAND[1]}]; Approaches 1/2/3 CIs overlap",
             justification="band from CLAIMS.md: tiny IsoFLOP replications found 0.43-0.48, the papers "
                           "0.46-0.51, widened for a 2-budget miniature sweep; CIs: 95% seed bootstrap")
    df, (m, f1, f2, f3, ci) = analysis(sweep, level, budget_scale, device)
    claim.runs(df)
    a1, a2, a3 = f1.params["a"], f2.params["a"], f3.a
    claim.measured(a2, ci=ci["a2"])
    claim.points(m)
    claim.fit(f3)
    claim.note(f"a: Approach 1 {a1:.3f} {ci['a1']}, Approach 2 {a2:.3f} {ci['a2']}, Approach 3 {a3:.3f} {ci['a3']}; "
               f"paper {A_PAPER}, Epoch refit {A_EPOCH}; {ci['failed']} of {N_BOOT} seed resamples unusable")
    claim.note(f"Approach 3 law: E={f3.E:.3g} A={f3.A:.3g} B={f3.B:.3g} alpha={f3.alpha:.3g} beta={f3.beta:.3g}")
    C = np.geomspace(min(m.C), max(m.C) * 10, 30)
    claim.plot(plots.grouped_plot, {
        "Approach 1 optima": (f1.optima["C"], f1.optima["N_opt"]),
        "Approach 2 optima": (f2.optima["C"], f2.optima["N_opt"]),
        f"Approach 2 law a={a2:.2f}": (C, f2.predict(C)),
        f"Approach 3 law a={a3:.2f}": (C, _a3_curve(f3, f2, C)),
        f"paper slope a={A_PAPER['approach2']} (through Approach 2 at the smallest C)":
            (C, f2.predict(C[:1])[0] * (C / C[0]) ** A_PAPER["approach2"]),
    }, styles=["s", "o", "-", "--", ":"], logx=True, logy=True, xlabel="compute C (engine FLOPs)",
        ylabel="N_opt (non-embedding)", title="Compute-optimal model size")
    claim.check_all(
        checks.within_band("a (Approach 2)", a2, *A_BAND),
        checks.agree_within_ci("Approaches 1 and 2", a1, ci["a1"], a2, ci["a2"], ("a1", "a2")),
        checks.agree_within_ci("Approaches 2 and 3", a2, ci["a2"], a3, ci["a3"], ("a2", "a3")),
        checks.agree_within_ci("Approaches 1 and 3", a1, ci["a1"], a3, ci["a3"], ("a1", "a3")),
    )


def _a3_curve(f3, f2, C):
    """Approach 3's N_opt ~ C**a3, drawn through Approach 2's optimum at the smallest C (the
    parametric law's own constant uses C = 6ND, not engine FLOPs, so only its slope is shown)."""
    return f2.predict(C[:1])[0] * (C / C[0]) ** f3.a


@pytest.mark.parametrize("level", LEVELS)
def test_counting_convention(level, sweep, budget_scale, device, claim):
    _declare(claim, "chinchilla-convention", level, budget_scale,
             claim="a with non-embedding N >= a with total N; tokens/param at the optimum reported",
             quantity="a(non-embedding) - a(total), Approach 2", paper_value="> 0 (Pearce & Song 2024)",
             tolerance=">= 0", justification="embeddings are a shrinking share of N as models grow, so N_opt "
                                            "counted without them grows faster (the reason Kaplan got 0.73)")
    df, (m, f1, f2, f3, ci) = analysis(sweep, level, budget_scale, device)
    claim.runs(df)
    f2_total = fit_isoflop_approach2(m.N_total, m.D, m.loss, m.C)
    diff = f2.params["a"] - f2_total.params["a"]
    claim.measured(diff)
    opt, opt_t = f2.optima, f2_total.optima
    tpp = opt["D_opt"] / opt["N_opt"]
    tpp_total = opt_t["D_opt"] / opt_t["N_opt"]
    table = pd.DataFrame({"C": opt["C"], "tokens_per_param_non_embedding": tpp, "tokens_per_param_total": tpp_total})
    claim.points(table)
    claim.fit(f2_total)
    claim.note("tokens/param at the optimum (Approach 2), non-embedding vs total: " + "; ".join(
        f"C={c:.3g}: {a:.0f} vs {b:.0f}" for c, a, b in zip(opt["C"], tpp, tpp_total))
        + f" (paper ~{TOKENS_PER_PARAM_PAPER:.0f}; not asserted: see module docstring)")
    claim.note(f"a: non-embedding {f2.params['a']:.3f}, total {f2_total.params['a']:.3f}")
    claim.plot(plots.grouped_plot, {"non-embedding N": (opt["C"], tpp), "total N": (opt_t["C"], tpp_total)},
               logx=True, logy=True, hline=("Chinchilla ~20 tokens/param", TOKENS_PER_PARAM_PAPER),
               xlabel="compute C (engine FLOPs)", ylabel="D_opt / N_opt (Approach 2)",
               title="Tokens per parameter at the optimum, two counting conventions")
    claim.check(checks.at_least("a(non-embedding) - a(total)", diff, 0.0))


@pytest.mark.parametrize("level", LEVELS)
def test_allocation_showdown(level, sweep, budget_scale, device, claim):
    plan = _declare(claim, "chinchilla-vs-kaplan", level, budget_scale,
                    claim="at a held-out larger budget the fitted allocation beats Kaplan's N ~ C^0.73",
                    quantity="paired loss margin: Kaplan allocation - fitted allocation (nats/byte)",
                    paper_value="> 0", tolerance="paired mean margin > t(0.95) x its SE over seeds",
                    justification="equal compute by construction; both allocations anchored at the fitted "
                                  "optimum of the smallest budget so only the growth exponent differs")
    df, (m, f1, f2, f3, ci) = analysis(sweep, level, budget_scale, device)
    c0 = float(min(m.C))
    C = plan.showdown_factor * float(max(m.C))
    n_anchor = float(f2.predict(np.array([c0]))[0])
    n_fit = float(f2.predict(np.array([C]))[0])
    n_kaplan = ladders.kaplan_allocation(C, c0, n_anchor)
    w_fit, w_kap = ladders.width_for_params(n_fit), ladders.width_for_params(n_kaplan)
    claim.note(f"held-out C={C:.3g}: fitted N={n_fit:.0f} -> width {w_fit}; Kaplan N={n_kaplan:.0f} -> width {w_kap} "
               f"(anchor N_opt={n_anchor:.0f} at C={c0:.3g}, fitted a={f2.params['a']:.3f})")
    if w_fit == w_kap:
        pytest.skip(f"the two allocations round to the same width {w_fit} (a={f2.params['a']:.3f} ~ 0.73)")
    runs = require_ok(sweep(ladders.showdown_specs(C, (w_fit, w_kap), plan.seeds, device), desc="showdown"))
    claim.runs(pd.concat([df, runs]))
    by = runs.pivot_table(index="seed", columns="model.d_model", values="final_eval_loss")
    paired = (by[w_kap] - by[w_fit]).to_numpy()  # same seed = same data order and init stream
    margin = float(paired.mean())
    se = float(paired.std(ddof=1) / np.sqrt(len(paired)))
    t95 = float(stats.t.ppf(0.95, len(paired) - 1))
    claim.measured(margin, ci=(margin - t95 * se, margin + t95 * se), level=0.90)
    claim.points(runs[["model.d_model", "params_non_embedding", "seed", "tokens", "flops", "final_eval_loss"]])
    claim.note(f"paired (Kaplan - fitted) loss per seed {np.round(paired, 4).tolist()}: mean {margin:.4f}, "
               f"SE {se:.4f}; the claim needs mean > t(0.95, {len(paired) - 1}) * SE = {t95 * se:.4f}")
    iso = m[m.C == max(m.C)]
    claim.plot(plots.grouped_plot, {
        f"IsoFLOP C={max(m.C):.3g} (median)": (iso.N, iso.loss),
        f"fitted allocation at C={C:.3g}": (runs[runs["model.d_model"] == w_fit].params_non_embedding,
                                            runs[runs["model.d_model"] == w_fit].final_eval_loss),
        f"Kaplan N~C^0.73 at C={C:.3g}": (runs[runs["model.d_model"] == w_kap].params_non_embedding,
                                          runs[runs["model.d_model"] == w_kap].final_eval_loss),
    }, styles=["o-", "bs", "r^"], logx=True, xlabel="non-embedding parameters N",
        ylabel="held-out loss (nats/byte)", title="Allocation showdown at equal compute (each seed)")
    check = checks.at_least("paired margin (Kaplan - fitted) above one-sided 95% noise", margin, t95 * se)
    if level == "quick":
        # Measured: margin +0.001 +- 0.014 nats. A 10x extrapolation from the smallest budget
        # separates the two allocations by only ~2x in N, and an IsoFLOP curve is flat near its
        # minimum, so the loss gap (~0.001 nats) is below the seed noise (~0.02): the quick
        # set cannot show the claim. The slow set extrapolates further (see chinchilla_plan).
        claim.expect_inconclusive(check, "not resolvable at the quick scale: allocations ~2x apart in N")
    else:
        claim.check(check)

