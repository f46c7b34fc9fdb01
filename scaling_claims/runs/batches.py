"""Units of work for the executors: a sweep's tiny same-shape runs grouped into batched ensembles.

A run on the batched path (``train.batched_path``: a training step of at most
``train.BATCHED_MAX_STEP_FLOPS`` on CPU) trains through ``ensemble.train_ensemble`` whether it
is alone or not, and its numbers do not depend on the other members; so an executor may train
such runs with equal ``ensemble.group_key`` together, one batched step for all, without
changing any record. ``plan_batches`` makes those groups (chunks of at most ``MAX_GROUP``)
and leaves every other run a unit of its own. ``batching=False`` (``--no-batching``) keeps every
run alone: the same records, one run at a time.

Where it pays (docs/engine.md): 8 tiny models (full-batch MLPs of the double-descent sweep,
decoders of ~10k parameters at small batch) trained together measured 1.7-6.6x faster than one
by one on one thread; the quick set's runs are all above the threshold and train alone.
"""

from __future__ import annotations

import math
from typing import Sequence

from scaling_claims.engine import RunSpec

# At most this many runs share one batched step: K = 20-40 tiny MLPs measured 3.9-4.7x against
# 2.6x at K = 8, and a chunk of 32 keeps a group small enough to split between workers.
MAX_GROUP = 32
# A group is split across ``parts`` workers only while each part keeps at least this many runs
# (below ~8 the batching gain falls off; two single-thread processes give 1.6-1.8x instead).
MIN_SPLIT = 8


def group_key(spec: RunSpec) -> tuple | None:
    """``ensemble.group_key`` (None for a run that trains alone, or an invalid spec, which the
    trainer then records as failed with the reason)."""
    from scaling_claims.engine import group_key as key

    try:
        return key(spec)
    except ValueError:
        return None


def _chunks(group: list[RunSpec], parts: int, max_group: int) -> list[list[RunSpec]]:
    n = len(group)
    count = max(math.ceil(n / max_group), min(parts, max(1, n // MIN_SPLIT)))
    size, extra = divmod(n, count)
    out, start = [], 0
    for i in range(count):
        end = start + size + (1 if i < extra else 0)
        out.append(group[start:end])
        start = end
    return out


def plan_batches(specs: Sequence[RunSpec], *, batching: bool = True, parts: int = 1,
                 max_group: int = MAX_GROUP) -> list[list[RunSpec]]:
    """``specs`` as units of work, in the order of each unit's first spec: runs with equal
    ``group_key`` together (in chunks of at most ``max_group``, and in ``parts`` chunks or more
    when each keeps ``MIN_SPLIT`` runs, so that ``parts`` workers can share a big group), every
    other run alone. ``batching=False``: every run alone."""
    if max_group < 1 or parts < 1:
        raise ValueError(f"max_group and parts must be >= 1, got {max_group}, {parts}")
    if not batching:
        return [[s] for s in specs]
    units: list[list[RunSpec]] = []
    groups: dict[tuple, list[RunSpec]] = {}
    for spec in specs:
        key = group_key(spec)
        if key is None:
            units.append([spec])
        elif key in groups:
            groups[key].append(spec)
        else:
            groups[key] = [spec]
            units.append(groups[key])  # the same list: filled in place, chunked below
    return [chunk for unit in units for chunk in (_chunks(unit, parts, max_group) if len(unit) > 1 else [unit])]
