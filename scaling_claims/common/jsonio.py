"""Values made JSON-ready and files written atomically: the one place for both.

``jsonable(value, other=keep)``: anything with ``tolist`` (NumPy scalars and arrays) as plain
Python values, tuples as lists, dict keys as strings, non-finite floats as None, recursively;
``None``, ``str``, ``int`` and ``bool`` as they are. Whatever is left goes to ``other``:
``keep`` (the default) leaves it as it is, ``str`` writes its text, ``refuse`` raises
``TypeError``, and a caller may pass its own (a check turns an ``Estimate`` into its dict).
Used by the claim records (``other=str``), the checks, and the ``--json`` documents of the
``scaling-claims`` command (``other=refuse``, a ``Path`` as its text).

``atomic_write_text(path, text)``: a temporary file beside ``path``, renamed over it, so a
reader sees the old file or the whole new one, never a partial one; two writers never share
a temporary file. Used by the claim records.

Left where they are, in stages this module may not be edited into without changing what they
salt or store: ``scaling_claims.fit._result.jsonable`` (this module's ``jsonable`` with
``other=keep`` on NumPy values: tests/test_jsonio.py holds them equal), the run cache's
``json.dumps`` default and its fsynced writer (``scaling_claims.runs.cache``), and the live
progress files (``scaling_claims.runs.live``).

Standard library only: every stage may import it, and it imports no NumPy.
"""

from __future__ import annotations

import math
import os
import secrets
from pathlib import Path
from typing import Any, Callable


def keep(value: Any) -> Any:
    """``other`` for :func:`jsonable`: leave the value as it is (``json.dumps`` decides)."""
    return value


def refuse(value: Any) -> Any:
    """``other`` for :func:`jsonable`: a value JSON cannot hold is an error."""
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def jsonable(value: Any, other: Callable[[Any], Any] = keep) -> Any:
    """``value`` made JSON-ready (module docstring); ``other(v)`` for what is left, its result
    returned as it is."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v, other) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, other) for v in value]
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return other(value)


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (module docstring), making its folder; the file
    gets the permissions a plain write would give it. Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "x") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path
