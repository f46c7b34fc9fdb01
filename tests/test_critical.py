"""The critical-size search (``scaling_claims.studies.critical``) and its agreement check
(``checks.bracket_within``): the bracket always contains the crossing of a monotone curve and
stops for the stated reason; every probe of ``bisect_runs`` goes through the run cache (a second
search trains nothing); bad input raises ``ValueError``. (The check's three verdicts on realistic
data are in test_negative_controls.py.)"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from fake_train import fake_train
from scaling_claims.verdicts import checks
from scaling_claims.runs.cache import RunCache
from scaling_claims.verdicts.checks import CONFIRMED, INCONCLUSIVE, REFUTED
from scaling_claims.studies.critical import STOP_REASONS, Probe, bisect_crossing, bisect_runs
from scaling_claims.verdicts.estimates import Estimate
from scaling_claims.runs.executors import InProcessExecutor
from scaling_claims.engine.specs import Budget, DataSpec, ModelSpec, OptimSpec, RunSpec
from scaling_claims.runs.sweep import run_sweep


def logistic(mid: float, slope: float = 3.0):
    return lambda n: 1.0 / (1.0 + math.exp(-slope * (math.log(n) - math.log(mid))))


def test_continuous_search_brackets_a_known_crossing_to_10_percent():
    b = bisect_crossing(logistic(3.3e4), 2.5e4, 5.7e4)
    assert b.stopped == "resolved" and b.resolved and b.ratio <= 1.1
    assert b.lo.size < 3.3e4 <= b.hi.size and b.lo.value < 0.5 <= b.hi.value
    # halving ln(hi/lo) = 0.82 down to ln 1.1 = 0.095 takes ceil(log2(8.6)) = 4 probes
    assert len(b.new_probes) == 4 and b.probes[:2] == (Probe(2.5e4, b.probes[0].value), Probe(5.7e4, b.probes[1].value))
    assert b.centre == pytest.approx(math.sqrt(b.lo.size * b.hi.size))
    assert set(b.to_dict()) >= {"lo", "hi", "ratio", "stopped", "probes"}


def test_a_coarse_family_stops_at_granularity():
    sizes = [24 * w * w + 28 * w for w in range(32, 49, 2)]  # the emergence ladder's even widths
    b = bisect_crossing(logistic(3.3e4), sizes[0], sizes[-1], sizes=sizes)
    assert b.stopped == "granularity" and not b.resolved
    assert sizes.index(b.hi.size) == sizes.index(b.lo.size) + 1  # adjacent realisable sizes
    assert all(p.size in sizes for p in b.probes)


def test_max_probes_and_a_decreasing_metric():
    loss = lambda n: 10.0 * n ** -0.3  # noqa: E731  (crosses 1.0 at n = 10**(1/0.3) = 2154)
    b = bisect_crossing(loss, 10, 1e6, level=1.0, increasing=False, max_probes=2)
    assert b.stopped == "max_probes" and len(b.new_probes) == 2
    full = bisect_crossing(loss, 10, 1e6, level=1.0, increasing=False)
    assert full.lo.size < 10 ** (1 / 0.3) <= full.hi.size and full.lo.value > 1.0 >= full.hi.value


@given(log_mid=st.floats(math.log(2e3), math.log(5e5)), slope=st.floats(0.5, 10.0),
       below=st.floats(0.05, 3.0), above=st.floats(0.05, 3.0), rtol=st.floats(0.01, 0.5),
       grid=st.sampled_from([None, 7, 40]))
def test_the_bracket_always_contains_the_crossing(log_mid, slope, below, above, rtol, grid):
    mid = math.exp(log_mid)
    lo, hi = mid * math.exp(-below), mid * math.exp(above)
    sizes = None if grid is None else sorted({lo, hi, *(lo * (hi / lo) ** (i / grid) for i in range(1, grid))})
    f = logistic(mid, slope)
    assume(f(lo) < 0.5 <= f(hi))
    b = bisect_crossing(f, lo, hi, rtol=rtol, sizes=sizes)
    assert b.lo.size < mid <= b.hi.size * (1 + 1e-9)
    assert b.stopped in STOP_REASONS
    if b.stopped == "resolved":
        assert b.ratio <= 1 + rtol
    else:  # granularity: no realisable size strictly inside
        assert b.stopped == "granularity" and not any(b.lo.size < s < b.hi.size for s in sizes)


@pytest.mark.parametrize("call, match", [
    (lambda: bisect_crossing(logistic(1e4), 2e4, 5e4), "does not bracket"),
    (lambda: bisect_crossing(logistic(1e4), 5e4, 2e4), "0 < lo < hi"),
    (lambda: bisect_crossing(logistic(1e4), 1e3, 1e5, rtol=0), "rtol"),
    (lambda: bisect_crossing(logistic(1e4), 1e3, 1e5, max_probes=-1), "max_probes"),
    (lambda: bisect_crossing(logistic(1e4), 1e3, 1e5, level=math.nan), "finite"),
    (lambda: bisect_crossing(logistic(1e4), 1e3, 1e5, sizes=[1e3, 1e4]), "realisable"),
    (lambda: bisect_crossing(lambda n: math.nan if 1e3 < n < 1e5 else float(n > 1e4), 1e3, 1e5), "finite"),
    (lambda: bisect_runs(lambda n: [], lambda r: 0.0, lambda s: [], 1, 10), "no specs"),
])
def test_bad_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ----------------------------------------------------------------------------- through the run cache

def width_spec(width: int, seed: int) -> RunSpec:
    return RunSpec(model=ModelSpec(n_layer=1, d_model=int(width), n_head=1, ctx=16),
                   data=DataSpec.make("copy", length=4, alphabet=(1, 2)), budget=Budget(steps=5),
                   optim=OptimSpec(lr=1e-3), seed=seed)


def test_every_probe_goes_through_the_run_cache(tmp_path, monkeypatch):
    """fake_train's loss is 2 + 1000 / width + seed / 100: the mean over seeds 0-2 crosses 12
    at width 1000 / 9.99 = 100.1. A second search reads every probe from the cache."""
    log = tmp_path / "train.log"
    monkeypatch.setenv("FAKE_TRAIN_LOG", str(log))
    cache, ex = RunCache(tmp_path / "cache"), InProcessExecutor()

    def run(specs):
        return run_sweep(specs, cache, ex, train_fn=fake_train, progress=False)

    def search():
        return bisect_runs(lambda w: [width_spec(w, s) for s in (0, 1, 2)],
                           lambda rs: sum(r.final_train_loss for r in rs) / len(rs), run, 16, 512,
                           level=12.0, increasing=False, sizes=range(16, 513), rtol=0.05)

    first = search()
    trained = Path(log).read_text().splitlines()
    assert len(trained) == 3 * len(first.probes)  # each probe's 3 seeds trained once
    assert first.lo.size <= 100 < first.hi.size and first.stopped in ("resolved", "granularity")
    assert all(len(p.runs) == 3 for p in first.probes)
    second = search()
    assert Path(log).read_text().splitlines() == trained  # nothing trained again
    assert [p.size for p in second.probes] == [p.size for p in first.probes]


# ----------------------------------------------------------------------------- the agreement check

REF = Estimate(3.3e4, 2.5e4, 4.5e4)


def bracket(lo, hi):
    return Estimate.interval(math.sqrt(lo * hi), lo, hi, 1.0, "bisection bracket")


def test_bracket_within_verdicts_and_messages():
    searched = (1e4, 1e5)
    ok = checks.bracket_within("agrees", bracket(3e4, 3.3e4), REF, searched)
    assert ok.verdict == CONFIRMED and "bracket [3e+04, 3.3e+04] lies inside" in ok.message
    assert checks.bracket_within("agrees", bracket(5e4, 5.5e4), REF, searched).verdict == REFUTED
    assert checks.bracket_within("agrees", bracket(4.2e4, 4.7e4), REF, searched).verdict == INCONCLUSIVE
    # the reference covers the whole searched range: agreement could not have failed
    vacuous = checks.bracket_within("agrees", bracket(3e4, 3.3e4), REF, (2.6e4, 4.4e4))
    assert vacuous.verdict == INCONCLUSIVE and "cannot be tested" in vacuous.message
    flagged = Estimate(3.3e4, math.nan, math.nan, problem="no point on the rise")
    assert checks.bracket_within("agrees", bracket(3e4, 3.3e4), flagged, searched).verdict == INCONCLUSIVE


@pytest.mark.parametrize("call", [
    lambda: checks.bracket_within("x", 3.1e4, REF, (1e4, 1e5)),  # a bare number
    lambda: checks.bracket_within("x", bracket(3e4, 3.3e4), REF, (1e5, 1e4)),  # inverted range
    lambda: checks.bracket_within("x", bracket(3e4, 3.3e4), REF, (3.1e4, 1e5)),  # bracket outside the range
    lambda: checks.bracket_within("x", bracket(3e4, 3.3e4), REF, (math.nan, 1e5)),
])
def test_bracket_within_bad_input(call):
    with pytest.raises(ValueError):
        call()


def test_bracket_agrees_with_verdicts_and_messages():
    """The ratio interval, bracket ends over the estimate's interval ends, against [1/1.1, 1.1]."""
    narrow = Estimate(3.15e4, 3.05e4, 3.25e4)
    ok = checks.bracket_agrees_with("agrees", bracket(3e4, 3.3e4), narrow, 1.1)
    assert ok.verdict == CONFIRMED and ok.measured.lo == pytest.approx(3e4 / 3.25e4)
    assert ok.measured.hi == pytest.approx(3.3e4 / 3.05e4) and "(inside the bracket)" in ok.message
    far = checks.bracket_agrees_with("agrees", bracket(5e4, 5.5e4), narrow, 1.1)
    assert far.verdict == REFUTED and "disagree by more than 1.1x" in far.message
    # inside REF's interval, so bracket_within confirms, but REF is 1.8x wide: agreement to 10% is not shown
    wide = checks.bracket_agrees_with("agrees", bracket(3e4, 3.3e4), REF, 1.1)
    assert checks.bracket_within("agrees", bracket(3e4, 3.3e4), REF, (1e4, 1e5)).verdict == CONFIRMED
    assert wide.verdict == INCONCLUSIVE and "straddles" in wide.message and "1.8x wide" in wide.message
    flagged = Estimate(3.3e4, math.nan, math.nan, problem="no point on the rise")
    assert checks.bracket_agrees_with("agrees", bracket(3e4, 3.3e4), flagged, 1.1).verdict == INCONCLUSIVE


@pytest.mark.parametrize("call", [
    lambda: checks.bracket_agrees_with("x", 3.1e4, REF, 1.1),  # a bare number
    lambda: checks.bracket_agrees_with("x", bracket(3e4, 3.3e4), REF, 1.0),  # a factor that allows nothing
    lambda: checks.bracket_agrees_with("x", bracket(3e4, 3.3e4), REF, math.nan),
    lambda: checks.bracket_agrees_with("x", bracket(3e4, 3.3e4), Estimate(0.0, -1.0, 1.0), 1.1),  # not a size
])
def test_bracket_agrees_with_bad_input(call):
    with pytest.raises(ValueError):
        call()
