"""``train(spec) -> RunResult``: one training run, a pure function of the spec.

What it does, in order:

1. Validates the spec against this machine and the task (``ValueError`` for an invalid spec:
   unknown task or option, device not present, model/task mismatch, unknown evaluator).
2. Seeds model initialisation from ``spec.seed`` inside ``torch.random.fork_rng`` (the
   caller's global RNG state is left untouched); data come from ``spec.data.seed`` alone.
3. Trains with AdamW (fused where this torch supports it; weight decay on matrices only, as
   in nanoGPT), linear warmup then cosine decay to ``min_lr_frac * lr`` or a constant LR,
   gradient-norm clipping, for the number of steps the budget gives (rounded up).
4. Every ``eval_every`` steps (0: about 10 times per run) appends a curve point with the
   mean training loss since the previous point and the held-out loss on fixed batches.
5. Checks the loss every few steps (no per-step ``.item()``): a NaN/inf loss, or a windowed
   mean loss above ``DIVERGENCE_FACTOR`` times the first window's, ends the run with status
   ``"failed"`` and the reason; so does a ``RuntimeError`` from torch during training (out
   of memory, a device error). ``train`` never raises for a training failure; programming
   errors (``TypeError``, ``AttributeError``, ...) do propagate rather than being cached as
   failed runs.
6. Options: ``curve_evals`` run at every curve point (their scalars join the point, e.g.
   accuracy curves); an ``early_stop`` rule may end the run before its planned steps, once its
   forecast of the final held-out loss is stable, and a ``stop_when`` rule once a curve metric
   has met its threshold for a number of points (``RunResult.early_stop`` records which rule,
   where, the planned length and why; the final losses are then the last point's).
7. Tiny runs (a step of at most ``BATCHED_MAX_STEP_FLOPS`` on CPU) take the batched-ensemble
   path instead (``scaling_claims.ensemble``), as an ensemble of one: a sweep can then group
   them with their same-shape neighbours without changing any number.
8. Runs the spec's evaluators (``scaling_claims.evals``) and records everything. An
   evaluator's exception propagates (a bug or a bad option, not a training failure), so no
   record is cached for a run whose metrics could not be computed.

On CPU it trains and evaluates on one torch thread (``device.pinned_threads``; the caller's
thread count is restored after): the same spec then gives bit-identical numbers whichever
process or executor trained it (``env["threads"]`` records it). ``wall_time_s`` spans model
construction to the end of the evaluations, with the device synchronised before the clock is
read.

``LossWatch``, ``new_result``, ``curve_point`` and ``finish`` are the core this loop shares
with ``train_ensemble``: a fix to the loss checks or the record lands in both.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections import deque
from typing import Any, Iterator

import torch
from torch import nn

from scaling_claims.engine import evals as evals_mod
from scaling_claims.engine.data import Task, make_task
from scaling_claims.engine.data.base import Batch
from scaling_claims.engine.device import autocast, check_dtype, environment, pinned_threads, resolve_device, synchronize
from scaling_claims.engine.flops import flops_per_token, param_counts
from scaling_claims.engine.models import build_model
from scaling_claims.engine.specs import ModelSpec, OptimSpec, RunResult, RunSpec

# A run whose windowed mean training loss exceeds this multiple of its first window's mean
# loss has diverged: a healthy run's loss falls below its initial value and stays there.
DIVERGENCE_FACTOR = 2.0
# Loss checks (NaN/inf, divergence) happen at least this often, in steps.
CHECK_EVERY = 25
# Curve points average the training loss over at most this many most recent steps.
TRAIN_LOSS_WINDOW = 50


# The batched path: a run whose training step costs at most this many FLOPs (tokens per step
# x FLOPs per token) on CPU trains through the batched-ensemble code (``train_ensemble``),
# alone or grouped with same-shape runs by a sweep. Below it a step is dominated by per-op
# overhead, and batching 8 such runs measured 1.7-6.6x faster than training them one by one;
# above it the gain fell to 1.2-1.6x at 8 runs and to none or a loss at the quick set's 3
# seeds per shape (docs/engine.md has the table). Because the path is chosen by the spec alone
# and a member's numbers do not depend on its co-members, a run's record is the same whether
# a sweep batched it or not.
BATCHED_MAX_STEP_FLOPS = 5e6


class TrainingFailure(Exception):
    """Raised inside the loop when a run fails; ``train`` turns it into status "failed"."""


def check_compatible(model: ModelSpec, task: Task) -> None:
    """``ValueError`` unless ``model`` can train on ``task``."""
    if model.arch == "gpt":
        if task.kind != "lm":
            raise ValueError(f"a gpt model needs a sequence task; {task.name!r} is {task.kind!r} (use arch='mlp')")
        if task.vocab_size > model.vocab_size:
            raise ValueError(f"task {task.name!r} has vocab {task.vocab_size} > model vocab_size={model.vocab_size}")
        if task.seq_len > model.ctx:
            raise ValueError(f"task {task.name!r} sequences have length {task.seq_len} > model ctx={model.ctx}")
    else:
        if task.kind != "classify":
            raise ValueError(f"an mlp model needs a classification task; {task.name!r} is {task.kind!r}")
        if model.d_in != task.d_in or model.d_out < task.n_classes:
            raise ValueError(
                f"mlp shape d_in={model.d_in}, d_out={model.d_out} does not fit task {task.name!r} "
                f"(d_in={task.d_in}, n_classes={task.n_classes})"
            )


def tokens_per_step(spec: RunSpec, task: Task) -> int:
    return spec.optim.batch_size * task.tokens_per_example


def run_flops_per_token(model: ModelSpec, task: Task) -> float:
    """FLOPs per token at the task's sequence length (see ``scaling_claims.flops``)."""
    return flops_per_token(model, task.seq_len if model.arch == "gpt" else None)


def step_flops(spec: RunSpec, task: Task) -> float:
    """Training FLOPs of one optimiser step: tokens per step x FLOPs per token."""
    return tokens_per_step(spec, task) * run_flops_per_token(spec.model, task)


def batched_path(spec: RunSpec, task: Task) -> bool:
    """Whether ``spec`` trains through the batched-ensemble code (``BATCHED_MAX_STEP_FLOPS``).
    CPU only: there a member's numbers were checked to be independent of the ensemble's size."""
    return (spec.device == "cpu" and not spec.curve_evals and spec.early_stop is None and spec.stop_when is None
            and step_flops(spec, task) <= BATCHED_MAX_STEP_FLOPS)


def lr_multiplier(step: int, optim: OptimSpec, total_steps: int) -> float:
    """LR factor at 0-based ``step``: linear warmup over ``warmup_steps``, then cosine from 1 to
    ``min_lr_frac`` at the last step, or constant 1."""
    if step < optim.warmup_steps:
        return (step + 1) / optim.warmup_steps
    if optim.schedule == "constant":
        return 1.0
    span = max(1, total_steps - optim.warmup_steps - 1)
    progress = min(1.0, (step - optim.warmup_steps) / span)
    return optim.min_lr_frac + (1 - optim.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * progress))


def param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """nanoGPT's split: weight decay on parameters with >= 2 dims, none on biases/LayerNorms."""
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def make_optimizer(model: nn.Module, optim: OptimSpec, device: torch.device) -> torch.optim.Optimizer:
    """AdamW, fused on CPU and CUDA when torch supports it (else the foreach implementation;
    on MPS always foreach: fused MPS AdamW is missing from some supported torch versions)."""
    kwargs = dict(lr=optim.lr, betas=(optim.beta1, optim.beta2), eps=optim.eps)
    if device.type not in ("cpu", "cuda"):
        return torch.optim.AdamW(param_groups(model, optim.weight_decay), **kwargs)
    try:
        return torch.optim.AdamW(param_groups(model, optim.weight_decay), fused=True, **kwargs)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.AdamW(param_groups(model, optim.weight_decay), **kwargs)


def eval_loss(model: nn.Module, task: Task, batches: list[Batch], dtype: str, device: torch.device) -> float:
    """Mean held-out loss over fixed batches (each batch weighted by its counted targets),
    accumulated in float64 on the CPU (never float64 on the device: MPS has none)."""
    was = model.training
    model.eval()
    total = torch.zeros((), dtype=torch.float64, device="cpu")
    count = 0.0
    with torch.no_grad():
        for b in batches:
            with autocast(device.type, dtype):
                logits = model(b.x)
            n = float(b.mask.sum()) if b.mask is not None else float(b.y.numel())
            total += task.loss(logits, b).cpu().double() * n
            count += n
    model.train(was)
    return float(total / count)


def validate(spec: RunSpec) -> tuple[torch.device, Task, int]:
    """Check ``spec`` and build its task; returns (device, task, steps). ``ValueError`` if invalid."""
    if not isinstance(spec, RunSpec):
        raise ValueError(f"train needs a RunSpec, got {type(spec).__name__}")
    device = torch.device(resolve_device(spec.device))
    check_dtype(spec.device, spec.dtype)
    task = make_task(spec.data, ctx=spec.model.ctx)
    check_compatible(spec.model, task)
    for ev in spec.curve_evals:
        evals_mod.resolve(ev.name)
    if spec.eval_every < 0 or spec.eval_batches < 1:
        raise ValueError("RunSpec: eval_every must be >= 0 and eval_batches >= 1")
    if not spec.optim.grad_clip >= 0 or not 0 <= spec.optim.min_lr_frac <= 1:
        raise ValueError("OptimSpec: grad_clip must be >= 0 and min_lr_frac in [0, 1]")
    for ev in spec.evals:
        evals_mod.resolve(ev.name)
    steps = spec.budget.whole_steps(tokens_per_step(spec, task), run_flops_per_token(spec.model, task))
    return device, task, steps


class LossWatch:
    """The training-loss bookkeeping both loops share: ``train`` (one model) and
    ``train_ensemble`` (K models in one batched step). ``add`` takes each step's loss (a
    0-d tensor, or a (K,) tensor of the members' losses); no ``.item()`` per step.

    - ``check(step)`` runs every ``CHECK_EVERY`` steps and at each curve point: a NaN/inf loss,
      or a windowed mean loss above ``DIVERGENCE_FACTOR`` times the first window's, is a
      failure. It returns one failure reason per member (``None`` for a healthy one).
    - ``train_losses()`` gives each member's mean training loss over the at most
      ``TRAIN_LOSS_WINDOW`` steps since the last curve point, and starts the next point."""

    def __init__(self, members: int = 1) -> None:
        self.members = members
        self.since_point: deque[torch.Tensor] = deque(maxlen=TRAIN_LOSS_WINDOW)
        self.since_check: list[torch.Tensor] = []
        self.first_mean: torch.Tensor | None = None

    def add(self, losses: torch.Tensor) -> None:
        losses = losses.detach().reshape(self.members)
        self.since_point.append(losses)
        self.since_check.append(losses)

    def check_due(self, point: bool) -> bool:
        return point or len(self.since_check) >= CHECK_EVERY

    def check(self, step: int) -> list[str | None]:
        window = torch.stack(self.since_check).cpu().double()  # (n, members); float64 as in train_losses
        self.since_check = []
        means = window.mean(0)
        first = step - len(window) + 1
        reasons: list[str | None] = []
        for k in range(self.members):
            col = window[:, k]
            if not bool(torch.isfinite(col).all()):
                bad = int((~torch.isfinite(col)).nonzero()[0, 0])
                reasons.append(f"non-finite training loss at step {first + bad}")
            elif self.first_mean is not None and means[k] > DIVERGENCE_FACTOR * self.first_mean[k]:
                reasons.append(
                    f"diverged: mean training loss {float(means[k]):.4g} over steps {first}-{step} exceeds "
                    f"{DIVERGENCE_FACTOR}x the first window's {float(self.first_mean[k]):.4g}"
                )
            else:
                reasons.append(None)
        if self.first_mean is None:
            self.first_mean = means
        return reasons

    def train_losses(self) -> list[float]:
        # float64 sums of <= 50 float32 losses are exact in practice, so a member's mean does
        # not depend on how many members share the window (a float32 column mean would).
        means = torch.stack(list(self.since_point)).cpu().double().mean(0).tolist()
        self.since_point.clear()
        return means


def eval_interval(spec: RunSpec, steps: int) -> int:
    """Steps between curve points: ``spec.eval_every``, or about 10 points per run when 0."""
    return spec.eval_every or max(1, steps // 10)


def new_result(spec: RunSpec, task: Task, fpt: float) -> RunResult:
    """The record a run starts from: status "ok", its parameter counts and environment."""
    return RunResult(key=spec.key(), spec=spec.to_dict(), status="ok", params=param_counts(spec.model),
                     flops_per_token=fpt, env={**environment(spec.device, spec.dtype), "data": task.info})


def curve_point(done: int, per_step: int, fpt: float, lr: float, train_loss: float, eval_loss: float) -> dict:
    return {"step": done, "tokens": done * per_step, "flops": float(done * per_step * fpt), "lr": lr,
            "train_loss": train_loss, "eval_loss": eval_loss}


def curve_metrics(model: nn.Module, task: Task, spec: RunSpec, device: torch.device) -> dict[str, float]:
    """``spec.curve_evals`` at a curve point: their scalar numbers (lists are left to the
    end-of-run ``evals``); the model is left in training mode."""
    out = evals_mod.run_evals(model, task, spec, device, spec.curve_evals)
    return {k: v for k, v in out.items() if isinstance(v, (int, float))}


def early_stop(spec: RunSpec, curve: list[dict], steps: int) -> dict[str, Any] | None:
    """Apply the spec's stop rules (``stop_when``, then ``early_stop``) to the curve so far: the
    record of the stop (``RunResult.early_stop``) when one says stop, else None."""
    if spec.stop_when is not None and spec.stop_when.met(curve):
        w = spec.stop_when
        bound = f"<= {w.at_most}" if w.at_most is not None else f">= {w.at_least}"
        return {"rule": "stop_when", "step": curve[-1]["step"], "planned_steps": steps,
                "reason": f"{w.metric} {bound} at the last {w.points} curve points"}
    if spec.early_stop is None:
        return None
    from scaling_claims.fit.forecast import early_stop_decision  # pure NumPy/SciPy, below the engine

    rule = spec.early_stop
    # the forecast laws describe the curve after warmup: while the LR ramps up the loss falls at a
    # rate neither describes, and fitted points there bias the forecast (docs/claims-learning-curves.md)
    after = [p for p in curve if p["step"] > spec.optim.warmup_steps]
    if not after:
        return None
    lr = None
    if rule.form == "annealing":
        lr = [spec.optim.lr * lr_multiplier(s, spec.optim, steps) for s in range(steps)]
    decision = early_stop_decision([p["step"] for p in after], [p["eval_loss"] for p in after], steps,
                                   form=rule.form, lr=lr, min_fraction=rule.min_fraction, window=rule.window,
                                   rtol=rule.rtol)
    if not decision.stop:
        return None
    return {"rule": "early_stop", "step": curve[-1]["step"], "planned_steps": steps,
            "forecast_final_eval_loss": decision.forecast, "form": rule.form, "reason": decision.reason}


def finish(result: RunResult, done: int, per_step: int, fpt: float) -> None:
    """Record how far a run got and, if it is ok, its final losses (from its last curve point)."""
    result.steps = done
    result.tokens = done * per_step
    result.flops = float(result.tokens * fpt)
    if result.ok:
        result.final_train_loss = result.curve[-1]["train_loss"]
        result.final_eval_loss = result.curve[-1]["eval_loss"]


def train(spec: RunSpec) -> RunResult:
    """Train the run ``spec`` describes and return its ``RunResult`` (see module docstring)."""
    device, task, steps = validate(spec)
    if batched_path(spec, task):
        from scaling_claims.engine.ensemble import train_ensemble  # ensemble builds on this module

        return train_ensemble([spec])[0]
    return _train_pinned(spec, device, task, steps)


def train_plain(spec: RunSpec) -> RunResult:
    """The single-model loop whatever the run's size: the reference the batched path is
    tested against (tests/test_ensemble.py). For a run on the batched path its numbers differ
    from ``train``'s by float rounding, so it is never what the run cache stores."""
    device, task, steps = validate(spec)
    return _train_pinned(spec, device, task, steps)


@contextlib.contextmanager
def isolated(device: torch.device) -> Iterator[None]:
    """The block both loops train in: the caller's RNG state forked (restored after) and, on
    CPU, one torch thread (``device.pinned_threads``)."""
    cuda_devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda_devices), pinned_threads(device):
        yield


def _train_pinned(spec: RunSpec, device: torch.device, task: Task, steps: int) -> RunResult:
    with isolated(device):
        torch.manual_seed(spec.seed)
        return _train(spec, device, task, steps)


def _train(spec: RunSpec, device: torch.device, task: Task, steps: int) -> RunResult:
    per_step = tokens_per_step(spec, task)
    fpt = run_flops_per_token(spec.model, task)
    eval_every = eval_interval(spec, steps)
    result = new_result(spec, task, fpt)
    synchronize(device)
    t0 = time.perf_counter()
    model = build_model(spec.model).to(device)
    opt = make_optimizer(model, spec.optim, device)
    eval_batches = [b.to(device) for b in task.eval_batches(spec.eval_batches, spec.optim.batch_size)]
    watch = LossWatch()
    done = 0
    try:
        model.train()
        for step in range(steps):
            lr = spec.optim.lr * lr_multiplier(step, spec.optim, steps)
            for group in opt.param_groups:
                group["lr"] = lr
            batch = task.train_batch(step, spec.optim.batch_size).to(device)
            with autocast(device.type, spec.dtype):
                logits = model(batch.x)
            loss = task.loss(logits, batch)
            loss.backward()
            if spec.optim.grad_clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), spec.optim.grad_clip)
            opt.step()
            opt.zero_grad(set_to_none=True)
            done = step + 1
            watch.add(loss)
            point = done % eval_every == 0 or done == steps
            if watch.check_due(point) and (reason := watch.check(done)[0]) is not None:
                raise TrainingFailure(reason)
            if point:
                held_out = eval_loss(model, task, eval_batches, spec.dtype, device)
                if not math.isfinite(held_out):
                    raise TrainingFailure(f"non-finite held-out loss at step {done}")
                result.curve.append(curve_point(done, per_step, fpt, lr, watch.train_losses()[0], held_out))
                if spec.curve_evals:
                    result.curve[-1].update(curve_metrics(model, task, spec, device))
                if done < steps and (stop := early_stop(spec, result.curve, steps)) is not None:
                    result.early_stop = stop
                    break
    except TrainingFailure as exc:
        result.status, result.failure = "failed", str(exc)
    except RuntimeError as exc:  # torch's runtime failures (out of memory, device errors) are recorded
        result.status, result.failure = "failed", f"{type(exc).__name__} at step {done + 1}: {exc}"
    finish(result, done, per_step, fpt)
    if result.ok:
        result.metrics = evals_mod.run_evals(model, task, spec, device)
    synchronize(device)
    result.wall_time_s = time.perf_counter() - t0
    return result
