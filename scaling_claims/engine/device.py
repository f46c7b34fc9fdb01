"""Devices: picking one, the dtype policy, clock-safe synchronisation and the environment record.

- ``resolve_device("auto")`` prefers Apple MPS, then CUDA, then CPU; a named device is checked
  to exist (``ValueError`` if not), so a spec never silently trains somewhere else.
- dtype policy: parameters and optimiser state are always float32; ``"bf16"`` turns on
  ``torch.autocast`` with bfloat16 for the forward pass (opt-in). Nothing here ever makes a
  float64 tensor on MPS (MPS has no float64): compute float64 statistics on the CPU.
- ``synchronize(device)`` must be called before reading a clock on CUDA/MPS: kernels run
  asynchronously, so a clock read without it measures only the launch time.
- ``environment(device, dtype)`` is the record stored with every result.
"""

from __future__ import annotations

import contextlib
import os
import platform
from typing import Any, ContextManager, Iterator

import torch

from scaling_claims.engine.specs import DEVICES, DTYPES

AUTO = "auto"


def mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def cuda_available() -> bool:
    return bool(torch.cuda.is_available())


def available_devices() -> tuple[str, ...]:
    """The concrete devices usable in this process, in ``auto``'s order of preference."""
    found = []
    if mps_available():
        found.append("mps")
    if cuda_available():
        found.append("cuda")
    found.append("cpu")
    return tuple(found)


def resolve_device(name: str = AUTO) -> str:
    """``"auto"`` -> "mps" if available, else "cuda", else "cpu"; a concrete name is checked.

    Raises ``ValueError`` for an unknown name or a device this machine does not have.
    """
    if name == AUTO:
        return available_devices()[0]
    if name not in DEVICES:
        raise ValueError(f"unknown device {name!r}; expected 'auto' or one of {DEVICES}")
    if name not in available_devices():
        raise ValueError(f"device {name!r} is not available here (available: {available_devices()})")
    return name


def torch_device(name: str) -> torch.device:
    """The ``torch.device`` for a resolved device name (``cuda`` means the current CUDA device)."""
    return torch.device(resolve_device(name))


def check_dtype(device: str, dtype: str) -> None:
    """Validate the (device, dtype) pair of a spec; ``ValueError`` if unsupported."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r} (float64 is never used for training)")
    if dtype == "bf16" and device == "cuda" and not torch.cuda.is_bf16_supported():
        raise ValueError("dtype 'bf16' requested but this CUDA device does not support bfloat16")


def param_dtype(device: str) -> torch.dtype:
    """Parameters and optimiser state are float32 on every device (bf16 is autocast only)."""
    return torch.float32


def float_dtype_for(device: str, want: torch.dtype = torch.float64) -> torch.dtype:
    """The widest float dtype allowed on ``device``: float64 except on MPS (float32 there)."""
    if device == "mps" and want == torch.float64:
        return torch.float32
    return want


def autocast(device: str, dtype: str) -> ContextManager[Any]:
    """The forward-pass context for the dtype policy: bf16 autocast, or nothing for float32."""
    if dtype == "bf16":
        return torch.autocast(device_type=device, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def synchronize(device: str | torch.device) -> None:
    """Wait for queued kernels, so that a clock read afterwards is honest (no-op on CPU)."""
    kind = torch.device(device).type
    if kind == "cuda":
        torch.cuda.synchronize()
    elif kind == "mps":
        torch.mps.synchronize()


@contextlib.contextmanager
def pinned_threads(device: torch.device | str) -> Iterator[None]:
    """On CPU, run the block on one torch intra-op thread and restore the caller's count after.

    A run's numbers must depend on its spec alone: with several threads, torch's parallel
    reductions can add in another order and round differently, so the same spec trained in a
    two-thread process and in a one-thread pool worker gave different losses. One thread is
    also the engine's fast setting (one single-thread worker per core). Other devices are
    left alone."""
    if torch.device(device).type != "cpu":
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def mps_fallback_enabled() -> bool:
    """Whether ``PYTORCH_ENABLE_MPS_FALLBACK=1`` is set (must be set before torch is imported)."""
    return os.environ.get("PYTORCH_ENABLE_MPS_FALLBACK", "") == "1"


def device_name(device: str) -> str:
    """A human name for the hardware behind ``device``."""
    if device == "cuda" and cuda_available():
        return torch.cuda.get_device_name(torch.cuda.current_device())
    if device == "mps":
        return "Apple MPS"
    return platform.processor() or platform.machine() or "cpu"


def environment(device: str, dtype: str) -> dict[str, Any]:
    """The environment record stored with each result (device, dtype, versions, threads)."""
    env: dict[str, Any] = {
        "device": device,
        "device_name": device_name(device),
        "dtype": dtype,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "mps_fallback": mps_fallback_enabled(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    if device == "cuda" and cuda_available():
        env["cuda"] = torch.version.cuda
    return env
