"""The plot of ``scaling-claims fit`` (``tool.runs_plot.plot_runs`` -> ``runs_plot``):
readable at any number of runs and token counts, on the published data sets and on
synthetic ladders.

What a reader needs, asserted on the figure itself (``runs_plot.runs_figure``): a colour bar
(colour is a continuous log scale of D, or of C for IsoFLOP groups) and a legend of marker
kinds only (a bounded number of entries, never one per group), no warning of any kind while
drawing and saving (``warnings.simplefilter("error")``), and a PNG on disk. A fit whose
diagnostics are missing or failed still gets its plot.
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from scaling_claims.fit.extrapolation import ExtrapolationCheck, Rollout, RolloutRow
from scaling_claims.tool import runs_plot
from scaling_claims.tool.runs_plot import plot_runs
from scaling_claims.tool.userruns import fit_runs, read_runs

MAX_LEGEND = 6  # marker kinds: run, law, held out measured / predicted, rollout done / failed
LAW = {"E": 1.8, "A": 400.0, "B": 1200.0, "alpha": 0.34, "beta": 0.3}


def law_loss(N, D):
    return LAW["E"] + LAW["A"] * N ** -LAW["alpha"] + LAW["B"] * D ** -LAW["beta"]


def isoflop_runs(noise=0.005, seed=0) -> pd.DataFrame:
    """Four IsoFLOP budgets of seven sizes each (as ``test_plan.synthetic_runs``)."""
    rng = np.random.default_rng(seed)
    rows = []
    for C in (1e18, 3e18, 1e19, 3e19):
        for N in np.geomspace(3e7, 3e9, 7):
            D = C / (6 * N)
            rows.append({"N": N, "D": D, "C": C, "loss": law_loss(N, D) * math.exp(rng.normal(0, noise))})
    return pd.DataFrame(rows)


def ladder_runs(n_runs: int, n_tokens: int, n_sizes: int, seed=0) -> pd.DataFrame:
    """``n_runs`` runs, each at one of ``n_sizes`` sizes and one of ``n_tokens`` token counts
    (no IsoFLOP groups)."""
    rng = np.random.default_rng(seed)
    N = rng.choice(np.geomspace(1e7, 1e10, n_sizes), n_runs)
    N[:n_sizes] = np.geomspace(1e7, 1e10, n_sizes)[:n_runs]
    D = rng.choice(np.geomspace(1e8, 1e12, n_tokens), n_runs)
    D[:2] = (1e8, 1e12) if n_tokens > 1 else D[:2]
    L = law_loss(N, D) * np.exp(rng.normal(0, 0.01, n_runs))
    return pd.DataFrame({"N": N, "D": D, "C": 6 * N * D, "loss": L})


def published(shared_data, name: str) -> pd.DataFrame:
    if name == "chinchilla_epoch":
        return read_runs(shared_data / "chinchilla_epoch_svg_extracted.csv", n_col="Model Size",
                         c_col="Training FLOP")[0]
    if name == "datablations":
        return read_runs(shared_data / "datablations_contour_losses_colpret.csv", loss_col="openLM_loss")[0]
    if name == "openathena":
        frame = pd.read_csv(shared_data / "openathena_isoflops_annotated.csv")
        one = frame[frame.experiment == "ml_scalefit__massivetext__chinchilla"]
        runs = pd.DataFrame({"N": one.params, "D": one.tokens, "C": one.budget, "loss": one.loss})
        return runs.reset_index(drop=True)
    if name == "misfitting":
        path = shared_data / "misfitting_li2025_scaling_results.csv"
        if not path.exists():
            pytest.skip(f"{path.name} is not in this checkout")
        frame = pd.read_csv(path)
        final = frame[frame.portion_steps_elapsed >= 0.999]
        return pd.DataFrame({"N": final.N, "D": final.D, "C": final.C, "loss": final.loss}).reset_index(drop=True)
    raise KeyError(name)


def curves(ax) -> int:
    """The lines with points (the law's curves; legend proxies are empty)."""
    return sum(len(line.get_xdata()) > 0 for line in ax.get_lines())


def check_figure(fig, *, colour: str) -> None:
    """A colour bar labelled ``colour``, one small figure legend, no per-axes legends."""
    bars = [a for a in fig.axes if a.get_label() == "<colorbar>"]
    assert len(bars) == 1
    assert colour in bars[0].get_ylabel()
    assert len(fig.legends) == 1
    assert 1 <= len(fig.legends[0].get_texts()) <= MAX_LEGEND
    assert all(a.get_legend() is None for a in fig.axes)
    assert fig._suptitle is not None and "runs" in fig._suptitle.get_text()


def draw(result, path) -> None:
    """The figure checked and the PNG written with every warning an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = runs_plot.runs_figure(result)
        check_figure(fig, colour="")
        plt.close(fig)
        out = plot_runs(path, result)
    assert out == path and path.stat().st_size > 10_000
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# tied exponents where the plot, not the fitter, is under test: the free-exponent fit of these
# sets is the fitter's own tests' business
@pytest.mark.parametrize("name, colour, kwargs", [
    ("chinchilla_epoch", "tokens", {"tie_exponents": True}),  # 245 runs, every D its own
    ("datablations", "tokens", {"tie_exponents": True}),  # 229 runs, up to ~60 epochs
    ("openathena", "compute", {}),  # one IsoFLOP experiment: 9 budgets
    ("misfitting", "tokens", {"tie_exponents": True}),  # final losses: 23 token counts at 11 sizes
])
def test_published_runs_plot(shared_data, tmp_path, name, colour, kwargs):
    runs = published(shared_data, name)
    res = fit_runs(runs, n_boot=5, **kwargs)
    fig = runs_plot.runs_figure(res)
    check_figure(fig, colour=colour)
    plt.close(fig)
    draw(res, tmp_path / f"{name}.png")


@pytest.mark.parametrize("n_runs, n_tokens, n_sizes", [(5, 3, 5), (300, 23, 40), (3000, 200, 12)])
def test_ladders_of_any_size_stay_readable(tmp_path, n_runs, n_tokens, n_sizes):
    res = fit_runs(ladder_runs(n_runs, n_tokens, n_sizes), n_boot=5)
    fig = runs_plot.runs_figure(res)
    check_figure(fig, colour="tokens")
    main = fig.axes[0]
    assert 1 <= curves(main) <= min(n_tokens, runs_plot.RUNS_MAX_CURVES)  # a handful of the law's curves, not one per D
    plt.close(fig)
    draw(res, tmp_path / "ladder.png")


def test_isoflop_runs_are_coloured_by_budget_with_the_law_along_each(tmp_path):
    res = fit_runs(isoflop_runs(), n_boot=5)
    fig = runs_plot.runs_figure(res)
    check_figure(fig, colour="compute")
    assert curves(fig.axes[0]) == 4  # one curve per budget
    plt.close(fig)
    draw(res, tmp_path / "iso.png")


def test_the_plot_needs_only_the_main_fit(tmp_path):
    res = fit_runs(isoflop_runs(), n_boot=5)
    bare = dataclasses.replace(res, leave_largest_out=None, rollout=None)
    fig = runs_plot.runs_figure(bare)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert not any("held out" in t or "rollout" in t for t in labels)
    plt.close(fig)
    draw(bare, tmp_path / "bare.png")

    # failed diagnostics: a held-out prediction that is NaN, rollout rows without a prediction
    n = res.runs.N.to_numpy()
    big = np.flatnonzero(n == n.max())
    check = ExtrapolationCheck("leave_largest_out", big, res.runs.loss.to_numpy()[big], np.full(big.size, np.nan),
                               x=(n[big], res.runs.D.to_numpy()[big]))
    rows = [RolloutRow(k=2, largest_fitted=n.min(), predicted_size=float(np.unique(n)[2]), n_fitted=8, n_predicted=4,
                       error="too few runs"),
            RolloutRow(k=3, largest_fitted=float(np.unique(n)[2]), predicted_size=float(np.unique(n)[3]), n_fitted=12,
                       n_predicted=4, mean_error=0.4, max_error=2.5)]  # far off scale: drawn clipped
    broken = dataclasses.replace(res, leave_largest_out=check, rollout=Rollout(sizes=np.unique(n), rows=rows))
    fig = runs_plot.runs_figure(broken)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any("failed" in t for t in labels) and any("worst error" in t for t in labels)
    assert not any("predicted" in t for t in labels)  # no finite prediction: no predicted marker
    plt.close(fig)
    draw(broken, tmp_path / "broken.png")
