"""Chinchilla law fitter: recovery of known truth, invariances, compute-optimal allocation,
calibration of its intervals, the huber-vs-varpro robustness comparison, tied exponents
(alpha = beta) and the asymmetric (lower-bound) objective."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from scaling_claims.fit import fit_chinchilla

# 6 x 6 grid over 2.5 decades of N and of D (the issue asks for >= 2 decades)
_NG, _DG = np.meshgrid(np.logspace(7, 9.5, 6), np.logspace(9, 11.5, 6))
N_GRID, D_GRID = _NG.ravel(), _DG.ravel()
N_MID, D_MID = 10 ** 8.25, 10 ** 10.25


@st.composite
def laws(draw):
    """A Chinchilla law whose A and B terms are 0.2-2x E at the centre of the grid, so every
    parameter is identifiable from the grid (a term 1000x smaller than E would not be)."""
    E = draw(st.floats(0.5, 3.0))
    alpha = draw(st.floats(0.15, 0.8))
    beta = draw(st.floats(0.15, 0.8))
    A = draw(st.floats(0.2, 2.0)) * E * N_MID ** alpha
    B = draw(st.floats(0.2, 2.0)) * E * D_MID ** beta
    return {"E": E, "A": A, "B": B, "alpha": alpha, "beta": beta}


def loss(law, N, D):
    return law["E"] + law["A"] * N ** -law["alpha"] + law["B"] * D ** -law["beta"]


@pytest.mark.parametrize("method", ["huber", "varpro", "asymmetric"])
@given(law=laws())
def test_exact_recovery_from_noise_free_data(method, law):
    res = fit_chinchilla(N_GRID, D_GRID, loss(law, N_GRID, D_GRID), method=method)
    for name, true in law.items():
        # noise-free data: only optimiser tolerances (~1e-12 relative) separate fit and truth
        assert res.params[name] == pytest.approx(true, rel=1e-6), name


def collapsed(res, law) -> bool:
    """A term of the fit (E, A or B) fell to ~0 (e, a or b -> -inf in the log parametrisation)."""
    return min(res.params[k] / law[k] for k in ("E", "A", "B")) < 1e-3


@given(law=laws(), seed=st.integers(0, 2**31 - 1))
def test_bounded_error_under_one_percent_noise(law, seed):
    rng = np.random.default_rng(seed)
    truth = loss(law, N_GRID, D_GRID)
    res = fit_chinchilla(N_GRID, D_GRID, truth * np.exp(rng.normal(0, 0.01, truth.size)))
    # The fitted surface averages the noise: 5 parameters from 36 points at 1% noise leave
    # about 1% * sqrt(5/36) ~ 0.4% RMS error against the truth; 1.5% is ~4x that.
    rms = math.sqrt(np.mean((res.predict(N_GRID, D_GRID) / truth - 1) ** 2))
    assert rms < 0.015
    # At the weakest laws of the strategy (an exponent ~0.15 on a term ~0.2 E) the noise can let
    # the fit drop a term to 0, where its standard errors treat that term as known: the known,
    # degenerate case of test_a_collapsed_term_is_flagged (a flagged fit) is excluded here.
    assume(not collapsed(res, law))
    # Exponent errors are bounded by the fit's own (asymptotic) standard errors. Not 5 SE (a
    # ~1e-6 event for calibrated intervals): the Huber fit's standard errors are ~1.2x too small
    # (test_huber_standard_errors_are_calibrated, xfail) and at the strategy's weakest corners the
    # linearisation is optimistic (misses of 5-6.6 SE in ~0.2% of 2,500 corner draws), which the
    # randomized profile finds within a few sessions. 8 SE still catches a wrong optimum.
    for name in ("alpha", "beta"):
        assert abs(res.params[name] - law[name]) <= 8 * res.se[name], name


def test_intervals_are_calibrated():
    """95% intervals for alpha and beta contain the truth in most of 40 noisy draws."""
    rng = np.random.default_rng(123)
    hits = []
    for _ in range(40):
        law = {"E": rng.uniform(0.5, 3), "alpha": rng.uniform(0.15, 0.8), "beta": rng.uniform(0.15, 0.8)}
        law["A"] = rng.uniform(0.2, 2) * law["E"] * N_MID ** law["alpha"]
        law["B"] = rng.uniform(0.2, 2) * law["E"] * D_MID ** law["beta"]
        truth = loss(law, N_GRID, D_GRID)
        res = fit_chinchilla(N_GRID, D_GRID, truth * np.exp(rng.normal(0, 0.01, truth.size)), method="varpro")
        hits += [res.ci[k][0] <= law[k] <= res.ci[k][1] for k in ("alpha", "beta")]
    # 80 intervals at nominal 95%: fewer than 85% hits has probability < 1e-4 if calibrated
    assert np.mean(hits) >= 0.85


@given(law=laws(), c=st.floats(1e-3, 1e3))
def test_rescaling_N_keeps_alpha_and_scales_A(law, c):
    L = loss(law, N_GRID, D_GRID)
    base = fit_chinchilla(N_GRID, D_GRID, L)
    scaled = fit_chinchilla(c * N_GRID, D_GRID, L)
    # L = E + A N^-alpha = E + (A c^alpha) (cN)^-alpha
    assert scaled.alpha == pytest.approx(base.alpha, rel=1e-6)
    assert scaled.A == pytest.approx(base.A * c ** base.alpha, rel=1e-5)
    assert scaled.E == pytest.approx(base.E, rel=1e-6)


@given(law=laws(), seed=st.integers(0, 2**31 - 1))
def test_point_order_does_not_matter(law, seed):
    rng = np.random.default_rng(seed)
    L = loss(law, N_GRID, D_GRID) * np.exp(rng.normal(0, 0.01, N_GRID.size))
    perm = rng.permutation(N_GRID.size)
    a = fit_chinchilla(N_GRID, D_GRID, L)
    b = fit_chinchilla(N_GRID[perm], D_GRID[perm], L[perm])
    # the same surface up to the optimiser's tolerance on the flattest laws (~2e-7 seen)
    assert b.predict(N_GRID, D_GRID) == pytest.approx(a.predict(N_GRID, D_GRID), rel=1e-6)
    # A parameter the data leave in a flat valley (at the weakest laws, a term ~0.2 E with an
    # exponent ~0.15 trades off against E: standard errors larger than the value) may stop
    # anywhere along it; allow a thousandth of its standard error there. A fit whose term fell
    # to ~0 is the degenerate case of test_a_collapsed_term_is_flagged (flagged): surface only.
    if collapsed(a, law):
        return
    for name in a.params:
        assert abs(b.params[name] - a.params[name]) <= 1e-5 * abs(a.params[name]) + 1e-3 * a.se[name], name


@given(law=laws(), C=st.floats(1e15, 1e26), k=st.sampled_from([6.0, 8.0]))
def test_compute_optimal_satisfies_budget_and_is_a_minimum(law, C, k):
    res = fit_chinchilla(N_GRID, D_GRID, loss(law, N_GRID, D_GRID), flops_per_token_factor=k)
    (n_opt,), (d_opt,) = res.compute_optimal(C)
    assert k * n_opt * d_opt == pytest.approx(C, rel=1e-12)
    # optimal along the budget line: moving N by +-1% (and D to stay on budget) costs loss
    best = res.predict(n_opt, d_opt)
    for f in (0.99, 1.01):
        assert res.predict(n_opt * f, C / (k * n_opt * f)) >= best
    assert res.tokens_per_param(C)[0] == pytest.approx(d_opt / n_opt)


@given(law=laws(), C=st.lists(st.floats(1e15, 1e26), min_size=2, max_size=8, unique=True))
def test_n_opt_monotone_in_budget(law, C):
    res = fit_chinchilla(N_GRID, D_GRID, loss(law, N_GRID, D_GRID), method="varpro")
    C = np.sort(np.array(C))
    assume(np.all(C[1:] / C[:-1] > 1 + 1e-9))  # budgets a few ulps apart: D_opt = C/(k N_opt) rounds either way
    n_opt, d_opt = res.compute_optimal(C)
    assert np.all(np.diff(n_opt) > 0) and np.all(np.diff(d_opt) > 0)
    assert res.a == pytest.approx(res.beta / (res.alpha + res.beta))
    assert res.a + res.b == pytest.approx(1.0)


def test_a_collapsed_term_is_flagged():
    law = {"E": 1.0, "A": 26670.42864326648, "B": 9.988551397374716, "alpha": 0.5, "beta": 0.15625}
    truth = loss(law, N_GRID, D_GRID)
    res = fit_chinchilla(N_GRID, D_GRID, truth * np.exp(np.random.default_rng(345).normal(0, 0.01, truth.size)))
    assert collapsed(res, law)
    assert "*" in res.flags or abs(res.beta - law["beta"]) <= 5 * res.se["beta"]


@pytest.mark.xfail(strict=True, reason="library bug: the Huber fit's asymptotic intervals use the least-squares "
                                       "covariance s^2 (J^T J)^-1, but with delta = 1e-3 against 1% noise the Huber "
                                       "objective is nearly L1, whose estimates spread more: measured RMS z = 1.19 "
                                       "(varpro: 1.03), 95% intervals miss ~9%")
def test_huber_standard_errors_are_calibrated():
    law = {"E": 1.0, "alpha": 0.5, "beta": 0.5}
    law["A"], law["B"] = N_MID ** 0.5, D_MID ** 0.5  # each term equal to E at the centre: well identified
    truth = loss(law, N_GRID, D_GRID)
    rng = np.random.default_rng(0)
    z = []
    for _ in range(200):
        res = fit_chinchilla(N_GRID, D_GRID, truth * np.exp(rng.normal(0, 0.01, truth.size)))  # Huber
        z += [(res.params[k] - law[k]) / res.se[k] for k in ("alpha", "beta")]
    assert math.sqrt(np.mean(np.square(z))) <= 1.1  # 400 z-scores: RMS 1 +- 0.04 if calibrated


def test_huber_vs_varpro_robustness():
    """The finding stated in scaling_claims.fit.chinchilla's docstring, measured.

    Truth E=1.7, A=400, B=1200, alpha=0.34, beta=0.30 on a 6x6 grid (N 1e7-1e9, D 1e9-1e11),
    1% log-normal noise, 20 seeds; then the same with 10% of points raised 5-15% (outliers).
    """
    Ng, Dg = np.meshgrid(np.logspace(7, 9, 6), np.logspace(9, 11, 6))
    N, D = Ng.ravel(), Dg.ravel()
    law = {"E": 1.7, "A": 400.0, "B": 1200.0, "alpha": 0.34, "beta": 0.30}
    clean = loss(law, N, D)
    err = {(m, o): [] for m in ("huber", "varpro") for o in (False, True)}
    for seed in range(20):
        rng = np.random.default_rng(seed)
        noisy = clean * np.exp(rng.normal(0, 0.01, clean.size))
        bad = noisy.copy()
        idx = rng.choice(clean.size, 4, replace=False)  # 4 of 36 points, ~10%
        bad[idx] *= rng.uniform(1.05, 1.15, idx.size)
        for m in ("huber", "varpro"):
            for outliers, L in ((False, noisy), (True, bad)):
                r = fit_chinchilla(N, D, L, method=m)
                err[m, outliers].append(abs(r.alpha - law["alpha"]) + abs(r.beta - law["beta"]))
    e = {key: np.array(v) for key, v in err.items()}
    # Gaussian noise only: both are accurate (mean exponent error < 0.05, a few SEs)
    assert e["huber", False].mean() < 0.05 and e["varpro", False].mean() < 0.05
    # With outliers Huber is more robust: smaller mean error, better on most seeds
    assert e["huber", True].mean() < 0.6 * e["varpro", True].mean()
    assert np.mean(e["huber", True] < e["varpro", True]) >= 0.7


def test_bootstrap_is_deterministic_and_sane():
    rng = np.random.default_rng(0)
    law = {"E": 1.7, "A": 400.0, "B": 1200.0, "alpha": 0.34, "beta": 0.30}
    L = loss(law, N_GRID, D_GRID) * np.exp(rng.normal(0, 0.01, N_GRID.size))
    res = fit_chinchilla(N_GRID, D_GRID, L)
    b1 = res.bootstrap(n=50, seed=1, budgets=[1e21])
    b2 = res.bootstrap(n=50, seed=1, budgets=[1e21])
    assert b1.se == b2.se
    assert b1.n == 50
    for name in ("E", "alpha", "beta", "a", "tokens_per_param@1e+21"):
        lo, hi = b1.ci[name]
        assert lo < hi and b1.se[name] > 0
    assert b1.ci["alpha"][0] <= res.alpha <= b1.ci["alpha"][1]
    assert "tokens_per_param@1e+21" in b1.to_dict()["se"]


def test_to_dict_is_json_ready():
    import json

    res = fit_chinchilla(N_GRID, D_GRID, loss({"E": 1.7, "A": 400.0, "B": 1200.0, "alpha": 0.34, "beta": 0.3},
                                             N_GRID, D_GRID))
    d = json.loads(json.dumps(res.to_dict()))
    assert d["kind"] == "chinchilla[huber]" and set(d["params"]) == {"E", "A", "B", "alpha", "beta"}


def test_unknown_method_rejected():
    with pytest.raises(ValueError, match="method"):
        fit_chinchilla(N_GRID, D_GRID, np.ones_like(N_GRID) + 1 / N_GRID, method="lbfgs")


# ----------------------------------------------------------------------------- tied exponents
@st.composite
def tied_laws(draw):
    """As ``laws()`` with alpha = beta."""
    law = draw(laws())
    law["beta"] = law["alpha"]
    law["B"] = draw(st.floats(0.2, 2.0)) * law["E"] * D_MID ** law["alpha"]
    return law


@pytest.mark.parametrize("method", ["huber", "varpro", "asymmetric"])
@given(law=tied_laws())
def test_tied_exponents_recover_a_tied_law_exactly(method, law):
    L = loss(law, N_GRID, D_GRID)
    tied = fit_chinchilla(N_GRID, D_GRID, L, method=method, tie_exponents=True)
    assert tied.info["tie_exponents"] is True and tied.kind == f"chinchilla[{method}, tied]"
    assert tied.params["beta"] == tied.params["alpha"]
    assert tied.ci["beta"] == tied.ci["alpha"] and tied.se["beta"] == tied.se["alpha"]
    assert tied.dof == N_GRID.size - 4  # 4 free parameters
    for name, true in law.items():
        assert tied.params[name] == pytest.approx(true, rel=1e-6), name
    # the untied fit of the same data finds the same law (alpha = beta without being told)
    untied = fit_chinchilla(N_GRID, D_GRID, L, method=method)
    for name in law:
        assert untied.params[name] == pytest.approx(tied.params[name], rel=1e-6), name


def _objective(fit, N, D, L) -> float:
    """The objective each method minimises, evaluated at the fit (varpro: weighted SSE)."""
    if fit.method == "varpro":
        return float(np.sum((fit.predict(N, D) / L - 1) ** 2))
    return fit.info["objective"]


@pytest.mark.parametrize("method", ["huber", "varpro", "asymmetric"])
def test_tying_unequal_exponents_costs_objective(method):
    """Truth alpha = 0.34, beta = 0.28 (Hoffmann et al.'s): the tie is wrong, and the tied optimum
    must be worse than the untied one (which is exact here, objective ~0)."""
    law = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
    L = loss(law, N_GRID, D_GRID)
    untied = fit_chinchilla(N_GRID, D_GRID, L, method=method)
    tied = fit_chinchilla(N_GRID, D_GRID, L, method=method, tie_exponents=True)
    assert _objective(tied, N_GRID, D_GRID, L) > 1e3 * _objective(untied, N_GRID, D_GRID, L) + 1e-12
    assert untied.alpha == pytest.approx(0.34, rel=1e-6) and untied.beta == pytest.approx(0.28, rel=1e-6)
    assert tied.beta == tied.alpha


def test_tied_intervals_come_from_the_reduced_problem():
    """With the tie the covariance is that of (e, a, b, alpha): 4 x 4 from the tied Jacobian,
    mapped to the five parameters with beta's row and column equal to alpha's."""
    from scaling_claims.fit.chinchilla import _log_residual_jacobian, covariance_from_jacobian

    law = {"E": 1.7, "A": 400.0, "B": 1200.0, "alpha": 0.32, "beta": 0.32}
    L = loss(law, N_GRID, D_GRID) * np.exp(np.random.default_rng(3).normal(0, 0.01, N_GRID.size))
    res = fit_chinchilla(N_GRID, D_GRID, L, tie_exponents=True)
    J = _log_residual_jacobian(res.theta, np.log(N_GRID), np.log(D_GRID))
    J4 = np.column_stack([J[:, :3], J[:, 3] + J[:, 4]])
    cov4, dof = covariance_from_jacobian(J4, res.residuals)
    assert dof == res.dof == N_GRID.size - 4
    assert res.se["alpha"] == pytest.approx(math.sqrt(cov4[3, 3]), rel=1e-12)
    assert res.cov[3, 4] == res.cov[4, 4] == res.cov[3, 3]
    assert res.ci["alpha"][0] <= law["alpha"] <= res.ci["alpha"][1]
    assert res.a == 0.5 and res.ok


def test_tied_fit_needs_four_points_not_five():
    N, D = np.array([1e7, 1e8, 1e9, 1e8]), np.array([1e9, 1e10, 1e11, 1e11])
    L = 1.7 + 400 * N ** -0.3 + 1200 * D ** -0.3
    with pytest.raises(ValueError, match="5 free parameters"):
        fit_chinchilla(N, D, L)
    res = fit_chinchilla(N, D, L, tie_exponents=True)
    assert res.dof == 0
    with pytest.raises(ValueError, match="4 free parameters"):
        fit_chinchilla(N[:3], D[:3], L[:3], tie_exponents=True)
    with pytest.raises(ValueError, match="tie_exponents"):
        fit_chinchilla(N_GRID, D_GRID, np.ones_like(N_GRID) + 1 / N_GRID, tie_exponents="yes")


@pytest.mark.parametrize("method", ["huber", "varpro", "asymmetric"])
def test_bootstrap_keeps_the_options(method):
    law = {"E": 1.7, "A": 400.0, "B": 1200.0, "alpha": 0.32, "beta": 0.32}
    L = loss(law, N_GRID, D_GRID) * np.exp(np.random.default_rng(0).normal(0, 0.01, N_GRID.size))
    res = fit_chinchilla(N_GRID, D_GRID, L, method=method, tie_exponents=True, asymmetry=4.0)
    boot = res.bootstrap(n=30, seed=2)
    assert boot.n == 30
    assert np.array_equal(boot.samples["alpha"], boot.samples["beta"])  # every refit kept the tie
    assert np.all(boot.samples["a"] == 0.5)
    lo, hi = boot.ci["alpha"]
    assert lo < res.alpha < hi and boot.se["alpha"] > 0 and boot.se["E"] > 0
    if method == "asymmetric":  # and the asymmetry: each resample is the w = 4 optimum of its points
        from scaling_claims.fit.chinchilla import _solve

        rng = np.random.default_rng(2)
        idx = rng.integers(0, N_GRID.size, N_GRID.size)
        again, _ = _solve(N_GRID[idx], D_GRID[idx], L[idx], "asymmetric", res.delta, tie=True, asymmetry=4.0)
        assert boot.params[0] == pytest.approx(again, rel=1e-6)


# ----------------------------------------------------------------------------- asymmetric objective
def test_asymmetric_fit_is_flagged_and_records_its_weight():
    from scaling_claims.verdicts.estimates import Estimate

    law = {"E": 1.7, "A": 400.0, "B": 1200.0, "alpha": 0.34, "beta": 0.30}
    L = loss(law, N_GRID, D_GRID) * np.exp(np.random.default_rng(0).normal(0, 0.01, N_GRID.size))
    res = fit_chinchilla(N_GRID, D_GRID, L, method="asymmetric")
    assert res.kind == "chinchilla[asymmetric]" and res.info["asymmetry"] == 10.0
    assert not res.ok and "bootstrap()" in res.flags["*"]
    assert Estimate.from_fit(res, "alpha").problem  # its Gauss-Newton interval is not usable
    # the lower-bound fit lies below most points: few positive (over-predicting) residuals
    assert np.mean(res.residuals > 1e-9) < 0.25
    assert "*" not in fit_chinchilla(N_GRID, D_GRID, L).flags


def test_asymmetry_one_is_the_huber_optimum():
    law = {"E": 1.7, "A": 400.0, "B": 1200.0, "alpha": 0.34, "beta": 0.30}
    rng = np.random.default_rng(5)
    L = loss(law, N_GRID, D_GRID) * np.exp(rng.normal(0, 0.01, N_GRID.size))
    L[rng.choice(N_GRID.size, 8, replace=False)] *= 1.1
    huber = fit_chinchilla(N_GRID, D_GRID, L)
    sym = fit_chinchilla(N_GRID, D_GRID, L, method="asymmetric", asymmetry=1.0)
    assert sym.info["objective"] == pytest.approx(huber.info["objective"], rel=1e-12)
    for name in huber.params:
        assert sym.params[name] == pytest.approx(huber.params[name], rel=1e-8), name


@pytest.mark.parametrize("bad", [0.5, 0.0, -3.0, float("nan"), float("inf"), "ten", None])
def test_bad_asymmetry_rejected(bad):
    with pytest.raises(ValueError, match="asymmetry"):
        fit_chinchilla(N_GRID, D_GRID, np.ones_like(N_GRID) + 1 / N_GRID, method="asymmetric", asymmetry=bad)


def test_asymmetric_beats_huber_on_under_tuned_rungs():
    """The lower-bound objective, measured (documented in docs/fitting.md).

    Truth E=1.7, A=400, B=1200, alpha=0.34, beta=0.30 on the 6x6 grid (N 1e7-10**9.5,
    D 1e9-10**11.5); 0.1% log-normal noise on every run, then 11 of the 36 runs (~30%) raised
    5-20% (under-tuned: their loss lies above the law); 20 seeds. Measured mean absolute errors,
    huber vs asymmetric (w = 10): E (relative) 0.0069 vs 0.0041, alpha 0.0081 vs 0.0016, beta
    0.0023 vs 0.0016; the asymmetric fit is closer on 12 (E), 15 (alpha) and 14 (beta) of the
    20 seeds. Huber (~L1 at delta = 1e-3) fits the median of all runs, so the raised runs pull
    it up; the asymmetric fit follows the lower envelope, which the clean runs define.
    """
    law = {"E": 1.7, "A": 400.0, "B": 1200.0, "alpha": 0.34, "beta": 0.30}
    clean = loss(law, N_GRID, D_GRID)
    err = {"huber": [], "asymmetric": []}
    for seed in range(20):
        rng = np.random.default_rng(seed)
        L = clean * np.exp(rng.normal(0, 0.001, clean.size))
        idx = rng.choice(clean.size, 11, replace=False)
        L[idx] *= rng.uniform(1.05, 1.20, idx.size)
        for method in err:
            r = fit_chinchilla(N_GRID, D_GRID, L, method=method)
            err[method].append([abs(r.E / law["E"] - 1), abs(r.alpha - law["alpha"]), abs(r.beta - law["beta"])])
    h, a = np.array(err["huber"]), np.array(err["asymmetric"])
    assert np.all(a.mean(0) < 0.8 * h.mean(0))  # E, alpha and beta each closer on average
    assert a[:, 1].mean() < 0.5 * h[:, 1].mean()  # alpha by far
    assert np.all(np.mean(a < h, axis=0) >= 0.55)  # and closer on most seeds, for each
