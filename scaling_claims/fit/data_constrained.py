"""The data-constrained scaling law of Muennighoff et al. 2023 ("Scaling Data-Constrained Language
Models", NeurIPS; arXiv:2305.16264, Appendix A), its two-stage fit and the value of repeated tokens.

The law replaces N and D of the Chinchilla law by effective quantities::

    L(N, D, U) = E + A / N'**alpha + B / D'**beta
    D' = U_D + U_D R_D* (1 - exp(-R_D / R_D*)),  U_D = min(U, D),  R_D = D / U_D - 1
    N' = U_N + U_N R_N* (1 - exp(-R_N / R_N*)),  U_N = min(N, N_opt(U_D)),  R_N = N / U_N - 1

U is the number of unique tokens available (the paper's U_D is the number *used*, min(U, D));
R_D counts repetitions beyond the first epoch; N_opt(U_D) = G (G U_D)**(beta/alpha) with
G = (alpha A / (beta B))**(1/(alpha+beta)) is the compute-optimal model size of the base law for
D_opt = U_D (independent of the FLOPs-per-token factor), so R_N counts "repeated" parameters
beyond the compute-optimal size. R* = inf switches a decay off (D' = D, N' = N): the law is then
the Chinchilla law. D' plateaus at U_D (1 + R_D*): repeating never yields more than R_D* + 1 epochs'
worth of unique data.

The paper's fitting procedure, and ours:

1. **Base law.** (E, A, B, alpha, beta) of the Chinchilla form, fitted with Hoffmann et al.'s
   objective (Huber, delta = 1e-3, on log loss) with alpha = beta tied. *The paper did not fit it
   on its own runs*: it used 54 points of Hoffmann et al.'s C4 IsoFLOP curves (its Appendix
   "C4 Scaling Coefficients": a = 6.255414, b = 7.3049974, e = 0.6254804, alpha = beta =
   0.3526596, i.e. E = 1.87, A = 521, B = 1488). Pass such a law as ``base=``; with
   ``base=None`` we fit it here on the single-epoch runs (D <= U) with :func:`fit_chinchilla`
   (Huber, ``tie_exponents`` as given, default tied as in the paper).
2. **Decay constants.** With the base fixed, (R_D*, R_N*) minimise the same Huber objective over
   all runs (runs without repetition or excess parameters contribute a constant). The paper ran
   L-BFGS from the starts R* in {0, 4, ..., 20}^2 and kept the best. We evaluate the objective on
   a log grid (``R_STAR_GRID``: 31 points per axis over 1e-2..1e4, all cells in one batch),
   descend by BFGS (exact objective, analytic gradient, on log R* clamped to ``R_STAR_BOUNDS``)
   from the grid's lowest local minima (at most ``_MAX_STARTS``), polish the best end point with
   trust-region least squares under SciPy's Huber loss (``f_scale=delta``: exactly this
   objective) and BFGS again, and keep the lowest point. ``starts=`` replaces the grid.

**The objective is not convex in (R_D*, R_N*) and is nearly flat along a valley, so the published
optimum is a local one** (tests/test_fit_data_constrained.py; docs/fitting.md). On the paper's
182 runs, L-BFGS from the paper's starts reaches R_D* = 15.37, R_N* = 5.32 (published 15.387756,
5.309743, the same optimum up to float32), but the same objective is 0.13% lower at R_D* = 95.4,
R_N* = 1.71, and within 1% of its minimum for any R_D* from 8 to 1000 (R_N* adjusting). A 95%
bootstrap interval of R_D* on those runs is [4.7, inf): 14% of resamples find no measurable decay.
The shallow local minima (the Huber loss at delta = 1e-3 is nearly L1) also move the optimum by a
few percent between optimisers; ``info["local_optima"]`` lists the ones found.

Intervals: with ``n_boot > 0`` (default 200, ``seed``) ``ci`` and ``se`` come from a bootstrap over
runs (percentile intervals from order statistics; an end at the search bound is reported as 0 or
inf), refitting both stages when the base was fitted here (stage 1 warm-started from the base fit,
stage 2 by the full grid search, so a resample may land in another basin), the base held fixed
when it was given (then the interval is conditional on it). With ``n_boot=0`` they are asymptotic
(Gauss-Newton on the log residuals in log R*, conditional on the base): on the paper's runs
[20, 456] for R_D* against the bootstrap's [4.7, inf), so use them for quick looks only.
:meth:`DataConstrainedFit.bootstrap` draws more resamples.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Iterable, Sequence

import numpy as np
from scipy import optimize

from ._nls import classic_covariance
from ._result import FitResult, r_squared, t_quantile
from ._degenerate import flag_degenerate, r_squared_scaled
from ._validate import as_real_array, check_enough_points, check_level, check_positive, check_same_length
from .chinchilla import HUBER_DELTA, _solve as _chinchilla_solve, fit_chinchilla

R_STAR_BOUNDS = (1e-3, 1e6)  # the range R_D* and R_N* are searched in (an optimum at a bound is flagged)
R_STAR_GRID = np.logspace(-2, 4, 31)  # starting grid, per axis
_MAX_STARTS = 4  # grid local minima refined (the lowest ones)
_BASE_NAMES = ("E", "A", "B", "alpha", "beta")
_R_NAMES = ("R_D_star", "R_N_star")
_SINGLE_EPOCH_RTOL = 1e-9  # R_D below this counts as no repetition (D / U rounding)


# ----------------------------------------------------------------------------- the law
def _base_dict(base: Any) -> dict[str, float]:
    """(E, A, B, alpha, beta) from a fit result, a mapping or a 5-sequence, checked positive."""
    if isinstance(base, FitResult):
        vals = [base.params.get(k, math.nan) for k in _BASE_NAMES]
    elif isinstance(base, Mapping):
        missing = [k for k in _BASE_NAMES if k not in base]
        if missing:
            raise ValueError(f"base is missing {missing}; it needs E, A, B, alpha, beta")
        vals = [base[k] for k in _BASE_NAMES]
    else:
        try:
            vals = list(base)
        except TypeError:
            raise ValueError(f"base must be a fit, a mapping or (E, A, B, alpha, beta), got {base!r}") from None
        if len(vals) != 5:
            raise ValueError(f"base must have 5 values (E, A, B, alpha, beta), got {len(vals)}")
    try:
        out = {k: float(v) for k, v in zip(_BASE_NAMES, vals)}
    except (TypeError, ValueError):
        raise ValueError(f"base values must be numbers, got {vals!r}") from None
    bad = [k for k, v in out.items() if not (math.isfinite(v) and v > 0)]
    if bad:
        raise ValueError(f"base {', '.join(f'{k}={out[k]!r}' for k in bad)}: E, A, B, alpha, beta must be finite "
                         "and positive")
    return out


def _check_r_star(value: Any, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number or math.inf, got {value!r}") from None
    if not v > 0:  # NaN fails too
        raise ValueError(f"{name} must be a positive number or math.inf, got {value!r}")
    return v


def _effective(base_count: np.ndarray, repeats: np.ndarray, r_star: float | np.ndarray) -> np.ndarray:
    """U + U R* (1 - exp(-R / R*)); R* = inf gives U (1 + R). Broadcasts (grids of R*)."""
    if np.ndim(r_star) == 0:  # the common case, kept cheap: the optimiser calls it ~100 times a fit
        r = float(r_star)
        return base_count * (1.0 + repeats) if math.isinf(r) else base_count * (1.0 - r * np.expm1(-repeats / r))
    r_star = np.asarray(r_star, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = np.where(np.isinf(r_star), repeats, -r_star * np.expm1(-repeats / r_star))
    return base_count * (1.0 + gain)


def unique_params(U, base) -> np.ndarray:
    """N_opt(U): the compute-optimal model size of the ``base`` law (E, A, B, alpha, beta) whose
    compute-optimal data is U tokens, G (G U)**(beta/alpha) with G = (alpha A/(beta B))**(1/(alpha+beta))
    (the paper's Eq. for U_N before the min with N)."""
    b = _base_dict(base)
    U = as_real_array(U, "U")
    check_positive(U, "U", "it is a number of unique tokens")
    return _unique_params(U, b)


def _unique_params(U: np.ndarray, b: dict[str, float]) -> np.ndarray:
    log_g = (math.log(b["alpha"] * b["A"]) - math.log(b["beta"] * b["B"])) / (b["alpha"] + b["beta"])
    return np.exp(log_g + b["beta"] / b["alpha"] * (log_g + np.log(U)))


def effective_data(D, U, rd_star) -> np.ndarray:
    """D' = U_D + U_D R_D* (1 - exp(-R_D/R_D*)) with U_D = min(U, D) and R_D = D/U_D - 1: the number
    of unique tokens that would be worth as much as D tokens drawn from U unique ones.
    ``rd_star=math.inf``: repeated tokens are as good as new (D' = D)."""
    D = as_real_array(D, "D")
    U = as_real_array(U, "U")
    if D.size > 1 and U.size > 1:
        check_same_length(D=D, U=U)
    check_positive(D, "D", "it is a number of tokens")
    check_positive(U, "U", "it is a number of unique tokens")
    rd_star = _check_r_star(rd_star, "rd_star")
    D, U = np.broadcast_arrays(D, U)
    UD = np.minimum(U, D)
    return _effective(UD, _repeats(D, UD), rd_star)


def effective_params(N, U, base, rn_star) -> np.ndarray:
    """N' = U_N + U_N R_N* (1 - exp(-R_N/R_N*)) with U_N = min(N, N_opt(U)) (:func:`unique_params`)
    and R_N = N/U_N - 1: parameters beyond the compute-optimal size for U unique tokens are worth
    less. ``U`` here is the number of unique tokens *used* (min(U, D) of a run)."""
    b = _base_dict(base)
    N = as_real_array(N, "N")
    U = as_real_array(U, "U")
    check_positive(N, "N", "it is a parameter count")
    check_positive(U, "U", "it is a number of unique tokens")
    rn_star = _check_r_star(rn_star, "rn_star")
    N, U = np.broadcast_arrays(N, U)
    UN = np.minimum(N, _unique_params(U, b))
    return _effective(UN, _repeats(N, UN), rn_star)


def _repeats(total: np.ndarray, unique: np.ndarray) -> np.ndarray:
    r = np.maximum(total / unique - 1.0, 0.0)
    return np.where(r < _SINGLE_EPOCH_RTOL, 0.0, r)


def repeated_token_value(epochs, rd_star, kind: str = "marginal") -> np.ndarray:
    """What repeated tokens are worth relative to unique ones, after ``epochs`` passes over the data
    (R_D = epochs - 1 repetitions; epochs <= 1 is no repetition), under decay constant ``rd_star``:

    ``"marginal"``: the next token, exp(-R_D/R_D*) (dD'/dD): at R_D = R_D* ln 2 a repeated token is
    worth half a new one. ``"average"``: the mean over the repeated tokens, (D' - U)/(D - U) =
    R_D* (1 - exp(-R_D/R_D*))/R_D (1 - 1/e at R_D = R_D*). ``"overall"``: D'/D, every token of the
    run including the first epoch (how much data the whole run is worth).
    """
    epochs = as_real_array(epochs, "epochs")
    check_positive(epochs, "epochs", "it is a number of passes over the data")
    rd_star = _check_r_star(rd_star, "rd_star")
    R = np.maximum(epochs - 1.0, 0.0)
    if kind == "marginal":
        return np.exp(-R / rd_star)
    if kind == "average":
        with np.errstate(invalid="ignore", divide="ignore"):
            avg = _effective(1.0, R, rd_star) - 1.0
            return np.where(R > 0, avg / np.where(R > 0, R, 1.0), 1.0)
    if kind == "overall":
        return _effective(1.0, R, rd_star) / (1.0 + R)
    raise ValueError(f"kind must be 'marginal', 'average' or 'overall', got {kind!r}")


def data_constrained_loss(N, D, U, base, rd_star, rn_star) -> np.ndarray:
    """The law's loss for runs (N params, D tokens seen, U unique tokens available) given its
    numbers (e.g. the paper's): ``base`` (E, A, B, alpha, beta) and the decay constants."""
    b = _base_dict(base)
    N, D, U = (as_real_array(v, k) for v, k in ((N, "N"), (D, "D"), (U, "U")))
    for arr, name in ((N, "N"), (D, "D"), (U, "U")):
        check_positive(arr, name, "it is a count")
    return _law(b, _check_r_star(rd_star, "rd_star"), _check_r_star(rn_star, "rn_star"), *np.broadcast_arrays(N, D, U))


def _law(b: dict[str, float], rd_star: float, rn_star: float, N, D, U) -> np.ndarray:
    UD = np.minimum(U, D)
    UN = np.minimum(N, _unique_params(UD, b))
    Dp = _effective(UD, _repeats(D, UD), rd_star)
    Np = _effective(UN, _repeats(N, UN), rn_star)
    return b["E"] + b["A"] * Np ** -b["alpha"] + b["B"] * Dp ** -b["beta"]


# ----------------------------------------------------------------------------- stage 2
def _huber_sum(r: np.ndarray, delta: float, axis: int = -1) -> np.ndarray:
    ar = np.abs(r)
    return np.sum(np.where(ar <= delta, 0.5 * r * r, delta * (ar - 0.5 * delta)), axis=axis)


class _Stage2:
    """(R_D*, R_N*) given the base law, on log R* (``t``); ``free`` names the fitted ones."""

    def __init__(self, b: dict[str, float], N, D, U, L, rd_fixed: float | None, rn_fixed: float | None,
                 delta: float) -> None:
        self.b, self.delta = b, delta
        self.UD = np.minimum(U, D)
        self.RD = _repeats(D, self.UD)
        self.UN = np.minimum(N, _unique_params(self.UD, b))
        self.RN = _repeats(N, self.UN)
        self.lL = np.log(L)
        self.fixed = {"R_D_star": rd_fixed, "R_N_star": rn_fixed}
        self.free = [k for k in _R_NAMES if self.fixed[k] is None]
        self.lo, self.hi = math.log(R_STAR_BOUNDS[0]), math.log(R_STAR_BOUNDS[1])

    def r_stars(self, t: np.ndarray) -> tuple[float, float]:
        vals = dict(zip(self.free, np.exp(t)))
        return tuple(vals.get(k, self.fixed[k]) for k in _R_NAMES)  # type: ignore[return-value]

    def _pieces(self, t: np.ndarray):
        rd, rn = self.r_stars(t)
        Dp = _effective(self.UD, self.RD, rd)
        Np = _effective(self.UN, self.RN, rn)
        tD = self.b["B"] * Dp ** -self.b["beta"]
        tN = self.b["A"] * Np ** -self.b["alpha"]
        return rd, rn, Dp, Np, tD, tN, self.b["E"] + tD + tN

    def resid(self, t: np.ndarray) -> np.ndarray:
        return np.log(self._pieces(t)[-1]) - self.lL

    def jac(self, t: np.ndarray) -> np.ndarray:
        rd, rn, Dp, Np, tD, tN, pred = self._pieces(t)
        cols = []
        for name in self.free:
            if name == "R_D_star":
                x = self.RD / rd  # d D'/d log R_D* = U_D R_D* (1 - e^-x - x e^-x)
                d = self.UD * rd * (-np.expm1(-x) - x * np.exp(-x))
                cols.append(-self.b["beta"] * tD / Dp * d / pred)
            else:
                x = self.RN / rn
                d = self.UN * rn * (-np.expm1(-x) - x * np.exp(-x))
                cols.append(-self.b["alpha"] * tN / Np * d / pred)
        return np.column_stack(cols)

    def objective(self, t: np.ndarray) -> float:
        return float(_huber_sum(self.resid(t), self.delta))

    def grid_objective(self) -> np.ndarray:
        """The objective at every grid cell (one axis per free R*), in one batch."""
        g = R_STAR_GRID[:, None]
        terms = []
        for name in _R_NAMES:
            fixed = self.fixed[name]
            if name == "R_D_star":
                eff = _effective(self.UD, self.RD, g if fixed is None else fixed)
                terms.append(self.b["B"] * eff ** -self.b["beta"])
            else:
                eff = _effective(self.UN, self.RN, g if fixed is None else fixed)
                terms.append(self.b["A"] * eff ** -self.b["alpha"])
        tD, tN = terms
        if len(self.free) == 2:
            pred = self.b["E"] + tD[:, None, :] + tN[None, :, :]
        else:
            pred = self.b["E"] + (tD if self.free == ["R_D_star"] else tN)
            pred = np.broadcast_to(pred, (len(R_STAR_GRID), self.lL.size))
        return _huber_sum(np.log(pred) - self.lL, self.delta)

    def grid_starts(self) -> list[np.ndarray]:
        """The grid's local minima (cells no higher than any neighbour), best first."""
        f = self.grid_objective()
        padded = np.pad(f, 1, constant_values=np.inf)
        is_min = np.ones(f.shape, bool)
        for shift in np.ndindex(*(3,) * f.ndim):
            if all(s == 1 for s in shift):
                continue
            sl = tuple(slice(s, s + n) for s, n in zip(shift, f.shape))
            is_min &= f <= padded[sl]
        idx = np.argwhere(is_min)
        order = np.argsort(f[tuple(idx.T)])
        return [np.log(R_STAR_GRID[i]) for i in idx[order][:_MAX_STARTS]]

    def _value_and_grad(self, t: np.ndarray) -> tuple[float, np.ndarray]:
        """The Huber objective / delta and its gradient (J^T clip(r, -delta, delta) / delta), with t
        clamped to the search range (the gradient is zero across a bound)."""
        tc = np.clip(t, self.lo, self.hi)
        r = self.resid(tc)
        g = self.jac(tc).T @ np.clip(r, -self.delta, self.delta) / self.delta
        return float(_huber_sum(r, self.delta)) / self.delta, np.where(tc == t, g, 0.0)

    def descend(self, t0: np.ndarray) -> np.ndarray:
        """BFGS on the exact objective (analytic gradient) from ``t0``, clamped to the range."""
        t0 = np.clip(np.asarray(t0, float), self.lo, self.hi)
        sol = optimize.minimize(self._value_and_grad, t0, jac=True, method="BFGS", options={"gtol": 1e-9})
        return np.clip(sol.x, self.lo, self.hi)

    def polish(self, t0: np.ndarray) -> np.ndarray:
        """Trust-region least squares with SciPy's Huber loss (exactly this objective) from ``t0``, then
        BFGS again; the lowest of the three points. The objective has shallow local minima (it is
        nearly L1 at delta = 1e-3) and the two methods can stop in different ones."""
        ls = optimize.least_squares(self.resid, t0, jac=self.jac, bounds=(self.lo, self.hi), method="trf",
                                    loss="huber", f_scale=self.delta, xtol=1e-12, ftol=1e-12, gtol=1e-12)
        return min((t0, ls.x, self.descend(ls.x)), key=self.objective)

    def solve(self, starts: Sequence[np.ndarray] | None = None) -> tuple[np.ndarray, list[tuple]]:
        """Descend from every start (the grid's lowest local minima by default), polish the best end
        point; return it and all optima found as (R_D*, R_N*, objective), best first, near-duplicates
        (within 0.1% in every R*) merged."""
        starts = self.grid_starts() if starts is None else starts
        found = [self.descend(t0) for t0 in starts]
        found.sort(key=self.objective)
        found[0] = self.polish(found[0])
        found.sort(key=self.objective)
        optima: list[np.ndarray] = []
        for t in found:
            if not any(np.all(np.abs(t - u) < 1e-3) for u in optima):
                optima.append(t)
        return optima[0], [(*self.r_stars(t), self.objective(t)) for t in optima]


# ----------------------------------------------------------------------------- fitting
def _validated(N, D, U, L):
    N, D, U, L = (as_real_array(v, k) for v, k in ((N, "N"), (D, "D"), (U, "U"), (L, "L")))
    check_same_length(N=N, D=D, U=U, L=L)
    check_positive(N, "N", "it is a parameter count")
    check_positive(D, "D", "it is a number of tokens")
    check_positive(U, "U", "it is a number of unique tokens")
    check_positive(L, "L")
    return N, D, U, L


def _parse_starts(starts: Iterable | None, stage: _Stage2) -> list[np.ndarray] | None:
    if starts is None:
        return None
    out = []
    for s in starts:
        try:
            rd, rn = (float(v) for v in s)
        except (TypeError, ValueError):
            raise ValueError(f"each start must be a pair (R_D*, R_N*), got {s!r}") from None
        vals = {"R_D_star": rd, "R_N_star": rn}
        if not all(vals[k] > 0 and math.isfinite(vals[k]) for k in stage.free):
            raise ValueError(f"start {s!r}: the fitted R* must start positive and finite")
        out.append(np.log([vals[k] for k in stage.free]))
    if not out:
        raise ValueError("starts is empty")
    return out


def _identify(stage: _Stage2, n: int) -> None:
    """ValueError when a fitted decay constant has no run that informs it."""
    if "R_D_star" in stage.free and not np.any(stage.RD > 0):
        raise ValueError("no run repeats data (every D <= U: all single-epoch), so R_D* is not identified; "
                         "add repeated-data runs or pass rd_star= to fix it")
    if "R_N_star" in stage.free and not np.any(stage.RN > 0):
        raise ValueError("no run has excess parameters (every N <= N_opt(min(U, D)) under the base law), so "
                         "R_N* is not identified; pass rn_star= to fix it (math.inf: no excess-parameter decay)")
    informative = int(np.sum((stage.RD > 0) | (stage.RN > 0)))
    check_enough_points(informative, len(stage.free),
                        "the decay constants (runs with repeated data or excess parameters)")
    check_enough_points(n, len(stage.free) + 1, "the data-constrained fit (stage 2)")


def _stage1(N, D, L, single, tie: bool, delta: float, start=None):
    """Base law on the single-epoch runs: (E, A, B, alpha, beta) array (and the ChinchillaFit when
    ``start`` is None)."""
    Ns, Ds, Ls = N[single], D[single], L[single]
    if start is None:
        fit = fit_chinchilla(Ns, Ds, Ls, method="huber", delta=delta, tie_exponents=tie)
        return np.array([fit.params[k] for k in _BASE_NAMES]), fit
    params, _ = _chinchilla_solve(Ns, Ds, Ls, "huber", delta, start=start, tie=tie)
    return params, None


def fit_data_constrained(N, D, U, L, base=None, rd_star=None, rn_star=None, tie_exponents: bool = True,
                         starts: Iterable | None = None, n_boot: int = 200, seed: int = 0,
                         delta: float = HUBER_DELTA, level: float = 0.95) -> "DataConstrainedFit":
    """Fit Muennighoff et al.'s data-constrained law to runs with N parameters, D tokens seen, U unique
    tokens available (D/U epochs; U >= D is one epoch over D tokens) and final loss L.

    ``base``: the Chinchilla-form law (a fit, a mapping or (E, A, B, alpha, beta)) held fixed, as the
    paper held its C4 law fixed; ``None`` fits it here on the single-epoch runs (D <= U; stage 1,
    Huber, ``tie_exponents`` default True as in the paper). ``rd_star`` / ``rn_star``: ``None`` fits
    the decay constant, a number (or ``math.inf``: no decay) fixes it; at least one must be fitted.
    ``starts``: (R_D*, R_N*) pairs to descend from instead of the grid search (the fixed one is
    ignored). ``n_boot`` resamples of the runs (``seed``) give ``se`` and the percentile ``ci``;
    ``n_boot=0``: asymptotic intervals. See the module docstring for the procedure and its caveats.

    Raises ``ValueError`` on bad input: non-finite, complex or non-positive values, mismatched
    lengths, too few runs (stage 1: fewer single-epoch runs than base parameters; stage 2: fewer
    informative runs than decay constants), no repeated run when R_D* is fitted, no run with excess
    parameters when R_N* is fitted, a bad base, bad fixed values, nothing to fit, a ``level``
    outside (0, 1). A constant L is flagged as a whole, its intervals not identified.
    """
    N, D, U, L = _validated(N, D, U, L)
    rd_fixed = None if rd_star is None else _check_r_star(rd_star, "rd_star")
    rn_fixed = None if rn_star is None else _check_r_star(rn_star, "rn_star")
    if rd_fixed is not None and rn_fixed is not None:
        raise ValueError("rd_star and rn_star are both fixed: nothing to fit (use data_constrained_loss)")
    if not isinstance(tie_exponents, (bool, np.bool_)):
        raise ValueError(f"tie_exponents must be True or False, got {tie_exponents!r}")
    if not (isinstance(n_boot, (int, np.integer)) and not isinstance(n_boot, bool) and n_boot >= 0):
        raise ValueError(f"n_boot must be an integer >= 0, got {n_boot!r}")
    if n_boot == 1:
        raise ValueError("n_boot must be 0 (asymptotic intervals) or >= 2")
    level = check_level(level)
    if not (isinstance(delta, (int, float, np.number)) and delta > 0 and math.isfinite(delta)):
        raise ValueError(f"delta must be a positive number, got {delta!r}")
    tie = bool(tie_exponents)
    single = _repeats(D, np.minimum(U, D)) == 0
    info: dict[str, Any] = {"delta": delta, "n_single_epoch": int(single.sum()), "tie_exponents": tie}
    base_fit = None
    if base is None:
        need = 4 if tie else 5
        if single.sum() < need:
            raise ValueError(f"stage 1 fits the base law on the single-epoch runs (D <= U) and needs at least {need} "
                             f"of them, got {int(single.sum())}; add single-epoch runs or pass base=")
        try:
            bvec, base_fit = _stage1(N, D, L, single, tie, delta)
        except ValueError as exc:
            raise ValueError(f"stage 1 (the base law on the {int(single.sum())} single-epoch runs): {exc}") from None
        b = dict(zip(_BASE_NAMES, bvec))
        info["base"] = f"fitted here on the {int(single.sum())} single-epoch runs (Huber{', tied' if tie else ''})"
    else:
        b = _base_dict(base)
        info["base"] = "given (held fixed)"
    stage = _Stage2(b, N, D, U, L, rd_fixed, rn_fixed, delta)
    _identify(stage, len(N))
    start_points = _parse_starts(starts, stage)
    t, optima = stage.solve(start_points)
    info.update(n_repeated=int(np.sum(stage.RD > 0)), n_excess_params=int(np.sum(stage.RN > 0)),
                search="given starts" if starts is not None else f"log grid {R_STAR_GRID[0]:g}..{R_STAR_GRID[-1]:g}",
                local_optima=optima, objective=stage.objective(t))
    fit = DataConstrainedFit._build(N, D, U, L, b, base_fit, stage, t, info, tie, level)
    fit._starts = start_points
    fit._single = single
    if n_boot:
        fit._apply_bootstrap(fit.bootstrap(n_boot, seed))
    n_fitted = len(stage.free) + (0 if base_fit is None else (4 if tie else 5))
    return flag_degenerate(fit, L, "L", n_fitted, ranges={k: (0.0, math.inf) for k in _BASE_NAMES + _R_NAMES})


class DataConstrainedFit(FitResult):
    """A fitted data-constrained law: params E, A, B, alpha, beta (the base law), R_D_star, R_N_star;
    ``predict(N, D, U)``; ``effective_data(D, U)``, ``effective_params(N, U)``,
    ``repeated_token_value(epochs, kind)``; ``bootstrap(n, seed)``. ``fixed`` names the parameters
    held fixed (their ``se`` and ``ci`` are NaN); ``base_fit`` is the stage-1 ChinchillaFit (or None).
    ``theta`` and ``cov`` are those of log R* of the fitted decay constants, so ``predict_interval``
    is conditional on the base law."""

    base_fit: Any
    boot: "DataConstrainedBootstrap | None"

    @classmethod
    def _build(cls, N, D, U, L, b, base_fit, stage: _Stage2, t, info, tie, level) -> "DataConstrainedFit":
        rd, rn = stage.r_stars(t)
        resid = stage.resid(t)
        jac = stage.jac(t)
        cov, dof = classic_covariance(jac, resid)
        q = t_quantile(level, dof)
        params = {**b, "R_D_star": rd, "R_N_star": rn}
        fixed = [k for k in _BASE_NAMES if base_fit is None] + [k for k in _R_NAMES if k not in stage.free]
        se = {k: math.nan for k in params}
        ci = {k: (math.nan, math.nan) for k in params}
        for i, k in enumerate(stage.free):
            s = math.sqrt(cov[i, i]) if np.all(np.isfinite(cov)) and cov[i, i] >= 0 else math.nan
            se[k] = params[k] * s
            with np.errstate(over="ignore"):
                ci[k] = (float(np.exp(t[i] - q * s)), float(np.exp(t[i] + q * s)))
        if base_fit is not None:
            for k in _BASE_NAMES:
                se[k], ci[k] = base_fit.se[k], base_fit.ci[k]
        pred = np.exp(resid + stage.lL)
        info = {**info, "ci_method": "asymptotic (Gauss-Newton on log residuals in log R*, conditional on the base law)",
                "r2_linear": r_squared_scaled(L, pred), "fixed": fixed}
        free = list(stage.free)
        fixed_r = dict(stage.fixed)

        def model(theta, N_, D_, U_):
            vals = dict(zip(free, np.exp(theta)))
            return _law(b, vals.get("R_D_star", fixed_r["R_D_star"]), vals.get("R_N_star", fixed_r["R_N_star"]),
                        *np.broadcast_arrays(N_, D_, U_))

        fit = cls(kind="data_constrained", params=params, se=se, ci=ci, r2=r_squared(stage.lL, stage.lL + resid),
                  r2_space="log", n=len(N), dof=dof, model=model, theta=t, cov=cov, residuals=resid, level=level,
                  info=info)
        for i, k in enumerate(stage.free):
            if t[i] <= stage.lo + 1e-6 or t[i] >= stage.hi - 1e-6:
                fit.flag(k, f"{k} = {params[k]:.3g} at the bound of its search range {R_STAR_BOUNDS}: "
                            + ("no measurable decay (consistent with R* = inf)" if t[i] > 0 else
                               "repeats are worth nothing") + "; its interval is not usable")
        fit.fixed = fixed
        fit.base_fit = base_fit
        fit.boot = None
        fit.tie_exponents = tie
        fit.delta = stage.delta
        fit._data = (N, D, U, L)
        fit._stage_fixed = (stage.fixed["R_D_star"], stage.fixed["R_N_star"])
        return fit

    # -- derived quantities
    @property
    def base(self) -> dict[str, float]:
        return {k: self.params[k] for k in _BASE_NAMES}

    def effective_data(self, D, U) -> np.ndarray:
        """D' under the fitted R_D* (see :func:`effective_data`)."""
        return effective_data(D, U, self.params["R_D_star"])

    def effective_params(self, N, U) -> np.ndarray:
        """N' under the fitted base law and R_N* (see :func:`effective_params`)."""
        return effective_params(N, U, self.base, self.params["R_N_star"])

    def repeated_token_value(self, epochs, kind: str = "marginal") -> np.ndarray:
        """See :func:`repeated_token_value`, at the fitted R_D*."""
        return repeated_token_value(epochs, self.params["R_D_star"], kind)

    # -- bootstrap
    def bootstrap(self, n: int = 1000, seed: int = 0) -> "DataConstrainedBootstrap":
        """Refit on ``n`` resamples of the runs (with replacement): stage 1 again when the base law was
        fitted here (warm-started from this fit's base), stage 2 by the same search as this fit
        (the grid, or this fit's starts). Resamples in which a fitted parameter is not identified
        (no repeated run, no excess parameters, too few single-epoch runs) are skipped and counted."""
        if not (isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 2):
            raise ValueError(f"bootstrap n must be an integer >= 2, got {n!r}")
        N, D, U, L = self._data
        rng = np.random.default_rng(seed)
        start = np.array([self.params[k] for k in _BASE_NAMES])
        rd_fixed, rn_fixed = self._stage_fixed
        fitted_base = self.base_fit is not None
        need = 4 if self.tie_exponents else 5
        rows, skipped = [], 0
        for _ in range(n):
            idx = rng.integers(0, len(N), len(N))
            Ni, Di, Ui, Li = N[idx], D[idx], U[idx], L[idx]
            if fitted_base:
                s = self._single[idx]
                if s.sum() < need or np.ptp(Ni[s]) == 0 or np.ptp(Di[s]) == 0:
                    skipped += 1
                    continue
                bvec, _ = _stage1(Ni, Di, Li, s, self.tie_exponents, self.delta, start=start)
                b = dict(zip(_BASE_NAMES, bvec))
            else:
                b = self.base
            stage = _Stage2(b, Ni, Di, Ui, Li, rd_fixed, rn_fixed, self.delta)
            try:
                _identify(stage, len(Ni))
            except ValueError:
                skipped += 1
                continue
            t, _ = stage.solve(self._starts)
            rows.append([b[k] for k in _BASE_NAMES] + list(stage.r_stars(t)))
        if len(rows) < 2:
            raise ValueError(f"bootstrap: only {len(rows)} of {n} resamples could be fitted")
        return DataConstrainedBootstrap(np.array(rows), self.fixed, self.level, requested=n, skipped=skipped,
                                        seed=seed)

    def _apply_bootstrap(self, boot: "DataConstrainedBootstrap") -> None:
        """Replace ``se``/``ci`` of the fitted parameters (and ``cov`` of log R*) by the bootstrap's."""
        self.boot = boot
        for k in boot.se:
            self.se[k], self.ci[k] = boot.se[k], boot.ci[k]
        free = [k for k in _R_NAMES if k not in self.fixed]
        logs = np.log(np.column_stack([boot.samples[k] for k in free]))
        self.cov = np.atleast_2d(np.cov(logs, rowvar=False))
        self.info["ci_method"] = (f"bootstrap over runs ({boot.n} of {boot.requested} resamples fitted, seed "
                                  f"{boot.seed}; percentile, conservative order statistics)"
                                  + ("; both stages refitted" if self.base_fit is not None else
                                     "; base law held fixed"))

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        if self.boot is not None:
            d["bootstrap"] = self.boot.to_dict()
        return d


class DataConstrainedBootstrap:
    """Bootstrap distribution of a data-constrained fit: ``samples`` (name -> array over the fitted
    resamples, for every parameter not held fixed; a decay constant that ran to the search bound is
    kept at the bound), ``se`` (sample standard deviations; NaN for a decay constant with a sample at
    a bound) and ``ci`` (percentile intervals at ``level`` from order statistics: the lower end
    rounded down, the upper rounded up, so no sample is interpolated; a decay-constant end at the
    search bound is reported as 0 or inf: the data do not bound it); ``at_bound`` (fraction of
    resamples at the upper / lower bound per decay constant) and ``skipped`` (resamples in which a
    parameter was not identified)."""

    def __init__(self, rows: np.ndarray, fixed: Sequence[str], level: float, requested: int, skipped: int,
                 seed: int) -> None:
        names = _BASE_NAMES + _R_NAMES
        self.samples = {k: rows[:, i] for i, k in enumerate(names) if k not in fixed}
        self.level = level
        self.n = len(rows)
        self.requested = requested
        self.skipped = skipped
        self.seed = seed
        lo_q, hi_q = 0.5 * (1 - level), 0.5 * (1 + level)
        lo_b, hi_b = R_STAR_BOUNDS[0] * (1 + 1e-6), R_STAR_BOUNDS[1] * (1 - 1e-6)
        self.se, self.ci, self.at_bound = {}, {}, {}
        for k, v in self.samples.items():
            lo = float(np.quantile(v, lo_q, method="lower"))
            hi = float(np.quantile(v, hi_q, method="higher"))
            sd = float(np.std(v, ddof=1))
            if k in _R_NAMES:
                low, high = float(np.mean(v <= lo_b)), float(np.mean(v >= hi_b))
                self.at_bound[k] = {"upper": high, "lower": low}
                lo = 0.0 if lo <= lo_b else lo
                hi = math.inf if hi >= hi_b else hi
                sd = math.nan if (low or high) else sd
            self.se[k], self.ci[k] = sd, (lo, hi)

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "requested": self.requested, "skipped": self.skipped, "seed": self.seed,
                "level": self.level, "se": self.se, "ci": {k: list(v) for k, v in self.ci.items()},
                "at_bound": self.at_bound}

    def __repr__(self) -> str:
        body = ", ".join(f"{k} [{lo:.4g}, {hi:.4g}]" for k, (lo, hi) in self.ci.items())
        return f"<DataConstrainedBootstrap n={self.n}: {body}>"
