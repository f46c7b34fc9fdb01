"""A plain, user-written PyTorch training loop as a scaling-claims trainer: the template to copy.

    pytest claims -m quick --trainer examples.trainers.plain_torch:train -k kaplan

Nothing here is the engine's: the GPT and MLP modules, their initialisation, the optimiser's
parameter groups, the learning-rate schedule, the loop, the curve bookkeeping are this file's
own, as they would be in your stack. What comes from the suite (``scaling_claims.tool.trainers``)
is only what a trainer must *not* re-implement to honour a ``RunSpec``: the spec's data (the
same byte windows, tasks and held-out batches the engine uses), its evaluators by name, the
parameter / FLOP counting conventions, the spec's stop rules and the ``RunResult`` builder.

To adapt your own stack, copy this file and replace ``build_model`` (your model from the
spec's shape), ``make_optimizer`` and ``learning_rate`` (your optimiser and schedule, set
from the spec), keeping the loop's contract: train for ``data.steps`` steps on
``data.batch(step)``, record curve points, return ``trainers.result(...)``. Raise
``trainers.Unsupported`` for anything in a spec you do not implement: the claims that need it
are then reported inconclusive with your reason, never trained some other way.

``train_with`` takes the parts as arguments so that ``examples/trainers/broken.py`` can swap
exactly one for a broken one; ``train`` is the correct trainer.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from scaling_claims.tool import trainers
from scaling_claims.engine.specs import ModelSpec, OptimSpec, RunResult, RunSpec

# ----------------------------------------------------------------------------- the models


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention: one fused q/k/v projection, PyTorch's SDPA, an output projection."""

    def __init__(self, d_model: int, n_head: int) -> None:
        super().__init__()
        self.n_head = n_head
        self.qkv = nn.Linear(d_model, 3 * d_model)  # queries, keys and values in one matmul
        self.proj = nn.Linear(d_model, d_model)  # back to the residual stream

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)  # three (B, T, C) tensors
        # (B, T, C) -> (B, heads, T, head_dim) for each of q, k, v
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # a token sees only its past
        return self.proj(y.transpose(1, 2).reshape(B, T, C))


class Block(nn.Module):
    """A pre-LayerNorm transformer block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, d_model: int, n_head: int, mlp_ratio: int) -> None:
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attn = CausalSelfAttention(d_model, n_head)
        self.mlp = nn.Sequential(nn.Linear(d_model, mlp_ratio * d_model), nn.GELU(),
                                 nn.Linear(mlp_ratio * d_model, d_model))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    """A small decoder with learned absolute positions; ``forward(idx)`` gives (B, T, vocab) logits."""

    def __init__(self, vocab_size: int, ctx: int, d_model: int, n_layer: int, n_head: int, mlp_ratio: int = 4,
                 tie_embeddings: bool = True) -> None:
        super().__init__()
        self.tok = nn.Embedding(vocab_size, d_model)  # token embedding
        self.pos = nn.Embedding(ctx, d_model)  # learned positions: this model knows nothing beyond ctx
        self.blocks = nn.ModuleList(Block(d_model, n_head, mlp_ratio) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size, bias=False)
        if tie_embeddings:
            self.head.weight = self.tok.weight  # one matrix for reading and writing tokens
        for name, p in self.named_parameters():  # GPT-2 style: N(0, 0.02), residual outputs scaled by depth
            if p.dim() >= 2:
                std = 0.02 / math.sqrt(2 * n_layer) if name.endswith(("proj.weight", "mlp.2.weight")) else 0.02
                nn.init.normal_(p, 0.0, std)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        T = idx.shape[1]
        x = self.tok(idx) + self.pos(torch.arange(T, device=idx.device))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


def build_model(m: ModelSpec) -> nn.Module:
    """Your model, built from the spec's shape. Everything the spec asks for that this model
    cannot do is refused with ``trainers.Unsupported`` (the claim becomes inconclusive)."""
    if m.arch == "mlp":  # the classification tasks (grokking, double descent): a ReLU MLP
        widths = (m.d_in, *m.hidden, m.d_out)
        layers: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        return nn.Sequential(*layers[:-1])  # no ReLU after the output layer
    if m.pos != "learned":
        raise trainers.Unsupported(f"this GPT has learned absolute positions only, not {m.pos!r}")
    return GPT(m.vocab_size, m.ctx, m.d_model, m.n_layer, m.n_head, m.mlp_ratio, m.tie_embeddings)


# ----------------------------------------------------------------------------- optimiser and schedule


def make_optimizer(model: nn.Module, o: OptimSpec) -> torch.optim.Optimizer:
    """AdamW with the spec's settings; weight decay on matrices only (not biases or LayerNorms)."""
    matrices = [p for p in model.parameters() if p.dim() >= 2]
    vectors = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": matrices, "weight_decay": o.weight_decay}, {"params": vectors, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=o.lr, betas=(o.beta1, o.beta2), eps=o.eps)


def learning_rate(o: OptimSpec, step: int, steps: int) -> float:
    """The LR of 0-based ``step`` of ``steps``: linear warmup over ``warmup_steps``, then cosine
    from ``lr`` down to ``min_lr_frac * lr`` at the last step (or constant, if the spec says so)."""
    if step < o.warmup_steps:
        return o.lr * (step + 1) / o.warmup_steps
    if o.schedule == "constant":
        return o.lr
    progress = min(1.0, (step - o.warmup_steps) / max(1, steps - o.warmup_steps - 1))
    return o.lr * (o.min_lr_frac + (1 - o.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * progress)))


# ----------------------------------------------------------------------------- the loop


def held_out(model: nn.Module, data: trainers.RunData, step: int) -> float:
    """The held-out loss (nats) on the spec's fixed held-out batches, the number the claims fit."""
    return trainers.held_out_loss(model, data)


def nats(loss: float) -> float:
    """The unit losses are reported in: nats, as the task's cross-entropy computes them."""
    return loss


def check_supported(spec: RunSpec) -> None:
    """Refuse up front what this trainer does not implement (before any compute is spent)."""
    if spec.dtype != "float32":
        raise trainers.Unsupported(f"this loop trains in float32 only, not {spec.dtype}")
    for ev in (*spec.evals, *spec.curve_evals):
        if ev.name.startswith("lengths."):
            raise trainers.Unsupported(f"the evaluator {ev.name!r} needs the engine's own model class")


def train_with(spec: RunSpec, *, build: Callable[[ModelSpec], nn.Module] = build_model,
               optimizer: Callable[[nn.Module, OptimSpec], torch.optim.Optimizer] = make_optimizer,
               lr_at: Callable[[OptimSpec, int, int], float] = learning_rate,
               evaluate: Callable[[nn.Module, trainers.RunData, int], float] = held_out,
               unit: Callable[[float], float] = nats) -> RunResult:
    """One run of ``spec`` with these parts (``train`` uses the correct ones)."""
    check_supported(spec)
    data = trainers.run_data(spec)  # the spec's batches, held-out set, step count (from the budget)
    with trainers.isolated(spec), trainers.Clock() as clock:  # seeded from spec.seed; caller's RNG untouched
        model = build(spec.model).to(data.device)  # your model, initialised under the spec's seed
        vocab = spec.model.vocab_size if spec.model.arch == "gpt" else None  # an untied head is an embedding
        params = trainers.count_params(model, vocab_size=vocab)  # what we really train, counted
        fpt = trainers.flops_per_token(model, data.batch(0))  # measured on the model, engine convention
        opt = optimizer(model, spec.optim)  # your optimiser, from the spec's settings
        every = spec.eval_every or max(1, data.steps // 10)  # curve points: as asked, else ~10 per run
        curve: list[dict] = []
        losses: list[torch.Tensor] = []  # training losses since the last curve point (no .item() per step)
        done, stop = 0, None
        model.train()
        for step, batch in data.batches():  # data.steps steps: what the spec's budget buys
            lr = lr_at(spec.optim, step, data.steps)  # your schedule, set by hand on every step
            for group in opt.param_groups:
                group["lr"] = lr
            loss = data.loss(model(batch.x), batch)  # the task's cross-entropy (nats, counted targets only)
            loss.backward()
            if spec.optim.grad_clip > 0:  # clip the gradient norm when the spec asks for it
                nn.utils.clip_grad_norm_(model.parameters(), spec.optim.grad_clip)
            opt.step()
            opt.zero_grad(set_to_none=True)
            losses.append(loss.detach())
            done = step + 1  # steps taken so far
            if done % every and done != data.steps:  # not a curve point: next step
                continue
            train_loss = float(torch.stack(losses[-50:]).mean())  # the mean of the last <= 50 steps
            losses.clear()
            eval_loss = evaluate(model, data, done)  # the held-out loss, on the spec's fixed held-out batches
            # a NaN/inf loss is a failed run with its reason (recorded, never fitted), not an exception
            if not (math.isfinite(train_loss) and math.isfinite(eval_loss)):
                return trainers.failed(spec, f"non-finite loss by step {done}", steps=done,
                                       tokens=done * data.tokens_per_step, wall_time_s=clock.elapsed())
            # one curve point: steps, tokens and FLOPs so far, LR, losses in nats, the spec's curve_evals
            curve.append(trainers.curve_point(done, done * data.tokens_per_step, done * data.tokens_per_step * fpt,
                                              lr, unit(train_loss), unit(eval_loss),
                                              **trainers.curve_metrics(model, data)))
            if done < data.steps and (stop := trainers.stop_now(spec, curve, data.steps)) is not None:
                break  # the spec's stop rule (stop_when / early_stop) says the run is over
        metrics = trainers.run_evals(model, data)  # the spec's evaluators, by name, on this model
    return trainers.result(spec, params=params, curve=curve, steps=done, tokens=done * data.tokens_per_step,
                           flops_per_token=fpt, metrics=metrics, wall_time_s=clock.seconds, early_stop=stop,
                           data=data, env={"trainer_notes": "examples.trainers.plain_torch"})


def train(spec: RunSpec) -> RunResult:
    """The trainer ``--trainer examples.trainers.plain_torch:train`` calls: the correct loop."""
    return train_with(spec)
