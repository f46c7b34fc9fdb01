"""``modular_classes``: a + b mod p as a classification task over the whole p x p table, the
set-up of grokking (Power et al. 2022; Liu et al. 2022, "Omnigrok").

What it is:

- The table of all p**2 pairs (a, b) is split once by the data seed into a training part (a
  fraction ``train_frac``, rounded) and the held-out rest: the same split as the sequence
  task ``modular`` with the same seed. Unlike the other tasks, the held-out set depends on the
  data seed: it is the complement of that seed's training set (grokking is about exactly that
  complement).
- An example is ``x = [one_hot(a), one_hot(b)]`` (2p floats) with label ``(a + b) mod p``. A
  linear first layer on this input is the sum of an embedding of a and one of b, so an MLP on
  it is Liu et al.'s "one hidden layer on concatenated embeddings".
- Training batches: the whole training set every step when ``batch_size >= n_train`` (the
  full-batch training of the grokking papers); smaller batches are epochs over the set,
  reshuffled from the data seed. A pure function of (seed, step, batch size).
- ``train_set()`` is the training set and ``eval_batches`` the held-out pairs in a fixed
  order, so ``classification.error`` reports train and held-out error (accuracy = 1 - error).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from .base import Batch, Task, check_positive, epoch_batch, generator


class ModularClassesTask(Task):
    kind = "classify"

    def __init__(self, seed: int, p: int = 47, train_frac: float = 0.5) -> None:
        self.name, self.seed = "modular_classes", int(seed)
        self.p = check_positive("p", p, 2)
        if isinstance(train_frac, bool) or not isinstance(train_frac, (int, float)) or not 0 < train_frac < 1:
            raise ValueError(f"modular_classes: train_frac must be a number in (0, 1), got {train_frac!r}")
        self.train_frac = float(train_frac)
        self.n_classes, self.d_in = self.p, 2 * self.p
        perm = torch.randperm(self.p * self.p, generator=generator(self.seed, "split"))  # = ModularTask's split
        n_train = max(1, min(self.p * self.p - 1, int(round(self.train_frac * self.p * self.p))))
        self.n_train, self.n_held_out = n_train, self.p * self.p - n_train
        self._train = self._examples(perm[:n_train])
        self._held_out = self._examples(perm[n_train:])

    @property
    def info(self) -> dict[str, Any]:
        return {**super().info, "p": self.p, "train_frac": self.train_frac, "n_train": self.n_train,
                "n_held_out": self.n_held_out}

    def _examples(self, pairs: torch.Tensor) -> Batch:
        a, b = pairs // self.p, pairs % self.p
        x = torch.cat([F.one_hot(a, self.p), F.one_hot(b, self.p)], dim=1).float()
        return Batch(x, (a + b) % self.p, None, {"a": a, "b": b})

    def train_set(self) -> Batch:
        """The whole training part of the table (``info``: ``a``, ``b``)."""
        return self._train

    def held_out_set(self) -> Batch:
        """Every held-out pair (the complement of the training set)."""
        return self._held_out

    def train_batch(self, step: int, batch_size: int) -> Batch:
        return epoch_batch(self._train, self.seed, "modular_classes/epoch", step, batch_size)

    def eval_batches(self, n_batches: int, batch_size: int, **options: Any) -> list[Batch]:
        """The held-out pairs in a fixed order, in up to ``n_batches`` batches of ``batch_size``
        (fewer when the held-out set runs out: it is finite, never repeated)."""
        if options:
            raise ValueError(f"modular_classes.eval_batches: unknown options {sorted(options)}")
        n_batches, batch_size = check_positive("n_batches", n_batches), check_positive("batch_size", batch_size)
        h = self._held_out
        return [Batch(h.x[i:i + batch_size], h.y[i:i + batch_size])
                for i in range(0, min(n_batches * batch_size, len(h)), batch_size)]
