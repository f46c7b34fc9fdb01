"""Unit tests of scaling_claims.engine.evals.lengths: loss against evaluation length (with position
interpolation) and accuracy against string length, on models whose answers are known."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from scaling_claims.engine.data import Batch
from scaling_claims.engine.evals import lengths as le
from scaling_claims.engine.models import build_model
from scaling_claims.engine.specs import ModelSpec

V = 16


class Uniform(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, idx):
        return torch.zeros(*idx.shape, V)


class CopyPrev(torch.nn.Module):
    """Predicts the current token again (margin 40): right on constant sequences."""

    def __init__(self, ctx: int | None = None):
        super().__init__()
        self.ctx = ctx
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, idx):
        if self.ctx is not None and idx.shape[1] > self.ctx:
            raise ValueError(f"sequence length {idx.shape[1]} exceeds the trained context ctx={self.ctx}")
        return torch.nn.functional.one_hot(idx, V).float() * 40


class Stream:
    """A task with held-out windows cut from a fixed token stream, and constant-string copy
    problems (the two engine interfaces the evaluators use)."""

    def __init__(self, tokens):
        self.tokens = torch.as_tensor(np.asarray(tokens), dtype=torch.long)

    def eval_batches(self, n_batches, batch_size, seq_len):
        w = self.tokens[: n_batches * batch_size * (seq_len + 1)].view(n_batches, batch_size, seq_len + 1)
        return [Batch(b[:, :-1], b[:, 1:]) for b in w]

    def problems(self, n, split="eval", length=None):
        c = torch.arange(n) % 10
        rep = c[:, None].repeat(1, length)
        return SimpleNamespace(prompt=rep, answer=rep.clone())


def spec_for(ctx, pos="learned"):
    return SimpleNamespace(model=ModelSpec(ctx=ctx, pos=pos, vocab_size=V, d_model=16, n_head=2, n_layer=1))


def test_mean_batch_loss_uniform_and_mask():
    x = torch.randint(0, V, (4, 32))
    assert le.mean_batch_loss(Uniform(), [Batch(x, x)], "cpu") == pytest.approx(math.log(V))
    # CopyPrev is right where y == x; the mask picks which targets count
    y = x.clone()
    y[:, 16:] = (x[:, 16:] + 1) % V
    mask = torch.zeros(4, 32)
    mask[:, :16] = 1
    assert le.mean_batch_loss(CopyPrev(), [Batch(x, y, mask)], "cpu") < 1e-10
    assert le.mean_batch_loss(CopyPrev(), [Batch(x, y, 1 - mask)], "cpu") == pytest.approx(40.0, rel=1e-3)
    with pytest.raises(ValueError, match="no counted"):
        le.mean_batch_loss(CopyPrev(), [Batch(x, y, mask * 0)], "cpu")


def test_loss_vs_length_reports_learned_past_ctx_as_nan():
    task = Stream(np.zeros(20000, dtype=int))
    out = le.loss_vs_length(CopyPrev(ctx=64), task, spec_for(64), "cpu", lengths=(32, 64, 128), n_targets=512)
    # a constant stream: CopyPrev is right everywhere it can run
    assert out["lengths"] == [32, 64, 128]
    assert out["loss"][0] < 1e-10 and out["loss"][1] < 1e-10 and math.isnan(out["loss"][2])
    assert out["ran"] == [1, 1, 0]


def test_loss_vs_length_with_a_real_learned_gpt_is_defined_past_ctx():
    torch.manual_seed(0)
    spec = spec_for(32, "learned")
    model = build_model(spec.model)
    task = Stream(np.random.default_rng(0).integers(0, V, 20000))
    out = le.loss_vs_length(model, task, spec, "cpu", lengths=(16, 32, 64), n_targets=256)
    assert all(math.isfinite(x) for x in out["loss"][:2]) and math.isnan(out["loss"][2])


def test_rope_interpolation_twin():
    torch.manual_seed(0)
    spec = spec_for(32, "rope")
    model = build_model(spec.model).eval()
    x = torch.randint(0, V, (2, 64))
    same = le.with_rope_scale(model, 1.0)
    torch.testing.assert_close(same(x), model(x))
    squeezed = le.with_rope_scale(model, 0.5)
    assert not torch.allclose(squeezed(x), model(x))
    # a single token has no relative position, so interpolation cannot change its output
    one = x[:, :1]
    torch.testing.assert_close(squeezed(one), model(one))
    with pytest.raises(ValueError, match="pos='rope'"):
        le.with_rope_scale(build_model(spec_for(32, "alibi").model), 0.5)


def test_loss_vs_length_interpolate():
    torch.manual_seed(0)
    spec = spec_for(32, "rope")
    model = build_model(spec.model)
    task = Stream(np.random.default_rng(0).integers(0, V, 40000))
    out = le.loss_vs_length(model, task, spec, "cpu", lengths=(32, 64), n_targets=512, interpolate=True)
    assert out["loss_pi"][0] == out["loss"][0]
    assert math.isfinite(out["loss_pi"][1]) and out["loss_pi"][1] != out["loss"][1]
    with pytest.raises(ValueError, match="RoPE"):
        le.loss_vs_length(build_model(spec_for(32, "alibi").model), task, spec_for(32, "alibi"), "cpu",
                          lengths=(32,), n_targets=64, interpolate=True)
    with pytest.raises(ValueError, match="positive"):
        le.loss_vs_length(model, task, spec, "cpu", lengths=(0,))


def test_accuracy_vs_length():
    task = Stream(np.zeros(10))
    out = le.accuracy_vs_length(CopyPrev(ctx=20), task, spec_for(20), "cpu", lengths=(1, 5, 10, 12), n_per_length=30)
    # constant strings: CopyPrev copies perfectly while the whole sequence fits in ctx=20
    assert out["exact_match"][:3] == [1.0, 1.0, 1.0]
    assert math.isnan(out["exact_match"][3]) and out["ran"] == [1, 1, 1, 0]
    u = le.accuracy_vs_length(Uniform(), task, spec_for(64), "cpu", lengths=(3,), n_per_length=30)
    assert u["token_acc"][0] == pytest.approx(3 / 30)  # argmax of equal logits is token 0: c == 0
    with pytest.raises(ValueError, match="problems"):
        le.accuracy_vs_length(Uniform(), object(), spec_for(64), "cpu", lengths=(3,))


def test_accuracy_vs_length_on_the_real_copy_task():
    """Plumbing against the engine: learned positions (ctx 32) run lengths <= 15 and report
    NaN at 20 (prompt 21 + answer 20 - 1 = 40 > 32); RoPE runs every length."""
    from scaling_claims.engine.data import make_task
    from scaling_claims.engine.specs import DataSpec

    task = make_task(DataSpec.make("copy", max_len=16))
    for pos in ("learned", "rope"):
        mspec = ModelSpec(vocab_size=task.vocab_size, ctx=32, pos=pos, d_model=16, n_head=2, n_layer=1)
        torch.manual_seed(0)
        out = le.accuracy_vs_length(build_model(mspec), task, SimpleNamespace(model=mspec), "cpu",
                                    lengths=(1, 15, 20), n_per_length=20)
        assert all(0 <= a <= 1 for a in out["token_acc"][:2])
        assert math.isnan(out["exact_match"][2]) == (pos == "learned")
