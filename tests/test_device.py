"""Device selection, the dtype policy, synchronisation and the environment record. MPS and
CUDA paths are exercised with the availability checks patched (CI has neither)."""

from __future__ import annotations

import pytest
import torch

from scaling_claims.engine import device as dev


@pytest.mark.parametrize(
    "mps, cuda, expected", [(True, True, "mps"), (False, True, "cuda"), (True, False, "mps"), (False, False, "cpu")]
)
def test_auto_prefers_mps_then_cuda_then_cpu(monkeypatch, mps, cuda, expected):
    monkeypatch.setattr(dev, "mps_available", lambda: mps)
    monkeypatch.setattr(dev, "cuda_available", lambda: cuda)
    assert dev.resolve_device("auto") == expected
    assert dev.available_devices()[-1] == "cpu"


def test_named_devices_are_checked(monkeypatch):
    monkeypatch.setattr(dev, "mps_available", lambda: False)
    monkeypatch.setattr(dev, "cuda_available", lambda: False)
    assert dev.resolve_device("cpu") == "cpu"
    with pytest.raises(ValueError, match="not available"):
        dev.resolve_device("cuda")
    with pytest.raises(ValueError, match="unknown device"):
        dev.resolve_device("tpu")


def test_auto_on_this_machine_is_a_real_device():
    assert dev.resolve_device() in dev.available_devices()
    assert dev.torch_device("cpu") == torch.device("cpu")


def test_dtype_policy_never_float64_on_mps():
    assert dev.float_dtype_for("mps") == torch.float32
    assert dev.float_dtype_for("cpu") == torch.float64
    assert dev.float_dtype_for("cuda") == torch.float64
    assert all(dev.param_dtype(d) == torch.float32 for d in ("cpu", "cuda", "mps"))
    with pytest.raises(ValueError, match="float64"):
        dev.check_dtype("cpu", "float64")


def test_bf16_autocast_is_opt_in():
    a, b = torch.randn(4, 4), torch.randn(4, 4)
    with dev.autocast("cpu", "float32"):
        assert (a @ b).dtype == torch.float32
    with dev.autocast("cpu", "bf16"):
        assert (a @ b).dtype == torch.bfloat16


@pytest.mark.parametrize("name, attr", [("cuda", "cuda"), ("mps", "mps")])
def test_synchronize_waits_on_accelerators(monkeypatch, name, attr):
    calls = []
    monkeypatch.setattr(getattr(torch, attr), "synchronize", lambda *a: calls.append(name))
    dev.synchronize(name)
    dev.synchronize(torch.device(name))
    assert calls == [name, name]


def test_synchronize_is_a_noop_on_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *a: pytest.fail("CUDA sync on CPU"))
    dev.synchronize("cpu")


def test_environment_record(monkeypatch):
    monkeypatch.setenv("PYTORCH_ENABLE_MPS_FALLBACK", "1")
    env = dev.environment("cpu", "bf16")
    assert env["device"] == "cpu" and env["dtype"] == "bf16" and env["torch"] == torch.__version__
    assert env["threads"] == torch.get_num_threads() and env["mps_fallback"] is True
    monkeypatch.delenv("PYTORCH_ENABLE_MPS_FALLBACK")
    assert dev.environment("cpu", "float32")["mps_fallback"] is False
