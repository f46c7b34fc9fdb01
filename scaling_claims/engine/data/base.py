"""The ``Task`` interface every data source implements, and the seeded RNG streams they share.

A task is deterministic from its ``DataSpec``: the training batch for step ``s`` is a pure
function of (data seed, ``s``, batch size), and the held-out batches are the same on every
call (and for every data seed: they come from ``EVAL_SEED``). Tensors are created on the CPU; ``Batch.to(device)`` moves them.

Two kinds:

- ``kind == "lm"``: ``x`` and ``y`` are (B, T) int64 token ids (``y`` is ``x`` shifted by one),
  ``mask`` (B, T) float is 1 where the target counts in the loss (all ones for a corpus,
  the answer tokens for an algorithmic task). The model maps ``x`` to (B, T, vocab) logits.
- ``kind == "classify"``: ``x`` is (B, d_in) float32, ``y`` is (B,) int64 class labels;
  the model maps ``x`` to (B, n_classes) logits. One example counts as one token.

``Task.loss(logits, batch)`` is the mean cross-entropy over counted targets, written with
plain tensor ops so that it also works under ``torch.func.vmap`` (batched ensembles).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F


# Held-out sets are drawn with this seed, not the data seed, so that runs differing only in
# their data seed are scored on the same held-out examples.
EVAL_SEED = 20_240_101


def stream_seed(seed: int, stream: str, index: int = 0) -> int:
    """A 63-bit seed for the named RNG stream of a task: distinct for every (seed, stream, index)."""
    digest = hashlib.sha256(f"scaling-claims/{seed}/{stream}/{index}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def generator(seed: int, stream: str, index: int = 0) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded for (seed, stream, index)."""
    return torch.Generator().manual_seed(stream_seed(seed, stream, index))


@dataclass
class Batch:
    """One batch: inputs ``x``, targets ``y``, optional loss ``mask`` and per-example ``info``
    (e.g. ``task_id`` for sparse parity, ``length`` for copy/reverse)."""

    x: torch.Tensor
    y: torch.Tensor
    mask: torch.Tensor | None = None
    info: dict[str, torch.Tensor] = field(default_factory=dict)

    def to(self, device: torch.device | str) -> "Batch":
        if torch.device(device).type == "cpu":
            return self
        mv = lambda t: None if t is None else t.to(device, non_blocking=True)  # noqa: E731
        return Batch(mv(self.x), mv(self.y), mv(self.mask), {k: mv(v) for k, v in self.info.items()})

    def __len__(self) -> int:
        return int(self.x.shape[0])


def masked_cross_entropy(logits: torch.Tensor, y: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Mean cross-entropy over the targets where ``mask`` is 1 (all targets when ``mask`` is None)."""
    per = token_cross_entropy(logits, y)
    if mask is None:
        return per.mean()
    return (per * mask).sum() / mask.sum().clamp_min(1.0)


def token_cross_entropy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of every target, shaped like ``y`` (float32 even under bf16 autocast)."""
    return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="none").view(
        y.shape
    )


class Task:
    """Base class. Subclasses set the attributes below and implement ``train_batch`` and
    ``eval_batches``.

    Attributes: ``name``, ``kind`` ("lm" | "classify"), ``seed`` (data seed), ``vocab_size``
    (lm), ``seq_len`` (length of ``x`` for lm; 1 for classify), ``d_in`` / ``n_classes``
    (classify), ``tokens_per_example`` (``seq_len`` for lm, 1 for classify), ``info`` (a
    JSON-able description recorded in ``RunResult.env["data"]``).
    """

    name: str = "task"
    kind: str = "lm"
    seed: int = 0
    vocab_size: int = 0
    seq_len: int = 1
    d_in: int = 0
    n_classes: int = 0

    @property
    def tokens_per_example(self) -> int:
        return self.seq_len if self.kind == "lm" else 1

    @property
    def info(self) -> dict[str, Any]:
        return {"task": self.name, "kind": self.kind, "seed": self.seed, "seq_len": self.seq_len}

    def train_batch(self, step: int, batch_size: int) -> Batch:  # pragma: no cover - abstract
        raise NotImplementedError

    def eval_batches(self, n_batches: int, batch_size: int, **options: Any) -> list[Batch]:  # pragma: no cover
        raise NotImplementedError

    def loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Mean cross-entropy over counted targets (a 0-dim tensor)."""
        return masked_cross_entropy(logits, batch.y, batch.mask)


def check_positive(name: str, value: Any, minimum: int = 1) -> int:
    """``int(value)`` if it is an integer >= ``minimum``; else a ``ValueError`` naming the option."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"data option {name!r} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def epoch_batch(train: Batch, seed: int, stream: str, step: int, batch_size: int) -> Batch:
    """Step ``step``'s batch of epochs over a fixed training set: the whole set when
    ``batch_size`` covers it (full-batch training), else the ``step``-th full batch of an order
    reshuffled every epoch from (``seed``, ``stream``); the remainder of an epoch is dropped."""
    batch_size = check_positive("batch_size", batch_size)
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step}")
    n = len(train)
    if batch_size >= n:
        return train
    epoch, within = divmod(step, n // batch_size)
    order = torch.randperm(n, generator=generator(seed, stream, epoch))
    idx = order[within * batch_size:(within + 1) * batch_size]
    return Batch(train.x[idx], train.y[idx], None, {k: v[idx] for k, v in train.info.items()})
