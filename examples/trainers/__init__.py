"""Trainers to pass to ``--trainer`` (docs/trainers.md).

- ``examples.trainers.plain_torch:train``: a plain user-written PyTorch loop (its own GPT and MLP
  modules, its own AdamW loop and schedule), documented line by line: the template to copy.
- ``examples.trainers.broken:<name>``: the same loop broken in one realistic way each
  (``size_blind``, ``no_decay``, ``no_weight_decay``, ``eval_on_train``, ``loss_in_bits``); each
  says which claims it must break and why, and tests/test_trainers_conformance.py checks it.
"""
