"""Deliberately broken trainers: the plain loop (``plain_torch.py``) with exactly one realistic
fault each. They are negative controls for the whole pipeline: a claim that depends on what a
fault breaks must change its verdict, and the claims that do not must keep theirs (checked by
tests/test_trainers_conformance.py; what each fault did to the quick set is in docs/trainers.md).

    pytest claims -m quick --trainer examples.trainers.broken:size_blind -k kaplan   # fails

Each trainer is ``plain_torch.train_with`` with one part swapped, so every other number it
produces is the plain loop's, bit for bit.
"""

from __future__ import annotations

import dataclasses
import math

import torch

from examples.trainers import plain_torch
from scaling_claims.tool import trainers
from scaling_claims.engine.specs import ModelSpec, OptimSpec, RunResult, RunSpec

FIXED_WIDTH = 32  # what size_blind always trains: its config's default n_embd


def size_blind(spec: RunSpec) -> RunResult:
    """Ignores the requested model size: the adapter never copies ``d_model`` from the spec into
    the model config, so every GPT is the config's default width 32 (depth is honoured; the MLPs
    of the classification tasks are built from the spec). It reports the parameters of the model
    it really trained (``count_params``), as an adapter should.

    Must break: every claim that varies the GPT's width. Kaplan's L(N) (``kaplan-alpha-N``): all
    six sizes are one model, so the claim cannot even fit a law across sizes (measured: an error
    saying "6 requested model sizes ... all came back as one model"); Kaplan's shape claim (its
    shapes become depth 1, 2, 4 at width 32: refuted -> inconclusive, measured); Chinchilla's
    IsoFLOP curves, the emergence and critical-size ladders likewise (not measured).
    Must keep: claims on one width-32 model, e.g. Kaplan's L(D) (``kaplan-alpha-D``, trained at
    width 32: the plain loop's runs and verdict exactly, measured), and every MLP or analysis-only
    claim."""

    def build(m: ModelSpec):
        if m.arch == "gpt":
            m = dataclasses.replace(m, d_model=FIXED_WIDTH, n_head=2)
        return plain_torch.build_model(m)

    return plain_torch.train_with(spec, build=build)


def _never_decays(o: OptimSpec, step: int, steps: int) -> float:
    """Warmup, then the peak LR to the end: the cosine the spec asks for is never applied."""
    return o.lr * (step + 1) / o.warmup_steps if step < o.warmup_steps else o.lr


def no_decay(spec: RunSpec) -> RunResult:
    """The learning-rate schedule never decays: warmup, then the peak LR to the last step,
    whatever ``OptimSpec.schedule`` says (a scheduler created but never stepped).

    Must break: the learning-curve claims, whose cosine runs become constant-LR runs: the power
    law's miss on annealed runs (``lc-power-misses-annealing``, a paired cosine-minus-constant
    error) would vanish. Measured: the claim's analysis rebuilds each run's schedule from its spec
    and finds the curve's recorded learning rates disagree, so the claim errors with that reason
    (confirmed -> inconclusive). Must keep: the claims on constant-LR runs (grokking, whose spec is
    constant already) and analysis-only ones. Kaplan's L(N) changed too at ``--budget 0.03``
    (inconclusive -> refuted: without annealing every run ends higher, unevenly across sizes)."""
    return plain_torch.train_with(spec, lr_at=_never_decays)


def _without_weight_decay(model, o: OptimSpec) -> torch.optim.Optimizer:
    """The spec's weight decay never reaches the optimiser."""
    return torch.optim.AdamW(model.parameters(), lr=o.lr, betas=(o.beta1, o.beta2), eps=o.eps, weight_decay=0.0)


def no_weight_decay(spec: RunSpec) -> RunResult:
    """Weight decay silently dropped (AdamW built with ``weight_decay=0``).

    Must break: the grokking claims. Without weight decay the modular-addition MLP memorises
    and does not generalise within the budget (Omnigrok; the suite's own control). Measured: the
    delay's trend over weight decay (``grokking-weight-decay``: every setting is now the same run,
    a change of exactly 0) and over the training fraction become inconclusive, and the delay
    itself is refuted (1.3x: generalisation never came, the delay is censored at the budget).
    Must keep: ``grokking-no-weight-decay`` (its runs have no weight decay anyway: unchanged,
    measured) and the LM claims at weight decay 0.1 (Kaplan's L(N) and L(D) unchanged at
    ``--budget 0.03``, measured)."""
    return plain_torch.train_with(spec, optimizer=_without_weight_decay)


def _loss_on_training_batches(model, data: trainers.RunData, step: int) -> float:
    """The "held-out" loss on the last few batches the model was trained on."""
    was = model.training
    model.eval()
    with torch.no_grad():
        recent = [data.batch(s) for s in range(max(0, step - len(data.held_out)), step)]
        loss = sum(float(data.loss(model(b.x), b)) for b in recent) / len(recent)
    model.train(was)
    return loss


def eval_on_train(spec: RunSpec) -> RunResult:
    """Evaluates on training data: the held-out loss is computed on the last batches of the
    training stream (an eval loop wired to the train loader).

    Must break: claims where training data differ from held-out data. Repeated data
    (``data-repetition-*``): a run that saw the first 2 KB 64 times is scored on those 2 KB,
    which it has memorised, so repeated tokens look worth more than fresh ones. Measured: a
    repeated token at 64 epochs "worth" 11 fresh ones (``data-repetition-many-epochs`` confirmed
    -> inconclusive), no measurable decay of repeats (``data-repetition-rd-star``), a negative
    penalty for 4 epochs. Must keep: the single-epoch corpus claims (Kaplan, Chinchilla), where
    every training window is fresh and scores about as a held-out one would (Kaplan's L(N) and
    L(D) unchanged at ``--budget 0.03``, measured: a fault they cannot see), and every claim that
    reads the suite's evaluators (grokking's accuracies, emergence's exact match)."""
    return plain_torch.train_with(spec, evaluate=_loss_on_training_batches)


def _bits(loss: float) -> float:
    return loss / math.log(2)


def loss_in_bits(spec: RunSpec) -> RunResult:
    """Reports losses in bits instead of nats (divided by ln 2), the log base of another stack.

    Must break: nothing that the claims measure: every law the suite fits is equivariant under a
    constant factor on the loss (power-law exponents, IsoFLOP minima, relative penalties and
    errors, ratios), so a unit error moves no verdict (measured on Kaplan's L(N) and L(D) at
    ``--budget 0.03``: the same exponents, checks and verdicts as the plain loop). This is a
    finding, not a pass: the contract says nats, and only a check of absolute loss values would
    catch it (docs/trainers.md)."""
    return plain_torch.train_with(spec, unit=_bits)
