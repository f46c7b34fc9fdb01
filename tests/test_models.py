"""Tests of the decoder and MLP: shapes, causality, positional encodings against naive
reference implementations, and the context-length rules."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from scaling_claims.engine.models import GPT, MLP, build_model
from scaling_claims.engine.models.gpt import alibi_bias, alibi_slopes, apply_rope, rope_tables, sinusoidal_table
from scaling_claims.engine.specs import POSITIONAL_ENCODINGS, ModelSpec


def gpt(pos: str, **kw) -> GPT:
    torch.manual_seed(0)
    spec = ModelSpec(**{"n_layer": 2, "d_model": 32, "n_head": 4, "ctx": 16, "vocab_size": 20, "pos": pos, **kw})
    return build_model(spec).eval()


@pytest.mark.parametrize("pos", POSITIONAL_ENCODINGS)
def test_logits_shape(pos):
    idx = torch.randint(0, 20, (3, 16))
    assert gpt(pos)(idx).shape == (3, 16, 20)


@pytest.mark.parametrize("pos", [p for p in POSITIONAL_ENCODINGS if p != "learned"])
def test_longer_than_ctx_is_accepted(pos):
    out = gpt(pos)(torch.randint(0, 20, (2, 64)))
    assert out.shape == (2, 64, 20) and torch.isfinite(out).all()


def test_learned_positions_refuse_longer_than_ctx():
    with pytest.raises(ValueError, match="exceeds the trained context"):
        gpt("learned")(torch.randint(0, 20, (1, 17)))


@pytest.mark.parametrize("pos", POSITIONAL_ENCODINGS)
def test_causal_future_tokens_do_not_change_the_past(pos):
    model = gpt(pos)
    idx = torch.randint(0, 20, (2, 16))
    changed = idx.clone()
    changed[:, 9:] = (changed[:, 9:] + 1) % 20
    with torch.no_grad():
        a, b = model(idx), model(changed)
    torch.testing.assert_close(a[:, :9], b[:, :9])
    assert not torch.allclose(a[:, 9:], b[:, 9:])


def reference_attention(attn, x: torch.Tensor) -> torch.Tensor:
    """Naive softmax attention with an explicit mask: the textbook formula, for comparison."""
    B, T, C = x.shape
    H, D = attn.n_head, attn.head_dim
    q, k, v = attn.qkv(x).split(C, dim=2)
    q, k, v = (t.view(B, T, H, D).transpose(1, 2) for t in (q, k, v))
    if attn.pos == "rope":
        pos = torch.arange(T, dtype=torch.float32) * attn.rope_scale
        inv = 1.0 / (10000.0 ** (torch.arange(0, D, 2, dtype=torch.float32) / D))
        ang = pos[:, None] * inv[None, :]
        # rotate each pair (i, i + D/2) by its angle, written as explicit 2x2 rotations
        def rot(t):
            t1, t2 = t[..., : D // 2], t[..., D // 2 :]
            return torch.cat([t1 * ang.cos() - t2 * ang.sin(), t1 * ang.sin() + t2 * ang.cos()], -1)
        q, k = rot(q), rot(k)
    scores = q @ k.transpose(-1, -2) / math.sqrt(D)
    i = torch.arange(T)
    if attn.pos == "alibi":
        slopes = torch.tensor([2 ** (-8 * (h + 1) / H) for h in range(H)])
        scores = scores - slopes[:, None, None] * (i[:, None] - i[None, :]).float()
    scores = scores.masked_fill(i[None, :] > i[:, None], float("-inf"))
    y = F.softmax(scores, -1) @ v
    return attn.proj(y.transpose(1, 2).reshape(B, T, C))


@pytest.mark.parametrize("pos, scale", [("none", 1.0), ("rope", 1.0), ("rope", 0.25), ("alibi", 1.0), ("learned", 1.0)])
def test_attention_matches_naive_reference(pos, scale):
    model = gpt(pos, rope_scale=scale)
    attn = model.blocks[0].attn
    x = torch.randn(2, 24 if pos != "learned" else 16, 32)
    with torch.no_grad():
        torch.testing.assert_close(attn(x), reference_attention(attn, x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("pos", POSITIONAL_ENCODINGS)
def test_math_attention_equals_sdpa(pos):
    model = gpt(pos)
    idx = torch.randint(0, 20, (2, 16))
    with torch.no_grad():
        fast = model(idx)
        slow = model.set_attention_impl("math")(idx)
    torch.testing.assert_close(slow, fast, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="impl"):
        model.set_attention_impl("flash")


def test_rope_scale_is_position_interpolation():
    # Positions are multiplied by rope_scale: with scale 1/2 the table at position 2p equals
    # the unscaled table at position p.
    c1, s1 = rope_tables(8, 16, 1.0)
    c2, s2 = rope_tables(16, 16, 0.5)
    torch.testing.assert_close(c2[0::2], c1)
    torch.testing.assert_close(s2[0::2], s1)


def test_rope_depends_only_on_relative_position():
    q, k = torch.randn(1, 1, 1, 8), torch.randn(1, 1, 1, 8)
    cos, sin = rope_tables(40, 8, 1.0)
    dots = []
    for shift in (0, 7, 30):
        qi = apply_rope(q, cos[5 + shift : 6 + shift], sin[5 + shift : 6 + shift])
        kj = apply_rope(k, cos[2 + shift : 3 + shift], sin[2 + shift : 3 + shift])
        dots.append(float((qi * kj).sum()))
    assert dots == pytest.approx([dots[0]] * 3, rel=1e-5)


def test_alibi_slopes_and_bias():
    assert alibi_slopes(8).tolist() == pytest.approx([2.0 ** -(i + 1) for i in range(8)])
    assert len(alibi_slopes(6)) == 6 and (alibi_slopes(6) > 0).all()
    bias = alibi_bias(2, 4)
    assert torch.isinf(bias[:, 0, 1:]).all() and bias[0, 3, 0] == pytest.approx(-3 * 2**-4)
    assert (bias.diagonal(dim1=1, dim2=2) == 0).all()


def test_sinusoidal_table_values():
    t = sinusoidal_table(5, 8)
    assert t[0].tolist() == [0, 1] * 4
    assert t[3, 0] == pytest.approx(math.sin(3)) and t[3, 1] == pytest.approx(math.cos(3))
    assert t[3, 2] == pytest.approx(math.sin(3 / 10000 ** (2 / 8)))


def test_tied_head_shares_the_embedding():
    m = gpt("learned")
    assert m.head.weight is m.tok_emb.weight
    untied = gpt("learned", tie_embeddings=False)
    assert untied.head.weight is not untied.tok_emb.weight


def test_same_seed_same_init():
    assert all(torch.equal(a, b) for a, b in zip(gpt("rope").state_dict().values(), gpt("rope").state_dict().values()))


def test_gpt_rejects_bad_input_shape():
    with pytest.raises(ValueError, match="batch, time"):
        gpt("none")(torch.zeros(16, dtype=torch.long))


def test_mlp_shapes_and_errors():
    m = build_model(ModelSpec(arch="mlp", d_in=5, hidden=(7, 3), d_out=2))
    assert isinstance(m, MLP) and m(torch.randn(4, 5)).shape == (4, 2)
    assert [l.out_features for l in m.net if isinstance(l, torch.nn.Linear)] == [7, 3, 2]
    with pytest.raises(ValueError, match="input of shape"):
        m(torch.randn(4, 6))
    with pytest.raises(ValueError):
        build_model("gpt")


@settings(max_examples=15, deadline=None)
@given(
    n_layer=st.integers(1, 3), n_head=st.sampled_from([1, 2, 4]), head_dim=st.sampled_from([2, 4, 8]),
    T=st.integers(1, 12), pos=st.sampled_from(POSITIONAL_ENCODINGS),
)
def test_any_small_shape_gives_finite_logits(n_layer, n_head, head_dim, T, pos):
    spec = ModelSpec(n_layer=n_layer, d_model=n_head * head_dim, n_head=n_head, ctx=12, vocab_size=11, pos=pos)
    out = build_model(spec)(torch.randint(0, 11, (2, T)))
    assert out.shape == (2, T, 11) and torch.isfinite(out).all()
