"""``scaling_claims.common.jsonio``: the one JSON-ready conversion (with what each caller does
with a value JSON cannot hold) and the one atomic text writer."""

from __future__ import annotations

import math
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from scaling_claims.common.jsonio import atomic_write_text, jsonable, keep, refuse
from scaling_claims.fit._result import jsonable as fit_jsonable
from scaling_claims.tool.cli._common import clean as cli_clean
from scaling_claims.verdicts.checks import Check
from scaling_claims.verdicts.estimates import Estimate
from scaling_claims.verdicts.records import ClaimRecord, _clean as record_clean

NUMPY = {"a": np.float64(1.5), 2: np.arange(3), "nan": math.nan, "inf": np.float32("inf"),
         "t": (np.int64(4), [np.bool_(True), None, "s"]), "m": np.array([[1.0, np.nan], [2.0, 3.0]])}
PLAIN = {"a": 1.5, "2": [0, 1, 2], "nan": None, "inf": None, "t": [4, [True, None, "s"]],
         "m": [[1.0, None], [2.0, 3.0]]}


def test_numpy_values_tuples_and_non_finite_floats():
    assert jsonable(NUMPY) == PLAIN
    assert type(jsonable(np.int64(3))) is int and type(jsonable(np.bool_(False))) is bool


def test_it_matches_the_fitters_own_converter_on_numpy_values():
    """fit/_result.py keeps its own copy (the fitters stage is not edited); the two agree."""
    assert jsonable(NUMPY) == fit_jsonable(NUMPY)
    assert jsonable([np.float16(2.5), (1, np.nan)]) == fit_jsonable([np.float16(2.5), (1, np.nan)])


def test_what_each_caller_does_with_a_value_json_cannot_hold(tmp_path):
    thing = object()
    assert jsonable([thing]) == [thing] and keep(thing) is thing
    assert record_clean({"p": tmp_path, "x": (thing,)}) == {"p": str(tmp_path), "x": [str(thing)]}
    assert cli_clean({"p": tmp_path}) == {"p": str(tmp_path)}
    with pytest.raises(TypeError, match="not JSON serialisable: object"):
        cli_clean([thing])
    with pytest.raises(TypeError, match="not JSON serialisable: set"):
        jsonable({1}, other=refuse)


def test_a_check_writes_its_estimates_as_dicts():
    e = Estimate(2.0, 1.0, 3.0, method="fit")
    d = Check("c", "confirmed", [e, np.float64(math.inf)], (np.int32(1), 2.0), "m").to_dict()
    assert d["measured"] == [e.to_dict(), None] and d["expected"] == [1, 2.0]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_atomic_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "sub" / "r.json"
    assert atomic_write_text(target, "one") == target and target.read_text() == "one"
    atomic_write_text(target, "two")
    assert target.read_text() == "two" and os.listdir(target.parent) == ["r.json"]
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert _mode(target) == _mode(plain)  # not the 0600 of a mkstemp file


def test_a_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "r.json"
    target.write_text("old")

    with pytest.raises(TypeError):
        atomic_write_text(target, 12345)  # not text: the write fails after the temporary exists
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["r.json"]


def test_a_claim_record_round_trips_through_the_atomic_writer(tmp_path):
    rec = ClaimRecord(claim_id="c/1", verdict="confirmed", measured=np.float64(0.25), notes=["n"])
    path = rec.save(tmp_path / "records" / "c_1.json")
    assert ClaimRecord.load(path) == ClaimRecord.from_json(rec.to_json())
    assert sorted(os.listdir(path.parent)) == ["c_1.json"]
