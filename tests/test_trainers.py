"""Bring your own trainer (docs/trainers.md): loading a trainer by name, its identity and the run
cache's folder for it, the RunResult contract, every executor honouring it, ``Unsupported`` specs
reported inconclusive with the reason, the conformance report; the plain-PyTorch adapter keeping
the engine's conventions; each broken trainer's fault, shown at the level of one run.

The claim-level negative controls (broken trainers breaking the claims they must, the others
keeping their verdicts) are in tests/test_trainers_conformance.py.
"""

from __future__ import annotations

import json
import math
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

import byo_trainers
from scaling_claims.verdicts import conformance
from scaling_claims.engine import Budget, DataSpec, EvalSpec, ModelSpec, OptimSpec, RunSpec, StopWhen
from scaling_claims.runs.cache import RunCache, trainer_folder
from scaling_claims.runs.executors import InProcessExecutor, PoolExecutor
from scaling_claims.runs.sweep import run_sweep
from scaling_claims.runs.trainer import (UNSUPPORTED, MalformedResult, TrainerRef, check_result, is_unsupported,
                                         load_trainer)

pytest_plugins = ["pytester"]
TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent


def toy(width: int = 8, task: str = "stdlib", steps: int = 4, seed: int = 0, **options) -> RunSpec:
    return RunSpec(model=ModelSpec(n_layer=1, d_model=width, n_head=2, ctx=16), data=DataSpec.make(task, **options),
                   optim=OptimSpec(batch_size=4), budget=Budget(steps=steps), seed=seed)


# ----------------------------------------------------------------------------- loading and identity

@pytest.mark.parametrize("name, message", [
    ("plain_torch", "must be MODULE:FUNCTION"),
    ("no_such_module_xyz:train", "cannot import module 'no_such_module_xyz'"),
    ("byo_trainers:missing", "has no 'missing'"),
    ("byo_trainers:os", "not a function"),
])
def test_a_bad_trainer_name_says_what_is_wrong(name, message):
    with pytest.raises(ValueError, match=message):
        load_trainer(name)


def test_the_engine_is_no_trainer_ref():
    assert load_trainer(None) is None and load_trainer("engine") is None


def test_identity_is_the_name_and_a_version_and_pickles_by_name():
    ref = load_trainer("byo_trainers:valid")
    assert ref.identity.startswith("byo_trainers:valid@") and len(ref.version) == 12
    assert load_trainer("byo_trainers:versioned").identity == "byo_trainers:versioned@v7"
    assert pickle.loads(pickle.dumps(ref)) == ref
    assert ref.root == str(TESTS)


def test_a_worker_imports_the_trainer_from_its_import_root(tmp_path):
    """A fresh process with the trainer's folder nowhere on its path (a spawn worker, a Ray worker
    on this machine) imports it from the root recorded on the driver."""
    ref = load_trainer("byo_trainers:valid")
    blob = tmp_path / "ref.pkl"
    blob.write_bytes(pickle.dumps((ref, toy())))
    code = ("import pickle, sys; ref, spec = pickle.load(open(sys.argv[1], 'rb')); r = ref(spec); "
            "print(r.status, r.env['trainer'])")
    out = subprocess.run([sys.executable, "-c", code, str(blob)], cwd=tmp_path, capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}, check=True)
    assert out.stdout.split() == ["ok", ref.identity]


# ----------------------------------------------------------------------------- the contract

@pytest.mark.parametrize("trainer, field", [
    ("nan_loss", "final_eval_loss"), ("no_params", "params"), ("wrong_key", "key"), ("not_a_result", "RunResult")])
def test_a_malformed_result_is_a_failed_run_naming_the_field(trainer, field):
    ref = load_trainer(f"byo_trainers:{trainer}")
    result = ref(toy())
    assert result.status == "failed" and field in result.failure and f"byo_trainers:{trainer}" in result.failure
    with pytest.raises(MalformedResult, match=field):
        check_result(toy(), getattr(byo_trainers, trainer)(toy()))


def test_a_missing_evaluation_is_named():
    spec = toy().replace(evals=(EvalSpec.make("loss"),))
    bad = byo_trainers.valid(spec.replace(evals=()))
    bad.key, bad.spec = spec.key(), spec.to_dict()
    with pytest.raises(MalformedResult, match="metrics.*'loss'"):
        check_result(spec, bad)
    assert check_result(spec, byo_trainers.valid(spec)).ok


def test_unsupported_is_recorded_with_its_reason():
    result = load_trainer("byo_trainers:refuses_copy")(toy(task="copy", length=4))
    assert is_unsupported(result) and result.failure == UNSUPPORTED + "this stack has no copy task"


# ----------------------------------------------------------------------------- the cache and the executors

def test_the_engines_records_stay_where_they_were_and_each_trainer_has_its_own(tmp_path):
    spec = toy()
    engine = RunCache(tmp_path)
    assert engine.path(spec.key()) == tmp_path.resolve() / "runs" / f"{spec.key()}.json"
    a, b = load_trainer("byo_trainers:valid"), load_trainer("byo_trainers:versioned")
    ca, cb = RunCache(tmp_path, trainer=a.identity), RunCache(tmp_path, trainer=b.identity)
    assert ca.root == tmp_path.resolve() / trainer_folder(a.identity) and ca.root != cb.root
    run_sweep([spec], ca, train_fn=a, progress=False)
    assert spec.key() in ca and spec.key() not in cb and spec.key() not in engine
    assert ca.get(spec.key()).env["trainer"] == a.identity
    # a new version of the same trainer is a new folder: its old runs are never reused
    assert trainer_folder(a.identity) != trainer_folder(TrainerRef(a.name, "other").identity)


@pytest.mark.parametrize("executor", ["inprocess", "pool"])
def test_every_executor_trains_with_the_trainer(tmp_path, executor):
    ref = load_trainer("byo_trainers:valid")
    specs = [toy(w, seed=s) for w in (8, 16) for s in (0, 1)]
    ex = InProcessExecutor() if executor == "inprocess" else PoolExecutor(workers=2)
    try:
        results = run_sweep(specs, RunCache(tmp_path, trainer=ref.identity), ex, train_fn=ref, progress=False)
    finally:
        ex.close()
    assert all(r.ok and r.env["trainer"] == ref.identity for r in results)
    assert [r.final_eval_loss for r in results] == [byo_trainers.valid(s).final_eval_loss for s in specs]


# ----------------------------------------------------------------------------- the plugin and the report

CLAIMS = """
import pytest
from scaling_claims.verdicts import checks
from scaling_claims.verdicts.estimates import Estimate
from scaling_claims.engine import Budget, DataSpec, ModelSpec, OptimSpec, RunSpec

def specs(task, **options):
    return [RunSpec(model=ModelSpec(n_layer=1, d_model=w, n_head=2, ctx=16), data=DataSpec.make(task, **options),
                    optim=OptimSpec(batch_size=4), budget=Budget(steps=3)) for w in (8, 16)]

def measure(claim, df):
    claim.runs(df)
    loss = Estimate.mean_t(list(df.final_eval_loss) + [float(df.final_eval_loss.mean())], what="runs")
    claim.measured(loss)
    claim.check(checks.at_most("loss below 100 nats", loss, 100.0))

@pytest.mark.claim("toy-corpus", paper="toy", quantity="loss", tolerance="<= 100", justification="a toy")
def test_corpus(sweep, claim):
    measure(claim, sweep(specs("stdlib")))

@pytest.mark.claim("toy-copy", paper="toy", quantity="loss", tolerance="<= 100", justification="a toy")
def test_copy(sweep, claim):
    measure(claim, sweep(specs("copy", length=4)))

@pytest.mark.claim("toy-analysis", paper="toy", quantity="x", tolerance="<= 100", justification="trains nothing")
def test_analysis(claim):
    claim.check(checks.at_most("x", Estimate.mean_t([1.0, 2.0, 3.0], what="x"), 100.0))
"""


@pytest.fixture
def claims_dir(pytester: pytest.Pytester, monkeypatch, tmp_path):
    monkeypatch.setenv("PYTHONPATH", f"{TESTS}:{REPO}")
    monkeypatch.setenv("SCALING_CLAIMS_CACHE", str(tmp_path / "cache"))
    pytester.makeconftest('pytest_plugins = ["scaling_claims.plugin.pytest_plugin", '
                          '"scaling_claims.plugin.claims_plugin"]\n')
    pytester.makeini("[pytest]\naddopts = --strict-markers -p no:cacheprovider -p no:xdist --executor inprocess\n")
    pytester.makepyfile(test_toy_claims=CLAIMS)
    return pytester


def _rows(path: Path) -> dict[str, dict]:
    return {r["claim_id"]: r for r in json.loads((path / "conformance.json").read_text())["rows"]}


def test_a_trainer_session_is_compared_with_the_engines(claims_dir, tmp_path):
    """The engine session is the reference; the trainer's session skips the claim it cannot honour
    (inconclusive, with the trainer's reason), keeps the others, names the trainer in its report
    and sets each verdict beside the engine's."""
    ref_dir, mine = tmp_path / "ref", tmp_path / "mine"
    claims_dir.runpytest_subprocess(f"--artifacts-dir={ref_dir}").assert_outcomes(passed=3)
    assert not (ref_dir / "trainer.json").exists()
    result = claims_dir.runpytest_subprocess("--trainer=byo_trainers:refuses_copy", f"--artifacts-dir={mine}",
                                             f"--reference={ref_dir}")
    result.assert_outcomes(passed=2, skipped=1)
    result.stdout.fnmatch_lines(["*conformance*", "*Trainer `byo_trainers:refuses_copy`*"])
    record = json.loads((mine / "records" / "toy-copy.json").read_text())
    assert record["verdict"] == "inconclusive" and "this stack has no copy task" in record["reason"]
    rows = _rows(mine)
    assert rows["toy-corpus"]["status"] == "same" and rows["toy-copy"]["status"] == "DIFFERENT"
    assert not rows["toy-analysis"]["trains"]
    assert json.loads((mine / "trainer.json").read_text())["trainer"] == "byo_trainers:refuses_copy"
    report = (mine / "report.md").read_text()
    assert "Trainer `byo_trainers:refuses_copy`" in report.splitlines()[2] and "## Conformance" in report
    assert "| toy-copy | inconclusive (skipped) | confirmed | **DIFFERENT** |" in (mine / "conformance.md").read_text()
    # the trainer's runs went to its own folder of the cache; the engine's stayed at the root
    assert list((tmp_path / "cache" / "trainers").iterdir()) and len(list((tmp_path / "cache" / "runs").iterdir())) == 4


def test_without_a_reference_the_report_says_so(tmp_path):
    art = tmp_path / "mine"
    art.mkdir()
    record = {"claim_id": "toy", "kind": "claim", "verdict": "confirmed", "outcome": "passed", "run_wall_time_s": 1.0}
    (art / "claims.json").write_text(json.dumps({"claims": [record]}))
    (art / "report.md").write_text("# Scaling claims: report\n\nthe table\n")
    info = conformance.trainer_info(load_trainer("byo_trainers:valid"), 1.0)
    lines = conformance.write(art, info, tmp_path / "nowhere")
    text = (art / "conformance.md").read_text()
    assert "Reference missing: no claim records under" in text and "| toy | confirmed | — | no reference |" in text
    assert "Reference missing" in lines[0] and "Trainer `byo_trainers:valid`" in (art / "report.md").read_text()
    # a folder written by another trainer's session is never a reference
    assert "holds a --trainer session" in conformance.reference_records(art, tmp_path / "other")[1]


def test_requested_sizes_trained_as_one_model_are_named():
    from scaling_claims.plugin.pytest_plugin import collapsed_sizes

    one = load_trainer("byo_trainers:one_size")
    assert collapsed_sizes([one(toy(w)) for w in (8, 16)]).startswith("2 requested model sizes (")
    assert "one model of 5,000 parameters" in collapsed_sizes([one(toy(w)) for w in (8, 16)])
    assert collapsed_sizes([load_trainer("byo_trainers:valid")(toy(w)) for w in (8, 16)]) == ""
    assert collapsed_sizes([one(toy(8, seed=s)) for s in (0, 1)]) == ""  # one requested size: nothing collapsed


def test_conformance_rows_at_other_sizes_are_not_compared():
    rec = {"claim_id": "c", "verdict": "refuted", "outcome": "failed", "budget": "1e5 tokens", "seeds": [0],
           "run_wall_time_s": 1.0, "checks": [{"name": "slope", "verdict": "refuted"}]}
    same_size = {**rec, "verdict": "confirmed", "outcome": "passed", "checks": [{"name": "slope", "verdict": "confirmed"}]}
    row = conformance.compare([rec], {"c": same_size})[0]
    assert row["status"] == "DIFFERENT" and row["changed_checks"] == ["slope: confirmed -> refuted"]
    row = conformance.compare([rec], {"c": {**same_size, "budget": "1e6 tokens"}})[0]
    assert row["status"] == "other sizes" and "1e6 tokens" in row["why"]


def test_the_cli_run_takes_a_trainer(tmp_path, monkeypatch):
    from scaling_claims.tool.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(TESTS))
    (tmp_path / "specs.json").write_text(json.dumps([toy(w).to_dict() for w in (8, 16)]))
    assert main(["run", "specs.json", "--out", "runs.csv", "--trainer", "byo_trainers:valid", "--executor",
                 "inprocess", "--cache-dir", "cache"]) == 0
    ref = load_trainer("byo_trainers:valid")
    assert len(RunCache(tmp_path / "cache", trainer=ref.identity)) == 2 and len(RunCache(tmp_path / "cache")) == 0
    assert main(["run", "specs.json", "--trainer", "nope"]) == 2


# ----------------------------------------------------------------------------- the plain adapter

def test_the_plain_adapter_keeps_the_engines_conventions():
    """Its own model and loop, but the spec's data, step count, parameter and FLOP conventions:
    the same counts, steps, tokens and FLOPs as the engine's run of the spec; losses of the same size."""
    from examples.trainers import plain_torch
    from scaling_claims.engine import train

    spec = toy(16, steps=12).replace(evals=(EvalSpec.make("loss"),), eval_every=4)
    mine, engine = plain_torch.train(spec), train(spec)
    assert mine.ok and mine.env["trainer_notes"] == "examples.trainers.plain_torch"
    assert mine.env["data"] == engine.env["data"]  # the task's description, as the claims read it
    for name in ("params", "steps", "tokens", "flops", "flops_per_token"):
        assert getattr(mine, name) == getattr(engine, name), name
    assert [p["step"] for p in mine.curve] == [p["step"] for p in engine.curve] == [4, 8, 12]
    assert set(mine.metrics) == set(engine.metrics) and abs(mine.final_eval_loss - engine.final_eval_loss) < 0.5
    assert plain_torch.train(spec).final_eval_loss == mine.final_eval_loss  # seeded: the same numbers again


def test_the_plain_adapter_honours_curve_evals_and_stop_rules():
    from examples.trainers import plain_torch

    p = 7
    spec = RunSpec(model=ModelSpec(arch="mlp", d_in=2 * p, hidden=(32,), d_out=p),
                   data=DataSpec.make("modular_classes", p=p, train_frac=0.5), optim=OptimSpec(lr=1e-2, batch_size=p * p),
                   budget=Budget(steps=400), eval_every=5,
                   curve_evals=(EvalSpec.make("classification.error", n_test=p * p, batch_size=p * p),),
                   stop_when=StopWhen("classification.error/train_error", at_most=0.0, points=2))
    r = plain_torch.train(spec)
    assert r.ok and "classification.error/test_error" in r.curve[0]
    assert r.early_stop["rule"] == "stop_when" and r.steps < 400 and r.curve[-1]["classification.error/train_error"] == 0


def test_the_plain_adapter_refuses_what_it_does_not_implement():
    from examples.trainers import plain_torch

    ref = load_trainer("examples.trainers.plain_torch:train")
    rope = toy().replace(model=ModelSpec(n_layer=1, d_model=8, n_head=2, ctx=16, pos="rope"))
    assert is_unsupported(ref(rope)) and "learned absolute positions only" in ref(rope).failure
    with pytest.raises(Exception, match="Unsupported|float32"):
        plain_torch.check_supported(toy().replace(dtype="bf16"))


# ----------------------------------------------------------------------------- each broken trainer's fault, one run

def test_size_blind_trains_one_width_whatever_the_spec_asks():
    from examples.trainers import broken

    params = {broken.size_blind(toy(w, steps=2)).params["total"] for w in (8, 16, 48)}
    assert len(params) == 1


def test_no_decay_is_the_constant_schedule_whatever_the_spec_asks():
    from examples.trainers import broken, plain_torch

    cosine = toy(16, steps=12).replace(eval_every=4, optim=OptimSpec(batch_size=4, schedule="cosine"))
    constant = cosine.replace(optim=OptimSpec(batch_size=4, schedule="constant"))
    bad, good = broken.no_decay(cosine), plain_torch.train(cosine)
    assert [p["eval_loss"] for p in bad.curve] == [p["eval_loss"] for p in plain_torch.train(constant).curve]
    assert bad.curve[-1]["lr"] == cosine.optim.lr and good.curve[-1]["lr"] < cosine.optim.lr


def test_no_weight_decay_is_weight_decay_zero_whatever_the_spec_asks():
    from examples.trainers import broken, plain_torch

    decayed = toy(16, steps=8).replace(optim=OptimSpec(batch_size=4, lr=1e-2, weight_decay=1.0))
    none = decayed.replace(optim=OptimSpec(batch_size=4, lr=1e-2, weight_decay=0.0))
    assert broken.no_weight_decay(decayed).final_eval_loss == plain_torch.train(none).final_eval_loss
    assert plain_torch.train(decayed).final_eval_loss != plain_torch.train(none).final_eval_loss


def test_eval_on_train_scores_memorised_data_as_held_out():
    """On 240 epochs of a 256-byte prefix the model memorises its training windows: scored on them,
    its 'held-out' loss falls far below the true held-out loss; training itself is unchanged."""
    from examples.trainers import broken, plain_torch

    spec = toy(32, steps=60, train_bytes=256).replace(optim=OptimSpec(batch_size=8, lr=1e-2, warmup_steps=3))
    bad, good = broken.eval_on_train(spec), plain_torch.train(spec)
    assert bad.final_train_loss == good.final_train_loss
    assert bad.final_eval_loss < good.final_eval_loss - 0.5


def test_loss_in_bits_divides_every_loss_by_ln2():
    from examples.trainers import broken, plain_torch

    spec = toy(16, steps=8).replace(eval_every=4)
    bad, good = broken.loss_in_bits(spec), plain_torch.train(spec)
    for a, b in zip(bad.curve, good.curve):
        assert a["eval_loss"] == pytest.approx(b["eval_loss"] / math.log(2), rel=1e-12)
        assert a["train_loss"] == pytest.approx(b["train_loss"] / math.log(2), rel=1e-12)
