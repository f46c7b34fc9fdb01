"""The planner (``scaling_claims.tool.plan``) and reading/fitting your own runs
(``scaling_claims.tool.userruns``): published allocations reproduced, the inversions consistent, the
inference-aware optimum's limits, time and cost arithmetic, the ladder design, bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy import optimize

from scaling_claims.tool import plan as P
from scaling_claims.fit import fit_chinchilla
from scaling_claims.tool.userruns import fit_runs, isoflop_groups, read_runs

EPOCH = P.published("epoch2024")
CHINCHILLA_C = 5.76e23  # the Chinchilla run's compute (70B parameters, 1.4T tokens)


def brute_force_optimum(law: P.Law, C: float) -> tuple[float, float]:
    """Minimise the law along k N D = C numerically (the check on the closed form)."""
    f = lambda ln: float(law.loss(math.exp(ln), C / (law.flops_per_token * math.exp(ln))))  # noqa: E731
    res = optimize.minimize_scalar(f, bounds=(math.log(1e3), math.log(C)), method="bounded",
                                   options={"xatol": 1e-10})
    n = math.exp(res.x)
    return n, C / (law.flops_per_token * n)


def test_epoch_fit_gives_about_18_tokens_per_parameter_at_chinchilla_compute():
    a = P.allocate(EPOCH, CHINCHILLA_C)
    # Besiroglu et al. 2024: their refit implies ~20 tokens per parameter, consistent with the
    # Chinchilla model itself; our Epoch reproduction test gives 18.3 at this budget.
    assert a.tokens_per_param == pytest.approx(18.3, abs=0.3)
    assert a.N * a.D * 6 == pytest.approx(CHINCHILLA_C, rel=1e-12)
    assert a.N_ci is None and a.loss_ci is None  # a published point estimate carries no samples


@pytest.mark.parametrize("name", sorted(P.PUBLISHED))
@pytest.mark.parametrize("C", [1e18, 1e21, CHINCHILLA_C, 1e26])
def test_closed_form_optimum_matches_numerical_minimum(name, C):
    law = P.published(name)
    a = P.allocate(law, C)
    n, d = brute_force_optimum(law, C)
    assert a.N == pytest.approx(n, rel=1e-5) and a.D == pytest.approx(d, rel=1e-5)


@given(E=st.floats(0.5, 3.0), A=st.floats(10, 1e4), B=st.floats(10, 1e4), alpha=st.floats(0.1, 0.8),
       beta=st.floats(0.1, 0.8), logC=st.floats(15, 25))
def test_budget_for_loss_inverts_allocate(E, A, B, alpha, beta, logC):
    law = P.Law("h", E, A, B, alpha, beta)
    N, D = law.optimum(np.array([10.0 ** logC]))
    assume(N[0] >= 1 and D[0] >= 1)  # below one parameter or token allocate refuses (the next test)
    a = P.allocate(law, 10.0 ** logC)
    back = P.budget_for_loss(law, a.loss)
    assert back.C == pytest.approx(a.C, rel=1e-6)
    assert back.loss == pytest.approx(a.loss, rel=1e-9)


def test_budget_for_loss_is_monotone_and_refuses_the_unreachable():
    budgets = [P.budget_for_loss(EPOCH, loss).C for loss in (2.6, 2.3, 2.1, 1.95)]
    assert budgets == sorted(budgets)
    with pytest.raises(ValueError, match="irreducible"):
        P.budget_for_loss(EPOCH, EPOCH.E)
    with pytest.raises(ValueError, match="irreducible"):
        P.budget_for_loss(EPOCH, 1.0)


def test_inference_aware_optimum_equals_chinchilla_at_zero_and_moves_to_smaller_models():
    loss = P.allocate(EPOCH, 1e23).loss
    zero = P.inference_aware(EPOCH, loss, 0.0)
    assert zero.N == pytest.approx(zero.chinchilla.N, rel=1e-4)
    assert zero.D == pytest.approx(zero.chinchilla.D, rel=1e-4)
    assert zero.saving == pytest.approx(0.0, abs=1e-8)
    prev = zero
    for tokens in (1e11, 1e12, 1e13, 1e14):
        ia = P.inference_aware(EPOCH, loss, tokens)
        assert float(EPOCH.loss(ia.N, ia.D)) == pytest.approx(loss, rel=1e-9)  # the same quality
        assert ia.N < prev.N and ia.D > prev.D  # smaller models trained on more tokens (Sardana et al.)
        assert ia.total_flops <= ia.chinchilla_total_flops * (1 + 1e-9)
        prev = ia
    with pytest.raises(ValueError):
        P.inference_aware(EPOCH, loss, -1.0)


def test_training_time_and_cost():
    t = P.training_time(6 * 150e6 * 100e6, P.device("m2-max").peak_flops("fp32"), 0.3)
    # the research plan's example: a 150M model on 100M tokens on an M2 Max at 30% utilisation
    assert t.hours == pytest.approx(9e16 / (13.6e12 * 0.3) / 3600)
    t = P.training_time(3.6e21, 1e15, 0.5, devices=8, price_per_hour=2.0)
    assert t.seconds == pytest.approx(3.6e21 / (1e15 * 0.5 * 8)) and t.cost == pytest.approx(2.0 * 8 * t.hours)
    for bad in ((0, 1e15, 0.5), (1e20, 1e15, 0.0), (1e20, 1e15, 1.5), (1e20, -1, 0.5)):
        with pytest.raises(ValueError):
            P.training_time(*bad)
    with pytest.raises(ValueError, match="unknown device"):
        P.device("tpu-v9")
    with pytest.raises(ValueError, match="no published peak"):
        P.device("t4").peak_flops("bf16")


def test_measured_utilisation_reads_the_latest_saved_benchmark(tmp_path):
    with pytest.raises(ValueError, match="no saved throughput benchmark"):
        P.measured_utilisation(tmp_path)
    bench = {"benchmarks": [
        {"extra_info": {"dtype": "float32", "matmul_flops_per_s": 9.6e10}},
        {"extra_info": {"dtype": "float32", "model": "gpt-0.84M", "params_total": 840_000, "fraction_of_fp32_roof": 0.63}},
        {"extra_info": {"dtype": "float32", "model": "gpt-2.7M", "params_total": 2_700_000, "fraction_of_fp32_roof": 0.61}},
        {"extra_info": {"dtype": "float32", "model": "gpt-36k", "params_total": 36_000, "fraction_of_fp32_roof": 0.31}},
        {"extra_info": {"dtype": "float32", "model": "mlp-1.1M", "params_total": 1_186_826, "fraction_of_fp32_roof": 0.86}},
        {"extra_info": {"dtype": "bf16", "model": "gpt-0.84M", "params_total": 840_000, "fraction_of_fp32_roof": 0.2}}]}
    (tmp_path / "Linux-CPython-3.11-64bit").mkdir()
    (tmp_path / "Linux-CPython-3.11-64bit" / "0001_run.json").write_text(json.dumps(bench))
    u = P.measured_utilisation(tmp_path)
    assert u.mfu == pytest.approx(0.62) and u.roof_flops == 9.6e10 and "0001_run.json" in u.source


def test_design_fits_the_time_budget():
    peak, mfu = 13.6e12, 0.3
    ladder = P.design_ladder(EPOCH, 1e6, 1e9, 8 * 3600, peak, mfu, n_sizes=5)
    assert ladder.seconds == pytest.approx(8 * 3600, rel=1e-3)  # the top size was lowered to fit
    assert len(ladder.sizes) == 5 and ladder.sizes[0] == pytest.approx(1e6) and ladder.sizes[-1] < 1e9
    assert np.allclose(np.diff(np.log(ladder.sizes)), np.log(ladder.sizes[1] / ladder.sizes[0]))
    assert {r.ratio for r in ladder.rungs} == {0.5, 1.0, 2.0}
    for r in ladder.rungs:  # ratio 1 is the compute-optimal token count for that size
        if r.ratio == 1.0:
            assert P.allocate(EPOCH, 6 * r.N * r.D).N == pytest.approx(r.N, rel=1e-9)
    roomy = P.design_ladder(EPOCH, 1e6, 1e7, 1e6 * 3600, peak, mfu)
    assert roomy.sizes[-1] == pytest.approx(1e7) and len(roomy.notes) == 1
    with pytest.raises(ValueError, match="even a ladder"):
        P.design_ladder(EPOCH, 1e9, 1e10, 60, peak, mfu)
    with pytest.raises(ValueError):
        P.design_ladder(EPOCH, 1e7, 1e6, 3600, peak, mfu)


def test_law_validation_round_trip_and_presets(tmp_path):
    with pytest.raises(ValueError, match="unknown published fit"):
        P.published("kaplan2020")
    with pytest.raises(ValueError):
        P.Law("bad", 1.7, 400, 400, 0.0, 0.3)
    law = P.Law("x", 1.7, 400.0, 410.0, 0.34, 0.28, samples=np.tile([1.7, 400.0, 410.0, 0.34, 0.28], (30, 1)))
    path = tmp_path / "law.json"
    path.write_text(json.dumps({"law": law.to_dict()}))
    back = P.Law.load(path)
    assert back == law and np.array_equal(back.samples, law.samples)
    with pytest.raises(ValueError, match="cannot read a law"):
        P.Law.load(tmp_path / "missing.json")


def sampled(law: P.Law, spread: float = 0.05, n: int = 1000, seed: int = 0) -> P.Law:
    """``law`` with ``n`` synthetic bootstrap samples: each parameter scattered by ``spread`` (relative)."""
    rng = np.random.default_rng(seed)
    rows = law.params_array() * (1 + spread * rng.standard_normal((n, 5)))
    return P.Law(law.name, law.E, law.A, law.B, law.alpha, law.beta, samples=rows, fitted_range=law.fitted_range)


def test_vectorised_optimum_is_the_fitters_closed_form():
    from scaling_claims.fit.chinchilla import optimal_allocation

    law = sampled(EPOCH, n=50)
    C = np.array([1e18, 1e21, 1e24])
    for row in law.samples[:5]:
        n, d = P._optimum(row, C, 6.0)
        ref = optimal_allocation(row, C, 6.0)
        assert np.allclose(n, ref[0], rtol=1e-12) and np.allclose(d, ref[1], rtol=1e-12)
    n, d = P._optimum(law.samples, np.full(50, 1e21), 6.0)  # rows at once
    assert np.allclose(n, [P._optimum(r, 1e21, 6.0)[0] for r in law.samples], rtol=1e-12)


def test_absurd_answers_are_errors_not_plans():
    with pytest.raises(ValueError, match="below one parameter"):
        P.allocate(EPOCH, 1.0)  # 0.048 parameters
    with pytest.raises(ValueError, match="irreducible"):
        P.budget_for_loss(EPOCH, EPOCH.E)
    with pytest.raises(ValueError, match="beyond 1e308"):  # slow exponents, a target just above E
        P.budget_for_loss(P.Law("slow", 1.0, 400.0, 410.0, 0.05, 0.05), 1.0 + 1e-6)
    with pytest.raises(ValueError, match="not a meaningful plan"):
        P.budget_for_loss(EPOCH, 1e4)  # reached by a run of less than one parameter
    with pytest.raises(ValueError, match="finite"):
        P.allocate(EPOCH, math.inf)


def test_target_loss_and_inference_aware_answers_carry_intervals():
    law = sampled(EPOCH)
    a = P.allocate(law, CHINCHILLA_C)
    assert a.samples == 1000 and a.N_ci[0] < a.N < a.N_ci[1] and a.loss_ci[0] < a.loss < a.loss_ci[1]
    b = P.budget_for_loss(law, 2.1)
    assert b.target == 2.1 and b.C_ci[0] < b.C < b.C_ci[1] and b.N_ci[0] < b.N < b.N_ci[1] and b.unreachable == 0
    assert b.loss_ci is None  # the target itself
    # a target some samples cannot reach (E above it): the interval's upper end is unbounded
    near = P.budget_for_loss(law, 1.85)
    assert 0.025 < near.unreachable < 1 and math.isinf(near.C_ci[1]) and math.isfinite(near.C_ci[0])
    ia = P.inference_aware(law, a.loss, 1e13, budget=CHINCHILLA_C)
    assert ia.samples == 1000
    assert ia.N_ci[0] < ia.N < ia.N_ci[1] and ia.D_ci[0] < ia.D < ia.D_ci[1]
    assert ia.saving_ci[0] <= ia.saving <= ia.saving_ci[1] and ia.saving_ci[0] >= -1e-9
    assert P.inference_aware(EPOCH, a.loss, 1e13).N_ci is None  # no samples, no interval


def test_vectorised_inference_optimum_matches_a_scalar_minimiser():
    law = sampled(EPOCH, n=30)
    loss = P.allocate(EPOCH, 1e23).loss
    ns, ds = P._inference_optimum(law.samples, loss, 1e12, 6.0)
    for row, n, d in zip(law.samples, ns, ds):
        E, A, B, alpha, beta = row
        if loss <= E:
            assert math.isinf(n)
            continue
        tokens = lambda x: (B / (loss - E - A * math.exp(x) ** -alpha)) ** (1 / beta)  # noqa: E731
        lo = math.log((A / (loss - E)) ** (1 / alpha)) + 1e-9
        res = optimize.minimize_scalar(lambda x: math.log(6 * math.exp(x) * tokens(x) + 2 * math.exp(x) * 1e12),
                                       bounds=(lo, lo + 40), method="bounded", options={"xatol": 1e-10})
        assert n == pytest.approx(math.exp(res.x), rel=1e-4)
        assert float(P._loss(row, n, d)) == pytest.approx(loss, rel=1e-9)


def test_beyond_range_says_how_many_decades():
    out = {e.quantity: e for e in P.beyond_range(EPOCH, C=1.296e25, N=1e9, D=8.187e7, loss=1.9)}
    assert set(out) == {"C", "D", "loss"}  # N lies inside
    assert out["C"].side == "above" and out["C"].decades == pytest.approx(3.0)
    assert out["D"].side == "below" and out["D"].decades == pytest.approx(1.0)
    assert out["loss"].decades is None and out["loss"].reducible_ratio == pytest.approx((1.9 - 1.817) / (2.077 - 1.817))
    assert P.beyond_range(P.Law("bare", 1.7, 400, 410, 0.34, 0.28), C=1e40) == []  # no range recorded
    for name in P.PUBLISHED:  # a published law carries the data range of its paper
        assert set(P.published(name).fitted_range) == {"N", "D", "C", "loss"}


def test_fitted_range_round_trips_and_is_read_from_a_fit_document(tmp_path):
    rng = {"N": [1e3, 1e5], "D": [1e6, 1e8], "C": [1e10, 1e13], "loss": [1.5, 3.0]}
    law = P.Law("r", 1.7, 400.0, 410.0, 0.34, 0.28, fitted_range=rng)
    assert P.Law.from_dict(json.loads(json.dumps(law.to_dict()))) == law
    doc = {"schema": "scaling-claims/fit", "law": P.Law("r", 1.7, 400.0, 410.0, 0.34, 0.28).to_dict(),
           "summary": {"range": rng}, "fit": {}}
    assert P.Law.from_dict(doc).fitted_range == rng  # the runs' range from summary.range
    with pytest.raises(ValueError, match="not a fit"):
        P.Law.from_dict({**doc, "schema": "scaling-claims/plan"})
    for bad in ({"N": [5, 1]}, {"X": [1, 2]}, {"N": [0, 1]}, {"N": "wide"}):
        with pytest.raises(ValueError, match="fitted_range"):
            P.Law("r", 1.7, 400.0, 410.0, 0.34, 0.28, fitted_range=bad)
    for text in ("[1, 2]", '{"a": 1}', "not json", '{"law": {"E": 1, "A": 1, "B": 1, "alpha": 0.3, "beta": "x"}}'):
        (tmp_path / "bad.json").write_text(text)
        with pytest.raises(ValueError):
            P.Law.load(tmp_path / "bad.json")


def test_utilisation_given_default_or_measured(tmp_path):
    h100, m2 = P.device("h100-sxm"), P.device("m2-max")
    assert P.utilisation(h100, 0.5, tmp_path) == P.Utilisation(0.5, "given", None, "given")
    u = P.utilisation(h100, None, tmp_path)  # no benchmark needed: the catalog's stated default
    assert (u.mfu, u.kind) == (0.4, "default") and "Llama 3" in u.source
    assert P.utilisation(m2, None, tmp_path).mfu == 0.3
    with pytest.raises(ValueError, match="no saved throughput benchmark"):
        P.utilisation(None, None, tmp_path)  # a peak by number: only a measurement of this machine applies


def test_design_on_realisable_sizes_keeps_them_distinct():
    cands = [1760.0, 3792.0, 6592.0, 10160.0, 14496.0, 19600.0, 25472.0, 32112.0]
    ladder = P.design_ladder(EPOCH, 1.8e4, 3.0e4, 3600, 1e11, 0.5, n_sizes=3, realisable=cands)
    assert ladder.sizes == [19600.0, 25472.0, 32112.0]  # log-spaced targets snap to distinct sizes
    assert len(ladder.planned) == 3 and all(r.planned is not None for r in ladder.rungs)
    for r in ladder.rungs:
        assert r.D == pytest.approx(r.ratio * P.optimal_tokens(EPOCH, r.N))  # tokens follow the realised N
    small = P.design_ladder(EPOCH, 1e3, 1e5, 3600, 1e11, 0.5, n_sizes=5, realisable=cands[:4])
    assert small.sizes == cands[:4] and any("4 sizes, not 5" in n for n in small.notes)
    with pytest.raises(ValueError, match="holds 2 distinct"):
        P.design_ladder(EPOCH, 1.9e4, 2.6e4, 3600, 1e11, 0.5, realisable=cands)
    roomy = P.design_ladder(EPOCH, 1.7e3, 3.3e4, 600, 1e11, 0.5, n_sizes=3, realisable=cands)
    assert roomy.sizes == [1760.0, 6592.0, 32112.0] and roomy.seconds < 60
    tight = P.design_ladder(EPOCH, 1.7e3, 3.3e4, 10, 1e11, 0.5, n_sizes=3, realisable=cands)
    assert tight.sizes[-1] < 32112 and tight.seconds <= 10 and any("lowered" in n for n in tight.notes)
    with pytest.raises(ValueError, match="even the smallest 3-size ladder"):
        P.design_ladder(EPOCH, 1.7e3, 3.3e4, 1e-6, 1e11, 0.5, realisable=cands)
    sizes, _ = P.pick_sizes(list(range(1, 11)), 1, 10, 10)
    assert sizes == [float(v) for v in range(1, 11)]

def synthetic_runs(tmp_path, noise=0.005, seed=0):
    law = {"E": 1.8, "A": 400.0, "B": 1200.0, "alpha": 0.34, "beta": 0.3}
    rng = np.random.default_rng(seed)
    rows = []
    for C in (1e18, 3e18, 1e19, 3e19):
        for N in np.geomspace(3e7, 3e9, 7):
            D = C / (6 * N)
            loss = (law["E"] + law["A"] * N ** -law["alpha"] + law["B"] * D ** -law["beta"]) * math.exp(rng.normal(0, noise))
            rows.append({"params": N, "flops": C, "eval_loss": loss})
    path = tmp_path / "runs.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path, law


def test_fit_runs_recovers_a_law_with_intervals_and_checks(tmp_path):
    path, truth = synthetic_runs(tmp_path)
    runs, cols = read_runs(path)
    assert cols == {"N": "params", "loss": "eval_loss", "C": "flops"}
    assert np.allclose(6 * runs.N * runs.D, runs.C)
    assert isoflop_groups(runs).nunique() == 4
    res = fit_runs(runs, n_boot=200)
    assert res.fit.params["alpha"] == pytest.approx(truth["alpha"], abs=0.05)
    lo, hi = res.boot.ci["a"]
    assert lo <= truth["beta"] / (truth["alpha"] + truth["beta"]) <= hi
    assert set(res.isoflop) == {"approach1", "approach2"}
    assert res.leave_largest_out.trust == "high" and len(res.rollout.rows) == 5
    a = P.allocate(res.law, 1e20)
    assert a.loss_ci is not None and a.loss_ci[0] <= a.loss <= a.loss_ci[1]
    json.dumps(res.to_dict(), default=lambda v: v.tolist())  # the CLI writes this


def test_fit_runs_options_reach_the_fitter(tmp_path):
    path, _ = synthetic_runs(tmp_path)
    runs, _ = read_runs(path)
    tied = fit_runs(runs, tie_exponents=True, n_boot=50)
    assert tied.fit.params["alpha"] == tied.fit.params["beta"]
    asym = fit_runs(runs, method="asymmetric", asymmetry=5.0, n_boot=50)
    assert asym.fit.info["asymmetry"] == 5.0 and any("flagged" in n for n in asym.notes)


@pytest.mark.parametrize("content, message", [
    ("N,D\n1,2\n", "no column for loss"),
    ("size,tokens,val\n1,2,3\n", "no column for N"),
    ("N,loss\n" + "1,2\n" * 6, "tokens D or compute C"),
    ("N,D,loss\n" + "1e6,1e8,3\n" * 2, "at least 5"),
    ("N,D,loss\n1e6,1e8,3\n2e6,1e8,3\n3e6,0,3\n4e6,1e8,3\n5e6,2e8,3\n", r"column 'D' .*row 3 \(line 4\)"),
    ("N,D,loss\n1e6,1e8,3\n2e6,1e8,x\n3e6,1e8,3\n4e6,1e8,3\n5e6,2e8,3\n", r"column 'loss' .*'x'"),
    ("N,D,loss\n" + "1e6,1e8,3\n" * 5, "more than one model size"),
])
def test_read_runs_names_the_problem(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        read_runs(path)


def test_read_runs_named_columns(tmp_path):
    path, _ = synthetic_runs(tmp_path)
    with pytest.raises(ValueError, match="no column 'nope' for N"):
        read_runs(path, n_col="nope")
    runs, cols = read_runs(path, n_col="params", c_col="flops", loss_col="eval_loss", flops_per_token=3.0)
    assert np.allclose(3 * runs.N * runs.D, runs.C)


def test_fitted_law_round_trips_through_fit_json(tmp_path):
    path, _ = synthetic_runs(tmp_path)
    runs, _ = read_runs(path)
    res = fit_runs(runs, n_boot=50, name="mine")
    (tmp_path / "fit.json").write_text(json.dumps(res.to_dict(), default=lambda v: v.tolist()))
    law = P.Law.load(tmp_path / "fit.json")
    assert law.name == "mine" and law.samples.shape == (res.boot.n, 5)
    n, d = law.optimum(np.array([1e20]))
    direct = fit_chinchilla(runs.N, runs.D, runs.loss)
    assert law.optimal_loss(np.array([1e20]))[0] == pytest.approx(direct.predict(n, d)[0], rel=1e-6)
    assert n[0] == pytest.approx(direct.compute_optimal(np.array([1e20]))[0][0], rel=1e-6)
