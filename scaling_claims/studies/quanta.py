"""The quantization model's bookkeeping (Michaud et al. 2023): from a mean loss to a number of
learned quanta, and the exponent of that number. Pure NumPy/SciPy.

The model: a task splits into subtasks ("quanta") used with frequencies p_k ~ k**-(a+1)
(k = 1, 2, ...); a network either has learned a quantum (loss ~ 0 on it) or not (loss ~ b, the
chance loss, ln 2 for a parity), and learns them in order of frequency. So with n learned, the
mean loss is b * S(n), S(n) = sum_{k>n} p_k. With an unbounded list S(n) ~ n**-a, and if
n ~ N (a fixed number of parameters per quantum) or n ~ D**(1/(a+1)) (a quantum is learned once
it has been seen a fixed number of times, D p_n ~ const), L ~ N**-a and L ~ D**-(a/(a+1)).

A miniature run has a *finite* list of T subtasks, and then b * S(n) is not a power law: it
falls to 0 as n -> T (with a = 0.4, T = 48 and n = 20, S is 30% below the unbounded law). So
the loss-curve slope is not the exponent. Instead ``quanta_from_loss`` inverts the exact finite
S: the number n of (most frequent) quanta whose learning would give the measured loss. The
quantization model's exponents then follow from how n grows: n ~ x**gamma gives L ~ x**-(a
gamma) for an unbounded list, so a_N = a gamma_N and a_D = a gamma_D; the theory says gamma_N = 1
and gamma_D = 1/(a+1).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from scaling_claims.fit import fit_power_law
from scaling_claims.fit._result import FitResult

CHANCE_LOSS_BINARY = math.log(2.0)  # cross-entropy of a coin flip: an unlearned parity


def zipf_frequencies(n_tasks: int, a: float) -> np.ndarray:
    """p_k proportional to k**-(a+1), k = 1..n_tasks, summing to 1 (the ``sparse_parity`` task's
    ``task_probs`` with ``zipf_exponent = a + 1``)."""
    if isinstance(n_tasks, bool) or not isinstance(n_tasks, (int, np.integer)) or n_tasks < 1:
        raise ValueError(f"n_tasks must be an integer >= 1, got {n_tasks!r}")
    if not (np.isfinite(a) and a > 0):
        raise ValueError(f"a must be a positive number, got {a!r}")
    w = np.arange(1, n_tasks + 1, dtype=float) ** -(a + 1.0)
    return w / w.sum()


def _frequencies(p) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    if p.ndim != 1 or p.size < 1 or not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError("p must be a non-empty 1-d array of non-negative frequencies")
    if not math.isclose(float(p.sum()), 1.0, rel_tol=1e-6):
        raise ValueError(f"p must sum to 1, sums to {p.sum()!r}")
    if np.any(np.diff(p) > 1e-15):
        raise ValueError("p must be sorted from the most to the least frequent subtask")
    return p


def unlearned_mass(n, p) -> np.ndarray:
    """S(n) = frequency mass of the subtasks not learned when the n most frequent are, for real
    n in [0, T]: sum_k p_k * clip(k - n, 0, 1), linear between whole numbers (a quantum half
    learned counts half). S(0) = 1, S(T) = 0, strictly decreasing when every p_k > 0."""
    p = _frequencies(p)
    n = np.asarray(n, dtype=float)
    if not np.all(np.isfinite(n)) or np.any(n < 0) or np.any(n > p.size):
        raise ValueError(f"n must lie in [0, {p.size}]")
    k = np.arange(1, p.size + 1, dtype=float)
    return np.clip(k - n[..., None], 0.0, 1.0) @ p


def quanta_from_loss(loss, p, chance_loss: float = CHANCE_LOSS_BINARY) -> np.ndarray:
    """The number of quanta n (real, in [0, T]) with chance_loss * S(n) = loss: how many of the
    most frequent subtasks a model with this mean loss has learned, on the quantization model's
    reading. A loss at or above chance_loss gives 0; a loss of 0 gives T."""
    p = _frequencies(p)
    loss = np.asarray(loss, dtype=float)
    if not np.all(np.isfinite(loss)) or np.any(loss < 0):
        raise ValueError("loss must be finite and non-negative")
    if not chance_loss > 0:
        raise ValueError(f"chance_loss must be positive, got {chance_loss!r}")
    grid = np.arange(p.size + 1, dtype=float)
    mass = unlearned_mass(grid, p)  # decreasing: interpolate on the negated values
    mass[0], mass[-1] = 1.0, 0.0  # exactly, not up to the rounding of sum(p)
    return np.interp(-np.minimum(loss / chance_loss, 1.0), -mass, grid)


def fit_quanta_growth(x, n, lo: float, hi: float) -> tuple[FitResult, np.ndarray]:
    """Fit n = coef * x**gamma over the points with lo <= n <= hi (the rest: nothing learned
    yet, or the finite list nearly used up). Returns the power-law fit (its ``exponent`` is
    -gamma, ``fit_power_law``'s decreasing convention) and the boolean mask of points used."""
    x, n = np.asarray(x, dtype=float), np.asarray(n, dtype=float)
    if x.shape != n.shape or x.ndim != 1:
        raise ValueError("x and n must be 1-d arrays of the same length")
    if not 0 < lo < hi:
        raise ValueError(f"need 0 < lo < hi, got lo={lo!r}, hi={hi!r}")
    used = (n >= lo) & (n <= hi)
    if np.unique(x[used]).size < 3:
        raise ValueError(f"fewer than 3 distinct x with {lo} <= n <= {hi}: the sweep does not span the window "
                         f"(n = {np.round(n, 2).tolist()})")
    return fit_power_law(x[used], n[used]), used


def frequency_order_auc(per_task_loss, chance_loss: float = CHANCE_LOSS_BINARY) -> float:
    """How well a model's learned subtasks follow the frequency order (the quantization model's
    learning order): a subtask counts as learned when its loss is below chance_loss / 2 (nearer
    learned than chance), and the score is the share of (learned, unlearned) pairs in which the
    learned subtask is the more frequent one (ties count half; the Mann-Whitney AUC of frequency
    rank). 1 for a perfect frequency order, 0.5 on average for a random one, whatever the number
    learned. ``per_task_loss`` is ordered from the most frequent subtask. NaN when nothing or
    everything is learned (no pair to compare)."""
    loss = np.asarray(per_task_loss, dtype=float)
    if loss.ndim != 1 or loss.size < 2 or not np.all(np.isfinite(loss)):
        raise ValueError("per_task_loss must be a finite 1-d array of at least 2 subtasks")
    rank = np.arange(loss.size)
    learned = loss < chance_loss / 2
    if learned.all() or not learned.any():
        return math.nan
    u = stats.mannwhitneyu(rank[~learned], rank[learned], alternative="greater").statistic
    return float(u / (learned.sum() * (~learned).sum()))
