"""Synthetic tasks, generated from a seed (nothing stored on disk).

Sequence (``kind="lm"``) tasks are prompt -> answer problems written as token sequences;
the loss counts only the answer tokens. They expose, for evaluators that decode:
``prompt_len``, ``answer_len``, ``problems(n, split, length)`` -> ``Problems`` (prompt and
answer token tensors plus per-problem ``info``) and ``decode(tokens)`` -> str.

- ``addition`` (k-digit): prompt ``a + b =`` with a, b zero-padded to ``k`` digits (most
  significant first), answer the ``k + 1`` digits of a + b, least significant first when
  ``reverse=True`` (the order that makes carries learnable left to right). Tokens 0-9,
  ``+`` = 10, ``=`` = 11; vocab 12. ``info``: a, b, c.
- ``copy`` / ``reverse``: a random string over ``alphabet`` symbols of length L drawn
  uniformly from [``min_len``, ``max_len``], then SEP, then the string (copy) or its reverse.
  Shorter examples are right-padded with PAD (not counted). ``length=L`` is shorthand for
  ``min_len = max_len = L``. Tokens: symbols 0..alphabet-1,
  SEP = alphabet, PAD = alphabet + 1. ``seq_len = 2 * max_len``; ``problems(..., length=L)``
  and ``eval_batches(..., length=L)`` give any length (length generalisation).
- ``modular``: ``a OP b =`` -> ``(a + b) mod p`` with a, b, c single tokens 0..p-1, OP = p,
  ``=`` = p + 1. The p**2 problems are split once by the data seed: a ``train_frac`` share
  trains, the rest is the held-out set (the grokking set-up).

Classification (``kind="classify"``) tasks, for MLPs:

- ``sparse_parity`` (Michaud et al. 2023, the quantization model): ``n_tasks`` subtasks, each
  the parity of a fixed random subset of ``k`` of ``n_bits`` bits (subsets from
  ``subset_seed``, so the data seed changes only the sample). Input: a one-hot task code
  followed by the bits; subtask i is drawn with probability proportional to
  (i + 1) ** -``zipf_exponent``. ``distinct_subsets=True`` redraws a subset already taken
  (two subtasks on the same bits share their hidden units: one quantum, not two). ``info``: task_id. ``eval_batches(..., task_id=i)`` gives
  one subtask's held-out examples.
- ``zipf_features``: feature i of ``n_features`` occurs with probability proportional to
  (i + 1) ** -``exponent``; input is its one-hot vector, the label a fixed random class
  of ``n_classes`` (from ``label_seed``). A model can only know a feature's label after
  seeing it, so the error is the mass of unseen features (Hutter 2021's learning-curve
  model). ``info``: feature.

Every task but ``modular`` (which has ``train_frac``) accepts ``n_train``: train on a fixed set of that many examples drawn once from
the data seed (sampled with replacement each step) instead of fresh examples every step.
For addition and copy/reverse the held-out problems then exclude the training prompts;
with fresh examples every step a held-out problem may coincide with a trained one when the
problem space is small (e.g. 2-digit addition), so use ``n_train`` where that matters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from .base import EVAL_SEED, Batch, Task, check_positive, generator


@dataclass
class Problems:
    """``n`` problems: ``prompt`` (n, P) and ``answer`` (n, A) int64 tokens, ``info`` per problem."""

    prompt: torch.Tensor
    answer: torch.Tensor
    info: dict[str, torch.Tensor] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.prompt.shape[0])

    def select(self, idx: torch.Tensor) -> "Problems":
        return Problems(self.prompt[idx], self.answer[idx], {k: v[idx] for k, v in self.info.items()})


def _select_batch(batch: Batch, idx: torch.Tensor) -> Batch:
    mask = None if batch.mask is None else batch.mask[idx]
    return Batch(batch.x[idx], batch.y[idx], mask, {k: v[idx] for k, v in batch.info.items()})


def _concat_batches(batches: list[Batch]) -> Batch:
    first = batches[0]
    mask = None if first.mask is None else torch.cat([b.mask for b in batches])
    return Batch(
        torch.cat([b.x for b in batches]),
        torch.cat([b.y for b in batches]),
        mask,
        {k: torch.cat([b.info[k] for b in batches]) for k in first.info},
    )


class _FiniteTrainMixin:
    """Fresh examples every step, or (``n_train``) a fixed set drawn once from the data seed."""

    seed: int
    n_train: int | None

    def _fresh_batch(self, n: int, g: torch.Generator) -> Batch:  # pragma: no cover - abstract
        raise NotImplementedError

    def _init_train_set(self, n_train: Any) -> None:
        self.n_train = None if n_train is None else check_positive("n_train", n_train)
        self._train_set = None if self.n_train is None else self._fresh_batch(self.n_train, generator(self.seed, "train_set"))

    def train_batch(self, step: int, batch_size: int) -> Batch:
        g = generator(self.seed, "train", step)
        if self._train_set is None:
            return self._fresh_batch(batch_size, g)
        return _select_batch(self._train_set, torch.randint(0, self.n_train, (batch_size,), generator=g))


class SequenceTask(_FiniteTrainMixin, Task):
    """Prompt -> answer problems as token sequences (loss on answer tokens only)."""

    kind = "lm"
    prompt_len: int
    answer_len: int

    def _sample(self, n: int, g: torch.Generator, length: int | None = None) -> Problems:  # pragma: no cover
        raise NotImplementedError

    def to_batch(self, problems: Problems) -> Batch:
        """Teacher-forced batch: x = (prompt + answer)[:-1], y = shifted, mask on answer targets."""
        full = torch.cat([problems.prompt, problems.answer], dim=1)
        P = problems.prompt.shape[1]
        mask = torch.zeros(full.shape[1] - 1)
        mask[P - 1 :] = 1.0
        return Batch(full[:, :-1], full[:, 1:], mask.expand(len(problems), -1).contiguous(), dict(problems.info))

    def _fresh_batch(self, n: int, g: torch.Generator) -> Batch:
        return self.to_batch(self._sample(n, g))

    def problems(self, n: int, split: str = "eval", length: int | None = None) -> Problems:
        """``n`` problems. ``split="eval"``: the held-out set (deterministic, the same for every
        data seed; excludes the training prompts when ``n_train`` is set); ``"train"``: the
        fixed training set's first ``n`` (with ``n_train``) or fresh ones from the data seed."""
        n = check_positive("n", n)
        if split == "train":
            if self._train_set is not None and length is None:
                if n > self.n_train:
                    raise ValueError(f"asked for {n} training problems but n_train={self.n_train}")
                return self._train_problems.select(torch.arange(n))
            return self._sample(n, generator(self.seed, "train_problems"), length)
        if split != "eval":
            raise ValueError(f"split must be 'train' or 'eval', got {split!r}")
        g = generator(EVAL_SEED, f"eval/{length}")
        if self._train_set is None:
            return self._sample(n, g, length)
        return self._held_out(n, g, length, {tuple(row) for row in self._train_problems.prompt.tolist()})

    def _held_out(self, n: int, g: torch.Generator, length: int | None, seen: set[tuple]) -> Problems:
        """``n`` problems drawn from ``g`` whose prompts are not in ``seen`` (the training prompts)."""
        kept: list[Problems] = []
        have = 0
        for _ in range(100):
            cand = self._sample(max(n, 64), g, length)
            keep = torch.tensor([tuple(r) not in seen for r in cand.prompt.tolist()])
            cand = cand.select(keep.nonzero().flatten())
            kept.append(cand)
            have += len(cand)
            if have >= n:
                break
        else:
            raise ValueError(f"{self.name}: cannot find {n} held-out problems outside the training set")
        return Problems(
            torch.cat([p.prompt for p in kept])[:n],
            torch.cat([p.answer for p in kept])[:n],
            {k: torch.cat([p.info[k] for p in kept])[:n] for k in kept[0].info},
        )

    def _init_train_set(self, n_train: Any) -> None:
        self.n_train = None if n_train is None else check_positive("n_train", n_train)
        self._train_set = None
        if self.n_train is not None:
            self._train_problems = self._sample(self.n_train, generator(self.seed, "train_set"))
            self._train_set = self.to_batch(self._train_problems)

    def eval_batches(self, n_batches: int, batch_size: int, length: int | None = None, **options: Any) -> list[Batch]:
        if options:
            raise ValueError(f"{self.name}.eval_batches: unknown options {sorted(options)}")
        probs = self.problems(n_batches * batch_size, "eval", length)
        return [
            self.to_batch(probs.select(torch.arange(i * batch_size, (i + 1) * batch_size))) for i in range(n_batches)
        ]


class AdditionTask(SequenceTask):
    PLUS, EQ = 10, 11
    vocab_size = 12

    def __init__(self, seed: int, k: int = 3, reverse: bool = False, n_train: int | None = None) -> None:
        self.name, self.seed = "addition", int(seed)
        self.k = check_positive("k", k)
        if self.k > 17:
            raise ValueError(f"addition: k={k} digits overflow int64; use k <= 17")
        self.reverse = bool(reverse)
        self.prompt_len, self.answer_len = 2 * self.k + 2, self.k + 1
        self.seq_len = self.prompt_len + self.answer_len - 1
        self._init_train_set(n_train)

    @property
    def info(self) -> dict[str, Any]:
        return {**super().info, "k": self.k, "reverse": self.reverse, "n_train": self.n_train}

    @staticmethod
    def digits(values: torch.Tensor, n_digits: int) -> torch.Tensor:
        """(n, n_digits) decimal digits, most significant first."""
        powers = 10 ** torch.arange(n_digits - 1, -1, -1, dtype=torch.int64)
        return (values[:, None] // powers) % 10

    def _sample(self, n: int, g: torch.Generator, length: int | None = None) -> Problems:
        if length is not None and length != self.k:
            raise ValueError(f"addition has a fixed number of digits k={self.k}; got length={length}")
        a = torch.randint(0, 10**self.k, (n,), generator=g)
        b = torch.randint(0, 10**self.k, (n,), generator=g)
        c = a + b
        col = lambda v: torch.full((n, 1), v, dtype=torch.int64)  # noqa: E731
        prompt = torch.cat([self.digits(a, self.k), col(self.PLUS), self.digits(b, self.k), col(self.EQ)], dim=1)
        answer = self.digits(c, self.k + 1)
        if self.reverse:
            answer = answer.flip(1)
        return Problems(prompt, answer, {"a": a, "b": b, "c": c})

    def answer_values(self, answer: torch.Tensor) -> torch.Tensor:
        """Integers from (n, k+1) answer digit tokens (undoing ``reverse``); digits > 9 are
        invalid, so a row containing one maps to -1."""
        digits = answer.flip(1) if self.reverse else answer
        powers = 10 ** torch.arange(digits.shape[1] - 1, -1, -1, dtype=torch.int64)
        values = (digits.clamp(0, 9) * powers).sum(1)
        return torch.where((digits > 9).any(1), torch.full_like(values, -1), values)

    def decode(self, tokens: torch.Tensor) -> str:
        return "".join("0123456789+="[int(t)] if int(t) < 12 else "?" for t in tokens)


class CopyTask(SequenceTask):
    def __init__(
        self,
        seed: int,
        mode: str = "copy",
        alphabet: int = 10,
        min_len: int = 1,
        max_len: int = 16,
        n_train: int | None = None,
        length: int | None = None,
    ) -> None:
        if mode not in ("copy", "reverse"):
            raise ValueError(f"mode must be 'copy' or 'reverse', got {mode!r}")
        if length is not None:  # shorthand for one fixed training length
            min_len = max_len = check_positive("length", length)
        self.name, self.mode, self.seed = mode, mode, int(seed)
        self.alphabet = check_positive("alphabet", alphabet, 2)
        self.min_len = check_positive("min_len", min_len)
        self.max_len = check_positive("max_len", max_len)
        if self.min_len > self.max_len:
            raise ValueError(f"min_len={min_len} > max_len={max_len}")
        self.SEP, self.PAD = self.alphabet, self.alphabet + 1
        self.vocab_size = self.alphabet + 2
        self.seq_len = 2 * self.max_len
        self.prompt_len, self.answer_len = self.max_len + 1, self.max_len
        self._init_train_set(n_train)

    @property
    def info(self) -> dict[str, Any]:
        return {**super().info, "alphabet": self.alphabet, "min_len": self.min_len, "max_len": self.max_len,
                "n_train": self.n_train}

    def _sample(self, n: int, g: torch.Generator, length: int | None = None) -> Problems:
        """Problems of one length (default ``max_len``): prompt = s SEP, answer = s or reversed."""
        L = self.max_len if length is None else check_positive("length", length)
        s = torch.randint(0, self.alphabet, (n, L), generator=g)
        sep = torch.full((n, 1), self.SEP, dtype=torch.int64)
        out = s if self.mode == "copy" else s.flip(1)
        return Problems(torch.cat([s, sep], 1), out, {"length": torch.full((n,), L, dtype=torch.int64)})

    def _fresh_batch(self, n: int, g: torch.Generator) -> Batch:
        """Mixed lengths in [min_len, max_len], right-padded to 2 * max_len + 1 tokens."""
        M = self.max_len
        lengths = torch.randint(self.min_len, M + 1, (n,), generator=g)
        s = torch.randint(0, self.alphabet, (n, M), generator=g)
        j = torch.arange(2 * M + 1)[None, :]
        L = lengths[:, None]
        if self.mode == "copy":
            src = (j - L - 1).clamp(0, M - 1)
        else:
            src = (2 * L - j).clamp(0, M - 1)  # position L+1+i holds s[L-1-i]
        full = torch.where(j < L, s.gather(1, j.clamp(max=M - 1).expand(n, -1)), s.gather(1, src))
        full = torch.where(j == L, torch.full_like(full, self.SEP), full)
        full = torch.where(j > 2 * L, torch.full_like(full, self.PAD), full)
        target_pos = j[:, 1:]  # position of y[:, t] in the full sequence
        mask = ((target_pos > L) & (target_pos <= 2 * L)).float()
        return Batch(full[:, :-1], full[:, 1:], mask, {"length": lengths})

    def _init_train_set(self, n_train: Any) -> None:
        _FiniteTrainMixin._init_train_set(self, n_train)
        if self._train_set is not None:  # prompts of the training set, for held-out exclusion
            b = self._train_set
            rows = []
            for x, L in zip(b.x.tolist(), b.info["length"].tolist()):
                rows.append(x[: L + 1])
            self._train_prompt_set = {tuple(r) for r in rows}

    def problems(self, n: int, split: str = "eval", length: int | None = None) -> Problems:
        if split == "train" or self._train_set is None:
            saved, self._train_set = self._train_set, None
            try:
                return SequenceTask.problems(self, n, split, length)
            finally:
                self._train_set = saved
        n = check_positive("n", n)
        return self._held_out(n, generator(EVAL_SEED, f"eval/{length}"), length, self._train_prompt_set)

    def decode(self, tokens: torch.Tensor) -> str:
        names = {self.SEP: "|", self.PAD: "."}
        return " ".join(names.get(int(t), str(int(t))) for t in tokens)


class ModularTask(SequenceTask):
    def __init__(self, seed: int, p: int = 97, train_frac: float = 0.5) -> None:
        self.name, self.seed = "modular", int(seed)
        self.p = check_positive("p", p, 2)
        if not (isinstance(train_frac, (int, float)) and 0 < train_frac < 1):
            raise ValueError(f"modular: train_frac must be in (0, 1), got {train_frac!r}")
        self.train_frac = float(train_frac)
        self.OP, self.EQ = self.p, self.p + 1
        self.vocab_size = self.p + 2
        self.prompt_len, self.answer_len, self.seq_len = 4, 1, 4
        perm = torch.randperm(self.p * self.p, generator=generator(self.seed, "split"))
        n_train = max(1, min(self.p * self.p - 1, int(round(self.train_frac * self.p * self.p))))
        self._train_pairs, self._eval_pairs = perm[:n_train], perm[n_train:]
        self.n_train = n_train
        self._train_problems = self._make(self._train_pairs)
        self._train_set = self.to_batch(self._train_problems)

    @property
    def info(self) -> dict[str, Any]:
        return {**super().info, "p": self.p, "train_frac": self.train_frac, "n_train": self.n_train}

    def _make(self, pairs: torch.Tensor) -> Problems:
        a, b = pairs // self.p, pairs % self.p
        c = (a + b) % self.p
        n = pairs.numel()
        prompt = torch.stack([a, torch.full((n,), self.OP), b, torch.full((n,), self.EQ)], 1)
        return Problems(prompt, c[:, None], {"a": a, "b": b, "c": c})

    def problems(self, n: int | None = None, split: str = "eval", length: int | None = None) -> Problems:
        """The training or held-out problems (all of them when ``n`` is None; cycled if n is larger)."""
        if length is not None:
            raise ValueError("modular problems have a fixed length")
        pairs = {"train": self._train_pairs, "eval": self._eval_pairs}.get(split)
        if pairs is None:
            raise ValueError(f"split must be 'train' or 'eval', got {split!r}")
        if n is not None:
            pairs = pairs[torch.arange(check_positive("n", n)) % pairs.numel()]
        return self._make(pairs)

    def decode(self, tokens: torch.Tensor) -> str:
        names = {self.OP: "+", self.EQ: "="}
        return " ".join(names.get(int(t), str(int(t))) for t in tokens)


class SparseParityTask(_FiniteTrainMixin, Task):
    kind = "classify"
    n_classes = 2

    def __init__(
        self,
        seed: int,
        n_tasks: int = 100,
        n_bits: int = 50,
        k: int = 3,
        zipf_exponent: float = 1.4,
        subset_seed: int = 0,
        n_train: int | None = None,
        distinct_subsets: bool = False,
    ) -> None:
        self.name, self.seed = "sparse_parity", int(seed)
        self.n_tasks = check_positive("n_tasks", n_tasks)
        self.n_bits = check_positive("n_bits", n_bits)
        self.k = check_positive("k", k)
        if self.k > self.n_bits:
            raise ValueError(f"sparse_parity: k={k} > n_bits={n_bits}")
        if not (isinstance(zipf_exponent, (int, float)) and zipf_exponent >= 0):
            raise ValueError(f"sparse_parity: zipf_exponent must be >= 0, got {zipf_exponent!r}")
        self.zipf_exponent = float(zipf_exponent)
        self.subset_seed = int(subset_seed)
        self.distinct_subsets = bool(distinct_subsets)
        if self.distinct_subsets and math.comb(self.n_bits, self.k) < self.n_tasks:
            raise ValueError(f"sparse_parity: only {math.comb(self.n_bits, self.k)} distinct {self.k}-subsets of "
                             f"{self.n_bits} bits, fewer than n_tasks={self.n_tasks}")
        g = generator(self.subset_seed, "subsets")
        subsets: list[torch.Tensor] = []
        seen: set[tuple[int, ...]] = set()
        while len(subsets) < self.n_tasks:
            s = torch.randperm(self.n_bits, generator=g)[: self.k]
            key = tuple(sorted(s.tolist()))
            if self.distinct_subsets and key in seen:
                continue  # redraw: two subtasks with the same bits would be one quantum, not two
            seen.add(key)
            subsets.append(s)
        self.subsets = torch.stack(subsets)
        weights = torch.arange(1, self.n_tasks + 1, dtype=torch.float64) ** -self.zipf_exponent
        self.task_probs = weights / weights.sum()
        self.d_in = self.n_tasks + self.n_bits
        self._init_train_set(n_train)

    @property
    def info(self) -> dict[str, Any]:
        return {**super().info, "n_tasks": self.n_tasks, "n_bits": self.n_bits, "k": self.k,
                "zipf_exponent": self.zipf_exponent, "n_train": self.n_train,
                "distinct_subsets": self.distinct_subsets}

    def _examples(self, task_id: torch.Tensor, g: torch.Generator) -> Batch:
        n = task_id.numel()
        bits = torch.randint(0, 2, (n, self.n_bits), generator=g)
        y = bits.gather(1, self.subsets[task_id]).sum(1) % 2
        x = torch.cat([F.one_hot(task_id, self.n_tasks), bits], 1).float()
        return Batch(x, y, None, {"task_id": task_id})

    def _fresh_batch(self, n: int, g: torch.Generator) -> Batch:
        return self._examples(torch.multinomial(self.task_probs.float(), n, replacement=True, generator=g), g)

    def eval_batches(self, n_batches: int, batch_size: int, task_id: int | None = None, **options: Any) -> list[Batch]:
        """Held-out batches from the task mixture, or from subtask ``task_id`` only."""
        if options:
            raise ValueError(f"sparse_parity.eval_batches: unknown options {sorted(options)}")
        if task_id is None:
            g = generator(EVAL_SEED, "eval")
            return [self._fresh_batch(batch_size, g) for _ in range(n_batches)]
        if not (0 <= int(task_id) < self.n_tasks):
            raise ValueError(f"task_id must be in [0, {self.n_tasks}), got {task_id!r}")
        g = generator(EVAL_SEED, f"eval/task{int(task_id)}")
        return [self._examples(torch.full((batch_size,), int(task_id)), g) for _ in range(n_batches)]


class ZipfFeaturesTask(_FiniteTrainMixin, Task):
    kind = "classify"

    def __init__(
        self,
        seed: int,
        n_features: int = 1000,
        exponent: float = 1.5,
        n_classes: int = 2,
        label_seed: int = 0,
        n_train: int | None = None,
    ) -> None:
        self.name, self.seed = "zipf_features", int(seed)
        self.n_features = check_positive("n_features", n_features)
        if not (isinstance(exponent, (int, float)) and exponent > 0):
            raise ValueError(f"zipf_features: exponent must be > 0, got {exponent!r}")
        self.exponent = float(exponent)
        self.n_classes = check_positive("n_classes", n_classes, 2)
        self.d_in = self.n_features
        self.labels = torch.randint(0, self.n_classes, (self.n_features,), generator=generator(int(label_seed), "labels"))
        weights = torch.arange(1, self.n_features + 1, dtype=torch.float64) ** -self.exponent
        self.feature_probs = weights / weights.sum()
        self._init_train_set(n_train)

    @property
    def info(self) -> dict[str, Any]:
        return {**super().info, "n_features": self.n_features, "exponent": self.exponent,
                "n_classes": self.n_classes, "n_train": self.n_train}

    def sample_features(self, n: int, g: torch.Generator) -> torch.Tensor:
        """``n`` feature indices drawn from the Zipf distribution."""
        return torch.multinomial(self.feature_probs.float(), n, replacement=True, generator=g)

    def _fresh_batch(self, n: int, g: torch.Generator) -> Batch:
        f = self.sample_features(n, g)
        return Batch(F.one_hot(f, self.n_features).float(), self.labels[f], None, {"feature": f})

    def eval_batches(self, n_batches: int, batch_size: int, **options: Any) -> list[Batch]:
        if options:
            raise ValueError(f"zipf_features.eval_batches: unknown options {sorted(options)}")
        g = generator(EVAL_SEED, "eval")
        return [self._fresh_batch(batch_size, g) for _ in range(n_batches)]
