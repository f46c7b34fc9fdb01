"""scaling-claims: neural scaling-law claims as a pytest suite.

The library parts are reusable on their own:

- ``scaling_claims.fit``      pure NumPy/SciPy fitters (power laws, Chinchilla, IsoFLOP, ...)
- ``scaling_claims.metrics``  pass@k and other evaluation metrics
- ``scaling_claims.specs``    RunSpec / RunResult, the unit of work and its record
- ``scaling_claims.train``    ``train(spec) -> RunResult``
- ``scaling_claims.cache``    the resumable run cache
- ``scaling_claims.executors`` in-process and process-pool sweep runners
"""

__version__ = "0.1.0"
