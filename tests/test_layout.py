"""The package layout by pipeline stage (scaling_claims/__init__.py): which stage may import
which, read from the sources' import statements (lazy imports inside functions included), and
the flat names of the earlier layout still importing the same modules."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import scaling_claims

PKG = Path(scaling_claims.__file__).resolve().parent


def imported_modules(path: Path, root: Path = PKG) -> set[str]:
    """The module every import statement in ``path`` imports from, as an absolute dotted name
    (``from scaling_claims import x`` counts as ``scaling_claims.x``: x may be a module)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = ".".join(["scaling_claims", *path.relative_to(root).with_suffix("").parts[:-1]])
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            if module == "scaling_claims":
                names.update(f"scaling_claims.{alias.name}" for alias in node.names)
            else:
                names.add(module)
    return {n for n in names if n == "scaling_claims" or n.startswith("scaling_claims.")}


def violations(stage: str, allowed, root: Path = PKG) -> list[str]:
    return [f"{p.relative_to(root)} imports {module}" for p in sorted((root / stage).rglob("*.py"))
            for module in sorted(imported_modules(p, root)) if not allowed(module)]


def runs_may_import(module: str) -> bool:
    """runs/: itself, and the engine's public namespace only (never ``scaling_claims.engine.x``)."""
    return module.startswith("scaling_claims.runs") or module == "scaling_claims.engine"


def test_runs_use_the_engine_only_through_its_public_namespace():
    assert violations("runs", runs_may_import) == []


def test_the_engine_imports_no_later_stage():
    """The engine uses itself and the pure fitters below it (the early-stop rule's forecast)."""
    assert violations("engine", lambda m: m.startswith(("scaling_claims.engine", "scaling_claims.fit"))) == []


def test_fit_imports_neither_the_engine_nor_the_runs():
    assert violations("fit", lambda m: m.startswith("scaling_claims.fit")) == []


def test_the_layering_check_catches_an_import_of_engine_internals(tmp_path):
    """Negative control: the same check on a runs module that reaches into the trainer, or
    that uses the engine through a flat name of the old layout."""
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "probe.py").write_text("from scaling_claims.engine.training import LossWatch\n"
                                   "from scaling_claims import train\nfrom scaling_claims.engine import RunSpec\n")
    found = violations("runs", runs_may_import, root=tmp_path)
    assert found == ["runs/probe.py imports scaling_claims.engine.training",
                     "runs/probe.py imports scaling_claims.train"]


@pytest.mark.parametrize("old, new", sorted(scaling_claims.MOVED.items()))
def test_the_flat_names_are_the_same_modules(old, new):
    assert importlib.import_module(f"scaling_claims.{old}") is importlib.import_module(f"scaling_claims.{new}")


def test_flat_submodules_and_attributes_keep_working():
    from scaling_claims.data.base import Batch
    from scaling_claims.engine.data.base import Batch as Batch2
    from scaling_claims.engine import train as train2
    from scaling_claims.train import train

    assert Batch is Batch2 and train is train2
    assert scaling_claims.cache is importlib.import_module("scaling_claims.runs.cache")


def test_importing_the_fitters_imports_no_torch():
    code = "import sys, scaling_claims.fit, scaling_claims.metrics; assert 'torch' not in sys.modules, 'torch'"
    subprocess.run([sys.executable, "-c", code], check=True)
