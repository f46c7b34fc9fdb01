"""``noisy_classes``: a Gaussian-mixture classification task with label noise on a fixed
training set (the set-up of model-wise double descent, Nakkiran et al. 2019).

What it is:

- ``n_classes`` classes in ``d_in`` dimensions. Class ``c`` has a mean ``mu_c`` drawn once
  from ``mixture_seed`` (standard normal, rescaled to norm ``separation``); an example of
  class ``c`` is ``mu_c + z`` with ``z ~ N(0, I)``. Classes are equally likely. The
  mixture depends on ``mixture_seed`` only, so every data seed samples the same distribution.
- Training set: ``n_train`` examples drawn once from the data seed. Exactly
  ``round(label_noise * n_train)`` of them, chosen at random, have their label replaced by
  a uniformly random *other* class, so ``label_noise`` is the exact fraction of wrong
  training labels (Nakkiran et al. resample the label from all classes, which leaves a
  fraction ``(K - 1) / K`` of the chosen ones wrong; we keep the stated fraction exact).
- Held-out set: clean labels, drawn from ``EVAL_SEED`` (the same examples for every run).
- Training batches: epochs over the fixed set, reshuffled each epoch from the data seed.
  ``batch_size >= n_train`` gives the whole set every step (full-batch training, the
  cheapest way to drive the training loss to zero). A pure function of (seed, step, batch).

Why a fixed set with noisy labels: test error peaks where the model can just fit the
(noisy) training labels; label noise makes that fit costly and the peak tall, while the
clean held-out set measures what the model learned about the mixture.

``train_set()`` returns the whole training set as a ``Batch`` whose ``info`` has
``clean_label`` and ``noisy`` (1 where the label was replaced), for the evaluator in
``scaling_claims.evals.classification``.
"""

from __future__ import annotations

from typing import Any

import torch

from .base import EVAL_SEED, Batch, Task, check_positive, epoch_batch, generator


class NoisyClassesTask(Task):
    kind = "classify"

    def __init__(
        self,
        seed: int,
        n_train: int = 200,
        n_classes: int = 4,
        d_in: int = 16,
        label_noise: float = 0.2,
        separation: float = 2.0,
        mixture_seed: int = 0,
    ) -> None:
        self.name, self.seed = "noisy_classes", int(seed)
        self.n_train = check_positive("n_train", n_train)
        self.n_classes = check_positive("n_classes", n_classes, 2)
        self.d_in = check_positive("d_in", d_in)
        if isinstance(label_noise, bool) or not isinstance(label_noise, (int, float)) or not 0 <= label_noise <= 1:
            raise ValueError(f"noisy_classes: label_noise must be a number in [0, 1], got {label_noise!r}")
        if isinstance(separation, bool) or not isinstance(separation, (int, float)) or not separation >= 0:
            raise ValueError(f"noisy_classes: separation must be a number >= 0, got {separation!r}")
        self.label_noise, self.separation = float(label_noise), float(separation)
        self.mixture_seed = int(mixture_seed)
        means = torch.randn(self.n_classes, self.d_in, generator=generator(self.mixture_seed, "noisy_classes/means"))
        self.means = means * (self.separation / means.norm(dim=1, keepdim=True).clamp_min(1e-12))
        self._train = self._make_train_set()

    @property
    def info(self) -> dict[str, Any]:
        return {**super().info, "n_train": self.n_train, "n_classes": self.n_classes, "d_in": self.d_in,
                "label_noise": self.label_noise, "n_noisy": int(self._train.info["noisy"].sum()),
                "separation": self.separation, "mixture_seed": self.mixture_seed}

    def sample(self, n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` clean examples ``(x (n, d_in) float32, y (n,) int64)`` from the mixture."""
        y = torch.randint(0, self.n_classes, (n,), generator=g)
        x = self.means[y] + torch.randn(n, self.d_in, generator=g)
        return x, y

    def _make_train_set(self) -> Batch:
        g = generator(self.seed, "noisy_classes/train_set")
        x, clean = self.sample(self.n_train, g)
        n_noisy = int(round(self.label_noise * self.n_train))
        noisy = torch.zeros(self.n_train, dtype=torch.int64)
        noisy[torch.randperm(self.n_train, generator=g)[:n_noisy]] = 1
        # A uniformly random *other* class: add 1..K-1 modulo K.
        shift = torch.randint(1, self.n_classes, (self.n_train,), generator=g)
        y = torch.where(noisy.bool(), (clean + shift) % self.n_classes, clean)
        return Batch(x, y, None, {"clean_label": clean, "noisy": noisy})

    def train_set(self) -> Batch:
        """The whole (fixed, label-noised) training set; ``info``: ``clean_label``, ``noisy``."""
        return self._train

    def train_batch(self, step: int, batch_size: int) -> Batch:
        return epoch_batch(self._train, self.seed, "noisy_classes/epoch", step, batch_size)

    def eval_batches(self, n_batches: int, batch_size: int, **options: Any) -> list[Batch]:
        """Held-out batches with clean labels (from ``EVAL_SEED``: identical for every run)."""
        if options:
            raise ValueError(f"noisy_classes.eval_batches: unknown options {sorted(options)}")
        n_batches, batch_size = check_positive("n_batches", n_batches), check_positive("batch_size", batch_size)
        g = generator(EVAL_SEED, f"noisy_classes/eval/{self.mixture_seed}")
        out = []
        for _ in range(n_batches):
            x, y = self.sample(batch_size, g)
            out.append(Batch(x, y))
        return out
