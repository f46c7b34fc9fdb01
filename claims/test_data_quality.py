"""Data quality: how much a partly corrupted corpus is worth (the research plan's "quality matters";
docs/sources.md, 'Data quality': assert only monotone degradation and what else has a source).

Miniature (``scaling_claims.studies.data_value``; the same decoder, recipe, D and seeds as the repeated-data
claims, whose clean runs these share): D tokens of the standard library's code (quick: 131,072,
128 steps), fresh windows from the whole training split, where documents (files) holding a
fraction q of the training bytes are corrupted: "random" (every byte replaced by a uniform random
byte) or "shuffle" (the file's bytes permuted: the same byte frequencies, no order). Held-out
files are never corrupted: the loss is clean held-out loss. A seed fixes the initialisation, the
window offsets (the same for every q: a corrupted run sees the same positions, some of them
corrupted) and which files are corrupted.

Quantities. Each step of q: the change of loss, paired over seeds (Student-t interval). Worth:
the effective data of a corrupted run, its seed's clean single-epoch curve (D/8..D, each run its
own schedule) inverted at its loss (``data_value.effective_data``), over the clean tokens it held,
D_eff / ((1 - q) D): 1 if the corrupted files were simply lost, > 1 if they still helped, < 1 if
they did harm; geometric mean over seeds with the t interval of the mean log. As with Kaplan's and
Muennighoff et al.'s D, a clean run with fewer tokens also takes fewer steps, so "worth" includes
what the corrupted run's extra steps buy.

Reasons for what is asserted. Monotone: at fixed tokens seen, more corruption means fewer clean
tokens and more of the model's capacity and steps spent on bytes that say nothing about clean
code. Random bytes: Ru et al. 2025 ("Do we really have to filter out random noise in pre-training
data for language models?", arXiv:2502.06604) found that random noise raises next-token loss far
less than its share of the data: so a randomly corrupted run should be worth at least its clean
share (worth >= 1). Shuffled bytes keep the corpus's byte frequencies, so the model cannot tell
them from code by their bytes (uniform random bytes mostly never occur in code), and fits their
wrong contexts: they should do harm beyond the tokens they displace (worth <= 1).

Design history. Pilot on seeds 0-2 (a script with this recipe; no verdict), q = 0.1, 0.25, 0.5:
shuffle: steps +0.034 [0.002, 0.065], +0.123, +0.112 nats; worth 0.91 [0.68, 1.21], 0.62 [0.50,
0.76], 0.68 [0.52, 0.89]. Random: the loss *fell* at q = 0.1 (-0.011 [-0.037, 0.015] nats, lower on
all three seeds), then rose (0 -> 0.25: +0.014 [0.002, 0.025]; 0.25 -> 0.5: +0.053 [0.010, 0.097]);
worth 1.18 [1.03, 1.36], 1.23 [1.10, 1.37], 1.37 [1.15, 1.65]. Quick grid q = 0, 0.25, 0.5 (the
budget affords two corrupted runs per kind and seed); q = 0.1 in the slow grid.

First decision, fresh seeds 10-12, every quick expectation "confirmed" from the pilot, declared
before they were trained (commit a9914f1): shuffle as expected, monotone (steps +0.184 [0.007,
0.361], +0.145 [0.075, 0.215]) and worth 0.67 [0.54, 0.83] (q = 0.25), 0.57 [0.40, 0.81] (0.5):
confirmed. Random *not* as expected: monotone inconclusive (0 -> 0.25: +0.096 [0.029, 0.163],
0.25 -> 0.5: +0.040 [-0.005, 0.084]) and worth refuted at q = 0.25 (0.92 [0.88, 0.97]; 1.16 [0.80,
1.70] at 0.5). Over the six seeds the worth at q = 0.25 splits by seed: 1.25, 1.27, 1.17 (seeds
0-2) against 0.93, 0.94, 0.90 (10-12), a spread (sd 0.16 in log worth) that puts a 3-seed
t-interval at about +-0.4: which files are corrupted matters more than 3 seeds average out. The
design was too small for the random-corruption claims and the quick budget cannot enlarge it, so
they are decided by the slow design only (8 seeds), with expectations set from these six seeds;
the quick set keeps the shuffle claims (the decision above stands for them). The quick random
worth claim came back to the quick set (2026-12, issue "Verdicts that answer") as what it is: a
known failure of its declaration, a strict xfail with its numbers (``WORTH_RANDOM_QUICK_XFAIL``;
its runs reproduce 0.92 [0.88, 0.97] at q = 0.25), so that the quick set shows the refutation
instead of leaving it out. Its six corrupted runs cost ~18 s of CPU in a quick session (in-process,
as under -n 2: 24.5 s cold against 6.7 s warm for the test alone, at a load average of ~8).

First slow decision, seeds 20-27 (2026-12): shuffle monotone and random worth as declared
(random worth 1.00 [0.92, 1.08] at q = 0.1, then 1.10, 1.28, 1.61, each interval above 1). Two
claims declared inconclusive came out confirmed, so they are strict xfails with their numbers
(``MONOTONE_RANDOM_XFAIL``, ``WORTH_SHUFFLE_XFAIL``): random corruption raised the clean loss at
every step, q = 0.1 included (+0.036 [0.006, 0.065] nats, where the pilot's loss fell), and
shuffled data at q = 0.1 was worth 0.857 [0.821, 0.895] of its clean share (the 3-seed pilot had
put the 8-seed interval at about +-0.13; it was +-0.04). Cost of the quick
file: 18 runs (12 of them the clean curve, shared with the repeated-data claims), 1,488 steps,
25 s of training on one core at a load average of ~4 (~14 s of CPU), plus ~10 s of CPU outside
the runs' clocks corrupting the split (``corruption="shuffle"``, per task build); the random
worth claim adds 6 runs (768 steps), ~18 s of CPU.
"""

from __future__ import annotations

import numpy as np
import pytest

from scaling_claims.studies import data_value as dv
from scaling_claims.verdicts import checks, expect, plots
from scaling_claims.studies.data_value import final_losses
from scaling_claims.runs.sweep import require_ok

QUICK, SLOW = dv.data_plan("quick"), dv.data_plan("slow")
# The first slow decision (seeds 20-27, 2026-12) confirmed two claims declared inconclusive: known
# failures of the declared expectation, kept strict so that a change of evidence still fails.
MONOTONE_RANDOM_XFAIL = (
    "declared inconclusive (the pilot's loss fell at q = 0.1); the first slow decision, seeds 20-27, resolved every "
    "step upward: q 0 -> 0.1 +0.036 [0.006, 0.065], 0.1 -> 0.25 +0.030 [0.008, 0.052], 0.25 -> 0.5 +0.081 [0.054, "
    "0.108], 0.5 -> 0.75 +0.168 [0.118, 0.218] nats: confirmed")
WORTH_SHUFFLE_XFAIL = (
    "declared inconclusive at q = 0.1 (the pilot's 0.91 [0.68, 1.21], 3 seeds); the first slow decision, seeds 20-27, "
    "measured 0.857 [0.821, 0.895] there (8 seeds: +-0.04 where +-0.13 was predicted) and 0.71, 0.50, 0.46 at "
    "q = 0.25, 0.5, 0.75: confirmed")
# The quick random-corruption worth claim refuted its declared "confirmed" on its first decision
# (seeds 10-12, declared before they ran in commit a9914f1) and was then taken out of the quick set
# (commit 8495e7d); it is back as a known failure of that declaration, with its numbers.
WORTH_RANDOM_QUICK_XFAIL = (
    "declared confirmed from the pilot (seeds 0-2: worth 1.23 [1.10, 1.37] at q = 0.25) before seeds 10-12 ran "
    "(commit a9914f1); they measured 0.92 [0.88, 0.97] at q = 0.25 (1.16 [0.80, 1.70] at 0.5): refuted. Over the six "
    "seeds the worth splits by seed (1.17-1.27 against 0.90-0.94), so 3 seeds cannot resolve it; removed from the "
    "quick set after it refuted (commit 8495e7d), back as this known failure")
# random corruption's monotone claim is slow-only: 3 seeds cannot resolve it (the docstring's first decision)
QUICK_SHUFFLE = pytest.param(QUICK, "shuffle", marks=pytest.mark.quick, id="quick-shuffle")
MONOTONE_CASES = [QUICK_SHUFFLE, pytest.param(SLOW, "shuffle", marks=pytest.mark.slow, id="slow-shuffle"),
                  pytest.param(SLOW, "random", id="slow-random",
                               marks=[pytest.mark.slow, pytest.mark.xfail(strict=True, reason=MONOTONE_RANDOM_XFAIL)])]
WORTH_CASES = [QUICK_SHUFFLE,
               pytest.param(QUICK, "random", id="quick-random",
                            marks=[pytest.mark.quick, pytest.mark.xfail(strict=True, reason=WORTH_RANDOM_QUICK_XFAIL)]),
               pytest.param(SLOW, "shuffle", id="slow-shuffle",
                                           marks=[pytest.mark.slow,
                                                  pytest.mark.xfail(strict=True, reason=WORTH_SHUFFLE_XFAIL)]),
               pytest.param(SLOW, "random", marks=pytest.mark.slow, id="slow-random")]
PLAN_CLAIM = "the research plan: quality matters"
RU = "Ru et al. 2025 (arXiv:2502.06604): random noise raises next-token loss far less than its share"
SMALL_Q = ("the slow grid starts at q = 0.1, where the pilot's loss fell with random corruption (-0.011 nats "
           "[-0.037, 0.015], 3 seeds; Ru et al. 2025: random noise costs far less than its share), so the first step's "
           "sign is not expected to be resolved")
SPLIT = ("over seeds 0-2 and 10-12 the worth at q = 0.25 split by seed, 1.17-1.27 against 0.90-0.94 (sd 0.16 in log "
         "worth): with 8 seeds its interval is about +-0.13 around a mean of ~1.07, so it should straddle 1")
SHUFFLE_SMALL_Q = ("at q = 0.1 the pilot's shuffle worth was 0.91 [0.68, 1.21] (3 seeds), within 10% of 1, about the "
                   "half-width of an 8-seed interval")
COMMON = dict(param_convention="one decoder, 2 layers, width 32: 25,472 non-embedding parameters",
              seeds=lambda plan: list(plan.seeds), budget=lambda plan: plan.budget)


def suffix(plan) -> str:
    return "" if plan.level == "quick" else "-slow"


class Runs:
    """Clean curve (points, seeds) and the corrupted runs of one kind (q, seeds), q = 0 first."""

    def __init__(self, sweep, device, plan, corruption):
        clean = sweep.results(plan.clean_specs(device), desc=f"data clean curve {plan.level}")
        bad = sweep.results(plan.corrupted_specs(corruption, device), desc=f"data quality {corruption} {plan.level}")
        k = len(plan.seeds)
        self.results = require_ok(clean + bad)
        self.D = plan.clean_tokens
        self.clean = final_losses(clean, k)
        self.q = np.array((0.0,) + plan.corrupt_fracs)
        self.loss = np.vstack([self.clean[-1:], final_losses(bad, k)])
        self.corrupted = [[r.env.get("data", {}).get("corrupted_byte_frac") for r in bad[i * k:(i + 1) * k]]
                          for i in range(len(plan.corrupt_fracs))]

    def points(self, plan) -> dict:
        return {"q": self.q, **{f"loss_seed_{s}": self.loss[:, j] for j, s in enumerate(plan.seeds)}}

    def plot(self, claim, plan, corruption, ys, ylabel, title, hline=None):
        claim.plot(plots.grouped_plot, {f"seed {s}": (self.q, ys[:, j]) for j, s in enumerate(plan.seeds)},
                   xlabel=f"fraction q of training bytes in {corruption}-corrupted files", ylabel=ylabel, title=title,
                   hline=hline)


_MEASURED: dict = {}


def measured(sweep, device, plan, corruption) -> Runs:
    """The runs of one plan and kind, read once per session: every sweep call rebuilds each
    corrupted spec's task to group it (``runs.batches.group_key``), which corrupts the 11.6 MB
    split again (~0.3 s random, ~1-3 s shuffle per spec on this CPU), cached runs or not."""
    key = (id(sweep), device, plan, corruption)
    if key not in _MEASURED:
        _MEASURED[key] = Runs(sweep, device, plan, corruption)
    return _MEASURED[key]


def monotone_expectation(plan, corruption):
    if corruption == "random":
        return expect.inconclusive(SMALL_Q)
    return expect.confirmed()


def worth_expectation(plan, corruption):
    if plan.level == "quick":
        return expect.confirmed()
    return expect.inconclusive(SPLIT if corruption == "random" else SHUFFLE_SMALL_Q)


@pytest.mark.parametrize("plan, corruption", MONOTONE_CASES)
@pytest.mark.claim(lambda plan, corruption: f"data-quality-monotone-{corruption}{suffix(plan)}",
                   paper=PLAN_CLAIM, claim="clean held-out loss degrades as more training documents are corrupted",
                   quantity="change of clean held-out loss per step of q at fixed tokens seen (paired over seeds)",
                   paper_value="monotone degradation (qualitative)",
                   tolerance=lambda plan: ("every step's interval above 0 over q = 0, "
                                           + ", ".join(map(str, plan.corrupt_fracs))),
                   justification="fewer clean tokens and steps spent on bytes that say nothing about clean code; a "
                                 "monotone trend decided step by step, each by its paired interval",
                   expect=monotone_expectation, **COMMON)
def test_corruption_degrades_clean_loss(claim, sweep, device, plan, corruption):
    runs = measured(sweep, device, plan, corruption)
    claim.runs(runs.results)
    steps = dv.paired_steps(runs.loss)
    claim.measured(min(steps, key=lambda e: e.lo))
    for a, b, s in zip(runs.q[:-1], runs.q[1:], steps):
        claim.note(f"q {a:g} -> {b:g}: {s.text()} nats")
    claim.note("corrupted byte fraction per seed: " + "; ".join(
        f"q {q:g}: {', '.join(f'{c:.3f}' for c in cs)}" for q, cs in zip(runs.q[1:], runs.corrupted)))
    claim.points(runs.points(plan))
    runs.plot(claim, plan, corruption, runs.loss, "clean held-out loss (nats/byte)",
              f"{corruption.capitalize()} corruption at D = {plan.tokens:,} tokens")
    claim.check(checks.monotone(f"clean loss rises with q ({corruption})", steps, "increasing"))


@pytest.mark.parametrize("plan, corruption", WORTH_CASES)
@pytest.mark.claim(lambda plan, corruption: f"data-quality-worth-{corruption}{suffix(plan)}",
                   paper=lambda corruption: RU if corruption == "random" else PLAN_CLAIM,
                   claim=lambda corruption: ("randomly corrupted documents cost no more than losing them"
                                             if corruption == "random" else
                                             "shuffled documents do harm beyond the clean tokens they displace"),
                   quantity="effective clean data over the clean tokens held, D_eff / ((1 - q) D), each q; geometric "
                            "mean over seeds",
                   paper_value=lambda corruption: (">= 1 (noise costs less than its share)" if corruption == "random"
                                                   else "< 1 (quality beats quantity)"),
                   tolerance=lambda corruption: f"every q's interval {'>=' if corruption == 'random' else '<='} 1",
                   justification=lambda corruption: (
                       "1 is 'the corrupted files were simply lost'; Ru et al. find random noise costs less than its "
                       "share" if corruption == "random" else
                       "1 is 'the corrupted files were simply lost'; shuffled files keep code's byte frequencies in "
                       "the wrong order, so the model fits contexts that are wrong for clean code"),
                   expect=worth_expectation, **COMMON)
def test_what_a_corrupted_corpus_is_worth(claim, sweep, device, plan, corruption):
    runs = measured(sweep, device, plan, corruption)
    claim.runs(runs.results)
    D = float(plan.tokens)
    worth = [dv.corrupted_worth_estimate(runs.D, runs.clean, runs.loss[i], D, q) for i, q in enumerate(runs.q) if q > 0]
    claim.measured(min(worth, key=lambda e: e.lo) if corruption == "random" else max(worth, key=lambda e: e.hi))
    d_eff = np.array([dv.effective_per_seed(runs.D, runs.clean, runs.loss[i])[0] for i in range(runs.q.size)])
    for q, w, de in zip(runs.q[1:], worth, d_eff[1:]):
        claim.note(f"q {q:g}: worth {w.text()}; D_eff {', '.join(f'{x:,.0f}' for x in de)} tokens (clean share "
                   f"{(1 - q) * D:,.0f}); a corrupted token is worth {np.mean((de - (1 - q) * D) / (q * D)):+.2f} "
                   "clean ones (mean over seeds)")
    ratio = d_eff / ((1 - runs.q)[:, None] * D)
    claim.points({**runs.points(plan), **{f"worth_seed_{s}": ratio[:, j] for j, s in enumerate(plan.seeds)},
                  "clean_D": [list(runs.D)] * runs.q.size})
    runs.plot(claim, plan, corruption, ratio, "D_eff / ((1 - q) D)", f"What {corruption}-corrupted data is worth",
              hline=("the corrupted files simply lost", 1.0))
    check = checks.at_least if corruption == "random" else checks.at_most
    claim.check_all(*[check(f"worth at q = {q:g}", w, 1.0) for q, w in zip(runs.q[1:], worth)])
