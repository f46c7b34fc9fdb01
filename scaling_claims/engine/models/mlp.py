"""A plain multilayer perceptron of any width and depth (ReLU), for the non-sequence tasks
(sparse parity, Zipf features) and the MLP double-descent control.

``forward(x)`` maps (batch, d_in) floats to (batch, d_out) logits (or regression outputs).
Initialisation is PyTorch's default (Kaiming-uniform), the usual choice for ReLU nets.
"""

from __future__ import annotations

import torch
from torch import nn

from scaling_claims.engine.specs import ModelSpec


class MLP(nn.Module):
    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        if spec.arch != "mlp":
            raise ValueError(f"MLP needs ModelSpec(arch='mlp'), got {spec.arch!r}")
        self.spec = spec
        widths = (spec.d_in, *spec.hidden, spec.d_out)
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            layers.append(nn.Linear(a, b))
            if i < len(widths) - 2:
                layers.append(nn.ReLU())
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.spec.d_in:
            raise ValueError(f"MLP expects input of shape (batch, {self.spec.d_in}), got {tuple(x.shape)}")
        return self.net(x)
