"""The run options, defined once: how missing runs are trained (``--executor``, ``--workers``,
``--ray-address``, ``--no-batching``), with what (``--trainer``, ``--device``), how much
(``--budget``) and where they are cached (``--cache-dir``, ``--refresh``), for the pytest
plugin (``pytest_plugin.pytest_addoption``) and ``scaling-claims run`` alike: the same flags,
choices, defaults, help and validation (``--workers 0`` is refused by both).

``add_run_options(add, names, dests=...)`` calls ``add(flag, **argparse keywords)`` for each
option named: ``add`` is a pytest option group's ``addoption`` or an ``argparse`` parser's
``add_argument`` (pytest's options are argparse's). ``dests`` renames where a value lands (the
plugin keeps its ``sc_`` prefixes on the config, the command its plain names).

Imports neither torch nor NumPy (``scaling-claims --help`` answers at once): the device choices
are read from the engine only when ``--device`` is added.
"""

from __future__ import annotations

import argparse
from typing import Any, Callable, Iterable, Mapping

from scaling_claims.runs import EXECUTOR_NAMES


def checked(text: str, convert: Callable[[str], Any], ok: Callable[[Any], bool], need: str) -> Any:
    """``convert(text)`` when it converts and ``ok`` holds; else argparse's usage error
    "<need>, got '<text>'" (the one parser behind every numeric option here and in the CLI)."""
    try:
        value = convert(text)
    except ValueError:
        value = None
    if value is None or not ok(value):
        raise argparse.ArgumentTypeError(f"{need}, got {text!r}")
    return value


def _finite(v: float) -> bool:
    return v == v and abs(v) != float("inf")


def positive_float(text: str, flag: str = "--budget") -> float:
    return checked(text, float, lambda v: v > 0 and _finite(v), f"{flag} must be a positive finite number")


def non_negative_float(text: str, flag: str = "--progress-every") -> float:
    return checked(text, float, lambda v: v >= 0 and _finite(v), f"{flag} must be a number of seconds >= 0")


def positive_int(text: str, flag: str = "--workers") -> int:
    return checked(text, int, lambda v: v >= 1, f"{flag} must be an integer >= 1")


def _device_choices() -> tuple[str, ...]:
    from scaling_claims.engine import DEVICES  # torch: only where --device is offered

    return ("auto",) + tuple(DEVICES)


# name -> (flag, argparse keywords); a callable value is evaluated when the option is added
RUN_OPTIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "device": ("--device", {"choices": _device_choices, "default": "auto",
                            "help": "device for training runs (auto: mps, then cuda, then cpu)"}),
    "budget": ("--budget", {"type": positive_float, "default": 1.0, "metavar": "SCALE",
                            "help": "scale factor for sweep sizes (default 1.0)"}),
    "executor": ("--executor", {"choices": EXECUTOR_NAMES, "default": "auto",
                                "help": "how missing runs are trained (auto: pool on multi-core CPU, in-process "
                                        "under xdist workers and on GPUs; ray: tasks on a Ray cluster; "
                                        "docs/running.md)"}),
    "ray_address": ("--ray-address", {"default": None, "metavar": "ADDRESS",
                                      "help": "Ray cluster for --executor ray (else $RAY_ADDRESS, else a local "
                                              "instance)"}),
    "workers": ("--workers", {"type": positive_int, "default": None, "metavar": "N",
                              "help": "process-pool size (default: usable cores)"}),
    "batching": ("--no-batching", {"action": "store_false", "default": True,
                                   "help": "train tiny same-shape runs one at a time, not as batched ensembles "
                                           "(same records)"}),
    "cache_dir": ("--cache-dir", {"default": None, "metavar": "PATH",
                                  "help": "run cache directory (else $SCALING_CLAIMS_CACHE, else "
                                          "~/.cache/scaling-claims)"}),
    "refresh": ("--refresh", {"action": "store_true", "default": False,
                              "help": "retrain specs whose cached record predates this session"}),
    "progress_every": ("--progress-every", {"type": non_negative_float, "default": None, "metavar": "SECONDS",
                                            "help": "live sweep progress lines every SECONDS (default 5 on a "
                                                    "terminal, 30 otherwise; 0: off)"}),
    "trainer": ("--trainer", {"default": None, "metavar": "MODULE:FUNCTION",
                              "help": "train every run with this function (RunSpec -> RunResult) instead of the "
                                      "engine's train; docs/trainers.md"}),
    "reference": ("--reference", {"default": None, "metavar": "PATH",
                                  "help": "artifacts folder of an engine session to compare a --trainer session "
                                          "with (default: <rootdir>/artifacts)"}),
}

# what the pytest plugin offers (all of them) and what ``scaling-claims run`` offers
PLUGIN_OPTIONS = tuple(RUN_OPTIONS)
CLI_OPTIONS = ("cache_dir", "executor", "workers", "ray_address", "batching", "trainer")
# where the plugin keeps the values it prefixes (``config.getoption("sc_cache_dir")``, ...)
PLUGIN_DESTS = {"batching": "sc_batching", "cache_dir": "sc_cache_dir", "trainer": "sc_trainer",
                "reference": "sc_reference"}


def add_run_options(add: Callable[..., Any], names: Iterable[str], dests: Mapping[str, str] | None = None) -> None:
    """``add(flag, dest=..., **keywords)`` for each run option in ``names`` (module docstring)."""
    dests = dests or {}
    for name in names:
        flag, spec = RUN_OPTIONS[name]
        kwargs = {k: (v() if callable(v) and k == "choices" else v) for k, v in spec.items()}
        add(flag, dest=dests.get(name, name), **kwargs)
