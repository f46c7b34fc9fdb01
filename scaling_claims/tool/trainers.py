"""Helpers for bringing your own trainer (``--trainer MODULE:FUNCTION``; docs/trainers.md).

A trainer is a function ``train(spec: RunSpec) -> RunResult``. What it must honour is the spec:
the model's shape, the data, the optimiser and schedule, the budget, the seed, the evaluations.
These helpers give it everything of the suite's it should *not* re-implement, so that an
adapter is the user's model and optimiser loop plus a few lines:

- :func:`run_data` -- the spec's data exactly as the engine sees it: the training batch of
  every step (the same byte windows and task examples, from the data seed), the fixed held-out
  batches, the task's loss (mean cross-entropy in nats over the counted targets), the number of
  optimiser steps the budget buys and what a token is (``RunData``).
- :func:`held_out_loss` -- the held-out loss of a model on those batches (the number the claims
  fit), :func:`run_evals` / :func:`curve_metrics` -- the spec's evaluators, by name, on your
  model (anything that maps ``batch.x`` to logits).
- :func:`count_params` and :func:`flops_per_token` -- parameter counts under the suite's
  conventions (total, non-embedding, matmul) and training FLOPs per token, measured on your
  ``nn.Module``.
- :func:`stop_now` -- the spec's stop rules (``stop_when``, ``early_stop``) applied to your curve.
- :func:`curve_point`, :func:`result`, :func:`failed` -- a contract-keeping ``RunResult``.
- :func:`isolated` -- a seeded block that leaves the caller's RNG alone (one torch thread on CPU).
- :class:`Unsupported` -- raise it for a spec your stack cannot honour: the claim is reported
  inconclusive with your reason instead of being trained some other way.

``check_result`` (``scaling_claims.runs.trainer``) is what the suite runs on whatever a trainer
returns; ``load_trainer("module:function")`` is how ``--trainer`` finds it.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import torch
from torch import nn

from scaling_claims.engine import evals as _evals
from scaling_claims.engine.data import Task, make_task
from scaling_claims.engine.data.base import Batch
from scaling_claims.engine.device import autocast, environment, resolve_device
from scaling_claims.engine.specs import EvalSpec, RunResult, RunSpec
from scaling_claims.engine.training import check_compatible, early_stop, isolated as _isolated, run_flops_per_token
from scaling_claims.runs.trainer import MalformedResult, Unsupported, check_result, load_trainer

__all__ = ["RunData", "run_data", "held_out_loss", "run_evals", "curve_metrics", "count_params", "flops_per_token",
           "stop_now", "curve_point", "result", "failed", "isolated", "Unsupported", "MalformedResult",
           "check_result", "load_trainer", "Batch", "Task", "Clock"]


@dataclass
class RunData:
    """The spec's data, as the engine trains on it (see :func:`run_data`).

    ``task`` the engine's ``Task`` ("lm": ``x``/``y`` (B, T) token ids, ``mask`` (B, T) where a
    target counts; "classify": ``x`` (B, d_in) floats, ``y`` (B,) labels), ``steps`` optimiser
    steps the budget buys, ``batch_size``, ``tokens_per_step`` (batch x sequence length; one
    example is one token for "classify"), ``held_out`` the fixed held-out batches on ``device``."""

    spec: RunSpec
    task: Task
    device: torch.device
    steps: int
    batch_size: int
    tokens_per_step: int
    held_out: list[Batch]

    def batch(self, step: int) -> Batch:
        """The training batch of 0-based ``step`` (a pure function of the data seed and step), on the device."""
        return self.task.train_batch(step, self.batch_size).to(self.device)

    def batches(self) -> Iterator[tuple[int, Batch]]:
        """``(step, batch)`` for every planned step."""
        for step in range(self.steps):
            yield step, self.batch(step)

    def loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        """The task's loss: mean cross-entropy in nats over the counted targets (the engine's)."""
        return self.task.loss(logits, batch)

    @property
    def kind(self) -> str:
        return self.task.kind


def run_data(spec: RunSpec, device: str | torch.device | None = None) -> RunData:
    """The spec's data on ``device`` (default: ``spec.device``). ``ValueError`` for a spec the
    engine itself would refuse (an unknown task or option, a model that does not fit the task).
    The step count is the engine's: the budget's tokens or FLOPs at the engine's FLOP convention
    for the *requested* model (``scaling_claims.engine.flops``), rounded up, so every trainer
    trains a FLOP-budget run for the same number of tokens."""
    dev = torch.device(device if device is not None else resolve_device(spec.device))
    task = make_task(spec.data, ctx=spec.model.ctx)
    check_compatible(spec.model, task)
    per_step = spec.optim.batch_size * task.tokens_per_example
    steps = spec.budget.whole_steps(per_step, run_flops_per_token(spec.model, task))
    held = [b.to(dev) for b in task.eval_batches(spec.eval_batches, spec.optim.batch_size)]
    return RunData(spec, task, dev, steps, spec.optim.batch_size, per_step, held)


def held_out_loss(model: nn.Module, data: RunData, dtype: str | None = None) -> float:
    """Mean held-out loss (nats) of ``model`` over the fixed held-out batches, each batch weighted
    by its counted targets, as the engine computes it; the model's train/eval mode is restored."""
    was = model.training
    model.eval()
    total, count = 0.0, 0.0
    with torch.no_grad():
        for b in data.held_out:
            with autocast(data.device.type, dtype or data.spec.dtype):
                logits = model(b.x)
            n = float(b.mask.sum()) if b.mask is not None else float(b.y.numel())
            total += float(data.loss(logits, b).double()) * n
            count += n
    model.train(was)
    return total / count


def run_evals(model: nn.Module, data: RunData, evals: Sequence[EvalSpec] | None = None) -> dict[str, Any]:
    """The spec's end-of-run evaluators (or ``evals``) on ``model``, by name:
    ``{"<name>/<metric>": value}`` as ``RunResult.metrics`` holds them. An evaluator calls
    ``model(batch.x)`` for logits; the ``lengths.*`` evaluators also rebuild the engine's own
    model class, so a trainer with its own model should raise :class:`Unsupported` for them."""
    for ev in data.spec.evals if evals is None else evals:
        if ev.name.startswith("lengths."):
            raise Unsupported(f"the evaluator {ev.name!r} rebuilds the engine's model (position interpolation); "
                              "it cannot evaluate another model class")
    return _evals.run_evals(model, data.task, data.spec, data.device, evals)


def curve_metrics(model: nn.Module, data: RunData) -> dict[str, float]:
    """The spec's ``curve_evals`` at a curve point: their scalar numbers (e.g. accuracies)."""
    if not data.spec.curve_evals:
        return {}
    out = run_evals(model, data, data.spec.curve_evals)
    return {k: v for k, v in out.items() if isinstance(v, (int, float))}


# ----------------------------------------------------------------------------- counting

def _unique(params: Iterator[nn.Parameter]) -> list[nn.Parameter]:
    seen: dict[int, nn.Parameter] = {}
    for p in params:
        seen.setdefault(id(p), p)
    return list(seen.values())


def count_params(model: nn.Module, vocab_size: int | None = None) -> dict[str, int]:
    """``{"total", "non_embedding", "matmul"}`` for any ``nn.Module``, the suite's conventions
    (``scaling_claims.engine.flops``):

    - total: every trainable parameter, a tied embedding/head counted once;
    - non_embedding (Kaplan's N): total minus every ``nn.Embedding`` (token and learned
      positions) and an untied output head (an ``nn.Linear`` with ``vocab_size`` outputs);
    - matmul: the weights of every ``nn.Linear`` (a tied head included: it is a matmul).

    A model whose matrices are not ``nn.Linear``/``nn.Embedding`` modules (raw parameters used
    with ``F.linear``) is counted as far as these rules see; give the numbers yourself then."""
    params = [p for p in _unique(model.parameters()) if p.requires_grad]
    total = sum(p.numel() for p in params)
    embedded = {id(m.weight): m.weight.numel() for m in model.modules() if isinstance(m, nn.Embedding)}
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    heads = {id(m.weight): m.weight.numel() for m in linears
             if vocab_size is not None and m.out_features == vocab_size and id(m.weight) not in embedded}
    matmul = sum(m.weight.numel() for m in linears)
    non_embedding = total - sum(embedded.values()) - sum(heads.values())
    return {"total": int(total), "non_embedding": int(non_embedding), "matmul": int(matmul)}


def flops_per_token(model: nn.Module, batch: Batch) -> float:
    """Training FLOPs per token of ``model``, measured: 3 x the forward FLOPs of one ``batch``
    (``torch.utils.flop_counter``; backward costs twice the forward) over its tokens (one example
    is one token for a classifier). For a GPT this is the suite's convention, ``6 N_matmul +
    12 n_layer d_model T`` (matmuls and the attention's QK^T and AV); the model's mode and
    gradients are left as they were."""
    from torch.utils.flop_counter import FlopCounterMode

    from torch.nn.attention import SDPBackend, sdpa_kernel

    was = model.training
    model.eval()
    try:  # the math backend spells attention as matmuls, which the counter sees on every device
        with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
            model(batch.x)
        forward = float(counter.get_total_flops())
    finally:
        model.train(was)
    tokens = batch.x.shape[0] * (batch.x.shape[1] if batch.x.dim() == 2 and batch.x.dtype == torch.long else 1)
    if forward <= 0:
        raise ValueError("the FLOP counter saw no matmul in the model's forward pass")
    return 3.0 * forward / tokens


# ----------------------------------------------------------------------------- the record

def stop_now(spec: RunSpec, curve: list[dict[str, Any]], steps: int) -> dict[str, Any] | None:
    """The spec's stop rules (``stop_when``, then ``early_stop``) on the curve so far: the
    ``RunResult.early_stop`` record when one says stop (then end the run), else None. The
    engine's own rules: an adapter need not re-implement them, and must not ignore them."""
    return early_stop(spec, curve, steps)


def curve_point(step: int, tokens: int, flops: float, lr: float, train_loss: float, eval_loss: float,
                **metrics: float) -> dict[str, Any]:
    """One curve point: after ``step`` optimiser steps (``tokens`` and ``flops`` so far), the LR
    of the last step, the mean training loss since the previous point and the held-out loss
    (nats), plus any ``"<eval>/<metric>"`` scalars of the spec's ``curve_evals``."""
    return {"step": int(step), "tokens": int(tokens), "flops": float(flops), "lr": float(lr),
            "train_loss": float(train_loss), "eval_loss": float(eval_loss), **metrics}


def result(spec: RunSpec, *, params: dict[str, int], curve: list[dict[str, Any]], steps: int, tokens: int,
           flops_per_token: float, metrics: dict[str, Any] | None = None, wall_time_s: float = 0.0,
           early_stop: dict[str, Any] | None = None, env: dict[str, Any] | None = None,
           final_train_loss: float | None = None, final_eval_loss: float | None = None,
           data: RunData | None = None) -> RunResult:
    """An ok ``RunResult`` for ``spec`` that keeps the contract (``check_result`` is applied, so a
    mistake is a ``MalformedResult`` naming the field, here rather than in a claim). The final
    losses default to the last curve point's; ``flops = tokens * flops_per_token``. ``env``
    gets the device record and, as the engine's runs have it, ``env["data"]``: the task's own
    description (``Task.info``; e.g. the corrupted byte fraction the data-quality claims report),
    from ``data`` (the run's ``run_data``) or, without it, from the task built again."""
    last = curve[-1] if curve else {}
    task = data.task if data is not None else make_task(spec.data, ctx=spec.model.ctx)
    out = RunResult(key=spec.key(), spec=spec.to_dict(), status="ok",
                    final_train_loss=float(last.get("train_loss", math.nan) if final_train_loss is None
                                           else final_train_loss),
                    final_eval_loss=float(last.get("eval_loss", math.nan) if final_eval_loss is None
                                          else final_eval_loss),
                    curve=list(curve), metrics=dict(metrics or {}), params=dict(params),
                    flops_per_token=float(flops_per_token), steps=int(steps), tokens=int(tokens),
                    flops=float(tokens) * float(flops_per_token), wall_time_s=float(wall_time_s),
                    env={**environment(spec.device, spec.dtype), "data": task.info, **(env or {})},
                    early_stop=early_stop)
    return check_result(spec, out, "this adapter")


def failed(spec: RunSpec, reason: str, *, steps: int = 0, tokens: int = 0, wall_time_s: float = 0.0,
           curve: list[dict[str, Any]] | None = None) -> RunResult:
    """A failed ``RunResult``: the run diverged, its loss went NaN, the device ran out of
    memory. Failed runs are recorded and never fitted: the claim that needed the run becomes
    inconclusive with ``reason``. (A spec you cannot train at all: raise :class:`Unsupported`.)"""
    return RunResult(key=spec.key(), spec=spec.to_dict(), status="failed", failure=str(reason),
                     curve=list(curve or []), steps=int(steps), tokens=int(tokens), wall_time_s=float(wall_time_s),
                     env=environment(spec.device, spec.dtype))


@contextlib.contextmanager
def isolated(spec: RunSpec) -> Iterator[None]:
    """Train inside this: the caller's RNG state is forked (restored after), ``torch.manual_seed
    (spec.seed)`` is set, and on CPU torch uses one thread, so the same spec gives the same
    numbers in any process or executor (as the engine's runs do)."""
    with _isolated(torch.device(resolve_device(spec.device))):
        torch.manual_seed(spec.seed)
        yield


class Clock:
    """Wall time of a run: ``with Clock() as clock: ...``; ``clock.seconds`` after."""

    def __enter__(self) -> "Clock":
        self.start, self.seconds = time.perf_counter(), 0.0
        return self

    def __exit__(self, *exc: Any) -> None:
        self.seconds = self.elapsed()

    def elapsed(self) -> float:
        """Seconds since the block began (also inside it)."""
        return time.perf_counter() - self.start
