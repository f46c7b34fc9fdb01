"""The Chinchilla parametric law ``L(N, D) = E + A / N**alpha + B / D**beta`` (Hoffmann et al. 2022,
Approach 3), its compute-optimal allocation and a bootstrap.

Three objectives (``method=``):

``"huber"`` (default): Hoffmann et al.'s and Epoch AI's objective: the Huber loss (delta 1e-3)
    of ``log L`` against ``log(E + A/N**alpha + B/D**beta)``. The paper's recipe runs L-BFGS from
    every point of a 4,500-point grid with numerical gradients (minutes). We search instead as
    described under "The search" below (tens of milliseconds); on Epoch's 240 points this lands on
    the same optimum as the full grid (the tests check both the numbers and the objective value).
``"varpro"``: variable projection (Czech et al. 2026). For fixed (alpha, beta) the law is linear
    in (E, A, B), solved by non-negative least squares on relative residuals (rows weighted by
    1/L, i.e. approximately log-space least squares); the exponents come from the grid of starts,
    then all five parameters are polished jointly on the same objective. Well conditioned, but a
    squared-error fit.
``"asymmetric"``: the law as the *lower bound* of the loss achievable at (N, D): under-tuned runs
    lie above it, so over-predicting a run (log-residual r = log L_pred - log L_obs > 0) costs
    ``asymmetry`` (w, default 10) times the Huber loss of under-predicting it:
    rho(r) = w * huber_delta(r) for r > 0, huber_delta(r) for r <= 0 (same delta). This is the
    approach of kyo-takano/chinchilla ("the loss predictor aims to capture the lower bound of the
    loss achievable"; an asymmetric loss with weight 10 on over-prediction); AI2's OLMo-core ladder
    fitting likewise offers an "asymmetric_mae" loss beside log-Huber. Its Gauss-Newton intervals
    assume a symmetric least-squares objective, so the fit is flagged: use ``bootstrap()``.
    Measured (``test_asymmetric_beats_huber_on_under_tuned_rungs``: 30% of the runs raised
    5-20%, the rest on the law with 0.1% noise, 20 seeds): mean errors E 0.41% vs 0.69% (Huber),
    alpha 0.0016 vs 0.0081, beta 0.0016 vs 0.0023.

The search (all three objectives). The parameters searched are ``E, Ac, Bc >= 0`` (the terms at the
ladder's centre, in units of the geometric-mean loss) and the exponents, each within
``EXPONENT_BOUNDS`` = [0, 5] (narrowed only for ladders spanning over ~8.7 decades, so that
alpha * ptp(log N) <= 100); A and B are formed in log space only at the end, so no intermediate
can overflow whatever the units of N, D and L. (1) The exact variable-projection profile
(non-negative least squares for (E, Ac, Bc), in closed form over the 7 active sets) on a 40 x 40
grid of (alpha, beta) (34 points over [0.02, 2] plus 2.5-5), all grid points solved in one batch
(~1 ms), and ``method``'s objective at each; (2) a bounded Levenberg-Marquardt refinement
(analytic Jacobian) from each of the ``N_STARTS`` = 6 best local minima of that grid, 150 steps
each; (3) the best of them, continued to convergence (up to 500 steps; a fit still not converged
is flagged). Tested against brute-force
multi-start L-BFGS-B (Epoch's 4,500-point grid of starts, the same bounds) on Epoch's points, on
every sub-ladder of the (Mis)Fitting survey's 263 final checkpoints and on synthetic ladders:
never worse (``tests/test_fit_chinchilla_robust.py``); before the bounds and the multi-start, a
narrow sub-ladder sent the exponent search to overflow (``math.exp(alpha * cN)``) and several
sub-ladders stopped in a worse basin. An exponent at a bound is flagged (see below).
``bootstrap()`` refits each resample by one refinement from the full fit (warm start): 1,000
resamples of the 263 (Mis)Fitting runs take ~1-4 s per method.

Identification. A fit the points cannot identify is returned *flagged* (``flags["*"]``, which makes
``scaling_claims.estimates`` treat its intervals as unusable, and ``info["unidentified"]``, which
the extrapolation checks show in their rows) rather than forced: N or D spanning under
``MIN_SPAN_DECADES`` = 0.2 decades, fewer than 3 distinct values of N or of D (tied: of both), the
points on one line in (log N, log D) (a single IsoFLOP budget, a fixed tokens-per-parameter
ladder), or an exponent at a bound of its search. See ``_identification`` for the reasons behind
each threshold. Constant N or D, fewer points than parameters, non-finite or non-positive values
and losses spanning over 50 decades still raise ``ValueError``; nothing else is raised, and no
floating-point warning escapes.

``tie_exponents=True`` (any method) enforces alpha = beta, as in Muennighoff et al. 2023
("Scaling Data-Constrained Language Models") and for ladders of a handful of sizes that cannot
separate the two exponents: 4 free parameters (E, A, B, alpha); ``beta`` is reported equal to
``alpha`` with the same interval, and the covariance is that of the 4-parameter problem. The
search then runs on the grid's diagonal and refines (E, A, B, alpha) with the chain-rule Jacobian
(alpha's column = alpha's + beta's of the untied law).

Robustness (measured in ``tests/test_fit_chinchilla.py::test_huber_vs_varpro_robustness``:
a 6x6 grid over two decades of N (1e7-1e9) and D (1e9-1e11), truth E=1.7, A=400, B=1200,
alpha=0.34, beta=0.30, 1% log-normal noise, 20 seeds). With Gaussian noise only, ``varpro``
(squared error, the maximum-likelihood objective for that noise) is slightly *more* accurate:
mean |alpha error| + |beta error| 0.028 versus 0.035 for ``huber``, better on 12 of 20 seeds.
With 10% of the points turned into outliers (loss raised 5-15%, as a diverged or mis-read run
would be) ``huber`` is clearly more robust: 0.036 versus 0.097, better on 18 of 20 seeds.
So: Huber for real, messy data (the default); variable projection for clean synthetic data.

Confidence intervals on the fit object are asymptotic (Gauss-Newton on the log residuals at the
optimum); use :meth:`ChinchillaFit.bootstrap` (resampling points, as Epoch did) for honest
standard errors of the parameters and of derived quantities such as ``a`` and tokens/param.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from ._result import FitResult, covariance_from_jacobian, jsonable, r_squared, t_intervals
from ._validate import as_float_array, check_enough_points, check_not_constant, check_positive, check_same_length

HUBER_DELTA = 1e-3
# Exponent search range. No published language-model exponent is above ~1 (Kaplan et al. 0.076 /
# 0.095, Hoffmann et al. 0.34 / 0.28, Epoch's refit 0.35 / 0.37, Muennighoff et al. 0.35, the
# (Mis)Fitting ladder's beta ~0.64); an exponent of 5 makes a term fall 10**5-fold per decade of
# scale, so a term that steep is a transient at the smallest runs, not a power law, and a fit that
# reaches the bound is flagged (not identified). The bound also keeps every intermediate finite: with
# ``alpha * ptp(log N)`` at most ``_MAX_LOG_TERM_RANGE`` no exp() below can overflow.
EXPONENT_BOUNDS = (0.0, 5.0)
_MAX_LOG_TERM_RANGE = 100.0  # ... so the upper bound shrinks below 5 only for ladders over ~8.7 decades
# Starting grid of (alpha, beta): the old [0.02, 2] grid, extended to the bound.
EXPONENT_GRID = np.concatenate([np.linspace(0.02, 2.0, 34), [2.5, 3.0, 3.5, 4.0, 4.5, 5.0]])
N_STARTS = 6  # local refinements from the best local minima of the grid (see _Problem.candidates)
MAX_ITERATIONS = 500  # Levenberg-Marquardt steps of the final refinement (see _Problem.refine, solve)
SCOUT_ITERATIONS = 150  # ... and of each start when there are several
MIN_SPAN_DECADES = 0.2  # narrower spans of N or D (or off the N-D line) are flagged; see _identification
MAX_LOSS_SPAN_DECADES = 50.0  # losses spanning more decades than this are rejected (not a loss curve)
_PARAM_NAMES = ("E", "A", "B", "alpha", "beta")
_METHODS = ("huber", "varpro", "asymmetric")
DEFAULT_ASYMMETRY = 10.0  # kyo-takano/chinchilla's weight on over-prediction
_TINY = 1e-300  # floor for log(0) of a coefficient that NNLS or a bound set to exactly 0


# ----------------------------------------------------------------------------- the two objectives
def _huber_objective(theta: np.ndarray, lN: np.ndarray, lD: np.ndarray, lL: np.ndarray,
                     delta: float, asymmetry: float = 1.0) -> tuple[float, np.ndarray]:
    """Sum of Huber losses of log-loss residuals and its analytic gradient.

    ``theta = (e, a, b, alpha, beta)`` with E, A, B = exp(e), exp(a), exp(b). With
    ``asymmetry`` w != 1, a point the law over-predicts (r = log L_pred - log L_obs > 0) is
    weighted w (the asymmetric objective; still continuously differentiable, as huber'(0) = 0).
    Computed by log-sum-exp: finite for any finite theta.
    """
    e, a, b, alpha, beta = theta
    t1 = a - alpha * lN
    t2 = b - beta * lD
    m = np.maximum(np.maximum(t1, t2), e)
    x0, x1, x2 = np.exp(e - m), np.exp(t1 - m), np.exp(t2 - m)
    s = x0 + x1 + x2
    r = m + np.log(s) - lL
    ar = np.abs(r)
    w = np.where(r > 0, asymmetry, 1.0)
    f = float(np.sum(w * np.where(ar <= delta, 0.5 * r * r, delta * (ar - 0.5 * delta))))
    psi = w * np.clip(r, -delta, delta) / s
    p1, p2 = psi * x1, psi * x2
    grad = np.array([psi @ x0, p1.sum(), p2.sum(), -(p1 @ lN), -(p2 @ lD)])
    return f, grad


def _log_residuals(theta: np.ndarray, lN: np.ndarray, lD: np.ndarray, lL: np.ndarray) -> np.ndarray:
    e, a, b, alpha, beta = theta
    return np.logaddexp(np.logaddexp(e, a - alpha * lN), b - beta * lD) - lL


def _log_residual_jacobian(theta: np.ndarray, lN: np.ndarray, lD: np.ndarray) -> np.ndarray:
    e, a, b, alpha, beta = theta
    t = np.stack([np.full_like(lN, e), a - alpha * lN, b - beta * lD])
    w = np.exp(t - t.max(0))
    w /= w.sum(0)
    return np.column_stack([w[0], w[1], w[2], -w[1] * lN, -w[2] * lD])


def _untie(p: np.ndarray) -> np.ndarray:
    """4-vector (.., .., .., alpha) of the tied law -> 5-vector with beta = alpha."""
    return np.append(p, p[3])


def _tie_columns(jac: np.ndarray) -> np.ndarray:
    """Jacobian (or gradient) of the untied law -> of the tied one (chain rule: d/d alpha of the
    tied law is d/d alpha + d/d beta of the untied one)."""
    return np.concatenate([jac[..., :3], jac[..., 3:4] + jac[..., 4:5]], axis=-1)


_TIE_MATRIX = _tie_columns(np.eye(5))  # 5 x 4: d(5-vector) / d(4-vector); beta's row is alpha's


def _huber_sum(r: np.ndarray, delta: float, asymmetry: float = 1.0, axis: int = -1) -> np.ndarray:
    ar = np.abs(r)
    h = np.where(ar <= delta, 0.5 * r * r, delta * (ar - 0.5 * delta))
    if asymmetry != 1.0:
        h = np.where(r > 0, asymmetry * h, h)
    return h.sum(axis=axis)


# ----------------------------------------------------------------------------- the search
class _Problem:
    """One data set prepared for the search, in overflow-free coordinates.

    Losses are divided by their geometric mean and log N, log D centred on their means, so the
    searched parameters ``x = (E, Ac, Bc, alpha, beta)`` (tied: ``(E, Ac, Bc, alpha)``) are O(1):
    ``Ac = A * exp(-alpha * mean(log N)) / s`` is the N term at the ladder's centre in units of the
    mean loss ``s``. The law is ``S = E + Ac * exp(-alpha * uN) + Bc * exp(-beta * uD)`` (uN, uD:
    centred logs) with E, Ac, Bc >= 0 and each exponent in [0, its upper bound]: the upper bound is
    ``EXPONENT_BOUNDS[1]`` unless ``alpha * ptp(log N)`` would exceed ``_MAX_LOG_TERM_RANGE``, so
    every exp() lies in [exp(-100), exp(100)] and every square in the normal equations is finite.
    Only the user-facing (E, A, B) are formed from log space, at the end (``theta``).
    """

    def __init__(self, N: np.ndarray, D: np.ndarray, L: np.ndarray, tie: bool) -> None:
        self.lN, self.lD, self.lL = np.log(N), np.log(D), np.log(L)
        self.n = len(L)
        self.tie = tie
        self.log_scale = float(np.mean(self.lL))
        self.lLn = self.lL - self.log_scale
        self.w = np.exp(-self.lLn)  # 1 / normalised loss: the varpro weights
        self.cN, self.cD = float(np.mean(self.lN)), float(np.mean(self.lD))
        self.uN, self.uD = self.lN - self.cN, self.lD - self.cD
        hi = EXPONENT_BOUNDS[1]
        self.amax = min(hi, _MAX_LOG_TERM_RANGE / float(np.ptp(self.lN)))
        self.bmax = min(hi, _MAX_LOG_TERM_RANGE / float(np.ptp(self.lD)))
        if tie:
            self.amax = self.bmax = min(self.amax, self.bmax)
        k = 4 if tie else 5
        self.lower = np.zeros(k)
        self.upper = np.array([np.inf, np.inf, np.inf, self.amax] + ([] if tie else [self.bmax]))

    # ---- coordinates
    def full(self, x: np.ndarray) -> np.ndarray:
        return _untie(x) if self.tie else x

    def x_from_theta(self, theta: np.ndarray) -> np.ndarray:
        """theta (log, uncentred, user units) -> x, clipped into the bounds."""
        e, a, b, alpha, beta = (float(v) for v in theta)
        x = np.array([math.exp(min(e - self.log_scale, 700.0)),
                      math.exp(min(a - alpha * self.cN - self.log_scale, 700.0)),
                      math.exp(min(b - beta * self.cD - self.log_scale, 700.0)), alpha, beta])
        x = x[:4] if self.tie else x
        return np.clip(x, self.lower, self.upper)

    def theta(self, x: np.ndarray) -> np.ndarray:
        """x -> theta = (e, a, b, alpha, beta) in the user's units (logs: finite whatever the units)."""
        E, Ac, Bc, alpha, beta = self.full(x)
        lg = [math.log(max(float(v), _TINY)) + self.log_scale for v in (E, Ac, Bc)]
        return np.array([lg[0], lg[1] + alpha * self.cN, lg[2] + beta * self.cD, alpha, beta])

    # ---- the objectives and their Gauss-Newton models
    def model(self, x: np.ndarray, method: str, delta: float, asymmetry: float, derivatives: bool = True):
        """Objective F at x and, with ``derivatives``, (F, gradient, Gauss-Newton Hessian, gradient
        scale, damping diagonal): the scale is sum |J| |psi|, the size of the terms whose sum is the
        gradient; the damping diagonal is that of J' diag(psi(r) / r) J, the curvature of the
        quadratic that majorises the Huber loss (IRLS's), which unlike the Gauss-Newton Hessian
        is not ~0 when most points sit in the loss's linear zone.

        varpro: F = sum(f**2), f = L_pred / L - 1; gradient 2 J'f, Hessian 2 J'J.
        huber / asymmetric: F = sum(c_i huber_delta(r_i)), r = log L_pred - log L, c_i = asymmetry
        where r_i > 0 (asymmetric) else 1; gradient J'(c psi(r)), psi = clip(r, -delta, delta);
        Hessian J' diag(c [|r| <= delta]) J: the points in the linear zone of the loss add no
        curvature (the model of SciPy's least_squares with loss="huber").
        """
        E, Ac, Bc, alpha, beta = self.full(x)
        fN, fD = np.exp(-alpha * self.uN), np.exp(-beta * self.uD)
        S = E + Ac * fN + Bc * fD
        if method == "varpro":
            f = S * self.w - 1.0
            F = float(f @ f)
            if not derivatives:
                return F
            wt, psi, h, hmaj = self.w, 2.0 * f, 2.0, 2.0
        else:
            S = np.maximum(S, _TINY)
            r = np.log(S) - self.lLn
            ar = np.abs(r)
            inner = ar <= delta
            c = np.where(r > 0, asymmetry, 1.0) if method == "asymmetric" else 1.0
            F = float(np.sum(c * np.where(inner, 0.5 * r * r, delta * (ar - 0.5 * delta))))
            if not derivatives:
                return F
            wt = 1.0 / S
            psi = c * np.clip(r, -delta, delta)
            h = c * inner
            hmaj = c * np.minimum(1.0, delta / np.maximum(ar, _TINY))  # psi(r) / r: a majorising curvature
        J = np.column_stack([wt, wt * fN, wt * fD, -Ac * self.uN * fN * wt, -Bc * self.uD * fD * wt])
        if self.tie:
            J = _tie_columns(J)
        Jh = J * (h if np.ndim(h) == 0 else h[:, None])
        dmaj = (J * J).T @ (np.full(len(J), hmaj) if np.ndim(hmaj) == 0 else hmaj)
        return F, J.T @ psi, Jh.T @ J, np.abs(J).T @ np.abs(psi), dmaj

    def refine(self, x0: np.ndarray, method: str, delta: float, asymmetry: float,
               max_iter: int = MAX_ITERATIONS) -> tuple[np.ndarray, float, int, bool]:
        """A local minimum of ``method``'s objective from ``x0`` within the bounds, by a bounded
        Levenberg-Marquardt on the Gauss-Newton model of :meth:`model` (Marquardt's diagonal
        scaling, Nielsen's damping update; variables at a bound with the gradient pushing out are
        held there). Returns (x, objective, evaluations, converged).

        Written out rather than SciPy's ``least_squares`` (same model, same optima: F agreed to
        ~1e-15 relative on bootstrap resamples of the (Mis)Fitting ladder) because its per-step
        overhead dominated the bootstrap: ~4 ms a refit instead of ~9 ms. Converged when the
        projected gradient is 1e-10 of its scale (rounding noise), when an accepted step gains under
        1e-14 of F, or when no step within rounding lowers F; otherwise it stops after ``max_iter``
        steps (real ladders converge in under ~100; only degenerate data crawl on, e.g. a term of
        1e-9 of the loss trading its exponent for its scale), not converged.
        """
        lo, hi = self.lower, self.upper
        x = np.clip(np.asarray(x0, float), lo, hi)
        F, g, H, gs, dm = self.model(x, method, delta, asymmetry)
        mu, nu, nfev, converged = 1e-3, 2.0, 1, False
        for _ in range(max_iter):
            free = ~(((x <= lo) & (g > 0)) | ((x >= hi) & (g < 0)))
            if not free.any() or np.all(np.abs(g[free]) <= 1e-10 * gs[free]):
                converged = True
                break
            if free.all():
                Hf, gf, dg = H, g, dm
            else:
                Hf, gf, dg = H[np.ix_(free, free)], g[free], dm[free]
            dg = np.maximum(dg, 1e-12 * max(float(np.max(dg)), _TINY))
            try:
                p = np.linalg.solve(Hf + mu * np.diag(dg), -gf)
            except np.linalg.LinAlgError:
                mu, nu = mu * nu, nu * 2
                continue
            xn = x.copy()
            xn[free] += p
            xn = np.clip(xn, lo, hi)
            d = xn - x
            if not np.any(d):
                converged = True
                break
            with np.errstate(all="ignore"):  # a trial step far from the data may overflow: rejected below
                trial = self.model(xn, method, delta, asymmetry)
            nfev += 1
            if trial[0] < F and all(np.all(np.isfinite(t)) for t in trial[1:]):
                pred = -(g @ d + 0.5 * d @ H @ d)
                rho = (F - trial[0]) / pred if pred > 0 else 0.0
                small = F - trial[0] <= 1e-14 * F
                x, (F, g, H, gs, dm) = xn, trial
                mu *= max(0.1, 1.0 - (2.0 * rho - 1.0) ** 3)
                nu = 2.0
                if small:
                    converged = True
                    break
            else:
                mu, nu = mu * nu, nu * 2
                if mu > 1e30:
                    converged = True
                    break
        return x, F, nfev, converged

    # ---- the grid of starts
    def grid(self, method: str, delta: float, asymmetry: float):
        """The exact variable-projection profile on the exponent grid: for each grid (alpha, beta)
        the (E, Ac, Bc) >= 0 minimising sum((L_pred / L - 1)**2) (non-negative least squares, solved
        for every grid point at once by enumerating the 7 non-empty active sets of the 3
        coefficients in closed form: the NNLS optimum is the best active set whose unconstrained
        solution is non-negative), and ``method``'s objective there. Returns (alphas, betas, coef (a, b, 3),
        objective (a, b)); tied: the diagonal, as (a, 1) arrays."""
        ga = EXPONENT_GRID[EXPONENT_GRID < self.amax]
        ga = np.append(ga, self.amax)
        gb = ga if self.tie else np.append(EXPONENT_GRID[EXPONENT_GRID < self.bmax], self.bmax)
        w, w2 = self.w, self.w ** 2
        with np.errstate(under="ignore"):
            FN = np.exp(-np.outer(ga, self.uN))  # (a, n), entries in [e^-100, e^100]
            FD = np.exp(-np.outer(gb, self.uD))
        if self.tie:
            G12 = np.einsum("in,n,in->i", FN, w2, FD)[:, None]
            shape = (len(ga), 1)
            FDg = FD  # row i pairs with FN row i
        else:
            G12 = (FN * w2) @ FD.T
            shape = (len(ga), len(gb))
            FDg = None
        G = np.empty(shape + (3, 3))
        G[..., 0, 0] = w2.sum()
        G[..., 0, 1] = G[..., 1, 0] = (FN @ w2)[:, None]
        G[..., 1, 1] = ((FN ** 2) @ w2)[:, None]
        if self.tie:
            G[..., 0, 2] = G[..., 2, 0] = (FD @ w2)[:, None]
            G[..., 2, 2] = ((FD ** 2) @ w2)[:, None]
        else:
            G[..., 0, 2] = G[..., 2, 0] = (FD @ w2)[None, :]
            G[..., 2, 2] = ((FD ** 2) @ w2)[None, :]
        G[..., 1, 2] = G[..., 2, 1] = G12
        r = np.empty(shape + (3,))
        r[..., 0] = w.sum()  # X^T t with t = L * w = 1
        r[..., 1] = (FN @ w)[:, None]
        r[..., 2] = ((FD @ w)[:, None] if self.tie else (FD @ w)[None, :])
        d = np.sqrt(np.einsum("...ii->...i", G))  # column norms: the normal equations of unit columns
        g01 = G[..., 0, 1] / (d[..., 0] * d[..., 1])
        g02 = G[..., 0, 2] / (d[..., 0] * d[..., 2])
        g12 = G[..., 1, 2] / (d[..., 1] * d[..., 2])
        rs = r / d
        best_sse = np.full(shape, float(self.n))  # the empty active set: all coefficients 0
        coef = np.zeros(shape + (3,))
        sols = []  # (active columns, their coefficients (..., k), determinant of their normalised Gram)
        det3 = 1 + 2 * g01 * g02 * g12 - g01 ** 2 - g02 ** 2 - g12 ** 2
        adj = ((1 - g12 ** 2, g02 * g12 - g01, g01 * g12 - g02), (g02 * g12 - g01, 1 - g02 ** 2, g01 * g02 - g12),
               (g01 * g12 - g02, g01 * g02 - g12, 1 - g01 ** 2))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            sols.append(((0, 1, 2), np.stack([sum(adj[i][j] * rs[..., j] for j in range(3)) for i in range(3)], -1)
                         / det3[..., None], det3))
            for (i, j), gij in (((0, 1), g01), ((0, 2), g02), ((1, 2), g12)):
                det2 = 1 - gij ** 2
                sols.append(((i, j), np.stack([rs[..., i] - gij * rs[..., j], rs[..., j] - gij * rs[..., i]], -1)
                             / det2[..., None], det2))
        for i in range(3):
            sols.append(((i,), rs[..., i:i + 1], np.ones(shape)))
        # Exact NNLS by enumeration: some optimum has a passive set of independent columns, so a
        # (numerically) singular subset (determinant under 1e-12) can be skipped.
        for subset, c, det in sols:
            idx = np.array(subset)
            ok = (det > 1e-12) & np.all(np.isfinite(c) & (c >= 0), axis=-1)
            c = np.where(ok[..., None], c, 0.0)
            sse = self.n - np.einsum("...i,...i->...", c, rs[..., idx])
            better = ok & (sse < best_sse)
            best_sse = np.where(better, sse, best_sse)
            full = np.zeros(shape + (3,))
            full[..., idx] = c
            coef = np.where(better[..., None], full, coef)
        coef = coef / d
        if method == "varpro":
            return ga, gb, coef, np.maximum(best_sse, 0.0)
        obj = np.empty(shape)
        w_asym = asymmetry if method == "asymmetric" else 1.0
        for i in range(shape[0]):  # row by row: (b, n) predictions at a time
            fd = FDg[i:i + 1] if self.tie else FD
            S = coef[i, :, 0:1] + coef[i, :, 1:2] * FN[i] + coef[i, :, 2:3] * fd
            res = np.log(np.maximum(S, _TINY)) - self.lLn
            obj[i] = _huber_sum(res, delta, w_asym)
        return ga, gb, coef, obj

    def candidates(self, method: str, delta: float, asymmetry: float, k: int = N_STARTS) -> list[np.ndarray]:
        """Starts: the ``k`` best local minima (8-neighbour, edges included) of ``method``'s
        objective on the grid, each with its NNLS (E, Ac, Bc), best first."""
        ga, gb, coef, obj = self.grid(method, delta, asymmetry)
        obj = np.where(np.isfinite(obj), obj, np.inf)
        pad = np.pad(obj, 1, constant_values=np.inf)
        h, w_ = obj.shape
        is_min = np.ones_like(obj, dtype=bool)
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                if di or dj:
                    is_min &= obj <= pad[1 + di:1 + di + h, 1 + dj:1 + dj + w_]
        cells = np.argwhere(is_min)
        cells = cells[np.argsort(obj[is_min], kind="stable")][:k]
        if not len(cells):  # all non-finite (cannot happen for valid data): start at the grid's middle
            cells = np.array([[h // 2, w_ // 2]])
        starts = []
        for i, j in cells:
            E, Ac, Bc = coef[i, j]
            starts.append(np.array([E, Ac, Bc, ga[i]]) if self.tie else np.array([E, Ac, Bc, ga[i], gb[j]]))
        return starts

    def solve(self, method: str, delta: float, asymmetry: float,
              start: np.ndarray | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """The best local minimum over the grid's candidate starts (``start``: from x = ``start``
        alone, the bootstrap's warm start). Returns (x, info)."""
        starts = [start] if start is not None else self.candidates(method, delta, asymmetry)
        # Every start gets SCOUT_ITERATIONS steps (real ladders converge in fewer; a start that
        # does not is crawling through a region far from any good fit), then the best one, if
        # it has not converged, continues up to MAX_ITERATIONS.
        budget = MAX_ITERATIONS if len(starts) == 1 else SCOUT_ITERATIONS
        best, nfev = None, 0
        for x0 in starts:
            x, obj, n, converged = self.refine(x0, method, delta, asymmetry, budget)
            nfev += n
            if best is None or obj < best[1]:
                best = (x, obj, converged)
        if not best[2] and budget < MAX_ITERATIONS:
            x, obj, n, converged = self.refine(best[0], method, delta, asymmetry, MAX_ITERATIONS - budget)
            nfev += n
            best = (x, obj, converged)
        info = {"starts": len(starts), "nfev": nfev, "converged": best[2]}
        return best[0], info


# ----------------------------------------------------------------------------- fitting
def _validated(N, D, L, tie: bool = False):
    N = as_float_array(N, "N")
    D = as_float_array(D, "D")
    L = as_float_array(L, "L")
    check_same_length(N=N, D=D, L=L)
    for arr, name in ((N, "N"), (D, "D"), (L, "L")):
        check_positive(arr, name)
    if tie:
        check_enough_points(len(N), 4, "the Chinchilla law E + A/N**alpha + B/D**alpha (tied exponents)")
    else:
        check_enough_points(len(N), 5, "the Chinchilla law E + A/N**alpha + B/D**beta")
    check_not_constant(N, "N")
    check_not_constant(D, "D")
    span = float(np.ptp(np.log10(L)))
    if span > MAX_LOSS_SPAN_DECADES:
        raise ValueError(f"L spans {span:.3g} decades (over {MAX_LOSS_SPAN_DECADES:g}): not a loss curve; "
                         "check the loss column")
    return N, D, L


def _to_log_theta(params: np.ndarray, floor: float = 1e-12) -> np.ndarray:
    """(E, A, B, alpha, beta) -> (e, a, b, alpha, beta), flooring zeros from NNLS for the log."""
    E, A, B, alpha, beta = params
    return np.array([math.log(max(E, floor)), math.log(max(A, floor)), math.log(max(B, floor)), alpha, beta])


def _params(theta: np.ndarray, zero: Sequence[bool] = (False, False, False)) -> np.ndarray:
    """theta -> (E, A, B, alpha, beta); a coefficient the search set to exactly 0 stays 0.
    ValueError when E, A or B is beyond float64 (N or D in units so small or large that
    A = exp(a) overflows: the law itself is fine in log space, its reported A is not)."""
    out = []
    for v, name, z in zip(theta[:3], ("E", "A", "B"), zero):
        if z:
            out.append(0.0)
            continue
        if v > 709.0:
            raise ValueError(f"the fitted {name} = exp({v:.4g}) is beyond float64: express N and D in units "
                             "nearer 1 (e.g. millions of parameters, billions of tokens)")
        out.append(math.exp(v))
    return np.array(out + [float(theta[3]), float(theta[4])])


def _solve_theta(N, D, L, method: str, delta: float, start: np.ndarray | None = None, tie: bool = False,
                 asymmetry: float = DEFAULT_ASYMMETRY) -> tuple[np.ndarray, np.ndarray, dict]:
    """Fit and return (theta, exactly-zero mask of E, A, B, info). ``start``: a theta to refine
    from alone (the bootstrap's warm start)."""
    prob = _Problem(N, D, L, tie)
    x0 = None if start is None else prob.x_from_theta(start)
    x, sinfo = prob.solve(method, delta, asymmetry, x0)
    info: dict[str, Any] = {"method": method}
    if tie:
        info["tie_exponents"] = True
    info.update(sinfo)
    info["exponent_bounds"] = {"alpha": [EXPONENT_BOUNDS[0], prob.amax], "beta": [EXPONENT_BOUNDS[0], prob.bmax]}
    theta = prob.theta(x)
    zero = tuple(bool(v == 0.0) for v in x[:3])
    if method == "varpro":
        info["objective"] = prob.model(x, method, delta, asymmetry, derivatives=False)
    else:
        info["huber_delta"] = delta
        w = asymmetry if method == "asymmetric" else 1.0
        info["objective"] = _huber_objective(theta, prob.lN, prob.lD, prob.lL, delta, w)[0]
        if method == "asymmetric":
            info["asymmetry"] = asymmetry
    return theta, zero, info


def _solve(N, D, L, method: str, delta: float, start: np.ndarray | None = None, tie: bool = False,
           asymmetry: float = DEFAULT_ASYMMETRY) -> tuple[np.ndarray, dict]:
    """Fit and return (E, A, B, alpha, beta) and method notes. ``start``: (E, A, B, alpha, beta)
    to refine from alone (a warm start, as the bootstrap does)."""
    theta0 = None if start is None else _to_log_theta(np.asarray(start, float), floor=_TINY)
    theta, zero, info = _solve_theta(N, D, L, method, delta, theta0, tie, asymmetry)
    return _params(theta, zero), info


def fit_chinchilla(N, D, L, method: str = "huber", flops_per_token_factor: float = 6.0,
                   delta: float = HUBER_DELTA, level: float = 0.95, tie_exponents: bool = False,
                   asymmetry: float = DEFAULT_ASYMMETRY) -> "ChinchillaFit":
    """Fit ``L = E + A/N**alpha + B/D**beta`` to final losses of runs with N params and D tokens.

    ``method``: "huber" (Hoffmann/Epoch objective, the default), "varpro" (squared error by
    variable projection) or "asymmetric" (the law as a lower bound: over-predicting a run costs
    ``asymmetry`` times under-predicting it; its fit is flagged, use ``bootstrap()`` for
    intervals); see the module docstring for what each does and which is more robust.
    ``tie_exponents``: enforce alpha = beta (4 free parameters; ``beta`` reported equal to
    ``alpha``). ``asymmetry`` (a number >= 1) is used only by ``method="asymmetric"``.
    ``flops_per_token_factor`` is k in C = k*N*D, used by :meth:`ChinchillaFit.compute_optimal`.
    Raises ``ValueError`` on bad input (non-finite or non-positive values, mismatched lengths,
    constant N or D, fewer points than free parameters: 5, or 4 with tied exponents; losses
    spanning over 50 decades) and never anything else; a fit the points cannot identify (see the
    module docstring) is returned flagged (``flags["*"]`` and ``info["unidentified"]``).
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    if not (flops_per_token_factor > 0 and math.isfinite(flops_per_token_factor)):
        raise ValueError(f"flops_per_token_factor must be a positive number, got {flops_per_token_factor!r}")
    if not isinstance(tie_exponents, (bool, np.bool_)):
        raise ValueError(f"tie_exponents must be True or False, got {tie_exponents!r}")
    try:
        asymmetry = float(asymmetry)
        delta = float(delta)
    except (TypeError, ValueError):
        raise ValueError(f"asymmetry must be a number >= 1 and delta a positive number, got {asymmetry!r}, "
                         f"{delta!r}") from None
    if not (asymmetry >= 1 and math.isfinite(asymmetry)):
        raise ValueError(f"asymmetry must be a finite number >= 1 (the weight on over-prediction), got {asymmetry!r}")
    if not (delta > 0 and math.isfinite(delta)):
        raise ValueError(f"delta (the Huber threshold) must be a positive finite number, got {delta!r}")
    tie = bool(tie_exponents)
    N, D, L = _validated(N, D, L, tie)
    theta, zero, info = _solve_theta(N, D, L, method, delta, tie=tie, asymmetry=asymmetry)
    return ChinchillaFit._build(N, D, L, theta, info, method, flops_per_token_factor, delta, level, tie,
                                asymmetry, zero)


def _identification(N: np.ndarray, D: np.ndarray, tie: bool) -> list[str]:
    """Why the points cannot identify the law (an empty list when they can), from the design alone.

    - N (or D) spans under ``MIN_SPAN_DECADES`` = 0.2 decades. Over a span of s decades a term
      A/N**alpha departs from a straight line in log N by about (alpha * s * ln 10)**2 / 8 of
      itself: at alpha = 0.34 (Hoffmann et al.) and s = 0.2 that is 0.3%, under the ~1% seed-to-seed
      noise of a language-model loss, so the curvature that separates the term from E is not
      measurable and A, alpha and E trade off along a valley of equal fit.
    - Fewer than 3 distinct values of N (or of D): E + A/N**alpha seen at 2 sizes gives one
      difference for two unknowns (A, alpha) besides E. With tied exponents, one variable with
      >= 3 distinct values fixes alpha, so only both under 3 is flagged.
    - The points lie within 0.2 decades of one line in (log N, log D), D ~ N**s: a single IsoFLOP
      budget (s = -1) or a fixed tokens-per-parameter ladder (s = 1). Along the line the two terms
      are functions of one variable and trade off (for s = 1 and alpha = beta exactly).

    These are floors, not guarantees: a design just above them can still leave a weak fit (e.g. 3
    sizes over 0.25 decades with 0.3% noise fit E = 0; the collapsed-term flag and the bootstrap
    show it), but a design below them cannot identify the law whatever the noise.
    """
    out: list[str] = []
    lN, lD = np.log10(N), np.log10(D)
    spans = {"N": float(np.ptp(lN)), "D": float(np.ptp(lD))}
    terms = {"N": "A/N^alpha", "D": "B/D^beta"}
    for name, span in spans.items():
        if span < MIN_SPAN_DECADES:
            out.append(f"{name} spans only {span:.2g} decades (under {MIN_SPAN_DECADES:g}): {terms[name]} cannot be "
                       "told apart from E")
    distinct = {"N": int(np.unique(N).size), "D": int(np.unique(D).size)}
    if tie:
        if max(distinct.values()) < 3:
            out.append(f"only {distinct['N']} distinct N and {distinct['D']} distinct D: the tied law needs >= 3 "
                       "distinct values of one of them")
    else:
        for name, k in distinct.items():
            if k < 3:
                out.append(f"only {k} distinct values of {name}: {terms[name]} needs >= 3 to fix its scale, its "
                           "exponent and its share of E")
    if min(spans.values()) >= MIN_SPAN_DECADES:
        X = np.column_stack([lN - lN.mean(), lD - lD.mean()])
        v = np.linalg.svd(X, full_matrices=False)[2][-1]  # the thin direction of the cloud
        width = float(np.ptp(X @ v))
        if width < MIN_SPAN_DECADES:
            out.append(f"N and D are collinear in log (D ~ N^{-v[0] / v[1]:.2g}, within {width:.2g} decades: a "
                       "single IsoFLOP budget or a fixed tokens-per-parameter ratio): the N and D terms trade "
                       "off along that line")
    return out


def chinchilla_loss(theta: np.ndarray, N, D) -> np.ndarray:
    """``E + A/N**alpha + B/D**beta`` for ``theta = (e, a, b, alpha, beta)`` (E, A, B = exp(e, a, b))."""
    e, a, b, alpha, beta = theta
    return np.exp(e) + np.exp(a - alpha * np.log(N)) + np.exp(b - beta * np.log(D))


class ChinchillaFit(FitResult):
    """A fitted Chinchilla law. Params ``E, A, B, alpha, beta``; derived ``a = beta/(alpha+beta)``
    (N_opt ~ C**a) and ``b = alpha/(alpha+beta)`` (D_opt ~ C**b); ``predict(N, D)``,
    ``compute_optimal(C)``, ``tokens_per_param(C)`` and ``bootstrap()``."""

    _data: tuple[np.ndarray, np.ndarray, np.ndarray]

    @classmethod
    def _build(cls, N, D, L, theta, info, method, k, delta, level, tie=False,
               asymmetry=DEFAULT_ASYMMETRY, zero=(False, False, False)) -> "ChinchillaFit":
        params = _params(theta, zero)
        lN, lD, lL = np.log(N), np.log(D), np.log(L)
        resid = _log_residuals(theta, lN, lD, lL)
        jac = _log_residual_jacobian(theta, lN, lD)
        if tie:  # the covariance of the 4-parameter problem, mapped back: beta's row and column are alpha's
            cov, dof = covariance_from_jacobian(_tie_columns(jac), resid)
            cov = _TIE_MATRIX @ cov @ _TIE_MATRIX.T
        else:
            cov, dof = covariance_from_jacobian(jac, resid)
        se_t, ci_t = t_intervals(["e", "a", "b", "alpha", "beta"], theta, cov, dof, level)
        se = {"E": params[0] * se_t["e"], "A": params[1] * se_t["a"], "B": params[2] * se_t["b"],
              "alpha": se_t["alpha"], "beta": se_t["beta"]}
        with np.errstate(over="ignore", under="ignore"):  # a log interval wider than float64: (0, inf)
            ci = {"E": tuple(np.exp(ci_t["e"])), "A": tuple(np.exp(ci_t["a"])), "B": tuple(np.exp(ci_t["b"])),
                  "alpha": ci_t["alpha"], "beta": ci_t["beta"]}
        info = {**info, "ci_method": "asymptotic (Gauss-Newton on log residuals); see bootstrap()",
                "flops_per_token_factor": k}
        kind = f"chinchilla[{method}, tied]" if tie else f"chinchilla[{method}]"
        fit = cls(kind=kind, params=dict(zip(_PARAM_NAMES, params)), se=se, ci=ci,
                  r2=r_squared(lL, lL + resid), r2_space="log", n=len(N), dof=dof,
                  model=chinchilla_loss, theta=theta, cov=cov, residuals=resid, level=level, info=info)
        # Not identified by the points (the design, or exponents at their bounds): flagged as a whole
        # and listed in info["unidentified"], which the extrapolation checks show in their rows.
        unidentified = _identification(N, D, tie)
        lo = EXPONENT_BOUNDS[0]
        bounds = info.get("exponent_bounds", {})
        names = ("alpha",) if tie else ("alpha", "beta")
        for name in names:
            v, hi = float(fit.params[name]), float(bounds.get(name, [lo, EXPONENT_BOUNDS[1]])[1])
            if v <= lo + 1e-9:
                unidentified.append(f"{name} = {v:.3g}, at the lower bound {lo:g} of its search: its term is a "
                                    "constant, indistinguishable from E")
            elif v >= hi - 1e-9:
                unidentified.append(f"{name} = {v:.3g}, at the upper bound {hi:.3g} of its search: the points want "
                                    "a term steeper than any scaling law (a transient at the smallest runs)")
        if unidentified:
            fit.info["unidentified"] = "; ".join(unidentified)
            fit.flag("*", "not identified: " + fit.info["unidentified"])
        # A term that collapsed to ~0 (e, a or b -> -inf) left the law with 4 effective parameters:
        # the Gauss-Newton intervals then treat the collapsed term as known and are far too narrow.
        e, a, b, alpha, beta = theta
        terms = {"E": np.full(len(N), e), "A/N^alpha": a - alpha * lN, "B/D^beta": b - beta * lD}
        gone = [name for name, v in terms.items() if np.max(v - lL) < math.log(1e-4)]
        if gone:
            fit.flag("*", f"{', '.join(gone)} collapsed to ~0 (under 0.01% of the loss at every point): the "
                          "intervals treat it as known")
        if not info.get("converged", True):
            fit.flag("*", f"the search stopped after {MAX_ITERATIONS} steps without converging (the objective was "
                          "still falling slowly: degenerate data)")
        if method == "asymmetric":
            fit.flag("*", f"asymmetric objective (over-prediction weighted {asymmetry:g}x): the Gauss-Newton "
                          "intervals assume a symmetric least-squares fit and are not valid for it; use bootstrap() "
                          "for intervals")
        fit.method = method
        fit.delta = delta
        fit.tie_exponents = tie
        fit.asymmetry = asymmetry
        fit.flops_per_token_factor = float(k)
        fit._data = (N, D, L)
        return fit

    @property
    def a(self) -> float:
        """Exponent of N_opt ~ C**a: beta / (alpha + beta) (NaN when both are 0)."""
        s = self.params["alpha"] + self.params["beta"]
        return self.params["beta"] / s if s > 0 else math.nan

    @property
    def b(self) -> float:
        """Exponent of D_opt ~ C**b: alpha / (alpha + beta) (NaN when both are 0)."""
        s = self.params["alpha"] + self.params["beta"]
        return self.params["alpha"] / s if s > 0 else math.nan

    def to_dict(self) -> dict[str, Any]:
        """The base record plus the derived exponents ``a`` and ``b``."""
        d = super().to_dict()
        d["derived"] = jsonable({"a": self.a, "b": self.b})
        return d

    def compute_optimal(self, C) -> tuple[np.ndarray, np.ndarray]:
        """(N_opt, D_opt) minimising the fitted loss subject to C = k*N*D (k = flops_per_token_factor).

        Closed form: N_opt = G * (C/k)**a with G = (alpha*A / (beta*B))**(1/(alpha+beta)),
        D_opt = C / (k * N_opt).
        """
        C = as_float_array(C, "C")
        check_positive(C, "C", "it is a compute budget")
        if not (self.params["alpha"] > 0 and self.params["beta"] > 0):
            raise ValueError(f"no compute-optimal allocation: fitted alpha={self.params['alpha']:.4g} and "
                             f"beta={self.params['beta']:.4g} must both be positive")
        return _compute_optimal(self.theta, C, self.flops_per_token_factor)

    def tokens_per_param(self, C) -> np.ndarray:
        """D_opt / N_opt at budget(s) C."""
        n, d = self.compute_optimal(C)
        return d / n

    def bootstrap(self, n: int = 1000, seed: int = 0, budgets: Sequence[float] = (),
                  level: float | None = None) -> "ChinchillaBootstrap":
        """Refit on ``n`` resamples (with replacement) of the points; standard errors and
        percentile CIs for E, A, B, alpha, beta, a, b and tokens/param at each of ``budgets``.

        Each resample is fitted with this fit's method and options (tied exponents, asymmetry, the
        same exponent bounds), warm-started from this fit's optimum by one local refinement
        (resamples of the same data have nearby optima; this is what makes 1,000 refits take
        seconds rather than hours; a resample whose own optimum lies in another basin of a
        multi-modal objective keeps the basin of the full fit). Resamples holding a single size or
        token count are skipped (``n`` counts the fitted ones). Deterministic for a given ``seed``.
        """
        if not (isinstance(n, (int, np.integer)) and n >= 2):
            raise ValueError(f"bootstrap n must be an integer >= 2, got {n!r}")
        budgets = np.atleast_1d(np.asarray(budgets, dtype=float))
        budgets = as_float_array(budgets, "budgets") if budgets.size else np.zeros(0)
        if budgets.size:
            check_positive(budgets, "budgets", "they are compute budgets")
        level = self.level if level is None else level
        N, D, L = self._data
        rng = np.random.default_rng(seed)
        rows = []
        for _ in range(n):
            idx = rng.integers(0, len(N), len(N))
            if np.ptp(N[idx]) == 0 or np.ptp(D[idx]) == 0:
                continue
            theta, zero, _info = _solve_theta(N[idx], D[idx], L[idx], self.method, self.delta, start=self.theta,
                                              tie=self.tie_exponents, asymmetry=self.asymmetry)
            try:
                rows.append(_params(theta, zero))
            except ValueError:  # A or B beyond float64 (absurd units): not a usable sample
                continue
        samples = np.array(rows).reshape(-1, 5)
        return ChinchillaBootstrap(samples, budgets, self.flops_per_token_factor, level, requested=n, seed=seed)


def optimal_allocation(params, C, k: float = 6.0) -> tuple[np.ndarray, np.ndarray]:
    """(N_opt, D_opt) minimising ``E + A/N**alpha + B/D**beta`` subject to ``k N D = C``, for
    ``params = (E, A, B, alpha, beta)`` (A, B, alpha, beta > 0): the closed form of
    :meth:`ChinchillaFit.compute_optimal`, for a law given by its numbers (e.g. a published one)."""
    _, A, B, alpha, beta = (float(v) for v in params)
    return _compute_optimal(np.array([0.0, math.log(A), math.log(B), alpha, beta]), np.asarray(C, dtype=float), k)


def _compute_optimal(theta: np.ndarray, C: np.ndarray, k: float) -> tuple[np.ndarray, np.ndarray]:
    e, a_, b_, alpha, beta = theta
    # log G = (log(alpha) + a - log(beta) - b) / (alpha + beta)
    log_g = (math.log(alpha) + a_ - math.log(beta) - b_) / (alpha + beta)
    n_opt = np.exp(log_g + beta / (alpha + beta) * np.log(C / k))
    return n_opt, C / (k * n_opt)


def _std(v: np.ndarray) -> float:
    """Sample standard deviation over the finite values (NaN with fewer than 2)."""
    v = v[np.isfinite(v)]
    if v.size < 2:
        return math.nan
    m = float(np.max(np.abs(v)))  # scaled: A and B can be ~1e300 (the squares would overflow)
    return m * float(np.std(v / m, ddof=1)) if m > 0 else 0.0


def _percentiles(v: np.ndarray, lo_q: float, hi_q: float) -> tuple[float, float]:
    v = v[np.isfinite(v)]
    return (float(np.percentile(v, lo_q)), float(np.percentile(v, hi_q))) if v.size else (math.nan, math.nan)


class ChinchillaBootstrap:
    """Bootstrap distribution of a Chinchilla fit.

    ``samples``: name -> array over resamples, for E, A, B, alpha, beta, a, b and
    ``tokens_per_param@<C>`` per requested budget; ``se`` (sample standard deviations) and
    ``ci`` (percentile intervals at ``level``) for each. ``tokens_per_param(C)`` gives the
    bootstrap distribution at any other budget.
    """

    def __init__(self, params: np.ndarray, budgets: np.ndarray, k: float, level: float, requested: int,
                 seed: int) -> None:
        self.params = params
        self.k = k
        self.level = level
        self.n = len(params)
        self.requested = requested
        self.seed = seed
        alpha, beta = params[:, 3], params[:, 4]
        self.samples: dict[str, np.ndarray] = {name: params[:, i] for i, name in enumerate(_PARAM_NAMES)}
        with np.errstate(invalid="ignore", divide="ignore"):  # alpha = beta = 0 (both at the bound): NaN
            self.samples["a"] = beta / (alpha + beta)
            self.samples["b"] = alpha / (alpha + beta)
        for C in budgets:
            self.samples[f"tokens_per_param@{C:.3g}"] = self.tokens_per_param(C)
        lo_q, hi_q = 50 * (1 - level), 50 * (1 + level)
        self.se = {k_: _std(v) for k_, v in self.samples.items()}
        self.ci = {k_: _percentiles(v, lo_q, hi_q) for k_, v in self.samples.items()}

    def tokens_per_param(self, C: float) -> np.ndarray:
        """Bootstrap samples of D_opt/N_opt at budget C (NaN for a resample with an exponent at 0 or a
        collapsed term, which has no compute-optimal allocation)."""
        out = np.full(len(self.params), math.nan)
        for i, (E, A, B, alpha, beta) in enumerate(self.params):
            if A > 0 and B > 0 and alpha > 0 and beta > 0:
                t = np.array([0.0, math.log(A), math.log(B), alpha, beta])
                with np.errstate(over="ignore", under="ignore"):
                    n_opt, d_opt = _compute_optimal(t, np.array([float(C)]), self.k)
                    out[i] = d_opt[0] / n_opt[0]
        return out

    def to_dict(self) -> dict[str, Any]:
        return jsonable({"n": self.n, "requested": self.requested, "seed": self.seed, "level": self.level,
                         "se": self.se, "ci": {k: list(v) for k, v in self.ci.items()}})

    def __repr__(self) -> str:
        body = ", ".join(f"{k}±{v:.3g}" for k, v in self.se.items())
        return f"<ChinchillaBootstrap n={self.n}: SE {body}>"
