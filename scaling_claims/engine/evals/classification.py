"""Classification evaluators: held-out (test) error and, where the task exposes its fixed
training set, training error against the labels trained on.

``error`` is what double descent is about (Nakkiran et al. 2019 plot test *error*, not
loss): the fraction of clean held-out examples whose arg-max class is wrong. The training
side says whether the model interpolates: ``train_error`` counts mistakes against the
(possibly noisy) labels it was trained on; with a label-noise task (``task.train_set()``
with ``info["noisy"]``) ``noisy_fit`` is the share of flipped examples the model predicts
with their *flipped* label (memorised noise) and ``train_error_clean`` the error against the
true labels. Forward passes use the run's dtype policy; counts are exact integers.
"""

from __future__ import annotations

from typing import Any

import torch

from scaling_claims.engine.data.base import Batch, token_cross_entropy
from scaling_claims.engine.device import autocast


def _predict(model, batch: Batch, spec, device) -> tuple[torch.Tensor, torch.Tensor]:
    """(arg-max class (B,), per-example cross-entropy (B,) float64) on the CPU."""
    b = batch.to(device)
    with autocast(device.type, spec.dtype):
        logits = model(b.x)
    return logits.argmax(-1).cpu(), token_cross_entropy(logits, b.y).cpu().double()


def error(model, task, spec, device, n_test: int = 4096, batch_size: int = 1024) -> dict[str, Any]:
    """Test error and loss on ``n_test`` held-out examples (``task.eval_batches``, clean labels),
    in batches of ``batch_size``; plus the training-set figures when ``task.train_set()`` exists.

    Returns ``test_error``, ``test_loss``, ``n_test`` and, with a fixed training set,
    ``train_error``, ``train_loss``, ``n_train``; with label noise also ``train_error_clean``,
    ``n_noisy`` and (when ``n_noisy > 0``) ``noisy_fit``."""
    if getattr(task, "kind", None) != "classify":
        raise ValueError(f"classification.error needs a classification task, got kind {getattr(task, 'kind', None)!r}")
    if isinstance(n_test, bool) or not isinstance(n_test, int) or n_test < 1:
        raise ValueError(f"n_test must be an integer >= 1, got {n_test!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    n_batches = -(-n_test // batch_size)
    wrong, loss_sum, count = 0, 0.0, 0
    for batch in task.eval_batches(n_batches, batch_size):
        keep = min(len(batch), n_test - count)
        if keep <= 0:
            break
        pred, loss = _predict(model, Batch(batch.x[:keep], batch.y[:keep]), spec, device)
        wrong += int((pred != batch.y[:keep]).sum())
        loss_sum += float(loss.sum())
        count += keep
    out: dict[str, Any] = {"test_error": wrong / count, "test_loss": loss_sum / count, "n_test": count}
    train_set = getattr(task, "train_set", None)
    if callable(train_set):
        t = train_set()
        pred, loss = _predict(model, t, spec, device)
        n = len(t)
        out.update(train_error=int((pred != t.y).sum()) / n, train_loss=float(loss.mean()), n_train=n)
        if "noisy" in t.info and "clean_label" in t.info:
            noisy = t.info["noisy"].bool()
            n_noisy = int(noisy.sum())
            out.update(train_error_clean=int((pred != t.info["clean_label"]).sum()) / n, n_noisy=n_noisy)
            if n_noisy:  # undefined without flipped labels, so absent rather than a made-up 0
                out["noisy_fit"] = int((pred[noisy] == t.y[noisy]).sum()) / n_noisy
    return out
