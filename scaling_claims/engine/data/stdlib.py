"""The Python standard library's own ``.py`` source as a byte-level corpus (nothing downloaded).

Which files: every ``*.py`` under ``sysconfig.get_paths()["stdlib"]``, in sorted order of
their relative POSIX paths, excluding test code (any path component named ``test``,
``tests`` or ``idle_test``, and files named ``test_*.py``), ``site-packages`` and
``__pycache__``. Files are concatenated with a NUL byte between them.

Split by file: a file is in the validation split when the first 8 bytes of the SHA-256 of
its relative path, as an integer, are 0 mod 20 (about 5% of files); the rest train. The
split therefore does not move when files are added or removed elsewhere.

Size: it depends on the Python version, so every task records ``bytes``, ``n_files``,
``python`` and ``files_sha256`` (SHA-256 of the newline-joined file list) and
``content_sha256``. On CPython 3.11.7 it is 734 files, about 12.1 MB (~11.5 MB train).
The corpus is read once per process and kept in memory (``load_stdlib_corpus`` is cached).
"""

from __future__ import annotations

import functools
import hashlib
import platform
import sysconfig
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .corpus import ByteCorpusTask

EXCLUDED_DIRS = frozenset({"test", "tests", "idle_test", "site-packages", "__pycache__"})
VALIDATION_MODULUS = 20


def stdlib_root() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def stdlib_files(root: Path | None = None) -> list[str]:
    """Relative POSIX paths of the corpus files, sorted."""
    root = stdlib_root() if root is None else root
    files = []
    for path in root.rglob("*.py"):
        rel = path.relative_to(root)
        if EXCLUDED_DIRS & set(rel.parts[:-1]) or rel.name.startswith("test_") or not path.is_file():
            continue
        files.append(rel.as_posix())
    return sorted(files)


def is_validation_file(rel: str) -> bool:
    digest = hashlib.sha256(rel.encode()).digest()
    return int.from_bytes(digest[:8], "little") % VALIDATION_MODULUS == 0


@functools.lru_cache(maxsize=2)
def load_stdlib_corpus(root: str | None = None) -> tuple[torch.Tensor, torch.Tensor, dict[str, Any]]:
    """(train bytes, validation bytes, info) as uint8 tensors; read once per process."""
    base = stdlib_root() if root is None else Path(root)
    files = stdlib_files(base)
    if not files:
        raise ValueError(f"no standard-library .py files found under {base}")
    parts: dict[bool, list[bytes]] = {False: [], True: []}
    content = hashlib.sha256()
    for rel in files:
        data = (base / rel).read_bytes()
        content.update(data)
        parts[is_validation_file(rel)].append(data)
    train, valid = (b"\0".join(parts[v]) for v in (False, True))
    info = {
        "corpus": "python-stdlib",
        "python": platform.python_version(),
        "n_files": len(files),
        "n_validation_files": len(parts[True]),
        "bytes": len(train) + len(valid),
        "train_bytes": len(train),
        "validation_bytes": len(valid),
        "files_sha256": hashlib.sha256("\n".join(files).encode()).hexdigest(),
        "content_sha256": content.hexdigest(),
    }
    as_tensor = lambda b: torch.from_numpy(np.frombuffer(b, dtype=np.uint8).copy())  # noqa: E731
    return as_tensor(train), as_tensor(valid), info


def make_stdlib_task(seed: int, seq_len: int, train_bytes: int | None = None) -> ByteCorpusTask:
    train, valid, info = load_stdlib_corpus()
    return ByteCorpusTask("stdlib", train, valid, seed, seq_len, train_bytes, info)
