"""Bring your own trainer: ``--trainer MODULE:FUNCTION`` (docs/trainers.md).

A trainer is any function ``fn(spec: RunSpec) -> RunResult``. ``TrainerRef`` names one by
``"module:function"`` and is what the run cache and every executor are given instead of the
engine's ``train``:

- **Importable by name.** A ``TrainerRef`` pickles as its name, version and import root, and
  imports the function on first call in whichever process calls it (a ``spawn`` pool worker, a
  Ray worker). Where the module is not importable there, the import root it was found under on
  the driver is put on ``sys.path`` and the import retried (the repository's ``examples/``
  from a local pool or Ray instance); a cluster node needs the module installed.
- **Identity.** ``identity`` is ``"<module>:<function>@<version>"``; the version is the
  function's ``trainer_version`` attribute when it sets one, else a hash of the ``.py`` files
  in the folder of the function's module (so an edit to the adapter or its siblings gives new
  runs, as an edit to the engine gives new keys). The run cache keeps each trainer's records
  in a folder of its own named by the identity (``RunCache(root, trainer=identity)``), so runs
  of different trainers, or of two versions of one, never mix; the engine's records stay where
  they were, under unchanged keys.
- **The contract, checked.** What the trainer returns is checked field by field
  (:func:`check_result`): a malformed result becomes a failed run whose reason names the field
  ("trainer m:f returned a malformed RunResult: field 'params': ..."), never a record the
  claims would read wrongly.
- **Specs it cannot honour.** A trainer raises :class:`Unsupported` with the reason (a task, an
  evaluator, a positional encoding it does not implement): the run is recorded as failed with
  the reason prefixed ``UNSUPPORTED``, and the pytest plugin reports the claim inconclusive
  (skipped) with that reason instead of training it some other way.

Everything here is plain Python: no torch, so ``--help`` and the cache stay light.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import importlib.util
import inspect
import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from scaling_claims.engine import RunResult, RunSpec

# the reason of a run whose spec the trainer cannot honour starts with this
UNSUPPORTED = "unsupported by the trainer: "
_NAME = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")
_resolved: dict[str, Callable[[RunSpec], Any]] = {}


class Unsupported(Exception):
    """Raised by a trainer for a spec it cannot honour; the message says what and why."""


class MalformedResult(ValueError):
    """What a trainer returned breaks the RunResult contract; the message names the field."""


def _import(name: str, root: str | None = None) -> Callable[[RunSpec], Any]:
    module_name, _, attr = name.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        missing = err.name or ""
        if root and root not in sys.path and (module_name == missing or module_name.startswith(missing + ".")):
            sys.path.insert(0, root)
            return _import(name, None)
        raise ValueError(f"--trainer {name}: cannot import module {module_name!r} ({err}); run from the folder "
                         "that holds it, or put that folder on PYTHONPATH") from None
    obj: Any = module
    for part in attr.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise ValueError(f"--trainer {name}: module {module_name!r} has no {attr!r}")
    if not callable(obj):
        raise ValueError(f"--trainer {name}: {attr!r} is a {type(obj).__name__}, not a function")
    return obj


def _import_root(module_name: str, fn: Callable) -> str | None:
    """The ``sys.path`` entry the module was imported from (its file minus the dotted name)."""
    try:
        path = Path(inspect.getsourcefile(sys.modules[module_name]) or "").resolve()
    except (TypeError, KeyError):
        return None
    parts = module_name.split(".")
    base = path.parent if path.name != "__init__.py" else path.parent.parent
    for _ in parts[:-1]:
        base = base.parent
    return str(base)


def source_version(fn: Callable) -> str:
    """A hash of the ``.py`` files beside the function's module (its folder, not below)."""
    try:
        path = Path(inspect.getsourcefile(fn) or "")
    except TypeError:
        return "builtin"
    if not path.is_file():
        return "unknown"
    digest = hashlib.sha256()
    for f in sorted(path.parent.glob("*.py")):
        digest.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


@dataclass(frozen=True)
class TrainerRef:
    """A trainer named ``"module:function"`` (see the module docstring); call it like ``train``."""

    name: str
    version: str
    root: str | None = None

    @property
    def identity(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def folder(self) -> str:
        """A file-name-safe form of the name (``module.function``), for artifact folders."""
        return re.sub(r"[^A-Za-z0-9._-]+", ".", self.name.replace(":", "."))

    @property
    def function(self) -> Callable[[RunSpec], Any]:
        fn = _resolved.get(self.name)
        if fn is None:
            fn = _resolved[self.name] = _import(self.name, self.root)
        return fn

    def __call__(self, spec: RunSpec) -> RunResult:
        try:
            out = self.function(spec)
        except Unsupported as err:
            return RunResult(key=spec.key(), spec=spec.to_dict(), status="failed", failure=UNSUPPORTED + str(err),
                             env={"trainer": self.identity})
        try:
            result = check_result(spec, out, self.name)
        except MalformedResult as err:
            return RunResult(key=spec.key(), spec=spec.to_dict(), status="failed", failure=str(err),
                             env={"trainer": self.identity})
        result.env = {**result.env, "trainer": self.identity}
        return result

    def __str__(self) -> str:
        return self.identity


def load_trainer(name: str | None, search: Sequence[str] = ()) -> TrainerRef | None:
    """``"module:function"`` as a :class:`TrainerRef` (imported now, so a typo is an error at
    once); None, "" or "engine" for the engine's own ``train``. When the module's top package is
    not importable, the folders in ``search`` (e.g. the repository root) are tried, appended to
    ``sys.path``. ``ValueError`` names the problem."""
    if name is None or name in ("", "engine", "scaling_claims.engine:train"):
        return None
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"--trainer must be MODULE:FUNCTION (e.g. examples.trainers.plain_torch:train), got {name!r}")
    top = name.partition(":")[0].split(".")[0]
    if importlib.util.find_spec(top) is None:
        for folder in search:
            if folder and ((Path(folder) / top / "__init__.py").is_file() or (Path(folder) / f"{top}.py").is_file()):
                if folder not in sys.path:
                    sys.path.append(folder)
                break
    fn = _import(name)
    _resolved[name] = fn
    version = getattr(fn, "trainer_version", None)
    return TrainerRef(name, str(version) if version is not None else source_version(fn),
                      _import_root(name.partition(":")[0], fn))


def is_unsupported(result: RunResult) -> bool:
    return result.status == "failed" and str(result.failure or "").startswith(UNSUPPORTED)


# ----------------------------------------------------------------------------- the contract

def _bad(trainer: str, field: str, why: str) -> MalformedResult:
    return MalformedResult(f"trainer {trainer} returned a malformed RunResult: field {field!r} {why}")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _finite(value: Any) -> bool:
    return _number(value) and math.isfinite(value)


def _canonical(d: dict) -> str:
    try:
        return json.dumps(d, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        return ""


def check_result(spec: RunSpec, result: Any, trainer: str = "the trainer") -> RunResult:
    """``result`` if it keeps the RunResult contract for ``spec`` (docs/trainers.md, "The
    contract"), else :class:`MalformedResult` naming the first field that breaks it. NumPy
    numbers are accepted and turned into Python ones."""
    if not isinstance(result, RunResult):
        raise MalformedResult(f"trainer {trainer} must return a RunResult (scaling_claims.trainers.result builds "
                              f"one), got {type(result).__name__}")
    result = dataclasses.replace(result, metrics=dict(result.metrics), params=dict(result.params),
                                 env=dict(result.env), curve=list(result.curve))
    for name in ("final_train_loss", "final_eval_loss", "flops_per_token", "flops", "wall_time_s"):
        v = getattr(result, name)
        if hasattr(v, "item") and not isinstance(v, (list, dict)):
            setattr(result, name, v.item())
    for name in ("steps", "tokens"):
        v = getattr(result, name)
        if hasattr(v, "item"):
            setattr(result, name, v.item())
    bad = lambda field, why: _bad(trainer, field, why)  # noqa: E731
    if result.key != spec.key():
        raise bad("key", f"is {result.key!r}, not the spec's key {spec.key()!r} (use spec.key())")
    if not isinstance(result.spec, dict) or _canonical(result.spec) != spec.canonical_json():
        raise bad("spec", "is not spec.to_dict() of the spec it was given")
    if result.status not in ("ok", "failed"):
        raise bad("status", f"must be 'ok' or 'failed', got {result.status!r}")
    if result.status == "failed":
        if not isinstance(result.failure, str) or not result.failure.strip():
            raise bad("failure", "must say why a failed run failed")
        return result
    if result.failure not in (None, ""):
        raise bad("failure", f"must be None for an ok run, got {result.failure!r}")
    for name in ("final_eval_loss", "final_train_loss"):
        v = getattr(result, name)
        if not _finite(v) or v < 0:
            raise bad(name, f"must be a finite loss >= 0 in nats for an ok run, got {v!r}")
    for name in ("steps", "tokens"):
        v = getattr(result, name)
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise bad(name, f"must be a whole number >= 1 for an ok run, got {v!r}")
    for name in ("flops", "flops_per_token"):
        v = getattr(result, name)
        if not _finite(v) or v <= 0:
            raise bad(name, f"must be a finite number > 0 for an ok run, got {v!r}")
    if not _finite(result.wall_time_s) or result.wall_time_s < 0:
        raise bad("wall_time_s", f"must be seconds >= 0, got {result.wall_time_s!r}")
    if not isinstance(result.params, dict):
        raise bad("params", f"must be a dict, got {type(result.params).__name__}")
    for name in ("total", "non_embedding"):
        v = result.params.get(name)
        if hasattr(v, "item"):
            v = result.params[name] = v.item()
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise bad("params", f"needs {name!r} as a whole number >= 1 (scaling_claims.trainers.count_params), "
                                f"got {v!r}")
    if result.params["non_embedding"] > result.params["total"]:
        raise bad("params", "has non_embedding > total")
    if not isinstance(result.curve, list) or not result.curve:
        raise bad("curve", "must be a non-empty list of points (dicts with at least 'step' and 'eval_loss')")
    for i, point in enumerate(result.curve):
        if not isinstance(point, dict) or not _number(point.get("step")) or not _number(point.get("eval_loss")):
            raise bad("curve", f"point {i} must be a dict with a numeric 'step' and 'eval_loss', got {point!r}")
        for k, v in point.items():
            if _number(v) and not math.isfinite(v):
                raise bad("curve", f"point {i} has a non-finite {k!r} ({v!r}) in an ok run")
        for ev in spec.curve_evals:
            if not any(k.startswith(ev.name + "/") for k in point):
                raise bad("curve", f"point {i} has no '{ev.name}/...' metric for the spec's curve_evals")
    if not isinstance(result.metrics, dict) or not all(isinstance(k, str) for k in result.metrics):
        raise bad("metrics", "must be a dict keyed '<eval name>/<metric>'")
    for ev in spec.evals:
        if not any(k.startswith(ev.name + "/") for k in result.metrics):
            raise bad("metrics", f"has no '{ev.name}/...' entry for the spec's evaluation {ev.name!r} "
                                 "(scaling_claims.trainers.run_evals runs them by name)")
    if not isinstance(result.env, dict):
        raise bad("env", f"must be a dict, got {type(result.env).__name__}")
    if result.early_stop is not None and not isinstance(result.early_stop, dict):
        raise bad("early_stop", f"must be None or a dict, got {type(result.early_stop).__name__}")
    return result
