"""Repeated data: Muennighoff et al. 2023, "Scaling Data-Constrained Language Models" (NeurIPS;
docs/sources.md, 'Repeated data').

Paper: at a fixed compute budget, up to ~4 epochs of repeated data gives "negligible changes to
loss compared to having unique data"; with more repetition the value of repeated tokens decays,
which their law writes as effective data D' = U + U R_D* (1 - exp(-R_D / R_D*)) with R_D = D/U - 1
repetitions and R_D* = 15.4 (fitted with the excess-parameter constant R_N* = 5.3 on 182 runs,
7M-9B parameters, C4); around 40 epochs more repeats are nearly worthless.

Miniature (``scaling_claims.studies.data_value``): one decoder (2 layers, width 32, 25,472 non-embedding
parameters, the ladders' recipe) on the standard library's code, every run D tokens (quick:
131,072 = 128 steps of 16 x 64 bytes). Unique data: windows from the whole 11.6 MB training
split (fresh at every step). E epochs: the first U = D / E bytes only (``train_bytes``).
Deviations from the paper: (1) windows are drawn at random offsets, so "E epochs" is D/U passes
*in expectation* (at E = 4 about 2% of the bytes are never drawn); (2) U is a *prefix* of the
corpus sorted by path (a few files: 32 KB at 4 epochs, 2 KB at 64, which is __future__.py's
docstring), where the paper's U is a random sample of millions of C4 documents, so a small U here
is also a narrower sample; (3) one model size, so R_N* cannot be fitted: it is set to infinity (the
paper's Table 7 row "only decay D", which gave R_D* = 2.92 on its runs).

Quantities. Penalty: (L_E - L_unique) / L_unique, per seed (a seed fixes the initialisation for
every run), mean over seeds with its Student-t interval. Effective data D': each seed's clean
single-epoch curve (D/8..D, fresh windows, each run its own schedule, as the paper's D) inverted at
the repeated run's loss (``data_value.effective_data``; like the paper's D', a shorter clean run
also takes fewer steps). R_D*: per seed, the clean curve's power law with offset as the base law
(held fixed, as the paper held its C4 law), then ``fit.data_constrained.fit_data_constrained``
(Huber on log loss) for R_D* alone; the geometric mean over seeds with the t interval of mean log.

Design history (sizes, seeds, expectations fixed first: docs/sources.md, 'Verdict rules'). Pilot
on seeds 0-2 (a script with this file's recipe; not used for any verdict), E = 1..64 in powers of
2: unique 2.803 nats/byte; E = 1 on the first D bytes (no repetition to speak of) already +1.5%
[0.3%, 2.6%]; E = 2, 4, 8, 16, 32, 64: +2.7%, +3.2% [-2.1%, 8.5%], +2.3%, +4.8%, +10.0%, +19.7%
[17.9%, 21.6%]; average value of a repeated token 0.30, 0.51, 0.68, 0.48, 0.31, 0.19 [0.185,
0.197]; R_D* per seed 11.3, 11.4, 11.0, while each run alone implies R_D* 1.4 (E = 4), 7.5
(16), 12 (64): the law's one constant does not describe the small-E runs (the prefix effect).
Cost: a 128-step run ~1.2 s of CPU. Then the quick decision on fresh seeds 10-12 with
E = 4, 16, 64, expectations declared below before those seeds were trained (commit a9914f1).

Decision, seeds 10-12 (every verdict as declared): 4 epochs +4.1% [2.1%, 6.1%] above unique
data (16: +4.7% [-1.5%, 10.8%]; 64: +22.7% [11.1%, 34.2%]): refuted, outside the paper's regime
(reported inconclusive until 2026-12, when the expected verdict was written out after these data); average value of a repeated token 0.51 [0.13, 0.90] at 4
epochs, 0.61 [0.38, 0.84] at 16, 0.173 [0.135, 0.212] at 64 (paper's law 0.91, 0.64, 0.24):
confirmed below 0.5; R_D* 10.35 [8.40, 12.75] (seeds 9.4, 10.8, 10.9): confirmed inside the
paper's [2.92, 15.39], while single runs imply 1.97 (4 epochs), 13.8 (16), 11.0 (64). Cost: 21
runs, 1,872 steps, 33 s of training on one core at a load average of ~4 (~18 s of CPU).

Slow design. First run (2026-12) on the quality claims' slow plan (512 steps, seeds 20-27): 4
epochs +9.7% [8.6%, 10.8%] (evidence refuted, outside the paper's regime); average value of a
repeated token at 64 epochs 0.082 [0.066, 0.097] (confirmed); R_D* not measured: on every seed
the clean curve over 64-512 steps still steepens, so its law's floor went to 0 (it wants a
negative one) and there was no base law: a mis-sized design. Resized before any new run
(``data_value.repetition_plan``: 4,096 steps, where a pilot on seeds 0-1 found a positive floor,
on fresh seeds 30-37), every expectation unchanged; all three slow claims are decided there.
Decision (2026-12; 48 min of wall time on both cores, partly shared with two pilots): 4 epochs
+23.4% [22.4%, 24.4%] (refuted, outside the paper's regime; 1 epoch of the first D bytes
already +2.2%); average value of a repeated token at 64 epochs 0.034 [0.030, 0.037] (confirmed, as
declared); R_D* 2.37 [1.47, 3.83], straddling the band's lower edge 2.92: inconclusive against the
declared confirmed, a strict xfail with its numbers (``RD_STAR_SLOW_XFAIL``). At this D the prefix
effect dominates: two passes over the first 2 MB end worse than one fresh pass of as many tokens
as those 2 MB hold (average value -0.33), which no decay constant describes.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scaling_claims.studies import data_value as dv
from scaling_claims.verdicts import checks, expect, plots
from scaling_claims.studies.data_value import final_losses
from scaling_claims.fit.data_constrained import data_constrained_loss, effective_data
from scaling_claims.runs.sweep import require_ok

PAPER = "Muennighoff et al. 2023 (Scaling Data-Constrained Language Models)"
REFERENCE = Path(__file__).resolve().parents[1] / "tests" / "reference-data" / "datablations_contour_losses_colpret.csv"
# "Negligible": the largest relative penalty among the paper's own runs at 1 < epochs <= 4 against
# the unique-data run of the same N and D (18 runs, median +0.42%, largest +1.32%; computed here
# from their runs). A repeated run within that band is as close to unique data as the paper's were.
PAPER_PENALTIES = dv.paper_repetition_penalties(pd.read_csv(REFERENCE))
NEGLIGIBLE = float(PAPER_PENALTIES.penalty.abs().max())
# "Much less": repeated tokens worth less than half a fresh one on average at the design's most
# epochs (64). The paper's law gives 0.24 there (0.64 at 16 epochs; "around 40 epochs, extra
# compute is nearly worthless"), so 0.5 is the claim's qualitative reading, not its number.
MUCH_LESS = 0.5
# R_D*: the spread of the paper's own fits of R_D* on its 182 runs (its Table 7): 2.9157 with only
# the data term decaying (R_N* = inf, the form fitted here) and 15.3878 with both decays.
RD_BAND = (2.9157, 15.3878)

QUICK_PLAN, SLOW_PLAN = dv.repetition_plan("quick"), dv.repetition_plan("slow")
PLANS = [pytest.param(QUICK_PLAN, marks=pytest.mark.quick, id="quick"),
         pytest.param(SLOW_PLAN, marks=pytest.mark.slow, id="slow")]
# The resized slow design's decision (2026-12, seeds 30-37): a known failure of the declaration
RD_STAR_SLOW_XFAIL = (
    "declared confirmed; decided on the resized slow design (4,096 steps, seeds 30-37): R_D* 2.37 [1.47, 3.83] "
    "(per seed 0.91, 3.04, 3.20, 3.43, 2.79, 3.22, 3.72, 0.98) straddles the band's lower edge 2.92: inconclusive. "
    "Repeats lose value faster than the paper's law here: 2 epochs cost +16.5% and are worth less than nothing "
    "(average value -0.33), 64 epochs +60%, because U is a prefix of the path-sorted corpus (a narrow sample) where "
    "the paper's U is a random sample of C4")
RD_PLANS = [PLANS[0], pytest.param(SLOW_PLAN, id="slow",
                                   marks=[pytest.mark.slow, pytest.mark.xfail(strict=True, reason=RD_STAR_SLOW_XFAIL)])]
N_PARAMS = 25_472  # non-embedding parameters of dv.model()
PREFIX = ("U is a prefix of the corpus sorted by path (a few files; at 4 epochs of the quick D, 32 KB), where the "
          "paper's U is a random sample of millions of C4 documents: in the pilot, one pass over the first D bytes, "
          "with no repetition to speak of, was already +1.5% [0.3%, 2.6%] above fresh windows, more than the whole "
          "band; and the pilot's 3-seed interval of the 4-epoch penalty was +-5%, four times the band")
COMMON = dict(paper=PAPER, param_convention="one decoder, 2 layers, width 32: 25,472 non-embedding parameters",
              seeds=lambda plan: list(plan.seeds), budget=lambda plan: plan.budget)


def suffix(plan) -> str:
    return "" if plan.level == "quick" else "-slow"


class Runs:
    """The clean curve and the repeated runs of a plan, as (points, seeds) loss arrays."""

    def __init__(self, sweep, device, plan):
        clean = sweep.results(plan.clean_specs(device), desc=f"data clean curve {plan.level}")
        repeated = sweep.results(plan.repeated_specs(device), desc=f"data repetition {plan.level}")
        k = len(plan.seeds)
        self.results = require_ok(clean + repeated)
        self.D = plan.clean_tokens
        self.clean = final_losses(clean, k)
        self.unique = self.clean[-1]  # fresh windows at the full D
        self.epochs = np.array(plan.epochs, float)
        self.repeated = final_losses(repeated, k)
        self.U = np.array([plan.unique_bytes(e) for e in plan.epochs], float)

    def points(self, plan) -> dict:
        out = {"epochs": [1.0] + list(self.epochs), "unique_bytes": ["all"] + [int(u) for u in self.U]}
        for j, s in enumerate(plan.seeds):
            out[f"loss_seed_{s}"] = [self.unique[j]] + list(self.repeated[:, j])
        return out


def loss_plot(claim, plan, runs, title, extra=None, hline=None):
    groups = {f"seed {s}": ([1.0] + list(runs.epochs), [runs.unique[j]] + list(runs.repeated[:, j]))
              for j, s in enumerate(plan.seeds)}
    claim.plot(plots.grouped_plot, {**groups, **(extra or {})}, xlabel="epochs E = D / U (1: fresh windows)",
               ylabel="held-out loss (nats/byte)", logx=True, title=title, hline=hline)


@pytest.mark.parametrize("plan", PLANS)
@pytest.mark.claim(lambda plan: f"data-repetition-4-epochs{suffix(plan)}",
                   claim="up to ~4 epochs, repeated data is almost as good as unique data",
                   quantity="relative loss penalty of D tokens from U = D/E bytes vs D fresh tokens, each E <= 4 "
                            "(paired over seeds)",
                   paper_value=(f"negligible; the paper's runs at 1 < E <= 4: median "
                                f"+{PAPER_PENALTIES.penalty.median():.2%}, largest +{NEGLIGIBLE:.2%}"),
                   tolerance=f"every interval inside +-{NEGLIGIBLE:.2%}",
                   justification="the largest penalty among the paper's own 18 runs at 1 < E <= 4 (datablations "
                                 "runs, tests/reference-data)",
                   expect=lambda plan: expect.out_of_regime(
                       PREFIX, expect="refuted", declared="after data",
                       note="declared out of regime in commit a9914f1 (2026-12-01), before its decisive runs, when a "
                            "refutation there was reported inconclusive; its expected verdict, refuted, written out "
                            "in issue 'Verdicts that answer' (item 2) from the quick decision (+4.1% [2.1%, 6.1%] at "
                            "4 epochs) and the slow one (+23.4% [22.4%, 24.4%])"), **COMMON)
def test_a_few_epochs_are_almost_as_good_as_unique_data(claim, sweep, device, plan):
    runs = Runs(sweep, device, plan)
    claim.runs(runs.results)
    few = [i for i, e in enumerate(runs.epochs) if 1 < e <= 4]
    penalties = [dv.relative_penalty(runs.repeated[i], runs.unique) for i in few]
    claim.measured(max(penalties, key=lambda e: abs(e.value)))
    for i, p in zip(few, penalties):
        claim.note(f"{runs.epochs[i]:g} epochs (U = {int(runs.U[i]):,} bytes): penalty {p.text()}")
    for i, e in enumerate(runs.epochs):
        if e > 4 or e == 1:
            claim.note(f"{e:g} epoch(s): penalty {dv.relative_penalty(runs.repeated[i], runs.unique).text()}")
    claim.points(runs.points(plan))
    loss_plot(claim, plan, runs, f"Repeated data at D = {plan.tokens:,} tokens",
              hline=(f"unique (median) + {NEGLIGIBLE:.2%}", float(np.median(runs.unique) * (1 + NEGLIGIBLE))))
    claim.check(checks.all_within("penalty vs unique data", penalties, -NEGLIGIBLE, NEGLIGIBLE,
                                  labels=[f"{runs.epochs[i]:g} epochs" for i in few]))


@pytest.mark.parametrize("plan", PLANS)
@pytest.mark.claim(lambda plan: f"data-repetition-many-epochs{suffix(plan)}",
                   claim="at many epochs, repeated tokens are worth much less than fresh ones",
                   quantity="average value of a repeated token (D' - U) / (D - U) at the most epochs (64), D' from "
                            "the clean single-epoch curve; mean over seeds",
                   paper_value="0.24 at 64 epochs under the paper's law (R_D* = 15.4); 0.64 at 16",
                   tolerance=f"whole interval <= {MUCH_LESS}",
                   justification="'much less' read as less than half a fresh token; the paper's law gives 0.24 there "
                                 "(see MUCH_LESS)", **COMMON)
def test_many_epochs_are_worth_much_less(claim, sweep, device, plan):
    runs = Runs(sweep, device, plan)
    claim.runs(runs.results)
    D = float(plan.tokens)
    values = {e: dv.repeated_value_estimate(runs.D, runs.clean, runs.repeated[i], D, runs.U[i])
              for i, e in enumerate(runs.epochs) if e > 1}
    top = max(values)
    claim.measured(values[top])
    for e, v in values.items():
        paper = effective_data(D, D / e, dv.PAPER_RD_STAR)[0] - D / e
        claim.note(f"{e:g} epochs: average value {v.text()} (paper's law {paper / (D - D / e):.2f})")
    d_eff = {e: dv.effective_per_seed(runs.D, runs.clean, runs.repeated[i])[0] for i, e in enumerate(runs.epochs)}
    claim.points({"epochs": list(d_eff), **{f"d_eff_over_D_seed_{s}": [d_eff[e][j] / D for e in d_eff]
                                            for j, s in enumerate(plan.seeds)},
                  "paper_law_d_eff_over_D": [float(effective_data(D, D / e, dv.PAPER_RD_STAR)[0] / D) for e in d_eff]})
    grid = np.geomspace(1, max(d_eff), 50)
    groups = {f"seed {s}": (list(d_eff), [d_eff[e][j] / D for e in d_eff]) for j, s in enumerate(plan.seeds)}
    groups[f"paper's law, R_D* = {dv.PAPER_RD_STAR}"] = (grid, effective_data(D, D / grid, dv.PAPER_RD_STAR) / D)
    claim.plot(plots.grouped_plot, groups, xlabel="epochs E = D / U", ylabel="effective data D' / D", logx=True,
               logy=True, styles=["o-"] * len(plan.seeds) + ["k:"],
               title=f"What D = {plan.tokens:,} repeated tokens are worth")
    claim.check(checks.at_most(f"average value of a repeated token at {top:g} epochs", values[top], MUCH_LESS))


@pytest.mark.parametrize("plan", RD_PLANS)
@pytest.mark.claim(lambda plan: f"data-repetition-rd-star{suffix(plan)}",
                   claim="the value of repeated data decays with the paper's constant R_D*",
                   quantity="R_D* of the data-constrained law (R_N* = inf, base law per seed from its clean curve), "
                            "geometric mean over seeds",
                   paper_value="15.4 (with R_N* = 5.3); 2.92 with only the data term decaying (Table 7)",
                   tolerance=f"whole interval inside [{RD_BAND[0]}, {RD_BAND[1]}]",
                   justification="the spread of the paper's own R_D* fits on its runs (Table 7: only D decaying, "
                                 "as fitted here, and both decaying)", **COMMON)
def test_decay_constant_of_repeated_data(claim, sweep, device, plan):
    runs = Runs(sweep, device, plan)
    claim.runs(runs.results)
    law = plan.law_mask  # the base law on the clean runs of >= D/8 tokens (data_value.LAW_MAX_DIVISOR)
    rd = dv.fit_rd_star(runs.D[law], runs.clean[law], float(plan.tokens), runs.U, runs.repeated, N_PARAMS)
    claim.measured(rd.estimate)
    claim.note("R_D* per seed: " + ", ".join(f"{v:.3g}" for v in rd.per_seed))
    D = float(plan.tokens)
    for i, e in enumerate(runs.epochs):
        if e > 1:
            v = dv.repeated_value_estimate(runs.D, runs.clean, runs.repeated[i], D, runs.U[i]).value
            alone = dv.implied_rd_star(v, e) if v > 0 else math.nan
            claim.note(f"{e:g} epochs alone implies R_D* {alone:.3g} (average value {v:.3f})")
    # each seed's law (its base, its R_D*) and the same base with the paper's R_D*, at the design's points
    N = np.full(runs.epochs.size, float(N_PARAMS))
    ours = np.array([f.predict(N, np.full(N.size, D), np.minimum(runs.U, D)) for f in rd.fits]).T
    paper = np.array([data_constrained_loss(N, D, np.minimum(runs.U, D), f.base, dv.PAPER_RD_STAR, math.inf)
                      for f in rd.fits]).T
    claim.points({"epochs": runs.epochs, "median_loss": np.median(runs.repeated, axis=1),
                  "law_ours_median": np.median(ours, axis=1), "law_paper_rd_median": np.median(paper, axis=1),
                  **{f"rd_star_seed_{s}": [v] * runs.epochs.size for s, v in zip(plan.seeds, rd.per_seed)}})
    loss_plot(claim, plan, runs, f"Data-constrained law at D = {plan.tokens:,} (R_D* {rd.estimate.value:.3g})",
              extra={f"law, our R_D* (median over seeds)": (runs.epochs, np.median(ours, axis=1)),
                     f"law, R_D* = {dv.PAPER_RD_STAR} (same bases)": (runs.epochs, np.median(paper, axis=1))})
    claim.check(checks.within_band("R_D* vs the paper's fits", rd.estimate, *RD_BAND))
