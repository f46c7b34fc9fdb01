"""Damaged and edited run records (issue 29): every way a record can be unusable is recovered
(moved aside with a warning naming the key and the reason, the run retrained), and every record
carries a digest, so an edit that leaves valid JSON is damage too, never silent evidence.

Legacy records (format 1, written before digests existed) are accepted and sealed in place;
what the digest does not protect against is pinned here as well, so docs/running.md's claims
about it are each backed by a test.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import filelock
import pytest

from fake_train import fake_train
from scaling_claims.runs.cache import LEGACY_FORMAT, RECORD_FORMAT, RunCache, record_digest
from scaling_claims.engine import Budget, DataSpec, ModelSpec, RunSpec


def spec(d_model: int = 16, seed: int = 0) -> RunSpec:
    return RunSpec(model=ModelSpec(n_layer=1, d_model=d_model, n_head=2, ctx=16), data=DataSpec.make("copy", length=4),
                   budget=Budget(steps=5), seed=seed)


@pytest.fixture
def train_log(tmp_path, monkeypatch) -> Path:
    log = tmp_path / "train.log"
    monkeypatch.setenv("FAKE_TRAIN_LOG", str(log))
    return log


def trainings(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def _random_bytes(path: Path, cache: RunCache, s: RunSpec) -> None:
    # invalid UTF-8 whatever the draw: 0xff never occurs in UTF-8
    path.write_bytes(b"\xff\xfe" + os.urandom(64) + b"\xff")


def _deep_nesting(path: Path, cache: RunCache, s: RunSpec) -> None:
    path.write_text("[" * 200_000 + "]" * 200_000)  # json raises RecursionError


def _folder(path: Path, cache: RunCache, s: RunSpec) -> None:
    path.unlink()
    path.mkdir()
    (path / "inside").write_text("x")  # a non-empty folder: it cannot simply be replaced by a file


def _empty(path: Path, cache: RunCache, s: RunSpec) -> None:
    path.write_text("")


def _truncated(path: Path, cache: RunCache, s: RunSpec) -> None:
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])


def _another_keys_record(path: Path, cache: RunCache, s: RunSpec) -> None:
    other = spec(d_model=32)
    cache.put(fake_train(other))
    path.write_bytes(cache.path(other.key()).read_bytes())  # a valid, sealed record of another spec


def _bom(path: Path, cache: RunCache, s: RunSpec) -> None:
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # an editor that saves "UTF-8 with BOM"


def _null(path: Path, cache: RunCache, s: RunSpec) -> None:
    path.write_text("null")


def _not_an_object(path: Path, cache: RunCache, s: RunSpec) -> None:
    path.write_text('"a string"')


def _no_digest(path: Path, cache: RunCache, s: RunSpec) -> None:
    raw = json.loads(path.read_text())
    del raw["digest"]
    path.write_text(json.dumps(raw))


def _unknown_format(path: Path, cache: RunCache, s: RunSpec) -> None:
    raw = json.loads(path.read_text())
    raw["format"] = 99
    path.write_text(json.dumps(raw))


DAMAGE = {
    "random-bytes": (_random_bytes, "UnicodeDecodeError"),
    "deep-nesting": (_deep_nesting, "RecursionError"),
    "folder-at-path": (_folder, "IsADirectoryError"),
    "empty": (_empty, "JSONDecodeError"),
    "truncated": (_truncated, "JSONDecodeError"),
    "another-keys-record": (_another_keys_record, "it is the record of key"),
    "bom": (_bom, "BOM"),
    "null": (_null, "not a JSON object but NoneType"),
    "json-string": (_not_an_object, "not a JSON object but str"),
    "digest-missing": (_no_digest, "the digest is missing"),
    "unknown-format": (_unknown_format, "unknown format 99"),
}


@pytest.mark.parametrize("damage", list(DAMAGE), ids=list(DAMAGE))
def test_every_damaged_record_is_moved_aside_warned_and_retrained(tmp_path, train_log, damage):
    """The whole damage catalogue of issue 29: none escapes, a rerun (``ensure``) retrains."""
    make, reason = DAMAGE[damage]
    cache = RunCache(tmp_path / "cache")
    s = spec()
    cache.ensure(s, fake_train)
    path = cache.path(s.key())
    make(path, cache, s)
    before = trainings(train_log)
    with pytest.warns(UserWarning) as caught:
        how, res = cache.ensure(s, fake_train)
    text = " ".join(str(w.message) for w in caught)
    assert s.key() in text and reason in text, text  # the key and the reason are named
    assert how == "trained" and res.ok and trainings(train_log) == before + 1
    assert path.is_file() and cache.get(s.key()) == res  # a good record again
    aside = sorted(p.name for p in cache.runs_dir.iterdir() if p.name.startswith(path.name + ".corrupt"))
    assert len(aside) == 1  # the damaged record kept for inspection
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the new record is clean: no second warning
        assert cache.ensure(s, fake_train)[0] == "cached"


def test_a_damaged_record_is_moved_aside_under_another_name_when_the_first_is_taken(tmp_path, train_log):
    """A folder at ``<key>.json.corrupt`` (from an earlier damage) does not stop the next one."""
    cache = RunCache(tmp_path)
    s = spec()
    cache.ensure(s, fake_train)
    path = cache.path(s.key())
    (path.with_name(path.name + ".corrupt")).mkdir()
    (path.with_name(path.name + ".corrupt") / "x").write_text("x")
    path.write_text("garbage")
    with pytest.warns(UserWarning, match="moved aside to .*corrupt\\."):
        assert cache.ensure(s, fake_train)[0] == "trained"
    assert cache.get(s.key()).ok


def edit_result(path: Path, change) -> None:
    """Edit the record's JSON as a person (or a bad sync) would, leaving valid JSON and the old digest."""
    raw = json.loads(path.read_text())
    change(raw)
    path.write_text(json.dumps(raw))


def _every_curve_point(raw):  # the example: one run's error set at every curve point
    for point in raw["result"]["curve"]:
        point["train_loss"] = 0.9


EDITS = {
    "final-loss": lambda raw: raw["result"].update(final_eval_loss=raw["result"]["final_eval_loss"] + 1e-9),
    "every-curve-point": _every_curve_point,
    "a-metric": lambda raw: raw["result"]["metrics"].update({"loss/eval_loss": 0.0}),
    "status": lambda raw: raw["result"].update(status="failed", failure="edited"),
    "the-spec": lambda raw: raw["result"]["spec"].update(seed=7),
    "created-at": lambda raw: raw.update(created_at=raw["created_at"] + 1),
    "digest-itself": lambda raw: raw.update(digest="sha256:" + "0" * 64),
}


@pytest.mark.parametrize("edit", list(EDITS), ids=list(EDITS))
def test_an_edited_record_fails_its_digest_and_is_retrained(tmp_path, train_log, edit):
    """An edit that leaves valid JSON (bit rot in a number, a bad sync, a hand edit) is damage:
    warned with the key, moved aside, retrained; the verdict never sees the edited numbers."""
    cache = RunCache(tmp_path)
    s = spec()
    _, original = cache.ensure(s, fake_train)
    path = cache.path(s.key())
    edit_result(path, EDITS[edit])
    with pytest.warns(UserWarning, match=f"{s.key()}.*digest mismatch"):
        how, res = cache.ensure(s, fake_train)
    assert how == "trained" and res == original  # the retrained run gives the numbers of the first
    assert path.with_name(path.name + ".corrupt").exists()


def test_the_digest_covers_the_record_as_a_reader_parses_it(tmp_path):
    cache = RunCache(tmp_path)
    s = spec()
    cache.put(fake_train(s))
    raw = json.loads(cache.path(s.key()).read_text())
    assert raw["format"] == RECORD_FORMAT and raw["digest"] == record_digest(raw)
    assert raw["digest"].startswith("sha256:") and len(raw["digest"]) == len("sha256:") + 64
    # whitespace and key order are not content: a record re-indented by a tool is still the same record
    cache.path(s.key()).write_text(json.dumps(raw, indent=2, sort_keys=True))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cache.get(s.key()) == cache.put(fake_train(s)).result


def test_the_digest_is_a_checksum_not_a_signature(tmp_path):
    """What the digest does not protect against (docs/running.md): whoever edits a record and
    recomputes its digest is not detected; only the spec-to-key check still binds it."""
    cache = RunCache(tmp_path)
    s = spec()
    cache.put(fake_train(s))
    path = cache.path(s.key())
    raw = json.loads(path.read_text())
    raw["result"]["final_eval_loss"] = 0.123
    raw["digest"] = record_digest(raw)
    path.write_text(json.dumps(raw))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cache.get(s.key()).final_eval_loss == 0.123  # accepted: a deliberate forgery passes
    # ... but a forged record cannot answer another spec: its spec must hash to its key
    raw["result"]["spec"]["seed"] = 5
    raw["digest"] = record_digest(raw)
    path.write_text(json.dumps(raw))
    with pytest.warns(UserWarning, match="spec does not answer this key"):
        assert cache.get(s.key()) is None


def legacy_record(cache: RunCache, s: RunSpec) -> dict:
    """What the cache wrote before digests existed: format 1, no digest (the old ``put``)."""
    rec = cache.put(fake_train(s))
    raw = json.loads(cache.path(s.key()).read_text())
    del raw["digest"]
    raw["format"] = LEGACY_FORMAT
    cache.path(s.key()).write_text(json.dumps(raw))
    return {"created_at": rec.created_at, "created_pid": rec.created_pid, "result": raw["result"]}


def test_a_legacy_record_is_used_not_retrained_and_sealed_in_place(tmp_path, train_log):
    """An existing cache keeps working: a format-1 record is reused (no warning, no training) and
    rewritten once as format 2 with its digest; its numbers and provenance stay what they were."""
    cache = RunCache(tmp_path)
    s = spec()
    old = legacy_record(cache, s)
    before = trainings(train_log)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        how, res = cache.ensure(s, fake_train)
    assert how == "cached" and trainings(train_log) == before
    raw = json.loads(cache.path(s.key()).read_text())
    assert raw["format"] == RECORD_FORMAT and raw["digest"] == record_digest(raw)
    assert raw["result"] == old["result"]  # the same numbers, bit for bit (JSON text of floats)
    assert (raw["created_at"], raw["created_pid"]) == (old["created_at"], old["created_pid"])
    assert res.to_dict() == old["result"]
    # from now on the record is protected like any other
    edit_result(cache.path(s.key()), lambda r: r["result"].update(final_eval_loss=0.5))
    with pytest.warns(UserWarning, match="digest mismatch"):
        assert cache.get(s.key()) is None


def test_a_legacy_record_edited_before_it_was_sealed_cannot_be_detected(tmp_path):
    """The documented limit of accepting legacy records: an edit made before the first read by
    this code is sealed with the record (docs/running.md: clear the cache if that matters)."""
    cache = RunCache(tmp_path)
    s = spec()
    legacy_record(cache, s)
    edit_result(cache.path(s.key()), lambda r: r["result"].update(final_eval_loss=0.5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cache.get(s.key()).final_eval_loss == 0.5


def test_a_legacy_record_is_not_sealed_while_another_process_holds_its_key(tmp_path):
    cache = RunCache(tmp_path)
    s = spec()
    legacy_record(cache, s)
    holder = filelock.FileLock(str(cache.locks_dir / f"{s.key()}.lock"), thread_local=False)
    holder.acquire()
    try:
        assert cache.get(s.key()).ok
        assert json.loads(cache.path(s.key()).read_text())["format"] == LEGACY_FORMAT  # left as it was
    finally:
        holder.release()
    assert cache.get(s.key()).ok
    assert json.loads(cache.path(s.key()).read_text())["format"] == RECORD_FORMAT


def test_a_damaged_record_held_by_another_process_is_left_to_the_holder(tmp_path, train_log):
    """A reader without the key's lock never moves a record aside while another process holds
    the key (it may be writing a good record there right now); it warns and reports absence.
    The holder, reading under its lock, moves it aside and retrains."""
    cache = RunCache(tmp_path)
    s = spec()
    cache.ensure(s, fake_train)
    path = cache.path(s.key())
    path.write_text("garbage")
    holder = filelock.FileLock(str(cache.locks_dir / f"{s.key()}.lock"), thread_local=False)
    holder.acquire()
    try:
        with pytest.warns(UserWarning, match="another process holds the key"):
            assert cache.get(s.key()) is None
        assert path.read_text() == "garbage"
        with pytest.warns(UserWarning, match="another process holds the key"):
            assert cache.ensure(s, fake_train, blocking=False) == ("busy", None)
    finally:
        holder.release()
    with pytest.warns(UserWarning, match="moved aside"):
        assert cache.ensure(s, fake_train)[0] == "trained"


def test_a_damaged_record_rewritten_since_it_was_read_is_not_moved_aside(tmp_path):
    """The move aside checks that the file still holds the bytes it judged damaged."""
    cache = RunCache(tmp_path)
    s = spec()
    good = cache.put(fake_train(s)).result
    path = cache.path(s.key())
    cache._quarantine(s.key(), path, b"what was read before the rewrite", "test", locked=False)
    assert cache.get(s.key()) == good and not path.with_name(path.name + ".corrupt").exists()


def test_the_put_and_read_records_are_equal_for_numpy_and_nonfinite_values(tmp_path):
    """The digest is taken over the parsed record, so numpy scalars, tuples, NaN and inf (which
    JSON turns into plain numbers, lists, NaN and Infinity) verify on read."""
    import numpy as np

    cache = RunCache(tmp_path)
    s = spec()
    res = fake_train(s)
    res.metrics = {"a": np.float32(0.1), "b": (1, 2.5), "c": float("nan"), "d": np.arange(3), "e": -float("inf")}
    res.final_eval_loss = float("nan")
    stored = cache.put(res).result
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back = cache.get(s.key())
    assert json.dumps(back.to_dict(), sort_keys=True) == json.dumps(stored.to_dict(), sort_keys=True)
