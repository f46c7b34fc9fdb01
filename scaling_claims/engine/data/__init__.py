"""Data sources, all deterministic from a seed and nothing downloaded.

``make_task(DataSpec, ctx=...)`` builds the ``Task`` a spec names (see ``base.Task`` for the
interface and ``docs/engine.md`` for every task and option):

=================  =========================================================================
``stdlib``         byte-level corpus of the Python standard library's own source
``textfile``       byte-level corpus of a user-named file (option ``path``)
``addition``       k-digit addition, answer optionally reversed
``copy``           copy a string of length L (length ranges for length generalisation)
``reverse``        reverse a string of length L
``modular``        a + b mod p (train/held-out split of the p**2 table)
``modular_classes`` a + b mod p as classification of one-hot pairs (grokking; MLP input)
``domain``         one text domain (code, prose, table), optionally limited or corrupted
``mixture``        windows from several text domains with given weights
``sparse_parity``  multitask sparse parity with Zipf task frequencies (MLP input)
``zipf_features``  Zipf-distributed one-hot features with random labels (MLP input)
``noisy_classes``  Gaussian mixture, fixed training set with label noise (MLP input)
=================  =========================================================================
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

from scaling_claims.engine.specs import DataSpec
from .base import EVAL_SEED, Batch, Task
from .corpus import ByteCorpusTask
from .stdlib import load_stdlib_corpus, make_stdlib_task
from .synthetic import AdditionTask, CopyTask, ModularTask, Problems, SequenceTask, SparseParityTask, ZipfFeaturesTask
from .textfile import make_textfile_task
from .noisy_classes import NoisyClassesTask
from .grokking import ModularClassesTask
from .domains import DOMAINS, MixtureTask, load_domain, make_domain_task

__all__ = [
    "EVAL_SEED", "Batch", "Task", "ByteCorpusTask", "SequenceTask", "Problems", "AdditionTask", "CopyTask",
    "ModularTask", "ModularClassesTask", "MixtureTask", "DOMAINS", "load_domain", "SparseParityTask", "ZipfFeaturesTask", "TASKS", "make_task", "load_stdlib_corpus",
]


def _corpus(factory: Callable[..., Task]) -> Callable[..., Task]:
    def build(seed: int, ctx: int | None, seq_len: int | None = None, **options: Any) -> Task:
        length = seq_len if seq_len is not None else ctx
        if length is None:
            raise ValueError("a corpus task needs option seq_len (or the model's ctx)")
        return factory(seed=seed, seq_len=length, **options)

    build.__signature__ = inspect.signature(factory)  # for the option check below
    return build


TASKS: dict[str, Callable[..., Task]] = {
    "stdlib": _corpus(make_stdlib_task),
    "textfile": _corpus(make_textfile_task),
    "addition": lambda seed, ctx, **o: AdditionTask(seed, **o),
    "copy": lambda seed, ctx, **o: CopyTask(seed, mode="copy", **o),
    "reverse": lambda seed, ctx, **o: CopyTask(seed, mode="reverse", **o),
    "modular": lambda seed, ctx, **o: ModularTask(seed, **o),
    "sparse_parity": lambda seed, ctx, **o: SparseParityTask(seed, **o),
    "zipf_features": lambda seed, ctx, **o: ZipfFeaturesTask(seed, **o),
    "noisy_classes": lambda seed, ctx, **o: NoisyClassesTask(seed, **o),
    "modular_classes": lambda seed, ctx, **o: ModularClassesTask(seed, **o),
    "domain": _corpus(make_domain_task),
    "mixture": _corpus(MixtureTask),
}

_CLASSES: dict[str, Callable[..., Any]] = {
    "stdlib": make_stdlib_task, "textfile": make_textfile_task, "addition": AdditionTask, "copy": CopyTask,
    "reverse": CopyTask, "modular": ModularTask, "sparse_parity": SparseParityTask, "zipf_features": ZipfFeaturesTask,
    "noisy_classes": NoisyClassesTask, "modular_classes": ModularClassesTask, "domain": make_domain_task,
    "mixture": MixtureTask,
}


def task_options(task: str) -> tuple[str, ...]:
    """The option names a task accepts."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; known tasks: {sorted(TASKS)}")
    names = [p for p in inspect.signature(_CLASSES[task]).parameters if p not in ("self", "seed", "mode")]
    return tuple(sorted(names))


def make_task(data: DataSpec, ctx: int | None = None) -> Task:
    """The ``Task`` for ``data``; ``ctx`` (the model's context) is the default window length of
    the corpus tasks. Unknown tasks or options raise ``ValueError``."""
    if not isinstance(data, DataSpec):
        raise ValueError(f"make_task needs a DataSpec, got {type(data).__name__}")
    allowed = task_options(data.task)
    unknown = sorted(set(data.as_dict()) - set(allowed))
    if unknown:
        raise ValueError(f"task {data.task!r} has no option(s) {unknown}; it accepts {list(allowed)}")
    return TASKS[data.task](data.seed, ctx, **data.as_dict())
