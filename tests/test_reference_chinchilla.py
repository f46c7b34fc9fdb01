"""Reproduce Epoch AI's replication of Chinchilla Approach 3 (Besiroglu et al. 2024) on the
240 points they extracted from Hoffmann et al.'s Figure 4 (the 5 highest-loss points dropped,
as Epoch did; D = C / (6 N)).

Epoch's published fit: E=1.817 (SE 0.026), A=482.0 (124.5), B=2085.4 (1293.3),
alpha=0.3478 (0.0154), beta=0.3659 (0.0206); a = beta/(alpha+beta) = 0.513; their parameters
give 18.3 tokens per parameter at 5.76e23 FLOPs. Skips only where the shared data is absent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from scaling_claims.fit import fit_chinchilla
from scaling_claims.fit.chinchilla import _compute_optimal, _huber_objective

EPOCH = {"E": (1.817, 0.026), "A": (482.0, 124.5), "B": (2085.4, 1293.3), "alpha": (0.3478, 0.0154),
         "beta": (0.3659, 0.0206)}
EPOCH_CI95 = {"E": (1.769, 1.871), "A": (285, 744), "B": (1042, 5810), "alpha": (0.317, 0.373),
              "beta": (0.331, 0.415)}
HOFFMANN = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
GOPHER_BUDGET = 5.76e23


@pytest.fixture(scope="module")
def epoch_points(shared_data):
    path = shared_data / "chinchilla_epoch_svg_extracted.csv"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    df = pd.read_csv(path).sort_values("loss").iloc[:-5]  # Epoch drops the 5 highest losses
    N = df["Model Size"].to_numpy(float)
    C = df["Training FLOP"].to_numpy(float)
    return N, C / (6 * N), df["loss"].to_numpy(float)


@pytest.fixture(scope="module")
def huber_fit(epoch_points):
    return fit_chinchilla(*epoch_points, method="huber")


def _log_theta(p):
    return np.array([np.log(p["E"]), np.log(p["A"]), np.log(p["B"]), p["alpha"], p["beta"]])


def test_point_count(epoch_points):
    assert len(epoch_points[0]) == 240


def test_parameters_within_epochs_standard_errors(huber_fit):
    for name, (value, se) in EPOCH.items():
        assert abs(huber_fit.params[name] - value) <= se, f"{name}={huber_fit.params[name]:.4g} vs {value}±{se}"


def test_compute_optimal_exponent(huber_fit):
    # a = beta/(alpha+beta) = 0.513 for Epoch; +-0.02 is the tolerance (about 1 bootstrap SE of a)
    assert huber_fit.a == pytest.approx(0.513, abs=0.02)


def test_tokens_per_parameter_at_gopher_budget(huber_fit):
    # Our closed form applied to Epoch's own rounded parameters gives their 18.3 ...
    n, d = _compute_optimal(_log_theta({k: v for k, (v, _) in EPOCH.items()}), np.array([GOPHER_BUDGET]), 6.0)
    assert d[0] / n[0] == pytest.approx(18.3, abs=0.05)
    # ... and our fit is the same optimum (see test_lands_on_the_grid_optimum), so it must agree
    # closely: 5% allows for Epoch's rounding of A and B to 4-5 digits and its optimiser's
    # stopping point; the statistical uncertainty (bootstrap SE ~7 tokens/param) is far wider.
    assert huber_fit.tokens_per_param(GOPHER_BUDGET)[0] == pytest.approx(18.3, rel=0.05)


def test_bootstrap_standard_errors_within_factor_two(huber_fit):
    boot = huber_fit.bootstrap(n=1000, seed=0, budgets=[GOPHER_BUDGET])
    assert boot.n == 1000
    for name, (_, se) in EPOCH.items():
        assert se / 2 <= boot.se[name] <= 2 * se, f"{name}: bootstrap SE {boot.se[name]:.4g} vs Epoch's {se}"
    lo, hi = boot.ci["a"]
    assert lo < 0.513 < hi


def test_lands_on_the_grid_optimum(epoch_points, huber_fit):
    """The paper's recipe (L-BFGS from every point of Epoch's 4,500-point grid) on a spread
    subsample of 45 starts: none finds a lower objective than our single refined start."""
    N, D, L = epoch_points
    lN, lD, lL = np.log(N), np.log(D), np.log(L)
    starts = [(e, a, b, al, be) for al in np.arange(0, 2.01, 0.5) for be in np.arange(0, 2.01, 0.5)
              for e in np.arange(-1, 1.01, 0.5) for a in np.arange(0, 25.1, 5) for b in np.arange(0, 25.1, 5)]
    assert len(starts) == 4500
    best = None
    for s in starts[::100]:
        r = optimize.minimize(_huber_objective, np.array(s, float), args=(lN, lD, lL, 1e-3), jac=True,
                              method="L-BFGS-B")
        if best is None or r.fun < best.fun:
            best = r
    ours = huber_fit.info["objective"]
    assert ours <= best.fun + 1e-12
    # and the grid's best start sits on the same optimum
    assert np.exp(best.x[0]) == pytest.approx(huber_fit.E, rel=1e-3)
    assert best.x[3] == pytest.approx(huber_fit.alpha, rel=1e-3)
    assert best.x[4] == pytest.approx(huber_fit.beta, rel=1e-3)


def test_hoffmanns_reported_parameters_do_not_fit_their_data(epoch_points, huber_fit):
    """Negative control (Epoch's finding): Hoffmann et al.'s published E, A, B, alpha, beta give a
    Huber objective several times worse than the optimum on the same points."""
    N, D, L = epoch_points
    theirs, _ = _huber_objective(_log_theta(HOFFMANN), np.log(N), np.log(D), np.log(L), 1e-3)
    assert theirs > 2 * huber_fit.info["objective"]


def test_varpro_lands_inside_epochs_confidence_intervals(epoch_points):
    """The squared-error fit is a different estimator: not within 1 SE of Epoch's Huber
    numbers, but inside their 95% bootstrap intervals."""
    res = fit_chinchilla(*epoch_points, method="varpro")
    for name, (lo, hi) in EPOCH_CI95.items():
        assert lo <= res.params[name] <= hi, name
