"""Data mixing laws (Ye et al. 2024, "Data Mixing Laws", ICLR 2025; the plan's grid search;
RegMix, Liu et al. 2024; docs/sources.md, 'Data mixing laws').

Paper: for a fixed model and step count, each domain's held-out loss is
``L_i(r) = c_i + k_i exp(sum_j t_ij r_j)`` in the mixture proportions r; fitted on a few
mixtures it predicts unseen ones, and the mixture it picks beats the default (their optimised
RedPajama mixture for a 1B model matched the default trained 48% longer).

Miniature: three text domains every Python install carries (``code``: the stdlib's source;
``prose``: its docstrings and help topics; ``table``: the Unicode character table; see
``scaling_claims.engine.data.domains``), byte-level decoders (2 layers, width 32, ctx 64,
~27k parameters) trained 300 steps of 16 windows on each mixture of a simplex grid, and scored
on every domain's own held-out windows (``lm.loss_by_domain``, 8 x 32 windows per domain).

Design (fixed before the decisive runs):
- Grid: proportions in thirds (10 mixtures), one seed. Fitted on the 3 pure domains and the 4
  edge mixtures (2/3, 1/3); held out: the uniform mixture and two edge mixtures (2/3 code +
  1/3 prose, 2/3 prose + 1/3 table). ``fit_mixing_law`` per domain (4 parameters on 7 points).
- Target: the average of the three domains' held-out losses. The law's optimum on a 1/200
  simplex grid (``optimal_mixture``) is then trained, as are the uniform mixture and the grid's
  best mixture, on three seeds each (the grid seed and two more): comparisons are paired over
  seeds (a seed fixes initialisation and data order for every mixture).

Claims and why their tolerances are what they are:
- ``mixing-law-vs-linear``: on the held-out mixtures the exponential law predicts each domain's
  loss better than a law linear in the proportions (Ye et al.'s choice of form over simpler
  ones); decided by the paired interval over the 9 held-out (mixture, domain) cells of
  |relative error| exponential minus linear (cells share mixtures: the t interval treats them as
  independent, which the report says).
- ``mixing-optimum-beats-uniform``: the law's mixture has a lower average loss than the uniform
  one (the paper's optimised-vs-default comparison); paired interval below 0.
- ``mixing-optimum-near-grid-best``: the law's mixture is no worse than the grid search's best
  by more than the noise of a single run (the issue's "within the noise of the grid-search
  best; seeds give the noise"): the paired interval of chosen - best lies below the pooled
  seed standard deviation of one run's average loss. The rule is fixed; the margin is measured.
  The grid's best is chosen on the grid seed, whose value is therefore optimistic: including
  it makes the comparison harder for the law, not easier.

The held-out-domain variant (a target domain kept out of training) runs under ``slow``; the
quick record notes what the code-table edge of the grid predicts for it.

Pilot (seeds 0-2, this design; not used for any verdict): held-out |relative error| of the
exponential law 3.1% on average (10.2% at most) against 27.9% (77%) for the linear law, paired
difference -0.25 [-0.44, -0.06]; the law's mixture code 0.265 / prose 0.230 / table 0.505
(predicted average 2.342) measured 2.41-2.45 against the uniform mixture's 2.44-2.51, a
difference of -0.048 [-0.089, -0.007]; the grid's best was the uniform mixture itself (seed
SD of one run 0.036). Every claim was then declared "confirmed" for the fresh seeds 10-12.
Cost: 16 runs, ~70 s of training on one core plus ~4 s to build the prose domain.

Slow design (sixths, 600 steps). First run (2026-12), compared mixtures on seeds 20-24: the law
beat the linear one (-0.27 [-0.39, -0.15]) and the held-out-domain claim was confirmed, but the
two comparisons could not resolve: law's mixture (code 0.35, prose 0.12, table 0.53; predicted
2.047, measured 2.18-2.21) minus uniform -0.008 [-0.033, 0.016], and minus the grid's best (code
0.33, prose 0.17, table 0.50) +0.003 [-0.011, 0.018] against a margin of 0.0115, both inconclusive
against the declared confirmed. At 600 steps the three mixtures lie within ~0.01 nats of each
other, and 5 seeds give a paired interval of +-0.015 to +-0.025: a mis-sized design. Resized
before any new run: the grid stays on seed 20 (so the law's and the grid's choices are the
same), and the compared mixtures train 40 seeds, 20 and the fresh 25-63 (seeds 21-24 are left
out, having been seen), which at the first run's paired SDs (0.012 and 0.020) gives intervals of
about +-0.004 and +-0.006. Every expectation unchanged. Decision on the resized design (2026-12,
every verdict as declared): law's mixture minus uniform -0.021 [-0.027, -0.015]; minus the grid's
best +0.0055 [0.0031, 0.0078] against a margin of 0.0136; the law beat the linear one (-0.27
[-0.39, -0.15], the grid seed's, unchanged); the held-out domain's law chose code 1.00, table
0.00, which beat 50/50 by -0.096 [-0.102, -0.090] on prose and was the edge's best. 14 min of wall
time on both cores (partly shared with another job).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from scaling_claims.verdicts import checks, expect, plots
from scaling_claims.verdicts.estimates import Estimate, paired_difference
from scaling_claims.engine.specs import Budget, DataSpec, EvalSpec, ModelSpec, OptimSpec, RunSpec
from scaling_claims.fit.mixing import (fit_linear_mixing, fit_mixing_law, optimal_mixture, predict_mixing,
                                       relative_errors, simplex_grid)

PAPER = "Ye et al. 2024 (Data Mixing Laws); Liu et al. 2024 (RegMix)"
DOMAINS = ("code", "prose", "table")
PROSE, CODE_TABLE_EDGE = 1, (1,)  # the held-out-domain variant: prose kept out of training
MODEL = ModelSpec(n_layer=2, d_model=32, n_head=2, ctx=64, vocab_size=256)
EV = "lm.loss_by_domain"
EVAL = EvalSpec.make(EV, domains=list(DOMAINS), n_batches=8, batch_size=32)


@dataclass(frozen=True)
class Design:
    suffix: str
    grid_steps: int  # proportions in multiples of 1/grid_steps
    held_out: tuple[tuple[float, ...], ...]  # mixtures predicted, not fitted
    seeds: tuple[int, ...]  # seeds[0] trains the grid; all train the compared mixtures
    steps: int

    @property
    def budget(self) -> str:
        return (f"{self.steps} steps x 16 windows of 64 bytes per mixture; grid in 1/{self.grid_steps}; "
                f"seeds {self.seeds}")


THIRD = 1 / 3
# fresh seeds 10-12, declared before they were trained (the pilot used 0-2; see the docstring)
QUICK = Design("", 3, ((THIRD, THIRD, THIRD), (2 * THIRD, THIRD, 0.0), (0.0, 2 * THIRD, THIRD)), (10, 11, 12), 300)
SIXTH = 1 / 6
# slow: sixths (28 mixtures), the 10 interior mixtures (every domain >= 1/6) held out; the grid on
# seed 20, the compared mixtures on 40 seeds: 20 and the fresh 25-63 (resized in 2026-12 from
# 20-24, too few to resolve the comparisons: see the docstring)
SLOW = Design("-slow", 6, tuple(tuple(r) for r in simplex_grid(3, 6) if (r > 0).all()),
              (20,) + tuple(range(25, 64)), 600)
SCALES = [pytest.param(QUICK, marks=pytest.mark.quick, id="quick"),
          pytest.param(SLOW, marks=pytest.mark.slow, id="slow")]


def spec(r, seed: int, design: Design, device: str) -> RunSpec:
    weights = {d: round(float(w), 6) for d, w in zip(DOMAINS, r) if w > 0}
    return RunSpec(model=MODEL, data=DataSpec.make("mixture", weights=weights, seed=seed),
                   optim=OptimSpec(lr=3e-3, warmup_steps=20, batch_size=16),
                   budget=Budget(steps=design.steps), seed=seed, device=device, eval_every=design.steps,
                   eval_batches=2, evals=(EVAL,), tag="data-mixing")


def losses(result) -> np.ndarray:
    if not result.ok:
        raise RuntimeError(f"run failed: {result.failure}")
    return np.array([result.metrics[f"{EV}/loss/{d}"] for d in DOMAINS])


def is_held_out(r, design: Design) -> bool:
    return any(np.allclose(r, h, atol=1e-9) for h in design.held_out)


@dataclass
class Mixing:
    grid: np.ndarray  # (n, 3)
    measured: np.ndarray  # (n, 3) per-domain losses at the grid seed
    fit_mask: np.ndarray
    laws: list
    linear: list
    chosen: np.ndarray
    chosen_predicted: float
    results: list


def fit_grid(sweep, device, design: Design) -> Mixing:
    grid = simplex_grid(3, design.grid_steps)
    results = sweep.results([spec(r, design.seeds[0], design, device) for r in grid], desc="mixing grid" + design.suffix)
    measured = np.array([losses(r) for r in results])
    fit_mask = np.array([not is_held_out(r, design) for r in grid])
    if fit_mask.all() or not fit_mask.any():
        raise RuntimeError("the held-out mixtures must be on the grid and leave mixtures to fit")
    laws = [fit_mixing_law(grid[fit_mask], measured[fit_mask, i]) for i in range(3)]
    linear = [fit_linear_mixing(grid[fit_mask], measured[fit_mask, i]) for i in range(3)]
    chosen, predicted = optimal_mixture(laws, [1 / 3] * 3)
    return Mixing(grid, measured, fit_mask, laws, linear, chosen, predicted, results)


def seeded_targets(sweep, device, design: Design, mixtures: dict) -> tuple[dict, list]:
    """The average held-out loss of each named mixture on every seed."""
    names = list(mixtures)
    specs = [spec(mixtures[n], s, design, device) for n in names for s in design.seeds]
    results = sweep.results(specs, desc="mixing seeds" + design.suffix)
    k = len(design.seeds)
    return {n: np.array([losses(r).mean() for r in results[i * k:(i + 1) * k]]) for i, n in enumerate(names)}, results


COMMON = dict(paper=PAPER, param_convention="2-layer byte decoder, width 32 (non-embedding ~25k)",
              seeds=lambda design: list(design.seeds), budget=lambda design: design.budget)


def record_grid(claim, m: Mixing, design: Design) -> None:
    held = ~m.fit_mask
    pred = np.column_stack([predict_mixing(law, m.grid) for law in m.laws])
    claim.points({**{f"r_{d}": m.grid[:, i] for i, d in enumerate(DOMAINS)},
                  **{f"loss_{d}": m.measured[:, i] for i, d in enumerate(DOMAINS)},
                  **{f"law_{d}": pred[:, i] for i, d in enumerate(DOMAINS)},
                  "held_out": held.astype(int), "average": m.measured.mean(1)})
    claim.fit({d: law for d, law in zip(DOMAINS, m.laws)})
    claim.plot(plots.simplex_plot, m.grid, m.measured.mean(1), corners=DOMAINS, held_out=held,
               predicted=pred[held].mean(1), marked={"law's optimum": m.chosen},
               title=f"Average held-out loss over the 1/{design.grid_steps} grid (seed {design.seeds[0]})",
               value_label="average held-out loss (nats/byte)")
    claim.note("law's optimum for the average loss: " + ", ".join(f"{d} {w:.3f}" for d, w in zip(DOMAINS, m.chosen))
               + f" (predicted {m.chosen_predicted:.4f})")


@pytest.mark.parametrize("design", SCALES)
@pytest.mark.claim("mixing-law-vs-linear{design.suffix}",
                   quantity="|rel. error| exponential law minus linear law, held-out mixtures (mean over cells)",
                   claim="the exponential mixing law predicts unseen mixtures' per-domain losses better than a "
                         "linear law", paper_value="exponential law fits and predicts (Ye et al.)",
                   tolerance="paired interval below 0",
                   justification="a comparison of two predictors on the same held-out cells, decided by the "
                                 "interval of their difference",
                   **{**COMMON, "seeds": lambda design: [design.seeds[0]]})
def test_the_exponential_law_predicts_unseen_mixtures(claim, sweep, device, design):
    m = fit_grid(sweep, device, design)
    claim.runs(m.results)
    record_grid(claim, m, design)
    held = ~m.fit_mask
    exp_err = np.column_stack([relative_errors(predict_mixing(law, m.grid[held]), m.measured[held, i])
                               for i, law in enumerate(m.laws)])
    lin_err = np.column_stack([relative_errors(predict_mixing(law, m.grid[held]), m.measured[held, i])
                               for i, law in enumerate(m.linear)])
    diff = paired_difference(np.abs(exp_err).ravel(), np.abs(lin_err).ravel(), what="held-out (mixture, domain) cells")
    claim.measured(diff)
    claim.note(f"held-out |relative error|: exponential law mean {np.abs(exp_err).mean():.2%} (max "
               f"{np.abs(exp_err).max():.2%}), linear law mean {np.abs(lin_err).mean():.2%} (max {np.abs(lin_err).max():.2%})")
    # the held-out-domain variant, noted: prose's law on the code-table edge (prose never trained on)
    edge = m.grid[:, PROSE] == 0
    if edge.sum() >= 4:
        edge_law = fit_mixing_law(m.grid[edge][:, [0, 2]], m.measured[edge, PROSE])
        best_edge, pred_edge = optimal_mixture([edge_law], [1.0])
        claim.note(f"held-out domain (prose kept out of training), from the {int(edge.sum())} code-table edge runs: "
                   f"the law puts code {best_edge[0]:.3f}, table {best_edge[1]:.3f} (predicted prose loss "
                   f"{pred_edge:.4f}); measured on the edge: "
                   + ", ".join(f"code {r[0]:.2f} -> {v:.3f}" for r, v in zip(m.grid[edge], m.measured[edge, PROSE])))
    claim.check(checks.ordered("exponential law errs less than the linear one on held-out mixtures", -diff,
                               labels=("exponential |error|", "linear |error|")))


@pytest.mark.parametrize("design", SCALES)
@pytest.mark.claim("mixing-optimum-beats-uniform{design.suffix}",
                   quantity="average held-out loss: law's mixture minus uniform (paired over seeds)",
                   claim="the mixture the fitted laws choose beats the uniform mixture",
                   paper_value="optimised mixture beats the default (= default trained 48% longer)",
                   tolerance="paired interval below 0",
                   justification="a comparison of two mixtures on the same seeds", **COMMON)
def test_the_laws_mixture_beats_the_uniform_one(claim, sweep, device, design):
    m = fit_grid(sweep, device, design)
    targets, results = seeded_targets(sweep, device, design, {"chosen": m.chosen, "uniform": np.full(3, THIRD)})
    claim.runs(m.results + results)
    record_grid(claim, m, design)
    diff = paired_difference(targets["chosen"], targets["uniform"])
    claim.measured(diff)
    claim.note(f"average loss per seed: law's mixture {np.round(targets['chosen'], 4).tolist()}, uniform "
               f"{np.round(targets['uniform'], 4).tolist()}")
    claim.check(checks.ordered("law's mixture below uniform", -diff, labels=("law's mixture", "uniform")))


@pytest.mark.parametrize("design", SCALES)
@pytest.mark.claim("mixing-optimum-near-grid-best{design.suffix}",
                   quantity="average held-out loss: law's mixture minus the grid's best (paired over seeds)",
                   claim="the law's mixture is as good as the grid search's best, within the noise of one run",
                   paper_value="the law finds the optimum without the grid search",
                   tolerance="paired interval below the pooled seed SD of one run's average loss",
                   justification="the issue's 'within the noise of the grid-search best; seeds give the noise' as a "
                                 "non-inferiority test (a fixed rule, the margin measured)", **COMMON)
def test_the_laws_mixture_is_as_good_as_the_grid_best(claim, sweep, device, design):
    m = fit_grid(sweep, device, design)
    best = m.grid[int(np.argmin(m.measured.mean(1)))]
    targets, results = seeded_targets(sweep, device, design, {"chosen": m.chosen, "grid best": best,
                                                              "uniform": np.full(3, THIRD)})
    claim.runs(m.results + results)
    record_grid(claim, m, design)
    diff = paired_difference(targets["chosen"], targets["grid best"])
    noise = float(np.sqrt(np.mean([np.var(v, ddof=1) for v in targets.values()])))
    claim.measured(diff)
    claim.note(f"grid's best mixture " + ", ".join(f"{d} {w:.2f}" for d, w in zip(DOMAINS, best))
               + f"; per seed: law's {np.round(targets['chosen'], 4).tolist()}, grid best "
               f"{np.round(targets['grid best'], 4).tolist()}; seed SD of one run {noise:.4f} (the margin)")
    claim.check(checks.at_most("law's mixture minus grid best", diff, noise))


@pytest.mark.slow
@pytest.mark.claim("mixing-held-out-domain-slow", paper=PAPER,
                   quantity="prose held-out loss, training on code + table only: law's mixture minus 50/50 "
                            "(paired over seeds)",
                   claim="for a domain kept out of training, the mixture its fitted law chooses beats the uniform "
                         "mixture of the training domains and is as good as the grid's best, within one run's noise",
                   paper_value="the law optimises a target the training data do not contain (implicit aggregation)",
                   tolerance="interval vs 50/50 below 0; vs the edge grid's best below the pooled seed SD",
                   justification="the same rules as the average-loss target, on the code-table edge of the grid",
                   param_convention=COMMON["param_convention"], seeds=list(SLOW.seeds), budget=SLOW.budget)
def test_a_held_out_domains_law_chooses_its_training_mixture(claim, sweep, device):
    design = SLOW
    m = fit_grid(sweep, device, design)
    edge = m.grid[:, PROSE] == 0  # prose kept out of training
    law = fit_mixing_law(m.grid[edge][:, [0, 2]], m.measured[edge, PROSE])
    (code, table), predicted = optimal_mixture([law], [1.0])
    chosen, half = np.array([code, 0.0, table]), np.array([0.5, 0.0, 0.5])
    best = m.grid[edge][int(np.argmin(m.measured[edge, PROSE]))]
    names = {"chosen": chosen, "50/50": half, "edge best": best}
    specs = [spec(names[n], s, design, device) for n in names for s in design.seeds]
    results = sweep.results(specs, desc="mixing held-out domain-slow")
    k = len(design.seeds)
    prose = {n: np.array([losses(r)[PROSE] for r in results[i * k:(i + 1) * k]]) for i, n in enumerate(names)}
    claim.runs(m.results + results)
    vs_half = paired_difference(prose["chosen"], prose["50/50"])
    vs_best = paired_difference(prose["chosen"], prose["edge best"])
    noise = float(np.sqrt(np.mean([np.var(v, ddof=1) for v in prose.values()])))
    claim.measured(vs_half)
    claim.fit(law)
    claim.note(f"prose's law on the code-table edge chooses code {code:.3f}, table {table:.3f} (predicted prose loss "
               f"{predicted:.4f}); measured per seed: " + "; ".join(f"{n} {np.round(v, 4).tolist()}" for n, v in prose.items())
               + f"; vs the edge's best (code {best[0]:.2f}): {vs_best.text()}, margin {noise:.4f}")
    claim.points({"code": m.grid[edge][:, 0], "prose_loss": m.measured[edge, PROSE]})
    claim.plot(plots.grouped_plot, {"measured (grid seed)": (m.grid[edge][:, 0], m.measured[edge, PROSE]),
                                    "fitted law": (np.linspace(0, 1, 51),
                                                   predict_mixing(law, np.column_stack([np.linspace(0, 1, 51),
                                                                                        1 - np.linspace(0, 1, 51)])))},
               xlabel="share of code (the rest: table)", ylabel="prose held-out loss (nats/byte)",
               title="A held-out domain's loss along the code-table edge", styles=["o", "-"])
    claim.check_all(checks.ordered("law's mixture below 50/50", -vs_half, labels=("law's mixture", "50/50")),
                    checks.at_most("law's mixture minus the edge's best", vs_best, noise))
