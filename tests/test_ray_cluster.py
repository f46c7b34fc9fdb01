"""The documented Ray cluster flow (docs/running.md, "A Ray cluster on two machines") on a real
head: ``ray start --head`` on 127.0.0.1, a driver that joins it with an explicit address (what
``--executor ray --ray-address HOST:PORT`` does) and trains a small sweep through it, then the
head stopped.

Both ways a head can run are covered (issue 29): with token authentication (on Ray >= 2.52,
``ray start --head`` turns it on by itself once a token exists on the head, e.g. the
``~/.ray/auth_token`` a local ``ray.init()`` leaves; a driver given an address used to fail
there) and without (``RAY_AUTH_MODE=disabled``, and every Ray before 2.52). A driver that cannot
join fails with one line saying what to set.

Isolation: every command runs with its own ``HOME`` (so no real ``~/.ray/auth_token`` is read
or written), its own ``--temp-dir`` and free ports, and the head in its own process group. The
head is stopped by signalling that group, not by ``ray stop``, which stops every Ray process of
this user on the machine (another test's local instance under xdist, a user's own cluster).
Skipped, with the reason, where Ray is not installed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install -e '.[ray]'")

from scaling_claims.runs.ray_executor import token_auth_supported  # noqa: E402

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
RAY_CLI = Path(sys.executable).with_name("ray")
TOKEN_AUTH = token_auth_supported(ray)

# A driver that joins the cluster and runs a small sweep with the fast fake trainer; prints
# {key: how} of the first pass, of a second pass (all cached) and the losses read back.
DRIVER = textwrap.dedent("""
    import json, sys
    from fake_train import fake_train
    from scaling_claims.runs.cache import RunCache
    from scaling_claims.runs.ray_executor import RayExecutor
    from scaling_claims.engine import Budget, DataSpec, ModelSpec, RunSpec

    specs = [RunSpec(model=ModelSpec(n_layer=1, d_model=8 * (i + 1), n_head=2, ctx=16),
                     data=DataSpec.make("copy", length=4), budget=Budget(steps=5)) for i in range(4)]
    cache = RunCache(sys.argv[2])
    executor = RayExecutor(address=sys.argv[1])
    first = executor.run(specs, cache, fake_train)
    second = executor.run(specs, cache, fake_train)
    executor.close()
    print(json.dumps({"first": first, "second": second,
                      "losses": [cache.get(s.key()).final_eval_loss for s in specs],
                      "expected": [fake_train(s).final_eval_loss for s in specs],
                      "auth_mode": __import__("os").environ.get("RAY_AUTH_MODE")}))
""")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RAY_", "PYTEST_", "COV_")) and k != "PYTHONPATH"}
    env.update(HOME=str(home), PYTHONPATH=os.pathsep.join([str(TESTS), str(ROOT)]), RAY_USAGE_STATS_ENABLED="0")
    return env


class Head:
    """One ``ray start --head`` on 127.0.0.1 in its own process group, stopped by ``stop``."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.temp_dir = workdir / "r"  # short: Ray's unix socket paths must stay under ~107 bytes
        cmd = [str(RAY_CLI), "start", "--head", f"--port={self.port}", "--num-cpus=2",
               "--node-ip-address=127.0.0.1", f"--temp-dir={self.temp_dir}", "--include-dashboard=false",
               f"--dashboard-port={free_port()}", f"--dashboard-agent-listen-port={free_port()}",
               "--disable-usage-stats"]
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True)
        self.pgid = self.proc.pid  # a new session: the group of every process the head starts
        try:
            out, _ = self.proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            self.stop()
            raise
        self.log = out
        if self.proc.returncode != 0:
            self.stop()
            raise RuntimeError(f"ray start --head failed ({self.proc.returncode}):\n{out[-3000:]}")

    def alive(self) -> bool:
        try:
            os.killpg(self.pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # the group id was reused by someone else's process
            return False
        return True

    def stop(self) -> None:
        """SIGTERM the head's process group, then SIGKILL what is left after a grace period."""
        # a short grace: Ray's GCS takes its time over SIGTERM, and this head's state is thrown away
        for sig, grace in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 10.0)):
            if not self.alive():
                return
            try:
                os.killpg(self.pgid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + grace
            while self.alive() and time.monotonic() < deadline:
                time.sleep(0.2)


@pytest.fixture(params=["token-auth", "no-auth"])
def head(request):
    """A real head, with token authentication (a token on the head, RAY_AUTH_MODE unset, as
    after any local ``ray.init()``) or without (RAY_AUTH_MODE=disabled); stopped afterwards
    whatever happened. One head per test, so that xdist can never split one head's checks over
    two workers (each would start a head of its own)."""
    if request.param == "token-auth" and not TOKEN_AUTH:
        pytest.skip(f"Ray {ray.__version__} has no token authentication (Ray >= 2.52)")
    workdir = Path(tempfile.mkdtemp(prefix="sc-ray-"))
    home = workdir / "home"
    (home / ".ray").mkdir(parents=True)
    env = base_env(home)
    token = uuid.uuid4().hex
    if request.param == "token-auth":
        (home / ".ray" / "auth_token").write_text(token)  # what `ray get-auth-token --generate` writes
    else:
        env["RAY_AUTH_MODE"] = "disabled"
    started = None
    try:
        started = Head(workdir, env)
        yield request.param, started, token, workdir
    finally:
        if started is not None:
            started.stop()
            assert not started.alive(), "the head's processes outlived SIGKILL"
        shutil.rmtree(workdir, ignore_errors=True)


def driver(head_, workdir: Path, name: str, token: str | None, extra_env: dict[str, str] | None = None) -> dict:
    """Run the DRIVER script on this machine as a user with (or without) the head's token in
    ``~/.ray/auth_token``, RAY_AUTH_MODE unset, as in the docs' ``pytest ... --ray-address``;
    check the sweep and return what it printed."""
    home = workdir / f"home-{name}"
    (home / ".ray").mkdir(parents=True, exist_ok=True)
    if token is not None:
        (home / ".ray" / "auth_token").write_text(token)
    env = {**base_env(home), **(extra_env or {})}
    got = subprocess.run([sys.executable, "-c", DRIVER, head_.address, str(workdir / f"cache-{name}")],
                         env=env, capture_output=True, text=True, timeout=180)
    assert got.returncode == 0, got.stderr[-3000:]
    out = json.loads(got.stdout.strip().splitlines()[-1])
    assert set(out["first"].values()) == {"trained"} and len(out["first"]) == 4
    assert set(out["second"].values()) == {"cached"}  # the driver's cache holds every record
    assert out["losses"] == out["expected"]  # the workers' numbers, exactly (the same function)
    return out


def refused_command_line(head_, workdir: Path, tmp_path: Path) -> str:
    """``scaling-claims run --executor ray --ray-address`` with no token: exit 2, one line (no
    traceback), no CSV; returns the line."""
    from scaling_claims.engine import Budget, DataSpec, ModelSpec, RunSpec

    spec = RunSpec(model=ModelSpec(n_layer=1, d_model=8, n_head=2, ctx=16), data=DataSpec.make("copy", length=4),
                   budget=Budget(steps=5))
    (tmp_path / "specs.json").write_text(json.dumps([spec.to_dict()]))
    home = workdir / "home-cli"
    (home / ".ray").mkdir(parents=True, exist_ok=True)
    # RAY_NUM_REDIS_GET_RETRIES: a refused driver gives up after 3 one-second tries instead of 20
    got = subprocess.run([sys.executable, "-m", "scaling_claims.tool.cli", "run", str(tmp_path / "specs.json"),
                          "--out", str(tmp_path / "out.csv"), "--cache-dir", str(tmp_path / "cache"),
                          "--executor", "ray", "--ray-address", head_.address],
                         env={**base_env(home), "RAY_NUM_REDIS_GET_RETRIES": "3"}, capture_output=True, text=True,
                         timeout=180)
    assert got.returncode == 2 and "Traceback" not in got.stderr, got.stderr[-3000:]
    assert not (tmp_path / "out.csv").exists()
    ours = [ln for ln in got.stderr.splitlines() if "RAY_AUTH_TOKEN" in ln]
    assert len(ours) == 1, got.stderr[-3000:]
    return ours[0]


def test_the_documented_cluster_flow(head, tmp_path):
    """Token head: a driver with the token (in ~/.ray/auth_token) joins and sweeps; one without
    is refused in one line saying what to set, and setting it is enough. Head without
    authentication: drivers with and without a token both join and sweep."""
    mode, head_, token, workdir = head
    out = driver(head_, workdir, "with-token", token)
    if TOKEN_AUTH:
        # a token on this machine turns token mode on for the driver; a head without
        # authentication accepts it all the same
        assert out["auth_mode"] == "token"
    if mode == "no-auth":
        assert driver(head_, workdir, "no-token", None)["auth_mode"] is None
        return
    line = refused_command_line(head_, workdir, tmp_path)
    assert line.endswith(f"the Ray cluster at {head_.address} uses token authentication and this machine has "
                         "no token: set RAY_AUTH_TOKEN to the head's token (print it with `ray get-auth-token` "
                         "on the head), or copy the head's ~/.ray/auth_token to this machine"), line
    driver(head_, workdir, "env-token", None, {"RAY_AUTH_TOKEN": token})  # ... and setting it is enough


def test_no_head_at_the_address_is_one_line(tmp_path):
    """Nothing listening at ``--ray-address``: exit 2, one line naming the address."""
    home = tmp_path / "home"
    home.mkdir()
    address = f"127.0.0.1:{free_port()}"
    got = subprocess.run([sys.executable, "-c", "import sys; from scaling_claims.runs.ray_executor import "
                          "RayExecutor; RayExecutor(address=sys.argv[1])", address],
                         env={**base_env(home), "RAY_NUM_REDIS_GET_RETRIES": "2"}, capture_output=True, text=True,
                         timeout=180)
    assert got.returncode != 0
    line = [ln for ln in got.stderr.splitlines() if ln.startswith("ValueError:")]
    assert len(line) == 1 and f"cannot connect to the Ray cluster at {address}" in line[0], got.stderr[-3000:]
    assert "is `ray start --head` running there" in line[0]


def test_the_messages_name_what_to_set():
    """The three one-line messages, without a cluster (the exception chains Ray 2.60 raises)."""
    from scaling_claims.runs.ray_executor import connect_error

    auth = RuntimeError("Failed to connect to GCS. Last connection error: ray.exceptions.AuthenticationError: "
                        "RPC error: InvalidAuthToken: Authentication token is missing or incorrect.\\nmore")
    try:
        raise ConnectionError("Failed to connect to Ray cluster at 10.0.0.1:6379") from auth
    except ConnectionError as err:
        refused = err
    for token_mode, says in ((False, "uses token authentication and this machine has no token"),
                             (True, "rejected this machine's token")):
        msg = connect_error(ray, "10.0.0.1:6379", refused, token_mode)
        assert "\n" not in msg and says in msg and "RAY_AUTH_TOKEN" in msg and "ray get-auth-token" in msg
    other = connect_error(ray, "10.0.0.1:6379", ConnectionError("Failed to connect\nto GCS"), False)
    assert "\n" not in other and other.startswith("cannot connect to the Ray cluster at 10.0.0.1:6379")
