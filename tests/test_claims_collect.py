"""The overnight set collects: ``pytest claims -m slow --collect-only`` builds every slow claim's
parametrisation (plans, grids and ids are made at collection or first use, so a plan that cannot
be built, such as an IsoFLOP grid that cannot be centred, must fail here, not hours into a run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from scaling_claims.studies import ladders

ROOT = Path(__file__).resolve().parents[1]


def test_the_slow_set_collects(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "claims", "-m", "slow", "--collect-only", "-q", "-p", "no:cacheprovider",
         "--artifacts-dir", str(tmp_path / "artifacts"), "--cache-dir", str(tmp_path / "cache")],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    ids = [line for line in out.stdout.splitlines() if "::" in line]
    assert not [i for i in ids if "[quick" in i]  # -m slow selects no quick parametrisation
    for name in ("test_chinchilla.py::test_allocation_showdown[slow]", "test_chinchilla.py::test_tokens_per_parameter[slow]",
                 "test_kaplan.py::test_loss_is_a_power_law_in_parameters[slow]",
                 "test_kaplan.py::test_parameter_exponent_beside_kaplans[slow]",
                 "test_emergence.py::test_exact_match_is_sharper_than_per_digit_accuracy_slow",
                 "test_emergence.py::test_exact_match_is_less_predictable_slow"):
        assert any(i.endswith(name) for i in ids), name
    assert len(ids) >= 40


def test_the_slow_plans_build():
    for level in ("quick", "slow"):
        plan = ladders.chinchilla_plan(level)
        assert ladders.isoflop_specs(plan)
        assert ladders.kaplan_n_specs(ladders.kaplan_plan(level))
