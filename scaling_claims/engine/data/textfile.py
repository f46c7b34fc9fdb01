"""Any text file the user names, as a byte-level corpus (``DataSpec.make("textfile", path=...)``).

The file is read as bytes; the first 90% (option ``valid_frac``, default 0.1, for the
validation share) trains and the rest is held out. Contents are cached per (path, size,
mtime) in the process. The record carries the path, size and SHA-256 of the contents, so a
changed file changes what a cached result claims to be about (the spec key holds only the
path: edit the file and use ``--refresh``).
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .corpus import ByteCorpusTask


@functools.lru_cache(maxsize=4)
def _load(path: str, size: int, mtime: float) -> tuple[torch.Tensor, str]:
    data = Path(path).read_bytes()
    return torch.from_numpy(np.frombuffer(data, dtype=np.uint8).copy()), hashlib.sha256(data).hexdigest()


def make_textfile_task(
    seed: int, seq_len: int, path: Any = None, train_bytes: int | None = None, valid_frac: float = 0.1
) -> ByteCorpusTask:
    if not isinstance(path, str) or not path:
        raise ValueError("the 'textfile' task needs option path='<file>'")
    if not os.path.isfile(path):
        raise ValueError(f"textfile: no such file {path!r}")
    if not (isinstance(valid_frac, (int, float)) and 0 < valid_frac < 1):
        raise ValueError(f"textfile: valid_frac must be in (0, 1), got {valid_frac!r}")
    st = os.stat(path)
    data, digest = _load(os.path.abspath(path), st.st_size, st.st_mtime)
    cut = int(round(data.numel() * (1 - valid_frac)))
    info = {"corpus": "textfile", "path": path, "bytes": int(data.numel()), "content_sha256": digest,
            "train_bytes": cut, "validation_bytes": int(data.numel()) - cut}
    return ByteCorpusTask("textfile", data[:cut], data[cut:], seed, seq_len, train_bytes, info)
