"""The pytest plugins: ``pytest_plugin`` (devices, executors, the run cache and the ``sweep``
fixture) and ``claims_plugin`` (claim records, artifacts and the report). Registered by the
repository's ``conftest.py``; importing this package imports no pytest."""
