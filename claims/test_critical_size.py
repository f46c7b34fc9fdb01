"""The critical-size search (the research plan's project 7; issue 9, item 4; docs/sources.md,
'Predicting emergence and the critical size').

The plan: find the model size N_c at which exact match (EM) crosses 0.5 by bisection in log N
over real trained runs, stopping when the bracket is within 10% in N; it should agree with the
dense ladder's logistic midpoint within that midpoint's interval. Then compare the plan's
critical-exponent form ``EM = min(1, A (N/N_c - 1)**beta)`` (0 below N_c; Bahri et al. 2020's
physics analogy) with a logistic in log N on sizes near the transition. Schaeffer et al. 2023's
metric-artifact view expects a smooth onset, not a true critical point, so neither is asserted to
be a phase transition: we only ask which form predicts unseen sizes better.

Miniature: the emergence ladder (claims/test_emergence.py: reversed 3-digit addition, 2-layer
decoders, 1,000 steps, the seed mean of EM over 2,000 held-out problems). The bisection
(``scaling_claims.studies.critical.bisect_runs``) probes the width whose N is nearest the bracket's
geometric middle, every probe through the run cache (the ``sweep`` fixture); a probe is the mean
EM of its seeds. Realisable sizes: the ladder's rule n_head = max(1, width // 16) must divide
the width, so above width 32 only even widths exist and neighbouring sizes differ by 9-13% in N
(the bisection stops at "granularity" when no width lies strictly inside the bracket). New
widths carry only the exact-match evaluator (best-of-n sampling runs after training and does
not change a run's EM).

- quick: starts from the ladder's bracket (the adjacent ladder sizes whose seed means lie on
  either side of 0.5: cache hits), seeds 0-2, at most 3 new probes (9 runs, ~85 s on one core).
  The dense ladder's midpoint interval (HC3 over its 15 runs) is [15.0k, 73.1k], which covers
  the whole searched bracket [25.5k, 56.6k]: no outcome of this search could disagree with it,
  so the agreement check is inconclusive by construction (``checks.bracket_within`` says so),
  declared before the probes ran. The comparison of the two forms uses the probes as held-out
  sizes: both forms are fitted on the ladder's 15 runs and predict the probes' seed means.
- slow: a wide search on fresh seeds (11-26, 16 per probe) from width 16 to 64, at most 8
  probes (~130 runs), against the slow dense ladder of claims/test_emergence_prediction.py (10
  widths, seeds 3-10), whose midpoint interval is narrow enough for the check to be able to fail.

The bracket is where the *measured* seed mean crosses 0.5, not a confidence interval: near the
crossing a run either learns the carries or not, so a seed mean of k runs has a standard
deviation of about 0.5/sqrt(k), i.e. ~0.18 for k = 8 and ~0.13 for k = 16, which at the ladder's
slope (~2.7 per ln N, so dEM/d ln N ~ 0.67 at the midpoint) moves the crossing by ~+-30% and
~+-20% in N: two to three times the 10% bracket. A 10% bracket that is also a 10% estimate would need
~200 seeds per probe. The agreement check is the plan's (the bracket inside the ladder's 95%
midpoint interval), which ignores the bracket's own noise. Its operating characteristics, from a
simulation of this design (scaling_claims.studies.critical and the same fits, bimodal runs whose success
probability is a logistic in ln N with slope 2.7, the same crossing for ladder and search, 400
repetitions): confirmed 72%, inconclusive 15%, refuted 13% (with 8 seeds per probe: 68%, 15%,
17%). So the slow expectation was "confirmed", and a refutation there is weak evidence of a real
disagreement (one in eight designs refutes with none).

That check alone proved too weak: the first slow run confirmed it with a bracket [23,932, 25,472]
that excludes the ladder's own estimate, 35,630, because the estimate's interval [17,440, 72,770]
is 4.2x wide. A second check (``checks.bracket_agrees_with``) now asks what the plan's 10% means
for two locations of one crossing: the interval of bracket / midpoint, bracket ends over the
interval's ends, must lie inside [1/1.1, 1.1] to confirm (then the midpoint lies within 10% of
every point of the bracket), and refutes when it lies wholly outside. With the slow ladder's
interval no bracket can confirm it: the slow run's numbers give 0.69 [0.33, 1.46], inconclusive.
The slow search takes hours and was not rerun for the new check, so its expectation is re-derived
from those numbers and declared after its data (``SLOW_AGREE``).

Intervals: the comparison by a percentile bootstrap over the seeds within each size (ladder and
probe sizes), both forms refitted on every resample; 3 seeds per size give intervals that cover
less than 95% (see test_emergence.py).

Measured (quick; CPU, float32; the probes' first run, the same numbers on every rerun, cold or
warm): the bisection probed width 40 (N 39,520: seeds 0.112, 0.997, 0.072 -> mean
0.393), width 44 (47,696: 0.106, 0.007, 0.080 -> 0.064: no seed learned the carries) and width 46
(52,072: 0.106, 0.942, 0.998 -> 0.682), and stopped resolved with the bracket [47,696, 52,072]
(widths 44-46, ratio 1.092). The dense ladder's midpoint is 33,150 [15,040, 73,070]: it covers
the searched range, so the agreement check is inconclusive, as declared (and bracket / midpoint
1.50 [0.65, 3.46] straddles [1/1.1, 1.1], as it must for any bracket in that range). The measured seed-mean
curve is not monotone (0.393 at 39,520, 0.064 at 47,696): the bracket is one crossing of a noisy
curve, 1.5x above the ladder's midpoint. Critical form vs logistic, both fitted on the ladder's
15 runs and predicting the 3 probes: mean |error| 0.290 vs 0.324, difference (logistic minus
critical) 0.034 [-0.051, 0.266]: inconclusive, as declared. The critical fit: N_c 14,310,
beta 0.57, A 0.42 (flagged: only 3 points on its rise). No true phase transition is asserted.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pytest
from test_emergence import BON, EM, SEEDS, STEPS, WIDTHS, addition_spec
from test_emergence_prediction import DESIGNS

from scaling_claims.verdicts import checks, expect, plots
from scaling_claims.verdicts.estimates import Estimate, bootstrap
from scaling_claims.studies.critical import bisect_runs
from scaling_claims.fit import fit_logistic
from scaling_claims.fit.emergence import critical_crossing, fit_critical
from scaling_claims.studies.ladders import non_embedding
from scaling_claims.runs.sweep import require_ok

PAPER = "the research plan, project 7 (critical size); Bahri et al. 2020 (analogy); Schaeffer et al. 2023"
LEVEL, RTOL = 0.5, 0.10  # the plan: EM = 0.5, bracket within 10% in N
N_BOOT = 200


@dataclass(frozen=True)
class Search:
    ladder_widths: tuple[int, ...]  # the dense ladder (its logistic midpoint is the reference)
    ladder_seeds: tuple[int, ...]
    seeds: tuple[int, ...]  # the bisection's seeds
    start: tuple[int, int] | None  # starting widths; None: the ladder's own bracket
    max_probes: int


SEARCHES = {"quick": Search(WIDTHS, SEEDS, SEEDS, None, 3),
            "slow": Search(DESIGNS["slow"].widths, DESIGNS["slow"].seeds, tuple(range(11, 27)), (16, 64), 8)}
_CACHE: dict = {}


def valid(width: int) -> bool:
    return width % max(1, width // 16) == 0


def specs(width: int, seeds, device: str):
    out = [addition_spec(width, s, device) for s in seeds]
    return out if width in WIDTHS else [replace(s, evals=tuple(e for e in s.evals if e.name != BON)) for s in out]


def mean_em(results) -> float:
    return float(np.mean([r.metrics[f"{EM}/exact_match"] for r in require_ok(results)]))


def ems(results) -> np.ndarray:
    return np.array([r.metrics[f"{EM}/exact_match"] for r in results], float)


def search(sweep, device, name: str) -> dict:
    """The dense ladder, its logistic, the bisection and the two forms' held-out errors."""
    key = (name, device, str(sweep.cache.root))
    if key in _CACHE:
        return _CACHE[key]
    s = SEARCHES[name]
    ladder = [sweep.results(specs(w, s.ladder_seeds, device), desc="emergence ladder") for w in s.ladder_widths]
    N_lad = np.array([non_embedding(addition_spec(w, 0, device).model) for w in s.ladder_widths], float)
    em_lad = np.array([ems(r) for r in ladder])
    k = em_lad.shape[1]
    dense = fit_logistic(np.repeat(N_lad, k), em_lad.ravel())
    if s.start is None:  # the first adjacent ladder pair whose seed means lie on either side of LEVEL
        i = next(i for i in range(len(N_lad) - 1) if em_lad[i].mean() < LEVEL <= em_lad[i + 1].mean())
        start = (s.ladder_widths[i], s.ladder_widths[i + 1])
    else:
        start = s.start
    width_of = {non_embedding(addition_spec(w, 0, device).model): w
                for w in range(start[0], start[1] + 1) if valid(w)}
    bis = bisect_runs(lambda n: specs(width_of[n], s.seeds, device), mean_em, sweep.results,
                      *(non_embedding(addition_spec(w, 0, device).model) for w in start), level=LEVEL, rtol=RTOL,
                      sizes=sorted(width_of), max_probes=s.max_probes)
    held = [p for p in bis.new_probes if p.size not in set(N_lad)]
    N_held = np.array([p.size for p in held], float)
    em_held = np.array([ems(p.runs) for p in held])

    def errors(em_l, em_h):
        lo = fit_logistic(np.repeat(N_lad, k), em_l.ravel())
        cr = fit_critical(np.repeat(N_lad, k), em_l.ravel())
        target = em_h.mean(axis=1)
        return lo, cr, np.abs(lo.predict(N_held) - target).mean(), np.abs(cr.predict(N_held) - target).mean()

    logi, crit, e_log, e_crit = errors(em_lad, em_held)
    kh = em_held.shape[1]

    def stat(*idx):
        el = np.array([row[i] for row, i in zip(em_lad, idx[:len(N_lad)])])
        eh = np.array([row[i] for row, i in zip(em_held, idx[len(N_lad):])])
        *_, a, b = errors(el, eh)
        return a - b

    boot = bootstrap(stat, [k] * len(N_lad) + [kh] * len(held), N_BOOT, units="seeds within each size")
    out = {"search": s, "start": start, "width_of": width_of, "N_lad": N_lad, "em_lad": em_lad, "dense": dense,
           "bis": bis, "N_held": N_held, "em_held": em_held, "logistic": logi, "critical": crit,
           "err": (e_log, e_crit), "diff": boot.estimate(e_log - e_crit, what="logistic - critical mean |error|"),
           "runs": [r for rs in ladder for r in rs] + [r for p in bis.new_probes for r in p.runs]}
    _CACHE[key] = out
    return out


def record(claim, a: dict) -> None:
    claim.runs(a["runs"])
    bis, wo = a["bis"], a["width_of"]
    grid = np.geomspace(a["N_lad"].min(), a["N_lad"].max() * 1.3, 80)
    probes = sorted(bis.probes, key=lambda p: p.size)
    claim.points({"N": [p.size for p in probes], "width": [wo[p.size] for p in probes],
                  "exact_match_mean": [p.value for p in probes],
                  "order_probed": [bis.probes.index(p) for p in probes]})
    claim.fit({"dense_logistic": a["dense"], "logistic": a["logistic"], "critical": a["critical"],
               "bisection": bis.to_dict()})
    claim.plot(plots.grouped_plot, {"dense ladder (mean of seeds)": (a["N_lad"], a["em_lad"].mean(1)),
                                    "bisection probes": ([p.size for p in bis.new_probes],
                                                         [p.value for p in bis.new_probes]),
                                    "logistic in log N (ladder)": (grid, a["logistic"].predict(grid)),
                                    "critical form (ladder)": (grid, a["critical"].predict(grid)),
                                    "final bracket": ([bis.lo.size, bis.hi.size], [LEVEL, LEVEL])},
               styles=["o", "s", "-", "--", "k|-"], logx=True, hline=("EM = 0.5", LEVEL),
               xlabel="non-embedding parameters N", ylabel="exact match (mean of seeds)",
               title="Critical-size search: bisection and the two forms")
    claim.note("bisection (width: N -> mean EM (each seed's), in probe order): " + "; ".join(
        f"w{wo[p.size]}: {p.size:.0f} -> {p.value:.3f} ({', '.join(f'{v:.3f}' for v in ems(p.runs))})"
        for p in bis.probes))
    claim.note(f"final bracket [{bis.lo.size:.0f}, {bis.hi.size:.0f}] (widths {wo[bis.lo.size]}-{wo[bis.hi.size]}), "
               f"ratio {bis.ratio:.3f} (target <= {1 + RTOL}), stopped: {bis.stopped}; dense-ladder midpoint "
               f"{Estimate.from_fit(a['dense'], 'midpoint').text()}")
    c = a["critical"]
    claim.note(f"critical form on the ladder: N_c {c.critical_size:.4g}, beta {c.beta:.3g}, amplitude "
               f"{c.amplitude:.3g} (crossing {critical_crossing(c, LEVEL):.4g})"
               + (f"; flagged: {'; '.join(c.flags.values())}" if c.flags else ""))


def params(quick_expect, slow_expect, slow_seeds):
    return pytest.mark.parametrize("design", [
        pytest.param("quick", marks=[pytest.mark.quick, pytest.mark.claim(
            seeds=list(SEEDS), expect=quick_expect,
            budget=f"ladder widths {WIDTHS}, seeds {SEEDS}; <= 3 probes x 3 seeds, {STEPS} steps")]),
        pytest.param("slow", marks=[pytest.mark.slow, pytest.mark.claim(
            seeds=slow_seeds, expect=slow_expect,
            budget=f"ladder widths {SEARCHES['slow'].ladder_widths}, seeds 3-10; search widths 16-64, "
                   f"<= 8 probes x seeds 11-26, {STEPS} steps")])])


VACUOUS = ("the quick dense ladder's midpoint interval (HC3 over its 15 runs, [15.0k, 73.1k]) covers the whole "
           "bracket the bisection searches (the ladder sizes 25,472 and 56,640): any bracket found there agrees with "
           "it, so this design cannot test agreement; the slow variant can. The same holds for the within-10% check "
           "added later: for any bracket inside the searched range the ratio interval, ends over ends, reaches "
           "below 56,640/73,070 = 0.78 and above 25,472/15,040 = 1.69, so it always straddles [1/1.1, 1.1]")
# The slow search's first run (2026-12, docs/results-slow.md) confirmed agreement under the plan's
# check alone, with a bracket [23,932, 25,472] that excludes the ladder's own estimate 35,630: its
# interval [17,440, 72,770] is 4.2x wide, so a bracket anywhere in it "agreed". The within-10% check
# (checks.bracket_agrees_with) was added after that run; the slow search takes hours and was not
# rerun, so its verdict is re-derived from those numbers and declared after its data.
SLOW_AGREE = ("the slow dense ladder's midpoint 35,630 has a 95% interval [17,440, 72,770], 4.2x wide: a ratio "
              "interval of bracket over midpoint is at least that wide, so agreement within 10% cannot be shown; "
              "the first slow run's bracket [23,932, 25,472] gives 0.69 [0.33, 1.46], straddling [1/1.1, 1.1] "
              "(the plan's inside-the-interval check confirms it)")
SLOW_AGREE_NOTE = ("the first slow run (2026-12, docs/results-slow.md) was decided under expect.confirmed() (commit "
                   "a136191, before the probes ran) with the inside-the-interval check alone; the within-10% check was "
                   "added after it, and this expectation re-derived from its numbers (the slow search takes hours; not "
                   "rerun)")
NOISE = ("near the crossing a seed mean of 3 bimodal runs carries about +-0.3 (95%), while the two forms' predictions "
         "at the probed sizes differ by a few hundredths")


@params(expect.inconclusive(VACUOUS),
        expect.inconclusive(SLOW_AGREE, declared="after data", note=SLOW_AGREE_NOTE), list(range(3, 27)))
@pytest.mark.claim("critical-size-bisection[{design}]", paper=PAPER,
                   claim="a bisection in log N over trained runs brackets the EM = 0.5 size to 10% and agrees with "
                         "the dense ladder's logistic midpoint", quantity="the bisection's final bracket of N",
                   paper_value="bracket within 10% in N, inside the ladder midpoint's 95% interval",
                   tolerance=f"the whole bracket inside the midpoint's interval (HC3 over the ladder's runs), and "
                             f"bracket / midpoint within {RTOL:.0%} (its interval, bracket ends over the interval's "
                             f"ends, inside [1/{1 + RTOL:g}, {1 + RTOL:g}])",
                   justification="the plan's agreement criterion, which refuses to confirm when the interval covers "
                                 "the whole searched range (agreement could not fail); and the plan's own precision, "
                                 "10% in N: two locations of one crossing agree when they agree to it, so a bracket "
                                 "that merely falls somewhere inside a 4x-wide interval, excluding the ladder's "
                                 "estimate, does not confirm",
                   param_convention="non-embedding N (Kaplan)")
def test_bisection_agrees_with_the_dense_ladder(claim, sweep, device, design):
    a = search(sweep, device, design)
    record(claim, a)
    bis = a["bis"]
    bracket = Estimate.interval(bis.centre, bis.lo.size, bis.hi.size, level=1.0,
                                method=f"bisection bracket of the seed-mean EM ({bis.stopped}; not a confidence "
                                       "interval)")
    claim.measured(bracket)
    midpoint = Estimate.from_fit(a["dense"], "midpoint")
    claim.check_all(checks.bracket_within("bisection bracket inside the dense-ladder midpoint's interval", bracket,
                                          midpoint, (bis.probes[0].size, bis.probes[1].size)),
                    checks.bracket_agrees_with(f"bisection bracket and dense-ladder midpoint agree within {RTOL:.0%}",
                                               bracket, midpoint, 1 + RTOL))


@params(expect.inconclusive(NOISE), expect.inconclusive(NOISE), list(range(3, 27)))
@pytest.mark.claim("critical-exponent-vs-logistic[{design}]", paper=PAPER,
                   claim="the critical-exponent form (N/N_c - 1)^beta predicts unseen sizes near the transition better "
                         "than a logistic in log N",
                   quantity="mean |error| at the bisection's probe sizes: logistic minus critical form",
                   paper_value="the plan: perf ~ (N/N_c - 1)^beta; Schaeffer et al.: a smooth onset",
                   tolerance="interval of the difference above 0 (critical better) or below (logistic better)",
                   justification="two forms' held-out errors on the same data, decided by the interval of their "
                                 "difference (both refitted on every resample)", param_convention="non-embedding N")
def test_critical_exponent_against_logistic(claim, sweep, device, design):
    a = search(sweep, device, design)
    record(claim, a)
    if not a["N_held"].size:
        claim.inconclusive("held-out sizes", "the bisection probed no size outside the ladder")
        return
    e_log, e_crit = a["err"]
    claim.measured(a["diff"])
    claim.note(f"mean |error| at {a['N_held'].size} probe sizes: logistic {e_log:.3f}, critical form {e_crit:.3f} "
               f"(the forms have 2 and 3 free parameters)")
    claim.check(checks.ordered("critical form more accurate than the logistic", a["diff"],
                               labels=("critical-form error", "logistic error")))
