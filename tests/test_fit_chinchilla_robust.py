"""``fit_chinchilla`` on hard input, at the library level.

- The (Mis)Fitting survey's real ladder (Li, Kudugunta, Zettlemoyer, ICLR 2025; 263 final
  checkpoints, 57M-1.2B parameters, 23 token counts), whose rollout used to crash with
  ``OverflowError: math range error`` at 3 model sizes: every method fits it, bootstraps it and
  rolls it out, with the narrow steps flagged instead of forced.
- Global optimum: the fit's objective is never worse than a brute-force multi-start (L-BFGS-B
  from a spread subsample of Epoch AI's 4,500-point grid of starts, as Hoffmann et al. and Epoch
  did), on that ladder and on synthetic ladders, for each method.
- Random laws, noise and designs (no Hypothesis: fixed seeds, so it runs the same inputs every
  time): nothing but ``ValueError`` is raised, no warning escapes, noise-free data give the law.
- Designs that cannot identify the law are flagged; exponents stay within their bounds.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from scaling_claims.fit import fit_chinchilla, leave_largest_out, rollout
from scaling_claims.fit.chinchilla import EXPONENT_BOUNDS, MIN_SPAN_DECADES, _huber_objective

MISFIT = "misfitting_li2025_scaling_results.csv"
METHODS = ("huber", "varpro", "asymmetric")
ASYMMETRY = 10.0  # fit_chinchilla's default weight on over-prediction
DELTA = 1e-3  # fit_chinchilla's default Huber threshold


@pytest.fixture(scope="module")
def misfit(shared_data):
    """(N, D, L) of the final checkpoints (portion_steps_elapsed >= 0.999: 263 rows)."""
    path = shared_data / MISFIT
    if not path.is_file():
        pytest.skip(f"{path} not found")
    df = pd.read_csv(path)
    df = df[df["portion_steps_elapsed"] >= 0.999]
    return df["N"].to_numpy(float), df["D"].to_numpy(float), df["loss"].to_numpy(float)


@pytest.fixture(autouse=True)
def no_warnings():
    """Every test here fails on any warning (overflow, invalid value, ...), not only on exceptions."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# ----------------------------------------------------------------------------- brute force
EPOCH_STARTS = [(e, a, b, al, be) for al in np.arange(0, 2.01, 0.5) for be in np.arange(0, 2.01, 0.5)
                for e in np.arange(-1, 1.01, 0.5) for a in np.arange(0, 25.1, 5) for b in np.arange(0, 25.1, 5)]


def objective(theta, method, N, D, L):
    """The objective ``method`` minimises, with its gradient, at theta = (e, a, b, alpha, beta)."""
    lN, lD, lL = np.log(N), np.log(D), np.log(L)
    if method == "varpro":  # sum((L_pred / L - 1)**2)
        e, a, b, al, be = theta
        parts = np.stack([np.full_like(lN, e), a - al * lN, b - be * lD])
        terms = np.exp(parts)
        f = terms.sum(0) / L - 1.0
        gw = 2 * f / L
        grad = np.array([gw @ terms[0], gw @ terms[1], gw @ terms[2], -(gw * terms[1]) @ lN, -(gw * terms[2]) @ lD])
        return float(f @ f), grad
    return _huber_objective(theta, lN, lD, lL, DELTA, ASYMMETRY if method == "asymmetric" else 1.0)


def brute_force(method, N, D, L, stride=100):
    """The lowest objective L-BFGS-B reaches from every ``stride``-th of Epoch's 4,500 starts,
    with the exponents in the fitter's documented range."""
    bounds = [(None, None)] * 3 + [EXPONENT_BOUNDS] * 2
    best = math.inf
    with np.errstate(all="ignore"), warnings.catch_warnings():  # the reference's own trial steps may overflow
        warnings.simplefilter("ignore")
        for s in EPOCH_STARTS[::stride]:
            r = optimize.minimize(objective, np.array(s, float), args=(method, N, D, L), jac=True,
                                  method="L-BFGS-B", bounds=bounds)
            if np.isfinite(r.fun):
                best = min(best, float(r.fun))
    return best


def fitted_objective(fit, N, D, L) -> float:
    """The fit's objective recomputed from its predictions (independently of ``info``)."""
    r = np.log(fit.predict(N, D)) - np.log(L)
    if fit.method == "varpro":
        return float(np.sum(np.expm1(r) ** 2))
    h = np.where(np.abs(r) <= DELTA, 0.5 * r * r, DELTA * (np.abs(r) - 0.5 * DELTA))
    return float(np.sum(np.where(r > 0, fit.asymmetry, 1.0) * h)) if fit.method == "asymmetric" else float(h.sum())


def assert_global(fit, N, D, L, stride=100):
    ours = fitted_objective(fit, N, D, L)
    # the recomputed objective is the one the fitter reports (same sum, different rounding)
    assert ours == pytest.approx(fit.info["objective"], rel=1e-9)
    best = brute_force(fit.method, N, D, L, stride)
    # Not worse than the brute force. The slack covers our own stopping rule only: we stop when a
    # step gains under 1e-14 of the objective, so within ~1e-11 of a minimum even on a slow slide
    # along a flat valley; 1e-9 is 100x that. L-BFGS-B stops earlier (ftol 2.2e-9 *absolute* for
    # objectives under 1, i.e. ~4e-7 relative here), so in the same basin ours is the lower; the
    # distinct basins of these ladders differ by 1e-4 to 1e-2 relative, far beyond the slack.
    assert ours <= best * (1 + 1e-9), f"{fit.method}: {ours!r} vs brute force {best!r}"
    return ours, best


# ----------------------------------------------------------------------------- the real ladder
@pytest.mark.parametrize("method", METHODS)
def test_misfitting_ladder_fits_bootstraps_and_rolls_out(misfit, method):
    """The reported crash: rollout() at k = 3 sizes (57M-77M) overflowed math.exp in the exponent
    search; the same in the bootstrap. Now every step is computed, the narrow ones flagged."""
    N, D, L = misfit
    assert len(N) == 263 and np.unique(N).size == 11 and np.unique(D).size == 23
    fit = fit_chinchilla(N, D, L, method=method)
    assert "unidentified" not in fit.info  # 1.3 decades of N, 2.3 of D, a 2-D design
    json.dumps(fit.to_dict(), allow_nan=False)
    boot = fit.bootstrap(100, seed=0)
    assert boot.n == 100 and all(np.isfinite(boot.se[k]) and boot.se[k] > 0 for k in ("E", "alpha", "beta"))
    json.dumps(boot.to_dict(), allow_nan=False)
    ro = rollout(fit_chinchilla, (N, D), L, method=method)
    assert [r.k for r in ro.rows] == list(range(2, 11))
    assert all(r.error is None and np.isfinite(r.max_error) for r in ro.rows)
    by_k = {r.k: r for r in ro.rows}
    # k = 2 (57M-62M, 0.035 decades) and k = 3 (57M-77M, 0.13 decades): flagged, still predicted
    for k in (2, 3):
        assert "N spans only" in by_k[k].flag and "not identified" in ro.table().splitlines()[k - 1]
    assert "only 2 distinct values of N" in by_k[2].flag
    # from k = 4 (0.22 decades) on, every step identifies the law: no flag
    assert all(by_k[k].flag is None for k in range(4, 11))
    json.dumps(ro.to_dict(), allow_nan=False)
    check = leave_largest_out(fit_chinchilla, (N, D), L, n_out=int((N == N.max()).sum()), method=method)
    assert check.fit_error is None and check.flag is None and np.isfinite(check.max_error)


def test_narrow_ladder_bootstrap_and_tied_fit(misfit):
    """The 3-size sub-ladder that crashed, bootstrapped and tied: flagged fits, no exception."""
    N, D, L = misfit
    keep = N <= np.unique(N)[2]
    for tie in (False, True):
        fit = fit_chinchilla(N[keep], D[keep], L[keep], tie_exponents=tie)
        assert "N spans only" in fit.flags["*"] and not fit.ok
        assert EXPONENT_BOUNDS[0] <= fit.alpha <= EXPONENT_BOUNDS[1]
        boot = fit.bootstrap(30, seed=1, budgets=[1e20])
        assert boot.n == 30
        json.dumps(boot.to_dict(), allow_nan=False)


@pytest.mark.parametrize("method", METHODS)
def test_global_optimum_on_the_misfitting_ladder(misfit, method):
    N, D, L = misfit
    assert_global(fit_chinchilla(N, D, L, method=method), N, D, L)


@pytest.mark.parametrize("method", ["huber", "asymmetric"])
def test_global_optimum_on_a_two_basin_subladder(misfit, method):
    """The 9 smallest sizes (246 runs): the Huber objective has two basins (E ~ 0 with alpha ~
    0.08, and E ~ 1.65 with alpha ~ 0.18, 0.14% lower). The single start of the old search (the
    variable-projection optimum) refined into the higher one (0.0050602 against 0.0050530)."""
    N, D, L = misfit
    keep = N <= np.unique(N)[8]
    fit = fit_chinchilla(N[keep], D[keep], L[keep], method=method)
    ours, _ = assert_global(fit, N[keep], D[keep], L[keep])
    if method == "huber":
        assert ours < 0.0050535 and fit.E > 1.0


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
def test_global_optimum_on_every_misfitting_subladder(misfit, method):
    """Every ladder of the k smallest sizes (k = 3..11), against a denser brute force (225 starts)."""
    N, D, L = misfit
    for size in np.unique(N)[2:]:
        keep = N <= size
        assert_global(fit_chinchilla(N[keep], D[keep], L[keep], method=method), N[keep], D[keep], L[keep],
                      stride=20)


# ----------------------------------------------------------------------------- synthetic ladders
def synthetic(seed: int):
    """A grid ladder (3-6 sizes x 3-6 token counts over 1-2.5 decades each), a random law, 1%
    noise, and a sixth of the runs raised 3-15% (outliers or under-tuned runs)."""
    rng = np.random.default_rng(seed)
    kN, kD = rng.integers(3, 7, 2)
    sN, sD = rng.uniform(1, 2.5, 2)
    Ng, Dg = np.meshgrid(1e7 * np.logspace(0, sN, kN), 1e9 * np.logspace(0, sD, kD))
    N, D = Ng.ravel(), Dg.ravel()
    E, alpha, beta = rng.uniform(0.5, 3), rng.uniform(0.1, 0.8), rng.uniform(0.1, 0.8)
    A = rng.uniform(0.2, 2) * E * (1e7 * 10 ** (sN / 2)) ** alpha
    B = rng.uniform(0.2, 2) * E * (1e9 * 10 ** (sD / 2)) ** beta
    L = (E + A * N ** -alpha + B * D ** -beta) * np.exp(rng.normal(0, 0.01, N.size))
    raised = rng.random(N.size) < 1 / 6
    L[raised] *= rng.uniform(1.03, 1.15, raised.sum())
    return N, D, L


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("seed", range(6))
def test_global_optimum_on_synthetic_ladders(method, seed):
    N, D, L = synthetic(seed)
    assert_global(fit_chinchilla(N, D, L, method=method), N, D, L, stride=50)


# ----------------------------------------------------------------------------- random laws
def random_case(rng, n: int):
    """A random law and design: N and D each over 1-3 decades (a grid or scattered points), terms
    0.2-2x E at the ladder's centre (so each is identifiable), exponents 0.1-0.8."""
    sN, sD = rng.uniform(1, 3, 2)
    N0, D0 = 10 ** rng.uniform(5, 9), 10 ** rng.uniform(7, 11)
    if rng.random() < 0.5:
        kN = max(3, int(round(math.sqrt(n))))
        Ng, Dg = np.meshgrid(N0 * np.logspace(0, sN, kN), D0 * np.logspace(0, sD, max(3, n // kN)))
        N, D = Ng.ravel(), Dg.ravel()
    else:
        N, D = N0 * 10 ** rng.uniform(0, sN, n), D0 * 10 ** rng.uniform(0, sD, n)
    E, alpha, beta = rng.uniform(0.5, 3), rng.uniform(0.1, 0.8), rng.uniform(0.1, 0.8)
    law = {"E": E, "A": rng.uniform(0.2, 2) * E * (N0 * 10 ** (sN / 2)) ** alpha,
           "B": rng.uniform(0.2, 2) * E * (D0 * 10 ** (sD / 2)) ** beta, "alpha": alpha, "beta": beta}
    return N, D, law


def law_loss(law, N, D):
    return law["E"] + law["A"] * N ** -law["alpha"] + law["B"] * D ** -law["beta"]


def test_random_laws_recovered_without_errors_or_warnings():
    """25 random laws and designs, 5 to 500 runs, each method: noise-free data give the law back;
    with 2% noise and a few runs raised 20% the fit still returns (or raises ValueError) without a
    warning. Fixed seed: the same draws every run (a failing draw is reproducible by its index)."""
    rng = np.random.default_rng(20250301)
    for i in range(25):
        n = int(rng.choice([5, 7, 12, 40, 150, 500]))
        N, D, law = random_case(rng, n)
        clean = law_loss(law, N, D)
        noisy = clean * np.exp(rng.normal(0, 0.02, N.size))
        noisy[rng.random(N.size) < 0.1] *= 1.2
        for method in METHODS:
            fit = fit_chinchilla(N, D, clean, method=method)
            assert fit.ok or fit.method == "asymmetric", (i, fit.flags)  # the asymmetric fit is always flagged
            for name, true in law.items():
                # noise-free: only the optimiser's stopping rule separates fit and truth (measured
                # <= 1e-11 relative over these draws); 1e-6 is the tolerance of the existing tests
                assert fit.params[name] == pytest.approx(true, rel=1e-6), (i, method, name)
            try:
                fit = fit_chinchilla(N, D, noisy, method=method, tie_exponents=bool(i % 2))
            except ValueError:
                continue
            assert all(EXPONENT_BOUNDS[0] <= fit.params[k] <= EXPONENT_BOUNDS[1] for k in ("alpha", "beta"))
            assert np.all(np.isfinite(fit.predict(N, D)))
            json.dumps(fit.to_dict(), allow_nan=False)
            if i % 5 == 0:
                assert fit.bootstrap(10, seed=i).n == 10


EXTREME = [  # (N, D, L) generators that stress every numeric corner
    lambda rng, n: (10 ** rng.uniform(-300, 300, n), 10 ** rng.uniform(-300, 300, n), 10 ** rng.uniform(-20, 20, n)),
    lambda rng, n: (10 ** rng.uniform(250, 300, n), 10 ** rng.uniform(-300, -250, n), rng.uniform(1, 5, n)),
    lambda rng, n: (1e8 * (1 + rng.uniform(0, 1e-9, n)), 10 ** rng.uniform(9, 11, n), rng.uniform(2, 3, n)),
    lambda rng, n: (rng.choice([1e7, 1e8], n), rng.choice([1e9, 1e10, 1e11], n), rng.uniform(2, 3, n)),
    lambda rng, n: (10 ** rng.uniform(6, 10, n), 10 ** rng.uniform(8, 12, n), 10 ** rng.uniform(-3, 3, n)),
    lambda rng, n: (10 ** rng.uniform(6, 10, n), 10 ** rng.uniform(8, 12, n),
                    1 + 1e3 * (10 ** rng.uniform(6, 10, n) / 1e8) ** -8.0),
]


@pytest.mark.parametrize("case", range(len(EXTREME)))
def test_extreme_inputs_raise_only_valueerror(case):
    """Magnitudes from 1e-300 to 1e300, spans of 1e-9 relative, two sizes, losses over six decades,
    a term far steeper than the exponent bound: a fit (flagged where not identified) or a
    ValueError, for every method, tied or not, and for its bootstrap."""
    rng = np.random.default_rng(case)
    for _ in range(2):
        N, D, L = EXTREME[case](rng, int(rng.integers(5, 30)))
        for method in METHODS:
            for tie in (False, True):
                try:
                    fit = fit_chinchilla(N, D, L, method=method, tie_exponents=tie)
                except ValueError as exc:
                    assert str(exc)
                    continue
                assert all(EXPONENT_BOUNDS[0] <= fit.params[k] <= EXPONENT_BOUNDS[1] for k in ("alpha", "beta"))
                json.dumps(fit.to_dict(), allow_nan=False)
                fit.predict(N, D), fit.predict_interval(N, D)
                fit.bootstrap(3, seed=0)


# ----------------------------------------------------------------------------- identification
GOOD_N, GOOD_D = (v.ravel() for v in np.meshgrid(np.logspace(7, 9, 5), np.logspace(9, 11, 5)))
TRUTH = {"E": 1.7, "A": 400.0, "B": 1200.0, "alpha": 0.34, "beta": 0.30}


def _designs():
    rng = np.random.default_rng(0)
    n7 = np.logspace(7, 9, 7)
    return {
        # name: (N, D, expected words in info["unidentified"])
        "two sizes": (np.repeat([1e8, 3e8], 6), np.tile(np.logspace(9, 11, 6), 2), "only 2 distinct values of N"),
        "two token counts": (np.tile(np.logspace(7, 9, 6), 2), np.repeat([1e10, 4e10], 6),
                             "only 2 distinct values of D"),
        "narrow N": (np.repeat(1e8 * np.logspace(0, 0.15, 4), 5), np.tile(np.logspace(9, 11, 5), 4), "N spans only"),
        "narrow D": (np.tile(np.logspace(7, 9, 5), 4), np.repeat(1e10 * np.logspace(0, 0.1, 4), 5), "D spans only"),
        "one IsoFLOP budget": (n7, 1e20 / (6 * n7), "collinear"),
        "20 tokens per parameter": (n7, 20 * n7, "collinear"),
        "near one line": (n7, 20 * n7 * 10 ** rng.uniform(-0.05, 0.05, 7), "collinear"),
    }


@pytest.mark.parametrize("name", list(_designs()))
@pytest.mark.parametrize("method", METHODS)
def test_unidentifiable_designs_are_flagged(name, method):
    N, D, words = _designs()[name]
    L = law_loss(TRUTH, N, D) * np.exp(np.random.default_rng(1).normal(0, 0.01, N.size))
    fit = fit_chinchilla(N, D, L, method=method)
    assert words in fit.info["unidentified"], fit.info.get("unidentified")
    assert "not identified" in fit.flags["*"] and not fit.ok
    json.dumps(fit.to_dict(), allow_nan=False)


def test_identified_designs_are_not_flagged():
    """Negative controls for the design flags: a 5x5 grid over 2 decades; 3 sizes over 0.25
    decades (just above MIN_SPAN_DECADES) crossed with 4 token counts; three IsoFLOP budgets.
    (Not flagged as unidentified is not "well determined": the narrow design's fit may still drop
    a term, which its own flag reports.)"""
    n = np.logspace(7, 9, 7)
    budgets = np.repeat([1e18, 1e19, 1e20], 7)
    designs = [(GOOD_N, GOOD_D),
               (np.repeat(1e8 * np.logspace(0, MIN_SPAN_DECADES + 0.05, 3), 4), np.tile(np.logspace(9, 11, 4), 3)),
               (np.tile(n, 3), budgets / (6 * np.tile(n, 3)))]
    for N, D in designs:
        fit = fit_chinchilla(N, D, law_loss(TRUTH, N, D) * np.exp(np.random.default_rng(2).normal(0, 0.003, N.size)))
        assert "unidentified" not in fit.info and "not identified" not in fit.flags.get("*", ""), fit.flags


def test_tied_fit_needs_three_distinct_values_of_one_variable():
    N, D = np.repeat([1e8, 3e8], 4), np.tile([1e10, 3e10, 1e11, 3e11], 2)
    L = law_loss({**TRUTH, "beta": 0.34}, N, D)
    assert "unidentified" not in fit_chinchilla(N, D, L, tie_exponents=True).info  # 4 distinct D: alpha fixed
    fit = fit_chinchilla(N[[0, 1, 4, 5]], D[[0, 1, 4, 5]], L[[0, 1, 4, 5]], tie_exponents=True)
    assert "only 2 distinct N and 2 distinct D" in fit.info["unidentified"]


def test_exponents_stay_in_their_bounds_and_are_flagged_there():
    """A term steeper than the bound (exponent 8) ends at 5, flagged; a loss that rises with N (no
    decreasing term fits it) ends at alpha = 0, flagged; rising with both, at alpha = beta = 0."""
    steep = law_loss({**TRUTH, "A": 1e3 * 1e8 ** 8, "alpha": 8.0}, GOOD_N, GOOD_D)
    fit = fit_chinchilla(GOOD_N, GOOD_D, steep)
    assert fit.alpha == pytest.approx(EXPONENT_BOUNDS[1]) and "upper bound" in fit.info["unidentified"]
    rising = 2.0 + 0.1 * np.log10(GOOD_N) + TRUTH["B"] * GOOD_D ** -TRUTH["beta"]
    fit = fit_chinchilla(GOOD_N, GOOD_D, rising)
    assert fit.alpha == 0.0 and "lower bound" in fit.info["unidentified"]
    both = 2.0 + 0.1 * np.log10(GOOD_N) + 0.1 * np.log10(GOOD_D)  # rises with N and with D
    fit = fit_chinchilla(GOOD_N, GOOD_D, both)
    assert fit.alpha == fit.beta == 0.0
    assert math.isnan(fit.a) and math.isnan(fit.b)  # beta / (alpha + beta) is 0/0: NaN, not ZeroDivisionError
    assert json.loads(json.dumps(fit.to_dict(), allow_nan=False))["derived"] == {"a": None, "b": None}


def test_unrepresentable_A_is_a_valueerror():
    """N in units near 1e290 with a steep true exponent: A = exp(alpha * log N) is beyond float64
    (the fit itself, in log space, is fine); a ValueError that says so, not an OverflowError."""
    N = GOOD_N * 1e282
    L = 1.0 + 0.5 * (N / (1e290)) ** -3.0 + 1200 * GOOD_D ** -0.3
    with pytest.raises(ValueError, match="beyond float64"):
        fit_chinchilla(N, GOOD_D, L)


@pytest.mark.parametrize("bad", [0.0, -1e-3, float("nan"), float("inf")])
def test_bad_delta_rejected(bad):
    with pytest.raises(ValueError, match="delta"):
        fit_chinchilla(GOOD_N, GOOD_D, law_loss(TRUTH, GOOD_N, GOOD_D), delta=bad)


def test_losses_over_fifty_decades_rejected():
    L = law_loss(TRUTH, GOOD_N, GOOD_D)
    L[0] = 1e-60
    with pytest.raises(ValueError, match="decades"):
        fit_chinchilla(GOOD_N, GOOD_D, L)
