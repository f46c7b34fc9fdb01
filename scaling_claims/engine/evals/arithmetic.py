"""Evaluators for answer-generating tasks (multi-digit addition): exact match, per-digit
accuracy, per-token cross-entropy on the answer, and sampling for pass@k / best-of-n.

Why these metrics. Schaeffer, Miranda & Koyejo (2023) argue that "emergence" is often a
property of the metric: if each answer token is right with probability p and improves
smoothly with scale, exact match over an L-token answer behaves like p**L and looks sharp,
while per-token metrics stay smooth. So one evaluation reports all three views of the same
predictions:

- ``exact_match``: greedy decoding gets the whole answer right. Computed from one teacher-
  forced pass: greedy decoding reproduces the answer exactly iff the argmax at every answer
  position (given the correct prefix) is the correct token, so this equals greedy EM without
  a decoding loop.
- ``digit_acc``: per answer position, the fraction whose argmax (given the correct prefix)
  is right; ``digit_acc_mean`` their mean and ``digit_acc_prod`` their product (the
  independent-errors prediction of exact match).
- ``answer_ce``: mean cross-entropy (nats per token) of the answer tokens.
- ``em_prefix``: exact match over the first j answer tokens, j = 1..L (the metric at every
  answer length from the same predictions).

Best-of-n (``best_of_n``): sample ``n_samples`` answers per problem at temperature 1, check
each against the gold answer (the gold reward), and train a small verifier (an MLP on a
one-hot encoding of the problem and candidate answer, trained on the model's own samples for
separate problems) whose score is the proxy reward. The expected gold reward of best-of-n under the proxy is computed
exactly from the n_samples draws (``best_of_n_expectation``), as is pass@k (the unbiased
estimator of Chen et al. 2021, from ``scaling_claims.metrics``).

Evaluator signature (the engine's hook): ``fn(model, task, spec, device, **options) -> dict``.
The task must be a prompt -> answer task with ``problems(n, split, length)`` (the engine's
``SequenceTask``: addition, copy, reverse); held-out ("eval") problems are used throughout.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F


# ---------------------------------------------------------------------------------------
# pure helpers (no model): tested directly in tests/test_evals_arithmetic.py
# ---------------------------------------------------------------------------------------

def answer_scores(logits: torch.Tensor, answers: torch.Tensor, per_problem: bool = False) -> dict[str, Any]:
    """Exact match, per-position accuracy and cross-entropy from answer-position logits.

    ``logits``: (P, L, V), the model's prediction of answer token j given the prompt and the
    correct answer tokens before j; ``answers``: (P, L) integer targets. ``per_problem`` adds
    ``correct_bits``: one int per problem whose bit j is set when position j is right (the
    joint correctness, for intervals over problems of quantities such as EM - prod_j acc_j).
    """
    if logits.ndim != 3 or answers.ndim != 2 or logits.shape[:2] != answers.shape:
        raise ValueError(f"answer_scores: logits (P, L, V) and answers (P, L) must agree, got "
                         f"{tuple(logits.shape)} and {tuple(answers.shape)}")
    if answers.shape[0] == 0 or answers.shape[1] == 0:
        raise ValueError("answer_scores: need at least one problem and one answer token")
    logits = logits.detach().to("cpu", torch.float64)
    answers = answers.detach().to("cpu", torch.long)
    right = (logits.argmax(-1) == answers).to(torch.float64)  # (P, L)
    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), answers.reshape(-1), reduction="none")
    per_pos = right.mean(0).numpy()
    prefix_em = [float(right[:, : j + 1].prod(1).mean()) for j in range(right.shape[1])]
    extra = {}
    if per_problem:
        bits = (right.to(torch.long) * (2 ** torch.arange(right.shape[1]))).sum(1)
        extra["correct_bits"] = [int(b) for b in bits]
    return {
        "exact_match": float(right.prod(1).mean()),
        "digit_acc": [float(a) for a in per_pos],
        "digit_acc_mean": float(per_pos.mean()),
        "digit_acc_prod": float(np.prod(per_pos)),
        "answer_ce": float(ce.mean()),
        "em_prefix": prefix_em,
        "n_problems": int(answers.shape[0]),
        **extra,
    }


def best_of_n_expectation(gold: np.ndarray, proxy: np.ndarray, ns: np.ndarray | list[int],
                          per_problem: bool = False) -> np.ndarray:
    """Expected gold reward of best-of-n selection under ``proxy``, exactly, for each n.

    ``gold``, ``proxy``: (P, m) rewards of m i.i.d. samples per problem. Best-of-n picks, among
    n samples drawn without replacement from the m, the one with the highest proxy. Sorting a
    problem's samples by proxy ascending, the i-th (1-based) is chosen iff it is in the subset
    and all of the other n-1 come from the i-1 below it: probability C(i-1, n-1) / C(m, n).
    Ties in proxy are broken by averaging gold over the tied group. Returns the mean over
    problems, one value per n (1 <= n <= m); with ``per_problem``, the (P, len(ns)) values of
    each problem (whose column means are the same), for intervals over problems.
    """
    gold = np.asarray(gold, dtype=np.float64)
    proxy = np.asarray(proxy, dtype=np.float64)
    if gold.ndim != 2 or gold.shape != proxy.shape:
        raise ValueError(f"best_of_n_expectation: gold and proxy must be (problems, samples) of one shape, "
                         f"got {gold.shape} and {proxy.shape}")
    if not (np.isfinite(gold).all() and np.isfinite(proxy).all()):
        raise ValueError("best_of_n_expectation: gold and proxy must be finite")
    P, m = gold.shape
    ns = np.asarray(ns, dtype=int)
    if ns.ndim != 1 or len(ns) == 0 or ns.min() < 1 or ns.max() > m:
        raise ValueError(f"best_of_n_expectation: each n must be in [1, {m}], got {ns.tolist()}")
    # average gold over proxy ties so the result does not depend on the sort's tie order
    order = np.argsort(proxy, axis=1, kind="stable")
    g = np.take_along_axis(gold, order, 1)
    p = np.take_along_axis(proxy, order, 1)
    for r in range(P):
        _, start, counts = np.unique(p[r], return_index=True, return_counts=True)
        for s, c in zip(start, counts):
            if c > 1:
                g[r, s : s + c] = g[r, s : s + c].mean()
    i = np.arange(1, m + 1)
    out = []
    for n in ns:
        # log C(i-1, n-1) - log C(m, n), zero weight where i-1 < n-1
        w = np.zeros(m)
        ok = i >= n
        w[ok] = np.exp(_lchoose(i[ok] - 1, n - 1) - _lchoose(m, n))
        out.append((g * w).sum(1))
    per = np.stack(out, axis=1)
    return per if per_problem else per.mean(axis=0)


def _lchoose(a, b):
    return (np.vectorize(math.lgamma)(np.asarray(a) + 1.0) - math.lgamma(b + 1.0)
            - np.vectorize(math.lgamma)(np.asarray(a) - b + 1.0))


def kl_best_of_n(n: np.ndarray | list[int] | int) -> np.ndarray:
    """KL(best-of-n || base) = log n - (n-1)/n (Gao et al. 2023; an upper bound, exact for a
    continuous proxy without ties)."""
    n = np.asarray(n, dtype=np.float64)
    if np.any(n < 1):
        raise ValueError("kl_best_of_n: n must be >= 1")
    return np.log(n) - (n - 1.0) / n


# ---------------------------------------------------------------------------------------
# model plumbing
# ---------------------------------------------------------------------------------------

def _logits(model, idx: torch.Tensor) -> torch.Tensor:
    out = model(idx)
    if isinstance(out, (tuple, list)):
        out = out[0]
    return out


def _problems(task, n: int, offset: int = 0, length: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Held-out problems ``offset .. offset + n`` as (prompts (n, Tp), answers (n, L)) long
    tensors, from ``task.problems(m, "eval", length)`` (the engine's SequenceTask interface;
    the same m problems on every call, so two disjoint slices are two disjoint problem sets)."""
    if not hasattr(task, "problems"):
        raise ValueError(f"this evaluator needs a prompt -> answer task with problems(n, split, length); "
                         f"got {type(task).__name__}")
    probs = task.problems(offset + n, "eval", length)
    return probs.prompt[offset:].long(), probs.answer[offset:].long()


@torch.no_grad()
def teacher_forced_logits(model, prompts: torch.Tensor, answers: torch.Tensor, device: str,
                          batch_size: int = 1024) -> torch.Tensor:
    """Logits (P, L, V) predicting each answer token from the prompt and the correct prefix."""
    seq = torch.cat([prompts, answers], 1)
    Tp, L = prompts.shape[1], answers.shape[1]
    chunks = []
    for s in range(0, len(seq), batch_size):
        x = seq[s : s + batch_size, :-1].to(device)
        lg = _logits(model, x)[:, Tp - 1 : Tp - 1 + L]
        chunks.append(lg.float().cpu())
    return torch.cat(chunks, 0)


@torch.no_grad()
def sample_answers(model, prompts: torch.Tensor, answer_len: int, n_samples: int, device: str,
                   temperature: float = 1.0, seed: int = 0, batch_size: int = 4096) -> torch.Tensor:
    """``n_samples`` answers per prompt, sampled token by token at ``temperature``: (P, n, L)."""
    if temperature <= 0:
        raise ValueError(f"sample_answers: temperature must be > 0, got {temperature}")
    gen = torch.Generator().manual_seed(int(seed))
    rep = prompts.repeat_interleave(n_samples, 0)
    outs = []
    for s in range(0, len(rep), batch_size):
        x = rep[s : s + batch_size].to(device)
        for _ in range(answer_len):
            lg = _logits(model, x)[:, -1].float().cpu() / temperature
            nxt = torch.multinomial(torch.softmax(lg, -1), 1, generator=gen)
            x = torch.cat([x, nxt.to(device)], 1)
        outs.append(x[:, prompts.shape[1]:].cpu())
    return torch.cat(outs, 0).view(len(prompts), n_samples, answer_len)


# ---------------------------------------------------------------------------------------
# the verifier (proxy reward)
# ---------------------------------------------------------------------------------------

def token_features(prompts: torch.Tensor, cand: torch.Tensor, vocab: int) -> tuple[torch.Tensor, int]:
    """Generic verifier input: (P, n, L) candidates with their (P, Tp) prompts -> one index per
    sequence position, ``position * vocab + token`` (a one-hot of the whole sequence, stored
    sparsely): ((P*n, Tp+L) long, number of distinct indices)."""
    P, n, L = cand.shape
    seq = torch.cat([prompts[:, None, :].expand(P, n, prompts.shape[1]), cand], 2).reshape(P * n, -1)
    return seq.clamp(0, vocab - 1) + vocab * torch.arange(seq.shape[1]), vocab * seq.shape[1]


def column_features(prompts: torch.Tensor, cand: torch.Tensor, k: int, reverse: bool) -> tuple[torch.Tensor, int]:
    """Addition-aware verifier input: for each answer column j (units first), the index of the
    triple (a_j, b_j, s_j), with a_j = b_j = 10 for the final carry column. The verifier can
    then learn s_j == (a_j + b_j) mod 10 column by column but sees no carries directly, so its
    score is an informative yet imperfect proxy for correctness. Prompts are the engine's
    ``a + b =`` layout (a and b as ``k`` digits, most significant first).
    Returns ((P*n, k+1) long, number of distinct indices)."""
    P, n, L = cand.shape
    if L != k + 1 or prompts.shape[1] != 2 * k + 2:
        raise ValueError(f"column_features: expected k={k} addition prompts and {k + 1}-digit answers, "
                         f"got prompts {tuple(prompts.shape)} and answers of length {L}")
    a = prompts[:, :k].flip(1)  # units first
    b = prompts[:, k + 1 : 2 * k + 1].flip(1)
    ten = torch.full((P, 1), 10, dtype=torch.long)
    a, b = torch.cat([a, ten], 1), torch.cat([b, ten], 1)  # (P, k+1)
    s = (cand if reverse else cand.flip(2)).clamp(0, 10)  # units first; a non-digit token counts as 10
    idx = (a[:, None, :] * 11 + b[:, None, :]) * 11 + s  # (P, n, k+1) in [0, 1331)
    return idx.reshape(P * n, L) + 1331 * torch.arange(L), 1331 * L


class Verifier(torch.nn.Module):
    """A one-hidden-layer MLP on sparse one-hot inputs: the sum of the embeddings of a row's
    active indices (= a linear layer on the one-hot vector), ReLU, then a scalar score."""

    def __init__(self, n_index: int, hidden: int) -> None:
        super().__init__()
        self.emb = torch.nn.EmbeddingBag(n_index, hidden, mode="sum")
        self.bias = torch.nn.Parameter(torch.zeros(hidden))
        self.out = torch.nn.Linear(hidden, 1)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.emb(idx) + self.bias)).squeeze(1)


def train_verifier(idx: torch.Tensor, y: torch.Tensor, n_index: int, hidden: int = 64, steps: int = 300,
                   lr: float = 3e-2, seed: int = 0) -> Verifier:
    """Train a :class:`Verifier` (full batch, AdamW, binary cross-entropy) to predict y (0/1)
    from index rows ``idx`` (N, F)."""
    if idx.ndim != 2 or len(idx) != len(y) or len(idx) == 0:
        raise ValueError("train_verifier: idx (N, F) and y (N,) must be non-empty and of equal length")
    if int(idx.min()) < 0 or int(idx.max()) >= n_index:
        raise ValueError(f"train_verifier: indices must lie in [0, {n_index})")
    with torch.random.fork_rng(devices=[]):  # seed the init without touching the caller's RNG
        torch.manual_seed(seed)
        net = Verifier(n_index, hidden)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-2)
    yf = y.float()
    with torch.enable_grad():
        for _ in range(steps):
            loss = F.binary_cross_entropy_with_logits(net(idx), yf)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net.eval()


# ---------------------------------------------------------------------------------------
# evaluators (the engine's hook signature)
# ---------------------------------------------------------------------------------------

def exact_match(model, task, spec, device, n_problems: int = 2000, per_problem: bool = False, **_: Any) -> dict:
    """Exact match, per-digit accuracy and answer cross-entropy on ``n_problems`` held-out
    problems (teacher-forced; see the module docstring for why that equals greedy EM);
    ``per_problem`` adds each problem's per-position correctness (``answer_scores``)."""
    if n_problems < 1:
        raise ValueError(f"exact_match: n_problems must be >= 1, got {n_problems}")
    model.eval()
    prompts, answers = _problems(task, n_problems)
    return answer_scores(teacher_forced_logits(model, prompts, answers, device), answers, per_problem=per_problem)


def best_of_n(model, task, spec, device, n_problems: int = 400, n_samples: int = 64,
              temperature: float = 1.0, verifier_problems: int = 400, verifier_samples: int = 16,
              verifier_hidden: int = 64, verifier_steps: int = 300, verifier_features: str = "onehot",
              seed: int = 777, per_problem: bool = False, **_: Any) -> dict:
    """Sample answers at ``temperature`` and score them with the gold checker and a learned
    verifier. Returns per-problem correct counts ``correct`` (for pass@k with ``n``
    samples), ``bon_n`` and ``bon_gold`` (expected gold of best-of-n under the verifier),
    ``bon_kl`` (log n - (n-1)/n), the verifier's held-out accuracy ``verifier_acc`` and the
    mean sample accuracy ``sample_acc``. ``verifier_features``: "onehot" (the whole prompt and
    answer, any task) or "columns" (addition only: see ``column_features``). ``per_problem``
    adds ``bon_gold_per_problem`` (problems x len(bon_n)), for intervals over problems."""
    if verifier_features not in ("onehot", "columns"):
        raise ValueError(f"best_of_n: verifier_features must be 'onehot' or 'columns', got {verifier_features!r}")
    if min(n_problems, n_samples, verifier_problems, verifier_samples) < 1:
        raise ValueError("best_of_n: problem and sample counts must be >= 1")
    model.eval()
    vocab = int(spec.model.vocab_size) if hasattr(spec, "model") else int(task.vocab_size)
    # one held-out draw: the first verifier_problems train the verifier, the rest are the test
    prompts, answers = _problems(task, n_problems, offset=verifier_problems)
    L = answers.shape[1]
    samples = sample_answers(model, prompts, L, n_samples, device, temperature, seed=seed + 1)
    gold = (samples == answers[:, None, :]).all(2)  # (P, n)
    # verifier: trained on the model's own samples for separate problems, gold-labelled
    vp, va = _problems(task, verifier_problems)
    vs = sample_answers(model, vp, L, verifier_samples, device, temperature, seed=seed + 3)
    vy = (vs == va[:, None, :]).all(2).reshape(-1)
    if verifier_features == "columns":
        if not hasattr(task, "k"):
            raise ValueError("best_of_n: verifier_features='columns' needs the addition task")
        feats = lambda p, c: column_features(p, c, task.k, bool(task.reverse))  # noqa: E731
    else:
        feats = lambda p, c: token_features(p, c, vocab)  # noqa: E731
    train_idx, n_index = feats(vp, vs)
    net = train_verifier(train_idx, vy, n_index, hidden=verifier_hidden, steps=verifier_steps, seed=seed)
    with torch.no_grad():
        proxy = net(feats(prompts, samples)[0]).view(n_problems, n_samples)
    ns = [n for n in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024) if n <= n_samples]
    g = gold.numpy().astype(np.float64)
    pr = proxy.numpy().astype(np.float64)
    per = best_of_n_expectation(g, pr, ns, per_problem=True)
    out = {
        "n": int(n_samples),
        "correct": [int(c) for c in gold.sum(1)],
        "sample_acc": float(g.mean()),
        "bon_n": ns,
        "bon_gold": [float(v) for v in per.mean(axis=0)],
        "bon_kl": [float(v) for v in kl_best_of_n(ns)],
        "verifier_acc": float(((pr > 0) == (g > 0.5)).mean()),
        "verifier_train_pos_frac": float(vy.float().mean()),
    }
    if per_problem:
        out["bon_gold_per_problem"] = [[float(v) for v in row] for row in per]
    return out
