"""Miniature models: ``build_model(ModelSpec)`` returns a ``GPT`` or an ``MLP`` (on the CPU,
float32, initialised from torch's global RNG: seed it first, as ``train`` does)."""

from __future__ import annotations

from torch import nn

from scaling_claims.engine.specs import ModelSpec
from .gpt import GPT
from .mlp import MLP

__all__ = ["GPT", "MLP", "build_model"]


def build_model(spec: ModelSpec) -> nn.Module:
    """The model a ``ModelSpec`` describes (``ValueError`` for an unknown architecture)."""
    if not isinstance(spec, ModelSpec):
        raise ValueError(f"build_model needs a ModelSpec, got {type(spec).__name__}")
    if spec.arch == "gpt":
        return GPT(spec)
    if spec.arch == "mlp":
        return MLP(spec)
    raise ValueError(f"unknown model architecture {spec.arch!r}")
