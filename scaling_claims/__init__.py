"""scaling-claims: neural scaling-law claims as a pytest suite.

The package is laid out by stage of the data flow (docs/engine.md; docs/library.md):

- ``scaling_claims.engine``  what a run is and how it trains: ``specs`` (RunSpec / RunResult),
  ``models``, ``data``, ``evals``, ``train`` (``train(spec) -> RunResult``), ``ensemble``,
  ``device``, ``flops``. Its public names are importable from ``scaling_claims.engine``. It
  imports only itself and the pure fitters (``fit.forecast``, for the early-stop rule).
- ``scaling_claims.runs``    filling the run cache: ``cache``, ``executors``, ``batches``,
  ``ray_executor``, ``sweep``, ``live``. It uses the engine through ``scaling_claims.engine``
  only (tests/test_layout.py).
- ``scaling_claims.fit``     pure NumPy/SciPy fitters (power laws, Chinchilla, IsoFLOP, ...);
  imports neither the engine nor the runs.
- ``scaling_claims.claims``  claim support: ``estimates``, ``checks``, ``expect``, ``records``,
  ``plots``, ``report`` and the pytest plugins (``pytest_plugin``, ``claims_plugin``).
- top level: ``plan``, ``cli``, ``ladders`` (the claims' run plans), ``userruns``, ``trainers``
  (helpers for bringing your own trainer, ``--trainer MODULE:FUNCTION``: docs/trainers.md), and the
  analysis helpers ``metrics`` (pass@k), ``theory``, ``quanta``, ``peaks``, ``grokking``,
  ``critical`` (the critical-size bisection), ``learning_curves``, ``data_value``.

The flat names of the earlier layout (``scaling_claims.train``, ``scaling_claims.cache``,
``scaling_claims.data.base``, ...) keep working: each is the same module object as its new
home, imported on first use (so ``import scaling_claims.fit`` still imports no torch).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

__version__ = "0.1.0"

# where each module of the flat layout lives now
MOVED = {
    **{name: f"engine.{name}" for name in ("specs", "ensemble", "device", "flops", "models", "data", "evals")},
    "train": "engine.training",
    **{name: f"runs.{name}" for name in ("cache", "executors", "batches", "ray_executor", "sweep", "live")},
    **{name: f"claims.{name}" for name in ("records", "checks", "estimates", "expect", "plots", "report",
                                           "claims_plugin", "pytest_plugin")},
}


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``scaling_claims.<old>[.<rest>]`` -> the module at ``scaling_claims.<new>[.<rest>]``."""

    @staticmethod
    def target(fullname: str) -> str | None:
        prefix, _, rest = fullname.partition(".")
        if prefix != __name__ or not rest:
            return None
        head, _, tail = rest.partition(".")
        if head not in MOVED:
            return None
        return f"{__name__}.{MOVED[head]}" + (f".{tail}" if tail else "")

    def find_spec(self, fullname, path=None, target=None):
        new = self.target(fullname)
        if new is None:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        return importlib.import_module(self.target(spec.name))

    def exec_module(self, module):
        pass  # already executed under its new name; the import system files it under the old one too


sys.meta_path.insert(0, _Alias())


def __getattr__(name: str):
    """``scaling_claims.train`` etc. as attributes (``from scaling_claims import train``)."""
    if name in MOVED:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
