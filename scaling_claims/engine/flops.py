"""Parameter counts under each convention, and training FLOPs, computed from a ``ModelSpec``.

The counts are analytic (no model is built) and a test checks them against the real modules.

Parameter conventions (``param_counts``):

- ``total``: every trainable parameter, a tied embedding/head matrix counted once.
- ``non_embedding`` (Kaplan et al. 2020): ``total`` minus the token embedding, the learned
  position embedding and an untied output head, i.e. the transformer blocks plus the final
  LayerNorm; ~ 12 * n_layer * d_model**2 for mlp_ratio 4. This is the N of Kaplan's laws.
- ``matmul``: weights that take part in a matrix multiply per token: the attention and MLP
  weight matrices of every block and the output head (d_model * vocab, tied or not).
  Biases, LayerNorms and embedding lookups are excluded (they cost no matmul FLOPs).

For an MLP, total = non_embedding = weights + biases and matmul = weights.

FLOPs (``flops_per_token``): a training step (forward + backward) costs
``6 * N_matmul + 12 * n_layer * d_model * T`` per token, with ``T`` the sequence length
(default ``ctx``): 2 FLOPs per multiply-add forward, twice that backward, for every matmul
weight, plus the attention scores and weighted sum (QK^T and AV: 2 * 2 * T * d_model per
layer forward, times 3 for forward + backward). This is the PaLM / nanoGPT ``estimate_mfu``
convention; Kaplan's C = 6N drops the head and attention terms, Chinchilla adds embeddings
and softmax (all within a few percent to tens of percent at miniature scale, so claims say
which N they fit). An MLP costs ``6 * N_matmul`` per example (one example = one token).
Total compute ``C = tokens * flops_per_token``.
"""

from __future__ import annotations

from scaling_claims.engine.specs import ModelSpec


def _check(spec: ModelSpec) -> None:
    if not isinstance(spec, ModelSpec):
        raise ValueError(f"expected a ModelSpec, got {type(spec).__name__}")


def param_counts(spec: ModelSpec) -> dict[str, int]:
    """``{"total", "non_embedding", "matmul"}`` parameter counts of the model ``spec`` describes."""
    _check(spec)
    if spec.arch == "mlp":
        widths = (spec.d_in, *spec.hidden, spec.d_out)
        weights = sum(a * b for a, b in zip(widths[:-1], widths[1:]))
        biases = sum(widths[1:])
        return {"total": weights + biases, "non_embedding": weights + biases, "matmul": weights}
    d, L, V = spec.d_model, spec.n_layer, spec.vocab_size
    f = spec.mlp_ratio * d
    block_matmul = 3 * d * d + d * d + d * f + f * d  # qkv, attention out, MLP in, MLP out
    block_other = 3 * d + d + f + d + 2 * 2 * d  # their biases and two LayerNorms
    blocks = L * (block_matmul + block_other)
    ln_f = 2 * d
    tok = V * d
    pos = spec.ctx * d if spec.pos == "learned" else 0
    head = 0 if spec.tie_embeddings else V * d
    total = tok + pos + blocks + ln_f + head
    return {
        "total": total,
        "non_embedding": blocks + ln_f,
        "matmul": L * block_matmul + V * d,
    }


def flops_per_token(spec: ModelSpec, seq_len: int | None = None) -> float:
    """Training FLOPs per token: ``6 * N_matmul + 12 * n_layer * d_model * seq_len`` (gpt,
    ``seq_len`` defaults to ``ctx``) or ``6 * N_matmul`` (mlp, per example)."""
    n = param_counts(spec)["matmul"]
    if spec.arch == "mlp":
        return float(6 * n)
    T = spec.ctx if seq_len is None else int(seq_len)
    if T < 1:
        raise ValueError(f"seq_len must be >= 1, got {seq_len!r}")
    return float(6 * n + 12 * spec.n_layer * spec.d_model * T)


def training_flops(spec: ModelSpec, tokens: int, seq_len: int | None = None) -> float:
    """``C = tokens * flops_per_token`` (training compute of ``tokens`` tokens)."""
    if tokens < 0:
        raise ValueError(f"tokens must be >= 0, got {tokens!r}")
    return float(tokens) * flops_per_token(spec, seq_len)
