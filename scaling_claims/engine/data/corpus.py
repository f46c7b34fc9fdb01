"""Byte-level language-modelling tasks over an in-memory corpus (train and validation bytes).

Shared by the standard-library corpus (``stdlib``) and a user-named text file (``textfile``).
Vocabulary: the 256 byte values. A training batch draws ``batch_size`` windows of
``seq_len + 1`` bytes at uniformly random offsets of the training bytes (seeded by data seed
and step); held-out batches draw windows from the validation bytes on a separate stream that
does not depend on the data seed (every run of a sweep is scored on the same windows).

Options (``DataSpec.make(task, ...)``):

- ``seq_len``: window length (default: the model's ``ctx``).
- ``train_bytes``: use only the first this-many training bytes (a finite data set for
  data-scaling and overfitting studies; default: all of them).
"""

from __future__ import annotations

from typing import Any

import torch

from .base import EVAL_SEED, Batch, Task, check_positive, generator

VOCAB = 256


class ByteCorpusTask(Task):
    kind = "lm"
    vocab_size = VOCAB

    def __init__(
        self,
        name: str,
        train: torch.Tensor,
        valid: torch.Tensor,
        seed: int,
        seq_len: int,
        train_bytes: int | None = None,
        corpus_info: dict[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.seed = int(seed)
        self.seq_len = check_positive("seq_len", seq_len)
        if train_bytes is not None:
            train_bytes = check_positive("train_bytes", train_bytes)
            if train_bytes > train.numel():
                raise ValueError(f"train_bytes={train_bytes} exceeds the corpus's {train.numel()} training bytes")
            train = train[:train_bytes]
        for part, data in (("training", train), ("validation", valid)):
            if data.numel() < self.seq_len + 2:
                raise ValueError(
                    f"{name}: the {part} split has {data.numel()} bytes, too few for seq_len={self.seq_len}"
                )
        self.train_data = train
        self.valid_data = valid
        self.corpus_info = dict(corpus_info or {})
        self.corpus_info["train_bytes_used"] = int(train.numel())

    @property
    def info(self) -> dict[str, Any]:
        return {**super().info, **self.corpus_info}

    @staticmethod
    def _windows(data: torch.Tensor, length: int, batch_size: int, g: torch.Generator) -> Batch:
        starts = torch.randint(0, data.numel() - length - 1, (batch_size,), generator=g)
        chunks = data.unfold(0, length + 1, 1)[starts].long()
        return Batch(chunks[:, :-1], chunks[:, 1:])

    def train_batch(self, step: int, batch_size: int) -> Batch:
        return self._windows(self.train_data, self.seq_len, batch_size, generator(self.seed, "train", step))

    def eval_batches(self, n_batches: int, batch_size: int, seq_len: int | None = None, **options: Any) -> list[Batch]:
        """``n_batches`` held-out batches of windows of ``seq_len`` bytes (default: the trained
        length; longer windows serve length-extrapolation evaluations)."""
        if options:
            raise ValueError(f"{self.name}.eval_batches: unknown options {sorted(options)}")
        length = self.seq_len if seq_len is None else check_positive("seq_len", seq_len)
        if self.valid_data.numel() < length + 2:
            raise ValueError(f"{self.name}: validation split too short for seq_len={length}")
        g = generator(EVAL_SEED, f"eval/{length}")
        return [self._windows(self.valid_data, length, batch_size, g) for _ in range(n_batches)]
