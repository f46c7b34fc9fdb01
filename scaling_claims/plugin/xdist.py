"""Where a pytest process stands under pytest-xdist, for both plugins."""

from __future__ import annotations

from typing import Any


def is_xdist_worker(config: Any) -> bool:
    """True in an xdist worker (``-n N``), False in the controller or a plain session: xdist
    hands each worker's config its ``workerinput``."""
    return hasattr(config, "workerinput")
