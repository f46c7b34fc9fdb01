"""``scaling-claims plan``, ``time`` and ``design`` guard their answers, in subprocesses as a user
runs them: a plan beyond the law's fitted range warns (on standard error and in the JSON's
``warnings``) by how many decades; an absurd input or answer exits 2 with one line; a file that
is not a fit is refused; intervals come with every answer where the law has bootstrap samples;
``--json -`` puts the JSON alone on standard output; a designed ladder's RunSpecs have distinct
widths; every option has help that shows its default. No timing is asserted."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from scaling_claims.tool import plan as P

ERROR = "error:"


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scaling_claims.tool.cli", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "MPLBACKEND": "Agg"})


def as_json(out: subprocess.CompletedProcess) -> dict:
    """The document a ``--json -`` run wrote: standard output must hold it and nothing else."""
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def one_error_line(out: subprocess.CompletedProcess, command: str = "plan") -> str:
    """Exit 2, one ``scaling-claims CMD: error: ...`` line, no traceback, nothing on stdout."""
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr and out.stdout == ""
    errors = [line for line in out.stderr.splitlines() if line.startswith(f"scaling-claims {command}: {ERROR}")]
    assert len(errors) == 1, out.stderr
    return errors[0]


def fit_document(tmp_path: Path, samples: int = 400) -> Path:
    """A fit.json as `scaling-claims fit` writes it (schema, law with bootstrap samples, the runs'
    range in summary.range), for a law like Epoch's fitted on small runs."""
    rng = np.random.default_rng(0)
    rows = EPOCH_ROW * (1 + 0.03 * rng.standard_normal((samples, 5)))
    law = P.Law("mine", *EPOCH_ROW, source="fitted by scaling-claims (huber) to 28 runs", samples=rows)
    doc = {"schema": "scaling-claims/fit", "schema_version": 1, "law": law.to_dict(),
           "summary": {"runs": 28, "range": {"N": [3e7, 3e9], "D": [5e7, 5e10], "C": [1e18, 3e19],
                                             "loss": [2.3, 3.5]}},
           "fit": {}, "input": {"path": "runs.csv"}, "warnings": []}
    path = tmp_path / "fit.json"
    path.write_text(json.dumps(doc))
    return path


EPOCH_ROW = P.published("epoch2024").params_array()


# ----------------------------------------------------------------------------- the fitted range
def test_a_budget_beyond_the_fitted_range_warns_in_decades(tmp_path):
    doc = as_json(cli("plan", "--preset", "epoch2024", "--budget", "1.296e25", "--json", "-", cwd=tmp_path))
    warning = next(w for w in doc["warnings"] if "beyond the law's fitted range" in w)
    assert "C = 1.296e+25 FLOPs is 3 decades above the largest fitted (1.296e+22)" in warning
    assert "N_opt" in warning and "D_opt" in warning
    beyond = {e["quantity"]: e for e in doc["range"]["beyond"]}
    assert beyond["C"]["decades"] == pytest.approx(3.0) and beyond["C"]["side"] == "above"
    assert doc["range"]["fitted"] == P.EPOCH_RANGE
    out = cli("plan", "--preset", "epoch2024", "--budget", "1.296e25", cwd=tmp_path)
    assert "warning: the plan lies beyond the law's fitted range" in out.stderr

    inside = as_json(cli("plan", "--preset", "epoch2024", "--budget", "1e20", "--json", "-", cwd=tmp_path))
    assert inside["warnings"] == [] and inside["range"]["beyond"] == []


def test_a_target_loss_below_the_fitted_losses_warns(tmp_path):
    doc = as_json(cli("plan", "--preset", "epoch2024", "--target-loss", "1.9", "--inference-tokens", "1e13",
                      "--json", "-", cwd=tmp_path))
    plan_warning = next(w for w in doc["warnings"] if w.startswith("the plan lies beyond"))
    assert "the target loss 1.9 is below the lowest loss fitted (2.077)" in plan_warning
    assert "the budget the target needs, C = " in plan_warning and "decades above" in plan_warning
    assert any(w.startswith("the inference-aware run lies beyond") for w in doc["warnings"])
    assert doc["inference_aware"]["beyond_range"]


def test_a_fit_json_brings_its_runs_range(tmp_path):
    fit = fit_document(tmp_path)
    doc = as_json(cli("plan", "--fit", fit, "--budget", "1e21", "--json", "-", cwd=tmp_path))
    assert doc["law"]["fitted_range"]["C"] == [1e18, 3e19] and doc["law"]["bootstrap_samples"] == 400
    assert any("C = 1e+21 FLOPs is 1.5 decades above the largest fitted (3e+19)" in w for w in doc["warnings"])


# ----------------------------------------------------------------------------- absurd input
@pytest.mark.parametrize("args, message", [
    (["--budget", "1"], "N = 0.0477 parameters, D = 3.49 tokens: below one parameter"),
    (["--target-loss", "1.817"], "irreducible loss E is 1.817"),
    (["--target-loss", "1.5"], "irreducible loss E is 1.817"),
    (["--target-loss", "1e4"], "not a meaningful plan"),
    (["--budget", "1e21", "--device", "h100-sxm", "--peak-flops", "1e15"], "not allowed with argument --device"),
    (["--budget", "-1e21"], "argument --budget: must be a positive number, got '-1e21'"),
    (["--budget", "1e21", "--device", "t4"], "no published peak for 'bf16'"),
    (["--budget", "1e21", "--peak-flops", "1e14", "--benchmark-dir", "none"], "no saved throughput benchmark"),
])
def test_absurd_input_is_one_line_and_exit_2(tmp_path, args, message):
    line = one_error_line(cli("plan", "--preset", "epoch2024", *args, cwd=tmp_path))
    assert message in line


def test_plan_refuses_files_that_are_not_a_fit(tmp_path):
    plan_json = tmp_path / "plan.json"
    out = cli("plan", "--preset", "epoch2024", "--budget", "1e21", "--json", plan_json, cwd=tmp_path)
    assert out.returncode == 0 and plan_json.is_file()
    (tmp_path / "random.json").write_text(json.dumps({"model": "gpt", "loss": 2.5}))
    (tmp_path / "list.json").write_text("[1, 2, 3]")
    (tmp_path / "runs.csv").write_text("N,D,loss\n1e6,1e8,3.1\n")
    (tmp_path / "binary.json").write_bytes(bytes(range(256)))
    cases = {plan_json: "not a fit: this is a 'scaling-claims/plan' document",
             tmp_path / "random.json": "not a law: no E, A, B, alpha, beta",
             tmp_path / "list.json": "not a law",
             tmp_path / "runs.csv": "not JSON",
             tmp_path / "binary.json": "not UTF-8 text",
             tmp_path / "missing.json": "cannot read a law from",
             tmp_path: "cannot read a law from"}
    for path, message in cases.items():
        line = one_error_line(cli("plan", "--fit", path, "--budget", "1e21", cwd=tmp_path))
        assert message in line, (path, line)


# ----------------------------------------------------------------------------- intervals
def test_target_loss_and_inference_aware_answers_carry_intervals(tmp_path):
    fit = fit_document(tmp_path)
    doc = as_json(cli("plan", "--fit", fit, "--target-loss", "2.3", "--inference-tokens", "1e12", "--json", "-",
                      cwd=tmp_path))
    a = doc["allocation"]
    assert a["target"] == 2.3 and a["samples"] == 400
    for key in ("C", "N", "D"):
        lo, hi = a[f"{key}_ci"]
        assert lo < a[key] < hi, key
    ia = doc["inference_aware"]
    assert ia["samples"] == 400
    for key in ("N", "D"):
        lo, hi = ia[f"{key}_ci"]
        assert lo < ia[key] < hi, key
    assert ia["saving_ci"][0] <= ia["saving"] <= ia["saving_ci"][1]
    out = cli("plan", "--fit", fit, "--target-loss", "2.3", "--inference-tokens", "1e12", cwd=tmp_path)
    assert "smallest budget C = " in out.stdout and "[" in out.stdout.split("smallest budget C = ")[1].splitlines()[0]
    assert "intervals: 95% over 400 of the law's 400 bootstrap samples" in out.stdout


def test_a_target_some_samples_cannot_reach_has_an_unbounded_interval(tmp_path):
    fit = fit_document(tmp_path)  # E = 1.817 +- 3%: a target of 1.83 is below E for many samples
    doc = as_json(cli("plan", "--fit", fit, "--target-loss", "1.83", "--json", "-", cwd=tmp_path))
    assert doc["allocation"]["unreachable"] > 0.025 and doc["allocation"]["C_ci"][1] is None  # JSON: null
    out = cli("plan", "--fit", fit, "--target-loss", "1.83", cwd=tmp_path)
    assert "unbounded]" in out.stdout and "the intervals' upper ends are unbounded" in out.stdout


# ----------------------------------------------------------------------------- devices
def test_device_options_without_a_device_warn(tmp_path):
    doc = as_json(cli("plan", "--preset", "epoch2024", "--budget", "1e20", "--mfu", "0.3", "--devices", "8",
                      "--price-per-hour", "2", "--json", "-", cwd=tmp_path))
    assert doc["warnings"] == ["--mfu, --price-per-hour, --devices given without a device "
                               "(--device NAME or --peak-flops F): unused"]
    assert "training_time" not in doc
    out = cli("plan", "--preset", "epoch2024", "--budget", "1e20", "--peak-flops", "1e14", "--mfu", "0.5",
              "--dtype", "fp32", cwd=tmp_path)
    assert out.returncode == 0 and "warning: --dtype fp32 is unused with --peak-flops" in out.stderr


def test_a_catalogued_device_gets_a_stated_default_utilisation(tmp_path):
    doc = as_json(cli("plan", "--preset", "epoch2024", "--budget", "1e21", "--device", "a100", "--json", "-",
                      cwd=tmp_path))
    u = doc["training_time"]["utilisation"]
    assert u["kind"] == "default" and u["mfu"] == 0.4 and "Llama 3" in u["source"]
    assert doc["training_time"]["mfu"] == 0.4 and doc["training_time"]["device"] == "a100"
    out = cli("time", "--params", "150e6", "--tokens", "100e6", "--device", "m2-max", "--dtype", "fp32",
              cwd=tmp_path)
    assert out.returncode == 0 and "utilisation 30% (stated default for Apple GPUs" in out.stdout
    assert "give --mfu for your own" in out.stdout


def test_time_json_holds_inputs_and_results(tmp_path):
    doc = as_json(cli("time", "--params", "1e9", "--tokens", "2e10", "--device", "h100-sxm", "--mfu", "0.5",
                      "--devices", "8", "--price-per-hour", "3", "--json", "-", cwd=tmp_path))
    assert doc["schema"] == "scaling-claims/time" and doc["schema_version"] == 1 and doc["warnings"] == []
    assert doc["inputs"]["params"] == 1e9 and doc["inputs"]["devices"] == 8 and doc["flops"] == 6 * 1e9 * 2e10
    t = doc["training_time"]
    assert t["seconds"] == pytest.approx(1.2e20 / (989e12 * 0.5 * 8)) and t["cost"] == pytest.approx(3 * 8 * t["hours"])
    assert t["utilisation"]["kind"] == "given"
    one_error_line(cli("time", "--params", "1e9", "--tokens", "2e10", cwd=tmp_path), "time")


# ----------------------------------------------------------------------------- design
def test_design_uses_distinct_widths_and_shows_the_realised_sizes(tmp_path):
    # 2e4 to 3e4 at depth 2 once gave sizes whose RunSpecs held widths 28, 32, 32
    specs = tmp_path / "ladder.json"
    out = cli("design", "--preset", "epoch2024", "--min-params", "2e4", "--max-params", "3e4", "--hours", "1",
              "--peak-flops", "1e11", "--mfu", "0.5", "--sizes", "3", "--specs", specs, "--json", "-", cwd=tmp_path)
    doc = as_json(out)
    widths = [s["model"]["d_model"] for s in json.loads(specs.read_text())]
    assert len(set(widths)) == 3 and doc["specs"]["widths"] == sorted(set(widths))
    rungs = doc["ladder"]["rungs"]
    assert all(r["planned"] is not None and r["width"] in widths for r in rungs)
    assert "non-embedding N" in doc["family"] and "byte-level decoder at depth 2" in doc["family"]
    # with --json -, the text report is not printed: standard error holds the warnings alone
    assert all(line.startswith("warning: ") for line in out.stderr.splitlines())
    text = cli("design", "--preset", "epoch2024", "--min-params", "2e4", "--max-params", "3e4", "--hours", "1",
               "--peak-flops", "1e11", "--mfu", "0.5", "--sizes", "3", cwd=tmp_path)
    assert "planned N width         N" in text.stdout
    assert any("below the range of N the law was fitted on" in w for w in doc["warnings"])


@pytest.mark.parametrize("args, message", [
    (["--min-params", "2e4", "--max-params", "2.2e4", "--hours", "1"], "holds 1 distinct size(s)"),
    (["--min-params", "1e6", "--max-params", "1e7", "--hours", "0.001"], "even the smallest 3-size ladder"),
])
def test_design_that_cannot_hold_a_ladder_is_one_line(tmp_path, args, message):
    line = one_error_line(cli("design", "--preset", "epoch2024", "--peak-flops", "1e11", "--mfu", "0.5", *args,
                              cwd=tmp_path), "design")
    assert message in line


# ----------------------------------------------------------------------------- help
def subparsers() -> dict[str, argparse.ArgumentParser]:
    from scaling_claims.tool.cli import build_parser

    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return {name: action.choices[name] for name in ("plan", "time", "design")}


def test_every_option_has_help_showing_its_default():
    for name, parser in subparsers().items():
        text = parser.format_help()
        for action in parser._actions:
            if not action.option_strings or action.help == argparse.SUPPRESS:
                continue
            assert action.help, f"{name} {action.option_strings}: no help"
            if action.default not in (None, False, argparse.SUPPRESS):
                assert "(default: " in parser._get_formatter()._get_help_string(action), (name, action.dest)
        assert text.count("(default: ") >= 3


def test_catalog_names_in_the_parsers_match_the_library():
    parser = subparsers()["plan"]
    preset = next(a for a in parser._actions if "--preset" in a.option_strings)
    assert sorted(preset.choices) == sorted(P.PUBLISHED)
    device = next(a for a in parser._actions if "--device" in a.option_strings)
    assert all(name in device.help for name in P.DEVICES)
