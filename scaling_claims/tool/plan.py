"""From a fitted scaling law to a training plan (NumPy; SciPy only where a ladder is fitted to time).

A :class:`Law` is the Chinchilla form ``L(N, D) = E + A / N**alpha + B / D**beta`` with its
provenance: a published fit (:data:`PUBLISHED`), or one fitted to your own runs
(:meth:`Law.from_fit`, or the ``fit.json`` that ``scaling-claims fit`` writes:
:meth:`Law.load`), which may carry bootstrap samples of its parameters for intervals and the
range of (N, D, C, loss) it was fitted on (``fitted_range``), so that a plan can say how far it
extrapolates (:func:`beyond_range`).

- :func:`allocate`: a compute budget C -> the loss-optimal N and D (C = k N D), tokens per
  parameter and the predicted loss, with intervals from the law's bootstrap samples.
- :func:`budget_for_loss`: a target loss -> the smallest budget whose optimal allocation reaches
  it (closed form), with intervals on the budget, N and D.
- :func:`inference_aware`: Sardana et al. 2024 ("Beyond Chinchilla-Optimal"): with D_inf tokens
  of inference expected (2 N FLOPs each), the (N, D) that reaches the same loss for the least
  training plus inference compute; at D_inf = 0 it is the Chinchilla optimum. Intervals too.
- :func:`training_time`: FLOPs -> wall time and cost on a device from :data:`DEVICES` (peak
  FLOP/s from the vendors' spec sheets) at a model-FLOPs utilisation (MFU) that is given, read
  from this machine's throughput benchmark (:func:`measured_utilisation`), or the catalogued
  device's stated default (:func:`default_utilisation`).
- :func:`design_ladder`: a device, a time budget and a range of sizes -> a ladder of (N, D) runs
  around the compute-optimal ratio that fits the time, optionally snapped to distinct sizes a
  model family can realise.

An answer that is no plan (N_opt below one parameter, D_opt below one token, a budget that is
not finite, a target at or below the irreducible loss E) is a ``ValueError``. The law's N and D
are in whatever convention it was fitted in (Hoffmann et al.: total parameters and tokens; our
runs: non-embedding parameters and bytes): a plan inherits it.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

_PARAMS = ("E", "A", "B", "alpha", "beta")
RANGE_KEYS = ("N", "D", "C", "loss")
MAX_SAMPLES = 1000  # bootstrap samples used for an interval (the first ones: they are i.i.d.)
LEVEL = 0.95  # intervals are 95% percentile intervals over the samples
MIN_SAMPLES = 20  # fewer usable samples than this: no interval


def _range(value: Any, where: str) -> dict[str, list[float]] | None:
    """``value`` checked as a fitted range: {quantity: [min, max]} over N, D, C, loss."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError(f"{where}: fitted_range must map N, D, C, loss to [min, max], got {type(value).__name__}")
    out = {}
    for key, pair in value.items():
        if key not in RANGE_KEYS:
            raise ValueError(f"{where}: fitted_range has an unknown quantity {key!r} (known: {', '.join(RANGE_KEYS)})")
        try:
            lo, hi = (float(v) for v in pair)
        except (TypeError, ValueError):
            raise ValueError(f"{where}: fitted_range[{key!r}] must be [min, max], got {pair!r}") from None
        if not (0 < lo <= hi and math.isfinite(hi)):
            raise ValueError(f"{where}: fitted_range[{key!r}] must be finite with 0 < min <= max, got {pair!r}")
        out[key] = [lo, hi]
    return out or None


@dataclass(frozen=True)
class Law:
    """A Chinchilla law with its source. ``samples``: bootstrap samples of (E, A, B, alpha, beta),
    one row each (optional; intervals come from them). ``flops_per_token``: k in C = k N D.
    ``fitted_range``: {"N"|"D"|"C"|"loss": [min, max]} of the data the law was fitted on
    (optional; a plan outside it is an extrapolation and says by how much)."""

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
    fitted_range: dict[str, list[float]] | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        for p in _PARAMS:
            try:
                v = float(getattr(self, p))
            except (TypeError, ValueError):
                raise ValueError(f"law {self.name!r}: {p} must be a number, got {getattr(self, p)!r}") from None
            if not math.isfinite(v) or v < 0:
                raise ValueError(f"law {self.name!r}: {p} must be a finite number >= 0, got {v}")
            object.__setattr__(self, p, v)
        if not (self.alpha > 0 and self.beta > 0 and self.A > 0 and self.B > 0):
            raise ValueError(f"law {self.name!r}: A, B, alpha and beta must be > 0 for an optimum to exist")
        if not self.flops_per_token > 0:
            raise ValueError(f"law {self.name!r}: flops_per_token must be > 0")
        if self.samples is not None:
            try:
                s = np.asarray(self.samples, dtype=float)
            except (TypeError, ValueError):
                s = np.empty((0, 0))
            if s.ndim != 2 or s.shape[1] != 5 or not np.all(np.isfinite(s)):
                raise ValueError(f"law {self.name!r}: samples must be finite rows of (E, A, B, alpha, beta)")
            object.__setattr__(self, "samples", s)
        object.__setattr__(self, "fitted_range", _range(self.fitted_range, f"law {self.name!r}"))

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_fit(cls, fit: Any, name: str = "fit", source: str = "", convention: str = "",
                 bootstrap: Any = None, fitted_range: dict[str, Sequence[float]] | None = None) -> "Law":
        """From a ``ChinchillaFit`` (and optionally its ``ChinchillaBootstrap`` and the range of
        the runs it was fitted on, {"N"|"D"|"C"|"loss": [min, max]})."""
        samples = None if bootstrap is None else np.asarray(bootstrap.params, dtype=float)
        return cls(name, *(fit.params[p] for p in _PARAMS), source=source, convention=convention,
                   flops_per_token=float(getattr(fit, "flops_per_token_factor", 6.0)), samples=samples,
                   fitted_range=None if fitted_range is None else {k: list(v) for k, v in fitted_range.items()})

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if k not in ("samples", "fitted_range")}
        d["fitted_range"] = None if self.fitted_range is None else {k: list(v) for k, v in self.fitted_range.items()}
        d["samples"] = None if self.samples is None else self.samples.tolist()
        return d

    @classmethod
    def from_dict(cls, d: Any) -> "Law":
        """A law from :meth:`to_dict`, ``{"law": ...}``, or the document ``scaling-claims fit``
        writes (fit.json: ``law``, ``summary``, ``fit``; the runs' range from ``summary.range``
        when the law does not carry one). Any other ``scaling-claims`` document is refused."""
        if not isinstance(d, dict):
            raise ValueError(f"not a law: expected a JSON object with E, A, B, alpha, beta, got a {type(d).__name__}")
        schema = d.get("schema")
        if schema is not None and schema != "scaling-claims/fit":
            raise ValueError(f"not a fit: this is a {schema!r} document; give the fit.json that "
                             "`scaling-claims fit` writes")
        law = d["law"] if "law" in d else d
        why = (d.get("summary") or {}).get("law_error") if isinstance(d.get("summary"), dict) else None
        if law is None and why:
            raise ValueError(f"this fit has no law to plan from: {why}")
        if not isinstance(law, dict):
            raise ValueError(f"not a law: 'law' must be a JSON object, got a {type(law).__name__}")
        missing = [p for p in _PARAMS if p not in law]
        if missing:
            raise ValueError(f"not a law: no {', '.join(missing)} (expected E, A, B, alpha, beta"
                             + (f"; keys: {', '.join(map(str, list(law)[:8]))}" if law else "") + ")")
        rng = law.get("fitted_range")
        summary = d.get("summary")
        if rng is None and isinstance(summary, dict) and isinstance(summary.get("range"), dict):
            rng = {k: v for k, v in summary["range"].items() if k in RANGE_KEYS}
        try:
            return cls(str(law.get("name", "fit")), *(law[p] for p in _PARAMS), source=str(law.get("source", "")),
                       convention=str(law.get("convention", "")),
                       flops_per_token=float(law.get("flops_per_token", 6.0)),
                       samples=None if law.get("samples") is None else law["samples"], fitted_range=rng)
        except (TypeError, ValueError) as err:
            raise ValueError(f"not a law: {err}") from None

    @classmethod
    def load(cls, path: str | Path) -> "Law":
        """A law from a JSON file written by ``scaling-claims fit`` (or :meth:`to_dict`)."""
        try:
            text = Path(path).read_text(encoding="utf-8")
            return cls.from_dict(json.loads(text))
        except OSError as err:
            raise ValueError(f"cannot read a law from {path}: {err.strerror or err}") from None
        except UnicodeDecodeError:
            raise ValueError(f"cannot read a law from {path}: not UTF-8 text (give the fit.json that "
                             "`scaling-claims fit` writes)") from None
        except json.JSONDecodeError as err:
            raise ValueError(f"cannot read a law from {path}: not JSON ({err.msg} at line {err.lineno} column "
                             f"{err.colno})") from None
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None

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

    def sample_rows(self, limit: int = MAX_SAMPLES) -> np.ndarray | None:
        """The bootstrap samples usable for intervals (A, B, alpha, beta > 0), at most ``limit``
        (the first ones); None when the law has none."""
        if self.samples is None or not len(self.samples):
            return None
        s = self.samples[:limit]
        return s[np.all(s[:, 1:] > 0, axis=1)]


def _loss(p: np.ndarray, N: np.ndarray, D: np.ndarray) -> np.ndarray:
    E, A, B, alpha, beta = np.moveaxis(np.asarray(p, float), -1, 0)
    return E + A * N ** -alpha + B * D ** -beta


def _optimum(p: np.ndarray, C: np.ndarray, k: float) -> tuple[np.ndarray, np.ndarray]:
    """Minimise E + A N^-alpha + B D^-beta subject to k N D = C: N_opt = G (C/k)^a with
    G = (alpha A / (beta B))^(1/(alpha+beta)), a = beta/(alpha+beta) (the closed form of
    ``fit.chinchilla.optimal_allocation``). ``p`` is one row of (E, A, B, alpha, beta) or an
    (m, 5) array of them (then C broadcasts against the m rows)."""
    C = np.asarray(C, float)
    if np.any(~np.isfinite(C)) or np.any(C <= 0):
        raise ValueError(f"a compute budget must be finite and > 0, got {np.atleast_1d(C).tolist()}")
    _, A, B, alpha, beta = np.moveaxis(np.asarray(p, float), -1, 0)
    log_g = (np.log(alpha) + np.log(A) - np.log(beta) - np.log(B)) / (alpha + beta)
    with np.errstate(over="ignore"):
        n_opt = np.exp(log_g + beta / (alpha + beta) * np.log(C / k))
        return n_opt, C / (k * n_opt)


def _optimum_at_loss(p: np.ndarray, target: Any, k: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N, D, C) of the compute-optimal run whose loss is ``target`` (closed form): at the optimum
    alpha A N^-alpha = beta B D^-beta, so with R = target - E the two terms are R beta/(alpha+beta)
    and R alpha/(alpha+beta). Rows with R <= 0 (unreachable) give inf."""
    E, A, B, alpha, beta = np.moveaxis(np.asarray(p, float), -1, 0)
    R = np.asarray(target, float) - E
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        ok = R > 0
        Rp = np.where(ok, R, 1.0)
        N = np.where(ok, np.exp((np.log(A * (alpha + beta) / beta) - np.log(Rp)) / alpha), np.inf)
        D = np.where(ok, np.exp((np.log(B * (alpha + beta) / alpha) - np.log(Rp)) / beta), np.inf)
        return N, D, k * N * D


# ----------------------------------------------------------------------------- published fits
# The data each published law was fitted on. Hoffmann et al. 2022, section 3: "over 400 language
# models ranging from 70 million to over 16 billion parameters on 5 to 500 billion tokens"; their
# budgets and losses are not tabulated, so C and loss are the range of the 245 final losses of
# their Figure 4 as Epoch AI recovered them (tests/reference-data/chinchilla_epoch_svg_extracted.csv,
# columns `Training FLOP` and `loss`). Epoch's refit (Besiroglu et al. 2024) used 240 of those
# points (the 5 highest losses dropped): its range is computed from that file with D = C / (6 N):
#     df = pd.read_csv(path).sort_values("loss").iloc[:-5]
#     N = df["Model Size"]; C = df["Training FLOP"]; D = C / (6 * N); loss = df["loss"]
HOFFMANN_RANGE = {"N": [7e7, 1.6e10], "D": [5e9, 5e11], "C": [1.397e18, 1.296e22], "loss": [2.077, 5.006]}
EPOCH_RANGE = {"N": [5.733e7, 1.618e10], "D": [8.187e8, 3.178e11], "C": [1.397e18, 1.296e22], "loss": [2.077, 3.406]}

PUBLISHED: dict[str, Law] = {
    "hoffmann2022": Law("hoffmann2022", 1.69, 406.4, 410.7, 0.34, 0.28,
                        source="Hoffmann et al. 2022 (Chinchilla), Approach 3 as published (eq. 10): nats per "
                               "token of MassiveText; Epoch AI found these values inconsistent with the paper's own "
                               "data (Besiroglu et al. 2024)",
                        convention="N total parameters, D tokens, C = 6ND", fitted_range=HOFFMANN_RANGE),
    "epoch2024": Law("epoch2024", 1.817, 482.0, 2085.4, 0.3478, 0.3659,
                     source="Besiroglu, Erdil, Barnett, You 2024 (Epoch AI), 'Chinchilla Scaling: A replication "
                            "attempt', refit of Hoffmann et al.'s Approach 3 on data recovered from their Figure 4 "
                            "(SE: E 0.026, A 124.5, B 1293.3, alpha 0.0154, beta 0.0206)",
                     convention="N total parameters, D tokens, C = 6ND", fitted_range=EPOCH_RANGE),
}


def published(name: str) -> Law:
    """A published law by name (``PUBLISHED``); ``ValueError`` listing the names otherwise."""
    try:
        return PUBLISHED[name]
    except KeyError:
        raise ValueError(f"unknown published fit {name!r}; known: {', '.join(sorted(PUBLISHED))}") from None


# ----------------------------------------------------------------------------- the fitted range
@dataclass
class Excess:
    """One quantity of a plan outside the law's fitted range: ``decades`` = log10 of how far
    beyond the nearer end (> 0), ``side`` "above" or "below". For a loss below the lowest one
    fitted, ``decades`` is None and ``reducible_ratio`` = (loss - E) / (lowest fitted - E)."""

    quantity: str
    value: float
    range: list[float]
    side: str
    decades: float | None
    reducible_ratio: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def beyond_range(law: Law, **values: float | None) -> list[Excess]:
    """Which of ``values`` (keywords N, D, C, loss; None skipped) lie outside ``law.fitted_range``;
    empty when all lie inside, or when the law records no range. A loss counts when it is
    below the lowest loss fitted (above the highest is the easy side)."""
    out: list[Excess] = []
    rng = law.fitted_range or {}
    for q, v in values.items():
        if q not in RANGE_KEYS:
            raise ValueError(f"unknown quantity {q!r} (known: {', '.join(RANGE_KEYS)})")
        if v is None or q not in rng:
            continue
        lo, hi = rng[q]
        if q == "loss":
            if v < lo:
                ratio = (v - law.E) / (lo - law.E) if lo > law.E else None
                out.append(Excess(q, float(v), [lo, hi], "below", None, ratio))
        elif v > hi:
            out.append(Excess(q, float(v), [lo, hi], "above", math.log10(v / hi)))
        elif v < lo:
            out.append(Excess(q, float(v), [lo, hi], "below", math.log10(lo / v)))
    return out


# ----------------------------------------------------------------------------- allocation
@dataclass
class Allocation:
    """The compute-optimal run at budget ``C`` and, where the law has bootstrap samples, 95%
    percentile intervals (``*_ci``) over them (``samples``: how many were used). ``target``: the
    loss asked for, when the budget came from one (then ``C_ci`` is the budget's interval, and
    ``unreachable`` the share of samples whose E lies at or above the target: the interval's
    upper ends are None (unbounded) when that share exceeds 2.5%)."""

    C: float
    N: float
    D: float
    loss: float
    law: str
    N_ci: tuple[float, float] | None = None
    D_ci: tuple[float, float] | None = None
    loss_ci: tuple[float, float] | None = None
    C_ci: tuple[float, float] | None = None
    target: float | None = None
    samples: int = 0
    unreachable: float = 0.0

    @property
    def tokens_per_param(self) -> float:
        return self.D / self.N

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "tokens_per_param": self.tokens_per_param}


def _percentile(values: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """The ``level`` percentile interval of ``values`` (NaN dropped; +inf, an unbounded answer,
    kept: an end that falls on it is inf)."""
    v = np.asarray(values, float)
    v = v[~np.isnan(v)]
    q = [50 * (1 - level), 50 * (1 + level)]
    if np.all(np.isfinite(v)):
        lo, hi = np.percentile(v, q)
    else:
        lo, hi = np.percentile(v, q, method="inverted_cdf")
    return float(lo), float(hi)


def _check_run(what: str, N: float, D: float, loss: float | None = None) -> None:
    """``ValueError`` unless (N, D) is a run one could train: finite, >= 1 parameter and token."""
    if not (math.isfinite(N) and math.isfinite(D) and (loss is None or math.isfinite(loss))):
        raise ValueError(f"{what} is not finite (N = {N:.4g}, D = {D:.4g}): not a meaningful plan")
    if N < 1 or D < 1:
        raise ValueError(f"{what} is N = {N:.3g} parameters, D = {D:.3g} tokens: "
                         f"{'below one parameter' if N < 1 else 'below one token'}, not a meaningful plan "
                         "(the budget is far too small for this law)")


def allocate(law: Law, C: float) -> Allocation:
    """The loss-optimal (N, D) at budget ``C`` and the loss it reaches; ``ValueError`` when that
    is below one parameter or one token (no plan)."""
    C = float(C)
    N, D = law.optimum(np.array([C]))
    out = Allocation(C, float(N[0]), float(D[0]), float(law.loss(N, D)[0]), law.name)
    _check_run(f"the compute-optimal run at C = {C:.3g} FLOPs", out.N, out.D, out.loss)
    rows = law.sample_rows()
    if rows is not None and len(rows) >= MIN_SAMPLES:
        n, d = _optimum(rows, np.full(len(rows), C), law.flops_per_token)
        out.N_ci, out.D_ci, out.loss_ci = (_percentile(v) for v in (n, d, _loss(rows, n, d)))
        out.samples = len(rows)
    return out


def budget_for_loss(law: Law, target: float) -> Allocation:
    """The smallest budget whose compute-optimal run reaches ``target`` loss, with its (N, D) (a
    closed form: :func:`_optimum_at_loss`). The optimal loss falls monotonically towards E as C
    grows, so any target above E is reached at exactly one budget; at or below E, never. With
    bootstrap samples: intervals on C, N and D over the samples' own budgets for the target."""
    target = float(target)
    if not math.isfinite(target) or target <= law.E:
        raise ValueError(f"a target loss of {target} cannot be reached: the law's irreducible loss E is {law.E:.4g}")
    _, _, C = _optimum_at_loss(law.params_array(), target, law.flops_per_token)
    if not math.isfinite(float(C)):
        raise ValueError(f"a target loss of {target} needs a budget beyond 1e308 FLOPs (E = {law.E:.4g}): "
                         "not a meaningful plan")
    out = allocate(law, float(C))
    out.target = target
    rows = law.sample_rows()
    if rows is not None and len(rows) >= MIN_SAMPLES:
        n, d, c = _optimum_at_loss(rows, target, law.flops_per_token)
        out.C_ci, out.N_ci, out.D_ci = (_percentile(v) for v in (c, n, d))
        out.loss_ci = None  # the target, by construction
        out.samples, out.unreachable = len(rows), float(np.mean(~np.isfinite(c)))
    return out


# ----------------------------------------------------------------------------- inference-aware
@dataclass
class InferenceAware:
    """Sardana et al. 2024: the (N, D) reaching ``loss`` with the least ``6 N D + 2 N D_inf``,
    beside the Chinchilla-optimal run reaching the same loss. ``*_ci``: 95% intervals over the
    law's bootstrap samples (each sample's own optimum for the same quality: the same target
    loss, or, given a budget, its own compute-optimal loss at that budget); ``samples``: how
    many were used."""

    loss: float
    inference_tokens: float
    N: float
    D: float
    train_flops: float
    inference_flops: float
    chinchilla: Allocation
    chinchilla_total_flops: float
    N_ci: tuple[float, float] | None = None
    D_ci: tuple[float, float] | None = None
    train_flops_ci: tuple[float, float] | None = None
    total_flops_ci: tuple[float, float] | None = None
    saving_ci: tuple[float, float] | None = None
    samples: int = 0
    unreachable: float = 0.0

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


def _inference_optimum(p: np.ndarray, loss: Any, d_inf: float, k: float) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised over rows of ``p``: the (N, D) on the contour ``L(N, D) = loss`` minimising
    ``k N D + 2 N d_inf``. With u = A N^-alpha, v = B D^-beta = loss - E - u, the derivative of
    the total along the contour is k D (alpha u / (beta v) - 1) + 2 d_inf, which falls as N
    grows and is <= 0 at the Chinchilla optimum: bisection in log N between the contour's
    asymptote (v = 0) and the Chinchilla optimum. Rows whose loss is unreachable give inf."""
    p = np.atleast_2d(np.asarray(p, float))
    E, A, B, alpha, beta = p.T
    R = np.broadcast_to(np.asarray(loss, float), E.shape) - E
    n_c, d_c, _ = _optimum_at_loss(p, np.asarray(loss, float), k)
    ok = R > 0
    if d_inf == 0:
        return n_c, d_c
    Rs = np.where(ok, R, 1.0)
    lo = np.where(ok, np.log(A / Rs) / alpha, 0.0)  # log of the asymptote's N
    hi = np.where(ok, np.log(np.where(ok, n_c, 1.0)), 0.0)
    log_rhs = math.log(INFERENCE_FLOPS_PER_TOKEN * d_inf / k)

    def log_tokens(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u = A * np.exp(-alpha * x)
        v = Rs - u
        with np.errstate(divide="ignore", invalid="ignore"):
            return (np.log(B) - np.log(v)) / beta, u / v

    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            log_d, uv = log_tokens(mid)
            # derivative > 0 (N still below the optimum): alpha u / (beta v) - 1 > 2 d_inf / (k D)
            excess = alpha * uv / beta - 1.0
            up = (excess > 0) & (np.log(np.where(excess > 0, excess, 1.0)) > log_rhs - log_d)
            lo, hi = np.where(up, mid, lo), np.where(up, hi, mid)
        x = 0.5 * (lo + hi)
        log_d, _ = log_tokens(x)
        N, D = np.exp(x), np.exp(log_d)
    return np.where(ok, N, np.inf), np.where(ok, D, np.inf)


def inference_aware(law: Law, loss: float, inference_tokens: float, budget: float | None = None) -> InferenceAware:
    """Among the (N, D) with ``law.loss(N, D) == loss``, the one with the least training plus
    inference compute ``k N D + 2 N D_inf``. ``budget``: the plan's budget when ``loss`` is the
    optimal loss there (then each bootstrap sample targets its own optimal loss at that budget,
    for the intervals; otherwise each targets ``loss``)."""
    loss, d_inf = float(loss), float(inference_tokens)
    if not (math.isfinite(d_inf) and d_inf >= 0):
        raise ValueError(f"inference tokens must be a finite number >= 0, got {inference_tokens}")
    chin = budget_for_loss(law, loss)
    k = law.flops_per_token
    n, d = (float(v[0]) for v in _inference_optimum(law.params_array(), loss, d_inf, k))
    _check_run(f"the inference-aware run for loss {loss:.4g}", n, d)
    out = InferenceAware(loss, d_inf, n, d, k * n * d, INFERENCE_FLOPS_PER_TOKEN * n * d_inf, chin,
                         k * chin.N * chin.D + INFERENCE_FLOPS_PER_TOKEN * chin.N * d_inf)
    rows = law.sample_rows()
    if rows is not None and len(rows) >= MIN_SAMPLES:
        if budget is None:
            target = np.full(len(rows), loss)
        else:
            nb, db = _optimum(rows, np.full(len(rows), float(budget)), k)
            target = _loss(rows, nb, db)
        ns, ds = _inference_optimum(rows, target, d_inf, k)
        nc, dc, _ = _optimum_at_loss(rows, target, k)
        with np.errstate(invalid="ignore", over="ignore"):
            train = k * ns * ds
            total = train + INFERENCE_FLOPS_PER_TOKEN * ns * d_inf
            chin_total = k * nc * dc + INFERENCE_FLOPS_PER_TOKEN * nc * d_inf
            saving = np.where(np.isfinite(total), 1.0 - total / chin_total, np.nan)
        out.N_ci, out.D_ci, out.train_flops_ci, out.total_flops_ci, out.saving_ci = (
            _percentile(v) for v in (ns, ds, train, total, saving))
        out.samples, out.unreachable = len(rows), float(np.mean(~np.isfinite(ns)))
    return out


# ----------------------------------------------------------------------------- devices and time
# The utilisation a catalogued device gets when none is given (--mfu): model-FLOPs utilisation
# reported for large transformer training. Small models (the ladders here) reach less; measure
# yours and give it.
GPU_MFU, GPU_MFU_SOURCE = 0.4, (
    "stated default for NVIDIA GPUs: published large-model training runs report 38-43% BF16 MFU on H100s "
    "(Llama 3 405B, Dubey et al. 2024, Table 4) and 46% on TPU v4 (PaLM, Chowdhery et al. 2022); small "
    "models reach less")
APPLE_MFU, APPLE_MFU_SOURCE = 0.3, (
    "stated default for Apple GPUs: the research plan's assumption (no published MFU for training on "
    "Apple GPUs; PyTorch's MPS kernels reach a smaller share of peak than CUDA's), below the 40% of NVIDIA GPUs")


@dataclass(frozen=True)
class Device:
    """Peak dense FLOP/s of one accelerator by precision, from its maker's published figures, and
    the utilisation assumed when none is given or measured (``mfu``, with ``mfu_source``)."""

    name: str
    peak: dict[str, float]
    source: str
    mfu: float = GPU_MFU
    mfu_source: str = GPU_MFU_SOURCE

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
    return Device(name, {d: tflops * T for d in ("fp32", "bf16", "fp16")}, f"Apple {announcement} announcement (GPU FP32)",
                  APPLE_MFU, APPLE_MFU_SOURCE)


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
    """A model-FLOPs utilisation and where it came from (``kind``: "given", "measured" or
    "default"); with the measured roof when measured."""

    mfu: float
    source: str
    roof_flops: float | None = None
    kind: str = "measured"


def default_utilisation(dev: Device) -> Utilisation:
    """The catalogued device's stated default utilisation (``Device.mfu``) and its reason."""
    return Utilisation(dev.mfu, dev.mfu_source, None, "default")


def utilisation(dev: Device | None, mfu: float | None = None,
                benchmark_dir: str | Path = ".benchmarks") -> Utilisation:
    """The utilisation a plan uses: ``mfu`` when given; for a catalogued device, its stated
    default (the saved throughput benchmark measures this machine's CPU on one thread, which is
    none of the catalogued accelerators); for a peak given by number (no ``dev``), this machine's
    measured one (:func:`measured_utilisation`; ``ValueError`` when none was saved)."""
    if mfu is not None:
        if not 0 < mfu <= 1:
            raise ValueError(f"utilisation (MFU) must be in (0, 1], got {mfu}")
        return Utilisation(float(mfu), "given", None, "given")
    if dev is not None:
        return default_utilisation(dev)
    return measured_utilisation(benchmark_dir)


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
                               f"decoder steps >= {min_params:,} parameters, one CPU thread)", roof, "measured")
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
    planned: float | None = None  # the log-spaced size this rung stands for, when N was snapped to a realisable one

    @property
    def tokens_per_param(self) -> float:
        return self.D / self.N

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "tokens_per_param": self.tokens_per_param}


@dataclass
class Ladder:
    rungs: list[Rung]
    seconds: float
    budget_seconds: float
    sizes: list[float]
    notes: list[str]
    planned: list[float] | None = None  # the log-spaced targets of ``sizes``, when snapped

    def to_dict(self) -> dict[str, Any]:
        return {"rungs": [r.to_dict() for r in self.rungs], "seconds": self.seconds,
                "budget_seconds": self.budget_seconds, "sizes": self.sizes, "planned": self.planned,
                "notes": self.notes}


def optimal_tokens(law: Law, N: float) -> float:
    """D such that N is the compute-optimal size for the budget k N D."""
    # N_opt(C) = G (C/k)^a, so G = N_opt(k); then C = k (N / G)^(1/a) and D = C / (k N)
    G = float(law.optimum(np.array([law.flops_per_token]))[0][0])
    return (N / G) ** (1.0 / law.a) / N


def _nearest(cands: np.ndarray, target: float) -> int:
    return int(np.argmin(np.abs(np.log(cands / target))))


def pick_sizes(cands: Sequence[float], n_min: float, top: float, n_sizes: int) -> tuple[list[float], list[float]]:
    """``n_sizes`` distinct sizes among the sorted ``cands``, as near (in log) as they can be to
    ``n_sizes`` log-spaced targets from the candidate nearest ``n_min`` to the one nearest
    ``top``: (sizes, targets). Each target takes the nearest candidate above the previous pick
    that still leaves room for the rest, so no two targets share a size."""
    c = np.asarray(cands, float)
    lo, hi = _nearest(c, n_min), _nearest(c, top)
    n = int(n_sizes)
    if hi - lo + 1 < n:
        raise ValueError(f"{hi - lo + 1} realisable size(s) between {n_min:.3g} and {top:.3g}, fewer than {n}")
    targets = np.geomspace(c[lo], c[hi], n)
    picks, prev = [], lo - 1
    for i, t in enumerate(targets):
        first, last = prev + 1, hi - (n - 1 - i)
        j = min(max(_nearest(c, float(t)), first), last)
        picks.append(j)
        prev = j
    return [float(c[j]) for j in picks], [float(t) for t in targets]


def design_ladder(law: Law, n_min: float, n_max: float, seconds: float, peak_flops: float, mfu: float,
                  n_sizes: int = 5, ratios: Sequence[float] = (0.5, 1.0, 2.0), flops_per_token: float | None = None,
                  realisable: Sequence[float] | None = None, family: str = "",
                  flops_of: Callable[[float, float], float] | None = None) -> Ladder:
    """The plan's stratified design: ``n_sizes`` log-spaced sizes from ``n_min`` up to at most
    ``n_max``, each trained at ``ratios`` times its compute-optimal token count under ``law``
    (an IsoFLOP-like spread that Approaches 1-3 can all use), with the largest size lowered until
    the whole ladder fits ``seconds`` at ``peak_flops * mfu``. ``flops_per_token``: FLOPs per
    parameter per token (default the law's k, 6). ``flops_of(N, D)``: the training FLOPs of a
    rung instead of ``flops_per_token * N * D`` (a family's own count, which the time follows).

    ``realisable``: the sizes a model family can take (``family`` names them in messages). Then
    every size is one of them, no two alike: the range snaps to the candidates nearest ``n_min``
    and ``n_max``, each log-spaced target takes the nearest free candidate (its target is kept
    as ``Rung.planned``), the token counts follow the realised sizes, and the largest size steps
    down through the candidates until the ladder fits. Fewer than 3 candidates in the range is a
    ``ValueError``; fewer than ``n_sizes``, a ladder of all of them (with a note)."""
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

    def rungs_at(sizes: Sequence[float], targets: Sequence[float] | None = None) -> list[Rung]:
        out = []
        for i, n in enumerate(sizes):
            d_opt = optimal_tokens(law, float(n))
            for r in ratios:
                d = r * d_opt
                c = k * n * d if flops_of is None else float(flops_of(float(n), float(d)))
                out.append(Rung(float(n), float(d), c, c / speed, float(r),
                                None if targets is None else float(targets[i])))
        return out

    def rungs(top: float) -> list[Rung]:
        return rungs_at(np.geomspace(n_min, top, int(n_sizes)))

    notes = [f"compute-optimal tokens per size from {law.name} ({law.convention or 'its own convention'})"]
    total = lambda rs: sum(r.seconds for r in rs)  # noqa: E731
    if realisable is not None:
        return _design_realisable(law, n_min, n_max, seconds, int(n_sizes), realisable, family, rungs_at, total,
                                  notes)
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


def _design_realisable(law: Law, n_min: float, n_max: float, seconds: float, n_sizes: int,
                       realisable: Sequence[float], family: str, rungs_at: Any, total: Any,
                       notes: list[str]) -> Ladder:
    """:func:`design_ladder` on the sizes a family can realise (see there)."""
    c = np.unique(np.asarray([float(v) for v in realisable if v > 0 and math.isfinite(v)]))
    what = family or "the realisable sizes"
    if c.size < 3:
        raise ValueError(f"{what}: fewer than 3 distinct sizes to build a ladder from")
    lo, hi = _nearest(c, n_min), _nearest(c, n_max)
    if hi - lo + 1 < 3:
        shown = ", ".join(f"{v:.4g}" for v in c[lo:hi + 1])
        raise ValueError(f"the range {n_min:.3g} to {n_max:.3g} holds {hi - lo + 1} distinct size(s) of {what} "
                         f"({shown}): a ladder needs 3; widen the range (or change the depth)")
    if n_max > c[-1] * 1.5:
        notes.append(f"largest size capped at {c[-1]:.4g}, the largest of {what}")
    if n_min < c[0] / 1.5:
        notes.append(f"smallest size raised to {c[0]:.4g}, the smallest of {what}")
    if hi - lo + 1 < n_sizes:
        notes.append(f"{hi - lo + 1} sizes, not {n_sizes}: the range holds only {hi - lo + 1} distinct sizes of {what}")
        n_sizes = hi - lo + 1
    for top in range(hi, lo + 1, -1):  # the largest size steps down until the ladder fits
        n = min(n_sizes, top - lo + 1)
        sizes, targets = pick_sizes(c, c[lo], c[top], n)
        rs = rungs_at(sizes, targets)
        if total(rs) <= seconds:
            if top < hi:
                notes.append(f"largest size lowered from {c[hi]:.4g} to {c[top]:.4g} to fit the time budget"
                             + (f" ({n} sizes)" if n < n_sizes else ""))
            return Ladder(rs, total(rs), float(seconds), sizes, notes, targets)
    sizes, targets = pick_sizes(c, c[lo], c[lo + 2], 3)
    need = total(rungs_at(sizes, targets))
    raise ValueError(f"even the smallest 3-size ladder ({', '.join(f'{v:.4g}' for v in sizes)}) needs "
                     f"{need / 3600:.3g} h, more than the {seconds / 3600:.3g} h budget")
