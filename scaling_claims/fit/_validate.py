"""Input checks shared by every fitter.

Each fitter converts its inputs with :func:`as_float_array` and the checks below, so bad input
fails early with a ``ValueError`` that names the argument and the problem (NaN, inf,
non-positive values where a logarithm is taken, mismatched lengths, too few points, a
constant x) instead of surfacing later as a silent NaN or a SciPy warning.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def as_float_array(value: Any, name: str) -> np.ndarray:
    """Return ``value`` as a 1-D float64 array of finite numbers, or raise ``ValueError``."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, got {type(value).__name__}: {exc}") from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN (at index {int(np.flatnonzero(np.isnan(arr))[0])})")
    if np.isinf(arr).any():
        raise ValueError(f"{name} contains inf (at index {int(np.flatnonzero(np.isinf(arr))[0])})")
    return arr


def check_positive(arr: np.ndarray, name: str, why: str = "its logarithm is taken") -> None:
    """Raise ``ValueError`` unless every value is > 0."""
    bad = np.flatnonzero(arr <= 0)
    if bad.size:
        raise ValueError(f"{name} must be positive ({why}); got {float(arr[bad[0]])!r} at index {int(bad[0])}")


def check_same_length(**arrays: np.ndarray) -> int:
    """Raise ``ValueError`` unless all arrays have the same length; return it."""
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        desc = ", ".join(f"len({k})={v}" for k, v in lengths.items())
        raise ValueError(f"mismatched lengths: {desc}")
    return next(iter(lengths.values()))


def check_enough_points(n: int, n_params: int, what: str, min_dof: int = 0) -> None:
    """Raise ``ValueError`` when there are fewer points than free parameters plus ``min_dof``
    (the degrees of freedom an interval or a forecast needs)."""
    if n < n_params + min_dof:
        if min_dof:
            raise ValueError(f"{what} has {n_params} free parameters and needs at least {n_params + min_dof} "
                             f"points ({min_dof} degree(s) of freedom), got {n}")
        raise ValueError(f"{what} has {n_params} free parameters but only {n} points were given")


def check_not_constant(arr: np.ndarray, name: str) -> None:
    """Raise ``ValueError`` when all values are equal (the fit would be unidentifiable)."""
    if np.ptp(arr) == 0:
        raise ValueError(f"{name} is constant (all values equal {float(arr[0])!r}); a fit needs it to vary")


def check_in_range(arr: np.ndarray, name: str, lo: float, hi: float, *, lo_open: bool = False,
                   hi_open: bool = False) -> None:
    """Raise ``ValueError`` unless lo <= arr <= hi (strict where ``*_open``)."""
    below = arr <= lo if lo_open else arr < lo
    above = arr >= hi if hi_open else arr > hi
    bad = np.flatnonzero(below | above)
    if bad.size:
        lb, rb = ("(" if lo_open else "["), (")" if hi_open else "]")
        raise ValueError(f"{name} must lie in {lb}{lo}, {hi}{rb}; got {float(arr[bad[0]])!r} at index {int(bad[0])}")


def as_real_array(value: Any, name: str) -> np.ndarray:
    """:func:`as_float_array`, refusing complex input with a ``ValueError`` (NumPy would drop the
    imaginary part with only a ``ComplexWarning``)."""
    try:
        probe = np.asarray(value)
    except (TypeError, ValueError):
        probe = None  # ragged or odd input: as_float_array names the problem
    if probe is not None:
        if probe.dtype.kind == "c":
            raise ValueError(f"{name} must be real, got complex values (dtype {probe.dtype})")
        if probe.dtype.kind == "O" and any(isinstance(v, complex) for v in probe.ravel().tolist()):
            raise ValueError(f"{name} must be real, got a complex value")
    return as_float_array(value, name)


def check_level(level: Any) -> float:
    """The confidence level as a float strictly between 0 and 1, or ``ValueError`` (a level of 1
    or more, 0 or less, NaN or a non-number would make every interval NaN or infinite)."""
    if isinstance(level, (bool, np.bool_)) or not isinstance(level, (int, float, np.integer, np.floating)):
        raise ValueError(f"level must be a number in (0, 1), got {level!r}")
    v = float(level)
    if not 0.0 < v < 1.0:  # NaN fails too
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    return v
