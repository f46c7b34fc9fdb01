"""Filling the run cache: ``cache`` (the resumable run cache), ``executors`` (in-process and
process pool), ``batches`` (tiny same-shape runs as batched ensembles), ``ray_executor``,
``sweep`` (specs in, a DataFrame out) and ``live`` (sweep progress under pytest); see
docs/running.md. The engine is used through ``scaling_claims.engine``'s public names only."""

# how missing runs are trained (runs.executors.make_executor); here so the CLI can list them without importing torch
EXECUTOR_NAMES = ("auto", "inprocess", "pool", "ray")
