"""The data-constrained law (Muennighoff et al. 2023, arXiv:2305.16264): its reproduction on the
paper's own runs, exact recovery of known laws, the effective-data helpers, and bad input.

The paper's fit (its Appendix A "Derivation of Data-Constrained Scaling Laws"; the repository
huggingface/datablations, utils/parametric_fit.ipynb, section "Fit default", and its README):

- the base law is *not* fitted on these runs: a, b, e, alpha = beta come from 54 points of
  Hoffmann et al.'s C4 IsoFLOP curves (Appendix "C4 Scaling Coefficients") and are held fixed;
- R_D* and R_N* minimise the Huber (delta 1e-3) objective on log loss over 182 runs: the list
  "Custom data loading with outliers removed" of the notebook, i.e. every run except ``EXCLUDED``
  below (runs where more epochs or parameters made the loss worse, and diverged runs);
- L-BFGS from starts R* in {0, 4, ..., 20}: R_D* = 15.387756, R_N* = 5.309743, objective
  0.015825936570763588 (the notebook's float32 "Min Loss"), R^2 0.7722 (the paper's Table 7).

``tests/reference-data/datablations_contour_losses_colpret.csv`` holds 181 of the 182 runs
(IBM/ColPret tabulated 229 runs and left out ``8b7178b13b``); the missing one is added from the
notebook's ``NAMES_TO_VAL_LOSSES``. Its ``tokens_per_epoch`` column is a constant placeholder
(1.5e9): unique tokens are ``token_num / epochs``.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize

from scaling_claims.fit import (data_constrained_loss, effective_data, effective_params, fit_data_constrained,
                                optimal_allocation, repeated_token_value, unique_params)
from scaling_claims.fit.data_constrained import R_STAR_BOUNDS, _Stage2

# ----------------------------------------------------------------------------- the published fit
PAPER_BASE = {"E": math.exp(0.6254804), "A": math.exp(6.255414), "B": math.exp(7.3049974),
              "alpha": 0.3526596, "beta": 0.3526596}  # e, a, b, alpha = beta (Appendix "C4 Scaling Coefficients")
PAPER = {"R_D_star": 15.387756, "R_N_star": 5.309743}
PAPER_OBJECTIVE = 0.015825936570763588  # the notebook's "Min Loss" at PAPER (float32 torch)
# The paper's Table 7 ("Comparison of different versions of our parametric fit", 182 runs):
# (R_D*, R_N*, loss, R^2); R^2 of the predicted against the actual loss (linear).
TABLE = {"no decay": (None, None, None, 0.4452), "only decay N": (None, 713.0015, 0.0241, 0.4488),
         "only decay D": (2.9157, None, 0.0169, 0.7354), "both": (15.3878, 5.3097, 0.0158, 0.7722)}
# Runs of the CSV that the paper's fit dropped (commented out in, or absent from, the notebook's list)
EXCLUDED = (
    "2b84b4b", "2b88b4b", "2b812b4b", "2b816b4b", "2b824b4b", "2b855b1b25", "4b212b12b", "4b224b12b",
    "4b284b1b9", "4b284b6b", "2b8100m100m", "14m7b5100m", "14m300b100m", "1b12b7100m", "1b13b9100m",
    "1b15b9100m", "1b17b5100m", "619m3b9100m", "619m5b9100m", "619m7b5100m", "2b84b8100m", "1b58b8100m",
    "1b112b100m", "619m22b100m", "421m300b1b5", "221m91b400m", "221m174b400m", "221m600b400m", "8b712b12b",
    "8b712b1b5", "8b712b400m", "8b712b100m", "3b926b1b5", "2b836b1b5", "2b836b400m", "2b836b100m",
    "2b246b400m", "2b246b100m", "1b566b1b5", "1b566b100m", "1b191b400m", "1b191b1b5", "1b1250b1b5",
    "1b5174b1b5", "2b291b1b5", "2b2174b1b5", "8b720b1b5", "2b877b1b5",
)
MISSING_RUN = {"name": "8b7178b13b", "N": 8.67e9, "D": 178e9, "U": 13e9, "L": 2.451606}


@pytest.fixture(scope="module")
def paper_runs(shared_data):
    df = pd.read_csv(shared_data / "datablations_contour_losses_colpret.csv")
    names = df["model_args"].str.extract(r"'name': '([^']+)'")[0]
    assert names.is_unique and set(EXCLUDED) <= set(names)
    kept = df[~names.isin(EXCLUDED)]
    N = np.append(kept["num_params"].to_numpy(float), MISSING_RUN["N"])
    D = np.append(kept["token_num"].to_numpy(float), MISSING_RUN["D"])
    U = np.append((kept["token_num"] / kept["epochs"]).to_numpy(float), MISSING_RUN["U"])
    L = np.append(kept["openLM_loss"].to_numpy(float), MISSING_RUN["L"])
    return N, D, U, L


@pytest.fixture(scope="module")
def paper_fit(paper_runs):
    # 100 resamples (seed 0), base held fixed as in the paper: ~2 s of CPU (docs/fitting.md quotes
    # 1,000: test_the_documented_bootstrap_interval, marked slow)
    return fit_data_constrained(*paper_runs, base=PAPER_BASE, n_boot=100, seed=0)


def _objective(runs, rd, rn):
    stage = _Stage2(PAPER_BASE, *runs, None, None, 1e-3)
    return stage.objective(np.log([rd, rn]))


def _r2_linear(L, pred):
    return 1 - np.sum((L - pred) ** 2) / np.sum((L - L.mean()) ** 2)


def test_the_papers_fit_set(paper_runs):
    N, D, U, L = paper_runs
    assert len(N) == 182  # 229 CSV runs - 48 excluded + the one ColPret left out
    assert N.min() == pytest.approx(7.098752e6) and N.max() == pytest.approx(8.67e9)
    assert np.all(U <= D * (1 + 1e-12)) and np.sum(D / U > 1 + 1e-9) == 153  # repeated-data runs (29 single-epoch)


def test_objective_and_r2_at_the_published_parameters(paper_runs):
    """Same runs, same law, same objective: at the published numbers our float64 objective equals the
    notebook's float32 one to 1e-7, and the R^2 values equal Table 7's to its 4 decimals."""
    N, D, U, L = paper_runs
    assert _objective(paper_runs, PAPER["R_D_star"], PAPER["R_N_star"]) == pytest.approx(PAPER_OBJECTIVE, rel=1e-6)
    for row, rd, rn in (("both", PAPER["R_D_star"], PAPER["R_N_star"]), ("no decay", math.inf, math.inf)):
        r2 = _r2_linear(L, data_constrained_loss(N, D, U, PAPER_BASE, rd, rn))
        assert r2 == pytest.approx(TABLE[row][3], abs=5e-5), row


def test_the_papers_procedure_lands_on_the_published_local_optimum(paper_runs):
    """L-BFGS on (R_D*, R_N*) from the paper's starting grid (a spread of its 25 non-zero starts)
    reaches R_D* = 15.372, R_N* = 5.315 from every start. The published 15.387756, 5.309743 is the
    same optimum: its objective is 2e-7 (relative) above ours, about 3 float32 rounding steps of the
    sum the notebook minimised, and the notebook's own two best starts stopped 0.09% apart in R_D*
    (15.373248 and 15.387756). 0.5% allows for that float32 stopping, not for a different optimum."""
    stage = _Stage2(PAPER_BASE, *paper_runs, None, None, 1e-3)

    def f(x):  # the objective and its gradient in (R_D*, R_N*), as the paper parametrised it
        v, g = stage._value_and_grad(np.log(x))
        return v, g / x

    for start in ((4.0, 4.0), (4.0, 20.0), (12.0, 12.0), (20.0, 4.0), (20.0, 20.0)):
        sol = optimize.minimize(f, np.array(start), jac=True, method="L-BFGS-B", bounds=[(1e-3, None)] * 2)
        assert sol.x[0] == pytest.approx(PAPER["R_D_star"], rel=5e-3), start
        assert sol.x[1] == pytest.approx(PAPER["R_N_star"], rel=5e-3), start
        assert sol.fun * 1e-3 <= PAPER_OBJECTIVE * (1 + 1e-6)


def test_the_global_optimum_of_the_same_objective_is_elsewhere(paper_fit, paper_runs):
    """Finding (docs/fitting.md): the grid search finds R_D* = 95.4, R_N* = 1.71 with an objective
    0.13% lower than the published optimum's; the objective is not convex and nearly flat along a
    valley from R_D* ~ 8 to ~1000 (R_N* falling as R_D* rises): its profile is within 1% of the
    optimum over that range, within 0.5% from R_D* = 12 to 1000."""
    ours = paper_fit.info["objective"]
    assert ours < PAPER_OBJECTIVE - 1e-5
    assert paper_fit.R_D_star == pytest.approx(95.37, rel=1e-3)  # measured; pinned so a change shows
    assert paper_fit.R_N_star == pytest.approx(1.706, rel=1e-3)
    # the two optima fit the data about equally well: linear R^2 0.791 vs the paper's 0.772
    assert paper_fit.info["r2_linear"] > TABLE["both"][3]
    # the profile (best R_N* for each R_D*) is nearly flat (measured: +0.97%, +0.32%, +0.46%)
    stage = _Stage2(PAPER_BASE, *paper_runs, None, None, 1e-3)
    for rd, within in ((8.0, 1.01), (12.0, 1.005), (1000.0, 1.005)):
        best = optimize.minimize_scalar(lambda t: stage.objective(np.array([math.log(rd), t])),
                                        bounds=(-3, 7), method="bounded").fun
        assert ours < best < within * ours, rd


def test_the_bootstrap_interval_covers_both_optima(paper_fit):
    """The paper's data hardly constrain R_D*: its 95% bootstrap interval (runs resampled, base
    fixed) reaches from ~5 to unbounded (a share of the resamples run R_D* to the search bound: no
    measurable decay), and holds both the published and our optimum; R_N*'s holds both too."""
    boot = paper_fit.boot
    assert boot.n == 100 and boot.skipped == 0
    lo, hi = paper_fit.ci["R_D_star"]
    assert 2 < lo < PAPER["R_D_star"] < paper_fit.R_D_star and hi == math.inf
    assert boot.at_bound["R_D_star"]["upper"] > 0.025  # why the upper end is inf
    lo, hi = paper_fit.ci["R_N_star"]
    assert lo < paper_fit.R_N_star < PAPER["R_N_star"] < hi < 100
    assert math.isnan(paper_fit.se["R_D_star"]) and paper_fit.se["R_N_star"] > 0
    assert "bootstrap" in paper_fit.info["ci_method"] and paper_fit.fixed == ["E", "A", "B", "alpha", "beta"]


def test_only_data_decay_reproduces_table_7(paper_runs):
    """Table 7, "only decay D" (N' = N): R_D* = 2.9157. The objective has two shallow minima here
    (R_D* 2.80 and 2.915, 2e-7 apart); ours is the lower, 0.03% from the paper's value. 0.5% as
    above (float32 stopping); the loss and R^2 to the table's 4 decimals."""
    N, D, U, L = paper_runs
    fit = fit_data_constrained(N, D, U, L, base=PAPER_BASE, rn_star=math.inf, n_boot=0)
    rd, _, loss, r2 = TABLE["only decay D"]
    assert fit.R_D_star == pytest.approx(rd, rel=5e-3)
    assert fit.info["objective"] == pytest.approx(loss, abs=5e-5)
    assert fit.info["r2_linear"] == pytest.approx(r2, abs=5e-5)
    assert fit.R_N_star == math.inf and fit.fixed[-1] == "R_N_star"


def test_the_only_parameter_decay_row_mixes_two_models(paper_runs):
    """Table 7, "only decay N", is not a fit of N' with D' = D: its loss 0.0241 is the objective at
    R_N* = 713 with repeated data worth *nothing* (D' = U), its R^2 0.4488 that with D' = D; with
    D' = U the objective keeps falling towards R_N* = inf (713 is where the paper's L-BFGS stopped),
    and with D' = D the optimum is R_N* = 0.74, whose R^2 (0.793) exceeds the paper's full law's
    (0.772) though its objective is 0.6% higher."""
    N, D, U, L = paper_runs
    rn = TABLE["only decay N"][1]
    assert _objective(paper_runs, 1e-12, rn) == pytest.approx(TABLE["only decay N"][2], abs=5e-5)
    assert _r2_linear(L, data_constrained_loss(N, D, U, PAPER_BASE, math.inf, rn)) == pytest.approx(
        TABLE["only decay N"][3], abs=5e-5)
    assert _objective(paper_runs, 1e-12, 1e6) < _objective(paper_runs, 1e-12, rn)
    fit = fit_data_constrained(N, D, U, L, base=PAPER_BASE, rd_star=math.inf, n_boot=0)
    assert fit.R_N_star == pytest.approx(0.742, rel=1e-2) and fit.info["r2_linear"] > TABLE["both"][3]


# ----------------------------------------------------------------------------- synthetic truth
U_GRID = np.array([1e8, 1e9, 1e10])
EPOCHS = np.array([2.0, 4.0, 8.0, 16.0, 32.0, 64.0])  # repeated-data runs
N_MULT = np.array([0.3, 1.0, 3.0, 10.0])  # x N_opt(U): below, at and above the compute-optimal size


@st.composite
def laws(draw, tied=True, alpha=(0.25, 0.5)):
    """A base law in the paper's neighbourhood (C4: E 1.87, A 521, B 1488, alpha = beta 0.353) and
    decay constants that the grid's 2-64 epochs and 0.3-10x compute-optimal sizes identify."""
    a = draw(st.floats(*alpha))
    base = {"E": draw(st.floats(1.0, 3.0)), "A": draw(st.floats(100.0, 2000.0)), "B": draw(st.floats(300.0, 5000.0)),
            "alpha": a, "beta": a if tied else draw(st.floats(*alpha))}
    return base, draw(st.floats(2.0, 50.0)), draw(st.floats(1.0, 30.0))


def design(base, single_mult=N_MULT):
    """Runs on the U x epochs x size grid (sizes relative to N_opt(U)), plus single-epoch runs at the
    sizes ``single_mult`` x N_opt(U)."""
    n_opt = unique_params(U_GRID, base)
    rows = [(m * n, u * e, u) for u, n in zip(U_GRID, n_opt) for m in N_MULT for e in EPOCHS]
    rows += [(m * n, u, u) for u, n in zip(U_GRID, n_opt) for m in single_mult]
    return tuple(np.array(c) for c in zip(*rows))


@settings(max_examples=25)
@given(law=laws())
def test_exact_recovery_of_the_decay_constants(law):
    base, rd, rn = law
    N, D, U = design(base)
    fit = fit_data_constrained(N, D, U, data_constrained_loss(N, D, U, base, rd, rn), base=base, n_boot=0)
    # noise-free data: only the optimiser's tolerances separate fit and truth
    assert fit.R_D_star == pytest.approx(rd, rel=1e-6)
    assert fit.R_N_star == pytest.approx(rn, rel=1e-6)
    assert fit.ok and fit.info["objective"] < 1e-14


@pytest.mark.parametrize("tie", [True, False])
@settings(max_examples=10)
@given(data=st.data())
def test_exact_recovery_of_both_stages(tie, data):
    """base=None: stage 1 on the single-epoch runs, stage 2 on all. Exact only when the single-epoch
    runs follow the plain Chinchilla law, i.e. are no larger than compute-optimal for their data
    (the law gives larger ones excess-parameter decay even at one epoch): sizes 0.1-1x N_opt.
    Exponents 0.28-0.4 keep both base terms >= 5% of E on these runs (identifiable)."""
    base, rd, rn = data.draw(laws(tied=tie, alpha=(0.28, 0.4)))
    N, D, U = design(base, single_mult=(0.1, 0.2, 0.5, 1.0))
    L = data_constrained_loss(N, D, U, base, rd, rn)
    fit = fit_data_constrained(N, D, U, L, tie_exponents=tie, n_boot=0)
    assert fit.info["n_single_epoch"] == 12
    for name, true in {**base, "R_D_star": rd, "R_N_star": rn}.items():
        assert fit.params[name] == pytest.approx(true, rel=1e-6), name
    assert fit.base_fit is not None and fit.fixed == []


def test_predict_and_no_decay_limit():
    base = {"E": 1.7, "A": 400.0, "B": 1200.0, "alpha": 0.34, "beta": 0.3}
    N, D, U = design(base)
    L = data_constrained_loss(N, D, U, base, 12.0, 4.0)
    fit = fit_data_constrained(N, D, U, L, base=base, n_boot=0)
    assert fit.predict(N, D, U) == pytest.approx(L, rel=1e-9)
    # R* = inf: the Chinchilla law in (N, D)
    chin = base["E"] + base["A"] * N ** -base["alpha"] + base["B"] * D ** -base["beta"]
    assert data_constrained_loss(N, D, U, base, math.inf, math.inf) == pytest.approx(chin, rel=1e-12)
    # U >= D is one epoch over D tokens (U_D = min(U, D)): the same as U = D
    assert data_constrained_loss(N, D, 10 * D, base, 12.0, 4.0) == pytest.approx(
        data_constrained_loss(N, D, D, base, 12.0, 4.0), rel=1e-12)
    lo, hi = fit.predict_interval(N[:3], D[:3], U[:3])
    assert np.all(lo <= fit.predict(N[:3], D[:3], U[:3])) and np.all(fit.predict(N[:3], D[:3], U[:3]) <= hi)


def test_no_decay_runs_to_the_bound_and_is_flagged():
    """Negative control: data generated without repeated-data decay (R_D* = inf) cannot give a
    finite R_D*; the fit ends at the search bound and says so."""
    base = {"E": 1.7, "A": 400.0, "B": 1200.0, "alpha": 0.34, "beta": 0.3}
    N, D, U = design(base)
    fit = fit_data_constrained(N, D, U, data_constrained_loss(N, D, U, base, math.inf, 4.0), base=base, n_boot=0)
    assert fit.R_D_star == pytest.approx(R_STAR_BOUNDS[1], rel=1e-6)
    assert "R_D_star" in fit.flags and "no measurable decay" in fit.flags["R_D_star"] and not fit.ok
    # R_D* stops at the finite bound (1e6), not at inf: its D' is short of D by up to R_D**2 / 2e6
    # epochs' worth (3e-5 relative at 64 epochs), which R_N* absorbs
    assert fit.R_N_star == pytest.approx(4.0, rel=1e-4) and "R_N_star" not in fit.flags


def test_bootstrap_is_deterministic_and_covers_the_truth():
    rng = np.random.default_rng(0)
    base = {"E": 1.87, "A": 521.0, "B": 1488.0, "alpha": 0.353, "beta": 0.353}
    N, D, U = design(base, single_mult=(0.1, 0.2, 0.5, 1.0))
    L = data_constrained_loss(N, D, U, base, 15.0, 5.0) * np.exp(rng.normal(0, 0.005, N.size))
    fit = fit_data_constrained(N, D, U, L, n_boot=30, seed=1)  # both stages, each resample refitted
    again = fit.bootstrap(30, seed=1)
    assert np.array_equal(again.samples["R_D_star"], fit.boot.samples["R_D_star"])
    assert set(fit.boot.samples) == {"E", "A", "B", "alpha", "beta", "R_D_star", "R_N_star"}
    for name, true in {**base, "R_D_star": 15.0, "R_N_star": 5.0}.items():
        lo, hi = fit.ci[name]
        assert lo <= true <= hi, name
    assert fit.ci["beta"] == fit.ci["alpha"]  # tied in every resample
    assert fit.to_dict()["bootstrap"]["n"] == 30


def test_asymptotic_intervals_without_bootstrap():
    rng = np.random.default_rng(1)
    base = {"E": 1.87, "A": 521.0, "B": 1488.0, "alpha": 0.353, "beta": 0.353}
    N, D, U = design(base)
    L = data_constrained_loss(N, D, U, base, 15.0, 5.0) * np.exp(rng.normal(0, 0.005, N.size))
    fit = fit_data_constrained(N, D, U, L, base=base, n_boot=0)
    assert fit.boot is None and "asymptotic" in fit.info["ci_method"]
    for name in ("R_D_star", "R_N_star"):
        lo, hi = fit.ci[name]
        assert 0 < lo < fit.params[name] < hi and fit.se[name] > 0
    assert math.isnan(fit.se["E"]) and fit.cov.shape == (2, 2)


def test_to_dict_is_json_ready(paper_fit):
    d = json.loads(json.dumps(paper_fit.to_dict()))
    assert d["kind"] == "data_constrained" and d["ci"]["R_D_star"][1] is None  # inf -> null
    assert set(d["params"]) == {"E", "A", "B", "alpha", "beta", "R_D_star", "R_N_star"}


# ----------------------------------------------------------------------------- helpers
@given(U=st.floats(1e6, 1e12), epochs=st.floats(1.0, 1e3), rd=st.floats(0.5, 100.0))
def test_effective_data(U, epochs, rd):
    D = U * epochs
    Dp = effective_data(D, U, rd)[0]
    assert U * (1 - 1e-12) <= Dp <= D * (1 + 1e-12)  # never less than one epoch, never more than D
    assert Dp <= U * (1 + rd) * (1 + 1e-12)  # the plateau: at most R_D* + 1 epochs' worth
    assert effective_data(D, U, math.inf)[0] == pytest.approx(D, rel=1e-12)
    # overall value D'/D, and the marginal value is dD'/dD
    assert repeated_token_value(epochs, rd, "overall")[0] == pytest.approx(Dp / D, rel=1e-12)
    h = 1e-6 * D
    slope = (effective_data(D + h, U, rd)[0] - effective_data(D - h, U, rd)[0]) / (2 * h) if epochs > 1.01 else 1.0
    assert repeated_token_value(epochs, rd)[0] == pytest.approx(slope, rel=1e-4, abs=1e-9)


def test_repeated_token_value_landmarks():
    rd = PAPER["R_D_star"]
    # a repeated token is worth half a new one after R_D* ln 2 repetitions (10.7 at 15.4) ...
    assert repeated_token_value(1 + rd * math.log(2), rd)[0] == pytest.approx(0.5)
    # ... and on average 1 - 1/e over the first R_D* repetitions (the paper's reading of R_D*)
    assert repeated_token_value(1 + rd, rd, "average")[0] == pytest.approx(1 - 1 / math.e)
    # 4 epochs are worth 93% of 4 epochs of unique data; at 40 epochs the next token is worth 8%
    assert repeated_token_value(4, rd, "overall")[0] == pytest.approx(0.931, abs=1e-3)
    assert repeated_token_value(40, rd)[0] == pytest.approx(0.0793, abs=1e-3)
    assert np.all(repeated_token_value([0.5, 1.0], rd, "average") == 1.0)
    assert np.all(repeated_token_value([0.5, 1.0], rd, "overall") == 1.0)


def test_unique_params_is_the_compute_optimal_size():
    """U_N: the N that Chinchilla's closed-form allocation pairs with D_opt = U (any FLOPs factor)."""
    for base in (PAPER_BASE, {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}):
        for k in (6.0, 8.0):
            n_opt, d_opt = optimal_allocation([base[p] for p in ("E", "A", "B", "alpha", "beta")], [1e19, 1e23], k)
            assert unique_params(d_opt, base) == pytest.approx(n_opt, rel=1e-9)
    # the paper's "U_N = 0.051 U_D" (Eq. after Table 7, alpha = beta)
    assert unique_params(1e9, PAPER_BASE)[0] / 1e9 == pytest.approx(0.051, abs=5e-4)
    # N' = N below the compute-optimal size, less above it
    n_opt = unique_params(1e9, PAPER_BASE)[0]
    assert effective_params(0.5 * n_opt, 1e9, PAPER_BASE, 5.3)[0] == pytest.approx(0.5 * n_opt)
    assert effective_params(10 * n_opt, 1e9, PAPER_BASE, 5.3)[0] < 10 * n_opt


# ----------------------------------------------------------------------------- bad input
_BASE = {"E": 1.7, "A": 400.0, "B": 1200.0, "alpha": 0.34, "beta": 0.3}


def _runs():
    N, D, U = design(_BASE, single_mult=(0.1, 0.2, 0.5, 1.0))
    return N, D, U, data_constrained_loss(N, D, U, _BASE, 12.0, 4.0)


@pytest.mark.parametrize("which", [0, 1, 2, 3])
@pytest.mark.parametrize("bad, match", [(math.nan, "NaN"), (math.inf, "inf"), (0.0, "positive"), (-1.0, "positive")])
def test_bad_values_rejected(which, bad, match):
    runs = [a.copy() for a in _runs()]
    runs[which][5] = bad
    with pytest.raises(ValueError, match=match):
        fit_data_constrained(*runs, base=_BASE, n_boot=0)


def test_bad_shapes_and_too_few_runs():
    N, D, U, L = _runs()
    with pytest.raises(ValueError, match="mismatched lengths"):
        fit_data_constrained(N, D, U[:-1], L, base=_BASE, n_boot=0)
    with pytest.raises(ValueError, match="empty"):
        fit_data_constrained([], [], [], [], base=_BASE, n_boot=0)
    with pytest.raises(ValueError, match="one-dimensional"):
        fit_data_constrained(N.reshape(-1, 1), D, U, L, base=_BASE, n_boot=0)
    # one repeated run and nothing else cannot give two decay constants
    rep = np.flatnonzero((D > U) & (N > unique_params(np.minimum(U, D), _BASE)))[:1]
    with pytest.raises(ValueError, match="free parameters"):
        fit_data_constrained(N[rep], D[rep], U[rep], L[rep], base=_BASE, n_boot=0)
    # stage 1 needs single-epoch runs: 4 (tied) or 5
    single = np.flatnonzero(D <= U)
    keep = np.concatenate([single[:3], np.flatnonzero(D > U)])
    with pytest.raises(ValueError, match="stage 1.*at least 4"):
        fit_data_constrained(N[keep], D[keep], U[keep], L[keep], n_boot=0)
    with pytest.raises(ValueError, match="stage 1.*at least 5"):
        fit_data_constrained(N[keep], D[keep], U[keep], L[keep], tie_exponents=False, n_boot=0)


def test_unidentified_decay_constants_rejected():
    N, D, U = design(_BASE)  # single-epoch runs at 0.3-10x N_opt: some have excess parameters
    L = data_constrained_loss(N, D, U, _BASE, 12.0, 4.0)
    single = D <= U
    with pytest.raises(ValueError, match="no run repeats data.*R_D\\* is not identified"):
        fit_data_constrained(N[single], D[single], U[single], L[single], base=_BASE, n_boot=0)
    # fixing R_D* is fine then, if some run has excess parameters
    fit = fit_data_constrained(N[single], D[single], U[single], L[single], base=_BASE, rd_star=12.0, n_boot=0)
    assert fit.R_N_star == pytest.approx(4.0, rel=1e-6)
    small = N <= unique_params(np.minimum(U, D), _BASE)
    with pytest.raises(ValueError, match="no run has excess parameters.*rn_star"):
        fit_data_constrained(N[small], D[small], U[small], L[small], base=_BASE, n_boot=0)
    with pytest.raises(ValueError, match="nothing to fit"):
        fit_data_constrained(N, D, U, L, base=_BASE, rd_star=12.0, rn_star=4.0)


@pytest.mark.parametrize("kwargs, match", [
    ({"rd_star": 0.0}, "rd_star"), ({"rd_star": -2.0}, "rd_star"), ({"rn_star": math.nan}, "rn_star"),
    ({"rn_star": "five"}, "rn_star"), ({"n_boot": 1}, "n_boot"), ({"n_boot": -5}, "n_boot"),
    ({"n_boot": 2.5}, "n_boot"), ({"n_boot": True}, "n_boot"), ({"level": 1.5}, "level"), ({"level": "95%"}, "level"),
    ({"tie_exponents": "yes"}, "tie_exponents"), ({"delta": 0.0}, "delta"),
    ({"base": {"E": 1.7, "A": 400.0, "B": -1.0, "alpha": 0.3, "beta": 0.3}}, "B=-1.0"),
    ({"base": {"E": 1.7, "A": 400.0}}, "missing"), ({"base": (1.7, 400.0, 1200.0)}, "5 values"),
    ({"base": "chinchilla"}, "5 values"), ({"starts": []}, "empty"), ({"starts": [(-1.0, 4.0)]}, "positive"),
    ({"starts": [3.0]}, "pair"),
])
def test_bad_options_rejected(kwargs, match):
    kwargs = {"base": _BASE, "n_boot": 0, **kwargs}
    with pytest.raises(ValueError, match=match):
        fit_data_constrained(*_runs(), **kwargs)


def test_bad_helper_input_rejected():
    with pytest.raises(ValueError, match="kind"):
        repeated_token_value(4, 15.4, kind="median")
    with pytest.raises(ValueError, match="epochs must be positive"):
        repeated_token_value(0.0, 15.4)
    with pytest.raises(ValueError, match="rd_star"):
        effective_data(4e9, 1e9, 0.0)
    with pytest.raises(ValueError, match="U must be positive"):
        effective_data(4e9, -1e9, 15.4)
    with pytest.raises(ValueError, match="mismatched"):
        effective_data([4e9, 5e9], [1e9, 1e9, 1e9], 15.4)
    with pytest.raises(ValueError, match="rn_star"):
        effective_params(1e9, 1e9, PAPER_BASE, -1.0)


def test_starts_replace_the_grid(paper_runs):
    """From the paper's own starting point the descent stays in its basin: given starts are honoured
    (the bootstrap reuses them), and info says which search ran."""
    fit = fit_data_constrained(*paper_runs, base=PAPER_BASE, starts=[(16.0, 4.0)], n_boot=0)
    assert fit.R_D_star == pytest.approx(15.37, rel=2e-3) and fit.info["search"] == "given starts"
    assert fit_data_constrained(*paper_runs, base=PAPER_BASE, starts=iter([(16.0, 4.0)]), n_boot=3).boot.n == 3
    assert fit.info["objective"] <= PAPER_OBJECTIVE * (1 + 1e-6)


@pytest.mark.slow
def test_the_documented_numbers(paper_runs):
    """docs/fitting.md's table, measured with 1,000 resamples (seed 0; 1-2 min on 2 shared cores) and the
    two-stage variant (base fitted on the 29 single-epoch runs of the 182; 200 resamples). Pinned to
    catch a change; 5% on the interval ends allows a resample or two to stop in a neighbouring
    shallow minimum on another platform (the ends are order statistics)."""
    fit = fit_data_constrained(*paper_runs, base=PAPER_BASE, n_boot=1000, seed=0)
    assert fit.ci["R_D_star"][0] == pytest.approx(4.75, rel=0.05) and fit.ci["R_D_star"][1] == math.inf
    assert fit.ci["R_N_star"][0] == pytest.approx(0.244, rel=0.05)
    assert fit.ci["R_N_star"][1] == pytest.approx(19.3, rel=0.05)
    assert fit.boot.at_bound["R_D_star"]["upper"] == pytest.approx(0.143, abs=0.02)
    assert np.median(fit.boot.samples["R_D_star"]) == pytest.approx(50.6, rel=0.1)
    # the whole two-stage procedure on the paper's runs: a different base, and R_D*'s interval
    # excludes the published 15.4
    two = fit_data_constrained(*paper_runs, n_boot=200, seed=0)
    assert two.alpha == pytest.approx(0.372, rel=1e-2) and two.E == pytest.approx(1.933, rel=1e-2)
    assert two.R_D_star == pytest.approx(52.1, rel=1e-2) and two.R_N_star == pytest.approx(67.8, rel=1e-2)
    assert two.info["r2_linear"] == pytest.approx(0.935, abs=1e-3)
    assert PAPER["R_D_star"] < two.ci["R_D_star"][0] < two.R_D_star < two.ci["R_D_star"][1]


@pytest.mark.slow
def test_bootstrap_interval_coverage():
    """Calibration on the synthetic design (84 runs, base fixed, truth R_D* = 15, R_N* = 5, 1%
    log-normal noise, 40 datasets, 100 resamples each; 1-2 min). Measured: the bootstrap intervals
    cover R_D* 38/40 and R_N* 37/40 times, the asymptotic ones 36/40 and 36/40. For calibrated 95%
    intervals 34 or fewer of 40 has probability ~1%: the bound asserted for the bootstrap."""
    base = {"E": 1.87, "A": 521.0, "B": 1488.0, "alpha": 0.353, "beta": 0.353}
    N, D, U = design(base)
    truth = data_constrained_loss(N, D, U, base, 15.0, 5.0)
    hits = {"R_D_star": 0, "R_N_star": 0}
    for seed in range(40):
        L = truth * np.exp(np.random.default_rng(seed).normal(0, 0.01, truth.size))
        fit = fit_data_constrained(N, D, U, L, base=base, n_boot=100, seed=seed)
        for name, true in (("R_D_star", 15.0), ("R_N_star", 5.0)):
            hits[name] += fit.ci[name][0] <= true <= fit.ci[name][1]
    assert min(hits.values()) >= 35, hits
