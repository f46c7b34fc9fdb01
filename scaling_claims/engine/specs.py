"""The unit of work (``RunSpec``) and its record (``RunResult``).

A ``RunSpec`` says everything that determines a training run: model, data, optimiser and
schedule, budget, seed, device, dtype and the evaluations to run at the end. Its
``key()`` is a stable SHA-256 of its canonical JSON form salted with ``CODE_VERSION``, a hash
of the engine's sources (:func:`engine_fingerprint`), and is the run cache's key: two specs
with the same key are the same run, trained by the same code.

``train(spec) -> RunResult`` (see ``scaling_claims.engine.training``) is a pure function of the spec.

Specs are frozen dataclasses of plain values (str, int, float, bool, None and tuples of
those), so they hash, compare and serialise without surprises. Task-specific options go in
``DataSpec.options`` / ``EvalSpec.options`` as sorted ``(name, value)`` pairs; build them
with ``DataSpec.make(task, **options)`` and read them with ``.get(name, default)``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

def engine_fingerprint(root: str | Path | None = None) -> str:
    """A hash of the engine's sources: every ``.py`` file under the engine folder ``root``
    (default: this package, ``scaling_claims/engine``: training, the batched ensembles, models,
    data, evaluations, FLOP counting, devices and this module, the spec's own meaning), and
    every module of the sibling ``fit`` package that the engine imports, directly or through
    other ``fit`` modules (the early-stop rule's forecast). It is the cache key's code salt.
    Any change there, a comment included, and any new engine module give new keys, so a change
    to training code can never silently reuse runs made by the old code (the cost: an edit that
    does not change any number retrains too)."""
    base = Path(root) if root is not None else Path(__file__).resolve().parent
    files = [f for f in sorted(base.rglob("*.py")) if "__pycache__" not in f.parts]
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.relative_to(base).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    for f in _fit_modules_used(files, base.parent / "fit"):
        digest.update(b"fit/" + f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _fit_modules_used(files: list[Path], fit_dir: Path) -> list[Path]:
    """The ``fit/*.py`` files that ``files`` import (absolute ``scaling_claims.fit.x`` imports,
    lazy ones inside functions included), closed over the relative imports inside ``fit``."""
    import ast

    def imports(f: Path, in_fit: bool) -> set[str]:
        names: set[str] = set()
        for node in ast.walk(ast.parse(f.read_bytes())):
            if isinstance(node, ast.ImportFrom):
                if node.level == 1 and in_fit:
                    names.update([node.module] if node.module else [a.name for a in node.names])
                elif node.level == 0 and (node.module or "").startswith("scaling_claims.fit"):
                    rest = node.module[len("scaling_claims.fit"):].lstrip(".")
                    names.update([rest.split(".")[0]] if rest else [a.name for a in node.names])
            elif isinstance(node, ast.Import):
                names.update(a.name[len("scaling_claims.fit."):].split(".")[0] for a in node.names
                             if a.name.startswith("scaling_claims.fit."))
        return names

    todo = set().union(*(imports(f, False) for f in files)) if files else set()
    # fit/__init__.py only re-exports (it runs on import but computes nothing the engine uses),
    # so it and what it re-exports are left out: an edit to an unrelated fitter retrains nothing
    seen: dict[str, Path] = {}
    while todo:
        name = todo.pop()
        path = fit_dir / f"{name}.py"
        if name in seen or name == "__init__" or not path.is_file():
            continue
        seen[name] = path
        todo |= imports(path, True) - set(seen)
    return [seen[n] for n in sorted(seen)]


CODE_VERSION = engine_fingerprint()

POSITIONAL_ENCODINGS = ("learned", "sinusoidal", "rope", "alibi", "none")
DTYPES = ("float32", "bf16")
DEVICES = ("cpu", "cuda", "mps")


def _freeze(value: Any) -> Any:
    """Turn lists/dicts into tuples so an option value is hashable and canonical."""
    if isinstance(value, dict):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"option values must be finite, got {value!r}")
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"option values must be plain (str/int/float/bool/None/tuple), got {type(value).__name__}")


def _options(kw: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((k, _freeze(v)) for k, v in kw.items()))


class _Options:
    options: tuple[tuple[str, Any], ...]

    def get(self, name: str, default: Any = None) -> Any:
        for k, v in self.options:
            if k == name:
                return v
        return default

    def as_dict(self) -> dict[str, Any]:
        return dict(self.options)


@dataclass(frozen=True)
class ModelSpec:
    """A model. ``arch`` is "gpt" (nanoGPT-style pre-LN decoder) or "mlp".

    gpt: ``n_layer``, ``d_model``, ``n_head``, ``ctx`` (the trained context length),
    ``vocab_size``, ``pos`` (one of POSITIONAL_ENCODINGS), ``rope_scale`` (position
    interpolation: RoPE positions are multiplied by this, e.g. L_train / L_test),
    ``mlp_ratio`` (d_ff = mlp_ratio * d_model), ``tie_embeddings``.
    mlp: ``d_in``, ``hidden`` (widths of the hidden layers), ``d_out``.
    """

    arch: str = "gpt"
    n_layer: int = 2
    d_model: int = 64
    n_head: int = 4
    ctx: int = 64
    vocab_size: int = 256
    pos: str = "learned"
    rope_scale: float = 1.0
    mlp_ratio: int = 4
    tie_embeddings: bool = True
    d_in: int = 0
    hidden: tuple[int, ...] = ()
    d_out: int = 0

    def __post_init__(self) -> None:
        if self.arch not in ("gpt", "mlp"):
            raise ValueError(f"ModelSpec.arch must be 'gpt' or 'mlp', got {self.arch!r}")
        if self.arch == "gpt":
            if self.pos not in POSITIONAL_ENCODINGS:
                raise ValueError(f"ModelSpec.pos must be one of {POSITIONAL_ENCODINGS}, got {self.pos!r}")
            if min(self.n_layer, self.d_model, self.n_head, self.ctx, self.vocab_size) < 1:
                raise ValueError("ModelSpec: n_layer, d_model, n_head, ctx, vocab_size must be >= 1")
            if self.d_model % self.n_head:
                raise ValueError(f"ModelSpec: d_model={self.d_model} is not divisible by n_head={self.n_head}")
            if self.pos == "rope" and (self.d_model // self.n_head) % 2:
                raise ValueError("ModelSpec: RoPE needs an even head dimension")
        else:
            if self.d_in < 1 or self.d_out < 1 or any(h < 1 for h in self.hidden):
                raise ValueError("ModelSpec(arch='mlp') needs d_in >= 1, d_out >= 1 and positive hidden widths")
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))


@dataclass(frozen=True)
class DataSpec(_Options):
    """A data source, deterministic from ``seed``.

    ``task`` names a generator in ``scaling_claims.data`` (e.g. "stdlib", "textfile",
    "addition", "copy", "reverse", "modular", "sparse_parity", "zipf_features");
    ``options`` are its keyword arguments. ``seed`` is the data seed, independent of the
    model-initialisation seed in ``RunSpec.seed``.
    """

    task: str = "stdlib"
    options: tuple[tuple[str, Any], ...] = ()
    seed: int = 0

    @classmethod
    def make(cls, task: str, seed: int = 0, **options: Any) -> "DataSpec":
        return cls(task=task, options=_options(options), seed=seed)


@dataclass(frozen=True)
class OptimSpec:
    """AdamW with linear warmup then ``schedule`` ("cosine" to ``min_lr_frac * lr``, or "constant")."""

    lr: float = 3e-3
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    eps: float = 1e-8
    warmup_steps: int = 0
    schedule: str = "cosine"
    min_lr_frac: float = 0.1
    batch_size: int = 32
    grad_clip: float = 1.0

    def __post_init__(self) -> None:
        if self.schedule not in ("cosine", "constant"):
            raise ValueError(f"OptimSpec.schedule must be 'cosine' or 'constant', got {self.schedule!r}")
        if not (self.lr > 0 and self.batch_size >= 1 and self.warmup_steps >= 0):
            raise ValueError("OptimSpec: lr must be > 0, batch_size >= 1, warmup_steps >= 0")


@dataclass(frozen=True)
class Budget:
    """How long to train: exactly one of ``steps``, ``tokens`` or ``flops``.

    Tokens are counted as batch_size * sequence length per step (for non-sequence tasks, one
    example is one token); FLOPs as tokens * flops_per_token of the model (see
    ``scaling_claims.flops``). Converted to a whole number of steps by the trainer, rounding up.
    """

    steps: int | None = None
    tokens: int | None = None
    flops: float | None = None

    def __post_init__(self) -> None:
        given = [v for v in (self.steps, self.tokens, self.flops) if v is not None]
        if len(given) != 1:
            raise ValueError("Budget needs exactly one of steps, tokens or flops")
        if not given[0] > 0:
            raise ValueError(f"Budget must be positive, got {given[0]!r}")

    def whole_steps(self, tokens_per_step: int, flops_per_token: float) -> int:
        """Optimiser steps this budget buys at ``tokens_per_step`` tokens per step and
        ``flops_per_token``: tokens and FLOPs rounded up to a whole step, at least one."""
        if self.steps is not None:
            return int(self.steps)
        if self.tokens is not None:
            return max(1, math.ceil(self.tokens / tokens_per_step))
        return max(1, math.ceil(self.flops / (flops_per_token * tokens_per_step)))


@dataclass(frozen=True)
class EvalSpec(_Options):
    """An evaluation run once, at the end of training. ``name`` is ``"<module>.<function>"``,
    resolved lazily inside the package ``scaling_claims.evals`` (e.g. ``"lm.loss"``), or one of
    its aliases (``"loss"``, ``"loss_by_position"``); ``options`` are its keyword arguments. Its
    numbers land in ``RunResult.metrics`` under ``"<name>/<metric>"``. (The held-out loss in the
    loss curve is the periodic evaluation, every ``RunSpec.eval_every`` steps.)"""

    name: str = "loss"
    options: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def make(cls, name: str, **options: Any) -> "EvalSpec":
        return cls(name=name, options=_options(options))


@dataclass(frozen=True)
class EarlyStop:
    """An opt-in early stop: at each curve point from ``min_fraction`` of the planned steps on,
    forecast the held-out loss at the planned end from the curve so far, its points after the
    warmup (``form``: "power",
    ``L = c + a s^-b``, or "annealing", Tissue et al. 2024's law on the run's own LR schedule)
    and stop once the last ``window`` forecasts agree within relative spread ``rtol``
    (``scaling_claims.fit.forecast.early_stop_decision``). The run then records that it stopped
    early, where, and its forecast (``RunResult.early_stop``). Curve points come every
    ``RunSpec.eval_every`` steps, so that sets how often the rule looks."""

    form: str = "power"
    min_fraction: float = 0.2
    window: int = 3
    rtol: float = 0.01

    def __post_init__(self) -> None:
        if self.form not in ("power", "annealing"):
            raise ValueError(f"EarlyStop.form must be 'power' or 'annealing', got {self.form!r}")
        if not 0 < self.min_fraction <= 1:
            raise ValueError(f"EarlyStop.min_fraction must be in (0, 1], got {self.min_fraction!r}")
        if isinstance(self.window, bool) or not isinstance(self.window, int) or self.window < 2:
            raise ValueError(f"EarlyStop.window must be an integer >= 2, got {self.window!r}")
        if not self.rtol > 0:
            raise ValueError(f"EarlyStop.rtol must be > 0, got {self.rtol!r}")


@dataclass(frozen=True)
class StopWhen:
    """An opt-in stop on a curve metric: end the run once ``metric`` (a key of the curve points:
    "eval_loss", "train_loss" or "<eval>/<metric>" of ``RunSpec.curve_evals``) has been at most
    ``at_most`` (or at least ``at_least``) at ``points`` consecutive curve points. E.g. a
    grokking run stops once its held-out error has stayed <= 0.05 for 50 points instead of
    running out its budget. ``RunResult.early_stop`` records where it stopped and why."""

    metric: str
    at_most: float | None = None
    at_least: float | None = None
    points: int = 10

    def __post_init__(self) -> None:
        if not isinstance(self.metric, str) or not self.metric:
            raise ValueError(f"StopWhen.metric must name a curve metric, got {self.metric!r}")
        if (self.at_most is None) == (self.at_least is None):
            raise ValueError("StopWhen needs exactly one of at_most and at_least")
        if isinstance(self.points, bool) or not isinstance(self.points, int) or self.points < 1:
            raise ValueError(f"StopWhen.points must be an integer >= 1, got {self.points!r}")

    def met(self, curve: list[dict[str, Any]]) -> bool:
        """Whether the last ``points`` curve points all meet the condition."""
        if len(curve) < self.points:
            return False
        for point in curve[-self.points:]:
            if self.metric not in point:
                raise ValueError(f"StopWhen: the curve has no metric {self.metric!r}; it has {sorted(point)}")
            v = point[self.metric]
            if not (v <= self.at_most if self.at_most is not None else v >= self.at_least):
                return False
        return True


@dataclass(frozen=True)
class RunSpec:
    model: ModelSpec
    data: DataSpec
    optim: OptimSpec = field(default_factory=OptimSpec)
    budget: Budget = field(default_factory=lambda: Budget(steps=100))
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float32"
    eval_every: int = 0  # held-out evaluation every this many steps; 0: about 10 times per run
    eval_batches: int = 4
    evals: tuple[EvalSpec, ...] = ()
    tag: str = ""  # free label for humans (part of the key, so keep it stable)
    # evaluators also run at every curve point (scalars only), e.g. accuracy curves for grokking
    curve_evals: tuple[EvalSpec, ...] = ()
    early_stop: EarlyStop | None = None
    stop_when: StopWhen | None = None

    def __post_init__(self) -> None:
        if self.device not in DEVICES:
            raise ValueError(
                f"RunSpec.device must be a concrete device {DEVICES} (resolve 'auto' first), got {self.device!r}"
            )
        if self.dtype not in DTYPES:
            raise ValueError(f"RunSpec.dtype must be one of {DTYPES}, got {self.dtype!r}")
        object.__setattr__(self, "evals", tuple(self.evals))
        object.__setattr__(self, "curve_evals", tuple(self.curve_evals))
        for field in ("evals", "curve_evals"):  # metrics are keyed "<name>/<metric>": one name, one entry
            names = [e.name for e in getattr(self, field)]
            if twice := sorted({n for n in names if names.count(n) > 1}):
                raise ValueError(f"RunSpec.{field} names {twice} more than once: their metrics would overwrite "
                                 "each other under '<name>/<metric>'; give each evaluation its own entry once")
        if self.early_stop is not None and not isinstance(self.early_stop, EarlyStop):
            raise ValueError(f"RunSpec.early_stop must be an EarlyStop or None, got {self.early_stop!r}")
        if self.stop_when is not None and not isinstance(self.stop_when, StopWhen):
            raise ValueError(f"RunSpec.stop_when must be a StopWhen or None, got {self.stop_when!r}")

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        # the options added later are left out while unused, so earlier specs keep their keys
        for name in ("curve_evals", "early_stop", "stop_when"):
            if not d[name]:
                del d[name]
        return d

    def canonical_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def key(self) -> str:
        """Stable cache key: SHA-256 of the canonical JSON, salted with CODE_VERSION."""
        payload = f"scaling-claims/{CODE_VERSION}/" + self.canonical_json()
        return hashlib.sha256(payload.encode()).hexdigest()[:32]

    def replace(self, **changes: Any) -> "RunSpec":
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunSpec":
        def opts(x: Any) -> tuple[tuple[str, Any], ...]:
            return tuple((k, _freeze(v)) for k, v in x)

        return cls(
            model=ModelSpec(**{**d["model"], "hidden": tuple(d["model"].get("hidden", ()))}),
            data=DataSpec(task=d["data"]["task"], options=opts(d["data"]["options"]), seed=d["data"]["seed"]),
            optim=OptimSpec(**d["optim"]),
            budget=Budget(**d["budget"]),
            seed=d["seed"],
            device=d["device"],
            dtype=d["dtype"],
            eval_every=d["eval_every"],
            eval_batches=d["eval_batches"],
            evals=tuple(EvalSpec(name=e["name"], options=opts(e["options"])) for e in d["evals"]),
            tag=d["tag"],
            curve_evals=tuple(EvalSpec(name=e["name"], options=opts(e["options"])) for e in d.get("curve_evals", ())),
            early_stop=EarlyStop(**d["early_stop"]) if d.get("early_stop") else None,
            stop_when=StopWhen(**d["stop_when"]) if d.get("stop_when") else None,
        )


@dataclass
class RunResult:
    """Everything a run produced. ``status`` is "ok" or "failed" (with ``failure`` saying why:
    a NaN/inf loss, divergence, an exception); failed runs are kept, never fitted silently.

    ``curve`` is a list of dicts with keys step, tokens, flops, lr, train_loss and, at
    evaluation steps, eval_loss (plus "<eval>/<metric>" for ``RunSpec.curve_evals``).
    ``early_stop`` is set when an ``EarlyStop`` or ``StopWhen`` rule ended the run: the rule, the
    step it stopped at, the planned steps, the reason (and an ``EarlyStop``'s forecast of the
    final loss). ``params`` has "total", "non_embedding" (Kaplan) and
    "matmul". ``metrics`` holds the end-of-run evaluations ("<eval>/<metric>": number or
    list). ``env`` records device, dtype, torch version, threads, MPS fallback.
    """

    key: str
    spec: dict[str, Any]
    status: str
    failure: str | None = None
    final_train_loss: float = math.nan
    final_eval_loss: float = math.nan
    curve: list[dict[str, float]] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    params: dict[str, int] = field(default_factory=dict)
    flops_per_token: float = math.nan
    steps: int = 0
    tokens: int = 0
    flops: float = 0.0
    wall_time_s: float = 0.0
    env: dict[str, Any] = field(default_factory=dict)
    early_stop: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunResult":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def run_spec(self) -> RunSpec:
        return RunSpec.from_dict(self.spec)
