"""Closed forms the theory-anchored claims compare against (NumPy/SciPy float64).

- Hutter 2021, "Learning Curve Theory": features i with probability p_i ~ i**-(1+a), a
  learner that memorises what it has seen errs on unseen features; expected error
  ``sum_i p_i (1 - p_i)**n`` decays as n**-b with ``b = a / (1 + a)``
  (:func:`hutter_expected_error`, :func:`hutter_exponent`, :func:`memoriser_error`).
- Hastie, Montanari, Rosset, Tibshirani 2019: min-norm least squares on isotropic Gaussian
  data, p features, n samples, gamma = p / n, signal ||beta||^2 = r2, noise sigma2: the
  limiting risk is sigma2 gamma / (1 - gamma) for gamma < 1 and r2 (1 - 1/gamma) +
  sigma2 / (gamma - 1) for gamma > 1 (:func:`min_norm_risk`); for gamma < 1 the exact
  finite-n value is sigma2 p / (n - p - 1) (:func:`ols_excess_risk`).
- Resolution-limited linear regression (Maloney, Roberts, Sully 2022; Bahri et al. 2021):
  data with spectrum k**-(1+a); the population risk of the best predictor on N random
  projections (:func:`projection_risk`) falls as N**-a.
- Best-of-n coverage with per-problem success rates p ~ Beta(alpha, beta):
  pass@k = 1 - B(alpha, beta + k) / B(alpha, beta) (:func:`beta_pass_at_k`), whose failure
  rate decays as k**-alpha (Schaeffer et al. 2025's Beta-tail argument).
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import special


def _positive(value, name: str) -> float:
    v = float(value)
    if not (v > 0 and np.isfinite(v)):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return v


def _counts(n, name: str = "n") -> np.ndarray:
    arr = np.asarray(n, dtype=np.float64)
    if arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must be finite and >= 0")
    return arr


# ----------------------------------------------------------------------------- Hutter 2021

def zipf_probabilities(m: int, a: float) -> np.ndarray:
    """p_i proportional to i**-(1+a), i = 1..m, normalised to sum to 1."""
    return _zipf(m, a)[0].copy()


def _zipf(m: int, a: float) -> tuple[np.ndarray, np.ndarray]:
    """(p, cumsum p) of :func:`zipf_probabilities`, validated and cached (read-only arrays)."""
    a = _positive(a, "a")
    if int(m) < 1:
        raise ValueError(f"m must be >= 1, got {m}")
    return _zipf_table(int(m), a)


@functools.lru_cache(maxsize=2)
def _zipf_table(m: int, a: float) -> tuple[np.ndarray, np.ndarray]:
    """(p, cumsum p), read-only: the simulations call these hundreds of times with one (m, a)
    and m in the millions."""
    w = np.arange(1, m + 1, dtype=np.float64) ** -(1.0 + a)
    p = w / w.sum()
    cdf = np.cumsum(p)
    p.flags.writeable = cdf.flags.writeable = False
    return p, cdf


def hutter_exponent(a: float) -> float:
    """The learning-curve exponent b = a / (1 + a)."""
    a = _positive(a, "a")
    return a / (1.0 + a)


def hutter_expected_error(n, a: float, m: int = 2_000_000) -> np.ndarray:
    """Expected error sum_i p_i (1 - p_i)**n of the memorising learner after n samples
    (p over m features; m large enough that the truncated tail is negligible)."""
    n = _counts(n)
    p = _zipf(m, a)[0]
    log1m = np.log1p(-p)
    return np.array([float(np.dot(p, np.exp(k * log1m))) for k in n.ravel()]).reshape(n.shape)


def memoriser_error(n, a: float, m: int, seed: int) -> np.ndarray:
    """One simulated learning curve: draw max(n) samples from the Zipf law and return, for
    each n, the probability mass of features not yet seen in the first n samples."""
    n = _counts(n).astype(np.int64)
    p, cdf = _zipf(m, a)
    rng = np.random.default_rng(seed)
    draws = np.minimum(np.searchsorted(cdf, rng.random(int(n.max())), side="right"), p.size - 1)
    uniq, first = np.unique(draws, return_index=True)  # feature uniq[j] is first drawn at sample first[j]
    order = np.argsort(first)
    cum_seen = np.concatenate([[0.0], np.cumsum(p[uniq[order]])])
    seen_by = np.searchsorted(first[order], n, side="left")  # features first drawn among the first n
    return np.maximum(1.0 - cum_seen[seen_by], 0.0)


# ----------------------------------------------------------------------------- Hastie et al.

def min_norm_risk(gamma, r2: float, sigma2: float) -> np.ndarray:
    """Limiting (n, p -> inf, p/n = gamma) excess test risk of min-norm least squares on
    isotropic Gaussian features; infinite at gamma = 1."""
    g = np.asarray(gamma, dtype=np.float64)
    if np.any(~np.isfinite(g)) or np.any(g <= 0):
        raise ValueError("gamma = p / n must be finite and > 0")
    r2, s2 = float(r2), float(sigma2)
    if r2 < 0 or s2 < 0:
        raise ValueError("r2 and sigma2 must be >= 0")
    with np.errstate(divide="ignore"):
        under = s2 * g / (1.0 - g)
        over = r2 * (1.0 - 1.0 / g) + s2 / (g - 1.0)
    return np.where(g < 1, under, np.where(g > 1, over, np.inf))


def ols_excess_risk(p, n, sigma2: float) -> np.ndarray:
    """Exact expected excess risk sigma2 p / (n - p - 1) of least squares with p isotropic
    Gaussian features and n > p + 1 samples (the variance-limited 1/n law)."""
    p, n = np.asarray(p, dtype=np.float64), np.asarray(n, dtype=np.float64)
    if np.any(n <= p + 1):
        raise ValueError("ols_excess_risk needs n > p + 1")
    return float(sigma2) * p / (n - p - 1.0)


# ----------------------------------------------------------------------------- resolution-limited

def projection_risk(F, spectrum, w) -> float:
    """Population risk of the best linear predictor on features z = F x, x ~ N(0, diag(spectrum)),
    target y = w . x (noise-free, infinite data):
    w^T L w - w^T L F^T (F L F^T)^+ F L w, with L = diag(spectrum)."""
    F = np.asarray(F, dtype=np.float64)
    lam = np.asarray(spectrum, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    if F.ndim != 2 or F.shape[1] != lam.size or w.shape != lam.shape:
        raise ValueError("F must be (N, m) with m = len(spectrum) = len(w)")
    FL = F * lam
    g = FL @ w
    total = float(w @ (lam * w))
    explained = float(g @ np.linalg.lstsq(FL @ F.T, g, rcond=None)[0])
    return max(total - explained, 0.0)


def excess_risk(w_hat, w, spectrum) -> float:
    """(w_hat - w)^T diag(spectrum) (w_hat - w): the test excess risk of a linear predictor."""
    diff = np.asarray(w_hat, dtype=np.float64) - np.asarray(w, dtype=np.float64)
    return float(np.sum(np.asarray(spectrum, dtype=np.float64) * diff * diff))


# ----------------------------------------------------------------------------- best-of-n

def beta_pass_at_k(k, alpha: float, beta: float) -> np.ndarray:
    """Expected pass@k when each problem's success rate is p ~ Beta(alpha, beta):
    E[1 - (1 - p)**k] = 1 - B(alpha, beta + k) / B(alpha, beta)."""
    k = _counts(k, "k")
    a, b = _positive(alpha, "alpha"), _positive(beta, "beta")
    return 1.0 - np.exp(special.betaln(a, b + k) - special.betaln(a, b))
