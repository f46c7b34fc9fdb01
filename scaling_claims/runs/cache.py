"""The resumable run cache: one JSON record per ``RunSpec.key()``.

Why: every claim trains sweeps of small models; a sweep that is interrupted, rerun, or run by
two pytest-xdist workers at once must reuse every finished run and never train a spec twice.

Layout under the cache directory (see ``resolve_cache_dir``)::

    runs/<key>.json     one record per spec key (written atomically: temp file + os.replace)
    locks/<key>.lock    one ``filelock`` lock per key, held while that spec trains

A record is ``{"format": 2, "key", "created_at" (epoch seconds), "created_pid", "host",
"result": RunResult.to_dict(), "digest"}``. ``digest`` is ``"sha256:<hex>"`` of the record's
canonical JSON without the digest (``record_digest``): it covers the result's numbers, the spec
it answers (``result.spec``; its ``RunSpec.key()`` must also equal the record's key) and the
provenance, so bit rot, a bad sync or a hand edit is detected on read. It is a checksum, not a
signature: anyone who edits a record and recomputes the digest is not detected. Records written
before digests existed (format 1, no digest) that pass every other check are accepted and sealed
in place (the same record, format 2, with its digest: ``created_at`` and the numbers unchanged),
so an existing cache is not retrained; see docs/running.md.

Failed runs (``status == "failed"``) are recorded too, with their reason, so a diverging
configuration is not retrained on every sweep; ``--refresh`` retrains them. A record that cannot
be used (unreadable, not UTF-8, not JSON or nested too deep, a folder at its path, wrong key,
missing fields, a digest that does not match) is damage: it is moved aside to
``runs/<key>.json.corrupt`` with a warning naming the key and the reason, and the spec is
retrained; it never crashes a sweep.

Runs of a trainer other than the engine's (``--trainer``, ``scaling_claims.runs.trainer``) are kept
under ``trainers/<trainer>-<hash of its identity>/`` with the same layout (``RunCache(root,
trainer=identity)``): the trainer's identity is part of where a record is looked up, so runs of
different trainers never mix and the engine's own keys are unchanged.

The key already carries ``CODE_VERSION``, a hash of the engine's sources (see
``scaling_claims.specs.engine_fingerprint``), so records made by other code are simply never
looked up.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import tempfile
import time
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import filelock

from scaling_claims.engine import RunResult, RunSpec

ENV_VAR = "SCALING_CLAIMS_CACHE"
RECORD_FORMAT = 2
LEGACY_FORMAT = 1  # records written before digests existed: accepted once, then sealed

TrainFn = Callable[[RunSpec], RunResult]


def default_cache_dir() -> Path:
    """The per-user default: ``$XDG_CACHE_HOME/scaling-claims``, else ``~/.cache/scaling-claims``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "scaling-claims"


def resolve_cache_dir(cli_value: str | os.PathLike[str] | None = None) -> Path:
    """The cache directory: ``--cache-dir`` if given, else ``$SCALING_CLAIMS_CACHE``, else
    ``default_cache_dir()``. Relative paths are made absolute (pool workers may run elsewhere)."""
    if cli_value:
        chosen = Path(cli_value)
    elif os.environ.get(ENV_VAR):
        chosen = Path(os.environ[ENV_VAR])
    else:
        chosen = default_cache_dir()
    return chosen.expanduser().resolve()


def _default_train(spec: RunSpec) -> RunResult:
    """The real trainer, imported lazily so the cache works (and is testable) without torch."""
    from scaling_claims.engine import train

    return train(spec)


def failed_result(spec: RunSpec, reason: str, wall_time_s: float = 0.0) -> RunResult:
    """A ``failed`` RunResult for a run whose trainer raised instead of returning."""
    return RunResult(
        key=spec.key(), spec=spec.to_dict(), status="failed", failure=reason, wall_time_s=wall_time_s
    )


def train_or_fail(spec: RunSpec, train_fn: TrainFn | None = None) -> RunResult:
    """``train_fn(spec)`` (default the real trainer); a trainer that raises gives a ``failed``
    result carrying the exception instead: one broken run must not stop a sweep."""
    train = train_fn or _default_train
    start = time.perf_counter()
    try:
        return train(spec)
    except Exception as err:
        tb = traceback.format_exception_only(type(err), err)[-1].strip()
        return failed_result(spec, f"exception: {tb}", time.perf_counter() - start)


def train_group_or_fail(specs: Sequence[RunSpec]) -> list[RunResult]:
    """Same-shape specs (equal ``ensemble.group_key``) trained as one batched ensemble, each
    record equal to what ``train(spec)`` gives alone. A trainer exception (not a training
    failure, which the ensemble records per member) fails every member with the reason."""
    if len(specs) == 1:
        return [train_or_fail(specs[0])]
    from scaling_claims.engine import train_ensemble

    start = time.perf_counter()
    try:
        return train_ensemble(specs)
    except Exception as err:
        tb = traceback.format_exception_only(type(err), err)[-1].strip()
        spent = (time.perf_counter() - start) / len(specs)
        return [failed_result(s, f"exception (batched with {len(specs) - 1} other run(s)): {tb}", spent)
                for s in specs]


def _json_default(value: object) -> object:
    # numpy scalars and arrays, tuples inside metrics: written as plain JSON numbers / lists
    if hasattr(value, "tolist"):
        return value.tolist()  # type: ignore[no-any-return]
    if hasattr(value, "item"):
        return value.item()  # type: ignore[no-any-return]
    raise TypeError(f"cannot store {type(value).__name__} in a run record")


def record_digest(record: dict) -> str:
    """``"sha256:<hex>"`` of ``record`` without its ``digest``, as canonical JSON (sorted keys, no
    spaces). ``record`` is what JSON gives back (plain lists, floats, NaN as NaN), so the writer
    and any later reader hash the same text."""
    body = {k: v for k, v in record.items() if k != "digest"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=True)
    return "sha256:" + hashlib.sha256(text.encode("ascii")).hexdigest()


class DamagedRecord(ValueError):
    """Why a record cannot be used (the reason goes into the warning)."""


def _reason(err: BaseException) -> str:
    """One line for a warning: the exception's type and the first line of its message."""
    if isinstance(err, DamagedRecord):
        return str(err)
    text = str(err).strip().splitlines()[0][:200] if str(err).strip() else ""
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def trainer_folder(identity: str) -> str:
    """Where the records of the trainer ``identity`` (``runs.trainer.TrainerRef.identity``,
    ``"module:function@version"``) live under the cache root: ``trainers/<name>-<hash>``. The
    engine's own records stay at the root, under the same keys as before; a trainer's records
    are keyed by the same ``RunSpec.key()`` in its own folder, so two trainers' runs never mix."""
    name = "".join(c if c.isalnum() or c in "._-" else "_" for c in identity.partition("@")[0])[:80]
    return f"trainers/{name}-{hashlib.sha256(identity.encode()).hexdigest()[:16]}"


@dataclass(frozen=True)
class CacheRecord:
    """One stored run with its provenance (who wrote it and when)."""

    key: str
    created_at: float
    created_pid: int
    host: str
    result: RunResult


class RunCache:
    """A directory of run records keyed by ``RunSpec.key()``.

    ``ensure(spec, train_fn)`` is the one operation executors use: under the key's file lock,
    reuse a record if present (and not older than ``refresh_since``), else train, record and
    return. ``blocking=False`` gives up at once when another process holds the key, which is
    how cooperative sweeps split work (see ``scaling_claims.sweep``).
    """

    def __init__(self, root: str | os.PathLike[str] | None = None, trainer: str | None = None) -> None:
        self.root = resolve_cache_dir(root)
        if trainer is not None:  # another trainer's runs: a folder of their own (trainer_folder)
            self.root = self.root / trainer_folder(trainer)
        self.runs_dir = self.root / "runs"
        self.locks_dir = self.root / "locks"
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.locks_dir.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"RunCache({str(self.root)!r})"

    # -- paths and locks -------------------------------------------------------------------
    @staticmethod
    def _check_key(key: str) -> str:
        if not key or not all(c in "0123456789abcdef" for c in key):
            raise ValueError(f"a cache key is a lower-case hex digest (RunSpec.key()), got {key!r}")
        return key

    def path(self, key: str) -> Path:
        return self.runs_dir / f"{self._check_key(key)}.json"

    def lock(self, key: str) -> filelock.FileLock:
        """The key's inter-process lock (not yet acquired). Locks are advisory OS locks, so a
        killed holder releases its lock with its death; lock files themselves are left in
        place (deleting them would race with other waiters)."""
        return filelock.FileLock(str(self.locks_dir / f"{self._check_key(key)}.lock"), thread_local=False)

    # -- reading ---------------------------------------------------------------------------
    def read(self, key: str) -> CacheRecord | None:
        """The record for ``key`` with its provenance, or None if absent or damaged.

        Damage is anything that keeps the record from being used as it was written: a failure
        to read the path (a folder there, no permission), to decode it (not UTF-8, a BOM), to
        parse it (not JSON, nested too deep), or to validate it (not an object, wrong format or
        key, missing fields, a spec whose key is not this key, a digest that does not match).
        A damaged record is moved aside to ``<key>.json.corrupt`` with a warning naming the key
        and the reason, so the spec is retrained instead of crashing the sweep.
        """
        return self._read(key, locked=False)

    def _read(self, key: str, *, locked: bool) -> CacheRecord | None:
        """``read``; ``locked`` says the caller holds the key's lock (so moving a damaged
        record aside, or sealing a legacy one, needs no lock of its own)."""
        path = self.path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as err:  # a folder at the path, no permission, an I/O error
            self._quarantine(key, path, None, f"cannot read it: {type(err).__name__}: {err.strerror or err}",
                             locked=locked)
            return None
        try:
            raw, rec = self._parse(key, data)
        except Exception as err:  # noqa: BLE001 -- any failure is damage, never a crash
            self._quarantine(key, path, data, _reason(err), locked=locked)
            return None
        if raw.get("format") == LEGACY_FORMAT:
            self._seal(key, path, data, raw, locked=locked)
        return rec

    @staticmethod
    def _parse(key: str, data: bytes) -> tuple[dict, CacheRecord]:
        """The record in ``data`` (raw JSON and parsed); raises on any damage."""
        text = data.decode("utf-8")  # strict: random bytes raise UnicodeDecodeError
        raw = json.loads(text)  # a BOM, a truncation or garbage raise ValueError; deep nesting RecursionError
        if not isinstance(raw, dict):
            raise DamagedRecord(f"not a JSON object but {type(raw).__name__}")
        fmt = raw.get("format")
        if fmt not in (RECORD_FORMAT, LEGACY_FORMAT):
            raise DamagedRecord(f"unknown format {fmt!r}")
        if raw.get("key") != key:
            raise DamagedRecord(f"it is the record of key {raw.get('key')!r}")
        if fmt == RECORD_FORMAT:
            if "digest" not in raw:
                raise DamagedRecord("the digest is missing")
            if raw["digest"] != record_digest(raw):
                raise DamagedRecord("digest mismatch: the record was changed after it was written")
        elif "digest" in raw:
            raise DamagedRecord("a format-1 record with a digest")
        if not isinstance(raw.get("result"), dict):
            raise DamagedRecord("no result")
        result = RunResult.from_dict(dict(raw["result"]))
        if result.key != key or result.status not in ("ok", "failed"):
            raise DamagedRecord(f"result key/status invalid ({result.key!r}, {result.status!r})")
        if not isinstance(result.spec, dict) or RunSpec.from_dict(result.spec).key() != key:
            raise DamagedRecord("the result's spec does not answer this key")
        rec = CacheRecord(key=key, created_at=float(raw["created_at"]), created_pid=int(raw["created_pid"]),
                          host=str(raw.get("host", "")), result=result)
        return raw, rec

    def _quarantine(self, key: str, path: Path, seen: bytes | None, reason: str, *, locked: bool) -> None:
        """Warn, and move the damaged record aside (``<key>.json.corrupt``; a second name if
        that is taken by something that cannot be replaced). Without the key's lock it is taken
        first (not waited for) and the file moved only if it is still what was read, so a
        record that another process has just rewritten is never moved aside."""
        where = path.name + ".corrupt"
        lock = None if locked else self.lock(key)
        if lock is not None:
            try:
                lock.acquire(timeout=0)
            except filelock.Timeout:
                # the holder reads the record again under its lock, and moves it aside or rewrites it
                warnings.warn(f"run cache: unreadable record for key {key} ({reason}); another process "
                              "holds the key, which will retrain it", stacklevel=4)
                return
        try:
            if seen is not None:
                try:
                    if path.read_bytes() != seen:
                        return  # rewritten since we read it: not ours to move
                except OSError:
                    return
            target = path.with_name(where)
            try:
                os.replace(path, target)
            except OSError:  # a folder onto a file or the reverse, a non-empty folder: another name
                target = path.with_name(f"{where}.{time.time_ns()}.{os.getpid()}")
                try:
                    os.replace(path, target)
                except OSError:
                    target = None
            moved = f"moved aside to {target.name}" if target is not None else "it could not be moved aside"
            warnings.warn(f"run cache: unreadable record for key {key} ({reason}); {moved}, the run will be "
                          "retrained", stacklevel=4)
        finally:
            if lock is not None:
                lock.release()

    def _seal(self, key: str, path: Path, seen: bytes, raw: dict, *, locked: bool) -> None:
        """Rewrite a legacy (format-1) record as format 2 with its digest, unchanged otherwise
        (provenance and numbers as read), under the key's lock and only if the file is still
        what was read. Skipped quietly if another process holds the key: a later read seals it."""
        lock = None if locked else self.lock(key)
        if lock is not None:
            try:
                lock.acquire(timeout=0)
            except filelock.Timeout:
                return
        try:
            try:
                if path.read_bytes() != seen:
                    return
            except OSError:
                return
            sealed = {**raw, "format": RECORD_FORMAT}
            sealed["digest"] = record_digest(sealed)
            self._write(key, json.dumps(sealed))
        finally:
            if lock is not None:
                lock.release()

    def get(self, key: str, newer_than: float | None = None) -> RunResult | None:
        """The cached RunResult, or None if absent, damaged, or created before ``newer_than``."""
        return self._get(key, newer_than, locked=False)

    def _get(self, key: str, newer_than: float | None, *, locked: bool) -> RunResult | None:
        rec = self._read(key, locked=locked)
        if rec is None or (newer_than is not None and rec.created_at < newer_than):
            return None
        return rec.result

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.read(key) is not None

    def keys(self) -> list[str]:
        """Keys with a record file (readability not checked; use ``read``)."""
        return sorted(p.stem for p in self.runs_dir.glob("*.json"))

    def __len__(self) -> int:
        return len(self.keys())

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    # -- writing ---------------------------------------------------------------------------
    def put(self, result: RunResult) -> CacheRecord:
        """Write ``result`` atomically: a temp file in the same directory, fsync, os.replace.
        A reader sees either the old record or the whole new one, never a partial file. The
        record carries its digest (``record_digest``), checked on every read."""
        key = self._check_key(result.key)
        record = {
            "format": RECORD_FORMAT,
            "key": key,
            "created_at": time.time(),
            "created_pid": os.getpid(),
            "host": socket.gethostname(),
            "result": result.to_dict(),
        }
        # NaN/inf losses of failed runs are written as NaN/Infinity (Python's json reads them back);
        # the digest is taken over what a reader will parse (tuples as lists, numpy as numbers)
        stored = json.loads(json.dumps(record, default=_json_default))
        stored["digest"] = record_digest(stored)
        self._write(key, json.dumps(stored))
        # hand back what a reader will see (JSON turns tuples into lists), so a freshly trained
        # result and a cached one are equal
        return CacheRecord(key, record["created_at"], record["created_pid"], record["host"],
                           RunResult.from_dict(stored["result"]))

    def _write(self, key: str, text: str) -> None:
        fd, tmp = tempfile.mkstemp(prefix=f".{key}.", suffix=".tmp", dir=self.runs_dir)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path(key))
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    # -- the executor's operation ----------------------------------------------------------
    def claim(self, key: str, *, refresh_since: float | None = None,
              blocking: bool = True) -> tuple[str, RunResult | None, filelock.FileLock | None]:
        """Take the right to train ``key``: ``("cached", result, None)`` when a record is there
        (checked again under the lock, so a run finished by someone else while we waited is
        reused), ``("busy", None, None)`` when ``blocking=False`` and another process holds the
        key, else ``("claimed", None, lock)`` with the key's lock held: the caller trains, puts
        the result and releases the lock."""
        hit = self.get(key, refresh_since)
        if hit is not None:
            return "cached", hit, None
        lock = self.lock(key)
        try:
            lock.acquire(timeout=-1 if blocking else 0)
        except filelock.Timeout:
            return "busy", None, None
        hit = self._get(key, refresh_since, locked=True)
        if hit is not None:
            lock.release()
            return "cached", hit, None
        return "claimed", None, lock

    def ensure_group(self, specs: Sequence[RunSpec], *, refresh_since: float | None = None,
                     blocking: bool = True) -> dict[str, str]:
        """``ensure`` for same-shape specs that train as one batched ensemble (the real trainer
        only; see ``ensemble.group_key``); returns {key: "cached" | "trained" | "busy"}.

        The specs nobody else holds are claimed together (never waiting while holding a lock)
        and trained as one ensemble; with ``blocking=True`` the ones another process held are
        then waited for one by one, as ``ensure`` does."""
        outcome: dict[str, str] = {}
        claimed: list[tuple[RunSpec, filelock.FileLock]] = []
        try:
            for spec in specs:
                how, _, lock = self.claim(spec.key(), refresh_since=refresh_since, blocking=False)
                outcome[spec.key()] = how
                if lock is not None:
                    claimed.append((spec, lock))
            if claimed:
                results = train_group_or_fail([s for s, _ in claimed])
                for (spec, _), result in zip(claimed, results):
                    if result.key != spec.key():
                        raise ValueError(f"the ensemble returned a result for key {result.key!r}, "
                                         f"expected {spec.key()!r}")
                    self.put(result)
                    outcome[spec.key()] = "trained"
        finally:
            for _, lock in claimed:
                lock.release()
        if blocking:
            for spec in specs:
                if outcome[spec.key()] == "busy":
                    outcome[spec.key()], _ = self.ensure(spec, refresh_since=refresh_since, blocking=True)
        return outcome

    def ensure(
        self,
        spec: RunSpec,
        train_fn: TrainFn | None = None,
        *,
        refresh_since: float | None = None,
        blocking: bool = True,
    ) -> tuple[str, RunResult | None]:
        """Make sure ``spec`` has a record; return ``(how, result)``.

        ``how`` is "cached" (a record was there), "trained" (this call trained it) or "busy"
        (``blocking=False`` and another process holds the key; result None). Under the lock the
        record is checked again, so a spec finished by someone else while we waited is reused.
        A trainer that raises yields a recorded ``failed`` result carrying the exception.
        """
        key = spec.key()
        how, hit, lock = self.claim(key, refresh_since=refresh_since, blocking=blocking)
        if lock is None:
            return how, hit
        try:
            result = train_or_fail(spec, train_fn)
            if not isinstance(result, RunResult):
                raise TypeError(f"train_fn must return a RunResult, got {type(result).__name__}")
            if result.key != key:
                raise ValueError(f"train_fn returned a result for key {result.key!r}, expected {key!r}")
            return "trained", self.put(result).result
        finally:
            lock.release()
