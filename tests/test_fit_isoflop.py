"""IsoFLOP Approaches 1 and 2 on synthetic sweeps with known truth, and (optionally) on the
Chinchilla IsoFLOP points curated by Czech et al. 2026."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scaling_claims.fit import fit_chinchilla, fit_isoflop_approach1, fit_isoflop_approach2

BUDGETS = np.logspace(18, 21, 7)
MULTIPLIERS = np.logspace(-1, 1, 9)  # 9 sizes over 2 decades around a centre, 0.25 decades apart


def law_loss(law, N, D):
    return law["E"] + law["A"] * N ** -law["alpha"] + law["B"] * D ** -law["beta"]


def n_opt(law, C):
    alpha, beta = law["alpha"], law["beta"]
    G = (alpha * law["A"] / (beta * law["B"])) ** (1 / (alpha + beta))
    return G * (C / 6) ** (beta / (alpha + beta))


def sweep(law, shifts=None, noise=0.0, seed=0):
    """An IsoFLOP sweep: at each budget, sizes = centre * MULTIPLIERS with centre = N_opt * shift."""
    rng = np.random.default_rng(seed)
    shifts = np.ones(len(BUDGETS)) if shifts is None else np.asarray(shifts)
    N = np.concatenate([n_opt(law, C) * s * MULTIPLIERS for C, s in zip(BUDGETS, shifts)])
    C = np.repeat(BUDGETS, len(MULTIPLIERS))
    D = C / (6 * N)
    L = law_loss(law, N, D) * np.exp(rng.normal(0, noise, N.size))
    return N, D, L, C


laws = st.fixed_dictionaries({"E": st.floats(1.0, 3.0), "A": st.floats(100, 1000), "B": st.floats(100, 3000),
                              "alpha": st.floats(0.2, 0.6), "beta": st.floats(0.2, 0.6)})


@given(law=laws)
def test_approach2_recovers_exponents_on_centred_grids(law):
    res = fit_isoflop_approach2(*sweep(law))
    a_true = law["beta"] / (law["alpha"] + law["beta"])
    # Along an IsoFLOP line the loss has the same shape in log(N/N_opt) at every budget, up to
    # scale and offset, so the parabola's vertex bias is the same at every budget and cancels
    # in the slope: a is exact up to float error even though the curve is not a parabola.
    assert res.a == pytest.approx(a_true, abs=1e-6)
    assert res.b == pytest.approx(1 - a_true, abs=1e-6)
    assert res.optima["interior"].all() and res.optima["used"].all()


@given(law=laws, shifts=st.lists(st.floats(10 ** -0.125, 10 ** 0.125), min_size=7, max_size=7))
def test_approach1_error_bounded_by_grid_resolution(law, shifts):
    res = fit_isoflop_approach1(*sweep(law, shifts=shifts))
    a_true = law["beta"] / (law["alpha"] + law["beta"])
    # The lowest-loss grid point is one of the two that bracket the optimum (the loss is
    # unimodal along the IsoFLOP line), so each log10 N_opt is off by < one step (0.25
    # decades); the least-squares slope over log10 C then moves by at most
    # 0.25 * sum|x_i - xbar| / sum (x_i - xbar)^2.
    x = np.log10(BUDGETS) - np.log10(BUDGETS).mean()
    bound = 0.25 * np.abs(x).sum() / (x ** 2).sum()
    assert abs(res.a - a_true) <= bound
    assert res.optima["N_opt"].shape == (7,)


def test_approach1_reports_its_resolution():
    law = {"E": 1.7, "A": 400.0, "B": 1200.0, "alpha": 0.34, "beta": 0.30}
    res = fit_isoflop_approach1(*sweep(law))
    # one rung (0.25 decades of N) over the 3 decades of C the budgets span
    assert res.info["a_resolution"] == pytest.approx(0.25 / 3)
    assert "a_resolution" not in fit_isoflop_approach2(*sweep(law)).info


def test_noisy_sweep_intervals_contain_truth():
    law = {"E": 1.7, "A": 400.0, "B": 1200.0, "alpha": 0.34, "beta": 0.30}
    a_true = 0.30 / 0.64
    hits = [fit_isoflop_approach2(*sweep(law, noise=0.005, seed=s)).ci["a"] for s in range(30)]
    coverage = np.mean([lo <= a_true <= hi for lo, hi in hits])
    assert coverage >= 0.8  # nominal 95%; 30 draws below 80% would be a ~1e-4 event


def test_off_centre_budget_is_flagged():
    law = {"E": 1.7, "A": 400.0, "B": 1200.0, "alpha": 0.34, "beta": 0.30}
    shifts = np.ones(7)
    shifts[2] = 30.0  # every size at this budget is >= 3x N_opt: the minimum is not sampled
    for fitter in (fit_isoflop_approach1, fit_isoflop_approach2):
        res = fitter(*sweep(law, shifts=shifts))
        assert not res.optima["interior"][2]
        assert res.optima["interior"][[0, 1, 3, 4, 5, 6]].all()


def test_quality_control_drops_an_off_centre_vertex_and_says_so():
    """Czech et al. 2026: an extrapolated vertex is biased, so it never enters the fit (qc=False
    keeps it, flagged, as before)."""
    law = {"E": 1.7, "A": 400.0, "B": 1200.0, "alpha": 0.34, "beta": 0.30}
    shifts = np.ones(7)
    shifts[2] = 30.0
    data = sweep(law, shifts=shifts)
    res = fit_isoflop_approach2(*data)
    assert res.optima["qc"][2] == "off_center" and not res.optima["used"][2]
    assert (res.optima["qc"][[0, 1, 3, 4, 5, 6]] == "ok").all() and res.n == 6
    assert next(iter(res.info["excluded"].values())).startswith("off_center")
    assert res.a == pytest.approx(0.30 / 0.64, abs=1e-6)  # the centred budgets alone recover a
    kept = fit_isoflop_approach2(*data, qc=False)
    assert kept.optima["used"].all() and kept.info["excluded"] == {} and kept.n == 7


def test_curvature_interval_is_reported_not_used_to_drop():
    """A budget flat within its noise: the lower end of its curvature's t interval is <= 0,
    reported in optima["curvature_lo"]; the vertex stays in (QC drops only what has no vertex
    or an extrapolated one: see the module docstring for why)."""
    law = {"E": 1.7, "A": 400.0, "B": 1200.0, "alpha": 0.34, "beta": 0.30}
    N, D, L, C = sweep(law, noise=0.002, seed=1)
    L = L.copy()
    at = np.flatnonzero(C == BUDGETS[4])
    rng = np.random.default_rng(0)
    L[at] = 2.5 + 0.05 * rng.standard_normal(at.size) + 0.01 * (np.log(N[at]) - np.log(N[at]).mean()) ** 2
    res = fit_isoflop_approach2(N, D, L, C, qc=False)
    assert res.optima["curvature"][4] > 0 and res.optima["curvature_lo"][4] <= 0
    assert (np.delete(res.optima["curvature_lo"], 4) > 0).all()


def test_concave_budget_is_excluded():
    law = {"E": 1.7, "A": 400.0, "B": 1200.0, "alpha": 0.34, "beta": 0.30}
    N, D, L, C = sweep(law)
    at = C == BUDGETS[3]
    L = L.copy()
    L[at] = 3.0 - (np.log(N[at]) - np.log(N[at]).mean()) ** 2 * 0.01  # opens downward
    res = fit_isoflop_approach2(N, D, L, C)
    assert not res.optima["used"][3]
    assert len(res.info["excluded"]) == 1 and "downward" in next(iter(res.info["excluded"].values()))
    assert res.n == 6
    assert res.a == pytest.approx(0.30 / 0.64, abs=1e-6)


def test_budget_grouping_tolerates_float_noise():
    law = {"E": 1.7, "A": 400.0, "B": 1200.0, "alpha": 0.34, "beta": 0.30}
    N, D, L, C = sweep(law)
    res = fit_isoflop_approach2(N, D, L, C * (1 + 1e-9 * (np.arange(C.size) % 3)))
    assert len(res.optima["C"]) == len(BUDGETS)


def test_compute_optimal_matches_power_laws():
    law = {"E": 1.7, "A": 400.0, "B": 1200.0, "alpha": 0.34, "beta": 0.30}
    res = fit_isoflop_approach2(*sweep(law))
    n, d = res.compute_optimal(np.array([1e22]))
    assert n[0] == pytest.approx(res.k_N * 1e22 ** res.a)
    assert n[0] == pytest.approx(n_opt(law, 1e22), rel=0.05)  # same vertex bias at every budget


def test_chinchilla_isoflops_approaches_agree(shared_data):
    """Hoffmann et al.'s IsoFLOP points (Epoch's extraction, Czech et al.'s QC, outliers removed):
    Approach 2's interval contains the paper's Approach 2 value a = 0.49 and our Approach 3
    estimate on the same points; Approach 1's (coarse) interval contains Approach 2's a."""
    import pandas as pd

    path = shared_data / "openathena_isoflops_annotated.csv"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    df = pd.read_csv(path)
    d = df[(df.experiment == "epochai_chinchilla__massivetext__chinchilla") & ~df.outlier]
    a2 = fit_isoflop_approach2(d.params, d.tokens, d.loss, d.budget)
    a1 = fit_isoflop_approach1(d.params, d.tokens, d.loss, d.budget)
    a3 = fit_chinchilla(d.params, d.tokens, d.loss)
    assert a2.optima["interior"].all()
    assert (a2.optima["qc"] == "ok").all()  # after their QC, ours drops nothing more
    assert a2.ci["a"][0] <= 0.49 <= a2.ci["a"][1]
    assert a2.ci["a"][0] <= a3.a <= a2.ci["a"][1]
    assert a1.ci["a"][0] <= a2.a <= a1.ci["a"][1]


def test_to_dict_is_strict_json_with_excluded_budgets():
    import json

    law = {"E": 1.7, "A": 400.0, "B": 1200.0, "alpha": 0.34, "beta": 0.30}
    N, D, L, C = sweep(law)
    keep = ~((C == BUDGETS[0]) & (np.arange(C.size) % 9 > 1))  # leave 2 sizes at the first budget
    res = fit_isoflop_approach2(N[keep], D[keep], L[keep], C[keep])
    d = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert d["optima"]["used"][0] is False and d["optima"]["N_opt"][0] is None
