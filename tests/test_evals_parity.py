"""Unit tests of scaling_claims.engine.evals.parity.subtasks on hand-built models whose per-subtask
losses are known: an oracle that computes every parity, one that knows only the first
subtasks, and a coin flip."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from scaling_claims.engine.data import make_task
from scaling_claims.engine.evals import parity
from scaling_claims.engine.specs import DataSpec

SPEC = SimpleNamespace(dtype="float32")
CPU = torch.device("cpu")


def task(**options):
    return make_task(DataSpec.make("sparse_parity", n_tasks=6, n_bits=10, k=2, **options))


class Oracle(torch.nn.Module):
    """Answers subtask i's parity with margin 30 when i < known, else outputs equal logits."""

    def __init__(self, task, known: int):
        super().__init__()
        self.t, self.known = task, known

    def forward(self, x):
        tid = x[:, : self.t.n_tasks].argmax(1)
        bits = x[:, self.t.n_tasks:].long()
        y = bits.gather(1, self.t.subsets[tid]).sum(1) % 2
        logits = torch.nn.functional.one_hot(y, 2).float() * 30.0
        return torch.where((tid < self.known)[:, None], logits, torch.zeros_like(logits))


def test_oracle_knowing_every_subtask_has_zero_loss_and_full_accuracy():
    t = task()
    out = parity.subtasks(Oracle(t, known=6), t, SPEC, CPU, n_per_task=256)
    assert out["accuracy"] == [1.0] * 6
    assert max(out["loss"]) < 1e-10 and out["mean_loss"] < 1e-10
    assert out["p"] == pytest.approx(t.task_probs.tolist())


def test_unknown_subtasks_cost_chance_loss_weighted_by_their_frequency():
    t = task(zipf_exponent=1.4)
    out = parity.subtasks(Oracle(t, known=2), t, SPEC, CPU, n_per_task=256)
    assert out["loss"][:2] == pytest.approx([0.0, 0.0], abs=1e-10)
    assert out["loss"][2:] == pytest.approx([math.log(2)] * 4)
    p = t.task_probs.double()
    assert out["mean_loss"] == pytest.approx(math.log(2) * float(p[2:].sum()))
    assert out["mean_accuracy"] == pytest.approx(float(p[:2].sum()) + 0.5 * float(p[2:].sum()), abs=0.05)


def test_same_examples_every_call_and_rejects_bad_input():
    t = task()
    a = parity.subtasks(Oracle(t, known=3), t, SPEC, CPU, n_per_task=64)
    b = parity.subtasks(Oracle(t, known=3), t, SPEC, CPU, n_per_task=64)
    assert a == b
    with pytest.raises(ValueError, match="n_per_task"):
        parity.subtasks(Oracle(t, known=3), t, SPEC, CPU, n_per_task=0)
    with pytest.raises(ValueError, match="sparse_parity"):
        parity.subtasks(Oracle(t, known=3), make_task(DataSpec.make("zipf_features")), SPEC, CPU)
