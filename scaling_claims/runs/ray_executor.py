"""Sweeps on a Ray cluster (the optional extra ``scaling-claims[ray]``).

``RayExecutor`` sends each run that has no record to a Ray task and writes the result into the
*driver's* run cache, so the machines of a cluster need no shared filesystem: the driver keeps
the cache (and its resumability), the workers only train. Like the process pool it answers
cache hits itself, submits the longest runs first, and takes each key's file lock for the
duration (so two drivers, or two xdist workers sharing a sweep, never train a spec twice).
Tiny same-shape runs go to one task as a batched ensemble (``scaling_claims.runs.batches``),
unless ``batching=False``; the records are the same either way.

Failures: a task whose worker dies (killed, out of memory, a lost node) is retried by Ray up to
``retries`` times, then recorded as a failed run with the reason, as an exception raised by the
trainer is; the sweep always completes with a record for every spec. A worker whose
installation computes another cache key (other engine code: ``specs.engine_fingerprint``) has
its result recorded as failed with that reason rather than cached under the wrong code.

Where the cluster is: ``address`` (``--ray-address``), else ``$RAY_ADDRESS``, else a local Ray
instance started on this machine. Every worker needs scaling-claims installed at the same
version (``pip install -e .`` on each node, or a Ray ``runtime_env``); see docs/running.md.

Token authentication (Ray >= 2.52): ``ray start --head`` turns it on when a token exists on the
head (``~/.ray/auth_token``, which any local ``ray.init()`` of Ray >= 2.59 creates), but a driver
given an explicit address does not pick its own token up, and fails. So, with an address and
``RAY_AUTH_MODE`` unset, the executor turns token mode on for this process when a token is
available here (``$RAY_AUTH_TOKEN``, ``$RAY_AUTH_TOKEN_PATH`` or ``~/.ray/auth_token``), which
also connects to a head without authentication (it ignores the token). A cluster that cannot be
joined is a ``ValueError`` with one line saying what to set (``connect_error``). Ray < 2.52 has
no token authentication: nothing is changed there.
"""

from __future__ import annotations

import os
import socket
from typing import Sequence

import filelock

from scaling_claims.runs.batches import plan_batches
from scaling_claims.runs.cache import RunCache, TrainFn, failed_result, train_group_or_fail, train_or_fail
from scaling_claims.runs.executors import Progress, estimated_cost
from scaling_claims.engine import RunResult, RunSpec


def _train_remote(spec_dicts: list[dict], train_fn: TrainFn | None) -> list[dict]:
    """Runs on a Ray worker: one torch thread; one run, or a group of tiny same-shape runs as
    one batched ensemble (``scaling_claims.runs.batches``); never raises for a failed run."""
    from scaling_claims.runs.executors import single_thread_torch

    single_thread_torch()
    specs = [RunSpec.from_dict(d) for d in spec_dicts]
    if len(specs) > 1:
        return [r.to_dict() for r in train_group_or_fail(specs)]
    return [train_or_fail(specs[0], train_fn).to_dict()]


AUTH_HELP = ("set RAY_AUTH_TOKEN to the head's token (print it with `ray get-auth-token` on the head), or copy "
             "the head's ~/.ray/auth_token to this machine")


def token_auth_supported(ray) -> bool:
    """Whether this Ray has token authentication (2.52 and later)."""
    try:
        from ray._raylet import AuthenticationTokenLoader  # noqa: F401
    except ImportError:
        return False
    return hasattr(ray.exceptions, "AuthenticationError")


def use_local_token(ray) -> bool:
    """With ``RAY_AUTH_MODE`` unset and a token available on this machine, turn token mode on
    for this process (and the processes it starts), as ``ray start --head`` does for the head;
    return whether token mode is on. An explicit ``RAY_AUTH_MODE`` is respected as it is."""
    mode = os.environ.get("RAY_AUTH_MODE")
    if mode is not None or not token_auth_supported(ray):
        return (mode or "").lower() == "token"
    try:
        from ray._raylet import AuthenticationTokenLoader, Config

        if not AuthenticationTokenLoader.instance().has_token(ignore_auth_mode=True):
            return False
        os.environ["RAY_AUTH_MODE"] = "token"
        Config.initialize("")  # Ray caches its config: let this process see token mode too
    except (ImportError, AttributeError, TypeError):  # another Ray's internals: leave auth to Ray
        return os.environ.get("RAY_AUTH_MODE", "").lower() == "token"
    return True


def _is_auth_error(ray, err: BaseException) -> bool:
    auth_type = getattr(ray.exceptions, "AuthenticationError", None)
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if auth_type is not None and isinstance(err, auth_type):
            return True
        text = str(err)
        if "InvalidAuthToken" in text or "Unauthenticated" in text or "AuthenticationError" in text:
            return True
        err = err.__cause__ or err.__context__
    return False


def unreachable(address: str, timeout: float = 5.0) -> str | None:
    """Why nothing answers at a ``HOST:PORT`` address (refused, unknown host, timed out), or None
    when a TCP connection opens (or the address has another form: ``auto``, ``ray://...``). Ray
    itself retries a dead address for minutes (about 40 s per try); this answers at once."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or "://" in address or not port.isdigit():
        return None
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return None
    except OSError as err:
        return f"{type(err).__name__}: {err.strerror or err}"


def connect_error(ray, address: str, err: BaseException, token_mode: bool) -> str:
    """One line saying why the cluster at ``address`` cannot be joined and what to set."""
    if _is_auth_error(ray, err):
        if token_mode:
            return (f"the Ray cluster at {address} rejected this machine's token (RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH "
                    f"or ~/.ray/auth_token): {AUTH_HELP}")
        return (f"the Ray cluster at {address} uses token authentication and this machine has no token: "
                f"{AUTH_HELP}")
    first = (str(err).strip().splitlines() or [type(err).__name__])[0]
    return (f"cannot connect to the Ray cluster at {address} ({type(err).__name__}: {first}); is "
            "`ray start --head` running there, at that port, reachable from here?")


class RayExecutor:
    """Runs specs as Ray tasks (one CPU each, one GPU for CUDA specs); the driver writes the cache."""

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None, retries: int = 1,
                 batching: bool = True) -> None:
        try:
            import ray
        except ImportError:
            raise ValueError("the Ray executor needs Ray: pip install 'scaling-claims[ray]'") from None
        if retries < 0:
            raise ValueError(f"retries must be >= 0, got {retries}")
        self.ray, self.retries, self.batching = ray, int(retries), batching
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        self._owns_ray = False
        if not ray.is_initialized():
            if self.address:
                why = unreachable(self.address)
                if why is not None:
                    raise ValueError(f"cannot connect to the Ray cluster at {self.address} ({why}); is `ray start "
                                     "--head` running there, at that port, reachable from here?")
                token_mode = use_local_token(ray)
                try:
                    ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                             ignore_reinit_error=True)
                except Exception as err:  # noqa: BLE001 -- any failure to join is one line for the user
                    if ray.is_initialized():
                        ray.shutdown()
                    raise ValueError(connect_error(ray, self.address, err, token_mode)) from None
            else:
                ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
            self._owns_ray = True
        self._remote = ray.remote(_train_remote)

    def run(
        self,
        specs: Sequence[RunSpec],
        cache: RunCache,
        train_fn: TrainFn | None = None,
        *,
        refresh_since: float | None = None,
        blocking: bool = True,
        progress: Progress | None = None,
    ) -> dict[str, str]:
        outcome: dict[str, str] = {}
        held: dict[str, tuple[RunSpec, filelock.FileLock]] = {}
        try:
            for spec in specs:
                key = spec.key()
                how, _, lock = cache.claim(key, refresh_since=refresh_since, blocking=blocking)
                if lock is not None:
                    held[key] = (spec, lock)
                    continue
                outcome[key] = how
                if progress is not None and how == "cached":
                    progress.update(trained=False)
            cpus = max(1, int(self.ray.cluster_resources().get("CPU", 1)))
            units = plan_batches([spec for spec, _ in held.values()], batching=self.batching and train_fn is None,
                                 parts=cpus)
            refs = {}
            for unit in sorted(units, key=lambda u: sum(map(estimated_cost, u)), reverse=True):
                options = {"num_cpus": 1, "max_retries": self.retries}
                if unit[0].device == "cuda":
                    options["num_gpus"] = 1
                refs[self._remote.options(**options).remote([s.to_dict() for s in unit], train_fn)] = unit
            pending = list(refs)
            while pending:
                ready, pending = self.ray.wait(pending, num_returns=1)
                unit = refs[ready[0]]
                for spec, result in zip(unit, self._results(unit, ready[0])):
                    _, lock = held.pop(spec.key())
                    cache.put(result)
                    lock.release()
                    outcome[spec.key()] = "trained"
                    if progress is not None:
                        progress.update(trained=True)
        finally:
            for _, lock in held.values():
                lock.release()
        return outcome

    def _results(self, unit: list[RunSpec], ref) -> list[RunResult]:
        """The task's results, one per spec of ``unit``, or failed runs saying why there are none."""
        try:
            results = [RunResult.from_dict(d) for d in self.ray.get(ref)]
        except self.ray.exceptions.RayError as err:  # worker died after the retries, node lost, ...
            reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            return [failed_result(spec, f"ray: {type(err).__name__} after {self.retries} retr"
                                        f"{'y' if self.retries == 1 else 'ies'}: {reason}") for spec in unit]
        return [result if result.key == spec.key() else failed_result(
                    spec, f"the Ray worker computed cache key {result.key}, the driver {spec.key()}: its "
                          "scaling-claims engine code differs (install the same version everywhere)")
                for spec, result in zip(unit, results)]

    def close(self) -> None:
        if self._owns_ray and self.ray.is_initialized():
            self.ray.shutdown()
            self._owns_ray = False
