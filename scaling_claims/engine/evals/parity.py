"""Per-subtask evaluation for multitask sparse parity (Michaud et al. 2023, the quantization model).

The quantization model reads a model's mean loss as a sum over subtasks ("quanta"): each is
either learned (loss near 0) or not (loss near ln 2, a coin flip), and the mean loss is the
frequency-weighted sum of the per-subtask losses. ``subtasks`` measures exactly that: every
subtask's held-out loss and accuracy on its own examples (``task.eval_batches(task_id=i)``,
the same examples for every run), and the mixture loss as the exact frequency-weighted sum
sum_i p_i loss_i (no sampling noise from how often a rare subtask happens to be drawn).
"""

from __future__ import annotations

from typing import Any

import torch

from .classification import _predict


def subtasks(model, task, spec, device, n_per_task: int = 512) -> dict[str, Any]:
    """Held-out loss and accuracy of every subtask of a ``sparse_parity`` task.

    Returns ``loss`` and ``accuracy`` (lists, subtask 0 first: the most frequent), ``p`` (the
    subtask frequencies), ``mean_loss`` = sum_i p_i loss_i, ``mean_accuracy`` likewise, and
    ``n_per_task``."""
    if getattr(task, "name", None) != "sparse_parity":
        raise ValueError(f"parity.subtasks needs a sparse_parity task, got {getattr(task, 'name', None)!r}")
    if isinstance(n_per_task, bool) or not isinstance(n_per_task, int) or n_per_task < 1:
        raise ValueError(f"n_per_task must be an integer >= 1, got {n_per_task!r}")
    losses, accs = [], []
    for i in range(task.n_tasks):
        (batch,) = task.eval_batches(1, n_per_task, task_id=i)
        pred, loss = _predict(model, batch, spec, device)
        losses.append(float(loss.mean()))
        accs.append(float((pred == batch.y).double().mean()))
    p = task.task_probs.double()
    return {
        "loss": losses,
        "accuracy": accs,
        "p": p.tolist(),
        "mean_loss": float((p * torch.tensor(losses, dtype=torch.float64)).sum()),
        "mean_accuracy": float((p * torch.tensor(accs, dtype=torch.float64)).sum()),
        "n_per_task": n_per_task,
    }
