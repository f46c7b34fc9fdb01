"""System-level negative controls: real claim files run under ``--trainer`` (docs/trainers.md).

A broken trainer must break the claims that depend on what it breaks and leave the others
standing; the plain-PyTorch adapter must reproduce the engine's verdicts on what it can run.
Each session is a real ``pytest claims/...`` run (the plugins, the run cache, the claim's own
fits and checks, the conformance report), compared through the records it writes.

The default set is sized for CI (about a minute of CPU in all): Kaplan's L(N) and L(D) at
``--budget 0.03`` (24k tokens a run; 18 + 15 runs of 2-24 steps), under the engine (the
reference), the plain adapter, ``size_blind`` and ``loss_in_bits``. At that budget the claims'
declared verdicts do not apply (they are declared for the quick sizes), so every comparison is
between sessions at the same budget, never with a declaration. Sessions are shared between
xdist workers (a file lock in pytest's shared temporary folder), so each runs once.

The faults caught only by expensive claims (``no_decay``: the learning curves; ``no_weight_decay``:
grokking; ``eval_on_train``: repeated data) are marked slow (``pytest tests -m slow -k
conformance``); their one-run effect is checked in the default set by tests/test_trainers.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import filelock
import pytest

REPO = Path(__file__).resolve().parents[1]
KAPLAN = ["claims/test_kaplan.py", "-m", "quick", "--budget=0.03"]
BOTH_LAWS = ["-k", "power_law_in_parameters or power_law_in_data"]  # the law rows (the exponents have no verdict)


@dataclass
class Session:
    name: str
    returncode: int
    output: str
    art: Path
    seconds: float

    def record(self, claim_id: str) -> dict:
        return json.loads((self.art / "records" / f"{claim_id}.json").read_text())

    def rows(self) -> dict[str, dict]:
        return {r["claim_id"]: r for r in json.loads((self.art / "conformance.json").read_text())["rows"]}


@pytest.fixture(scope="session")
def shared(tmp_path_factory) -> Path:
    """A folder every xdist worker of this run sees (pytest's base temp of the whole run)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    root = base / "trainer-conformance"
    root.mkdir(exist_ok=True)
    return root


def session(root: Path, name: str, args: list[str], trainer: str | None = None,
            reference: str = "engine") -> Session:
    """Run ``pytest <args>`` in the repository once per test run (the first worker to ask runs it)."""
    art = root / name
    done = root / f"{name}.json"
    with filelock.FileLock(str(root / f"{name}.lock")):
        if not done.exists():
            cmd = [sys.executable, "-m", "pytest", *args, "-p", "no:cacheprovider", "-p", "no:xdist",
                   "--executor=inprocess", "--progress-every=0", f"--cache-dir={root / 'cache'}",
                   f"--artifacts-dir={art}", f"--reference={root / reference}"]
            if trainer:
                cmd.append(f"--trainer={trainer}")
            start = time.perf_counter()
            proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=1800)
            done.write_text(json.dumps({"returncode": proc.returncode, "output": proc.stdout[-20000:] + proc.stderr,
                                        "seconds": time.perf_counter() - start}))
    d = json.loads(done.read_text())
    return Session(name, d["returncode"], d["output"], art, d["seconds"])


def engine(root: Path) -> Session:
    return session(root, "engine", KAPLAN + BOTH_LAWS)


def plain(root: Path) -> Session:
    engine(root)
    return session(root, "plain", KAPLAN + BOTH_LAWS, "examples.trainers.plain_torch:train")


def _evidence(rec: dict) -> str:
    return rec.get("evidence") or rec["verdict"]


def test_the_plain_adapter_reproduces_the_engines_verdicts(shared):
    ref, mine = engine(shared), plain(shared)
    assert "Trainer `examples.trainers.plain_torch:train`" in mine.output, mine.output[-3000:]
    rows = mine.rows()
    for claim_id in ("kaplan-L-N-law", "kaplan-L-D-law"):
        assert rows[claim_id]["status"] == "same", (claim_id, rows[claim_id], mine.output[-3000:])
        assert mine.record(claim_id)["outcome"] in ("passed", "failed")  # measured: no error, no skip
        assert _evidence(mine.record(claim_id)) == _evidence(ref.record(claim_id))
    assert "Trainer `examples.trainers.plain_torch:train`" in (mine.art / "report.md").read_text()


def test_size_blind_breaks_the_law_in_n_and_keeps_the_law_in_d(shared):
    """Every L(N) size is one width-32 model: the claim cannot be measured and says why (an error,
    so the session fails); L(D) is trained at width 32 anyway, so its runs, its numbers and its
    verdict are the plain loop's."""
    ref = plain(shared)
    bad = session(shared, "size_blind", KAPLAN + BOTH_LAWS, "examples.trainers.broken:size_blind")
    assert bad.returncode == 1, bad.output[-3000:]
    n = bad.record("kaplan-L-N-law")
    assert n["outcome"] == "error" and "does not honour the requested model size" in n["reason"]
    assert "6 requested model sizes" in n["reason"]
    assert bad.rows()["kaplan-L-N-law"]["status"] == "DIFFERENT"
    d, d_ref = bad.record("kaplan-L-D-law"), ref.record("kaplan-L-D-law")
    assert d["measured"] == d_ref["measured"] and d["verdict"] == d_ref["verdict"] and d["outcome"] == d_ref["outcome"]
    assert bad.rows()["kaplan-L-D-law"]["status"] == "same"


def test_loss_in_bits_is_caught_by_no_kaplan_claim(shared):
    """A finding, not a pass: every loss is the plain loop's / ln 2, and the R^2, extrapolation
    and per-step checks (and the exponent in the notes) are all unchanged by a constant factor
    on the loss."""
    ref = plain(shared)
    bits = session(shared, "loss_in_bits", KAPLAN + ["-k", "power_law_in_parameters"], "examples.trainers.broken:loss_in_bits")
    n, n_ref = bits.record("kaplan-L-N-law"), ref.record("kaplan-L-N-law")
    assert n["measured"] == pytest.approx(n_ref["measured"], rel=1e-6) and n["verdict"] == n_ref["verdict"]
    assert [c["verdict"] for c in n["checks"]] == [c["verdict"] for c in n_ref["checks"]]
    assert bits.rows()["kaplan-L-N-law"]["status"] == "same"


# ----------------------------------------------------------------------------- the expensive controls (slow)

def _quick(path: str, select: str) -> list[str]:
    return [path, "-m", "quick", "-k", select]


@pytest.mark.slow
@pytest.mark.parametrize("trainer, claim_file, select, broken_claim", [
    ("no_weight_decay", "claims/test_grokking.py", "quick", "grokking-weight-decay"),
    ("eval_on_train", "claims/test_data_repetition.py", "quick", "data-repetition-many-epochs"),
    ("no_decay", "claims/test_learning_curves.py", "power_law_misses_annealing and quick", "lc-power-misses-annealing"),
])
def test_a_fault_breaks_the_claim_that_needs_it(shared, trainer, claim_file, select, broken_claim):
    """At the quick sizes (minutes each): the claim the fault must break changes its evidence from
    the engine's, while the plain adapter's agrees with the engine's."""
    args = _quick(claim_file, select)
    tag = Path(claim_file).stem
    session(shared, f"engine-{tag}", args)
    good = session(shared, f"plain-{tag}", args, "examples.trainers.plain_torch:train", reference=f"engine-{tag}")
    bad = session(shared, f"{trainer}-{tag}", args, f"examples.trainers.broken:{trainer}", reference=f"engine-{tag}")
    assert good.rows()[broken_claim]["status"] == "same", good.output[-3000:]
    assert bad.rows()[broken_claim]["status"] == "DIFFERENT", bad.output[-3000:]
