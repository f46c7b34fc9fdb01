"""Evaluators for length extrapolation: language-model loss against evaluation length, and
task accuracy against string length.

Why. A positional encoding "extrapolates" if a model trained on sequences of length L keeps
its per-token loss when it reads longer ones (Press et al. 2022 measure perplexity at
evaluation lengths beyond L; Kazemnejad et al. 2023 measure copy/reverse accuracy on strings
longer than any seen in training). These evaluators measure exactly that on a trained model:

- ``loss_vs_length``: mean per-token cross-entropy (nats) over held-out windows of each
  evaluation length (``task.eval_batches(1, B, seq_len=T)``, the corpus tasks' interface),
  with about the same number of predicted tokens at every length (so every length is
  estimated about equally well). Every position of a window counts, as in Press et al.'s
  non-overlapping evaluation, so a longer window mixes short and long contexts. Learned
  absolute positions cannot run past ``ctx``: that length is reported as NaN with
  ``ran`` = 0 (a defined behaviour, not a crash).
  With ``interpolate=True`` and a RoPE model, each length T > ctx is also evaluated with
  position interpolation (Chen et al. 2023): a copy of the model with
  ``rope_scale = ctx / T``, the same weights (zero-shot; Chen et al. additionally fine-tune).
- ``accuracy_vs_length``: exact match (teacher-forced argmax, which equals greedy decoding's
  exact match) and per-token accuracy on copy/reverse problems of each string length.

Evaluator signature (the engine's hook): ``fn(model, task, spec, device, **options) -> dict``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Sequence

import torch
import torch.nn.functional as F

from .arithmetic import _logits, _problems, answer_scores, teacher_forced_logits


@torch.no_grad()
def mean_batch_loss(model, batches, device: str) -> float:
    """Token-weighted mean cross-entropy (nats) over the counted targets of ``batches``."""
    total, count = 0.0, 0.0
    for batch in batches:
        x = batch.x.to(device)
        lg = _logits(model, x).float()
        per = F.cross_entropy(lg.reshape(-1, lg.shape[-1]), batch.y.to(device).reshape(-1), reduction="none")
        m = torch.ones_like(per) if batch.mask is None else batch.mask.to(device).reshape(-1).float()
        total += float((per * m).sum())
        count += float(m.sum())
    if count == 0:
        raise ValueError("mean_batch_loss: no counted targets")
    return total / count


def with_rope_scale(model, scale: float):
    """A copy of a RoPE ``GPT`` whose positions are multiplied by ``scale`` (same weights)."""
    from scaling_claims.engine.models import build_model

    spec = getattr(model, "spec", None)
    if spec is None or getattr(spec, "pos", None) != "rope":
        raise ValueError("with_rope_scale: needs a GPT built from a ModelSpec with pos='rope'")
    twin = build_model(dataclasses.replace(spec, rope_scale=float(spec.rope_scale) * scale))
    twin.load_state_dict(model.state_dict())
    p = next(model.parameters())
    return twin.to(device=p.device, dtype=p.dtype).eval()


def loss_vs_length(model, task, spec, device, lengths: Sequence[int] = (64, 128, 256, 512),
                   n_targets: int = 16384, interpolate: bool = False, **_: Any) -> dict:
    """Per-token loss at each evaluation length (see the module docstring), on
    ``ceil(n_targets / T)`` held-out windows of length T from ``task.eval_batches(...,
    seq_len=T)``. Returns ``lengths``, ``loss`` (NaN where the model cannot run), ``ran`` (1
    where it ran, 0 where it refused the length) and, with ``interpolate``, ``loss_pi``
    (position interpolation; equal to ``loss`` at T <= ctx)."""
    lengths = [int(t) for t in lengths]
    if not lengths or min(lengths) < 1 or n_targets < 1:
        raise ValueError(f"loss_vs_length: lengths and n_targets must be positive, got {lengths}, {n_targets}")
    if interpolate and spec.model.pos != "rope":
        raise ValueError("loss_vs_length(interpolate=True) needs a RoPE model")
    model.eval()
    ctx = int(spec.model.ctx)
    loss, ran, loss_pi = [], [], []
    for T in lengths:
        batches = task.eval_batches(1, math.ceil(n_targets / T), seq_len=T)
        try:
            loss.append(mean_batch_loss(model, batches, device))
            ran.append(1)
        except ValueError as exc:  # learned absolute positions past ctx: defined, reported
            if "exceeds the trained context" not in str(exc):
                raise
            loss.append(math.nan)
            ran.append(0)
        if interpolate:
            loss_pi.append(loss[-1] if T <= ctx else
                           mean_batch_loss(with_rope_scale(model, ctx / T), batches, device))
    out: dict[str, Any] = {"lengths": lengths, "loss": loss, "ran": ran}
    if interpolate:
        out["loss_pi"] = loss_pi
    return out


def accuracy_vs_length(model, task, spec, device, lengths: Sequence[int] = tuple(range(1, 33)),
                       n_per_length: int = 200, **_: Any) -> dict:
    """Exact match and per-token accuracy on ``n_per_length`` held-out problems of each string
    length (``task.problems(n, "eval", length)``, e.g. copy / reverse). A length the model
    cannot run (learned positions past ctx) is reported as NaN with ``ran`` 0 (evaluator
    outputs are numbers only)."""
    lengths = [int(t) for t in lengths]
    if not lengths or min(lengths) < 1 or n_per_length < 1:
        raise ValueError("accuracy_vs_length: lengths and n_per_length must be positive")
    model.eval()
    em, tok, ran = [], [], []
    for T in lengths:
        prompts, answers = _problems(task, n_per_length, length=T)
        try:
            s = answer_scores(teacher_forced_logits(model, prompts, answers, device), answers)
        except ValueError as exc:
            if "exceeds the trained context" not in str(exc):
                raise
            em.append(math.nan)
            tok.append(math.nan)
            ran.append(0)
            continue
        em.append(s["exact_match"])
        tok.append(s["digit_acc_mean"])
        ran.append(1)
    return {"lengths": lengths, "exact_match": em, "token_acc": tok, "ran": ran}
