"""A nanoGPT-style decoder: pre-LayerNorm blocks, causal self-attention, GELU MLP, tied head.

Positional encodings (``ModelSpec.pos``):

- ``"learned"``: a learned absolute embedding of ``ctx`` positions, added to the token
  embedding. It has no vectors beyond ``ctx``, so a longer input raises ``ValueError``.
- ``"sinusoidal"``: the fixed sin/cos table of Vaswani et al., computed for any length.
- ``"rope"``: rotary embeddings on queries and keys (base 10000); positions are multiplied by
  ``rope_scale`` (position interpolation, Chen et al. 2023: ``rope_scale = L_train / L_test``
  squeezes a longer input into the trained position range).
- ``"alibi"``: no embedding; a per-head linear distance penalty added to the attention
  logits (Press et al. 2022, geometric slopes), passed to SDPA as an additive mask.
- ``"none"``: no positional signal; causal masking alone (NoPE).

Every encoding except ``"learned"`` accepts sequences longer than ``ctx``.
Attention uses ``F.scaled_dot_product_attention`` with ``is_causal=True`` whenever no
additive bias is needed. Rotary tables and ALiBi biases are cached per (length, device).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from scaling_claims.engine.specs import ModelSpec

ROPE_BASE = 10000.0


def sinusoidal_table(length: int, dim: int, device: torch.device | None = None) -> torch.Tensor:
    """The (length, dim) sin/cos position table (even columns sin, odd columns cos)."""
    pos = torch.arange(length, dtype=torch.float32, device=device)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32, device=device) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim, device=device)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq[: dim // 2])
    return table


def rope_tables(length: int, head_dim: int, scale: float, device: torch.device | None = None):
    """cos and sin tables of shape (length, head_dim // 2) for positions ``arange(length) * scale``."""
    inv_freq = 1.0 / (ROPE_BASE ** (torch.arange(0, head_dim, 2, dtype=torch.float32, device=device) / head_dim))
    pos = torch.arange(length, dtype=torch.float32, device=device) * scale
    angles = pos[:, None] * inv_freq[None, :]
    return torch.cos(angles), torch.sin(angles)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate pairs (first half, second half) of the last dim of ``x`` (..., T, head_dim)."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    cos = cos.to(x.dtype)
    sin = sin.to(x.dtype)
    return torch.cat((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)


def alibi_slopes(n_head: int) -> torch.Tensor:
    """Press et al.'s head slopes: a geometric sequence starting at 2**(-8/n) (interleaved
    for a non-power-of-two head count, as in their reference code)."""

    def power_of_two(n: int) -> list[float]:
        start = 2.0 ** (-8.0 / n)
        return [start ** (i + 1) for i in range(n)]

    if math.log2(n_head).is_integer():
        slopes = power_of_two(n_head)
    else:
        closest = 2 ** math.floor(math.log2(n_head))
        slopes = power_of_two(closest) + power_of_two(2 * closest)[0::2][: n_head - closest]
    return torch.tensor(slopes, dtype=torch.float32)


def alibi_bias(n_head: int, length: int, device: torch.device | None = None) -> torch.Tensor:
    """(n_head, length, length) additive attention bias: -slope * (i - j) for j <= i, -inf above."""
    i = torch.arange(length, device=device)
    dist = (i[:, None] - i[None, :]).float()
    bias = -alibi_slopes(n_head).to(device)[:, None, None] * dist
    return bias.masked_fill(dist < 0, float("-inf"))


class CausalSelfAttention(nn.Module):
    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        self.n_head = spec.n_head
        self.head_dim = spec.d_model // spec.n_head
        self.pos = spec.pos
        self.rope_scale = float(spec.rope_scale)
        self.qkv = nn.Linear(spec.d_model, 3 * spec.d_model)
        self.proj = nn.Linear(spec.d_model, spec.d_model)
        # "sdpa": F.scaled_dot_product_attention (fast kernels); "math": explicit softmax
        # attention, used by batched ensembles because torch.func.vmap has no batching rule
        # for the CPU flash-attention kernel (it would fall back to a slow per-model loop).
        self.impl = "sdpa"
        self._cache: dict[tuple, tuple] = {}

    def _tables(self, length: int, device: torch.device, kind: str):
        key = (kind, length, str(device))
        if key not in self._cache:
            if kind == "rope":
                self._cache[key] = rope_tables(length, self.head_dim, self.rope_scale, device)
            elif kind == "alibi":
                self._cache[key] = (alibi_bias(self.n_head, length, device),)
            else:  # causal additive mask for the math path
                i = torch.arange(length, device=device)
                self._cache[key] = (torch.zeros(length, length, device=device).masked_fill(i[None, :] > i[:, None], float("-inf")),)
            if len(self._cache) > 8:  # keep the cache small when many lengths are evaluated
                self._cache.pop(next(iter(self._cache)))
        return self._cache[key]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.n_head, self.head_dim).permute(2, 0, 3, 1, 4)
        if self.pos == "rope":
            cos, sin = self._tables(T, x.device, "rope")
            q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        bias = self._tables(T, x.device, "alibi")[0] if self.pos == "alibi" else None
        if self.impl == "math":
            mask = bias if bias is not None else self._tables(T, x.device, "causal")[0]
            scores = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(self.head_dim)) + mask.to(q.dtype)
            y = torch.softmax(scores, dim=-1) @ v
        elif bias is not None:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype))
        else:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).reshape(B, T, C))


class MLPBlock(nn.Module):
    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        self.fc = nn.Linear(spec.d_model, spec.mlp_ratio * spec.d_model)
        self.proj = nn.Linear(spec.mlp_ratio * spec.d_model, spec.d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(F.gelu(self.fc(x)))


class Block(nn.Module):
    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(spec.d_model)
        self.attn = CausalSelfAttention(spec)
        self.ln2 = nn.LayerNorm(spec.d_model)
        self.mlp = MLPBlock(spec)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    """Decoder-only transformer; ``forward(idx)`` maps (B, T) token ids to (B, T, vocab) logits."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        if spec.arch != "gpt":
            raise ValueError(f"GPT needs ModelSpec(arch='gpt'), got {spec.arch!r}")
        self.spec = spec
        self.tok_emb = nn.Embedding(spec.vocab_size, spec.d_model)
        self.pos_emb = nn.Embedding(spec.ctx, spec.d_model) if spec.pos == "learned" else None
        self.blocks = nn.ModuleList(Block(spec) for _ in range(spec.n_layer))
        self.ln_f = nn.LayerNorm(spec.d_model)
        self.head = nn.Linear(spec.d_model, spec.vocab_size, bias=False)
        if spec.tie_embeddings:
            self.head.weight = self.tok_emb.weight
        self._sin_cache: dict[tuple, torch.Tensor] = {}
        self.apply(self._init_weights)
        # GPT-2's scaled init of the residual projections: std 0.02 / sqrt(2 * n_layer).
        for block in self.blocks:
            for proj in (block.attn.proj, block.mlp.proj):
                nn.init.normal_(proj.weight, mean=0.0, std=0.02 / math.sqrt(2 * spec.n_layer))

    def set_attention_impl(self, impl: str) -> "GPT":
        """Choose "sdpa" (default, fused kernels) or "math" (explicit softmax attention, which
        ``torch.func.vmap`` batches natively). Both compute the same function."""
        if impl not in ("sdpa", "math"):
            raise ValueError(f"attention impl must be 'sdpa' or 'math', got {impl!r}")
        for block in self.blocks:
            block.attn.impl = impl
        return self

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def _positions(self, T: int, device: torch.device) -> torch.Tensor | None:
        if self.spec.pos == "learned":
            if T > self.spec.ctx:
                raise ValueError(
                    f"sequence length {T} exceeds the trained context ctx={self.spec.ctx}: learned absolute "
                    "positions have no embedding beyond ctx (use sinusoidal, rope, alibi or none to extrapolate)"
                )
            return self.pos_emb.weight[:T]
        if self.spec.pos == "sinusoidal":
            key = (T, str(device))
            if key not in self._sin_cache:
                if len(self._sin_cache) > 8:
                    self._sin_cache.clear()
                self._sin_cache[key] = sinusoidal_table(T, self.spec.d_model, device)
            return self._sin_cache[key]
        return None

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        if idx.dim() != 2:
            raise ValueError(f"GPT expects token ids of shape (batch, time), got {tuple(idx.shape)}")
        x = self.tok_emb(idx)
        pos = self._positions(idx.shape[1], idx.device)
        if pos is not None:
            x = x + pos.to(x.dtype)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))
