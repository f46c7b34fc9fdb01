"""Unit tests of scaling_claims.engine.evals.arithmetic: exact match / per-digit accuracy / answer
cross-entropy, sampling, the exact best-of-n expectation and the verifier, on hand-built
models whose right answers are known."""

from __future__ import annotations

import itertools
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from scaling_claims.engine.evals import arithmetic as ar

V = 12  # digits 0-9, '+', '='


class NextIsPlusOne(torch.nn.Module):
    """Predicts token (previous + 1) mod 10 with logit margin ``margin``."""

    def __init__(self, margin: float = 50.0):
        super().__init__()
        self.margin = margin
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, idx):
        nxt = (idx % 10 + 1) % 10
        return torch.nn.functional.one_hot(nxt, V).float() * self.margin


class Uniform(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, idx):
        return torch.zeros(*idx.shape, V)


class PlusOneTask:
    """Prompt: a random digit then '='; answer: L digits each one more than the previous."""

    vocab_size = V

    def __init__(self, L: int = 3):
        self.L = L

    def problems(self, n, split="eval", length=None):
        L = length or self.L
        first = torch.arange(n) % 10
        prompts = torch.stack([first, torch.full((n,), 11)], 1)
        # the token after '=' (11) is (11 % 10 + 1) % 10 = 2 under NextIsPlusOne, then 3, 4, ...
        answers = torch.stack([torch.full((n,), (2 + j) % 10) for j in range(L)], 1)
        return SimpleNamespace(prompt=prompts, answer=answers)


def test_answer_scores_perfect_and_wrong():
    answers = torch.tensor([[1, 2, 3], [4, 5, 6]])
    good = torch.nn.functional.one_hot(answers, V).float() * 30
    s = ar.answer_scores(good, answers)
    assert s["exact_match"] == 1.0 and s["digit_acc"] == [1.0, 1.0, 1.0]
    assert s["answer_ce"] < 1e-10
    bad = good.clone()
    bad[0, 1] = torch.nn.functional.one_hot(torch.tensor(9), V).float() * 30  # one wrong digit
    s = ar.answer_scores(bad, answers)
    assert s["exact_match"] == 0.5
    assert s["digit_acc"] == [1.0, 0.5, 1.0]
    assert s["em_prefix"] == [1.0, 0.5, 0.5]
    assert s["digit_acc_prod"] == pytest.approx(0.5)


def test_answer_scores_uniform_ce_is_log_vocab():
    answers = torch.randint(0, V, (50, 4))
    s = ar.answer_scores(torch.zeros(50, 4, V), answers)
    assert s["answer_ce"] == pytest.approx(math.log(V))


@given(st.integers(1, 40), st.integers(1, 6), st.integers(0, 2**31 - 1))
@settings(max_examples=40, deadline=None)
def test_answer_scores_bounds(P, L, seed):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(P, L, 4, generator=g) * 3
    answers = torch.randint(0, 4, (P, L), generator=g)
    s = ar.answer_scores(logits, answers)
    # exact match cannot beat the worst position; prefixes can only lose problems
    assert s["exact_match"] <= min(s["digit_acc"]) + 1e-12
    assert all(a >= b - 1e-12 for a, b in zip(s["em_prefix"], s["em_prefix"][1:]))
    assert s["em_prefix"][-1] == pytest.approx(s["exact_match"])


def test_answer_scores_rejects_bad_shapes():
    with pytest.raises(ValueError, match="must agree"):
        ar.answer_scores(torch.zeros(3, 2, V), torch.zeros(3, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="at least one"):
        ar.answer_scores(torch.zeros(0, 2, V), torch.zeros(0, 2, dtype=torch.long))


def _brute_best_of_n(gold, proxy, n):
    P, m = gold.shape
    tot = 0.0
    for r in range(P):
        vals = []
        for sub in itertools.combinations(range(m), n):
            best = max(proxy[r, i] for i in sub)
            tied = [i for i in range(m) if proxy[r, i] == best]
            vals.append(np.mean([gold[r, i] for i in tied]) if len(tied) > 1 else
                        gold[r, max(sub, key=lambda i: proxy[r, i])])
        tot += np.mean(vals)
    return tot / P


@given(st.integers(1, 3), st.integers(1, 7), st.integers(0, 2**31 - 1))
@settings(max_examples=60, deadline=None)
def test_best_of_n_expectation_matches_enumeration(P, m, seed):
    rng = np.random.default_rng(seed)
    gold = rng.normal(size=(P, m))
    proxy = gold + rng.normal(size=(P, m))
    ns = list(range(1, m + 1))
    got = ar.best_of_n_expectation(gold, proxy, ns)
    want = [_brute_best_of_n(gold, proxy, n) for n in ns]
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_best_of_n_with_perfect_proxy_is_pass_at_k():
    """With proxy = gold (0/1), best-of-k succeeds iff any of k samples is right: pass@k."""
    rng = np.random.default_rng(0)
    gold = (rng.random((30, 20)) < rng.random((30, 1))).astype(float)
    ks = [1, 2, 5, 10, 20]
    got = ar.best_of_n_expectation(gold, gold, ks)
    n, c = gold.shape[1], gold.sum(1)
    # Chen et al.'s unbiased estimator, written out here as the exact combinatorial value
    want = [np.mean([1 - math.comb(int(n - ci), k) / math.comb(n, k) for ci in c]) for k in ks]
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_best_of_n_ties_do_not_depend_on_order():
    gold = np.array([[1.0, 0.0, 0.0, 1.0]])
    proxy = np.zeros((1, 4))  # a useless proxy: every n gives the mean gold
    np.testing.assert_allclose(ar.best_of_n_expectation(gold, proxy, [1, 2, 4]), 0.5)


def test_best_of_n_rejects_bad_input():
    with pytest.raises(ValueError, match="one shape"):
        ar.best_of_n_expectation(np.zeros((2, 3)), np.zeros((2, 4)), [1])
    with pytest.raises(ValueError, match=r"in \[1, 3\]"):
        ar.best_of_n_expectation(np.zeros((2, 3)), np.zeros((2, 3)), [4])
    with pytest.raises(ValueError, match="finite"):
        ar.best_of_n_expectation(np.full((1, 2), np.nan), np.zeros((1, 2)), [1])


def test_kl_best_of_n():
    assert ar.kl_best_of_n(1) == 0.0
    k = ar.kl_best_of_n([1, 2, 4, 8, 64])
    assert np.all(np.diff(k) > 0)
    assert k[-1] == pytest.approx(math.log(64) - 63 / 64)
    with pytest.raises(ValueError):
        ar.kl_best_of_n(0)


def test_exact_match_evaluator_on_known_model():
    task = PlusOneTask(L=3)
    s = ar.exact_match(NextIsPlusOne(), task, None, "cpu", n_problems=64)
    assert s["exact_match"] == 1.0 and s["n_problems"] == 64
    u = ar.exact_match(Uniform(), task, None, "cpu", n_problems=64)
    assert u["answer_ce"] == pytest.approx(math.log(V))
    with pytest.raises(ValueError, match="n_problems"):
        ar.exact_match(Uniform(), task, None, "cpu", n_problems=0)
    with pytest.raises(ValueError, match="problems"):
        ar.exact_match(Uniform(), object(), None, "cpu")


def test_teacher_forced_em_equals_greedy_decoding():
    """The docstring's claim: all-argmax-correct under teacher forcing == greedy decode correct."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Embedding(V, 8), torch.nn.Linear(8, V))  # depends on last token only
    prompts = torch.randint(0, V, (200, 2))
    answers = torch.randint(0, V, (200, 3))
    tf = ar.answer_scores(ar.teacher_forced_logits(net, prompts, answers, "cpu"), answers)
    x = prompts
    for _ in range(3):
        x = torch.cat([x, net(x)[:, -1].argmax(-1, keepdim=True)], 1)
    greedy_em = float((x[:, 2:] == answers).all(1).float().mean())
    assert tf["exact_match"] == pytest.approx(greedy_em)


def test_sampling_deterministic_and_uniform():
    prompts = torch.tensor([[3, 11], [7, 11]])
    s = ar.sample_answers(NextIsPlusOne(), prompts, 3, 5, "cpu")
    assert s.shape == (2, 5, 3)
    assert (s == torch.tensor([2, 3, 4])).all()
    u = ar.sample_answers(Uniform(), prompts, 1, 6000, "cpu", seed=1)
    freq = torch.bincount(u.reshape(-1), minlength=V).double() / u.numel()
    # 12000 draws from 12 symbols: each frequency's SD is sqrt(p(1-p)/n) ~ 0.0025; 5 SD margin
    assert (freq - 1 / V).abs().max() < 5 * math.sqrt((1 / V) * (1 - 1 / V) / u.numel())
    with pytest.raises(ValueError, match="temperature"):
        ar.sample_answers(Uniform(), prompts, 1, 2, "cpu", temperature=0)


def test_verifier_learns_a_rule_on_sparse_features():
    g = torch.Generator().manual_seed(0)
    idx = torch.randint(0, 10, (400, 3), generator=g) + 10 * torch.arange(3)  # 3 fields of 10 values
    y = ((idx[:, 0] % 10) < 5).long()  # label: the first field's value is below 5
    net = ar.train_verifier(idx, y, 30, steps=200)
    acc = float(((net(idx) > 0).long() == y).float().mean())
    assert acc > 0.95
    with pytest.raises(ValueError, match="equal length"):
        ar.train_verifier(idx, y[:3], 30)
    with pytest.raises(ValueError, match="indices"):
        ar.train_verifier(idx, y, 20)


def test_column_features_see_each_column_and_reject_other_layouts():
    # 2-digit addition 12 + 34 = 46, answer reversed "640"; the engine's prompt is "1 2 + 3 4 ="
    prompts = torch.tensor([[1, 2, 10, 3, 4, 11]])
    cand = torch.tensor([[[6, 4, 0]]])
    idx, n_index = ar.column_features(prompts, cand, k=2, reverse=True)
    assert n_index == 3 * 1331
    # units column (a=2, b=4, s=6); tens (1, 3, 4); carry column (10, 10, 0), offset per column
    assert idx.tolist() == [[(2 * 11 + 4) * 11 + 6, 1331 + (1 * 11 + 3) * 11 + 4, 2662 + (10 * 11 + 10) * 11 + 0]]
    same, _ = ar.column_features(prompts, cand.flip(2), k=2, reverse=False)
    assert same.tolist() == idx.tolist()
    with pytest.raises(ValueError, match="k=3"):
        ar.column_features(prompts, cand, k=3, reverse=True)


def test_best_of_n_evaluator_perfect_and_uniform():
    task = PlusOneTask(L=2)
    r = ar.best_of_n(NextIsPlusOne(), task, None, "cpu", n_problems=20, n_samples=8,
                     verifier_problems=10, verifier_samples=4, verifier_steps=5)
    assert r["correct"] == [8] * 20 and r["sample_acc"] == 1.0
    assert r["bon_n"] == [1, 2, 4, 8] and r["bon_gold"] == pytest.approx([1.0] * 4)
    u = ar.best_of_n(Uniform(), task, None, "cpu", n_problems=50, n_samples=16,
                     verifier_problems=20, verifier_samples=4, verifier_steps=5)
    # uniform over 12 tokens, 2-token answers: success probability 1/144 per sample
    assert u["sample_acc"] < 0.05


def test_evaluators_on_the_real_addition_task_and_gpt():
    """Plumbing against the engine: an untrained decoder on held-out reversed 3-digit addition."""
    from scaling_claims.engine.data import make_task
    from scaling_claims.engine.models import build_model
    from scaling_claims.engine.specs import DataSpec, ModelSpec

    task = make_task(DataSpec.make("addition", k=3, reverse=True))
    mspec = ModelSpec(vocab_size=task.vocab_size, ctx=task.seq_len, d_model=16, n_head=2, n_layer=1)
    torch.manual_seed(0)
    model = build_model(mspec)
    s = ar.exact_match(model, task, SimpleNamespace(model=mspec), "cpu", n_problems=300)
    assert s["n_problems"] == 300 and len(s["digit_acc"]) == 4
    assert s["exact_match"] < 0.01  # 4 digits at chance
    # an untrained model's answer cross-entropy is near log(vocab) (init std 0.02)
    assert abs(s["answer_ce"] - math.log(task.vocab_size)) < 0.1
    for features in ("onehot", "columns"):
        r = ar.best_of_n(model, task, SimpleNamespace(model=mspec), "cpu", n_problems=30, n_samples=8,
                         verifier_problems=20, verifier_samples=4, verifier_steps=5, verifier_features=features)
        assert len(r["correct"]) == 30 and max(r["correct"]) <= 8
    with pytest.raises(ValueError, match="verifier_features"):
        ar.best_of_n(model, task, SimpleNamespace(model=mspec), "cpu", verifier_features="magic")
