"""The pytest plugins: ``pytest_plugin`` (devices, executors, the run cache and the ``sweep``
fixture), ``claims_plugin`` (claim records, artifacts and the report) and ``options`` (the run
options, shared with the ``scaling-claims`` command). Registered by the repository's
``conftest.py``; importing this package imports no pytest."""
