"""Language-modelling evaluators: held-out loss, and loss by position.

Both use ``task.eval_batches`` (held-out, the same for every run of a sweep) and the task's
loss mask, and run the forward pass under the spec's dtype policy (bf16 autocast when the
run used it), accumulating in float64 on the CPU.
"""

from __future__ import annotations

from typing import Any

import torch

from scaling_claims.engine.data.base import token_cross_entropy
from scaling_claims.engine.device import autocast


def _batches(task: Any, spec: Any, n_batches: int | None, batch_size: int | None, length: int | None):
    n = spec.eval_batches if n_batches is None else int(n_batches)
    bs = spec.optim.batch_size if batch_size is None else int(batch_size)
    if n < 1 or bs < 1:
        raise ValueError(f"n_batches and batch_size must be >= 1, got {n}, {bs}")
    if length is None:
        return task.eval_batches(n, bs)
    if task.kind != "lm":
        raise ValueError("option 'length' applies to sequence tasks only")
    key = "seq_len" if hasattr(task, "valid_data") else "length"
    return task.eval_batches(n, bs, **{key: int(length)})


def _token_losses(model, task, spec, device, batches):
    """Yields (per-target losses (B, T) or (B,), mask or None) per batch, on the CPU in float64."""
    for batch in batches:
        batch = batch.to(device)
        with autocast(device.type, spec.dtype):
            logits = model(batch.x)
        per = token_cross_entropy(logits, batch.y).cpu().double()
        mask = None if batch.mask is None else batch.mask.cpu().double()
        yield per, mask


def loss(model, task, spec, device, n_batches: int | None = None, batch_size: int | None = None,
         length: int | None = None) -> dict[str, Any]:
    """Mean held-out cross-entropy (nats per counted target) over ``n_batches`` batches
    (default ``spec.eval_batches``) of ``batch_size`` (default the training batch size);
    ``length``: evaluate sequences of this length (corpus windows, or copy/reverse strings).
    Returns ``loss`` and ``n_targets``."""
    total, count = 0.0, 0.0
    for per, mask in _token_losses(model, task, spec, device, _batches(task, spec, n_batches, batch_size, length)):
        if mask is None:
            total += float(per.sum())
            count += per.numel()
        else:
            total += float((per * mask).sum())
            count += float(mask.sum())
    if count == 0:
        raise ValueError("no counted targets in the evaluation batches")
    return {"loss": total / count, "n_targets": int(count)}


def loss_by_position(model, task, spec, device, n_batches: int | None = None, batch_size: int | None = None,
                     length: int | None = None) -> dict[str, Any]:
    """Held-out cross-entropy at each position of the sequence (``loss_by_position``, a list
    of length T; NaN where no target counts) and its overall mean ``loss``."""
    if task.kind != "lm":
        raise ValueError("loss_by_position needs a sequence task")
    sums, counts = None, None
    for per, mask in _token_losses(model, task, spec, device, _batches(task, spec, n_batches, batch_size, length)):
        m = torch.ones_like(per) if mask is None else mask
        s, c = (per * m).sum(0), m.sum(0)
        sums, counts = (s, c) if sums is None else (sums + s, counts + c)
    by_pos = torch.where(counts > 0, sums / counts.clamp_min(1), torch.full_like(sums, float("nan")))
    return {"loss_by_position": by_pos.tolist(), "loss": float(sums.sum() / counts.sum().clamp_min(1))}


def loss_by_domain(model, task, spec, device, domains: Any = None, n_batches: int | None = None,
                   batch_size: int | None = None) -> dict[str, Any]:
    """Held-out cross-entropy (nats per byte) on each text domain's own held-out windows
    (``scaling_claims.engine.data.domains``), whatever the model was trained on: ``domains``
    (default: the task's mixture domains, else all of them), ``n_batches`` x ``batch_size``
    windows of the task's length per domain (the same windows for every run). Returns
    ``loss/<domain>`` for each, ``mean`` (their unweighted mean) and ``n_targets`` per domain."""
    from scaling_claims.engine.data.domains import DOMAINS, held_out_windows

    if task.kind != "lm" or getattr(task, "vocab_size", None) != 256:
        raise ValueError("loss_by_domain needs a byte-level sequence task")
    names = tuple(domains) if domains is not None else tuple(getattr(task, "domains", DOMAINS))
    unknown = [d for d in names if d not in DOMAINS]
    if not names or unknown:
        raise ValueError(f"loss_by_domain: domains must be among {DOMAINS}, got {names!r}")
    n = spec.eval_batches if n_batches is None else int(n_batches)
    bs = spec.optim.batch_size if batch_size is None else int(batch_size)
    if n < 1 or bs < 1:
        raise ValueError(f"n_batches and batch_size must be >= 1, got {n}, {bs}")
    out: dict[str, Any] = {}
    for d in names:
        total, count = 0.0, 0
        for per, _ in _token_losses(model, task, spec, device, held_out_windows(d, n, bs, task.seq_len)):
            total += float(per.sum())
            count += per.numel()
        out[f"loss/{d}"] = total / count
    out["mean"] = sum(out[f"loss/{d}"] for d in names) / len(names)
    out["n_targets"] = count
    return out
