"""From a fitted scaling law to a training plan (pure NumPy/SciPy).

A :class:`Law` is the Chinchilla form ``L(N, D) = E + A / N**alpha + B / D**beta`` with its
provenance: a published fit (:data:`PUBLISHED`), or one fitted to your own runs
(:meth:`Law.from_fit`, or the ``fit.json`` that ``scaling-claims fit`` writes:
:meth:`Law.load`), which may carry bootstrap samples of its parameters for intervals.

- :func:`allocate`: a compute budget C -> the loss-optimal N and D (C = k N D), tokens per
  parameter and the predicted loss, with intervals from the law's bootstrap samples.
- :func:`budget_for_loss`: a target loss -> the smallest budget whose optimal allocation reaches it.
- :func:`inference_aware`: Sardana et al. 2024 ("Beyond Chinchilla-Optimal"): with D_inf tokens
  of inference expected (2 N FLOPs each), the (N, D) that reaches the same loss for the least
  training plus inference compute; at D_inf = 0 it is the Chinchilla optimum.
- :func:`training_time`: FLOPs -> wall time and cost on a device from :data:`DEVICES` (peak
  FLOP/s from the vendors' spec sheets) at a model-FLOPs utilisation (MFU) that is either given
  or read from this machine's throughput benchmark (:func:`measured_utilisation`).
- :func:`design_ladder`: a device, a time budget and a range of sizes -> a ladder of (N, D) runs
  around the compute-optimal ratio that fits the time.

The law's N and D are in whatever convention it was fitted in (Hoffmann et al.: total
parameters and tokens; our runs: non-embedding parameters and bytes): a plan inherits it.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

_PARAMS = ("E", "A", "B", "alpha", "beta")


@dataclass(frozen=True)
class Law:
    """A Chinchilla law with its source. ``samples``: bootstrap samples of (E, A, B, alpha, beta),
    one row each (optional; intervals come from them). ``flops_per_token``: k in C = k N D."""

    name: str
    E: float
    A: float
    B: float
    alpha: float
    beta: float
    source: str = ""
    convention: str = ""
    flops_per_token: float = 6.0
    samples: np.ndarray | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        for p in _PARAMS:
            v = float(getattr(self, p))
            if not math.isfinite(v) or v < 0:
                raise ValueError(f"law {self.name!r}: {p} must be a finite number >= 0, got {v}")
            object.__setattr__(self, p, v)
        if not (self.alpha > 0 and self.beta > 0 and self.A > 0 and self.B > 0):
            raise ValueError(f"law {self.name!r}: A, B, alpha and beta must be > 0 for an optimum to exist")
        if not self.flops_per_token > 0:
            raise ValueError(f"law {self.name!r}: flops_per_token must be > 0")
        if self.samples is not None:
            s = np.asarray(self.samples, dtype=float)
            if s.ndim != 2 or s.shape[1] != 5 or not np.all(np.isfinite(s)):
                raise ValueError(f"law {self.name!r}: samples must be finite rows of (E, A, B, alpha, beta)")
            object.__setattr__(self, "samples", s)

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_fit(cls, fit: Any, name: str = "fit", source: str = "", convention: str = "",
                 bootstrap: Any = None) -> "Law":
        """From a ``ChinchillaFit`` (and optionally its ``ChinchillaBootstrap``)."""
        samples = None if bootstrap is None else np.asarray(bootstrap.params, dtype=float)
        return cls(name, *(fit.params[p] for p in _PARAMS), source=source, convention=convention,
                   flops_per_token=float(getattr(fit, "flops_per_token_factor", 6.0)), samples=samples)

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if k != "samples"}
        d["samples"] = None if self.samples is None else self.samples.tolist()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Law":
        try:
            law = d["law"] if "law" in d else d
            return cls(law.get("name", "fit"), *(float(law[p]) for p in _PARAMS), source=law.get("source", ""),
                       convention=law.get("convention", ""), flops_per_token=float(law.get("flops_per_token", 6.0)),
                       samples=None if law.get("samples") is None else np.asarray(law["samples"], dtype=float))
        except (KeyError, TypeError) as err:
            raise ValueError(f"not a law: expected E, A, B, alpha, beta ({err})") from None

    @classmethod
    def load(cls, path: str | Path) -> "Law":
        """A law from a JSON file written by ``scaling-claims fit`` (or :meth:`to_dict`)."""
        try:
            return cls.from_dict(json.loads(Path(path).read_text()))
        except (OSError, json.JSONDecodeError) as err:
            raise ValueError(f"cannot read a law from {path}: {err}") from None

    # ---------------------------------------------------------------- the law
    def params_array(self) -> np.ndarray:
        return np.array([self.E, self.A, self.B, self.alpha, self.beta])

    @property
    def a(self) -> float:
        """N_opt ~ C**a."""
        return self.beta / (self.alpha + self.beta)

    def loss(self, N: Any, D: Any) -> np.ndarray:
        return _loss(self.params_array(), np.asarray(N, float), np.asarray(D, float))

    def optimum(self, C: Any) -> tuple[np.ndarray, np.ndarray]:
        """(N_opt, D_opt) at budget(s) C."""
        return _optimum(self.params_array(), np.asarray(C, float), self.flops_per_token)

    def optimal_loss(self, C: Any) -> np.ndarray:
        N, D = self.optimum(C)
        return self.loss(N, D)


def _loss(p: np.ndarray, N: np.ndarray, D: np.ndarray) -> np.ndarray:
    E, A, B, alpha, beta = p
    return E + A * N ** -alpha + B * D ** -beta


def _optimum(p: np.ndarray, C: np.ndarray, k: float) -> tuple[np.ndarray, np.ndarray]:
    """Minimise E + A N^-alpha + B D^-beta subject to k N D = C (``fit.chinchilla``'s closed form)."""
    if np.any(~np.isfinite(C)) or np.any(C <= 0):
        raise ValueError(f"a compute budget must be finite and > 0, got {np.atleast_1d(C).tolist()}")
    from scaling_claims.fit.chinchilla import optimal_allocation  # scipy: imported on use, so `--help` is fast

    return optimal_allocation(p, C, k)


# ----------------------------------------------------------------------------- published fits
PUBLISHED: dict[str, Law] = {
    "hoffmann2022": Law("hoffmann2022", 1.69, 406.4, 410.7, 0.34, 0.28,
                        source="Hoffmann et al. 2022 (Chinchilla), Approach 3 as published (eq. 10): nats per "
                               "token of MassiveText; Epoch AI found these values inconsistent with the paper's own "
                               "data (Besiroglu et al. 2024)",
                        convention="N total parameters, D tokens, C = 6ND"),
    "epoch2024": Law("epoch2024", 1.817, 482.0, 2085.4, 0.3478, 0.3659,
                     source="Besiroglu, Erdil, Barnett, You 2024 (Epoch AI), 'Chinchilla Scaling: A replication "
                            "attempt', refit of Hoffmann et al.'s Approach 3 on data recovered from their Figure 4 "
                            "(SE: E 0.026, A 124.5, B 1293.3, alpha 0.0154, beta 0.0206)",
                     convention="N total parameters, D tokens, C = 6ND"),
}


def published(name: str) -> Law:
    """A published law by name (``PUBLISHED``); ``ValueError`` listing the names otherwise."""
    try:
        return PUBLISHED[name]
    except KeyError:
        raise ValueError(f"unknown published fit {name!r}; known: {', '.join(sorted(PUBLISHED))}") from None


# ----------------------------------------------------------------------------- allocation
@dataclass
class Allocation:
    """The compute-optimal run at budget ``C`` and, where the law has bootstrap samples, 95%
    percentile intervals (``*_ci``) over them."""

    C: float
    N: float
    D: float
    loss: float
    law: str
    N_ci: tuple[float, float] | None = None
    D_ci: tuple[float, float] | None = None
    loss_ci: tuple[float, float] | None = None

    @property
    def tokens_per_param(self) -> float:
        return self.D / self.N

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "tokens_per_param": self.tokens_per_param}


def _percentile(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    lo, hi = np.percentile(values[np.isfinite(values)], [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi)


def allocate(law: Law, C: float) -> Allocation:
    """The loss-optimal (N, D) at budget ``C`` and the loss it reaches."""
    C = float(C)
    N, D = law.optimum(np.array([C]))
    out = Allocation(C, float(N[0]), float(D[0]), float(law.loss(N, D)[0]), law.name)
    if law.samples is not None and len(law.samples):
        Ns, Ds, Ls = [], [], []
        for p in law.samples:
            if p[3] > 0 and p[4] > 0 and p[1] > 0 and p[2] > 0:
                n, d = _optimum(p, np.array([C]), law.flops_per_token)
                Ns.append(n[0]), Ds.append(d[0]), Ls.append(_loss(p, n, d)[0])
        if len(Ls) >= 20:
            out.N_ci, out.D_ci, out.loss_ci = (_percentile(np.array(v)) for v in (Ns, Ds, Ls))
    return out


def budget_for_loss(law: Law, target: float) -> Allocation:
    """The smallest budget whose compute-optimal run reaches ``target`` loss, with its (N, D).
    The optimal loss falls monotonically towards E as C grows, so any target above E is reached
    at exactly one budget; at or below E, never."""
    target = float(target)
    if not math.isfinite(target) or target <= law.E:
        raise ValueError(f"a target loss of {target} cannot be reached: the law's irreducible loss E is {law.E:.4g}")
    f = lambda lc: float(law.optimal_loss(np.array([10.0 ** lc]))[0]) - target  # noqa: E731
    lo, hi = -10.0, 60.0
    if f(lo) < 0:
        raise ValueError(f"a target loss of {target} is reached below 1e-10 FLOPs: not a meaningful plan")
    if f(hi) > 0:
        raise ValueError(f"a target loss of {target} is not reached below 1e60 FLOPs (E = {law.E:.4g})")
    from scipy import optimize

    lc = optimize.brentq(f, lo, hi, xtol=1e-12, rtol=1e-14)
    return allocate(law, 10.0 ** lc)


# ----------------------------------------------------------------------------- inference-aware
@dataclass
class InferenceAware:
    """Sardana et al. 2024: the (N, D) reaching ``loss`` with the least ``6 N D + 2 N D_inf``,
    beside the Chinchilla-optimal run reaching the same loss."""

    loss: float
    inference_tokens: float
    N: float
    D: float
    train_flops: float
    inference_flops: float
    chinchilla: Allocation
    chinchilla_total_flops: float

    @property
    def total_flops(self) -> float:
        return self.train_flops + self.inference_flops

    @property
    def tokens_per_param(self) -> float:
        return self.D / self.N

    @property
    def saving(self) -> float:
        """Share of the Chinchilla-optimal run's total (training + inference) compute saved."""
        return 1.0 - self.total_flops / self.chinchilla_total_flops

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if k != "chinchilla"}
        return {**d, "chinchilla": self.chinchilla.to_dict(), "total_flops": self.total_flops,
                "tokens_per_param": self.tokens_per_param, "saving": self.saving}


INFERENCE_FLOPS_PER_TOKEN = 2.0  # per parameter: a forward pass (Sardana et al. 2024; Kaplan et al. 2020)


def inference_aware(law: Law, loss: float, inference_tokens: float) -> InferenceAware:
    """Among the (N, D) with ``law.loss(N, D) == loss``, the one with the least training plus
    inference compute ``k N D + 2 N D_inf``."""
    loss, d_inf = float(loss), float(inference_tokens)
    if not (math.isfinite(d_inf) and d_inf >= 0):
        raise ValueError(f"inference tokens must be a finite number >= 0, got {inference_tokens}")
    chin = budget_for_loss(law, loss)
    k = law.flops_per_token
    # on the loss contour, N > N_min where A N^-alpha alone uses up the loss above E
    n_min = (law.A / (loss - law.E)) ** (1.0 / law.alpha)

    def tokens(n: float) -> float:
        room = loss - law.E - law.A * n ** -law.alpha
        return (law.B / room) ** (1.0 / law.beta) if room > 0 else math.inf

    def total(log_n: float) -> float:
        n = math.exp(log_n)
        return math.log(k * n * tokens(n) + INFERENCE_FLOPS_PER_TOKEN * n * d_inf)

    lo, hi = math.log(n_min) + 1e-9, math.log(chin.N) + 1e-6
    from scipy import optimize

    res = optimize.minimize_scalar(total, bounds=(lo, hi), method="bounded", options={"xatol": 1e-10})
    n = float(math.exp(res.x))
    d = tokens(n)
    return InferenceAware(loss, d_inf, n, d, k * n * d, INFERENCE_FLOPS_PER_TOKEN * n * d_inf, chin,
                          k * chin.N * chin.D + INFERENCE_FLOPS_PER_TOKEN * chin.N * d_inf)


# ----------------------------------------------------------------------------- devices and time
@dataclass(frozen=True)
class Device:
    """Peak dense FLOP/s of one accelerator by precision, from its maker's published figures."""

    name: str
    peak: dict[str, float]
    source: str

    def peak_flops(self, dtype: str = "bf16") -> float:
        if dtype in self.peak:
            return self.peak[dtype]
        raise ValueError(f"{self.name}: no published peak for {dtype!r} (has {', '.join(self.peak)})")


T = 1e12
DEVICES: dict[str, Device] = {
    "h100-sxm": Device("NVIDIA H100 SXM", {"bf16": 989 * T, "fp16": 989 * T, "tf32": 495 * T, "fp32": 67 * T},
                       "NVIDIA H100 datasheet (dense; the sheet's headline figures assume 2:4 sparsity)"),
    "h200": Device("NVIDIA H200 SXM", {"bf16": 989 * T, "fp16": 989 * T, "tf32": 495 * T, "fp32": 67 * T},
                   "NVIDIA H200 datasheet (dense; same tensor cores as the H100 SXM)"),
    "a100": Device("NVIDIA A100", {"bf16": 312 * T, "fp16": 312 * T, "tf32": 156 * T, "fp32": 19.5 * T},
                   "NVIDIA A100 datasheet (dense)"),
    "v100": Device("NVIDIA V100 SXM2", {"fp16": 125 * T, "fp32": 15.7 * T}, "NVIDIA V100 datasheet"),
    "l4": Device("NVIDIA L4", {"bf16": 121 * T, "fp16": 121 * T, "fp32": 30.3 * T},
                 "NVIDIA L4 datasheet (dense)"),
    "t4": Device("NVIDIA T4", {"fp16": 65 * T, "fp32": 8.1 * T}, "NVIDIA T4 datasheet"),
    "rtx4090": Device("NVIDIA GeForce RTX 4090", {"bf16": 165.2 * T, "fp16": 165.2 * T, "fp32": 82.6 * T},
                      "NVIDIA Ada Lovelace architecture whitepaper (dense, FP32 accumulate)"),
    "rtx3090": Device("NVIDIA GeForce RTX 3090", {"bf16": 71 * T, "fp16": 71 * T, "fp32": 35.6 * T},
                      "NVIDIA Ampere GA102 whitepaper (dense, FP32 accumulate)"),
}


def _apple(name: str, tflops: float, announcement: str) -> Device:
    """Apple quotes one FP32 GPU figure per chip; it stands for every dtype."""
    return Device(name, {d: tflops * T for d in ("fp32", "bf16", "fp16")}, f"Apple {announcement} announcement (GPU FP32)")


DEVICES.update({
    "m1": _apple("Apple M1 (8-core GPU)", 2.6, "M1"),
    "m1-max": _apple("Apple M1 Max (32-core GPU)", 10.4, "M1 Pro/Max"),
    "m1-ultra": _apple("Apple M1 Ultra (64-core GPU)", 21.0, "M1 Ultra"),
    "m2": _apple("Apple M2 (10-core GPU)", 3.6, "M2"),
    "m2-max": _apple("Apple M2 Max (38-core GPU)", 13.6, "M2 Pro/Max"),
    "m2-ultra": _apple("Apple M2 Ultra (76-core GPU)", 27.2, "M2 Ultra"),
})


def device(name: str) -> Device:
    try:
        return DEVICES[name]
    except KeyError:
        raise ValueError(f"unknown device {name!r}; known: {', '.join(DEVICES)} (or give --peak-flops)") from None


@dataclass(frozen=True)
class Utilisation:
    """A model-FLOPs utilisation and where it came from; with the measured roof when measured."""

    mfu: float
    source: str
    roof_flops: float | None = None


def measured_utilisation(benchmark_dir: str | Path = ".benchmarks", min_params: int = 800_000) -> Utilisation:
    """This machine's utilisation from the latest saved throughput benchmark
    (``pytest tests/benchmarks -m bench -n0 --benchmark-only --benchmark-autosave``): the median
    ``fraction_of_fp32_roof`` of the fp32 decoder steps with >= ``min_params`` parameters, and the
    one-thread fp32 matmul roof it is a fraction of. ``ValueError`` when nothing was saved."""
    files = sorted(Path(benchmark_dir).glob("**/*.json"), key=lambda p: p.stat().st_mtime)
    for path in reversed(files):
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        fractions, roof = [], None
        for b in data.get("benchmarks", []):
            info = b.get("extra_info", {})
            if "matmul_flops_per_s" in info and info.get("dtype") == "float32":
                roof = float(info["matmul_flops_per_s"])
            if info.get("fraction_of_fp32_roof") and info.get("dtype") == "float32" and \
                    str(info.get("model", "")).startswith("gpt") and info.get("params_total", 0) >= min_params:
                fractions.append(float(info["fraction_of_fp32_roof"]))
        if fractions:
            return Utilisation(float(np.median(fractions)), f"measured: {path} (median of {len(fractions)} fp32 "
                               f"decoder steps >= {min_params:,} parameters, one thread)", roof)
    raise ValueError(f"no saved throughput benchmark under {benchmark_dir}: run `pytest tests/benchmarks -m bench "
                     "-n0 --benchmark-only --benchmark-autosave`, or give the utilisation (--mfu)")


@dataclass
class TrainingTime:
    flops: float
    peak_flops: float
    mfu: float
    devices: int
    seconds: float
    price_per_hour: float | None = None

    @property
    def hours(self) -> float:
        return self.seconds / 3600.0

    @property
    def cost(self) -> float | None:
        """Price per device-hour times device-hours."""
        return None if self.price_per_hour is None else self.price_per_hour * self.hours * self.devices

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "hours": self.hours, "cost": self.cost}


def training_time(flops: float, peak_flops: float, mfu: float, devices: int = 1,
                  price_per_hour: float | None = None) -> TrainingTime:
    """Wall time of ``flops`` on ``devices`` devices of ``peak_flops`` each at utilisation ``mfu``."""
    flops, peak_flops, mfu = float(flops), float(peak_flops), float(mfu)
    if not (flops > 0 and peak_flops > 0 and math.isfinite(flops) and math.isfinite(peak_flops)):
        raise ValueError(f"FLOPs and peak FLOP/s must be finite and > 0, got {flops} and {peak_flops}")
    if not 0 < mfu <= 1:
        raise ValueError(f"utilisation (MFU) must be in (0, 1], got {mfu}")
    if int(devices) < 1:
        raise ValueError(f"devices must be >= 1, got {devices}")
    if price_per_hour is not None and not price_per_hour >= 0:
        raise ValueError(f"price per hour must be >= 0, got {price_per_hour}")
    return TrainingTime(flops, peak_flops, mfu, int(devices), flops / (peak_flops * mfu * int(devices)),
                        price_per_hour)


# ----------------------------------------------------------------------------- ladder design
@dataclass
class Rung:
    N: float
    D: float
    flops: float
    seconds: float
    ratio: float  # D / D_opt(N): 1 = compute-optimal for this N

    @property
    def tokens_per_param(self) -> float:
        return self.D / self.N


@dataclass
class Ladder:
    rungs: list[Rung]
    seconds: float
    budget_seconds: float
    sizes: list[float]
    notes: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"rungs": [{**asdict(r), "tokens_per_param": r.tokens_per_param} for r in self.rungs],
                "seconds": self.seconds, "budget_seconds": self.budget_seconds, "sizes": self.sizes,
                "notes": self.notes}


def optimal_tokens(law: Law, N: float) -> float:
    """D such that N is the compute-optimal size for the budget k N D."""
    # N_opt(C) = G (C/k)^a, so G = N_opt(k); then C = k (N / G)^(1/a) and D = C / (k N)
    G = float(law.optimum(np.array([law.flops_per_token]))[0][0])
    return (N / G) ** (1.0 / law.a) / N


def design_ladder(law: Law, n_min: float, n_max: float, seconds: float, peak_flops: float, mfu: float,
                  n_sizes: int = 5, ratios: Sequence[float] = (0.5, 1.0, 2.0), flops_per_token: float | None = None,
                  ) -> Ladder:
    """The plan's stratified design: ``n_sizes`` log-spaced sizes from ``n_min`` up to at most
    ``n_max``, each trained at ``ratios`` times its compute-optimal token count under ``law``
    (an IsoFLOP-like spread that Approaches 1-3 can all use), with the largest size lowered until
    the whole ladder fits ``seconds`` at ``peak_flops * mfu``. ``flops_per_token``: FLOPs per
    parameter per token (default the law's k, 6)."""
    if not (0 < n_min < n_max and math.isfinite(n_max)):
        raise ValueError(f"sizes must satisfy 0 < n_min < n_max, got {n_min} and {n_max}")
    if int(n_sizes) < 3:
        raise ValueError(f"a ladder needs >= 3 sizes to fit a law, got {n_sizes}")
    if not ratios or min(ratios) <= 0:
        raise ValueError(f"token ratios must be > 0, got {list(ratios)}")
    training_time(1.0, peak_flops, mfu)  # validates peak and mfu
    if not seconds > 0:
        raise ValueError(f"the time budget must be > 0 seconds, got {seconds}")
    k = law.flops_per_token if flops_per_token is None else float(flops_per_token)
    speed = peak_flops * mfu

    def rungs(top: float) -> list[Rung]:
        out = []
        for n in np.geomspace(n_min, top, int(n_sizes)):
            d_opt = optimal_tokens(law, float(n))
            for r in ratios:
                d = r * d_opt
                out.append(Rung(float(n), float(d), k * n * d, k * n * d / speed, float(r)))
        return out

    notes = [f"compute-optimal tokens per size from {law.name} ({law.convention or 'its own convention'})"]
    total = lambda rs: sum(r.seconds for r in rs)  # noqa: E731
    top = float(n_max)
    if total(rungs(top)) > seconds:
        lo_, hi_ = math.log(n_min * 1.0001), math.log(top)
        if total(rungs(math.exp(lo_))) > seconds:
            raise ValueError(f"even a ladder topping out at n_min = {n_min:.3g} needs "
                             f"{total(rungs(math.exp(lo_))) / 3600:.3g} h, more than the {seconds / 3600:.3g} h budget")
        from scipy import optimize

        top = math.exp(optimize.brentq(lambda lt: total(rungs(math.exp(lt))) - seconds, lo_, hi_, xtol=1e-6))
        notes.append(f"largest size lowered from {n_max:.3g} to {top:.3g} to fit the time budget")
    rs = rungs(top)
    return Ladder(rs, total(rs), float(seconds), sorted({r.N for r in rs}), notes)

