"""The engine: what a run is (``specs``) and how it trains (``train``, ``ensemble``), with its
models, data, evaluators, devices and FLOP conventions (docs/engine.md).

Its public names, importable from here (each loaded on first use, so importing a spec does not
import torch): the later stages (``scaling_claims.runs``) use the engine through these only.
"""

from __future__ import annotations

import importlib

_PUBLIC = {
    "specs": ("RunSpec", "RunResult", "ModelSpec", "DataSpec", "OptimSpec", "Budget", "EvalSpec", "EarlyStop",
              "StopWhen", "DEVICES", "DTYPES", "CODE_VERSION", "engine_fingerprint"),
    "training": ("train", "train_plain", "validate", "step_flops", "batched_path", "BATCHED_MAX_STEP_FLOPS"),
    "ensemble": ("train_ensemble", "group_key"),
    "flops": ("param_counts", "flops_per_token", "training_flops"),
    "device": ("resolve_device", "environment"),
}
_WHERE = {name: module for module, names in _PUBLIC.items() for name in names}
__all__ = sorted(_WHERE) + sorted(_PUBLIC)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    if name in _PUBLIC:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
