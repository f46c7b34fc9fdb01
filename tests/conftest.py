"""Shared configuration for the library tests.

Hypothesis: a ``ci`` profile, loaded by default (choose another with HYPOTHESIS_PROFILE).
Deadline off: a fit's run time depends on the draw and on a shared 2-core CI machine, and
speed is measured by the benchmarks, never by tests. 40 examples per property keeps the
whole property suite to seconds on 2 cores while still exploring each parameter space.

The profile is *not* derandomized (a fixed derandomized seed replays the same 40 inputs in
every run, so the properties never explore beyond them). Instead every session draws one seed
and prints it in the header: ``hypothesis seed N: rerun with --hypothesis-seed=N``. The seed
is ``--hypothesis-seed`` when given, else ``$SC_HYPOTHESIS_SEED`` when set, else random; it is
exported to ``SC_HYPOTHESIS_SEED`` so that pytest-xdist workers (spawned after configure,
with the controller's environment) use the same one, and handed to Hypothesis through
``config.option.hypothesis_seed`` before Hypothesis's own ``pytest_configure`` reads it.
``print_blob`` prints the ``@reproduce_failure`` blob of a failing example.

``shared_data``: the published reference data the fitters are verified on, carried in the
repository (``tests/reference-data``, with its provenance README), so a fresh clone runs the
Epoch reproduction and the other reference checks instead of skipping them.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Both profiles build on Hypothesis's built-in ``default`` profile and say derandomize=False
# outright: where $CI is set (every CI service sets it) Hypothesis loads its own derandomized
# ``ci`` profile at import, and a profile registered without a parent would inherit from it.
_BASE = settings.get_profile("default")
settings.register_profile("ci", _BASE, derandomize=False, deadline=None, max_examples=40,
                          print_blob=True, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", _BASE, derandomize=False, deadline=None, max_examples=500,
                          print_blob=True, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

REPO_ROOT = Path(__file__).resolve().parents[1]
SEED_ENV = "SC_HYPOTHESIS_SEED"


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Choose this session's Hypothesis seed (see the module docstring); runs before
    Hypothesis's pytest_configure, which reads ``--hypothesis-seed``."""
    seed = config.getoption("hypothesis_seed", None)
    if seed is None:
        seed = os.environ.get(SEED_ENV) or str(random.SystemRandom().randrange(2 ** 32))
        config.option.hypothesis_seed = seed
    os.environ[SEED_ENV] = str(seed)


def pytest_report_header(config: pytest.Config) -> str | None:
    seed = config.getoption("hypothesis_seed", None)
    if seed is None:
        return None
    return f"hypothesis seed {seed}: rerun with --hypothesis-seed={seed}"


REFERENCE_DATA = REPO_ROOT / "tests" / "reference-data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not REFERENCE_DATA.is_dir():  # only a broken checkout: the folder is tracked
        raise FileNotFoundError(f"the reference data folder {REFERENCE_DATA} is missing from this checkout")
    return REFERENCE_DATA
