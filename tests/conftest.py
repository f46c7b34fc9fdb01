"""Shared configuration for the library tests.

Hypothesis: a ``ci`` profile, loaded by default (choose another with HYPOTHESIS_PROFILE).
Deadline off: a fit's run time depends on the draw and on a shared 2-core CI machine, and
speed is measured by the benchmarks, never by tests. 40 examples per property keeps the
whole property suite to seconds on 2 cores while still exploring each parameter space;
``derandomize`` makes CI reproducible (a failure found once is found again).

``shared_data``: the team's reference data directory, ``../shared/reference-data`` relative
to the repository root, or ``$SCALING_CLAIMS_SHARED/reference-data``; tests that need it
skip with a clear reason where it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    deadline=None,
    max_examples=40,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", deadline=None, max_examples=500, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_reference_dir() -> Path:
    """Where the shared reference data should be (it may not exist)."""
    env = os.environ.get("SCALING_CLAIMS_SHARED")
    base = Path(env) if env else REPO_ROOT.parent / "shared"
    return base / "reference-data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_reference_dir()
    if not path.is_dir():
        pytest.skip(f"shared reference data not found at {path} "
                    "(expected ../shared/reference-data next to the repository, or set SCALING_CLAIMS_SHARED)")
    return path
