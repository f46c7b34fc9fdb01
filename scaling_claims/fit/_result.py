"""``FitResult``: the one object every fitter returns.

Modelled on SciPy's ``OptimizeResult``: a single object carrying the fitted parameters
(``params``, also readable as attributes, e.g. ``res.exponent``), their standard errors
(``se``) and confidence intervals (``ci``, at ``level``, default 95%), the goodness of fit
(``r2``, computed in the space named by ``r2_space``), the number of points and residual
degrees of freedom, and ``predict()``. ``to_dict()`` gives a JSON-ready record.

Internally a fit is a parameter vector ``theta`` with covariance ``cov`` and a model
``model(theta, *x)``; ``predict_interval`` propagates ``cov`` to a prediction by the delta
method (a linearisation: honest near the data, increasingly optimistic far outside it).
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable, Sequence

import numpy as np
from scipy import stats


def t_quantile(level: float, dof: int) -> float:
    """Two-sided Student-t quantile for a ``level`` interval (normal when dof is huge); NaN if dof < 1."""
    if dof < 1:
        return math.nan
    return _t_quantile(float(level), dof)


@functools.lru_cache(maxsize=1024)
def _t_quantile(level: float, dof: float) -> float:
    # cached: bootstraps refit thousands of times at the same (level, dof), and scipy's ppf costs
    # ~0.1 ms a call (~3 s of the quick set's CPU before the cache)
    return float(stats.t.ppf(0.5 + level / 2.0, dof))


def r_squared(observed: np.ndarray, predicted: np.ndarray) -> float:
    """Coefficient of determination 1 - SS_res / SS_tot (NaN when the observations are constant)."""
    ss_res = float(np.sum((observed - predicted) ** 2))
    ss_tot = float(np.sum((observed - observed.mean()) ** 2))
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else math.nan


def covariance_from_jacobian(jac: np.ndarray, residuals: np.ndarray) -> tuple[np.ndarray, int]:
    """Gauss-Newton covariance s^2 (J^T J)^+ of a least-squares fit, and its residual dof."""
    n, p = jac.shape
    dof = n - p
    if dof < 1:
        return np.full((p, p), math.nan), dof
    s2 = float(residuals @ residuals) / dof
    return s2 * np.linalg.pinv(jac.T @ jac), dof


def jsonable(v: Any) -> Any:
    """Convert NumPy scalars/arrays, tuples and dicts to plain JSON types; NaN/inf become None."""
    if isinstance(v, (np.floating, np.integer, np.bool_)):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, np.ndarray):
        return [jsonable(x) for x in v.tolist()]
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    return v


class FitResult:
    """Parameters, uncertainties, goodness of fit and ``predict()`` of one fit.

    Attributes: ``kind`` (which law), ``params`` (name -> value), ``se`` (name -> standard
    error), ``ci`` (name -> (lo, hi) at ``level``), ``r2`` and ``r2_space`` ("log" or
    "linear"), ``n`` (points), ``dof`` (n minus free parameters), ``residuals`` (in the
    r2 space), ``info`` (method notes: objective, optimiser status, ...). Parameters are
    also attributes: ``res.exponent`` is ``res.params["exponent"]``.

    ``flags`` maps a parameter name (or ``"*"``, the whole fit) to why its interval must not be
    used as a confidence interval: the fit ended at a bound of a parameter's physical range, or
    degenerated (a logistic with no point on its rise, a parameter the data do not identify).
    ``scaling_claims.estimates.Estimate.from_fit`` carries the flag, and a check on a flagged
    estimate is inconclusive. ``ok`` is True when nothing is flagged.
    """

    def __init__(
        self,
        *,
        kind: str,
        params: dict[str, float],
        se: dict[str, float],
        ci: dict[str, tuple[float, float]],
        r2: float,
        r2_space: str,
        n: int,
        dof: int,
        model: Callable[..., np.ndarray],
        theta: np.ndarray,
        cov: np.ndarray,
        residuals: np.ndarray,
        level: float = 0.95,
        info: dict[str, Any] | None = None,
        flags: dict[str, str] | None = None,
    ) -> None:
        self.kind = kind
        self.params = {k: float(v) for k, v in params.items()}
        self.se = {k: float(v) for k, v in se.items()}
        self.ci = {k: (float(lo), float(hi)) for k, (lo, hi) in ci.items()}
        self.r2 = float(r2)
        self.r2_space = r2_space
        self.n = int(n)
        self.dof = int(dof)
        self.level = float(level)
        self.residuals = np.asarray(residuals, dtype=float)
        self.info = dict(info or {})
        self.flags = dict(flags or {})
        self._model = model
        self.theta = np.asarray(theta, dtype=float)
        self.cov = np.asarray(cov, dtype=float)

    def __getattr__(self, name: str) -> Any:
        params = self.__dict__.get("params")
        if params is not None and name in params:
            return params[name]
        raise AttributeError(f"{type(self).__name__} ({self.__dict__.get('kind', '?')}) has no attribute {name!r}")

    @property
    def ok(self) -> bool:
        """True when no parameter's interval is flagged (see ``flags``)."""
        return not self.flags

    def flag(self, name: str, why: str) -> None:
        """Mark parameter ``name`` (``"*"``: the whole fit) as having no usable interval."""
        self.flags[name] = why if name not in self.flags else f"{self.flags[name]}; {why}"

    def predict(self, *x: Any) -> np.ndarray:
        """The fitted law evaluated at ``x`` (arrays broadcast; returns a float64 array)."""
        return np.asarray(self._model(self.theta, *(np.asarray(v, dtype=float) for v in x)), dtype=float)

    def predict_interval(self, *x: Any, level: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(lo, hi) of a ``level`` confidence band for the fitted law at ``x`` (delta method).

        This is the uncertainty of the *fitted curve* (parameter uncertainty only), not a
        prediction interval for a new noisy observation.
        """
        level = self.level if level is None else level
        xs = tuple(np.asarray(v, dtype=float) for v in x)
        centre = self.predict(*xs)
        if not np.all(np.isfinite(self.cov)):
            nan = np.full_like(centre, math.nan)
            return nan, nan
        grads = []
        for j in range(self.theta.size):
            h = 1e-6 * max(1.0, abs(self.theta[j]))
            up, dn = self.theta.copy(), self.theta.copy()
            up[j] += h
            dn[j] -= h
            grads.append((self._model(up, *xs) - self._model(dn, *xs)) / (2 * h))
        g = np.stack([np.broadcast_to(gj, centre.shape) for gj in grads], axis=-1)
        var = np.einsum("...i,ij,...j->...", g, self.cov, g)
        q = t_quantile(level, self.dof) if self.dof >= 1 else math.nan
        half = q * np.sqrt(np.maximum(var, 0.0))
        return centre - half, centre + half

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record: kind, params, se, ci, r2, n, dof, level and info."""
        return jsonable({
            "kind": self.kind,
            "params": self.params,
            "se": self.se,
            "ci": {k: list(v) for k, v in self.ci.items()},
            "level": self.level,
            "r2": self.r2,
            "r2_space": self.r2_space,
            "n": self.n,
            "dof": self.dof,
            "info": self.info,
            "flags": self.flags,
        })

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={v:.4g}" for k, v in self.params.items())
        return f"<{type(self).__name__} {self.kind}: {body}; r2({self.r2_space})={self.r2:.4f}, n={self.n}>"


def t_intervals(names: Sequence[str], values: np.ndarray, cov: np.ndarray, dof: int,
                level: float) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    """Standard errors and symmetric t intervals for parameters with covariance ``cov``."""
    se_arr = np.sqrt(np.maximum(np.diag(cov), 0.0)) if np.all(np.isfinite(cov)) else np.full(len(names), math.nan)
    q = t_quantile(level, dof)
    se = {n: float(s) for n, s in zip(names, se_arr)}
    ci = {n: (float(v - q * s), float(v + q * s)) for n, v, s in zip(names, values, se_arr)}
    return se, ci
