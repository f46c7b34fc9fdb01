"""Trainers for the bring-your-own-trainer tests (tests/test_trainers.py): no torch, milliseconds.

Module-level functions so that a ``spawn`` pool or a Ray worker imports them by name
(``--trainer byo_trainers:valid``). ``valid`` keeps the RunResult contract with made-up
numbers (a loss falling with width and steps); the others break it in one named way.
"""

from __future__ import annotations

import dataclasses
import os

from scaling_claims.runs.trainer import Unsupported
from scaling_claims.engine.specs import RunResult, RunSpec


def valid(spec: RunSpec) -> RunResult:
    m = spec.model
    steps = spec.budget.steps or 10
    loss = 2.0 + 100.0 / (m.d_model * m.n_layer) + 10.0 / steps + spec.seed / 1000
    n = 12 * m.n_layer * m.d_model**2
    tokens = steps * spec.optim.batch_size * m.ctx
    point = {"step": steps, "tokens": tokens, "flops": 6.0 * n * tokens, "lr": spec.optim.lr, "train_loss": loss,
             "eval_loss": loss + 0.01}
    metrics = {f"{ev.name}/value": loss for ev in spec.evals}
    return RunResult(key=spec.key(), spec=spec.to_dict(), status="ok", final_train_loss=loss,
                     final_eval_loss=loss + 0.01, curve=[point], metrics=metrics,
                     params={"total": n + m.vocab_size * m.d_model, "non_embedding": n, "matmul": n},
                     flops_per_token=6.0 * n, steps=steps, tokens=tokens, flops=6.0 * n * tokens, wall_time_s=0.001,
                     env={"pid": os.getpid()})


def versioned(spec: RunSpec) -> RunResult:
    return valid(spec)


versioned.trainer_version = "v7"


def refuses_copy(spec: RunSpec) -> RunResult:
    """Trains everything but the copy task."""
    if spec.data.task == "copy":
        raise Unsupported("this stack has no copy task")
    return valid(spec)


def nan_loss(spec: RunSpec) -> RunResult:
    return dataclasses.replace(valid(spec), final_eval_loss=float("nan"))


def no_params(spec: RunSpec) -> RunResult:
    return dataclasses.replace(valid(spec), params={"total": 10})


def wrong_key(spec: RunSpec) -> RunResult:
    return dataclasses.replace(valid(spec), key="0" * 32)


def not_a_result(spec: RunSpec):
    return {"final_eval_loss": 2.0}


def one_size(spec: RunSpec) -> RunResult:
    """Ignores the requested width: every run reports the parameters of one model."""
    return dataclasses.replace(valid(spec), params={"total": 5000, "non_embedding": 4000, "matmul": 4000})


def raises(spec: RunSpec) -> RunResult:
    raise RuntimeError("out of memory (simulated)")
