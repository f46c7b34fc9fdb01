"""The shared least-squares core (``scaling_claims.fit._nls.nls_fit``): a fit that runs out of
optimizer evaluations is continued once, and one that still has not converged is flagged, never
returned as if it had."""

from __future__ import annotations

import numpy as np

from scaling_claims.verdicts.estimates import Estimate
from scaling_claims.fit._nls import nls_fit

X = np.linspace(0.0, 3.0, 12)
TRUE = np.array([2.0, -1.3])
Y = TRUE[0] * np.exp(TRUE[1] * X)


def model(t, x):
    return t[0] * np.exp(t[1] * x)


def fit(max_nfev=None, start=(0.1, 0.5)):
    return nls_fit(kind="decay", names=["a", "b"], model=model, x=X, y=Y, start=np.array(start), max_nfev=max_nfev)


def test_a_converged_fit_is_not_continued_or_flagged():
    res = fit()
    assert res.info["optimizer_status"] > 0 and not res.info["continued"] and not res.flags
    assert np.allclose(res.theta, TRUE, rtol=1e-9)


def test_a_fit_that_runs_out_of_evaluations_is_continued_to_the_optimum():
    first = fit(max_nfev=3)
    assert first.info["continued"]  # 3 evaluations do not reach the optimum from this start; 30 more do
    assert first.info["optimizer_status"] > 0 and not first.flags
    assert np.allclose(first.theta, TRUE, rtol=1e-9)


def test_a_fit_that_never_converges_is_flagged_and_its_estimates_say_so():
    res = fit(max_nfev=1, start=(0.01, 4.0))  # 16 evaluations to converge from here; 1 + 10 allowed
    assert res.info["continued"] and res.info["optimizer_status"] == 0
    assert "not converged" in res.flags["*"] and not res.ok
    est = Estimate.from_fit(res, "b")
    assert "not converged" in est.problem  # a check on it cannot be decided: the intervals assume an optimum
