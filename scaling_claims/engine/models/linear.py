"""Linear and random-feature models in NumPy float64 (no torch: the closed-form claims).

- :func:`min_norm_lstsq`: the minimum-norm least-squares solution (the limit of gradient
  descent from zero, and of ridge as lambda -> 0): interpolates when p >= n;
- :func:`ridge`: (X^T X + lambda n I)^-1 X^T y, lambda > 0 (penalty scaled by n so a given
  lambda means the same at every sample size);
- :class:`RandomFeatures`: a fixed random map x -> sigma(W x + b) with ReLU or Fourier
  (cos) activations (Rahimi & Recht 2007; Belkin et al. 2019's double-descent models);
- :func:`power_law_spectrum`: eigenvalues k**-(1 + a) for the data of Maloney et al. / Bahri et al.

All take and return float64 arrays; bad shapes or values raise ``ValueError``.
"""

from __future__ import annotations

import numpy as np


def _design(X, y=None) -> tuple[np.ndarray, np.ndarray | None]:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"X must be a non-empty 2-D array (n samples, p features), got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X contains NaN or inf")
    if y is None:
        return X, None
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(f"y must be 1-D with one entry per row of X ({X.shape[0]}), got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError("y contains NaN or inf")
    return X, y


def min_norm_lstsq(X, y) -> np.ndarray:
    """argmin ||w|| among the minimisers of ||X w - y||^2.

    SVD least squares (``np.linalg.lstsq``), except for wide X (p >= 4 n, far from the
    interpolation threshold, where X X^T is well conditioned): there w = X^T (X X^T)^+ y,
    which only factorises an n x n matrix.
    """
    X, y = _design(X, y)
    n, p = X.shape
    if p >= 4 * n:
        alpha, *_ = np.linalg.lstsq(X @ X.T, y, rcond=None)
        return X.T @ alpha
    w, *_ = np.linalg.lstsq(X, y, rcond=None)
    return w


def ridge(X, y, lam: float) -> np.ndarray:
    """Ridge regression: argmin ||X w - y||^2 / n + lam ||w||^2, lam > 0.

    Solved in whichever of the primal (p x p) or dual (n x n) forms is smaller.
    """
    X, y = _design(X, y)
    lam = float(lam)
    if not (lam > 0 and np.isfinite(lam)):
        raise ValueError(f"ridge needs a finite lambda > 0, got {lam}")
    n, p = X.shape
    if p <= n:
        return np.linalg.solve(X.T @ X + lam * n * np.eye(p), X.T @ y)
    return X.T @ np.linalg.solve(X @ X.T + lam * n * np.eye(n), y)


class RandomFeatures:
    """A fixed random feature map ``phi(x) = act(x W^T / sqrt(d) + b)``.

    ``kind="relu"``: ReLU of Gaussian projections (b = 0); ``kind="fourier"``:
    sqrt(2) cos(x W^T / sqrt(d) + b) with b ~ U[0, 2 pi) (random Fourier features of a
    Gaussian kernel). W ~ N(0, 1) of shape (p, d), drawn from ``seed``.
    """

    def __init__(self, d: int, p: int, kind: str = "relu", seed: int = 0) -> None:
        if int(d) < 1 or int(p) < 1:
            raise ValueError(f"RandomFeatures needs d >= 1 and p >= 1, got d={d}, p={p}")
        if kind not in ("relu", "fourier"):
            raise ValueError(f"kind must be 'relu' or 'fourier', got {kind!r}")
        rng = np.random.default_rng(seed)
        self.d, self.p, self.kind = int(d), int(p), kind
        self.W = rng.standard_normal((self.p, self.d))
        self.b = rng.uniform(0.0, 2 * np.pi, self.p) if kind == "fourier" else np.zeros(self.p)

    def __call__(self, X) -> np.ndarray:
        X, _ = _design(X)
        if X.shape[1] != self.d:
            raise ValueError(f"inputs must have {self.d} columns, got {X.shape[1]}")
        z = X @ self.W.T / np.sqrt(self.d) + self.b
        return np.maximum(z, 0.0) if self.kind == "relu" else np.sqrt(2.0) * np.cos(z)


def power_law_spectrum(m: int, a: float) -> np.ndarray:
    """Eigenvalues ``k**-(1 + a)`` for k = 1..m (a > 0): the data covariance of the
    resolution-limited scaling theory."""
    if int(m) < 1 or not float(a) > 0:
        raise ValueError(f"power_law_spectrum needs m >= 1 and a > 0, got m={m}, a={a}")
    return np.arange(1, int(m) + 1, dtype=np.float64) ** -(1.0 + float(a))
