"""The Hypothesis seed policy of tests/conftest.py: one seed per session (``--hypothesis-seed``,
else ``$SC_HYPOTHESIS_SEED``, else random), printed in the header, forced on Hypothesis in the
controller and in every xdist worker; the same seed replays the same draws, another seed draws
others (no derandomized profile replaying one fixed set of inputs forever)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]
TESTS_DIR = Path(__file__).resolve().parent

DRAWS = """
import os
from hypothesis import given, settings, strategies as st

@settings(database=None)
@given(st.integers(0, 10 ** 9))
def test_draw(x):
    with open(os.environ["DRAWS_FILE"], "a") as fh:
        fh.write(f"{x}\\n")

def test_other():
    pass
"""


def _expected(seed: str):
    return int(seed) if seed.isdigit() else seed


def test_this_session_forces_its_seed_on_hypothesis(pytestconfig):
    from hypothesis import core, settings

    seed = os.environ["SC_HYPOTHESIS_SEED"]  # exported by conftest (inherited by xdist workers)
    assert str(pytestconfig.getoption("hypothesis_seed")) == seed
    assert core.global_force_seed == _expected(seed)
    assert not settings().derandomize and settings().print_blob and settings().deadline is None


@pytest.fixture
def seeded(pytester: pytest.Pytester, monkeypatch, tmp_path):
    pytester.makeconftest((TESTS_DIR / "conftest.py").read_text())
    pytester.makepyfile(test_draws=DRAWS)
    monkeypatch.delenv("SC_HYPOTHESIS_SEED", raising=False)
    monkeypatch.delenv("HYPOTHESIS_PROFILE", raising=False)
    draws = tmp_path / "draws.txt"
    monkeypatch.setenv("DRAWS_FILE", str(draws))

    def run(*args: str, seed: str | None = None):
        if seed is None:
            monkeypatch.delenv("SC_HYPOTHESIS_SEED", raising=False)
        else:
            monkeypatch.setenv("SC_HYPOTHESIS_SEED", seed)
        draws.unlink(missing_ok=True)
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)
        result.assert_outcomes(passed=2)
        header = re.search(r"hypothesis seed (\S+): rerun with --hypothesis-seed=(\S+)", result.stdout.str())
        assert header and header.group(1) == header.group(2), result.stdout.str()
        return header.group(1), sorted(draws.read_text().split())

    return run


def test_same_seed_same_draws_other_seed_other_draws(seeded):
    seed, first = seeded(seed="12345")
    assert seed == "12345" and len(first) >= 10
    assert seeded(seed="12345")[1] == first
    assert seeded("--hypothesis-seed=12345")[1] == first  # the command-line option is the same seed
    assert seeded(seed="54321")[1] != first


def test_random_seed_is_printed_and_reproduces(seeded):
    seed_a, draws_a = seeded()
    seed_b, draws_b = seeded()
    assert seed_a != seed_b and draws_a != draws_b  # a fresh seed per session
    assert seeded(f"--hypothesis-seed={seed_a}")[1] == draws_a  # the printed rerun line replays it


def test_xdist_workers_use_the_controllers_seed(seeded):
    seed, serial = seeded(seed="777")
    assert seeded("-n", "2", seed="777")[1] == serial
    seed, draws = seeded("-n", "2")  # a random seed chosen by the controller reaches the workers
    assert seeded(f"--hypothesis-seed={seed}")[1] == draws


def test_the_policy_holds_where_ci_is_set(seeded, monkeypatch):
    """CI services set $CI, on which Hypothesis loads its own derandomized ``ci`` profile at
    import; the project's profiles must not inherit derandomize from it."""
    monkeypatch.setenv("CI", "true")
    seed, first = seeded(seed="12345")
    assert seeded(seed="12345")[1] == first
    assert seeded(seed="54321")[1] != first
