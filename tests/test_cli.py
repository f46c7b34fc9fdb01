"""The ``scaling-claims`` command end to end, in subprocesses, on files written by the test:
fit a CSV, plan from the fit and from presets, design a ladder and train it, rebuild a report;
bad input gets one clear line and exit status 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scaling_claims.verdicts.records import ClaimRecord
from test_plan import synthetic_runs

REPO = Path(__file__).resolve().parent.parent


def cli(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scaling_claims.tool.cli", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "MPLBACKEND": "Agg", **(env or {})})


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "scaling-claims"
    assert script.exists(), "pip install -e . should install the scaling-claims command"
    out = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "fit" in out.stdout and "plan" in out.stdout


def test_fit_then_plan_from_the_fit(tmp_path):
    csv, truth = synthetic_runs(tmp_path)
    out = cli("fit", csv, "--out", tmp_path / "fit", "--bootstrap", "100", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "28 runs" in out.stdout and "alpha" in out.stdout and "IsoFLOP approach2" in out.stdout
    assert "rollout" in out.stdout and "leave-largest-out" in out.stdout
    for name in ("fit.json", "plot.png", "rollout.csv"):
        assert (tmp_path / "fit" / name).is_file()
    fitted = json.loads((tmp_path / "fit" / "fit.json").read_text())
    assert fitted["law"]["alpha"] == pytest.approx(truth["alpha"], abs=0.05) and len(fitted["law"]["samples"]) == 100

    out = cli("plan", "--fit", tmp_path / "fit" / "fit.json", "--budget", "1e20", "--peak-flops", "1e14", "--mfu",
              "0.4", "--json", tmp_path / "plan.json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "N_opt" in out.stdout and "predicted loss" in out.stdout and "training time" in out.stdout
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert plan["allocation"]["loss_ci"] is not None  # from the fit's bootstrap samples
    assert plan["training_time"]["seconds"] == pytest.approx(1e20 / (1e14 * 0.4))


def test_plan_from_presets(tmp_path):
    out = cli("plan", "--preset", "epoch2024", "--budget", "5.76e23", "--device", "h100-sxm", "--mfu", "0.4",
              "--devices", "1024", "--price-per-hour", "2", "--inference-tokens", "1e13", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "tokens per parameter 18.3" in out.stdout
    assert "inference-aware" in out.stdout and "cost" in out.stdout
    out = cli("plan", "--preset", "hoffmann2022", "--target-loss", "2.0", cwd=tmp_path)
    assert out.returncode == 0 and "smallest budget" in out.stdout


def test_design_run_fit_loop(tmp_path):
    env = {"SCALING_CLAIMS_CACHE": str(tmp_path / "cache")}
    out = cli("design", "--preset", "epoch2024", "--min-params", "2e3", "--max-params", "8e3", "--hours", "1",
              "--peak-flops", "1e11", "--mfu", "0.5", "--sizes", "3", "--ratios", "0.02", "--specs",
              tmp_path / "ladder.json", cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    specs = json.loads((tmp_path / "ladder.json").read_text())
    assert len(specs) == 3 and all(s["tag"] == "design" for s in specs)
    out = cli("run", tmp_path / "ladder.json", "--out", tmp_path / "runs.csv", "--executor", "inprocess",
              cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    lines = (tmp_path / "runs.csv").read_text().splitlines()
    assert lines[0] == "N,N_total,D,C,loss,seed" and len(lines) == 4


def test_report_rebuilds_from_the_last_run(tmp_path):
    art = tmp_path / "artifacts"
    art.mkdir()
    recs = [ClaimRecord(claim_id="a", paper="P", verdict="confirmed", evidence="confirmed"),
            ClaimRecord(claim_id="s", kind="sanity", verdict="confirmed", evidence="confirmed")]
    (art / "claims.json").write_text(json.dumps({"claims": [r.to_dict() for r in recs]}))
    out = cli("report", "--artifacts-dir", art, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "1 paper claim: 1 confirmed" in out.stdout and (art / "report.md").is_file()


@pytest.mark.parametrize("args, message", [
    (["fit", "missing.csv"], "cannot read missing.csv"),
    (["fit", "{bad}"], "no column for N"),
    (["fit", "{neg}"], "row 3 (line 4)"),
    (["plan", "--preset", "epoch2024", "--target-loss", "1.5"], "irreducible loss"),
    (["plan", "--preset", "epoch2024", "--budget", "1e20", "--device", "tpu-v9", "--mfu", "0.5"], "unknown device"),
    (["plan", "--fit", "missing.json", "--budget", "1e20"], "cannot read a law"),
    (["design", "--preset", "epoch2024", "--min-params", "1e6", "--max-params", "1e7", "--hours", "1"], "needs a device"),
    (["report", "--artifacts-dir", "nowhere"], "no claim records"),
])
def test_bad_input_is_one_line_and_exit_status_2(tmp_path, args, message):
    (tmp_path / "bad.csv").write_text("size,tokens,val\n1,2,3\n")
    (tmp_path / "neg.csv").write_text("N,D,loss\n1e6,1e8,3\n2e6,1e8,3\n3e6,-5,3\n4e6,1e8,3\n5e6,2e8,3\n")
    args = [a.format(bad=tmp_path / "bad.csv", neg=tmp_path / "neg.csv") for a in args]
    out = cli(*args, cwd=tmp_path)
    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize("args", [["plan", "--preset", "chinchilla", "--budget", "1e20"],
                                  ["plan", "--preset", "epoch2024", "--budget", "-1"],
                                  ["plan", "--preset", "epoch2024", "--budget", "1e20", "--mfu", "2"],
                                  ["fit"], ["nonsense"]])
def test_usage_errors_exit_2(tmp_path, args):
    out = cli(*args, cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("scaling-claims") and "--help` lists the options" in lines[0]


def test_a_bug_is_one_line_and_exit_1_and_debug_shows_the_traceback(tmp_path, monkeypatch, capsys):
    """An exception that is not the user's doing (here a TypeError planted in the fit) ends in one
    line naming it, exit status 1; --debug prints the traceback."""
    from scaling_claims.tool import cli as cli_mod, userruns

    csv, _ = synthetic_runs(tmp_path)

    def broken(*a, **k):
        raise TypeError("planted")

    monkeypatch.setattr(userruns, "fit_main", broken)
    assert cli_mod.main(["fit", str(csv), "--out", str(tmp_path / "f")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("scaling-claims fit: failed: TypeError: planted") and len(err) == 1
    assert cli_mod.main(["fit", str(csv), "--out", str(tmp_path / "f"), "--debug"]) == 1
    assert "Traceback" in capsys.readouterr().err


def _actions(parser):
    import argparse

    for action in parser._actions:  # argparse keeps no public list of a parser's options
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from ((f"{name} {a}", act) for a, act in _actions(sub))
        else:
            yield ("/".join(action.option_strings) or action.dest), action


def test_every_option_has_help_and_version_exists(tmp_path):
    from scaling_claims.tool.cli import build_parser

    missing = [name for name, action in _actions(build_parser()) if not action.help]
    assert not missing, f"options without help text: {missing}"
    out = cli("--version", cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.startswith("scaling-claims ")


def test_help_imports_nothing_heavy(tmp_path):
    """`scaling-claims --help` answers at once because the parser imports no NumPy extension,
    SciPy, pandas, matplotlib or torch (their import is most of a cold start's second)."""
    code = ("import sys; from scaling_claims.tool.cli import build_parser; build_parser(); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'scipy', 'pandas', 'matplotlib', 'torch'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr
