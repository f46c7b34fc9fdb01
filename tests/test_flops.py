"""Parameter-count conventions and the FLOPs-per-token formula, checked against the real
modules and against torch's own FLOP counter."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from scaling_claims.engine.flops import flops_per_token, param_counts, training_flops
from scaling_claims.engine.models import build_model
from scaling_claims.engine.specs import POSITIONAL_ENCODINGS, ModelSpec

gpt_specs = st.builds(
    lambda L, H, hd, ctx, V, pos, tie, r: ModelSpec(
        n_layer=L, d_model=H * hd, n_head=H, ctx=ctx, vocab_size=V, pos=pos, tie_embeddings=tie, mlp_ratio=r
    ),
    st.integers(1, 4), st.sampled_from([1, 2, 4]), st.sampled_from([2, 4, 8]), st.integers(1, 64),
    st.integers(2, 300), st.sampled_from(POSITIONAL_ENCODINGS), st.booleans(), st.integers(1, 4),
)


@settings(max_examples=25, deadline=None)
@given(gpt_specs)
def test_gpt_counts_match_the_modules(spec):
    model = build_model(spec)
    counts = param_counts(spec)
    assert counts["total"] == sum(p.numel() for p in model.parameters())  # tied weights once
    blocks = sum(p.numel() for p in model.blocks.parameters()) + sum(p.numel() for p in model.ln_f.parameters())
    assert counts["non_embedding"] == blocks
    linear_weights = sum(m.weight.numel() for m in model.blocks.modules() if isinstance(m, torch.nn.Linear))
    assert counts["matmul"] == linear_weights + model.head.weight.numel()


def test_non_embedding_is_kaplans_12_L_d2():
    # Kaplan et al.: N ~= 12 n_layer d_model^2 (mlp_ratio 4, ignoring biases and LayerNorms).
    # The remainder is 13 d per layer + 2 d, i.e. under 1% once d_model >= 256.
    spec = ModelSpec(n_layer=4, d_model=256, n_head=4, ctx=128)
    assert param_counts(spec)["non_embedding"] == pytest.approx(12 * 4 * 256**2, rel=0.01)


def test_mlp_counts():
    spec = ModelSpec(arch="mlp", d_in=10, hidden=(20, 5), d_out=3)
    model = build_model(spec)
    c = param_counts(spec)
    assert c["total"] == c["non_embedding"] == sum(p.numel() for p in model.parameters()) == 10 * 20 + 20 * 5 + 5 * 3 + 28
    assert c["matmul"] == 10 * 20 + 20 * 5 + 5 * 3


def test_flops_formula():
    spec = ModelSpec(n_layer=2, d_model=32, n_head=4, ctx=16, vocab_size=50)
    n = param_counts(spec)["matmul"]
    assert flops_per_token(spec) == 6 * n + 12 * 2 * 32 * 16
    assert flops_per_token(spec, seq_len=8) == 6 * n + 12 * 2 * 32 * 8
    assert training_flops(spec, 1000) == 1000 * flops_per_token(spec)
    mlp = ModelSpec(arch="mlp", d_in=4, hidden=(8,), d_out=2)
    assert flops_per_token(mlp) == 6 * (4 * 8 + 8 * 2)


@pytest.mark.parametrize("pos", ["learned", "none", "rope"])
def test_flops_per_token_equals_torch_flop_counter(pos):
    # torch's FlopCounterMode counts every matmul and the (unmasked) attention products of
    # forward and backward. Our formula is exactly that count: 6 N_matmul per token for the
    # weight matmuls, 12 L d T per token for QK^T and AV. (Elementwise ops are not counted by
    # either.) The embedding gradient is an index_add, not a matmul, so it is absent from both.
    spec = ModelSpec(n_layer=2, d_model=32, n_head=4, ctx=16, vocab_size=40, pos=pos)
    model = build_model(spec)
    idx = torch.randint(0, 40, (3, 16))
    # The math SDPA backend runs attention as explicit bmm ops, which the counter sees.
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        model(idx).sum().backward()
    assert counter.get_total_flops() == pytest.approx(3 * 16 * flops_per_token(spec), rel=1e-9)


def test_bad_input():
    with pytest.raises(ValueError):
        param_counts({"n_layer": 2})
    with pytest.raises(ValueError):
        flops_per_token(ModelSpec(), seq_len=0)
    with pytest.raises(ValueError):
        training_flops(ModelSpec(), -1)
