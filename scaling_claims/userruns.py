"""Your own runs: read a CSV of (N, D or C, loss), check it, and fit everything the
``scaling-claims fit`` command reports.

- :func:`read_runs`: columns found by name (yours, or the usual ones: ``N``/``params``,
  ``D``/``tokens``, ``C``/``flops``, ``loss``); D from C = k N D when only C is given; bad input
  is a ``ValueError`` naming the column and the rows (their line numbers in the file).
- :func:`fit_runs`: the Chinchilla law (``fit_chinchilla``: Huber by default, tied exponents or
  the asymmetric lower-bound objective on request) with a bootstrap over runs; IsoFLOP
  Approaches 1 and 2 where the runs form IsoFLOP groups (>= 2 budgets with >= 3 sizes each,
  budgets equal to 3 significant digits); a leave-largest-out check with its trust grade; and
  the rollout check (refit on the k smallest sizes, predict the next).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scaling_claims.fit import fit_chinchilla, fit_isoflop_approach1, fit_isoflop_approach2, leave_largest_out, rollout
from scaling_claims.plan import Law

COLUMN_GUESSES = {
    "N": ("N", "params", "n_params", "num_params", "parameters", "model_size"),
    "D": ("D", "tokens", "n_tokens", "token_num", "train_tokens"),
    "C": ("C", "flops", "compute", "training_flops"),
    "loss": ("loss", "final_loss", "eval_loss", "val_loss", "validation_loss"),
}
MIN_RUNS = 5  # the law has 5 parameters


def _pick(frame: pd.DataFrame, given: str | None, role: str, required: bool) -> str | None:
    if given is not None:
        if given not in frame.columns:
            raise ValueError(f"no column {given!r} for {role} in the CSV (columns: {', '.join(map(str, frame.columns))})")
        return given
    lower = {str(c).lower(): c for c in frame.columns}
    for name in COLUMN_GUESSES[role]:
        if name.lower() in lower:
            return lower[name.lower()]
    if required:
        raise ValueError(f"no column for {role} (looked for {', '.join(COLUMN_GUESSES[role])}; columns: "
                         f"{', '.join(map(str, frame.columns))}): name it with --{role.lower()}-col")
    return None


def _numbers(frame: pd.DataFrame, column: str, what: str) -> np.ndarray:
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values) | (values <= 0))
    if bad.size:
        shown = ", ".join(f"row {i + 1} (line {i + 2}): {str(frame[column].iloc[i])!r}" for i in bad[:5])
        more = f" and {bad.size - 5} more" if bad.size > 5 else ""
        raise ValueError(f"column {column!r} ({what}) must hold finite numbers > 0; bad values at {shown}{more}")
    return values


def read_runs(path: str | Path, n_col: str | None = None, d_col: str | None = None, c_col: str | None = None,
              loss_col: str | None = None, flops_per_token: float = 6.0) -> tuple[pd.DataFrame, dict[str, str]]:
    """(runs with columns N, D, C, loss; the CSV columns used for each). D is C / (k N) when only
    C is given; C is k N D when only D is. Raises ``ValueError`` naming what is wrong."""
    try:
        frame = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise ValueError(f"cannot read {path} as CSV: {err}") from None
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path} is empty") from None
    cols = {"N": _pick(frame, n_col, "N", True), "loss": _pick(frame, loss_col, "loss", True),
            "D": _pick(frame, d_col, "D", False), "C": _pick(frame, c_col, "C", False)}
    if cols["D"] is None and cols["C"] is None:
        raise ValueError(f"the CSV needs tokens D or compute C (columns: {', '.join(map(str, frame.columns))}): "
                         "name one with --d-col or --c-col")
    if len(frame) < MIN_RUNS:
        raise ValueError(f"{len(frame)} run(s) in {path}: the Chinchilla law has 5 parameters, give at least {MIN_RUNS}")
    N = _numbers(frame, cols["N"], "parameters")
    L = _numbers(frame, cols["loss"], "loss")
    if cols["D"] is not None:
        D = _numbers(frame, cols["D"], "tokens")
        C = _numbers(frame, cols["C"], "FLOPs") if cols["C"] is not None else flops_per_token * N * D
    else:
        C = _numbers(frame, cols["C"], "FLOPs")
        D = C / (flops_per_token * N)
    runs = pd.DataFrame({"N": N, "D": D, "C": C, "loss": L})
    if np.ptp(np.log(N)) == 0 or np.ptp(np.log(D)) == 0:
        raise ValueError("the runs need more than one model size and more than one token count to fit L(N, D)")
    return runs, {k: v for k, v in cols.items() if v is not None}


def isoflop_groups(runs: pd.DataFrame, min_sizes: int = 3) -> pd.Series | None:
    """The budget each run belongs to (C to 3 significant digits) when >= 2 budgets have >=
    ``min_sizes`` distinct sizes each, else None."""
    key = runs.C.map(lambda c: float(f"{c:.2e}"))
    sizes = runs.groupby(key).N.nunique()
    good = sizes[sizes >= min_sizes].index
    if len(good) < 2:
        return None
    return key.where(key.isin(good))


@dataclass
class RunsFit:
    """Everything ``scaling-claims fit`` reports; ``law`` carries the bootstrap samples."""

    runs: pd.DataFrame
    columns: dict[str, str]
    fit: Any
    boot: Any
    law: Law
    isoflop: dict[str, Any] = field(default_factory=dict)
    leave_largest_out: Any = None
    rollout: Any = None
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        p, ci = self.fit.params, self.boot.ci
        out = {"runs": len(self.runs), "columns": self.columns, "method": self.fit.info.get("method"),
               "params": {k: {"value": p[k], "ci": list(ci[k])} for k in ("E", "A", "B", "alpha", "beta")},
               "a": {"value": self.fit.a, "ci": list(ci["a"])}, "bootstrap": {"n": self.boot.n, "seed": self.boot.seed},
               "flags": self.fit.flags, "notes": self.notes}
        if self.isoflop:
            out["isoflop"] = {k: (v.to_dict() if hasattr(v, "to_dict") else v) for k, v in self.isoflop.items()}
        if self.leave_largest_out is not None:
            out["leave_largest_out"] = self.leave_largest_out.to_dict()
        if self.rollout is not None:
            out["rollout"] = self.rollout.to_dict()
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"law": self.law.to_dict(), "summary": self.summary(), "fit": self.fit.to_dict()}


def fit_runs(runs: pd.DataFrame, method: str = "huber", tie_exponents: bool = False, asymmetry: float = 10.0,
             n_boot: int = 1000, seed: int = 0, flops_per_token: float = 6.0, name: str = "fit",
             columns: dict[str, str] | None = None, convention: str = "") -> RunsFit:
    """Fit the Chinchilla law to ``runs`` (columns N, D, C, loss) and run every check."""
    kwargs: dict[str, Any] = {"method": method, "flops_per_token_factor": flops_per_token}
    if tie_exponents:
        kwargs["tie_exponents"] = True
    if method == "asymmetric":
        kwargs["asymmetry"] = asymmetry
    N, D, L = runs.N.to_numpy(), runs.D.to_numpy(), runs.loss.to_numpy()
    fit = fit_chinchilla(N, D, L, **kwargs)
    boot = fit.bootstrap(n=n_boot, seed=seed)
    law = Law.from_fit(fit, name=name, source=f"fitted by scaling-claims ({method}"
                       + (", tied exponents" if tie_exponents else "") + f") to {len(runs)} runs",
                       convention=convention, bootstrap=boot)
    out = RunsFit(runs, columns or {}, fit, boot, law)
    if fit.flags:
        out.notes.append("the fit's own intervals are flagged (" + "; ".join(fit.flags.values())
                         + "): the bootstrap intervals are the ones reported")
    groups = isoflop_groups(runs)
    if groups is None:
        out.notes.append("no IsoFLOP groups (>= 2 budgets with >= 3 sizes each): Approaches 1 and 2 skipped")
    else:
        g = runs[groups.notna()]
        try:
            out.isoflop = {"approach1": fit_isoflop_approach1(g.N, g.D, g.loss, groups[groups.notna()]),
                           "approach2": fit_isoflop_approach2(g.N, g.D, g.loss, groups[groups.notna()])}
        except ValueError as err:
            out.notes.append(f"IsoFLOP approaches skipped: {err}")
    sizes = np.unique(N)
    if sizes.size >= 3:
        try:
            out.leave_largest_out = leave_largest_out(fit_chinchilla, (N, D), L, n_out=int((N == sizes[-1]).sum()),
                                                      **kwargs)
        except ValueError as err:
            out.notes.append(f"leave-largest-out skipped: {err}")
        out.rollout = rollout(fit_chinchilla, (N, D), L, **kwargs)
    else:
        out.notes.append("fewer than 3 model sizes: no extrapolation checks")
    return out


def plot_runs(path: str | Path, result: RunsFit) -> Path:
    """Loss against N, coloured by tokens D (or by compute C for IsoFLOP groups) with a colour
    bar, the law at a few representative token counts or budgets, the held-out and rollout
    checks marked, and a residual panel: :func:`scaling_claims.claims.plots.runs_plot`."""
    from scaling_claims.claims import plots

    return plots.runs_plot(path, result)
