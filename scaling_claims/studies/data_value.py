"""What training data is worth: the runs and the effective-data reading shared by the data claims
(repeated data, claims/test_data_repetition.py; data quality, claims/test_data_quality.py;
docs/sources.md, 'Repeated data' and 'Data quality').

Runs. One recipe for every run of both files, so that identical specs are one cached run (the
clean single-epoch runs serve both): :func:`domain_run` trains the ladders' decoder
(``ladders.gpt``, byte-level, context 64, batch 16, AdamW, warmup then cosine, the width's
learning rate; ``ladders.stdlib_run``) on the ``domain`` task's ``code`` corpus (the standard
library's source), for ``tokens`` tokens, with

- every window fresh: the whole training split (11.6 MB; a run of <= 1M tokens draws its windows
  from it at random offsets, so it sees unique data): a *clean single-epoch* run;
- ``train_bytes=U``: only the first U bytes, repeated ``tokens / U`` times in expectation
  (windows are drawn at random offsets, not in passes: "E epochs" is D/U passes on average);
- ``corrupt_frac=q``: documents holding a fraction q of the training bytes corrupted
  (``corruption`` "random": every byte replaced by a uniformly random one; "shuffle": the
  document's bytes permuted); the held-out split is never corrupted.

The loss is the held-out loss on the code domain's held-out files (the same windows for every
run).

Effective data. :func:`effective_data` inverts a clean curve L(D) (single-epoch runs at several
D, each with its own schedule) at another run's loss: the number of clean, unique tokens that
would have reached that loss with this model and recipe. This is Muennighoff et al.'s D' read
off the measured curve instead of a fitted law: like theirs (and Kaplan's L(D)), a clean run with
fewer tokens also takes fewer optimiser steps, so "worth" counts what a run's steps buy too.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from scaling_claims.studies import ladders
from scaling_claims.verdicts.estimates import Estimate, paired_difference
from scaling_claims.engine.specs import Budget, DataSpec, RunSpec

DOMAIN = "code"
WIDTH = 32  # d_model; depth 2, 2 heads of 16, context 64, tied embeddings (ladders.gpt)
TAG = "data-value"
# The base law of the data-constrained fit is a power law with an offset, fitted on the clean runs
# of at least D / 8 tokens: below that (16 steps at the quick D) a run barely leaves its initial
# loss, and the curve bends over to a plateau no power law describes (the pilot's D/64..D curve got
# an offset of 0).
LAW_MAX_DIVISOR = 8


def model():
    """The decoder of every data-claim run: ``ladders.gpt(WIDTH)``."""
    return ladders.gpt(WIDTH)


def tokens_per_step() -> int:
    return ladders.BATCH * ladders.CTX


def domain_run(tokens: int, seed: int, device: str = "cpu", train_bytes: int | None = None,
               corrupt_frac: float = 0.0, corruption: str = "random") -> RunSpec:
    """A run of :func:`model` on the code domain for ``tokens`` tokens (see the module docstring).
    ``seed`` seeds the initialisation, the window order and which documents are corrupted."""
    if not (isinstance(tokens, (int, np.integer)) and tokens >= tokens_per_step()):
        raise ValueError(f"tokens must be an integer >= one step ({tokens_per_step()}), got {tokens!r}")
    options: dict = {"domain": DOMAIN, "seq_len": ladders.CTX}
    if train_bytes is not None:
        options["train_bytes"] = int(train_bytes)
    if corrupt_frac:
        options.update(corrupt_frac=float(corrupt_frac), corruption=corruption)
    base = ladders.stdlib_run(model(), Budget(tokens=int(tokens)), seed, device, TAG)
    return dataclasses.replace(base, data=DataSpec.make("domain", seed=seed, **options))


def clean_runs(tokens: Sequence[int], seeds: Sequence[int], device: str = "cpu") -> list[RunSpec]:
    """Clean single-epoch runs at each of ``tokens`` (outer) for each seed (inner)."""
    return [domain_run(int(d), s, device) for d in tokens for s in seeds]


@dataclass(frozen=True)
class Inverted:
    """Effective data read off a clean curve: ``tokens`` (D_eff) and ``extrapolated`` (the loss
    lay outside the clean curve's range, so D_eff continues its nearest segment's slope)."""

    tokens: float
    extrapolated: bool


def effective_data(D: Sequence[float], L: Sequence[float], loss: float) -> Inverted:
    """The tokens of clean, unique data that reach ``loss`` on the clean curve ``(D, L)``:
    piecewise linear in (log D, L), continued along the end segment's slope outside the measured
    range (flagged). ``ValueError`` unless D has >= 2 distinct positive points and L falls strictly
    as D grows (a curve that does not fall cannot be inverted)."""
    d, y = np.asarray(D, float), np.asarray(L, float)
    if d.shape != y.shape or d.ndim != 1 or d.size < 2:
        raise ValueError(f"the clean curve needs >= 2 points of (D, L) of one length, got {d.shape} and {y.shape}")
    if not (np.all(np.isfinite(d)) and np.all(np.isfinite(y)) and np.all(d > 0)) or not math.isfinite(loss):
        raise ValueError("the clean curve and the loss must be finite, with D > 0")
    order = np.argsort(d)
    d, y = d[order], y[order]
    if np.any(np.diff(d) <= 0):
        raise ValueError(f"the clean curve's D must be distinct, got {d.tolist()}")
    if np.any(np.diff(y) >= 0):
        raise ValueError(f"the clean curve must fall strictly as D grows to be inverted, got L = "
                         f"{np.round(y, 4).tolist()}")
    x = np.log(d)
    # y falls with x: find the segment whose loss range holds ``loss`` (or the end segment)
    if loss > y[0]:
        i, out = 0, True
    elif loss < y[-1]:
        i, out = d.size - 2, True
    else:
        i, out = min(int(np.searchsorted(-y, -loss, side="right")) - 1, d.size - 2), False
        i = max(i, 0)
    t = (loss - y[i]) / (y[i + 1] - y[i])
    return Inverted(float(math.exp(x[i] + t * (x[i + 1] - x[i]))), out)


def repeated_value(d_eff: float, D: float, U: float) -> float:
    """The average worth of a repeated token relative to a fresh one, (D' - U) / (D - U): 1 when
    repeating was as good as new data, 0 when the repeats added nothing to one pass over U
    (Muennighoff et al.'s "average" value of repeated tokens; negative when they did harm)."""
    if not (D > U > 0):
        raise ValueError(f"repeated data needs D > U > 0, got D={D}, U={U}")
    return (d_eff - U) / (D - U)


def corrupted_worth(d_eff: float, D: float, q: float) -> float:
    """A corrupted run's effective data over its clean share, D_eff / ((1 - q) D): 1 when the
    corrupted documents were simply lost, > 1 when they still helped, < 1 when they did harm."""
    if not (0 <= q < 1 and D > 0):
        raise ValueError(f"need 0 <= q < 1 and D > 0, got q={q}, D={D}")
    return d_eff / ((1 - q) * D)


# ----------------------------------------------------------------------------- plans

@dataclass(frozen=True)
class DataPlan:
    """What the data claims train at one scale (:func:`data_plan`). Every full-budget run sees
    D = ``steps`` x 1,024 tokens."""

    level: str
    seeds: tuple[int, ...]
    steps: int
    clean_divisors: tuple[int, ...]  # clean single-epoch runs at D / k (k = 1 is the unique-data run at D)
    epochs: tuple[int, ...]  # repeated runs at D on U = D / E bytes
    corrupt_fracs: tuple[float, ...]  # corrupted runs at D (q = 0 is the clean run at D)

    @property
    def tokens(self) -> int:
        return self.steps * tokens_per_step()

    @property
    def clean_tokens(self) -> np.ndarray:
        """The clean curve's D, ascending."""
        return np.array(sorted(self.tokens // k for k in self.clean_divisors), dtype=float)

    def unique_bytes(self, epochs: int) -> int:
        return self.tokens // epochs

    def clean_specs(self, device: str = "cpu") -> list[RunSpec]:
        """The clean curve, ascending D (outer) by seed (inner)."""
        return clean_runs([int(d) for d in self.clean_tokens], self.seeds, device)

    def repeated_specs(self, device: str = "cpu") -> list[RunSpec]:
        return [domain_run(self.tokens, s, device, train_bytes=self.unique_bytes(e)) for e in self.epochs
                for s in self.seeds]

    def corrupted_specs(self, corruption: str, device: str = "cpu") -> list[RunSpec]:
        return [domain_run(self.tokens, s, device, corrupt_frac=q, corruption=corruption) for q in self.corrupt_fracs
                for s in self.seeds]

    @property
    def law_mask(self) -> np.ndarray:
        """The clean points the base law L(D) is fitted on: D >= D_full / ``LAW_MAX_DIVISOR``."""
        return self.clean_tokens >= self.tokens / LAW_MAX_DIVISOR

    @property
    def budget(self) -> str:
        return (f"D = {self.tokens:,} tokens ({self.steps} steps of 16 x 64 bytes) per full run; clean curve at D / "
                f"{list(self.clean_divisors)}; seeds {list(self.seeds)}")


def data_plan(level: str = "quick") -> DataPlan:
    """The runs at ``level`` "quick" or "slow" (the history of these choices is in the claim
    files' docstrings and docs/claims-data.md).

    quick: D = 131,072 tokens (128 steps), 3 seeds; the clean curve at D/8..D; repeated data at
    4, 16 and 64 epochs; corruption q = 0.25, 0.5 of each kind. About 27 runs of <= 128 steps.
    slow: D = 524,288 tokens (512 steps), 8 seeds; the clean curve at D/32..D; 1 (the first D
    bytes, one pass in expectation), 2, 4, 8, 16, 32, 64 epochs; q = 0.1, 0.25, 0.5, 0.75.
    """
    if level == "quick":
        return DataPlan("quick", (10, 11, 12), 128, (1, 2, 4, 8), (4, 16, 64), (0.25, 0.5))
    if level == "slow":
        return DataPlan("slow", tuple(range(20, 28)), 512, (1, 2, 4, 8, 16, 32), (1, 2, 4, 8, 16, 32, 64),
                        (0.1, 0.25, 0.5, 0.75))
    raise ValueError(f"level must be 'quick' or 'slow', got {level!r}")


def repetition_plan(level: str = "quick") -> DataPlan:
    """The repeated-data claims' runs: :func:`data_plan`'s at "quick"; at "slow" D = 4,194,304
    tokens (4,096 steps), 8 fresh seeds (30-37), the clean curve at D/32..D and 1..64 epochs.

    Why slow differs from the quality claims' plan: at 512 steps the clean curve over D/8..D
    (64-512 steps) still steepens (seed means 2.93, 2.74, 2.49, 2.26 nats/byte: 0.18, then 0.25
    and 0.23 per doubling of D), so its power law wants a negative floor and R_D* had no base law
    on any of the 8 seeds of the first slow run (20-27). A pilot on seeds 0-1 (which decide
    nothing) found the curve bending towards a floor only past ~1,000 steps (seed 0: 0.28 nats
    per doubling up to 1,024 steps, then 0.21 and 0.14); over 512-4,096 steps its law has a
    positive floor on both seeds (1.24 and 0.98 nats/byte). About 37,000 steps per seed.
    """
    if level == "quick":
        return data_plan("quick")
    if level == "slow":
        return DataPlan("slow", tuple(range(30, 38)), 4096, (1, 2, 4, 8, 16, 32), (1, 2, 4, 8, 16, 32, 64), ())
    raise ValueError(f"level must be 'quick' or 'slow', got {level!r}")


# ----------------------------------------------------------------------------- estimates over seeds

def final_losses(results: Sequence[Any], n_seeds: int) -> np.ndarray:
    """Final held-out losses of runs listed point by point, ``n_seeds`` per point, as a
    (points, seeds) array."""
    return np.array([r.final_eval_loss for r in results], float).reshape(-1, n_seeds)


def _losses(a, what: str, n_seeds: int | None = None) -> np.ndarray:
    v = np.asarray(a, float)
    if v.ndim != 1 or v.size < 2 or not np.all(np.isfinite(v)) or np.any(v <= 0):
        raise ValueError(f"{what} must be >= 2 finite positive losses (one per seed), got {np.asarray(a).tolist()}")
    if n_seeds is not None and v.size != n_seeds:
        raise ValueError(f"{what} has {v.size} seeds, expected {n_seeds}")
    return v


def _clean(D, L_clean) -> tuple[np.ndarray, np.ndarray]:
    d = np.asarray(D, float)
    c = np.asarray(L_clean, float)
    if c.ndim != 2 or c.shape[0] != d.size:
        raise ValueError(f"the clean losses must be (len(D), seeds) = ({d.size}, seeds), got {c.shape}")
    return d, c


def relative_penalty(L: Sequence[float], L_unique: Sequence[float]) -> Estimate:
    """(L - L_unique) / L_unique, per seed (the same seed trained both), mean over seeds with its
    Student-t interval: how much higher a run's loss is than the unique-data run's."""
    a = _losses(L, "the losses")
    b = _losses(L_unique, "the unique-data losses", a.size)
    est = Estimate.mean_t((a - b) / b, what="seeds (paired relative penalty)")
    return est


def paired_steps(L_by_x: Sequence[Sequence[float]]) -> list[Estimate]:
    """Each step's change of loss along a sweep (x[i] -> x[i+1]), paired over seeds."""
    rows = [_losses(r, f"losses at sweep point {i}") for i, r in enumerate(L_by_x)]
    if len(rows) < 2 or len({r.size for r in rows}) != 1:
        raise ValueError("paired_steps needs >= 2 sweep points with the same seeds")
    return [paired_difference(b, a, what="seeds") for a, b in zip(rows[:-1], rows[1:])]


def effective_per_seed(D, L_clean, L: Sequence[float]) -> tuple[np.ndarray, int]:
    """Each seed's effective data (its own clean curve inverted at its own loss) and how many of
    them needed extrapolation beyond the clean curve."""
    d, c = _clean(D, L_clean)
    a = _losses(L, "the losses", c.shape[1])
    inv = [effective_data(d, c[:, s], a[s]) for s in range(a.size)]
    return np.array([i.tokens for i in inv]), sum(i.extrapolated for i in inv)


def repeated_value_estimate(D_clean, L_clean, L_repeated: Sequence[float], D: float, U: float) -> Estimate:
    """The average worth of a repeated token, (D' - U) / (D - U) (:func:`repeated_value`), per
    seed, mean over seeds with its Student-t interval."""
    d_eff, n_out = effective_per_seed(D_clean, L_clean, L_repeated)
    est = Estimate.mean_t([repeated_value(x, D, U) for x in d_eff], what="seeds")
    return _noted(est, n_out)


def corrupted_worth_estimate(D_clean, L_clean, L_corrupted: Sequence[float], D: float, q: float) -> Estimate:
    """D_eff / ((1 - q) D) (:func:`corrupted_worth`) per seed; the geometric mean over seeds with
    the Student-t interval of the mean log (a ratio)."""
    d_eff, n_out = effective_per_seed(D_clean, L_clean, L_corrupted)
    est = Estimate.mean_t(np.log([corrupted_worth(x, D, q) for x in d_eff]), what="seeds (log worth)")
    return _noted(est.transform(math.exp, what="geometric mean of D_eff / ((1 - q) D)"), n_out)


def _noted(est: Estimate, n_out: int) -> Estimate:
    if not n_out:
        return est
    return Estimate(est.value, est.lo, est.hi, est.level,
                    f"{est.method}; {n_out} seed(s) beyond the clean curve's range (its end segment continued)")


# ----------------------------------------------------------------------------- the data-constrained law

PAPER_RD_STAR = 15.4  # Muennighoff et al. 2023, the fitted R_D* (C4; their repository: 15.387756)


def base_law(D_clean, L_clean_one_seed, n_params: float) -> dict[str, float]:
    """The single-epoch law L(D) = c + b D**-beta of one seed's clean curve (``fit_power_law`` with
    an offset) as the data-constrained fitter's base (E, A, B, alpha, beta) at one model size:
    the parameter term A / N**alpha is a constant there, so c is split evenly between E and it
    (any split gives the same predictions when R_N* = inf)."""
    from scaling_claims.fit import fit_power_law

    fit = fit_power_law(D_clean, L_clean_one_seed, offset=True)
    c, b, beta = fit.params["offset"], fit.params["coef"], fit.params["exponent"]
    if not (c > 1e-3 * float(np.min(L_clean_one_seed)) and b > 0 and beta > 0):
        raise ValueError(f"the clean curve's law L = {c:.4g} + {b:.4g} D^-{beta:.4g} is not a decreasing law with a "
                         "positive floor: no base law for the data-constrained fit (fit it on the power-law part of "
                         "the curve)")
    return {"E": c / 2, "A": c / 2 * n_params ** beta, "B": b, "alpha": beta, "beta": beta}


@dataclass(frozen=True)
class RDStar:
    """R_D* per seed (fitted on that seed's clean and repeated runs), their geometric mean with
    the Student-t interval of the mean log, and the fits."""

    per_seed: np.ndarray
    estimate: Estimate
    fits: tuple


def fit_rd_star(D_clean, L_clean, D: float, U: Sequence[float], L_repeated, n_params: float) -> RDStar:
    """Muennighoff et al.'s decay constant R_D* of our runs, seed by seed: the base law from the
    seed's clean curve (:func:`base_law`), then ``fit_data_constrained`` (``scaling_claims.fit
    .data_constrained``) with that base held fixed and R_N* = inf (one model size: no excess
    parameters to discount) on the seed's clean runs (U = D: one epoch) and repeated runs (D tokens
    from U[i] unique). ``L_repeated``: (len(U), seeds). A seed whose R_D* ends at the search bound
    makes the estimate unusable (its problem says so)."""
    from scaling_claims.fit.data_constrained import fit_data_constrained

    d, c = _clean(D_clean, L_clean)
    r = np.asarray(L_repeated, float)
    u = np.asarray(U, float)
    if r.shape != (u.size, c.shape[1]):
        raise ValueError(f"L_repeated must be (len(U), seeds) = ({u.size}, {c.shape[1]}), got {r.shape}")
    values, fits, problems = [], [], []
    for s in range(c.shape[1]):
        base = base_law(d, c[:, s], n_params)
        DD = np.r_[d, np.full(u.size, float(D))]
        fit = fit_data_constrained(np.full(DD.size, float(n_params)), DD, np.r_[d, u], np.r_[c[:, s], r[:, s]],
                                   base=base, rn_star=math.inf, n_boot=0)
        values.append(fit.params["R_D_star"])
        fits.append(fit)
        if fit.flags.get("R_D_star"):
            problems.append(f"seed {s}: {fit.flags['R_D_star']}")
    values = np.array(values)
    est = Estimate.mean_t(np.log(values), what="seeds (log R_D*)").transform(math.exp, what="geometric mean R_D*")
    if problems:
        est = Estimate(est.value, math.nan, math.nan, est.level, est.method, "; ".join(problems))
    return RDStar(values, est, tuple(fits))


def implied_rd_star(value: float, epochs: float) -> float:
    """The R_D* under which repeated tokens at ``epochs`` are worth ``value`` on average (the
    "average" value R* (1 - exp(-R/R*)) / R, R = epochs - 1, solved for R*): what one repeated run
    alone says. inf for value >= 1; ``ValueError`` for value <= 0 (no positive R* fits)."""
    R = epochs - 1.0
    if R <= 0:
        raise ValueError(f"epochs must be > 1, got {epochs}")
    if value >= 1:
        return math.inf
    if value <= 0:
        raise ValueError(f"an average value <= 0 ({value:.3g}) has no decay constant")
    from scipy.optimize import brentq

    g = lambda r: r * -math.expm1(-R / r) / R - value  # noqa: E731  (increasing in r, 0 -> 1)
    lo, hi = 1e-6, 1.0
    while g(hi) < 0:
        hi *= 2
    return float(brentq(g, lo, hi, xtol=1e-10, rtol=1e-12))


def paper_repetition_penalties(runs, min_epochs: float = 1.0, max_epochs: float = 4.0, diverged: float = 7.0):
    """The relative loss penalties of Muennighoff et al.'s repeated runs against their unique-data
    run of the same N and D (their datablations runs, ``tests/reference-data/
    datablations_contour_losses_colpret.csv``: columns ``num_params``, ``token_num``, ``epochs``,
    ``openLM_loss``), for min_epochs < epochs <= max_epochs; runs with loss > ``diverged`` left out.
    Returns a DataFrame with N, D, epochs, loss, unique_loss and penalty."""
    import pandas as pd

    need = {"num_params", "token_num", "epochs", "openLM_loss"}
    if not need <= set(runs.columns):
        raise ValueError(f"the runs need columns {sorted(need)}, got {sorted(runs.columns)}")
    ok = runs[runs.openLM_loss < diverged]
    rows = []
    for (n, d), group in ok.groupby(["num_params", "token_num"]):
        single = group[np.isclose(group.epochs, 1.0)]
        if single.empty:
            continue
        unique = float(single.openLM_loss.min())
        for _, r in group[(group.epochs > min_epochs + 1e-9) & (group.epochs <= max_epochs + 1e-9)].iterrows():
            rows.append({"N": n, "D": d, "epochs": r.epochs, "loss": r.openLM_loss, "unique_loss": unique,
                         "penalty": (r.openLM_loss - unique) / unique})
    return pd.DataFrame(rows, columns=["N", "D", "epochs", "loss", "unique_loss", "penalty"])
