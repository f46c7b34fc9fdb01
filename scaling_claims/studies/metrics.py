"""pass@k estimators (Chen et al. 2021, "Evaluating Large Language Models Trained on Code").

Given n samples per problem of which c are correct, the unbiased estimator of
pass@k = P(at least one of k samples is correct) is

    1 - C(n - c, k) / C(n, k) = 1 - prod_{i = n - c + 1}^{n} (1 - k / i),

and exactly 1 when n - c < k. The product form avoids the huge binomial coefficients (they
overflow float64 near n ~ 1030) and is what :func:`pass_at_k` computes, as a sum of
``log1p(-k / i)`` vectorised over problems. Its expectation over c ~ Binomial(n, p) is exactly
1 - (1 - p)**k (the tests check this). The plug-in :func:`pass_at_k_plugin`,
1 - (1 - c/n)**k, is biased (it underestimates pass@k, by Jensen's inequality); it is here for
comparison only.
"""

from __future__ import annotations

import numpy as np


def _counts(n, c, k) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    arrays = []
    for value, name in ((n, "n"), (c, "c"), (k, "k")):
        try:
            a = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be numeric, got {value!r}") from None
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} must be finite, got {value!r}")
        if np.any(a != np.round(a)):
            raise ValueError(f"{name} must be whole numbers (counts), got {value!r}")
        arrays.append(a.astype(np.int64))
    try:
        n, c, k = np.broadcast_arrays(*arrays)
    except ValueError:
        raise ValueError(f"n, c and k have incompatible shapes {[a.shape for a in arrays]}") from None
    if np.any(n < 1):
        raise ValueError("n (samples per problem) must be >= 1")
    if np.any(c < 0) or np.any(c > n):
        raise ValueError("c (correct samples) must satisfy 0 <= c <= n")
    if np.any(k < 1) or np.any(k > n):
        raise ValueError("k must satisfy 1 <= k <= n (the estimator needs at least k samples)")
    return n, c, k


def pass_at_k(n, c, k):
    """Unbiased pass@k per problem (Chen et al. 2021), numerically stable product form.

    ``n`` samples, ``c`` correct, ``k`` attempts; arrays broadcast (one entry per problem).
    Returns a float (scalar inputs) or an array; average it over problems for the benchmark's
    pass@k. Raises ``ValueError`` unless 1 <= k <= n and 0 <= c <= n are whole numbers.
    """
    n, c, k = _counts(n, c, k)
    shape = n.shape
    n, c, k = (v.ravel() for v in (n, c, k))
    out = np.ones(n.shape, dtype=np.float64)
    todo = (n - c) >= k
    if todo.any():
        nn, cc, kk = n[todo], c[todo], k[todo]
        width = int(cc.max())
        if width == 0:
            out[todo] = 0.0
        else:
            j = np.arange(width)
            i = (nn - cc + 1)[:, None] + j[None, :]  # i = n-c+1 ... n, padded to the largest c
            mask = j[None, :] < cc[:, None]
            safe_i = np.where(mask, i, 2 * kk[:, None])  # padding entries are masked out below
            terms = np.where(mask, np.log1p(-kk[:, None] / safe_i), 0.0)
            out[todo] = 0.0 - np.expm1(terms.sum(axis=1))  # 0.0 - : no negative zero
    return float(out[0]) if shape == () else out.reshape(shape)


def pass_at_k_plugin(n, c, k):
    """Biased plug-in estimate 1 - (1 - c/n)**k (for comparison with :func:`pass_at_k`)."""
    n, c, k = _counts(n, c, k)
    out = 1.0 - (1.0 - c / n) ** k
    return float(out) if out.ndim == 0 else out
