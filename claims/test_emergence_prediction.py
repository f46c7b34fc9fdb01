"""Predicting emergence from smaller models (issue 9, item 3; docs/sources.md, 'Predicting
emergence and the critical size').

The claims. Bhagia et al. 2024 ("Establishing Task Scaling Laws via Compute-Efficient Model
Ladders", OLMo; COLM 2025) predict a large model's task accuracy in two steps: the task loss as a
power law in scale, then the accuracy as a sigmoid of that loss. From ladders costing 1% of the
target compute they land within 2 points of the 7B/13B accuracy on four tasks (6.9 points on
average on four harder ones), and a single step from scale to accuracy does worse. The research
plan asks the same in miniature: fit on the smaller models, predict exact match (EM) at the
larger ones, and predict where EM crosses 0.5. Schaeffer et al. 2023 expect per-token quantities
(the loss) to be the predictable ones.

Miniature: the emergence ladder of claims/test_emergence.py, reused spec for spec (reversed
3-digit addition, 2-layer decoders, widths 8-48, N = 1,760-56,640 non-embedding parameters,
1,000 steps, seeds 0-2, 2,000 held-out problems): no new runs. Fitted on the three smallest sizes
(N <= 14,496), predicted at the two largest (25,472 and 56,640: 1.8x and 3.9x the largest
fitted size; Bhagia et al.'s ladders reach ~1/5-1/10 of their targets' N).

- one step: ``fit_logistic`` in log N on the runs' EM (floor 0, ceiling 1);
- two steps: ``fit_two_step``: answer cross-entropy (nats per answer token) as ``c N**-alpha``
  (no offset: the answer is a deterministic function of the prompt, so its loss can reach 0;
  the best runs reach 0.0003), then EM as Bhagia et al.'s sigmoid of that loss, both on the
  fitted sizes' runs (one point per run, as their step 2 uses every ladder model);
- "measured" EM at a size is the mean over its seeds; the measured crossing is the midpoint of a
  logistic fitted to all 15 runs of the dense ladder.

Intervals: a percentile bootstrap over the seeds within each size (fitted and held-out sizes
resampled together, every fit redone), N_BOOT resamples. With 3 seeds per size such an
interval covers less than its nominal 95% (test_emergence.py's note): a decided verdict here is
weaker evidence than it reads, an inconclusive one is not.

Tolerances (each from the literature, not from our numbers):
- accuracy: |predicted - measured| <= 0.07 at each held-out size: Bhagia et al.'s average error
  on their four harder tasks (6.9 points); their 2 points on the easy tasks would be tighter
  still.
- crossing: predicted / measured N_0.5 in [1/1.1, 1.1]: the plan locates the critical size to
  10% in N (project 7). (Bhagia et al.'s 0.07 maps to about the same: at the ladder's slope of
  ~2.7 per ln N, EM moves 0.07 over ~+-10% in N at its midpoint.)
- which method is better: the interval of mean |error| one-step minus two-step above 0.

Declared before the analysis (the ladder's seed means, 0.0007 / 0.036 / 0.037 / 0.369 / 0.786,
were known; no fit of this file had been run): the fitted sizes' EM is <= 0.04, below the rise,
and test_emergence.py found that the answer CE is not a clean power law here (carries are learned
as discrete events), so neither method has a smooth trend to extrapolate; hence out_of_regime
for the accuracy and crossing claims (Bhagia et al. extrapolate a smooth task-loss law on ladders
whose accuracy is already moving), and inconclusive for the comparison (both miss by similar
amounts, and each held-out seed mean carries about +-0.3 from 3 bimodal seeds). Because the
ladder was known, the quick verdicts are not an independent test: the slow variant decides on
fresh seeds (3-10) and a denser, taller ladder, declared here before any of its runs.

Measured (quick; CPU, float32; identical on cold reruns; docs/claims-emergence-prediction.md):
held-out EM 0.369 and 0.786 (N 25,472 and 56,640); one step predicts 0.058 and 0.095 (its fit has
no point on the rise: flagged), two steps 0.062 and 0.115 (step 1: CE = 12.2 N^-0.27 predicts
CE 0.84 and 0.69 where 0.54 and 0.15 were measured: the loss itself drops faster than its
small-size trend). Two-step errors -0.307 and -0.671 [-0.93, -0.29]: refuted against 0.07,
outside the paper's regime (reported inconclusive until 2026-12). Mean |error| one step minus two steps 0.012
[-0.32, 0.054]: inconclusive, as declared. Crossing: measured 33,150 [15,040, 73,070], two steps
predict 7.6e6 (ratio 228 [15, >= 1000]), one step 1.7e6 (ratio 52 [1.0, >= 1000]): refuted
against +-10%, outside the paper's regime (reported inconclusive until 2026-12). The slow run
(seeds 3-10) refuted both as well (largest error 0.80 [0.59, 0.96]; ratio 0.15 [0.08, 0.33]): the
expected verdicts, refuted, were written out after those data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
from test_emergence import EM, SEEDS, STEPS, WIDTHS, addition_spec

from scaling_claims.verdicts import checks, expect, plots
from scaling_claims.verdicts.estimates import bootstrap
from scaling_claims.fit import fit_logistic
from scaling_claims.fit.emergence import fit_two_step, logistic_crossing

PAPER = "Bhagia et al. 2024 (model ladders: two-step task prediction); Schaeffer et al. 2023"
LEVEL = 0.5
ACC_TOL = 0.07  # Bhagia et al.: 6.9 points average error on their four harder tasks
CROSS_TOL = 0.10  # the plan's project 7: the critical size to within 10% in N
N_BOOT = 200
LOG_CLIP = 3.0  # a crossing predicted beyond 1000x (or never) counts as 1000x: far outside any band here


@dataclass(frozen=True)
class Design:
    widths: tuple[int, ...]
    seeds: tuple[int, ...]
    fit_widths: tuple[int, ...]  # the smaller sizes the predictions are fitted on

    @property
    def budget(self) -> str:
        return (f"{STEPS} steps x 64 problems per run; widths {self.widths} (fitted on {self.fit_widths}); "
                f"seeds {self.seeds}")


DESIGNS = {"quick": Design(WIDTHS, SEEDS, (8, 16, 24)),
           # fresh seeds and a denser, taller ladder (80 runs, ~15 min on one core), declared before its runs
           "slow": Design((8, 12, 16, 20, 24, 28, 32, 40, 48, 64), tuple(range(3, 11)), (8, 12, 16, 20, 24))}
_CACHE: dict = {}


def ladder(sweep, device, design: Design) -> dict:
    """Per-size arrays (sizes x seeds) of EM and answer CE, and the runs."""
    specs = [addition_spec(w, s, device) for w in design.widths for s in design.seeds]
    results = sweep.results(specs, desc="emergence ladder")
    if not all(r.ok for r in results):
        raise RuntimeError(f"runs failed: {[r.failure for r in results if not r.ok]}")
    k = len(design.seeds)
    grid = lambda key: np.array([r.metrics[f"{EM}/{key}"] for r in results], float).reshape(-1, k)  # noqa: E731
    N = np.array([r.params["non_embedding"] for r in results[::k]], float)
    fitted = np.isin(np.array(design.widths), design.fit_widths)
    return {"N": N, "em": grid("exact_match"), "ce": grid("answer_ce"), "fitted": fitted, "results": results}


def predict(N, em, ce, fitted) -> dict:
    """Both methods fitted on the ``fitted`` sizes' runs, the dense logistic on every run."""
    k = em.shape[1]
    runs = lambda a, m: a[m].ravel()  # noqa: E731
    n_fit = np.repeat(N[fitted], k)
    one = fit_logistic(n_fit, runs(em, fitted))
    two = fit_two_step(n_fit, runs(ce, fitted), runs(em, fitted))
    dense = fit_logistic(np.repeat(N, k), em.ravel())
    held = ~fitted
    measured = em[held].mean(axis=1)
    return {"one": one, "two": two, "dense": dense, "measured": measured,
            "err_one": one.predict(N[held]) - measured, "err_two": two.predict(N[held]) - measured,
            "cross_one": logistic_crossing(one, LEVEL), "cross_two": two.crossing(LEVEL),
            "cross_measured": logistic_crossing(dense, LEVEL)}


def log_ratio(a: float, b: float) -> float:
    return float(np.clip(math.log10(a / b), -LOG_CLIP, LOG_CLIP)) if a > 0 else -LOG_CLIP


def statistics(p: dict) -> np.ndarray:
    """[two-step error at each held-out size..., mean|err one| - mean|err two|, log10 crossing
    ratios two-step and one-step]."""
    return np.array([*p["err_two"], np.abs(p["err_one"]).mean() - np.abs(p["err_two"]).mean(),
                     log_ratio(p["cross_two"], p["cross_measured"]), log_ratio(p["cross_one"], p["cross_measured"])])


def analysis(sweep, device, name: str) -> dict:
    """The ladder, the point predictions and the seed bootstrap (computed once per design)."""
    key = (name, device, str(sweep.cache.root))
    if key not in _CACHE:
        d = DESIGNS[name]
        m = ladder(sweep, device, d)
        point = predict(m["N"], m["em"], m["ce"], m["fitted"])
        k = len(d.seeds)

        def stat(*idx):
            return statistics(predict(m["N"], np.array([row[i] for row, i in zip(m["em"], idx)]),
                                      np.array([row[i] for row, i in zip(m["ce"], idx)]), m["fitted"]))

        boot = bootstrap(stat, [k] * len(d.widths), N_BOOT, units="seeds within each size")
        _CACHE[key] = {"design": d, "m": m, "p": point, "boot": boot, "stat": statistics(point)}
    return _CACHE[key]


def record(claim, a: dict) -> None:
    m, p = a["m"], a["p"]
    claim.runs(m["results"])
    held = ~m["fitted"]
    grid = np.geomspace(m["N"].min(), m["N"].max() * 1.5, 60)
    claim.points({"N": m["N"], "exact_match_mean": m["em"].mean(1), "answer_ce_mean": m["ce"].mean(1),
                  "fitted": m["fitted"], "one_step": p["one"].predict(m["N"]), "two_step": p["two"].predict(m["N"])})
    claim.fit({"one_step": p["one"], "two_step": p["two"].to_dict(), "dense_ladder": p["dense"]})
    claim.plot(plots.grouped_plot, {"measured EM, fitted sizes": (m["N"][m["fitted"]], m["em"][m["fitted"]].mean(1)),
                                    "measured EM, held out": (m["N"][held], m["em"][held].mean(1)),
                                    "one step: logistic in log N": (grid, p["one"].predict(grid)),
                                    "two steps: CE power law -> sigmoid": (grid, p["two"].predict(grid)),
                                    "dense ladder logistic (all sizes)": (grid, p["dense"].predict(grid))},
               styles=["o", "s", "-", "--", ":"], logx=True, hline=("EM = 0.5", LEVEL),
               xlabel="non-embedding parameters N", ylabel=f"exact match (mean of {m['em'].shape[1]} seeds)",
               title="Predicting emergence from the smaller sizes")
    sizes = ", ".join(f"{n:.0f}" for n in m["N"][held])
    claim.note(f"held-out N {sizes}: measured EM {np.round(p['measured'], 3).tolist()}; one step predicts "
               f"{np.round(p['err_one'] + p['measured'], 3).tolist()}, two steps "
               f"{np.round(p['err_two'] + p['measured'], 3).tolist()}")
    claim.note(f"EM = {LEVEL} crossing: measured (dense ladder logistic) {p['cross_measured']:.4g} "
               f"{tuple(round(v) for v in p['dense'].ci['midpoint'])}; two steps predict {p['cross_two']:.4g}, "
               f"one step {p['cross_one']:.4g}")
    for name, fit in (("one step", p["one"].flags), ("two steps", p["two"].flags)):
        if fit:
            claim.note(f"{name} fit flagged: " + "; ".join(f"{k}: {v}" for k, v in fit.items()))


def estimate(a: dict, index: int, what: str):
    return a["boot"].estimate(a["stat"][index], index, what=what)


COMMON = dict(paper=PAPER, param_convention="non-embedding N (Kaplan)")
QUICK_SEEDS, SLOW_SEEDS = list(DESIGNS["quick"].seeds), list(DESIGNS["slow"].seeds)
REGIME = ("the fitted sizes' EM is <= 0.04 (below the rise) and their answer CE is not a clean power law "
          "(claims/test_emergence.py: carries are learned as discrete events), while Bhagia et al. extrapolate a "
          "smooth task-loss law from ladders whose accuracy already moves")
REGIME_AFTER = ("declared out of regime in commit a136191 (2026-12-01), the quick ladder's seed means known, when a "
                "refutation there was reported inconclusive; its expected verdict, refuted, written out in issue "
                "'Verdicts that answer' (item 2) from the quick and slow runs (docs/claims-emergence-prediction.md)")
REFUTED_HERE = expect.out_of_regime(REGIME, expect="refuted", declared="after data", note=REGIME_AFTER)
NOISE = ("both methods extrapolate from sizes below the rise, so both miss the held-out EM by similar amounts, and "
         "each held-out seed mean carries about +-0.3 (95%) from bimodal seeds (a run learns the carries or not)")


def design_params(quick_expect, slow_expect):
    return pytest.mark.parametrize("design", [
        pytest.param("quick", marks=[pytest.mark.quick, pytest.mark.claim(
            seeds=QUICK_SEEDS, budget=DESIGNS["quick"].budget, expect=quick_expect)]),
        pytest.param("slow", marks=[pytest.mark.slow, pytest.mark.claim(
            seeds=SLOW_SEEDS, budget=DESIGNS["slow"].budget, expect=slow_expect)])])


@design_params(REFUTED_HERE, REFUTED_HERE)
@pytest.mark.claim("emergence-predict-two-step-accuracy[{design}]",
                   claim="the two-step prediction (loss power law, then sigmoid) gets held-out EM within Bhagia "
                         "et al.'s error", quantity="predicted - measured EM at each held-out size (two steps)",
                   paper_value="within 2 points (easy tasks), 6.9 on average (hard tasks)",
                   tolerance=f"|error| <= {ACC_TOL} at every held-out size (whole interval)",
                   justification="Bhagia et al.'s average error on their four harder tasks", **COMMON)
def test_two_step_predicts_held_out_exact_match(claim, sweep, device, design):
    a = analysis(sweep, device, design)
    record(claim, a)
    errs = [estimate(a, i, f"two-step error at N = {n:.0f}") for i, n in enumerate(a["m"]["N"][~a["m"]["fitted"]])]
    claim.measured(max(errs, key=lambda e: abs(e.value)))
    claim.check(checks.all_within("two-step error at held-out sizes", errs, -ACC_TOL, ACC_TOL,
                                  labels=[f"N={n:.0f}" for n in a["m"]["N"][~a["m"]["fitted"]]]))


@design_params(expect.inconclusive(NOISE), expect.inconclusive(NOISE))
@pytest.mark.claim("emergence-predict-two-vs-one-step[{design}]",
                   claim="two steps (scale -> loss -> accuracy) predict held-out EM better than one step "
                         "(scale -> accuracy)", quantity="mean |error| one step minus two steps over held-out sizes",
                   paper_value="one step does worse (Bhagia et al.)", tolerance="interval of the difference above 0",
                   justification="a comparison of two methods' errors on the same data, decided by the interval of "
                                 "their difference (paired: both refitted on each resample)", **COMMON)
def test_two_steps_beat_one_step(claim, sweep, device, design):
    a = analysis(sweep, device, design)
    record(claim, a)
    diff = estimate(a, -3, "mean |error| one step - two steps")
    claim.measured(diff)
    claim.check(checks.ordered("two steps more accurate than one", diff, labels=("two-step error", "one-step error")))


@design_params(REFUTED_HERE, REFUTED_HERE)
@pytest.mark.claim("emergence-predict-crossing[{design}]",
                   claim="the smaller sizes predict where EM crosses 0.5 (two steps)",
                   quantity="predicted / measured N where EM = 0.5 (two steps; measured: dense-ladder logistic)",
                   paper_value="the plan: locate the critical size to 10% in N", tolerance="ratio in [1/1.1, 1.1]",
                   justification="the plan's 10% (project 7); Bhagia et al.'s 0.07 in EM is ~+-10% in N at the "
                                 "ladder's slope", **COMMON)
def test_predicted_crossing(claim, sweep, device, design):
    a = analysis(sweep, device, design)
    record(claim, a)
    two = estimate(a, -2, "log10 ratio, clipped at +-3").transform(lambda v: 10 ** v, what="ratio")
    one = estimate(a, -1, "log10 ratio, clipped at +-3").transform(lambda v: 10 ** v, what="ratio")
    claim.measured(two)
    claim.note(f"predicted / measured crossing: two steps {two.text()}, one step {one.text()} (one step's fit has "
               f"no point on the rise: {bool(a['p']['one'].flags)})")
    claim.check(checks.within_band("two-step crossing / measured", two, 1 / (1 + CROSS_TOL), 1 + CROSS_TOL))
