"""The plot of ``scaling-claims fit``: :func:`plot_runs` / :func:`runs_plot` (:func:`runs_figure`
saved): your runs' loss against N coloured by D (or C) on a colour bar, the fitted law, the
held-out and rollout checks, and the residuals, readable at 5 to 5,000 runs. Uses the claim
plots' axis tidying (``scaling_claims.verdicts.plots``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker as mticker  # noqa: E402
import numpy as np  # noqa: E402

from scaling_claims.tool.userruns import RunsFit, isoflop_groups  # noqa: E402
from scaling_claims.verdicts.plots import _tidy_log_axes  # noqa: E402

RUNS_MAX_CURVES = 6  # the law's curves drawn at most at representative token counts (over the whole N range)
RUNS_MAX_BUDGETS = 10  # ... and at representative IsoFLOP budgets (each over its own runs' N range only)


def _si(v: float, _pos: Any = None) -> str:
    """1.2e9 -> '1.2B', 5e7 -> '50M': parameter and token counts read better so."""
    if not np.isfinite(v) or v <= 0:
        return ""
    for div, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"), (1.0, "")):
        if v >= div * 0.9995:
            return f"{v / div:.3g}{suffix}"
    return f"{v:.3g}"


def _sci(v: float, _pos: Any = None) -> str:
    """3e19 -> '3e19' (FLOP budgets)."""
    if not np.isfinite(v) or v <= 0:
        return ""
    m, e = f"{v:.2e}".split("e")
    m = m.rstrip("0").rstrip(".")
    return f"{m}e{int(e)}"


def _representative(values: np.ndarray, k: int) -> np.ndarray:
    """At most ``k`` of the sorted distinct ``values``, spread evenly in log (ends included)."""
    values = np.unique(values)
    if values.size <= k:
        return values
    targets = np.log(np.geomspace(values[0], values[-1], k))
    return np.unique([values[np.argmin(np.abs(np.log(values) - t))] for t in targets])


def _round_sig(x: np.ndarray, digits: int = 3) -> np.ndarray:
    return np.array([float(f"{v:.{digits - 1}e}") for v in np.asarray(x, float)])


def _rollout_rows(rollout: Any) -> tuple[list[tuple[float, float]], list[float]]:
    """((predicted size, worst error) for each row with a prediction, [predicted size] for each
    failed row) from a ``Rollout``-like object; anything unreadable counts as no rows."""
    done, failed = [], []
    for row in getattr(rollout, "rows", None) or []:
        size = float(getattr(row, "predicted_size", np.nan))
        if not (np.isfinite(size) and size > 0):
            continue
        err = float(getattr(row, "max_error", np.nan))
        if getattr(row, "error", None) is None and np.isfinite(err):
            done.append((size, err))
        else:
            failed.append(size)
    return done, failed


def _held_out_points(check: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(N, observed, predicted) of an ``ExtrapolationCheck``'s held-out runs, finite ones only;
    None when there are none."""
    try:
        n = np.asarray(check.x[0], float)
        obs, pred = np.asarray(check.observed, float), np.asarray(check.predicted, float)
    except (AttributeError, IndexError, TypeError, ValueError):
        return None
    if not (n.size and n.shape == obs.shape == pred.shape):
        return None
    ok = np.isfinite(n) & (n > 0) & np.isfinite(obs) & (obs > 0)
    if not ok.any():
        return None
    return n[ok], obs[ok], pred[ok]


def _fit_title(result: Any, n_runs: int, check: Any) -> str:
    info = getattr(getattr(result, "fit", None), "info", None) or {}
    method = str(info.get("method", "fit"))
    if info.get("tie_exponents"):
        method += ", tied exponents"
    law = getattr(result, "curve", result.law)
    head = rf"Chinchilla law $L = E + A/N^{{\alpha}} + B/D^{{\beta}}$ fitted to {n_runs} runs ({method})"
    params = (f"E = {law.E:.3g}, A = {law.A:.3g}, B = {law.B:.3g}, \u03b1 = {law.alpha:.3g}, "
              f"\u03b2 = {law.beta:.3g}")
    try:
        worst = float(check.max_error)
        params += f";  leave-largest-out worst error {worst:.1%} (trust {check.trust})" if np.isfinite(worst) else ""
    except (AttributeError, TypeError, ValueError):
        pass
    return head + "\n" + params


def runs_figure(result: Any, *, color_by: str | None = None, max_curves: int | None = None):
    """The figure of ``scaling-claims fit`` for a ``RunsFit`` (duck-typed: ``runs`` with columns
    N, D, C, loss; ``law`` with ``.loss(N, D)``; ``fit.info``; ``leave_largest_out`` and
    ``rollout``, either of which may be None or hold failed rows).

    Top: loss against N, the runs coloured on a continuous log scale by tokens D, or by
    compute C when at least half the runs form IsoFLOP groups (``color_by`` = "D" or "C"
    forces one), with a colour bar (black ticks on it mark the curves), never a legend entry
    per group; the law at up to ``max_curves`` representative token counts (default 6, over
    the whole N range) or budgets (default 10, along each budget's own D(N)); the
    leave-largest-out held-out runs (red squares) and the refit's predictions for them (red
    crosses). Bottom: residuals (L - L_law) / L in %, the held-out errors, and the rollout's
    worst error at each size it predicts (a +-bar; a failed refit a grey cross). The legend
    lists marker kinds only. Readable at 5 to 5,000 runs; constrained layout, so no layout
    warning. Returns the open Figure (``runs_plot`` saves and closes it)."""
    runs, law = result.runs, getattr(result, "curve", result.law)  # a degenerate fit has no plannable law
    N, D, C, L = (np.asarray(runs[c], float) for c in ("N", "D", "C", "loss"))
    n_runs = N.size
    groups = None
    if color_by in (None, "C"):
        groups = isoflop_groups(runs)
        if color_by == "C":
            groups = runs.C.map(lambda c: float(f"{c:.2e}")) if groups is None else groups
        elif groups is not None and groups.notna().mean() < 0.5:
            groups = None  # a few runs that happen to share a budget: colour by D
    by_c = groups is not None
    colour = C if by_c else D
    lo, hi = float(np.min(colour)), float(np.max(colour))
    if hi <= lo * 1.0001:
        lo, hi = lo / 1.5, hi * 1.5
    norm = matplotlib.colors.LogNorm(lo, hi)
    cmap = matplotlib.colors.ListedColormap(plt.get_cmap("viridis")(np.linspace(0.0, 0.9, 256)))

    fig, (ax, axr) = plt.subplots(2, 1, figsize=(8.0, 7.4), sharex=True, layout="constrained",
                                  gridspec_kw={"height_ratios": [2.6, 1.0]})
    size = float(np.clip(36.0 * np.sqrt(100.0 / n_runs), 5.0, 40.0))
    alpha = float(np.clip(0.95 - 0.35 * np.log10(max(n_runs, 300) / 300), 0.5, 0.95))  # 0.95 to 300 runs, 0.5 at 5,000
    edge = {"edgecolors": "white", "linewidths": 0.4} if n_runs <= 400 else {"edgecolors": "none"}
    order = np.argsort(colour)  # large values on top
    ax.scatter(N[order], L[order], c=colour[order], cmap=cmap, norm=norm, s=size, alpha=alpha, zorder=3, **edge)
    ax.scatter([], [], s=size + 6, c="0.45", label="run (colour: " + ("its budget C)" if by_c else "its tokens D)")
               + "; below, its residual from the law")

    # the law's curves
    n_lo, n_hi = float(N.min()) / 1.3, float(N.max()) * 1.3
    marks: list[float] = []
    if by_c:
        key = groups[groups.notna()]
        for c in _representative(key.unique(), max_curves or RUNS_MAX_BUDGETS):
            g = runs[groups == c]
            if g.N.nunique() < 2:
                continue
            slope, icept = np.polyfit(np.log(g.N), np.log(g.D), 1)  # the runs' own D(N) (any FLOP convention)
            n = np.geomspace(g.N.min() / 1.5, g.N.max() * 1.5, 80)
            ax.plot(n, law.loss(n, np.exp(icept + slope * np.log(n))), "-", lw=1.3, color=cmap(norm(c)), zorder=2)
            marks.append(float(c))
    else:
        n = np.geomspace(n_lo, n_hi, 120)
        for d in _representative(_round_sig(D), max_curves or RUNS_MAX_CURVES):
            ax.plot(n, law.loss(n, np.full_like(n, d)), "-", lw=1.3, color=cmap(norm(d)), zorder=2)
            marks.append(float(d))
    if marks:
        ax.plot([], [], "-", color="0.35", lw=1.3,
                label="fitted law at the " + ("budgets" if by_c else "token counts") + " ticked on the colour bar")

    # leave-largest-out: held-out runs and what the refit predicted for them
    held = _held_out_points(getattr(result, "leave_largest_out", None))
    with np.errstate(divide="ignore", invalid="ignore"):
        resid = 100.0 * (L - law.loss(N, D)) / L
    res_vals = [resid[np.isfinite(resid)]]
    if held is not None:
        hn, ho, hp = held
        ax.scatter(hn, ho, marker="s", s=size * 2.2 + 10, facecolors="none", edgecolors="red", linewidths=1.0,
                   zorder=4, label="held out (largest N): measured")
        okp = np.isfinite(hp) & (hp > 0)
        if 0 < okp.sum() <= 8:  # a line from each measured point to its prediction, while they can be told apart
            ax.vlines(hn[okp], np.minimum(ho, hp)[okp], np.maximum(ho, hp)[okp], colors="red", lw=0.6, alpha=0.7,
                      zorder=4)
        if okp.any():
            ax.scatter(hn[okp], hp[okp], marker="x", s=size * 1.5 + 10, color="red", linewidths=1.0, zorder=5,
                       label="held out: predicted by the law refitted without them")
    # y range from the runs (and the held-out predictions unless wildly off), not from the curves
    y = L
    if held is not None:
        hp = held[2]
        y = np.concatenate([L, hp[np.isfinite(hp) & (hp > L.min() / 2) & (hp < L.max() * 2)]])
    pad = (float(y.max()) / float(y.min())) ** 0.06 if y.max() > y.min() else 1.05
    ax.set_ylim(float(y.min()) / pad, float(y.max()) * pad)
    ax.set_xlim(n_lo, n_hi)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylabel("loss")
    ax.grid(True, which="both", alpha=0.25)

    # residuals panel
    axr.axhline(0.0, color="0.4", lw=0.8)
    fin = np.isfinite(resid)
    axr.scatter(N[order][fin[order]], resid[order][fin[order]], c=colour[order][fin[order]], cmap=cmap, norm=norm,
                s=size * 0.8, alpha=alpha, zorder=3, **edge)
    held_res = None
    if held is not None:
        hn, ho, hp = held
        with np.errstate(divide="ignore", invalid="ignore"):
            held_res = (hn, 100.0 * (ho - hp) / ho)
        res_vals.append(held_res[1][np.isfinite(held_res[1])])
    done, failed = _rollout_rows(getattr(result, "rollout", None))
    if done:
        res_vals.append(np.array([100.0 * e for _, e in done]))
    # a scale that shows the fit's own residuals; extrapolation errors far beyond are clipped and written
    own = np.abs(res_vals[0])
    base = float(np.percentile(own, 99.5)) if own.size >= 200 else (float(own.max()) if own.size else 1.0)
    every = np.abs(np.concatenate(res_vals)) if any(v.size for v in res_vals) else np.array([1.0])
    cap = max(min(float(every.max()), 4.0 * base), 1.0) * 1.12
    clipped: list[float] = []
    if held_res is not None:
        hn, hr = held_res
        ok = np.isfinite(hr)
        inside = ok & (np.abs(hr) <= cap)
        axr.scatter(hn[inside], hr[inside], marker="s", s=size * 2.2 + 10, facecolors="none", edgecolors="red",
                    linewidths=1.0, zorder=4)
        out = ok & ~inside
        if out.any():
            axr.scatter(hn[out], np.sign(hr[out]) * cap * 0.97, marker="s", s=size * 2.2 + 10, facecolors="red",
                        edgecolors="red", zorder=4)
            clipped += list(np.abs(hr[out]))
    if done:
        xs = np.array([s for s, _ in done])
        es = 100.0 * np.array([e for _, e in done])
        label = "rollout: \u00b1 worst error at a size, law fitted on the smaller sizes"
        if len(xs) <= 30:
            axr.errorbar(xs, np.zeros_like(xs), yerr=np.minimum(es, cap * 0.97), fmt="none", ecolor="black",
                         elinewidth=1.4 if len(xs) <= 12 else 1.0, capsize=4 if len(xs) <= 12 else 2, zorder=5,
                         label=label)
        else:  # a ladder of many sizes: a dash at +- the worst error, not a forest of bars
            shown = np.minimum(es, cap * 0.97)
            axr.scatter(np.r_[xs, xs], np.r_[shown, -shown], marker="_", s=40, color="black", linewidths=1.2,
                        zorder=5, label=label)
        for x_, e_ in zip(xs, es):
            if e_ > cap * 0.97:
                axr.annotate(f"{e_:.0f}%", (x_, cap * 0.97), textcoords="offset points", xytext=(3, -9), fontsize=7)
                clipped.append(e_)
    if failed:
        axr.scatter(failed, np.zeros(len(failed)), marker="x", s=50, color="0.5", linewidths=1.5, zorder=5,
                    label="rollout: the refit at this size failed (no prediction)")
    if clipped:
        axr.text(0.01, 0.97, f"off scale (drawn at the edge): up to {max(clipped):.3g}%", transform=axr.transAxes,
                 fontsize=7, va="top", color="red")
    axr.set_ylim(-cap, cap)
    axr.set_xscale("log")
    axr.set_xlabel("parameters N")
    axr.set_ylabel("(L \u2212 L_law) / L  [%]")
    axr.grid(True, which="both", alpha=0.25)

    sm = matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap)
    cbar = fig.colorbar(sm, ax=[ax, axr], aspect=40, pad=0.01,
                        label="compute C (FLOPs)" if by_c else "tokens D")
    for m in marks:
        cbar.ax.axhline(m, color="black", lw=1.6)
    fig.suptitle(_fit_title(result, n_runs, getattr(result, "leave_largest_out", None)), fontsize=10)
    handles, labels = [], []
    for a in (ax, axr):
        for h, lab in zip(*a.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncols=2, fontsize=8, frameon=False)

    _tidy_log_axes(fig)
    y0, y1 = ax.get_ylim()
    if y1 / y0 < 10:  # under a decade of loss: plain steps (2.5, 3, 3.5) rather than the integers alone
        ax.yaxis.set_major_locator(mticker.MaxNLocator(nbins=7, steps=[1, 2, 2.5, 5, 10]))
        ax.yaxis.set_minor_locator(mticker.NullLocator())
        ax.yaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:.4g}"))
    for a in (ax, axr):
        a.xaxis.set_major_formatter(mticker.FuncFormatter(_si))
    cbar.ax.yaxis.set_major_formatter(mticker.FuncFormatter(_sci if by_c else _si))
    cbar.ax.yaxis.set_minor_formatter(mticker.NullFormatter())
    return fig


def runs_plot(path: str | Path, result: Any, **kwargs: Any) -> Path:
    """:func:`runs_figure` saved as a PNG at ``path`` (parents made); returns the path."""
    fig = runs_figure(result, **kwargs)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_runs(path: str | Path, result: RunsFit) -> Path:
    """Loss against N, coloured by tokens D (or by compute C for IsoFLOP groups) with a colour
    bar, the law at a few representative token counts or budgets, the held-out and rollout
    checks marked, and a residual panel: :func:`runs_plot`."""
    return runs_plot(path, result)
