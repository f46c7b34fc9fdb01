"""No degenerate fit without a flag (issue 29), for every public fitter outside the Chinchilla
and extrapolation modules:

- a constant response, and exactly as many points as parameters, are flagged with the reason and
  intervals that say "not identified" (each parameter's whole range: not zero width, not NaN),
  so every check on them is inconclusive; fitters that need a degree of freedom refuse n == p
  with a ValueError instead;
- a response outside the form's range is a ValueError naming it, or (a logistic with fixed
  levels and no declared y range) flagged;
- ``level`` outside (0, 1) is a ValueError; complex input is a ValueError naming the argument;
- finite input of any magnitude (1e-300 to 1e300) gives a result whose every interval is honest
  (NaN or zero width only with a flag) or a ValueError: never OverflowError, LinAlgError or a
  RuntimeWarning (property tests, a fixed example budget each).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scaling_claims.verdicts.estimates import Estimate
from scaling_claims.fit import (annealing_areas, fit_annealing_law, fit_coverage_law, fit_critical, fit_data_constrained,
                                fit_gao, fit_isoflop_approach1, fit_isoflop_approach2, fit_learning_curve,
                                fit_linear_mixing, fit_logistic, fit_loss_to_accuracy, fit_mixing_law, fit_power_law,
                                fit_saturating, fit_two_step, data_constrained_loss, forecast_final_loss)

RNG = np.random.default_rng(29)
PAPER_BASE = {"E": 1.87, "A": 521.0, "B": 1488.0, "alpha": 0.353, "beta": 0.353}


def _noise(n: int, sd: float) -> np.ndarray:
    return RNG.normal(0.0, sd, n)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


@dataclass
class Fitter:
    """How to call one public fitter: ``call(arrays, level)``, sound ``arrays`` for it, which of
    them is the response, its number of free parameters, a constant response it accepts, and
    which arrays may be scaled by any power of ten (``scalable``: the form is scale-free in them)."""

    call: Callable[[dict, float], Any]
    arrays: dict[str, np.ndarray]
    response: str
    n_params: int
    constant: float
    scalable: tuple[str, ...] = ()
    bounded: tuple[float, float] | None = None  # the response's declared range
    needs_dof: bool = False  # refuses n == p with a ValueError (it needs a degree of freedom)
    refuses_constant: bool = False  # a constant response is a ValueError (nothing at all to fit)
    trim: Callable[[dict, int], dict] | None = None  # the arrays cut to n points
    extra: dict = field(default_factory=dict)


def _cut(arrays: dict, n: int) -> dict:
    return {k: v[:n] for k, v in arrays.items()}


X8 = np.geomspace(1e3, 1e7, 8)
S10 = np.arange(1, 11) * 50.0
XL = np.geomspace(1.0, 1e4, 12)
K9 = 2.0 ** np.arange(9)
N8 = 2.0 ** np.arange(8)
D10 = np.linspace(0.1, 3.0, 10)
LOSS10 = np.linspace(1.0, 4.0, 10)
SIZE10 = np.geomspace(1e5, 1e8, 10)
_lr = np.concatenate([np.linspace(1e-4, 1e-3, 20), np.linspace(1e-3, 1e-4, 180)])
_S1, _S2 = annealing_areas(_lr)
STEPS12 = np.linspace(10, 200, 12).astype(int)


def _isoflop_grid():
    N, C = [], []
    for c in (1e15, 1e16, 1e17):
        n_opt = 0.1 * c ** 0.5
        for f in (0.25, 0.5, 1.0, 2.0, 4.0):
            N.append(n_opt * f)
            C.append(c)
    N, C = np.array(N), np.array(C)
    D = C / (6 * N)
    L = 1.7 + 400 * N ** -0.34 + 410 * D ** -0.28
    return {"N": N, "D": D, "L": L * np.exp(_noise(len(N), 0.002)), "C": C}


def _mixing():
    r1 = np.linspace(0.0, 1.0, 7)
    R = np.column_stack([r1, 1 - r1])
    return {"R": R, "L": (1.0 + np.exp(0.5 - 1.2 * r1)) * np.exp(_noise(7, 0.003))}


def _data_constrained():
    N = np.repeat(np.geomspace(2e7, 4e8, 4), 3)
    U = np.tile([1e9, 2e9, 4e9], 4)
    D = np.full(12, 8e9)
    L = data_constrained_loss(N, D, U, PAPER_BASE, 15.0, math.inf) * np.exp(_noise(12, 0.002))
    return {"N": N, "D": D, "U": U, "L": L}


def _isoflop_trim(arrays: dict, n: int) -> dict:
    keep = np.isin(arrays["C"], np.unique(arrays["C"])[:n])  # n whole budgets
    return {k: v[keep] for k, v in arrays.items()}


FITTERS: dict[str, Fitter] = {
    "power_law": Fitter(lambda a, lv: fit_power_law(a["x"], a["y"], level=lv),
                        {"x": X8, "y": 2 * X8 ** -0.3 * np.exp(_noise(8, 0.02))}, "y", 2, 0.7, ("x", "y")),
    "power_law+offset": Fitter(lambda a, lv: fit_power_law(a["x"], a["y"], offset=True, level=lv),
                               {"x": X8, "y": (2 * X8 ** -0.3 + 0.05) * np.exp(_noise(8, 0.01))}, "y", 3, 0.7,
                               ("x", "y")),
    "learning_curve": Fitter(lambda a, lv: fit_learning_curve(a["s"], a["L"], level=lv),
                             {"s": S10, "L": (3 * S10 ** -0.5 + 1.5) * np.exp(_noise(10, 0.005))}, "L", 3, 2.0,
                             ("s", "L")),
    "logistic": Fitter(lambda a, lv: fit_logistic(a["x"], a["y"], level=lv),
                       {"x": XL, "y": np.clip(_sigmoid(2 * (np.log(XL) - 4.6)) + _noise(12, 0.03), 0, 1)}, "y", 2,
                       0.5, ("x",), bounded=(0.0, 1.0)),
    "logistic(free levels)": Fitter(lambda a, lv: fit_logistic(a["x"], a["y"], lower=None, upper=None, level=lv),
                                    {"x": XL, "y": np.clip(0.1 + 0.8 * _sigmoid(2 * (np.log(XL) - 4.6))
                                                           + _noise(12, 0.02), 0, 1)}, "y", 4, 0.5, ("x",),
                                    bounded=(0.0, 1.0)),
    "coverage_law": Fitter(lambda a, lv: fit_coverage_law(a["k"], a["coverage"], level=lv),
                           {"k": K9, "coverage": np.clip(np.exp(-2 * K9 ** -0.5) * np.exp(_noise(9, 0.005)), 0.01, 1)},
                           "coverage", 2, 0.4, ("k",), bounded=(0.0, 1.0)),
    "saturating": Fitter(lambda a, lv: fit_saturating(a["n"], a["P"], level=lv),
                         {"n": N8, "P": np.clip(0.9 - 0.6 * N8 ** -0.7 + _noise(8, 0.01), 0, 1)}, "P", 3, 0.4,
                         ("n",), bounded=(0.0, 1.0)),
    "saturating(p_inf)": Fitter(lambda a, lv: fit_saturating(a["n"], a["P"], level=lv, p_inf=1.0),
                                {"n": N8, "P": np.clip(1 - 0.6 * N8 ** -0.7 + _noise(8, 0.01), 0, 1)}, "P", 2, 0.4,
                                ("n",), bounded=(0.0, 1.0)),
    "gao": Fitter(lambda a, lv: fit_gao(a["d"], a["gold"], level=lv),
                  {"d": D10, "gold": D10 * (1 - 0.3 * D10) + _noise(10, 0.02)}, "gold", 2, 0.3, ("d", "gold")),
    "loss_to_accuracy": Fitter(lambda a, lv: fit_loss_to_accuracy(a["loss"], a["accuracy"], level=lv),
                               {"loss": LOSS10, "accuracy": np.clip(_sigmoid(-3 * (LOSS10 - 2.5)) + _noise(10, 0.02),
                                                                    0, 1)},
                               "accuracy", 2, 0.3, ("loss",), bounded=(0.0, 1.0), needs_dof=True),
    "two_step": Fitter(lambda a, lv: fit_two_step(a["size"], a["loss"], a["accuracy"], level=lv).step2,
                       {"size": SIZE10, "loss": 40 * SIZE10 ** -0.2 * np.exp(_noise(10, 0.01)),
                        "accuracy": np.clip(_sigmoid(-3 * (40 * SIZE10 ** -0.2 - 1.6)) + _noise(10, 0.02), 0, 1)},
                       "accuracy", 2, 0.3, ("size",), bounded=(0.0, 1.0), needs_dof=True),
    "critical": Fitter(lambda a, lv: fit_critical(a["size"], a["perf"], level=lv),
                       {"size": SIZE10, "perf": np.clip(np.minimum(1, 0.3 * np.maximum(SIZE10 / 1e6 - 1, 0) ** 0.5)
                                                        + _noise(10, 0.01), 0, 1)},
                       "perf", 3, 0.5, ("size",), bounded=(0.0, 1.0), needs_dof=True),
    "annealing_law": Fitter(lambda a, lv: fit_annealing_law(a["S1"], a["S2"], a["L"], level=lv),
                            {"S1": _S1[STEPS12 - 1], "S2": _S2[STEPS12 - 1],
                             "L": (2.0 + 0.5 * _S1[STEPS12 - 1] ** -0.4 - 0.3 * _S2[STEPS12 - 1])
                             * np.exp(_noise(12, 0.002))}, "L", 4, 2.5, ("L",), needs_dof=True),
    "forecast(power)": Fitter(lambda a, lv: forecast_final_loss(a["steps"], a["losses"], 400, level=lv).fit,
                              {"steps": STEPS12.astype(float), "losses": (3 * STEPS12 ** -0.5 + 1.5)
                               * np.exp(_noise(12, 0.005))}, "losses", 3, 2.0, ("losses",), needs_dof=True),
    "isoflop_approach1": Fitter(lambda a, lv: fit_isoflop_approach1(a["N"], a["D"], a["L"], a["C"], level=lv),
                                _isoflop_grid(), "L", 2, 3.0, ("L",), trim=_isoflop_trim),
    "isoflop_approach2": Fitter(lambda a, lv: fit_isoflop_approach2(a["N"], a["D"], a["L"], a["C"], level=lv),
                                _isoflop_grid(), "L", 2, 3.0, ("L",), trim=_isoflop_trim, refuses_constant=True),
    "mixing_law": Fitter(lambda a, lv: fit_mixing_law(a["R"], a["L"], level=lv), _mixing(), "L", 3, 2.0, ("L",),
                         needs_dof=True),
    "linear_mixing": Fitter(lambda a, lv: fit_linear_mixing(a["R"], a["L"], level=lv), _mixing(), "L", 2, 2.0,
                            ("L",), needs_dof=True),
    "data_constrained": Fitter(lambda a, lv: fit_data_constrained(a["N"], a["D"], a["U"], a["L"], base=PAPER_BASE,
                                                                  rn_star=math.inf, n_boot=0, level=lv),
                               _data_constrained(), "L", 1, 3.0, ("L",), needs_dof=True),
}
NAMES = list(FITTERS)


def flagged(fit, name: str) -> bool:
    return name in fit.flags or "*" in fit.flags


def assert_honest(fit, response: np.ndarray | None = None) -> None:
    """Every interval is an interval (lo <= hi), and NaN or zero width only with a flag (or, for zero
    width, exact data: residuals that vanish); every parameter finite or flagged. Parameters held
    fixed (``fit.fixed``, the data-constrained law's given base) have no interval, by declaration."""
    fixed = set(getattr(fit, "fixed", ()) or ())
    scale = float(np.max(np.abs(fit.residuals))) if np.size(fit.residuals) else 0.0
    exact = scale <= 1e-12 * max(1.0, float(np.max(np.abs(response))) if response is not None else 1.0)
    for name, (lo, hi) in fit.ci.items():
        if name in fixed:
            continue
        if math.isnan(lo) or math.isnan(hi):
            assert flagged(fit, name), f"{fit.kind}: {name} has a NaN interval {lo, hi} and no flag ({fit.flags})"
            continue
        assert lo <= hi, f"{fit.kind}: {name} interval reversed {lo, hi}"
        if lo == hi:
            assert flagged(fit, name) or exact, f"{fit.kind}: {name} zero-width interval {lo} without a flag"
    for name, v in fit.params.items():
        if not math.isfinite(v) and name in fit.ci and name not in fixed:
            assert flagged(fit, name), f"{fit.kind}: {name} = {v} without a flag"


def assert_not_identified(fit, why: str) -> None:
    """Flagged as a whole with ``why``; every interval the parameter's whole range (recorded in
    ``info["not_identified"]``; infinite, or the bounds the parameter is kept in), never NaN or
    zero width; every check on any parameter inconclusive."""
    assert why in fit.flags.get("*", ""), fit.flags
    assert not fit.ok
    ranges = fit.info["not_identified"]
    for name, (lo, hi) in fit.ci.items():
        assert not math.isnan(lo) and not math.isnan(hi) and lo < hi, (name, lo, hi)
        assert [lo, hi] == ranges[name] and math.isinf(fit.se[name]), (name, lo, hi, ranges)
        assert Estimate.from_fit(fit, name).problem  # any check on it is inconclusive


def test_the_registry_fits_soundly():
    """The registry's arrays are sound data: every fitter fits them with no degenerate flag (so
    the flags below come from the degeneracy, not from bad base data)."""
    for name, f in FITTERS.items():
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            fit = f.call(f.arrays, 0.95)
        assert "not identified" not in fit.flags.get("*", ""), (name, fit.flags)
        assert_honest(fit)


@pytest.mark.parametrize("name", NAMES)
def test_a_constant_response_is_flagged_not_identified(name):
    f = FITTERS[name]
    arrays = dict(f.arrays, **{f.response: np.full(len(f.arrays[f.response]), f.constant)})
    if name == "two_step":  # the response of step 2 is the accuracy; the loss stays a power law
        arrays["accuracy"] = np.full(len(arrays["accuracy"]), f.constant)
    if f.refuses_constant:  # no vertex, no fit at all: refused, saying so
        with pytest.raises(ValueError, match=f"{f.response} is constant"):
            f.call(arrays, 0.95)
        return
    assert_not_identified(f.call(arrays, 0.95), "constant")


@pytest.mark.parametrize("name", NAMES)
def test_as_many_points_as_parameters(name):
    """Flagged with intervals over each parameter's whole range (they were NaN and unflagged), or,
    for a fitter that needs a degree of freedom, a ValueError saying how many points it needs."""
    f = FITTERS[name]
    arrays = (f.trim or _cut)(f.arrays, f.n_params)
    if f.needs_dof:
        with pytest.raises(ValueError, match="needs at least|but only"):
            f.call(arrays, 0.95)
        return
    fit = f.call(arrays, 0.95)
    assert_not_identified(fit, f"points for {f.n_params} parameters")


@pytest.mark.parametrize("name", [n for n, f in FITTERS.items() if f.bounded])
def test_a_response_outside_its_declared_range_is_a_value_error_naming_it(name):
    f = FITTERS[name]
    bad = f.arrays[f.response].copy()
    bad[1] = f.bounded[1] + 0.5
    with pytest.raises(ValueError, match=f.response):
        f.call(dict(f.arrays, **{f.response: bad}), 0.95)


def test_a_logistic_response_outside_its_fixed_levels_is_flagged():
    """With the levels fixed at 0 and 1 and no declared y range, y = 1.5 is outside what any
    logistic reaches: flagged as a whole, intervals not identified (it was fitted silently)."""
    x = XL
    y = np.clip(_sigmoid(2 * (np.log(x) - 4.6)), 0, 1) * 1.5
    fit = fit_logistic(x, y, y_range=None)
    assert_not_identified(fit, "outside the form's range [0, 1]")
    free = fit_logistic(x, y, lower=None, upper=None, y_range=None)  # free levels reach it: not flagged for it
    assert "outside the form's range" not in free.flags.get("*", "")


@pytest.mark.parametrize("level", [0.0, 1.0, 1.5, -0.1, math.nan, math.inf, True, "0.95", 0.95 + 0j])
@pytest.mark.parametrize("name", NAMES)
def test_a_level_outside_0_1_is_a_value_error(name, level):
    f = FITTERS[name]
    with pytest.raises(ValueError, match="level"):
        f.call(f.arrays, level)


@pytest.mark.parametrize("name", NAMES)
def test_complex_input_is_a_value_error_naming_the_argument(name):
    f = FITTERS[name]
    for arg, value in f.arrays.items():
        for as_complex in (np.asarray(value) + 0j, np.asarray(value).astype(complex).tolist()):
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # no ComplexWarning: a ValueError before any conversion
                with pytest.raises(ValueError, match="real|complex") as err:
                    f.call(dict(f.arrays, **{arg: as_complex}), 0.95)
            named = "proportions" if arg == "R" else arg
            assert named in str(err.value), (arg, str(err.value))


# ----------------------------------------------------------------------------- any magnitude
# Hypothesis draws a power of ten for each scale-free array (1e-300 .. 1e300) and a perturbation
# of the response; the fitter must return an honest result or raise ValueError. A fixed example
# budget per fitter keeps the whole file well under 30 s on 2 cores.
EXAMPLES = 12


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_finite_magnitude_gives_an_honest_fit_or_a_value_error(name, data):
    f = FITTERS[name]
    arrays = {k: np.array(v, dtype=float) for k, v in f.arrays.items()}
    for arg in f.scalable:
        arrays[arg] = arrays[arg] * 10.0 ** data.draw(st.integers(-300, 300), label=f"log10 scale of {arg}")
    jitter = np.array(data.draw(st.lists(st.floats(-0.3, 0.3), min_size=len(arrays[f.response]),
                                         max_size=len(arrays[f.response])), label="response jitter"))
    if f.bounded:
        arrays[f.response] = np.clip(arrays[f.response] + jitter, *f.bounded)
    else:
        arrays[f.response] = arrays[f.response] * np.exp(jitter)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # an overflow inside is a bug, not noise
        try:
            fit = f.call(arrays, 0.95)
        except ValueError:
            return  # refusing input it cannot fit in float64 is allowed, with a message
    assert_honest(fit, arrays[f.response])


def test_gao_at_huge_d_is_solved_or_refused_quietly(capfd):
    """The issue's case: d ~ 1e300 failed inside LAPACK with stderr noise. Now the fit is solved
    on d and gold divided by their largest values: at d ~ 1e154 (d**2 past float range, which
    broke the old fit) with gold ~ 1e10 it gives the fit at d ~ 1 rescaled; at d ~ 1e300 beta ~
    1e-601 is below float range, a ValueError naming d; no output on the C streams either way."""
    d = np.linspace(0.1, 3.0, 10)
    gold = d * (1 - 0.3 * d) + _noise(10, 0.02)
    small = fit_gao(d, gold)
    big = fit_gao(d * 1e154, gold * 1e10)
    with pytest.raises(ValueError, match="d spans"):
        fit_gao(d * 1e300, gold)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    # alpha scales as gold/d, beta as gold/d**2, the peak as d; rel 1e-9: the same least squares
    # on the same scaled numbers, differing in rounding only
    assert big.params["peak_d"] == pytest.approx(small.params["peak_d"] * 1e154, rel=1e-9)
    assert big.alpha * 1e154 / 1e10 == pytest.approx(small.alpha, rel=1e-9)
    assert big.beta * 1e154 * 1e154 / 1e10 == pytest.approx(small.beta, rel=1e-9)


def test_logistic_midpoint_near_the_top_of_float_range_is_finite():
    """ln x up to 709.78 is a finite x: a midpoint near 1e305 (ln 702) stays finite (it was inf
    once ln x >= 700)."""
    x = np.geomspace(1e302, 1e308, 12)
    y = np.clip(_sigmoid(2 * (np.log(x) - np.log(1e305))) + _noise(12, 0.02), 0, 1)
    fit = fit_logistic(x, y)
    assert math.isfinite(fit.midpoint) and 1e302 < fit.midpoint < 1e308
    assert_honest(fit)
