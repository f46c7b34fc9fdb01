"""End-of-run evaluators, resolved lazily by name.

``EvalSpec.name`` is ``"<module>.<function>"`` inside this package: ``"lm.loss"`` is
``scaling_claims/evals/lm.py:loss``. A few short aliases are in ``EVALUATORS`` (``"loss"`` ->
``"lm.loss"``). Every evaluator has the signature::

    fn(model, task, spec, device, **options) -> dict[str, number | list]

with ``model`` in eval mode on ``device`` (a ``torch.device``), ``task`` the run's ``Task``,
``spec`` the ``RunSpec`` and ``options`` the ``EvalSpec.options``. ``train`` stores each
returned key as ``RunResult.metrics["<name>/<key>"]``. Evaluators run under
``torch.no_grad()``; they must not touch global RNG state (draw from ``task`` or seeded
generators) so that results stay a pure function of the spec.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
from typing import Any, Callable

from torch import nn

EVALUATORS: dict[str, str] = {
    "loss": "lm.loss",
    "loss_by_position": "lm.loss_by_position",
}

Evaluator = Callable[..., dict[str, Any]]


def resolve(name: str) -> Evaluator:
    """The evaluator function for ``name`` (an alias or ``"<module>.<function>"``).

    Raises ``ValueError`` for a malformed or unknown name.
    """
    target = EVALUATORS.get(name, name)
    module_name, _, func_name = target.rpartition(".")
    if not module_name or not func_name or not all(p.isidentifier() for p in target.split(".")):
        raise ValueError(f"evaluator name must be '<module>.<function>' (e.g. 'lm.loss'), got {name!r}")
    full = f"{__name__}.{module_name}"
    try:
        found = importlib.util.find_spec(full)
    except ModuleNotFoundError:
        found = None
    if found is None:
        raise ValueError(f"unknown evaluator {name!r}: there is no module {full}")
    module = importlib.import_module(full)
    fn = getattr(module, func_name, None)
    if not callable(fn) or func_name.startswith("_"):
        raise ValueError(f"unknown evaluator {name!r}: scaling_claims.evals.{module_name} has no function {func_name!r}")
    return fn


def _plain(value: Any, where: str) -> Any:
    """Numbers and (nested) lists of numbers, as Python floats/ints (JSON-able)."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v, where) for v in value]
    if isinstance(value, bool) or isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else float(value)
    raise ValueError(f"evaluator {where} returned a {type(value).__name__}; expected numbers or lists of numbers")


def run_evals(model: nn.Module, task: Any, spec: Any, device: Any, evals: Any = None) -> dict[str, Any]:
    """Run every ``spec.evals`` entry (or every entry of ``evals``, e.g. ``spec.curve_evals``);
    returns ``{"<name>/<key>": value}``."""
    import torch

    metrics: dict[str, Any] = {}
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for ev in spec.evals if evals is None else evals:
                out = resolve(ev.name)(model, task, spec, device, **ev.as_dict())
                if not isinstance(out, dict):
                    raise ValueError(f"evaluator {ev.name!r} must return a dict, got {type(out).__name__}")
                for key, value in out.items():
                    metrics[f"{ev.name}/{key}"] = _plain(value, ev.name)
    finally:
        model.train(was_training)
    return metrics
