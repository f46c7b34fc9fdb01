"""The engine's run options and the grokking task: the ``modular_classes`` task (a + b mod p over
the whole table, one-hot pairs), accuracy curves through ``RunSpec.curve_evals``, and the spec
options' bookkeeping (keys, round trips, the batched path)."""

from __future__ import annotations

import math

import pytest
import torch

from scaling_claims.engine import train
from scaling_claims.engine.data import make_task
from scaling_claims.engine.ensemble import group_key, train_ensemble
from scaling_claims.engine.specs import (Budget, DataSpec, EarlyStop, EvalSpec, ModelSpec, OptimSpec, RunResult, RunSpec,
                                         StopWhen)
from scaling_claims.engine.training import batched_path, train_plain, validate

ERR = "classification.error"


def task(p=11, frac=0.5, seed=0):
    return make_task(DataSpec.make("modular_classes", p=p, train_frac=frac, seed=seed))


def grok_spec(p=11, steps=40, every=10, curve_evals=True, **optim):
    return RunSpec(model=ModelSpec(arch="mlp", d_in=2 * p, hidden=(32,), d_out=p),
                   data=DataSpec.make("modular_classes", p=p, train_frac=0.5),
                   optim=OptimSpec(**{"lr": 1e-2, "weight_decay": 1.0, "beta2": 0.98, "batch_size": p * p,
                                      "grad_clip": 0.0, "schedule": "constant", **optim}),
                   budget=Budget(steps=steps), eval_every=every, eval_batches=1,
                   curve_evals=(EvalSpec.make(ERR, n_test=p * p, batch_size=p * p),) if curve_evals else ())


def test_the_table_is_split_once_into_train_and_held_out():
    t = task(p=11, frac=0.3)
    tr, ho = t.train_set(), t.held_out_set()
    assert t.n_train == round(0.3 * 121) and len(tr) == t.n_train and len(ho) == 121 - t.n_train
    pairs = lambda b: set(zip(b.info["a"].tolist(), b.info["b"].tolist()))  # noqa: E731
    assert pairs(tr).isdisjoint(pairs(ho)) and len(pairs(tr) | pairs(ho)) == 121
    # one-hot pairs with the right label
    for batch in (tr, ho):
        a, b = batch.x[:, :11].argmax(1), batch.x[:, 11:].argmax(1)
        assert torch.equal(a, batch.info["a"]) and torch.equal(b, batch.info["b"])
        assert torch.equal(batch.y, (a + b) % 11) and torch.equal(batch.x.sum(1), torch.full((len(batch),), 2.0))
    # the same split as the sequence task ``modular`` with the same seed
    seq = make_task(DataSpec.make("modular", p=11, train_frac=0.3, seed=0))
    assert seq.problems(None, "train").info["a"].tolist() == tr.info["a"].tolist()
    assert task(p=11, frac=0.3, seed=1).train_set().info["a"].tolist() != tr.info["a"].tolist()


def test_full_batch_training_and_the_held_out_batches():
    t = task(p=11, frac=0.5)
    assert t.train_batch(0, 10_000) is t.train_set() and t.train_batch(7, t.n_train) is t.train_set()
    small = [t.train_batch(s, 10) for s in range(t.n_train // 10)]  # one epoch: every example once
    assert len({int(i) for b in small for i in b.info["a"] * 11 + b.info["b"]}) == 10 * (t.n_train // 10)
    assert torch.equal(t.train_batch(3, 10).x, t.train_batch(3, 10).x)
    batches = t.eval_batches(100, 16)  # a finite set: never repeated
    assert sum(len(b) for b in batches) == t.n_held_out
    assert torch.equal(torch.cat([b.y for b in batches]), t.held_out_set().y)
    assert sum(len(b) for b in t.eval_batches(1, 16)) == 16


@pytest.mark.parametrize("options, message", [({"p": 1}, "p"), ({"train_frac": 1.0}, "train_frac"),
                                              ({"train_frac": 0}, "train_frac"), ({"train_frac": True}, "train_frac")])
def test_bad_options_raise(options, message):
    with pytest.raises(ValueError, match=message):
        make_task(DataSpec.make("modular_classes", **options))


def test_curve_evals_give_accuracy_curves():
    r = train(grok_spec())
    assert r.ok, r.failure
    assert [pt["step"] for pt in r.curve] == [10, 20, 30, 40]
    for pt in r.curve:
        assert 0 <= pt[f"{ERR}/train_error"] <= 1 and 0 <= pt[f"{ERR}/test_error"] <= 1
        assert pt[f"{ERR}/n_train"] == 60 and pt[f"{ERR}/n_test"] == 61
    # full batch: the curve's train-set figures come from the training set itself
    assert r.curve[-1][f"{ERR}/train_error"] < r.curve[0][f"{ERR}/train_error"]
    assert r.metrics == {}  # curve evals are not end-of-run evals


def test_curve_evals_do_not_change_the_training():
    """Evaluating along the way must not touch the training (RNG, model mode, numbers). Both
    through the single-model loop: without curve evals this tiny run would take the batched
    path, whose numbers differ from the single loop's by float rounding."""
    with_evals, without = train(grok_spec()), train_plain(grok_spec(curve_evals=False))
    assert [p["eval_loss"] for p in with_evals.curve] == [p["eval_loss"] for p in without.curve]
    assert [p["train_loss"] for p in with_evals.curve] == [p["train_loss"] for p in without.curve]


def test_unknown_curve_evaluator_is_a_value_error():
    with pytest.raises(ValueError, match="unknown evaluator"):
        validate(grok_spec().replace(curve_evals=(EvalSpec.make("classification.nope"),)))


def test_an_evaluator_named_twice_is_a_value_error():
    """Metrics are keyed "<name>/<metric>", so a second entry of one name would silently overwrite
    the first's numbers."""
    twice = (EvalSpec.make(ERR, n_test=11), EvalSpec.make(ERR, n_test=22))
    for field in ("evals", "curve_evals"):
        with pytest.raises(ValueError, match=f"RunSpec.{field} names \\['classification.error'\\] more than once"):
            grok_spec().replace(**{field: twice})
    grok_spec().replace(evals=(EvalSpec.make(ERR, n_test=11),), curve_evals=(EvalSpec.make(ERR, n_test=11),))


def test_options_keep_earlier_keys_and_round_trip():
    plain = grok_spec(curve_evals=False)
    assert "curve_evals" not in plain.to_dict() and "early_stop" not in plain.to_dict()
    for s in (grok_spec(), plain.replace(early_stop=EarlyStop(rtol=0.02)),
              plain.replace(stop_when=StopWhen("eval_loss", at_least=2.0, points=3))):
        again = RunSpec.from_dict(s.to_dict())
        assert again == s and again.key() == s.key()
    assert grok_spec().key() != plain.key()
    r = RunResult.from_dict({**train(grok_spec(steps=10)).to_dict()})
    assert r.early_stop is None


@pytest.mark.parametrize("bad, message", [(dict(form="cubic"), "form"), (dict(min_fraction=0), "min_fraction"),
                                          (dict(window=1), "window"), (dict(rtol=0), "rtol")])
def test_bad_early_stop_raises(bad, message):
    with pytest.raises(ValueError, match=message):
        EarlyStop(**bad)
    with pytest.raises(ValueError, match="early_stop"):
        grok_spec().replace(early_stop={"form": "power"})


def test_runs_with_curve_evals_or_early_stop_train_alone():
    """Such runs take the single-model loop: a batched ensemble has no per-member curve
    evaluations or stops."""
    tiny = grok_spec(p=5, steps=10, curve_evals=False, batch_size=4)
    t = validate(tiny)[1]
    assert batched_path(tiny, t) and group_key(tiny) is not None
    for s in (tiny.replace(curve_evals=grok_spec(p=5).curve_evals), tiny.replace(early_stop=EarlyStop()),
              tiny.replace(stop_when=StopWhen("eval_loss", at_most=1.0))):
        assert not batched_path(s, t) and group_key(s) is None
        with pytest.raises(ValueError, match="single runs"):
            train_ensemble([s])


def test_stop_when_ends_the_run_once_its_condition_held_long_enough():
    full = train(grok_spec(steps=60))
    errors = [p[f"{ERR}/train_error"] for p in full.curve]
    threshold = errors[2]  # met from the 3rd point on (train error falls monotonically here)
    assert all(e <= threshold for e in errors[2:]) and errors[1] > threshold
    r = train(grok_spec(steps=60).replace(stop_when=StopWhen(f"{ERR}/train_error", at_most=threshold, points=2)))
    assert r.ok and r.steps == 40 and [p["step"] for p in r.curve] == [10, 20, 30, 40]
    assert r.early_stop == {"rule": "stop_when", "step": 40, "planned_steps": 60,
                            "reason": f"{ERR}/train_error <= {threshold} at the last 2 curve points"}
    assert r.curve == full.curve[:4]  # the same run, cut short
    assert r.final_eval_loss == r.curve[-1]["eval_loss"]
    never = train(grok_spec(steps=30).replace(stop_when=StopWhen(f"{ERR}/train_error", at_most=-1.0)))
    assert never.steps == 30 and never.early_stop is None


def test_stop_when_on_a_metric_the_curve_lacks_is_a_value_error():
    with pytest.raises(ValueError, match="no metric"):
        train(grok_spec(steps=20).replace(stop_when=StopWhen("accuracy", at_least=0.5, points=1)))


@pytest.mark.parametrize("bad, message", [(dict(metric=""), "metric"), (dict(metric="x"), "exactly one"),
                                          (dict(metric="x", at_most=1, at_least=0), "exactly one"),
                                          (dict(metric="x", at_most=1, points=0), "points")])
def test_bad_stop_when_raises(bad, message):
    with pytest.raises(ValueError, match=message):
        StopWhen(**bad)


def lm_spec(**changes):
    return RunSpec(model=ModelSpec(n_layer=1, d_model=32, n_head=2, ctx=32, vocab_size=256),
                   data=DataSpec.make("stdlib"), optim=OptimSpec(batch_size=8, schedule="constant"),
                   budget=Budget(steps=200), eval_every=10, eval_batches=2).replace(**changes)


@pytest.mark.parametrize("form", ["power", "annealing"])
def test_early_stop_ends_a_run_once_its_forecast_is_stable(form):
    """The trainer applies ``fit.forecast.early_stop_decision`` at each curve point: a loose
    rule stops the run and records the forecast; the numbers up to the stop are the full run's."""
    full = train(lm_spec())
    r = train(lm_spec(early_stop=EarlyStop(form=form, min_fraction=0.2, window=2, rtol=0.5)))
    assert r.ok and r.early_stop is not None and r.steps < 200
    e = r.early_stop
    assert e["rule"] == "early_stop" and e["step"] == r.steps and e["planned_steps"] == 200 and e["form"] == form
    assert e["step"] >= 0.2 * 200 and math.isfinite(e["forecast_final_eval_loss"]) and e["reason"]
    assert [p["eval_loss"] for p in r.curve] == [p["eval_loss"] for p in full.curve[:len(r.curve)]]
    # a rule that can never be met (rtol tiny) runs the whole budget
    never = train(lm_spec(budget=Budget(steps=60), early_stop=EarlyStop(form=form, min_fraction=0.5, rtol=1e-12)))
    assert never.steps == 60 and never.early_stop is None


def test_early_stop_forecasts_from_the_curve_after_warmup(monkeypatch):
    """The forecast laws do not describe the warmup: the rule sees only the points after it."""
    import scaling_claims.fit.forecast as forecast

    seen = []
    real = forecast.early_stop_decision

    def spy(steps, losses, total_steps, **kw):
        seen.append(list(steps))
        return real(steps, losses, total_steps, **kw)

    monkeypatch.setattr(forecast, "early_stop_decision", spy)
    r = train(lm_spec(budget=Budget(steps=80), optim=OptimSpec(batch_size=8, warmup_steps=35),
                      early_stop=EarlyStop(min_fraction=0.5, rtol=1e-12)))
    assert r.steps == 80 and seen and all(min(s) > 35 for s in seen)
    assert seen[0] == [40] and seen[-1] == [40, 50, 60, 70]  # the last point (step 80) ends the run anyway
