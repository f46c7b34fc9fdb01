"""Emergence as a metric artifact (Schaeffer, Miranda & Koyejo 2023; docs/sources.md, 'Schaeffer et al. 2023').

The claim: if per-token accuracy p improves smoothly with scale, exact match over an L-token
answer behaves like p**L and looks sharp ("emergent"), while per-token metrics stay smoother.

Miniature: decoders of ~2k-60k parameters (2 layers, widths 8-48) trained for the same number
of steps on reversed 3-digit addition (answer: 4 digits, least significant first), 3 seeds per
size; every metric is measured on the same 2,000 held-out problems (docs/sources.md asks >= 2k).
Per size we average each metric over the seeds: the expected accuracy at that size, which is
the quantity whose sharpness the claim is about (single runs jump: carry learning is itself a
discrete event, which is why docs/sources.md says not to assert per-digit smoothness).

Deviation (cost): "two answer lengths" are the exact match over the first 2 and over all 4
answer digits of the same predictions (``em_prefix``), not two separately trained tasks: a
second task would double the sweep, and exact match over a j-token answer is exactly the
metric whose sharpness grows with j. ``slow`` adds separately trained 2- and 4-digit tasks.

Intervals: logistic slopes carry their fit's own interval (flagged, hence inconclusive, when the
fit degenerates to a step with no point on its rise); a comparison of two slopes is decided by
the interval of their difference; the gap |EM - prod acc| by a binomial bound over the 2,000
problems; the power-law R^2 by a bootstrap over each size's seeds.

The slow ladder (issue "Emergence as a metric artifact": the quick core claim measured 1.64
[-7.7, 11.0], 5 sizes x 3 seeds, and had no slow variant): the same runs, widths 8-64 (10 sizes,
N 1,760-100,096), 16 fresh seeds (40-55), the Schaeffer rows on them (``-slow``) and a
pre-declared comparison of how well each metric's small-model trend predicts the larger models
(``scaling_claims.verdicts.metric_artifact``). Sized on a pilot whose seeds (100-103, the same ten
widths) decide nothing; what it showed, and each row's declared verdict, are written beside the
slow tests below, before their deciding runs.
"""

from __future__ import annotations

import numpy as np
import pytest

from scaling_claims.verdicts import checks, expect, metric_artifact, plots
from scaling_claims.verdicts.estimates import Estimate, bootstrap
from scaling_claims.fit import fit_logistic, fit_power_law
from scaling_claims.engine.specs import Budget, DataSpec, EvalSpec, ModelSpec, OptimSpec, RunSpec
from scaling_claims.runs.sweep import require_ok

PAPER = "Schaeffer, Miranda, Koyejo 2023, Are Emergent Abilities of LLMs a Mirage?"
WIDTHS = (8, 16, 24, 32, 48)
SEEDS = (0, 1, 2)
STEPS = 1000
N_PROBLEMS = 2000
# |EM - prod_j acc_j| <= 0.05 (docs/sources.md's ~0.05; the paper's p^L is an approximation that
# correlated digit errors bend upward, EM >= product). Each run's gap gets a 95% interval from a
# bootstrap over its 2,000 problems (the evaluator keeps each problem's per-digit correctness).
PRODUCT_TOL = 0.05
CE_R2 = 0.9  # docs/sources.md, 'Schaeffer et al. 2023'
STEPS_WHY = ("5 sizes x 3 seeds: the logistic slopes' own intervals are +-1 to +-3 per ln N, wider than the "
             "gaps between the metrics' slopes")
EM = "arithmetic.exact_match"
BON = "arithmetic.best_of_n"
# seed 0's runs also sample for claims/test_best_of_n_trained.py (one training, two claims)
BON_EVAL = EvalSpec.make(BON, n_problems=400, n_samples=64, verifier_problems=400, verifier_samples=16,
                         verifier_features="columns", per_problem=True)


def addition_spec(width: int, seed: int, device: str, k: int = 3, steps: int = STEPS) -> RunSpec:
    """One run of the ladder; seed 0's runs also carry the best-of-n evaluator (shared with
    claims/test_best_of_n_trained.py, which builds the same specs: the cache trains them once)."""
    data = DataSpec.make("addition", k=k, reverse=True, seed=seed)
    return RunSpec(
        model=ModelSpec(n_layer=2, d_model=width, n_head=max(1, width // 16), ctx=3 * k + 2, vocab_size=12,
                        pos="learned"),
        data=data,
        # lr 1e-2 with a short warmup: tiny decoders learn the per-digit circuits within 1,000 steps
        optim=OptimSpec(lr=1e-2, warmup_steps=50, batch_size=64),
        budget=Budget(steps=steps), seed=seed, device=device, eval_every=steps, eval_batches=1,
        evals=(EvalSpec.make(EM, n_problems=N_PROBLEMS, per_problem=True),)
        + ((BON_EVAL,) if seed == 0 and k == 3 else ()),
        tag="emergence",
    )


def ladder_metrics(results) -> dict[str, np.ndarray]:
    """Per-size seed means (N non-embedding, EM, per-digit accuracy, answer CE, prefix EMs) and
    the per-run values ("*_runs", shape (sizes, seeds, ...))."""
    rows: dict[int, list] = {}
    for r in require_ok(results):
        rows.setdefault(r.params["non_embedding"], []).append(r.metrics)
    N = np.array(sorted(rows), dtype=float)

    def runs(key: str) -> np.ndarray:
        return np.array([[m[f"{EM}/{key}"] for m in rows[n]] for n in sorted(rows)], dtype=float)

    out = {"N": N}
    for name, key in (("em", "exact_match"), ("digit_acc", "digit_acc"), ("acc", "digit_acc_mean"),
                      ("ce", "answer_ce"), ("em_prefix", "em_prefix")):
        out[f"{name}_runs"] = runs(key)
        out[name] = out[f"{name}_runs"].mean(axis=1)
    out["bits_runs"] = [np.array(m[f"{EM}/correct_bits"]) for n in sorted(rows) for m in rows[n]]
    return out


def em_product_gap(bits: np.ndarray, n_digits: int, n_boot: int = 1000) -> Estimate:
    """EM - prod_j acc_j of one run, with a bootstrap interval over its problems (``bits``: one
    int per problem, bit j set when answer position j is right)."""
    right = (np.asarray(bits)[:, None] >> np.arange(n_digits)) & 1

    def gap(i):
        r = right[i]
        return r.all(axis=1).mean() - r.mean(axis=0).prod()

    everything = np.arange(len(right))
    return bootstrap(gap, len(right), n_boot, units="problems").estimate(gap(everything))


@pytest.fixture
def ladder(sweep, device):
    results = sweep.results([addition_spec(w, s, device) for w in WIDTHS for s in SEEDS], desc="emergence ladder")
    m = ladder_metrics(results)
    m["results"] = results
    return m


COMMON = dict(paper=PAPER, param_convention="non-embedding N (Kaplan)", seeds=list(SEEDS),
              budget=f"{STEPS} steps x 64 problems per run, widths {WIDTHS}, seeds {SEEDS}")


def _record(rec, ladder):
    rec.runs(ladder["results"])
    m = ladder
    rec.points({"N": m["N"], "exact_match": m["em"], "digit_acc_mean": m["acc"], "answer_ce": m["ce"],
                "em_2_digits": m["em_prefix"][:, 1], "digit_acc_product": m["digit_acc"].prod(1),
                **{f"digit_acc_{j}": m["digit_acc"][:, j] for j in range(m["digit_acc"].shape[1])}})
    rec.plot(plots.grouped_plot, {"exact match (4 digits)": (m["N"], m["em"]),
                                  "exact match (first 2 digits)": (m["N"], m["em_prefix"][:, 1]),
                                  "per-digit accuracy (mean)": (m["N"], m["acc"]),
                                  "product of per-digit acc.": (m["N"], m["digit_acc"].prod(1)),
                                  "answer cross-entropy (nats)": (m["N"], m["ce"])},
             xlabel="non-embedding parameters N", ylabel=f"metric (mean of {m['em_runs'].shape[1]} seeds)",
             logx=True,
             title="Reversed 3-digit addition: EM vs per-digit accuracy vs CE",
             styles=["o-", "s--", "^-", ":", "d-."])


def slope(fit) -> Estimate:
    return Estimate.from_fit(fit, "slope")


@pytest.mark.quick
@pytest.mark.claim("emergence-em-product", headline="emergence", role="law", quantity="EM - prod_j acc_j of the run where it is largest",
                   claim="exact match ~ product of per-position accuracies (p^L)", paper_value="EM ~ p^L",
                   tolerance=f"|EM - prod acc| <= {PRODUCT_TOL} for every run (its whole interval)",
                   justification="~0.05 (docs/sources.md): p^L is the paper's approximation; correlated digit errors "
                                 "make EM >= product", **COMMON)
def test_exact_match_is_the_product_of_digit_accuracies(claim, ladder):
    _product_claim(claim, ladder)


def _product_claim(claim, ladder):
    _record(claim, ladder)
    n_digits = ladder["digit_acc_runs"].shape[-1]
    gaps = [em_product_gap(bits, n_digits) for bits in ladder["bits_runs"]]
    worst = max(gaps, key=lambda g: abs(g.value))
    claim.measured(worst)
    claim.note(f"largest gap {worst.text()}; every run's gap: " + ", ".join(f"{g.value:+.4f}" for g in gaps))
    claim.check(checks.all_within("EM - prod acc per run", gaps, -PRODUCT_TOL, PRODUCT_TOL,
                                  labels=[f"run {i}" for i in range(len(gaps))]))


@pytest.mark.quick
@pytest.mark.claim("emergence-em-sharper", headline="emergence", role="law", quantity="logistic slope in ln N: EM minus per-digit accuracy",
                   claim="EM looks sharper (emergent) than per-digit accuracy on the same predictions",
                   paper_value="slope EM > slope per-digit", tolerance="interval of slope_EM - slope_acc above 0",
                   justification="a comparison of two fitted slopes, decided by the interval of their difference "
                                 "(independent intervals combined: conservative, the two share runs)",
                   expect=expect.inconclusive(
                       STEPS_WHY, declared="after data",
                       note="declared in commit 3d57cb6 (2026-12-01), when the claim moved to the interval rule, after "
                            "the quick ladder's slopes had been measured under the earlier point ordering (commit "
                            "53dc502, 2026-11-28)"), **COMMON)
def test_exact_match_is_sharper_than_per_digit_accuracy(claim, ladder):
    _record(claim, ladder)
    fit_em = fit_logistic(ladder["N"], ladder["em"])
    # per-digit accuracy starts at chance, not 0 (the top digit, 0 or 1, is easy): free floor
    fit_acc = fit_logistic(ladder["N"], ladder["acc"], lower=None)
    check = checks.steeper_than("EM sharper than per-digit accuracy", slope(fit_em), slope(fit_acc),
                                labels=("slope EM", "slope per-digit acc"))
    claim.measured(check.measured)
    claim.note(f"slope per ln N: EM {slope(fit_em).text()}, per-digit acc {slope(fit_acc).text()}")
    claim.fit({"em": fit_em, "digit_acc": fit_acc})
    claim.check(check)


@pytest.mark.quick
@pytest.mark.claim("emergence-longer-sharper", headline="emergence", role="law", quantity="logistic slope in ln N: EM over 4 minus over 2 digits",
                   claim="exact match gets sharper as the answer gets longer", paper_value="slope grows with L",
                   tolerance="interval of slope_EM(4) - slope_EM(2) above 0",
                   justification="a comparison of two fitted slopes, decided by the interval of their difference",
                   expect=expect.inconclusive(
                       STEPS_WHY + "; EM over 2 and 4 digits of the same predictions differ by less than that",
                       declared="after data",
                       note="first expected inconclusive in commit eee153b (2026-11-28) beside its measured slopes, "
                            "2.68 [1.51, 3.85] (4 digits) vs 2.55 (2 digits), from the quick ladder's runs"), **COMMON)
def test_longer_answers_are_sharper(claim, ladder):
    _record(claim, ladder)
    fit4 = fit_logistic(ladder["N"], ladder["em"])
    fit2 = fit_logistic(ladder["N"], ladder["em_prefix"][:, 1])
    check = checks.steeper_than("longer answers are sharper", slope(fit4), slope(fit2),
                                labels=("slope EM 4 digits", "slope EM 2 digits"))
    claim.measured(check.measured)
    claim.note(f"slope per ln N: 4 digits {slope(fit4).text()}, 2 digits {slope(fit2).text()}")
    claim.fit({"em_4_digits": fit4, "em_2_digits": fit2})
    claim.check(check)


@pytest.mark.quick
@pytest.mark.claim("emergence-ce-power-law", headline="emergence", role="law", quantity="R^2 (log space) of CE = c N^-alpha",
                   claim="per-token cross-entropy on the answer falls as a power law in N", paper_value="smooth",
                   tolerance=f"R^2 >= {CE_R2}", justification="the threshold of docs/sources.md; interval from a "
                                                             "bootstrap over each size's seeds",
                   expect=expect.out_of_regime(
                       "at 2k-60k parameters a single run learns each carry as a discrete event (docs/sources.md, "
                       "'Schaeffer et al. 2023': "
                       "carry learning can itself jump), so 3 seeds per size average a few jumps, not a smooth "
                       "per-token improvement; Schaeffer et al.'s smooth per-token metrics are for model families "
                       "whose per-token accuracy improves gradually", expect="inconclusive", declared="after data",
                       note="declared out of regime in commit 3d57cb6 (2026-12-01), after the quick ladder had been run "
                            "(commit 53dc502, 2026-11-28), when a refutation there was reported inconclusive; its "
                            "expected verdict, inconclusive (R^2 0.80 [0.53, 0.93] against 0.9), written out in issue "
                            "'Verdicts that answer' (item 2)"), **COMMON)
def test_answer_cross_entropy_is_a_power_law(claim, ladder):
    _record(claim, ladder)
    ce_runs = ladder["ce_runs"]
    fit = fit_power_law(ladder["N"], ladder["ce"])
    boot = bootstrap(lambda *idx: fit_power_law(ladder["N"], [row[i].mean() for row, i in zip(ce_runs, idx)]).r2,
                     [ce_runs.shape[1]] * ce_runs.shape[0], 1000, units="seeds within each size")
    r2 = boot.estimate(fit.r2)
    claim.measured(r2)
    claim.note(f"CE exponent {Estimate.from_fit(fit, 'exponent').text()}, R^2 {r2.text()}")
    claim.fit(fit)
    claim.check(checks.r2_at_least("answer cross-entropy is a power law in N (log space)", r2, CE_R2))


# The separately trained tasks (slow). Each task's ladder must bracket its own transition. In the
# first slow run (2026-12; widths 8-64 for both tasks, seeds 0-2), 2-digit addition was learned by
# every run from width 12 up (EM 0.94-1.0) and by one of the runs at width 8, so its logistic had
# one size on its rise and a degenerate slope, 20 [-3328, 3369] (difference -18 [-3367, 3331]:
# inconclusive, against the expected confirmed), while 4-digit addition rose from width 12 to 64
# with bimodal seeds (slope 2.5 [-0.3, 5.2]). A mis-sized design, not evidence about the claim, so
# it was resized before any new run: the 2-digit ladder moves down to widths 4-12, and both tasks
# train 6 seeds (a size's mean EM moves in steps of 1/6, not 1/3). The expectation is unchanged.
SEPARATE_LADDERS = {2: (4, 5, 6, 7, 8, 10, 12), 4: (8, 12, 16, 24, 32, 48, 64)}
SEPARATE_SEEDS, SLOW_STEPS = (0, 1, 2, 3, 4, 5), 3000
# What the resized design measured (2026-12), the expectation kept as the paper's: each run either
# learns the carries or not, so a size's EM is a lottery over seeds, and the 4-digit curve is not
# even monotone in N (seed means 0.02, 0.17, 0.48, 0.02, 0.37, 0.39, 0.90 over widths 8-64); the
# 2-digit curve rises from 0.20 (width 4) to 1.0 (width 10). Slopes: k=2 2.42 [0.33, 4.50], k=4
# 0.88 [-1.06, 2.81], difference -1.54 [-4.38, 1.30]: inconclusive, with the point the other way
# round from the claim. Resolving it would take ~4x the seeds (a seed mean's SD ~0.5/sqrt(k)).
SEPARATE_XFAIL = ("inconclusive in the resized slow design (6 seeds): carry learning is a per-seed lottery, the "
                  "4-digit EM is not monotone in N; slope k=4 - slope k=2 = -1.54 [-4.38, 1.30]")


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason=SEPARATE_XFAIL)
@pytest.mark.claim("emergence-longer-sharper-separate", headline="emergence", role="law", paper=PAPER,
                   quantity="logistic slope in ln N: EM on 4-digit minus 2-digit addition",
                   claim="exact match gets sharper as the answer gets longer (separately trained tasks)",
                   paper_value="slope grows with L", tolerance="interval of slope(k=4) - slope(k=2) above 0",
                   justification="a comparison of two fitted slopes, decided by the interval of their difference",
                   param_convention="non-embedding N (Kaplan)", seeds=list(SEPARATE_SEEDS),
                   budget=f"{SLOW_STEPS} steps, widths {SEPARATE_LADDERS[2]} (k=2) and {SEPARATE_LADDERS[4]} (k=4), "
                          f"seeds {SEPARATE_SEEDS}")
def test_longer_answers_are_sharper_separate_tasks(claim, sweep, device):
    """The full form: 2-digit and 4-digit addition (answers of 3 and 5 digits) trained
    separately, each on a ladder around its own transition, 6 seeds, 3,000 steps each."""
    fits, curves = {}, {}
    for k in (2, 4):
        res = sweep.results([addition_spec(w, s, device, k=k, steps=SLOW_STEPS)
                             for w in SEPARATE_LADDERS[k] for s in SEPARATE_SEEDS], desc=f"emergence k={k}")
        claim.runs(res)
        m = ladder_metrics(res)
        fits[k], curves[f"EM, {k}-digit addition"] = fit_logistic(m["N"], m["em"]), (m["N"], m["em"])
    check = checks.steeper_than("longer answers are sharper", slope(fits[4]), slope(fits[2]),
                                labels=("slope k=4", "slope k=2"))
    claim.measured(check.measured)
    for k, f in fits.items():
        claim.note(f"k={k}: slope {slope(f).text()}" + (f" (flagged: {'; '.join(f.flags.values())})" if f.flags else ""))
    claim.fit({f"k={k}": f for k, f in fits.items()})
    claim.plot(plots.grouped_plot, curves, xlabel="non-embedding parameters N",
               ylabel=f"exact match (mean of {len(SEPARATE_SEEDS)} seeds)", logx=True,
               title="Exact match vs N for two answer lengths")
    claim.check(check)


# ----------------------------------------------------------------------------- the slow ladder
# Issue "Emergence as a metric artifact". The design, declared before its deciding runs:
# - runs: addition_spec unchanged (reversed 3-digit addition, 2 layers, 1,000 steps, 2,000 held-out
#   problems), widths SLOW_WIDTHS (N 1,760-100,096), seeds SLOW_SEEDS (40-55: used by no other
#   claim; the quick ladder has 0-2, the prediction ladder 3-10, the critical-size search 11-26);
# - every interval: a percentile bootstrap over the seeds within each size (N_BOOT_SLOW
#   resamples), every fit redone, both metrics of a comparison from the same resample (paired);
#   the EM - product gap per run from its problems, as in the quick claim;
# - the sharpness rows: logistic slopes in ln N of the seed means, EM (floor 0) against per-digit
#   accuracy with its floor fixed at ACC_FLOOR (the quick claim's free floor went to its bound, 0,
#   on the pilot: a fixed floor keeps the fit identified), and EM over 4 against over 2 digits;
# - the prediction rows: fitted on FIT_WIDTHS, scored at HELD_OUT_WIDTHS (1.35x-6.9x the largest
#   fitted N), the same form for both metrics: the shortfall 1 - m as c N^-alpha (the per-token
#   law Schaeffer et al.'s argument starts from), error = predicted - measured seed mean.
# The pilot (seeds 100-103, the ten widths; they decide nothing): 40 runs, 238 s of training on
# one core (3.8 s per run at width 8, 11.4 s at 64), so the 160 deciding runs cost ~16 min. Each
# run learns the carries or not (EM per run ~0 or ~1 from width 16 up; seed means 0.003, 0.006,
# 0.26, 0.27, 0.03, 0.29, 0.70, 0.46, 0.74, 0.50), and per-digit accuracy follows the same runs
# (0.35 ... 0.86): both seed means are close to affine in the share of runs that learned, so their
# slopes nearly coincide. Measured there (and projected to 16, 24 and 32 seeds by resampling 16-32
# draws from the pilot's 4 per size):
# - slope EM - slope per-digit acc: -0.15 [-0.53, 0.97] (EM 0.92 [-0.12, 1.96], per-digit 1.07
#   [0.36, 1.77]); projected [-0.35, 0.15] (16), [-0.32, 0.06] (24), [-0.28, 0.06] (32): a gap
#   this close to 0 straddles at any affordable seed count, so this row is declared inconclusive;
# - slope EM(4) - EM(2): -0.008 [-17, 0.25]; projected [-0.09, 0.05] (16): inconclusive, the two
#   exact matches of one run nearly coincide (a run that learns the carries gets both right);
# - EM - prod acc: largest |gap| 0.013 over the 40 runs, every interval inside [-0.019, 0.009];
# - CE power law R^2: 0.68 [0.37, 0.81]; projected [0.52, 0.78] (16): below 0.9;
# - prediction (fitted widths 8-24): mean|error EM| - mean|error per-digit| 0.195 [0.079, 0.388],
#   projected [0.10, 0.29] (16); per-digit errors at widths 28-64: +0.005, -0.19, -0.05, -0.14,
#   -0.03 (projected 16-seed intervals at widths 32 and 48 wholly below -0.07).
# So 16 seeds decide the prediction rows, the product and the CE law; the two sharpness rows
# would need a gap the pilot did not show, and are declared inconclusive with that reason.
SLOW_WIDTHS = (8, 12, 16, 20, 24, 28, 32, 40, 48, 64)
SLOW_SEEDS = tuple(range(40, 56))
PILOT_SEEDS = (100, 101, 102, 103)  # sized the design above; decide nothing
FIT_WIDTHS, HELD_OUT_WIDTHS = (8, 12, 16, 20, 24), (28, 32, 40, 48, 64)
# Per-digit accuracy of a model that gets the answer's top digit (0 or 1, the carry out: learned
# first) and guesses the other three among 10 digits: (1 + 3 * 0.1) / 4. The pilot's width-8 runs:
# 0.32, 0.33, 0.44, 0.33.
ACC_FLOOR = 0.325
# |predicted - measured| per-digit accuracy at each held-out width: Bhagia et al. 2024's average
# error on their four harder tasks, 6.9 points (the tolerance of claims/test_emergence_prediction.py);
# Schaeffer et al. call the per-token metric predictable but give no number.
PREDICT_TOL = 0.07
N_BOOT_SLOW = 1000
CARRY_LOTTERY = ("at 2k-100k parameters each run learns the carries as a discrete event (per-run EM ~0 or ~1 "
                 "from width 16 up on the pilot), so the seed mean of any metric is a lottery over runs, not a "
                 "smooth per-token improvement; Schaeffer et al.'s smooth per-token metrics are for model "
                 "families whose per-token accuracy improves gradually")
SLOW = dict(paper=PAPER, headline="emergence", role="law", param_convention="non-embedding N (Kaplan)",
            seeds=list(SLOW_SEEDS), budget=f"{STEPS} steps x 64 problems per run, widths {SLOW_WIDTHS}, seeds "
                                           f"{SLOW_SEEDS[0]}-{SLOW_SEEDS[-1]}; pilot seeds {PILOT_SEEDS} decide nothing")


@pytest.fixture
def slow_ladder(sweep, device):
    results = sweep.results([addition_spec(w, s, device) for w in SLOW_WIDTHS for s in SLOW_SEEDS],
                            desc="emergence slow ladder")
    m = ladder_metrics(results)
    m["results"] = results
    m["fitted"] = np.isin(np.array(SLOW_WIDTHS), FIT_WIDTHS)
    return m


def _sharper_row(claim, m, b_runs, check_name: str, names: tuple[str, str], labels: tuple[str, str],
                 b_lower: float | None = 0.0) -> None:
    """A slow sharpness row: exact match's logistic slope in ln N against metric b's on the same
    runs, decided by the paired bootstrap interval of their difference."""
    _record(claim, m)
    g = metric_artifact.slope_gap(m["N"], m["em_runs"], b_runs, b_lower=b_lower, n_boot=N_BOOT_SLOW)
    claim.measured(g.gap)
    claim.note(f"slope per ln N: {labels[0]} {g.slope_a.text()}, {labels[1]} {g.slope_b.text()}; "
               f"difference {g.gap.text()}")
    claim.fit({names[0]: g.fit_a, names[1]: g.fit_b})
    claim.check(checks.steeper_than(check_name, g.slope_a, g.slope_b,
                                    labels=(f"slope {labels[0]}", f"slope {labels[1]}"), paired=g.gap))


@pytest.mark.slow
@pytest.mark.claim("emergence-em-sharper-slow", quantity="logistic slope in ln N: EM minus per-digit accuracy",
                   claim="EM looks sharper (emergent) than per-digit accuracy on the same predictions",
                   paper_value="slope EM > slope per-digit",
                   tolerance="interval of slope_EM - slope_acc above 0 (paired bootstrap over seeds)",
                   justification="a comparison of two fitted slopes, decided by the interval of their difference",
                   expect=expect.inconclusive(
                       "the pilot (seeds 100-103) measured slope EM - slope per-digit acc -0.15 [-0.53, 0.97]: each "
                       "run learns the carries or not, so both seed means follow the same share of learned runs; "
                       "projected to 16 seeds [-0.35, 0.15], to 32 [-0.28, 0.06]: straddles 0"), **SLOW)
def test_exact_match_is_sharper_than_per_digit_accuracy_slow(claim, slow_ladder):
    _sharper_row(claim, slow_ladder, slow_ladder["acc_runs"], "EM sharper than per-digit accuracy",
                 ("em", "digit_acc"), ("EM", f"per-digit acc (floor {ACC_FLOOR})"), b_lower=ACC_FLOOR)


@pytest.mark.slow
@pytest.mark.claim("emergence-longer-sharper-slow", quantity="logistic slope in ln N: EM over 4 minus over 2 digits",
                   claim="exact match gets sharper as the answer gets longer", paper_value="slope grows with L",
                   tolerance="interval of slope_EM(4) - slope_EM(2) above 0 (paired bootstrap over seeds)",
                   justification="a comparison of two fitted slopes, decided by the interval of their difference",
                   expect=expect.inconclusive(
                       "the pilot (seeds 100-103) measured slope EM(4) - EM(2) -0.008 [-17, 0.25], projected to 16 "
                       "seeds [-0.09, 0.05]: a run that learns the carries gets both prefixes right, so the two "
                       "exact matches of one run nearly coincide"), **SLOW)
def test_longer_answers_are_sharper_slow(claim, slow_ladder):
    _sharper_row(claim, slow_ladder, slow_ladder["em_prefix_runs"][:, :, 1], "longer answers are sharper",
                 ("em_4_digits", "em_2_digits"), ("EM 4 digits", "EM 2 digits"))


@pytest.mark.slow
@pytest.mark.claim("emergence-em-product-slow", quantity="EM - prod_j acc_j of the run where it is largest",
                   claim="exact match ~ product of per-position accuracies (p^L)", paper_value="EM ~ p^L",
                   tolerance=f"|EM - prod acc| <= {PRODUCT_TOL} for every run (its whole interval)",
                   justification="~0.05 (docs/sources.md): p^L is the paper's approximation; correlated digit errors "
                                 "make EM >= product", **SLOW)
def test_exact_match_is_the_product_of_digit_accuracies_slow(claim, slow_ladder):
    _product_claim(claim, slow_ladder)


@pytest.mark.slow
@pytest.mark.claim("emergence-ce-power-law-slow", quantity="R^2 (log space) of CE = c N^-alpha",
                   claim="per-token cross-entropy on the answer falls as a power law in N", paper_value="smooth",
                   tolerance=f"R^2 >= {CE_R2}", justification="the threshold of docs/sources.md; interval from a "
                                                             "bootstrap over each size's seeds",
                   expect=expect.out_of_regime(
                       CARRY_LOTTERY + "; the pilot (seeds 100-103) measured R^2 0.68 [0.37, 0.81], projected to 16 "
                       "seeds [0.52, 0.78]", expect="refuted"), **SLOW)
def test_answer_cross_entropy_is_a_power_law_slow(claim, slow_ladder):
    m = slow_ladder
    _record(claim, m)
    ce_runs = m["ce_runs"]
    fit = fit_power_law(m["N"], m["ce"])
    boot = bootstrap(lambda *idx: fit_power_law(m["N"], [row[i].mean() for row, i in zip(ce_runs, idx)]).r2,
                     [ce_runs.shape[1]] * ce_runs.shape[0], N_BOOT_SLOW, units="seeds within each size")
    r2 = boot.estimate(fit.r2)
    claim.measured(r2)
    claim.note(f"CE exponent {Estimate.from_fit(fit, 'exponent').text()}, R^2 {r2.text()}")
    claim.fit(fit)
    claim.check(checks.r2_at_least("answer cross-entropy is a power law in N (log space)", r2, CE_R2))


def _prediction(claim, m):
    p = metric_artifact.predictability(m["N"], m["em_runs"], m["acc_runs"], m["fitted"], n_boot=N_BOOT_SLOW)
    held = [f"width {w} (N {n:,.0f})" for w, n in zip(HELD_OUT_WIDTHS, p.held_out)]
    claim.runs(m["results"])
    claim.points({"N": p.held_out, "em_measured": m["em"][~m["fitted"]], "acc_measured": m["acc"][~m["fitted"]],
                  "em_error": [e.value for e in p.errors_a], "acc_error": [e.value for e in p.errors_b]})
    claim.fit({"em_shortfall": p.fit_a, "digit_acc_shortfall": p.fit_b})
    f = m["fitted"]
    grid = np.geomspace(m["N"][0], m["N"][-1], 50)
    claim.plot(plots.grouped_plot, {"exact match (measured)": (m["N"], m["em"]),
                                    "per-digit accuracy (measured)": (m["N"], m["acc"]),
                                    "EM: trend of widths 8-24": (grid, 1 - p.fit_a.predict(grid)),
                                    "per-digit acc.: trend of widths 8-24": (grid, 1 - p.fit_b.predict(grid))},
               xlabel="non-embedding parameters N", ylabel=f"metric (mean of {m['em_runs'].shape[1]} seeds)",
               logx=True, title=f"Small-model trends (fitted on N <= {m['N'][f].max():,.0f}) vs the larger models",
               styles=["o", "^", "-", "--"])
    claim.note("errors (predicted - measured): EM " + ", ".join(f"{h}: {e.text()}" for h, e in zip(held, p.errors_a))
               + "; per-digit acc " + ", ".join(f"{h}: {e.text()}" for h, e in zip(held, p.errors_b)))
    return p, held


# The deciding run (seeds 40-55, 2026-12-08; declared in commit cfc7718 before it) measured this row
# inconclusive, not the declared refuted: with 16 seeds the held-out per-digit means moved less than
# the pilot's 4, and every error's interval straddles the band or lies inside it on one side.
PER_TOKEN_SLOW_XFAIL = (
    "declared refuted (outside the paper's regime) from the pilot; decided on seeds 40-55: per-digit accuracy "
    "predicted from widths 8-24 minus measured, width 28 +0.041 [-0.056, 0.146], 32 -0.099 [-0.178, -0.014], "
    "40 +0.040 [-0.078, 0.149], 48 -0.050 [-0.138, 0.039], 64 -0.022 [-0.115, 0.070]: none inside +-0.07, none "
    "wholly outside (width 32 straddles -0.07): inconclusive. The pilot's 4-seed errors (-0.19 at width 32, -0.14 "
    "at 48) were larger than 16 seeds measure, and its projected intervals (~+-0.07) narrower than the measured "
    "(~+-0.09-0.11)")
PREDICT_DESIGN = (f"the shortfall 1 - m fitted as c N^-alpha on widths {FIT_WIDTHS}, scored at widths {HELD_OUT_WIDTHS} "
                  f"(predicted - measured seed mean); bootstrap over seeds within each size")


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason=PER_TOKEN_SLOW_XFAIL)
@pytest.mark.claim("emergence-per-token-predictable-slow",
                   quantity="predicted - measured per-digit accuracy at the held-out widths (the worst)",
                   claim="a per-token metric's small-model trend predicts the larger models",
                   paper_value="smooth, predictable per-token metric (Schaeffer et al.)",
                   tolerance=f"|error| <= {PREDICT_TOL} at every held-out width (whole interval); {PREDICT_DESIGN}",
                   justification="Bhagia et al. 2024's average error on their harder tasks, 6.9 points (as in "
                                 "claims/test_emergence_prediction.py); Schaeffer et al. give no number",
                   expect=expect.out_of_regime(
                       CARRY_LOTTERY + "; the pilot (seeds 100-103) missed by +0.005, -0.19, -0.05, -0.14, -0.03 at "
                       "widths 28-64, the projected 16-seed intervals at widths 32 and 48 wholly below -0.07",
                       expect="refuted"), **SLOW)
def test_per_token_metric_is_predictable_slow(claim, slow_ladder):
    p, held = _prediction(claim, slow_ladder)
    claim.measured(max(p.errors_b, key=lambda e: abs(e.value)))
    claim.check(checks.all_within("per-digit accuracy predicted from widths 8-24", p.errors_b, -PREDICT_TOL,
                                  PREDICT_TOL, labels=held))


@pytest.mark.slow
@pytest.mark.claim("emergence-em-less-predictable-slow",
                   quantity="mean |error| EM minus mean |error| per-digit accuracy at the held-out widths",
                   claim="exact match is less predictable from small models than the per-token metric of the same runs",
                   paper_value="per-token metric predictable, EM not (Schaeffer et al.)",
                   tolerance=f"interval of the difference above 0; {PREDICT_DESIGN}",
                   justification="an ordering of two metrics' errors on the same runs, decided by the interval of "
                                 "their paired difference; both are accuracies on [0, 1], so their errors share a unit",
                   **SLOW)
def test_exact_match_is_less_predictable_slow(claim, slow_ladder):
    p, _ = _prediction(claim, slow_ladder)
    claim.measured(p.gap)
    claim.check(checks.ordered("EM's small-model trend misses the larger models by more", p.gap,
                               labels=("mean |error| per-digit acc", "mean |error| EM")))
