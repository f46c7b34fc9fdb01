"""Claim plots (matplotlib, Agg backend, no display needed).

Three shapes cover the claims; each saves a PNG and returns its path:

- :func:`scaling_plot`: log-log data, the fitted law, its extrapolation (dashed, beyond the
  fitted range), held-out points, and the paper's law (dotted) where it applies;
- :func:`threshold_plot`: one or more curves with a marked threshold (a vertical line: the
  interpolation threshold p = n, a training length L) and an optional theory curve;
- :func:`grouped_plot`: several labelled curves on shared axes (per encoding, per answer
  length, per metric).

(The plot of ``scaling-claims fit``, your own runs, is ``scaling_claims.tool.runs_plot``.)

Every plot has axis labels, a title, a legend and log scales where asked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker as mticker  # noqa: E402
import numpy as np  # noqa: E402


def _tidy_log_axes(fig) -> None:
    """Readable ticks on log axes that span little: matplotlib's default labels a narrow log
    axis with minor ticks in ``2.4 x 10^0`` form and crowds them; plain numbers at 1-2-5
    (or, within one decade, at every integer multiple) read better."""
    for ax in fig.axes:
        for axis, scale, lim in ((ax.xaxis, ax.get_xscale(), ax.get_xlim()),
                                 (ax.yaxis, ax.get_yscale(), ax.get_ylim())):
            if scale != "log" or min(lim) <= 0:
                continue
            decades = np.log10(max(lim) / min(lim))
            if decades > 3:
                continue  # the default decade labels are right for wide axes
            subs = np.arange(1.0, 10.0) if decades < 1 else (1.0, 2.0, 5.0)
            axis.set_major_locator(mticker.LogLocator(base=10, subs=subs))
            axis.set_minor_locator(mticker.LogLocator(base=10, subs=np.arange(1.0, 10.0)))
            axis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:.4g}"))
            axis.set_minor_formatter(mticker.NullFormatter())


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _tidy_log_axes(fig)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _finish(fig, ax, path: str | Path, xlabel: str, ylabel: str, title: str, logx: bool, logy: bool,
            **legend: Any) -> Path:
    """Scales, labels, grid and legend, then save."""
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(**legend)
    return _save(fig, path)


def _xy(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    xa, ya = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    if xa.size != ya.size or xa.size == 0:
        raise ValueError(f"x and y must be non-empty and of equal length, got {xa.size} and {ya.size}")
    return xa, ya


def scaling_plot(path: str | Path, x: Any, y: Any, *, fit: Any = None, extrapolate_to: float | None = None,
                 paper_law: tuple[str, Callable[[np.ndarray], np.ndarray]] | None = None,
                 held_out: tuple[Any, Any] | None = None, yerr: Any = None,
                 xlabel: str = "x", ylabel: str = "y", title: str = "", fit_label: str = "fit",
                 logy: bool = True) -> Path:
    """Log-log scaling plot: points, ``fit.predict`` over the data (solid) and on to
    ``extrapolate_to`` (dashed), ``held_out`` points (not used in the fit), ``paper_law``
    as ``(label, f)`` (dotted)."""
    xa, ya = _xy(x, y)
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    ax.errorbar(xa, ya, yerr=yerr, fmt="o", color="C0", label="measured", zorder=3)
    lo, hi = float(xa.min()), float(xa.max())
    if held_out is not None:
        hx, hy = _xy(*held_out)
        ax.plot(hx, hy, "s", color="C3", label="held out", zorder=3)
        hi = max(hi, float(hx.max()))
    if fit is not None:
        grid = np.geomspace(lo, float(xa.max()), 100)
        ax.plot(grid, fit.predict(grid), "-", color="C1", label=fit_label)
        if extrapolate_to is not None and extrapolate_to > xa.max():
            ext = np.geomspace(float(xa.max()), float(extrapolate_to), 50)
            ax.plot(ext, fit.predict(ext), "--", color="C1", label="extrapolation")
            hi = max(hi, float(extrapolate_to))
    if paper_law is not None:
        label, f = paper_law
        grid = np.geomspace(lo, hi, 100)
        ax.plot(grid, f(grid), ":", color="C2", label=label)
    return _finish(fig, ax, path, xlabel, ylabel, title, True, logy)


def threshold_plot(path: str | Path, curves: Mapping[str, tuple[Any, Any]], *, threshold: float | None = None,
                   threshold_label: str = "threshold", theory: tuple[str, Any, Any] | None = None,
                   band: Mapping[str, tuple[Any, Any, Any]] | None = None,
                   xlabel: str = "x", ylabel: str = "y", title: str = "",
                   logx: bool = True, logy: bool = True) -> Path:
    """Curves ``{label: (x, y)}`` with a vertical line at ``threshold``, an optional theory
    curve ``(label, x, y)`` and optional shaded bands ``{label: (x, lo, hi)}`` (seed spread)."""
    if not curves:
        raise ValueError("threshold_plot needs at least one curve")
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    for i, (label, (x, y)) in enumerate(curves.items()):
        xa, ya = _xy(x, y)
        ax.plot(xa, ya, "o-", color=f"C{i}", label=label, ms=4)
    for i, (label, (x, lo, hi)) in enumerate((band or {}).items()):
        ax.fill_between(np.asarray(x, float), np.asarray(lo, float), np.asarray(hi, float), alpha=0.2,
                        color=f"C{i}", label=label)
    if theory is not None:
        label, tx, ty = theory
        ax.plot(np.asarray(tx, float), np.asarray(ty, float), "k--", label=label)
    if threshold is not None:
        ax.axvline(threshold, color="gray", ls=":", label=threshold_label)
    return _finish(fig, ax, path, xlabel, ylabel, title, logx, logy)


def grouped_plot(path: str | Path, groups: Mapping[str, tuple[Any, Any]], *, xlabel: str = "x",
                 ylabel: str = "y", title: str = "", logx: bool = False, logy: bool = False,
                 hline: tuple[str, float] | None = None, styles: Sequence[str] | None = None) -> Path:
    """Several labelled curves ``{label: (x, y)}``; ``hline`` = ``(label, y)`` draws a reference level."""
    if not groups:
        raise ValueError("grouped_plot needs at least one group")
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    for i, (label, (x, y)) in enumerate(groups.items()):
        xa, ya = _xy(x, y)
        style = styles[i] if styles else "o-"
        color = {} if any(c in style for c in "bgrcmykw") else {"color": f"C{i}"}  # a colour in the style wins
        ax.plot(xa, ya, style, label=label, ms=4, **color)
    if hline is not None:
        ax.axhline(hline[1], color="gray", ls=":", label=hline[0])
    return _finish(fig, ax, path, xlabel, ylabel, title, logx, logy)


def fit_lines_plot(path: str | Path, groups: Mapping[str, tuple[Any, Any, Any, Any]], *, xlabel: str = "x",
                   ylabel: str = "y", title: str = "", logx: bool = True, logy: bool = True) -> Path:
    """Per group ``{label: (x, y, x_line, y_line)}``: the measured points and the fitted law's
    line through them, in one colour per group (IsoFLOP curves and the law at each budget)."""
    if not groups:
        raise ValueError("fit_lines_plot needs at least one group")
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    for i, (label, (x, y, xl, yl)) in enumerate(groups.items()):
        xa, ya = _xy(x, y)
        xla, yla = _xy(xl, yl)
        ax.plot(xa, ya, "o", color=f"C{i}", ms=4, label=f"{label} (runs)")
        ax.plot(xla, yla, "-", color=f"C{i}", lw=1.2, label=f"{label} (law)")
    return _finish(fig, ax, path, xlabel, ylabel, title, logx, logy, fontsize="small")


def simplex_plot(path: str | Path, mixtures: Any, values: Any, *, corners: Sequence[str], held_out: Any = None,
                 predicted: Any = None, marked: Mapping[str, Any] | None = None, title: str = "",
                 value_label: str = "loss") -> Path:
    """Mixtures of three domains on a triangle (corner i: 100% domain i), coloured by
    ``values``; ``held_out`` (bool per mixture) draws those as squares with their ``predicted``
    value written beside the measured one; ``marked`` labels extra mixtures (e.g. the chosen
    optimum) with a star."""
    R = np.asarray(mixtures, dtype=float)
    if R.ndim != 2 or R.shape[1] != 3 or len(corners) != 3:
        raise ValueError("simplex_plot needs (n, 3) mixtures and three corner names")
    v = np.asarray(values, dtype=float)
    corner_xy = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, np.sqrt(3) / 2]])
    xy = R @ corner_xy
    hold = np.zeros(len(R), bool) if held_out is None else np.asarray(held_out, bool)
    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    ax.plot(*np.vstack([corner_xy, corner_xy[:1]]).T, "k-", lw=0.8)
    for (x, y), name, dy in zip(corner_xy, corners, (-0.06, -0.06, 0.03)):
        ax.text(x, y + dy, name, ha="center", fontsize=10)
    norm = matplotlib.colors.Normalize(v.min(), v.max())
    sc = ax.scatter(xy[~hold, 0], xy[~hold, 1], c=v[~hold], cmap="viridis", norm=norm, s=90, marker="o",
                    label="fitted on")
    if hold.any():
        ax.scatter(xy[hold, 0], xy[hold, 1], c=v[hold], cmap="viridis", norm=norm, s=110, marker="s",
                   edgecolors="red", label="held out (measured / predicted)")
        if predicted is not None:
            p = np.asarray(predicted, dtype=float)
            for (x, y), m, q in zip(xy[hold], v[hold], p):
                ax.text(x + 0.02, y + 0.02, f"{m:.3f} / {q:.3f}", fontsize=7, color="red")
    for label, r in (marked or {}).items():
        x, y = np.asarray(r, dtype=float) @ corner_xy
        ax.scatter([x], [y], marker="*", s=220, c="red", label=label)
    fig.colorbar(sc, ax=ax, label=value_label)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, pad=18)
    ax.legend(loc="upper left", fontsize=8)
    return _save(fig, path)
