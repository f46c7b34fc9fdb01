"""Your own runs: read a CSV of (N, D or C, loss), check it, and fit everything the
``scaling-claims fit`` command reports.

- :func:`read_runs`: columns found by name (yours, or the usual ones: ``N``/``params``/``Model
  Size``, ``D``/``tokens``, ``C``/``flops``/``budget``, ``loss``; names compared without case,
  spaces or punctuation); the separator detected from the header (comma, semicolon, tab); D from
  C = k N D when only C is given; bad input is a ``ValueError`` naming the file, the column and
  the rows (their line numbers in the file). What was noticed but accepted (repeated runs, say)
  is listed in ``runs.attrs["notes"]``.
- :func:`fit_main`: the Chinchilla law (``fit_chinchilla``: Huber by default, tied exponents or
  the asymmetric lower-bound objective on request), with no diagnostic yet: the answer a user
  gets first, whatever happens next.
- :func:`run_diagnostics`: each check on its own (a bootstrap over runs; IsoFLOP Approaches 1
  and 2 where the runs form IsoFLOP groups: >= 2 budgets with >= 3 sizes each, budgets equal to
  3 significant digits; a leave-largest-out check with its trust grade; the rollout check: refit
  on the k smallest sizes, predict the next). A check that fails is recorded in
  ``RunsFit.diagnostics`` as ``"failed: <reason>"`` and the others still run.
- :func:`fit_runs`: both, in that order.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import numpy as np
import pandas as pd

from scaling_claims.tool.plan import Law

COLUMN_GUESSES = {
    "N": ("N", "params", "n_params", "num_params", "parameters", "model_size", "model size"),
    "D": ("D", "tokens", "n_tokens", "token_num", "train_tokens", "training_tokens"),
    "C": ("C", "flops", "compute", "training_flops", "training_flop", "budget", "C_6ND"),
    "loss": ("loss", "final_loss", "eval_loss", "val_loss", "validation_loss", "test_loss"),
}
MIN_RUNS = 5  # the law has 5 parameters
SEPARATORS = (",", ";", "\t")


def _key(name: Any) -> str:
    """A column name compared without case, spaces or punctuation ("Model Size" ~ "model_size")."""
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def _pick(frame: pd.DataFrame, given: str | None, role: str, required: bool) -> str | None:
    if given is not None:
        if given not in frame.columns:
            raise ValueError(f"no column {given!r} for {role} in the CSV (columns: {', '.join(map(str, frame.columns))})")
        return given
    keys = {}
    for c in frame.columns:
        keys.setdefault(_key(c), c)
    # an exact name first (N and n are different columns in some files), then the loose comparison
    for name in COLUMN_GUESSES[role]:
        if name in frame.columns:
            return name
    for name in COLUMN_GUESSES[role]:
        if _key(name) in keys:
            return keys[_key(name)]
    if required:
        raise ValueError(f"no column for {role} (looked for {', '.join(COLUMN_GUESSES[role])}; columns: "
                         f"{', '.join(map(str, frame.columns))}): name it with --{role.lower()}-col")
    return None


def _numbers(frame: pd.DataFrame, column: str, what: str, path: str | Path) -> np.ndarray:
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values) | (values <= 0))
    if bad.size:
        shown = ", ".join(f"row {i + 1} (line {i + 2}): {str(frame[column].iloc[i])!r}" for i in bad[:5])
        more = f" and {bad.size - 5} more" if bad.size > 5 else ""
        hint = ""
        if frame[column].dtype == object and frame[column].astype(str).str.contains(r"^\s*-?\d+,\d+\s*$").any():
            hint = " (decimal commas? write numbers with a decimal point)"
        raise ValueError(f"{path}: column {column!r} ({what}) must hold finite numbers > 0; bad values at "
                         f"{shown}{more}{hint}")
    return values


def _separator(path: str | Path) -> str:
    """The field separator of the header line: whichever of , ; tab it holds most of."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            header = fh.readline()
    except UnicodeDecodeError:
        raise ValueError(f"cannot read {path} as CSV: it is not UTF-8 text") from None
    counts = {s: header.count(s) for s in SEPARATORS}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def read_runs(path: str | Path, n_col: str | None = None, d_col: str | None = None, c_col: str | None = None,
              loss_col: str | None = None, flops_per_token: float = 6.0,
              sep: str | None = None) -> tuple[pd.DataFrame, dict[str, str]]:
    """(runs with columns N, D, C, loss; the CSV columns used for each). D is C / (k N) when only
    C is given; C is k N D when only D is. Raises ``ValueError`` naming what is wrong; what was
    accepted with a remark is in ``runs.attrs["notes"]``."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not a CSV file")
    if not path.is_file():
        raise ValueError(f"cannot read {path}: no such file")
    try:
        frame = pd.read_csv(path, sep=sep or _separator(path), encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError, csv.Error) as err:
        raise ValueError(f"cannot read {path} as CSV: {str(err).strip()}") from None
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path} is empty") from None
    if frame.columns.size < 2:
        raise ValueError(f"{path}: one column only ({', '.join(map(str, frame.columns))}): is the separator "
                         "right? (comma, semicolon or tab are detected; name another with --sep)")
    cols = {"N": _pick(frame, n_col, "N", True), "loss": _pick(frame, loss_col, "loss", True),
            "D": _pick(frame, d_col, "D", False), "C": _pick(frame, c_col, "C", False)}
    if cols["D"] is None and cols["C"] is None:
        raise ValueError(f"the CSV needs tokens D or compute C (columns: {', '.join(map(str, frame.columns))}): "
                         "name one with --d-col or --c-col")
    used = [c for c in cols.values() if c is not None]
    if len(set(used)) < len(used):
        raise ValueError(f"one column serves two roles ({cols}): name each with --n-col, --d-col, --c-col, --loss-col")
    if frame.empty:
        raise ValueError(f"{path} has a header but no runs")
    N = _numbers(frame, cols["N"], "parameters", path)
    L = _numbers(frame, cols["loss"], "loss", path)
    if cols["D"] is not None:
        D = _numbers(frame, cols["D"], "tokens", path)
        C = _numbers(frame, cols["C"], "FLOPs", path) if cols["C"] is not None else flops_per_token * N * D
    else:
        C = _numbers(frame, cols["C"], "FLOPs", path)
        D = C / (flops_per_token * N)
    if len(frame) < MIN_RUNS:
        raise ValueError(f"{len(frame)} run(s) in {path}: the Chinchilla law has 5 parameters, give at least {MIN_RUNS}")
    runs = pd.DataFrame({"N": N, "D": D, "C": C, "loss": L})
    if np.ptp(np.log(N)) == 0:
        raise ValueError(f"{path}: every run has the same size N = {N[0]:.4g}: L(N, D) needs more than one model size")
    if np.ptp(np.log(D)) == 0:
        raise ValueError(f"{path}: every run has the same token count D = {D[0]:.4g}: L(N, D) needs more than one")
    notes = []
    dup = runs.duplicated(["N", "D"], keep=False)
    if dup.any():
        notes.append(f"{int(dup.sum())} runs share their (N, D) with another run (repeats, other seeds or "
                     f"learning rates): all are fitted; the bootstrap resamples runs, not (N, D) points")
    high = L > 20
    if high.any():
        notes.append(f"{int(high.sum())} run(s) have a loss above 20 (diverged?): they are fitted as given; the "
                     "Huber objective limits their pull")
    runs.attrs["notes"] = notes
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
    """Everything ``scaling-claims fit`` reports; ``law`` carries the bootstrap samples once the
    bootstrap has run. ``diagnostics``: each check's status ("ok", "skipped: ...", "failed: ...")."""

    runs: pd.DataFrame
    columns: dict[str, str]
    fit: Any
    boot: Any
    law: Law
    isoflop: dict[str, Any] = field(default_factory=dict)
    leave_largest_out: Any = None
    rollout: Any = None
    notes: list[str] = field(default_factory=list)
    diagnostics: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    law_error: str = ""  # why ``law`` is None: the fit has no compute optimum to plan from

    @property
    def curve(self) -> Any:
        """The fitted law for drawing and residuals: ``law`` when plannable, else the fit's own
        parameters (E, A, B, alpha, beta and ``loss(N, D)``), so a degenerate fit still plots."""
        if self.law is not None:
            return self.law
        p, predict = self.fit.params, self.fit.predict
        return SimpleNamespace(**{k: float(p[k]) for k in ("E", "A", "B", "alpha", "beta")},
                               loss=lambda N, D: predict(np.asarray(N, float), np.asarray(D, float)))

    def summary(self) -> dict[str, Any]:
        p = self.fit.params
        ci = self.boot.ci if self.boot is not None else {}
        out = {"runs": len(self.runs), "columns": self.columns, "method": self.fit.info.get("method"),
               "params": {k: {"value": p[k], "ci": list(ci[k]) if k in ci else None}
                          for k in ("E", "A", "B", "alpha", "beta")},
               "a": {"value": self.fit.a, "ci": list(ci["a"]) if "a" in ci else None},
               "bootstrap": None if self.boot is None else {"n": self.boot.n, "requested": self.boot.requested,
                                                            "seed": self.boot.seed},
               "range": {k: [float(self.runs[k].min()), float(self.runs[k].max())] for k in ("N", "D", "C", "loss")},
               "flags": self.fit.flags, "notes": self.notes, "diagnostics": self.diagnostics,
               "law_error": self.law_error or None}
        if self.isoflop:
            out["isoflop"] = {k: (v.to_dict() if hasattr(v, "to_dict") else v) for k, v in self.isoflop.items()}
        if self.leave_largest_out is not None:
            out["leave_largest_out"] = self.leave_largest_out.to_dict()
        if self.rollout is not None:
            out["rollout"] = self.rollout.to_dict()
        return out

    def to_dict(self) -> dict[str, Any]:
        law = None if self.law is None else self.law.to_dict()
        return {"law": law, "summary": self.summary(), "fit": self.fit.to_dict()}


def fit_main(runs: pd.DataFrame, method: str = "huber", tie_exponents: bool = False, asymmetry: float = 10.0,
             flops_per_token: float = 6.0, name: str = "fit", columns: dict[str, str] | None = None,
             convention: str = "") -> RunsFit:
    """The Chinchilla law fitted to ``runs`` (columns N, D, C, loss), without any check yet."""
    from scaling_claims.fit import fit_chinchilla

    kwargs: dict[str, Any] = {"method": method, "flops_per_token_factor": flops_per_token}
    if tie_exponents:
        kwargs["tie_exponents"] = True
    if method == "asymmetric":
        kwargs["asymmetry"] = asymmetry
    fit = fit_chinchilla(runs.N.to_numpy(), runs.D.to_numpy(), runs.loss.to_numpy(), **kwargs)
    source = f"fitted by scaling-claims ({method}" + (", tied exponents" if tie_exponents else "") + f") to {len(runs)} runs"
    fitted = {k: [float(runs[k].min()), float(runs[k].max())] for k in ("N", "D", "C", "loss")}
    options = {"kwargs": kwargs, "name": name, "source": source, "convention": convention, "range": fitted}
    out = RunsFit(runs, columns or {}, fit, None, None, options=options)
    out.law = _law(out)
    out.notes.extend(runs.attrs.get("notes", []))
    return out


def _law(res: RunsFit, bootstrap: Any = None) -> Law | None:
    """The fit as a plannable :class:`Law`, or None (with the reason in ``res.law_error``) when it
    has none: a term collapsed to zero or a non-positive exponent leaves no compute optimum."""
    o = res.options
    try:
        law = Law.from_fit(res.fit, name=o["name"], source=o["source"], convention=o["convention"],
                           bootstrap=bootstrap, fitted_range=o["range"])
    except ValueError as err:
        res.law_error = (f"the fitted law cannot be planned from ({err}): `scaling-claims plan --fit` will refuse "
                         "it; more runs spanning N and D, or --tie-exponents, may identify both terms")
        return None
    res.law_error = ""
    return law


def _failure(err: BaseException) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"failed: {type(err).__name__}" + (f": {text}" if text else "")


def _check(res: RunsFit, name: str, step: Callable[[], Any]) -> Any:
    """Run one diagnostic; a numerical failure is recorded as that diagnostic's status, not raised."""
    import numpy.linalg

    try:
        value = step()
    except (ValueError, ArithmeticError, numpy.linalg.LinAlgError, RuntimeError) as err:
        res.diagnostics[name] = _failure(err)
        return None
    res.diagnostics[name] = "ok"
    return value


ROLLOUT_GROUPS = 14  # at most 12 rollout steps (k = 2 .. 13): a table a person reads, and seconds of refits


def _rollout_groups(N: np.ndarray) -> np.ndarray | None:
    """Each run's rollout group (the largest size of its group of consecutive distinct sizes) when
    the runs hold more than ``ROLLOUT_GROUPS`` sizes, else None (one step per size). A ladder of
    hundreds of sizes (IsoFLOP data often is) would otherwise cost one refit per size."""
    distinct = np.unique(N)
    if distinct.size <= ROLLOUT_GROUPS:
        return None
    tops = np.array([g[-1] for g in np.array_split(distinct, ROLLOUT_GROUPS)])
    return tops[np.searchsorted(tops, N)]


def run_diagnostics(res: RunsFit, n_boot: int = 1000, seed: int = 0) -> RunsFit:
    """Each check of ``res`` on its own (see the module docstring); updates and returns ``res``."""
    from scaling_claims.fit import fit_chinchilla, fit_isoflop_approach1, fit_isoflop_approach2, leave_largest_out
    from scaling_claims.fit import rollout

    runs, fit, kw = res.runs, res.fit, res.options["kwargs"]
    N, D, L = runs.N.to_numpy(), runs.D.to_numpy(), runs.loss.to_numpy()
    if n_boot >= 2:
        res.boot = _check(res, "bootstrap", lambda: fit.bootstrap(n=n_boot, seed=seed))
        if res.boot is not None:
            if res.boot.n < 2:
                res.diagnostics["bootstrap"] = f"failed: only {res.boot.n} of {n_boot} resamples could be fitted"
                res.boot = None
            elif res.law is not None:
                with_samples = _law(res, res.boot)
                if with_samples is None:
                    res.notes.append(f"the bootstrap samples were not attached to the law: {res.law_error}")
                    res.law_error = ""
                else:
                    res.law = with_samples
                if res.boot.n < res.boot.requested:
                    res.notes.append(f"the bootstrap fitted {res.boot.n} of {res.boot.requested} resamples "
                                     "(the others held a single size or token count)")
    else:
        res.diagnostics["bootstrap"] = f"skipped: {n_boot} resamples asked for"
    if res.fit.flags:
        res.notes.append("the fit is flagged (summary.flags)" + ("; the bootstrap intervals are the ones reported"
                                                                 if res.boot is not None else ""))
    groups = isoflop_groups(runs)
    if groups is None:
        for name in ("isoflop approach1", "isoflop approach2"):
            res.diagnostics[name] = "skipped: no IsoFLOP groups (>= 2 budgets with >= 3 sizes each)"
    else:
        g, key = runs[groups.notna()], groups[groups.notna()]
        for name, fn in (("approach1", fit_isoflop_approach1), ("approach2", fit_isoflop_approach2)):
            value = _check(res, f"isoflop {name}", lambda fn=fn: fn(g.N, g.D, g.loss, key))
            if value is not None:
                res.isoflop[name] = value
    sizes = np.unique(N)
    if sizes.size >= 3:
        res.leave_largest_out = _check(res, "leave-largest-out", lambda: leave_largest_out(
            fit_chinchilla, (N, D), L, n_out=int((N == sizes[-1]).sum()), **kw))
        key = _rollout_groups(N)
        if key is not None:
            res.notes.append(f"rollout over {np.unique(key).size} groups of consecutive sizes (the runs hold "
                             f"{sizes.size} distinct sizes): each step refits on the smaller groups and predicts "
                             "the next group; each group is named by its largest size")
        res.rollout = _check(res, "rollout", lambda: rollout(fit_chinchilla, (N, D), L, sizes=key, **kw))
    else:
        for name in ("leave-largest-out", "rollout"):
            res.diagnostics[name] = "skipped: fewer than 3 model sizes"
    return res


def fit_runs(runs: pd.DataFrame, method: str = "huber", tie_exponents: bool = False, asymmetry: float = 10.0,
             n_boot: int = 1000, seed: int = 0, flops_per_token: float = 6.0, name: str = "fit",
             columns: dict[str, str] | None = None, convention: str = "") -> RunsFit:
    """Fit the Chinchilla law to ``runs`` (columns N, D, C, loss) and run every check."""
    res = fit_main(runs, method=method, tie_exponents=tie_exponents, asymmetry=asymmetry,
                   flops_per_token=flops_per_token, name=name, columns=columns, convention=convention)
    return run_diagnostics(res, n_boot=n_boot, seed=seed)
