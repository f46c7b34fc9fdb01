"""Kaplan et al. 2020, "Scaling Laws for Neural Language Models", on the stdlib byte corpus.

Paper: L(N) = (N_c/N)**alpha_N with alpha_N ~ 0.076 (N non-embedding), L(D) = (D_c/D)**alpha_D
with alpha_D ~ 0.095, and loss depends only weakly on shape at fixed N (CLAIMS.md section 1).

What a miniature run can and cannot show (and where we deviate from the paper's method):
- Kaplan's alpha_N is for models trained to convergence. A 2-core CPU cannot afford that; every
  L(N) run here sees the same D = 800k tokens (quick), so L(N) = L_D + (N_c/N)**alpha with L_D
  the data-limited floor. We therefore fit the paper's pure power law (its exponent is the
  number comparable to 0.076) *and* a power law with an offset (CLAIMS.md: include an
  irreducible term), which carries the goodness-of-fit and extrapolation claims.
- Kaplan's L(D) is early-stopped training on a data set of D tokens; ours is single-epoch
  training on D fresh tokens with a cosine schedule sized to D (no repetition), i.e. it mixes
  data scaling with optimisation length.
- Seeds: 3 per point (quick), medians used; the seed spread is 0.01-0.05 nats, which is why
  the ladder's rungs are x2 apart in N (their loss gaps are ~0.05-0.12 nats).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scaling_claims import checks, ladders, plots
from scaling_claims.fit import fit_power_law, leave_largest_out
from scaling_claims.sweep import require_ok

PAPER = "Kaplan et al. 2020"
ALPHA_N_PAPER = 0.076
ALPHA_D_PAPER = 0.095
# Band for a pure power-law exponent: Henighan et al. 2020 measured 0.07 (text) to 0.24
# (images) across domains with Kaplan's form, and a small C4 replication 0.072; CLAIMS.md
# proposes about 0.03-0.3. Anything outside means loss barely moved (< 0.03) or fell faster
# than any published L(N) or L(D).
EXPONENT_BAND = (0.03, 0.30)
R2_MIN = 0.95  # CLAIMS.md; the offset law has 3 parameters for 5-9 medians
# Kaplan Fig. 5: aspect ratio varied 40x changes loss by about 3% at fixed N.
SHAPE_TOLERANCE = 0.03

LEVELS = [pytest.param("quick", marks=pytest.mark.quick), pytest.param("slow", marks=pytest.mark.slow)]



def _medians(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Median, min and max held-out loss over seeds per group, sorted by the first key."""
    g = df.groupby(by).final_eval_loss
    out = pd.DataFrame({"loss": g.median(), "lo": g.min(), "hi": g.max(), "n_seeds": g.size()}).reset_index()
    return out.sort_values(by[0]).reset_index(drop=True)


def _paper_slope(alpha: float, x0: float, y0: float):
    """The paper's exponent drawn through our smallest point: Kaplan's constants (N_c, D_c) are
    in nats per BPE token of WebText2, ours in nats per byte, so only the slope is comparable."""
    return (f"paper's exponent {alpha} (through our first point)", lambda x: y0 * (np.asarray(x) / x0) ** -alpha)


def _claim_id(base: str, level: str) -> str:
    return base if level == "quick" else f"{base}-slow"


def _pure_law_checks(claim, name: str, x: np.ndarray, m: pd.DataFrame, pure, paper: float):
    """The checks shared by L(N) and L(D): monotone medians, exponent band, offset-law fit,
    and extrapolation of the offset law from the smaller points to the largest."""
    offset = fit_power_law(x, m.loss, offset=True)
    held = leave_largest_out(fit_power_law, x, m.loss.to_numpy(), offset=True)
    # Tolerance for the extrapolation: half the relative loss drop between the two largest
    # points. CLAIMS.md asks for "a few percent", but our adjacent points differ by only 2-5%,
    # so a flat "no further improvement" guess would pass a 5% bar: half the last drop is the
    # bar a flat guess fails (the negative control below proves it does).
    drop = (m.loss.iloc[-2] - m.loss.iloc[-1]) / m.loss.iloc[-1]
    rtol = max(drop / 2, 1e-3)
    flat = checks.relative_error("flat guess (control)", m.loss.iloc[-2], m.loss.iloc[-1], rtol)
    if flat.passed:
        pytest.fail(f"extrapolation check cannot discriminate: the flat guess passes ({flat.message})")
    claim.note(f"offset law: exponent {offset.exponent:.3g}, offset {offset.offset:.3g}, R^2 {offset.r2:.4f}")
    claim.note(f"leave-largest-out: predicted {held.predicted[0]:.4f} vs {held.observed[0]:.4f} "
               f"(rtol {rtol:.4f} = half the last drop {drop:.4f})")
    claim.check_all(
        checks.monotone(f"{name} medians decrease", m.loss, "decreasing"),
        checks.within_band(f"pure power-law exponent (paper {paper})", pure.exponent, *EXPONENT_BAND),
        checks.r2_at_least("power law with offset fits (log space)", offset.r2, R2_MIN),
        checks.relative_error("offset law predicts the largest point", held.predicted[0], held.observed[0], rtol),
    )
    return offset


@pytest.mark.parametrize("level", LEVELS)
def test_parameter_scaling(level, sweep, budget_scale, device, claim):
    plan = ladders.kaplan_plan(level)
    claim.declare(_claim_id("kaplan-alpha-N", level), paper=PAPER, claim="L(N) = (N_c/N)^alpha_N",
                  quantity="alpha_N (pure power law, non-embedding N)", paper_value=ALPHA_N_PAPER,
                  tolerance=f"in [{EXPONENT_BAND[0]}, {EXPONENT_BAND[1]}]; offset law R^2 >= {R2_MIN}; "
                            "extrapolation within half the last loss drop",
                  justification="exponent band: range of published L(N) exponents across domains "
                                "(Henighan 2020); runs are data-limited at fixed D, so not the paper's regime",
                  param_convention="non_embedding", budget=f"{plan.tokens * budget_scale:.3g} tokens per run")
    df = require_ok(sweep(ladders.kaplan_n_specs(plan, budget_scale, device), desc=f"kaplan L(N) {level}"))
    claim.runs(df)
    m = _medians(df, ["params_non_embedding", "model.d_model"])
    N = m.params_non_embedding.to_numpy(float)
    pure = fit_power_law(N, m.loss)
    claim.measured(pure.exponent, ci=pure.ci["exponent"])
    claim.points(m)
    claim.fit(pure)
    claim.note(f"N from {N.min():.3g} to {N.max():.3g} ({np.log10(N.max() / N.min()):.2f} decades), "
               f"D = {int(df.tokens.iloc[0])} tokens, seeds {list(plan.seeds)}")
    offset = fit_power_law(N[:-1], m.loss[:-1], offset=True)
    claim.plot(plots.scaling_plot, N[:-1], m.loss[:-1], fit=offset, extrapolate_to=float(N[-1]),
               held_out=(N[-1:], m.loss.to_numpy()[-1:]), yerr=[m.loss[:-1] - m.lo[:-1], m.hi[:-1] - m.loss[:-1]],
               paper_law=_paper_slope(ALPHA_N_PAPER, N[0], m.loss.iloc[0]),
               xlabel="non-embedding parameters N", ylabel="held-out loss (nats/byte)",
               title=f"L(N) at D={int(df.tokens.iloc[0]):,} tokens (median of {len(plan.seeds)} seeds)",
               fit_label="power law + offset (smaller models)")
    _pure_law_checks(claim, "L(N)", N, m, pure, ALPHA_N_PAPER)


@pytest.mark.parametrize("level", LEVELS)
def test_data_scaling(level, sweep, budget_scale, device, claim):
    plan = ladders.kaplan_plan(level)
    claim.declare(_claim_id("kaplan-alpha-D", level), paper=PAPER, claim="L(D) = (D_c/D)^alpha_D",
                  quantity="alpha_D (pure power law, tokens seen)", paper_value=ALPHA_D_PAPER,
                  tolerance=f"in [{EXPONENT_BAND[0]}, {EXPONENT_BAND[1]}]; offset law R^2 >= {R2_MIN}; "
                            "extrapolation within half the last loss drop",
                  justification="same band as alpha_N; single-epoch D (tokens seen), not Kaplan's "
                                "early-stopped data-set size",
                  param_convention="non_embedding", budget=f"width {plan.d_width}, up to {plan.tokens * budget_scale:.3g} tokens")
    df = require_ok(sweep(ladders.kaplan_d_specs(plan, budget_scale, device), desc=f"kaplan L(D) {level}"))
    claim.runs(df)
    m = _medians(df, ["tokens"])
    D = m.tokens.to_numpy(float)
    pure = fit_power_law(D, m.loss)
    claim.measured(pure.exponent, ci=pure.ci["exponent"])
    claim.points(m)
    claim.fit(pure)
    claim.note(f"model: width {plan.d_width}, depth 2, N = {int(df.params_non_embedding.iloc[0])} non-embedding")
    offset = fit_power_law(D[:-1], m.loss[:-1], offset=True)
    claim.plot(plots.scaling_plot, D[:-1], m.loss[:-1], fit=offset, extrapolate_to=float(D[-1]),
               held_out=(D[-1:], m.loss.to_numpy()[-1:]), yerr=[m.loss[:-1] - m.lo[:-1], m.hi[:-1] - m.loss[:-1]],
               paper_law=_paper_slope(ALPHA_D_PAPER, D[0], m.loss.iloc[0]),
               xlabel="training tokens D (bytes seen, one epoch)", ylabel="held-out loss (nats/byte)",
               title=f"L(D), width {plan.d_width} (median of {len(plan.seeds)} seeds)",
               fit_label="power law + offset (smaller D)")
    _pure_law_checks(claim, "L(D)", D, m, pure, ALPHA_D_PAPER)


@pytest.mark.parametrize("level", LEVELS)
def test_shape_insensitivity(level, sweep, budget_scale, device, claim):
    plan = ladders.kaplan_plan(level)
    claim.declare(_claim_id("kaplan-shape", level), paper=PAPER,
                  claim="at fixed N, loss depends only weakly on depth vs width",
                  quantity="(max - min) / min of median loss across shapes", paper_value=SHAPE_TOLERANCE,
                  tolerance=f"<= {SHAPE_TOLERANCE:.0%}",
                  justification="Kaplan Fig. 5: aspect ratio varied 40x moves loss by about 3%",
                  param_convention="non_embedding", budget=f"{plan.tokens * budget_scale:.3g} tokens per run")
    df = require_ok(sweep(ladders.shape_specs(plan, budget_scale, device), desc=f"kaplan shape {level}"))
    claim.runs(df)
    df = df.assign(aspect=df["model.d_model"] / df["model.n_layer"])
    m = _medians(df, ["aspect", "model.n_layer", "model.d_model", "params_non_embedding"])
    spread = float((m.loss.max() - m.loss.min()) / m.loss.min())
    claim.measured(spread)
    claim.points(m)
    n = m.params_non_embedding
    claim.note(f"non-embedding N from {n.min()} to {n.max()} (not corrected with an L(N) fit, unlike Kaplan; "
               f"at alpha_N ~ 0.1 that spread alone moves loss by < {0.1 * np.log(n.max() / n.min()):.1%})")
    claim.plot(plots.grouped_plot, {f"(n_layer, d_model) median of {len(plan.seeds)} seeds": (m.aspect, m.loss),
                                    "seed min": (m.aspect, m.lo), "seed max": (m.aspect, m.hi)},
               styles=["o-", "v:", "^:"], logx=True, xlabel="aspect ratio d_model / n_layer",
               ylabel="held-out loss (nats/byte)", hline=(f"min x (1 + {SHAPE_TOLERANCE:.0%})",
                                                          float(m.loss.min() * (1 + SHAPE_TOLERANCE))),
               title=f"Shape at N ~ {int(n.median()):,} (Kaplan: within ~3%)")
    claim.note("per shape (n_layer, d_model): " + ", ".join(
        f"({r['model.n_layer']}, {r['model.d_model']}): {r.loss:.4f}" for _, r in m.iterrows()))
    check = checks.at_most("relative loss spread across shapes", spread, SHAPE_TOLERANCE)
    if level == "quick":
        # Measured: 6.5% (the deep-narrow (4, 16) model, one 16-wide head, is worst; (1, 36) best).
        # At 800k tokens these 1.3e4-parameter models are far from converged and narrow ones
        # learn slower per token; Kaplan's 3% holds for converged models of 1e6-1e9 parameters.
        claim.expect_refuted(check, "miniature, data-limited models: shape matters more than 3%")
    else:
        claim.check(check)
