"""Batched ensembles: K same-shape models trained in one batched step.

``train_ensemble(specs) -> list[RunResult]`` trains K runs whose ``ModelSpec`` is identical
and that differ only in model seed, data (seed, options such as ``n_train`` or
``train_bytes``), learning rate, weight decay and tag. It gives the same results, within
float32 rounding, as ``[train(s) for s in specs]`` (tested): the same initialisation (each
model is built under its own ``spec.seed``), the same batches (each run's own ``Task``), the
same schedule, per-model gradient clipping, and AdamW with per-model learning rate and weight
decay, written out here because ``torch.optim.AdamW`` has one learning rate per parameter
tensor and the K models share each stacked tensor.

How: ``torch.func.stack_module_state`` stacks the K models' parameters along a new leading
dimension, and ``torch.func.vmap`` over ``functional_call`` runs the K forward/backward passes
as batched matrix multiplies. Each model's loss enters the summed objective with weight 1,
so its gradient is exactly its own. Failures are per model: a NaN or diverging model is
marked ``failed`` with its reason while the others continue (the models share no numbers);
a ``RuntimeError`` from torch (out of memory, a device error) fails every unfinished member.

When it pays: many tiny same-shape models at small batch, where one model's step is
dominated by per-op overhead (Python, kernel launch, the optimiser's per-tensor loop) rather
than arithmetic. Batching K models turns K small matmuls into one larger one. For larger
models or batches each step is already compute-bound and the ensemble only adds memory
(K copies of activations); train them one by one or in a process pool instead. ``docs/
engine.md`` gives measured figures.

Each result's ``wall_time_s`` is the ensemble's total wall time divided by K (the cost per
run); ``env["ensemble"]`` records K and the total.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Sequence

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from scaling_claims.engine import evals as evals_mod
from scaling_claims.engine.data import Task
from scaling_claims.engine.data.base import Batch
from scaling_claims.engine.device import autocast, synchronize
from scaling_claims.engine.models import GPT, build_model
from scaling_claims.engine.specs import RunResult, RunSpec
from scaling_claims.engine.training import (
    LossWatch,
    batched_path,
    curve_point,
    eval_interval,
    finish,
    isolated,
    lr_multiplier,
    new_result,
    run_flops_per_token,
    tokens_per_step,
    validate,
)

# OptimSpec fields that may differ between ensemble members (the rest must be equal).
PER_MODEL_OPTIM = ("lr", "weight_decay")


def _signature(spec: RunSpec, task: Task, steps: int) -> dict[str, object]:
    """What must be equal for runs to share a batched step, by name (the error names the first
    that differs); seed, data (seed and options), learning rate and weight decay may differ."""
    optim = tuple((f.name, getattr(spec.optim, f.name)) for f in dataclasses.fields(spec.optim)
                  if f.name not in PER_MODEL_OPTIM)
    return {"ModelSpec": spec.model, "device": spec.device, "dtype": spec.dtype, "eval_every": spec.eval_every,
            "eval_batches": spec.eval_batches, "evals": spec.evals, "optimiser settings": optim,
            "step counts": steps, "task": (task.name, task.kind, task.seq_len, task.tokens_per_example, task.d_in)}


def _check_same_shape(specs: Sequence[RunSpec], tasks: Sequence[Task], steps: Sequence[int]) -> None:
    first = _signature(specs[0], tasks[0], steps[0])
    for spec, task, n in zip(specs[1:], tasks[1:], steps[1:]):
        for name, value in _signature(spec, task, n).items():
            if value != first[name]:
                raise ValueError(f"train_ensemble needs the same {name} for every run; runs differ in it "
                                 "(only seed, data, lr and weight decay may)")


def group_key(spec: RunSpec) -> tuple | None:
    """The key under which a sweep may batch ``spec`` with others (runs with equal keys train
    as one ensemble), or ``None`` when ``spec`` is not on the batched path and trains alone
    (``train.batched_path``). ``ValueError`` for an invalid spec."""
    _, task, steps = validate(spec)
    if not batched_path(spec, task):
        return None
    return tuple(_signature(spec, task, steps).values())


def _stack(batches: Sequence[Batch]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    masks = [b.mask for b in batches]
    if any(m is None for m in masks) and not all(m is None for m in masks):
        raise ValueError("train_ensemble: some tasks have loss masks and some do not")
    mask = None if masks[0] is None else torch.stack(masks)
    return torch.stack([b.x for b in batches]), torch.stack([b.y for b in batches]), mask


class _Batched:
    """The K stacked models: a template module plus stacked parameters and buffers."""

    def __init__(self, models: list[nn.Module], task: Task, dtype: str, device: torch.device) -> None:
        self.template = models[0]
        if isinstance(self.template, GPT):  # vmap batches explicit attention natively
            self.template.set_attention_impl("math")
        self.params, self.buffers = stack_module_state(models)
        self.task, self.dtype, self.device = task, dtype, device

        def one(params, buffers, x, y, mask):
            with autocast(device.type, dtype):
                logits = functional_call(self.template, (params, buffers), (x,))
            return task.loss(logits, Batch(x, y, mask))

        self._losses = vmap(one, in_dims=(0, 0, 0, 0, 0))
        self._losses_nomask = vmap(lambda p, b, x, y: one(p, b, x, y, None), in_dims=(0, 0, 0, 0))

    def losses(self, x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        if mask is None:
            return self._losses_nomask(self.params, self.buffers, x, y)
        return self._losses(self.params, self.buffers, x, y, mask)

    def unstack(self, k: int) -> nn.Module:
        model = build_model(self.template.spec).to(self.device)
        state = {name: t[k].detach() for name, t in {**self.params, **self.buffers}.items()}
        model.load_state_dict(state, strict=False)
        return model


class _BatchedAdamW:
    """AdamW over stacked (K, ...) parameters with a learning rate and weight decay per model.

    The same update as ``torch.optim.AdamW`` (decoupled decay ``p *= 1 - lr * wd``, bias-
    corrected moments), applied to all K models at once. As in ``train``, weight decay applies
    only to parameters with >= 2 dims per model."""

    def __init__(self, params: dict[str, torch.Tensor], specs: Sequence[RunSpec], device: torch.device) -> None:
        o = specs[0].optim
        self.params = params
        self.beta1, self.beta2, self.eps = o.beta1, o.beta2, o.eps
        self.lr = torch.tensor([s.optim.lr for s in specs], dtype=torch.float32, device=device)
        self.wd = torch.tensor([s.optim.weight_decay for s in specs], dtype=torch.float32, device=device)
        self.m = {n: torch.zeros_like(p) for n, p in params.items()}
        self.v = {n: torch.zeros_like(p) for n, p in params.items()}
        self.t = 0

    @staticmethod
    def _per_model(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return values.view(-1, *([1] * (like.dim() - 1)))

    @torch.no_grad()
    def step(self, lr_mult: float) -> None:
        self.t += 1
        bc1 = 1 - self.beta1**self.t
        bc2_sqrt = math.sqrt(1 - self.beta2**self.t)
        lr = self.lr * lr_mult
        for name, p in self.params.items():
            g = p.grad
            if g is None:
                continue
            if p.dim() - 1 >= 2:
                p.mul_(self._per_model(1 - lr * self.wd, p))
            m, v = self.m[name], self.v[name]
            m.lerp_(g, 1 - self.beta1)
            v.mul_(self.beta2).addcmul_(g, g, value=1 - self.beta2)
            denom = (v.sqrt() / bc2_sqrt).add_(self.eps)
            p.sub_(self._per_model(lr / bc1, p) * m / denom)

    def zero_grad(self) -> None:
        for p in self.params.values():
            p.grad = None


@torch.no_grad()
def _clip_per_model(params: dict[str, torch.Tensor], max_norm: float) -> None:
    """Scale each model's gradient so that its own global norm is at most ``max_norm``
    (``torch.nn.utils.clip_grad_norm_``'s rule, per model)."""
    grads = [p.grad for p in params.values() if p.grad is not None]
    sq = sum(g.pow(2).flatten(1).sum(1) for g in grads)
    coef = (max_norm / (sq.sqrt() + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(coef.view(-1, *([1] * (g.dim() - 1))))


def _eval_losses(batched: _Batched, eval_sets: list[list[Batch]]) -> list[float]:
    """Held-out loss per model (each model on its own task's fixed batches), weighted by
    counted targets as in ``train.eval_loss``."""
    totals = torch.zeros(len(eval_sets), dtype=torch.float64)
    counts = torch.zeros(len(eval_sets), dtype=torch.float64)
    with torch.no_grad():
        for i in range(len(eval_sets[0])):
            x, y, mask = _stack([es[i] for es in eval_sets])
            losses = batched.losses(x, y, mask).cpu().double()
            n = mask.flatten(1).sum(1).cpu().double() if mask is not None else torch.full_like(totals, y[0].numel())
            totals += losses * n
            counts += n
    return (totals / counts).tolist()


def train_ensemble(specs: Sequence[RunSpec]) -> list[RunResult]:
    """Train same-shape runs in one batched loop; results in the order of ``specs``.

    A single run trains beside a copy of itself, whose result is dropped: with a batch of one
    model some batched kernels take another path (a width-1 MLP's numbers differed from every
    K >= 2 in the last bits, while K = 2, 3, 8 and 20 agreed exactly), and a run's record must
    not depend on how many runs shared its step. Its ``wall_time_s`` is the whole cost.

    Raises ``ValueError`` for an invalid spec or runs that cannot be batched together."""
    specs = list(specs)
    if not specs:
        raise ValueError("train_ensemble needs at least one spec")
    checked = [validate(s) for s in specs]
    for s in specs:
        if s.curve_evals or s.early_stop is not None or s.stop_when is not None:
            raise ValueError("train_ensemble: curve_evals, early_stop and stop_when are for single runs (train)")
    devices, tasks, steps_list = zip(*checked)
    _check_same_shape(specs, tasks, steps_list)
    lone = len(specs) == 1
    if lone:
        specs, tasks = specs * 2, tasks * 2
    with isolated(devices[0]):
        results = _train_ensemble(specs, list(tasks), devices[0], steps_list[0])
    if lone:
        results = results[:1]
        results[0].wall_time_s = results[0].env["ensemble"]["wall_time_s"]
        results[0].env["ensemble"] = {"size": 1, "wall_time_s": results[0].wall_time_s, "beside_a_copy": True}
    return results


def _train_ensemble(specs: list[RunSpec], tasks: list[Task], device: torch.device, steps: int) -> list[RunResult]:
    K, first = len(specs), specs[0]  # what must be equal is first's (_check_same_shape)
    per_step = tokens_per_step(first, tasks[0])
    fpt = run_flops_per_token(first.model, tasks[0])
    eval_every = eval_interval(first, steps)
    results = [new_result(s, t, fpt) for s, t in zip(specs, tasks)]
    synchronize(device)
    t0 = time.perf_counter()
    models = []
    for s in specs:
        torch.manual_seed(s.seed)
        models.append(build_model(s.model).to(device))
    batched = _Batched(models, tasks[0], first.dtype, device)
    opt = _BatchedAdamW(batched.params, specs, device)
    eval_sets = [[b.to(device) for b in t.eval_batches(first.eval_batches, first.optim.batch_size)] for t in tasks]
    done_at: list[int | None] = [None] * K  # the step a failed member stopped at

    def fail(k: int, reason: str) -> None:
        results[k].status, results[k].failure = "failed", reason
        done_at[k] = done

    watch = LossWatch(K)
    done = 0
    try:
        for step in range(steps):
            mult = lr_multiplier(step, first.optim, steps)
            x, y, mask = _stack([t.train_batch(step, first.optim.batch_size) for t in tasks])
            x, y = x.to(device), y.to(device)
            mask = None if mask is None else mask.to(device)
            losses = batched.losses(x, y, mask)
            losses.sum().backward()
            if first.optim.grad_clip > 0:
                _clip_per_model(batched.params, first.optim.grad_clip)
            opt.step(mult)
            opt.zero_grad()
            done = step + 1
            watch.add(losses)
            point = done % eval_every == 0 or done == steps
            if watch.check_due(point):
                for k, reason in enumerate(watch.check(done)):
                    if reason is not None and results[k].ok:
                        fail(k, reason)
            if point:
                train_means = watch.train_losses()
                eval_means = _eval_losses(batched, eval_sets)
                for k, r in enumerate(results):
                    if not r.ok:
                        continue
                    if not math.isfinite(eval_means[k]):
                        fail(k, f"non-finite held-out loss at step {done}")
                        continue
                    r.curve.append(curve_point(done, per_step, fpt, specs[k].optim.lr * mult,
                                               train_means[k], eval_means[k]))
            if not any(r.ok for r in results):
                break
    except RuntimeError as exc:  # torch's runtime failures (out of memory, device errors)
        for k, r in enumerate(results):
            if r.ok:
                fail(k, f"{type(exc).__name__} at step {done + 1}: {exc}")
    for k, (r, spec, task) in enumerate(zip(results, specs, tasks)):
        finish(r, done if done_at[k] is None else done_at[k], per_step, fpt)
        if r.ok and spec.evals:
            r.metrics = evals_mod.run_evals(batched.unstack(k), task, spec, device)
    synchronize(device)
    total = time.perf_counter() - t0
    for r in results:
        r.wall_time_s = total / K
        r.env["ensemble"] = {"size": K, "wall_time_s": total}
    return results
