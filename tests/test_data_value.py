"""``scaling_claims.studies.data_value``: the effective-data inversion, the repeated and corrupted worths,
the per-seed R_D* fit and the paper's repetition penalties, with known answers and ValueErrors;
and negative controls for the data claims' logic (claims/test_data_repetition.py,
claims/test_data_quality.py): synthetic per-seed losses that violate each claim, fed through the
same functions and checks the claims use, must refute it (docs/sources.md, 'Verdict rules': every
assertion can fail).

Synthetic truth: a clean curve L(D) = 1.5 + 200 D^-0.5 at the quick plan's D/8..D, repeated runs
from the data-constrained law with a known R_D* (``fit.data_constrained.effective_data``), seeds
as small independent noise.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from scaling_claims.studies import data_value as dv
from scaling_claims.verdicts import checks
from scaling_claims.verdicts.checks import CONFIRMED, INCONCLUSIVE, REFUTED
from scaling_claims.fit.data_constrained import effective_data as law_effective_data
from scaling_claims.fit.data_constrained import repeated_token_value

PLAN = dv.data_plan("quick")
D = float(PLAN.tokens)
DS = PLAN.clean_tokens
EPOCHS = np.array([4.0, 16.0, 64.0])
U = D / EPOCHS


def law(d):
    return 1.5 + 200.0 * np.asarray(d, float) ** -0.5


def seeds(y, sd=0.002, n=3, seed=0):
    """(len(y), n) losses: y plus independent noise per seed."""
    rng = np.random.default_rng(seed)
    y = np.atleast_1d(np.asarray(y, float))
    return y[:, None] + rng.normal(0, sd, (y.size, n))


def clean(sd=0.002, n=3):
    return seeds(law(DS), sd, n)


# ----------------------------------------------------------------------------- the inversion

def test_effective_data_returns_each_clean_point_and_interpolates_in_log_d():
    L = law(DS)
    for d, y in zip(DS, L):
        inv = dv.effective_data(DS, L, y)
        assert inv.tokens == pytest.approx(d, rel=1e-12) and not inv.extrapolated
    mid = 0.5 * (L[1] + L[2])
    assert dv.effective_data(DS, L, mid).tokens == pytest.approx(math.sqrt(DS[1] * DS[2]), rel=1e-12)
    # order of the points does not matter
    assert dv.effective_data(DS[::-1], L[::-1], mid).tokens == pytest.approx(math.sqrt(DS[1] * DS[2]), rel=1e-12)


def test_effective_data_extrapolates_along_the_end_segments_and_says_so():
    L = law(DS)
    below = dv.effective_data(DS, L, L[-1] - 0.5 * (L[-2] - L[-1]))
    above = dv.effective_data(DS, L, L[0] + (L[0] - L[1]))
    assert below.extrapolated and below.tokens == pytest.approx(DS[-1] * math.sqrt(2), rel=1e-9)
    assert above.extrapolated and above.tokens == pytest.approx(DS[0] / 2, rel=1e-9)


@pytest.mark.parametrize("D_, L_, loss, match", [
    ([1e4], [3.0], 3.0, ">= 2 points"),
    ([1e4, 2e4], [3.0], 3.0, "one length"),
    ([1e4, 2e4], [3.0, 3.1], 3.0, "fall strictly"),
    ([1e4, 2e4], [3.0, 3.0], 3.0, "fall strictly"),
    ([1e4, 1e4], [3.0, 2.9], 3.0, "distinct"),
    ([1e4, 2e4], [3.0, np.nan], 3.0, "finite"),
    ([0.0, 2e4], [3.0, 2.9], 3.0, "finite"),
    ([1e4, 2e4], [3.0, 2.9], math.nan, "finite"),
])
def test_effective_data_rejects_curves_it_cannot_invert(D_, L_, loss, match):
    with pytest.raises(ValueError, match=match):
        dv.effective_data(D_, L_, loss)


def test_repeated_value_and_corrupted_worth_known_answers():
    assert dv.repeated_value(D, D, D / 4) == 1.0  # repeats as good as new data
    assert dv.repeated_value(D / 4, D, D / 4) == 0.0  # repeats added nothing to one pass
    assert dv.repeated_value(D / 8, D, D / 4) < 0  # they did harm
    assert dv.corrupted_worth(0.75 * D, D, 0.25) == pytest.approx(1.0)  # corrupted files simply lost
    assert dv.corrupted_worth(D, D, 0.5) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="D > U"):
        dv.repeated_value(D, D, D)
    with pytest.raises(ValueError, match="q < 1"):
        dv.corrupted_worth(D, D, 1.0)


@pytest.mark.parametrize("rd_star", [0.5, 2.9157, 15.4, 95.0])
@pytest.mark.parametrize("epochs", [2.0, 4.0, 16.0, 64.0])
def test_implied_rd_star_inverts_the_average_value(rd_star, epochs):
    value = float(repeated_token_value(epochs, rd_star, kind="average")[0])
    if value > 1 - 1e-9:
        pytest.skip("no decay within float precision")
    assert dv.implied_rd_star(value, epochs) == pytest.approx(rd_star, rel=1e-6)
    assert dv.implied_rd_star(1.0, epochs) == math.inf
    with pytest.raises(ValueError):
        dv.implied_rd_star(0.0, epochs)
    with pytest.raises(ValueError):
        dv.implied_rd_star(0.5, 1.0)


# ----------------------------------------------------------------------------- plans and specs

def test_plans_share_the_clean_runs_and_build_the_specs_they_name():
    for plan in (dv.data_plan("quick"), dv.data_plan("slow"), dv.repetition_plan("slow")):
        assert plan.clean_tokens[-1] == plan.tokens
        assert plan.law_mask.sum() == 4  # D/8..D
        specs = plan.clean_specs()
        assert len(specs) == len(plan.clean_divisors) * len(plan.seeds)
        assert all(dict(s.data.options).get("train_bytes") is None for s in specs)
        rep = plan.repeated_specs()
        assert sorted({dict(s.data.options)["train_bytes"] for s in rep}) == sorted(map(plan.unique_bytes, plan.epochs))
        bad = plan.corrupted_specs("shuffle")
        assert {dict(s.data.options)["corruption"] for s in bad} == ({"shuffle"} if plan.corrupt_fracs else set())
    assert dv.repetition_plan("quick") == dv.data_plan("quick")  # one quick plan: the clean runs are shared
    # the quality claims' q = 0 run and the repetition claims' unique run are the clean run at D
    plan = dv.data_plan("quick")
    assert dv.domain_run(plan.tokens, plan.seeds[-1]).key() == plan.clean_specs()[-1].key()
    with pytest.raises(ValueError):
        dv.data_plan("medium")
    with pytest.raises(ValueError):
        dv.repetition_plan("medium")
    with pytest.raises(ValueError, match="tokens"):
        dv.domain_run(10, 0)


# ----------------------------------------------------------------------------- the paper's runs

def test_paper_penalties_at_up_to_four_epochs(shared_data):
    runs = pd.read_csv(shared_data / "datablations_contour_losses_colpret.csv")
    p = dv.paper_repetition_penalties(runs)
    assert len(p) == 18 and p.epochs.between(1.0, 4.0, inclusive="right").all()
    assert p.penalty.abs().max() == pytest.approx(0.013219, abs=1e-6)  # 2.16B parameters, 46B tokens, 3.83 epochs
    assert p.penalty.median() == pytest.approx(0.0042, abs=1e-4)
    with pytest.raises(ValueError, match="columns"):
        dv.paper_repetition_penalties(runs.drop(columns=["epochs"]))


def test_paper_penalties_pair_runs_of_the_same_n_and_d():
    runs = pd.DataFrame({"num_params": [1, 1, 1, 2], "token_num": [10, 10, 10, 10], "epochs": [1, 2, 8, 3],
                         "openLM_loss": [2.0, 2.2, 3.0, 9.0]})
    p = dv.paper_repetition_penalties(runs)  # N = 2 has no single-epoch run; 8 epochs is out of range
    assert p.penalty.tolist() == pytest.approx([0.1])


# ----------------------------------------------------------------------------- R_D* on synthetic runs

def repeated(rd_star, sd=0.002):
    d_eff = law_effective_data(D, U, rd_star)
    return seeds(law(d_eff), sd, seed=1)


@pytest.mark.parametrize("rd_star", [3.0, 10.0])
def test_fit_rd_star_recovers_a_known_decay_constant(rd_star):
    fit = dv.fit_rd_star(DS, clean(sd=1e-4), D, U, repeated(rd_star, sd=1e-4), 25_472)
    assert fit.estimate.usable
    assert fit.estimate.lo <= rd_star * 1.1 and fit.estimate.hi >= rd_star / 1.1
    assert np.all(np.abs(np.log(fit.per_seed / rd_star)) < 0.1)


def test_fit_rd_star_checks_shapes():
    with pytest.raises(ValueError, match="L_repeated"):
        dv.fit_rd_star(DS, clean(), D, U, repeated(5.0)[:2], 25_472)
    with pytest.raises(ValueError, match="clean losses"):
        dv.fit_rd_star(DS, clean()[:2], D, U, repeated(5.0), 25_472)


# ----------------------------------------------------------------------------- negative controls

def test_four_epoch_claim_refutes_a_clear_penalty():
    unique = clean()[-1]
    band = 0.0132
    def check(repeated):
        return checks.all_within("penalty", [dv.relative_penalty(repeated, unique)], -band, band)

    near = check(unique * 1.002 + 1e-4 * np.arange(3))
    far = check(unique * 1.05 + 1e-3 * np.arange(3))  # a 5% penalty on every seed
    noisy = check(unique * np.array([0.99, 1.03, 1.0]))
    assert (near.verdict, far.verdict, noisy.verdict) == (CONFIRMED, REFUTED, INCONCLUSIVE)


def test_many_epoch_claim_refutes_repeats_as_good_as_new_data():
    c = clean()
    decays = dv.repeated_value_estimate(DS, c, repeated(5.0)[-1], D, U[-1])  # R_D* = 5 at 64 epochs: ~0.08
    as_new = dv.repeated_value_estimate(DS, c, seeds(law(D), seed=2)[0], D, U[-1])  # no decay at all: ~1
    assert checks.at_most("value", decays, 0.5).verdict == CONFIRMED
    assert checks.at_most("value", as_new, 0.5).verdict == REFUTED


def test_rd_star_claim_refutes_a_fast_decay_and_cannot_confirm_no_decay():
    band = (2.9157, 15.3878)
    fast = dv.fit_rd_star(DS, clean(), D, U, repeated(0.5), 25_472)
    assert checks.within_band("R_D*", fast.estimate, *band).verdict == REFUTED
    # repeats as good as new: R_D* runs to the top of its search range, the interval is flagged unusable
    none = dv.fit_rd_star(DS, clean(), D, U, seeds(np.full(U.size, law(D)), seed=3), 25_472)
    assert not none.estimate.usable
    assert checks.within_band("R_D*", none.estimate, *band).verdict == INCONCLUSIVE


def test_worth_claims_refute_the_opposite_kind_of_corruption():
    c = clean()
    q = 0.5
    harmless = seeds(law(D), seed=4)[0]  # as good as clean data: worth 1 / (1 - q) = 2
    harmful = seeds(law(0.25 * D), seed=5)[0]  # worth 0.5
    lost = seeds(law((1 - q) * D), sd=0.01, seed=6)[0]  # the corrupted files simply lost: worth ~1
    w_harmless, w_harmful, w_lost = (dv.corrupted_worth_estimate(DS, c, x, D, q) for x in (harmless, harmful, lost))
    assert w_harmless.value == pytest.approx(2.0, rel=0.05) and w_harmful.value == pytest.approx(0.5, rel=0.05)
    # random-corruption claim (worth >= 1), shuffle claim (worth <= 1)
    assert [checks.at_least("w", w, 1.0).verdict for w in (w_harmless, w_harmful, w_lost)] == [CONFIRMED, REFUTED,
                                                                                               INCONCLUSIVE]
    assert [checks.at_most("w", w, 1.0).verdict for w in (w_harmless, w_harmful, w_lost)] == [REFUTED, CONFIRMED,
                                                                                              INCONCLUSIVE]


def test_monotone_degradation_refutes_a_curve_that_improves_and_not_a_flat_one():
    base = clean()[-1]
    rising = dv.paired_steps([base, base + 0.02 + 0.002 * np.arange(3), base + 0.06 + 0.003 * np.arange(3)])
    falling = dv.paired_steps([base, base - 0.02 - 0.002 * np.arange(3), base + 0.01 * np.arange(3)])
    flat = dv.paired_steps([base, base + np.array([0.01, -0.01, 0.0]), base + np.array([-0.005, 0.01, 0.0])])
    verdicts = [checks.monotone("q", s, "increasing").verdict for s in (rising, falling, flat)]
    assert verdicts == [CONFIRMED, REFUTED, INCONCLUSIVE]
    with pytest.raises(ValueError):
        dv.paired_steps([base])
